#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The state machines of DESIGN.md §2, as properties. The expected tables below are written from
//! the design's prose, not copied from `lifecycle.rs`.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;
use vibebox_core::domain::{EnvironmentStatus, ExtensionStatus, SessionStatus};
use vibebox_core::lifecycle::StateMachine;
use vibebox_core::{Error, ErrorKind};

// ---------------------------------------------------------------------------------------------
// The design, written independently

/// "stopped → starting → running → stopping → stopped; any → error; error → starting (retry) or
/// stopped." And §11: "suspended joins the environment state machine: frozen with docker
/// pause"; any access resumes it (suspended → resuming → running); a suspended or resuming
/// environment can be stopped; the engine losing or making the freeze behind VibeBox's back
/// moves suspended → running, and a failed thaw resuming → suspended.
fn design_environment_transitions() -> HashSet<(EnvironmentStatus, EnvironmentStatus)> {
    use EnvironmentStatus::*;
    let mut t: HashSet<_> = [
        (Stopped, Starting),
        (Starting, Running),
        (Running, Stopping),
        (Stopping, Stopped),
        (Error, Starting),
        (Error, Stopped),
        (Running, Suspended),
        (Suspended, Resuming),
        (Resuming, Running),
        (Suspended, Stopping),
        (Resuming, Stopping),
        (Suspended, Running),
        (Resuming, Suspended),
    ]
    .into_iter()
    .collect();
    // "any → error": every other state may fail.
    for s in [Stopped, Starting, Running, Stopping, Suspended, Resuming] {
        t.insert((s, Error));
    }
    t
}

/// "starting → active ⇄ idle; any → terminated."
fn design_session_transitions() -> HashSet<(SessionStatus, SessionStatus)> {
    use SessionStatus::*;
    let mut t: HashSet<_> = [(Starting, Active), (Active, Idle), (Idle, Active)]
        .into_iter()
        .collect();
    for s in [Starting, Active, Idle] {
        t.insert((s, Terminated));
    }
    t
}

/// "pending → installing → installed; installing → failed; failed → installing (retry);
/// installed → uninstalling → removed."
fn design_extension_transitions() -> HashSet<(ExtensionStatus, ExtensionStatus)> {
    use ExtensionStatus::*;
    [
        (Pending, Installing),
        (Installing, Installed),
        (Installing, Failed),
        (Failed, Installing),
        (Installed, Uninstalling),
        (Uninstalling, Removed),
    ]
    .into_iter()
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Generic checks

/// For every (from, to): `transition_to` is Ok(to) iff the pair is in TRANSITIONS (and in the
/// design); otherwise a `Conflict` naming the machine and both states.
fn check_every_pair<S>(all: &[S], design: &HashSet<(S, S)>)
where
    S: StateMachine + std::hash::Hash + std::fmt::Debug,
{
    let table: HashSet<(S, S)> = S::TRANSITIONS.iter().copied().collect();
    assert_eq!(
        table.len(),
        S::TRANSITIONS.len(),
        "{} table has duplicate rows",
        S::MACHINE
    );
    for &from in all {
        for &to in all {
            let in_table = table.contains(&(from, to));
            assert_eq!(
                in_table,
                design.contains(&(from, to)),
                "{} {from} → {to}: the table and DESIGN.md disagree",
                S::MACHINE
            );
            assert_eq!(from.can_transition_to(to), in_table, "{from} → {to}");
            match from.transition_to(to) {
                Ok(next) => {
                    assert!(in_table, "{from} → {to} accepted but not in the table");
                    assert_eq!(next, to);
                }
                Err(e) => {
                    assert!(!in_table, "{from} → {to} refused but in the table: {e}");
                    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
                    match &e {
                        Error::InvalidTransition {
                            machine,
                            from: f,
                            to: t,
                        } => {
                            assert_eq!(*machine, S::MACHINE);
                            assert_eq!(f, &from.to_string());
                            assert_eq!(t, &to.to_string());
                        }
                        other => panic!("expected InvalidTransition, got {other:?}"),
                    }
                    let msg = e.to_string();
                    assert!(
                        msg.contains(&from.to_string()) && msg.contains(&to.to_string()),
                        "{msg}"
                    );
                }
            }
        }
    }
}

/// The states reachable from `start` through `design`.
fn reachable<S: Copy + Eq + std::hash::Hash>(start: S, design: &HashSet<(S, S)>) -> HashSet<S> {
    let mut seen = HashSet::from([start]);
    let mut frontier = vec![start];
    while let Some(s) = frontier.pop() {
        for &(f, t) in design {
            if f == s && seen.insert(t) {
                frontier.push(t);
            }
        }
    }
    seen
}

/// Applies `requests` through `transition_to`, keeping the state on refusal, and checks that
/// every accepted step is in the design and every visited state is reachable.
fn run_requests<S>(
    start: S,
    requests: &[S],
    design: &HashSet<(S, S)>,
) -> std::result::Result<(), TestCaseError>
where
    S: StateMachine + std::hash::Hash + std::fmt::Debug,
{
    let allowed = reachable(start, design);
    let mut state = start;
    for &to in requests {
        match state.transition_to(to) {
            Ok(next) => {
                prop_assert_eq!(next, to);
                prop_assert!(
                    design.contains(&(state, next)),
                    "accepted {} → {} which DESIGN.md does not list",
                    state,
                    next
                );
                state = next;
            }
            Err(e) => {
                prop_assert!(
                    !design.contains(&(state, to)),
                    "refused {} → {}: {}",
                    state,
                    to,
                    e
                );
                prop_assert_eq!(e.kind(), ErrorKind::Conflict);
            }
        }
        prop_assert!(allowed.contains(&state), "reached unreachable {}", state);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Exhaustive tables

#[test]
fn environment_table_matches_the_design_exactly() {
    check_every_pair(EnvironmentStatus::ALL, &design_environment_transitions());
}

#[test]
fn session_table_matches_the_design_exactly() {
    check_every_pair(SessionStatus::ALL, &design_session_transitions());
}

#[test]
fn extension_table_matches_the_design_exactly() {
    check_every_pair(ExtensionStatus::ALL, &design_extension_transitions());
}

#[test]
fn refused_transition_reads_as_a_sentence() {
    let e = EnvironmentStatus::Running
        .transition_to(EnvironmentStatus::Starting)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment cannot go from running to starting"
    );
    let e = SessionStatus::Terminated
        .transition_to(SessionStatus::Active)
        .unwrap_err();
    assert_eq!(e.to_string(), "session cannot go from terminated to active");
    let e = ExtensionStatus::Pending
        .transition_to(ExtensionStatus::Installed)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "extension cannot go from pending to installed"
    );
}

#[test]
fn no_machine_has_a_self_transition() {
    assert!(EnvironmentStatus::TRANSITIONS.iter().all(|(f, t)| f != t));
    assert!(SessionStatus::TRANSITIONS.iter().all(|(f, t)| f != t));
    assert!(ExtensionStatus::TRANSITIONS.iter().all(|(f, t)| f != t));
}

#[test]
fn environment_cannot_skip_starting() {
    assert!(
        !EnvironmentStatus::Stopped.can_transition_to(EnvironmentStatus::Running),
        "stopped → running must go through starting"
    );
    assert!(!EnvironmentStatus::Error.can_transition_to(EnvironmentStatus::Running));
}

#[test]
fn environment_cannot_stop_without_stopping() {
    assert!(!EnvironmentStatus::Running.can_transition_to(EnvironmentStatus::Stopped));
    assert!(!EnvironmentStatus::Starting.can_transition_to(EnvironmentStatus::Stopped));
}

#[test]
fn every_environment_state_can_fail_and_error_can_retry_or_stop() {
    use EnvironmentStatus::*;
    for s in [Stopped, Starting, Running, Stopping, Suspended, Resuming] {
        assert!(s.can_transition_to(Error), "{s} → error");
    }
    assert!(Error.can_transition_to(Starting));
    assert!(Error.can_transition_to(Stopped));
}

#[test]
fn terminated_session_has_no_outgoing_transitions() {
    for &to in SessionStatus::ALL {
        assert!(
            SessionStatus::Terminated.transition_to(to).is_err(),
            "terminated → {to}"
        );
    }
}

#[test]
fn removed_extension_has_no_outgoing_transitions() {
    for &to in ExtensionStatus::ALL {
        assert!(
            ExtensionStatus::Removed.transition_to(to).is_err(),
            "removed → {to}"
        );
    }
}

#[test]
fn only_terminal_states_are_dead_ends() {
    fn dead_ends<S: StateMachine>(all: &[S]) -> BTreeSet<String> {
        all.iter()
            .filter(|&&s| !all.iter().any(|&t| s.can_transition_to(t)))
            .map(ToString::to_string)
            .collect()
    }
    assert!(dead_ends(EnvironmentStatus::ALL).is_empty());
    assert_eq!(
        dead_ends(SessionStatus::ALL),
        BTreeSet::from(["terminated".to_string()])
    );
    assert_eq!(
        dead_ends(ExtensionStatus::ALL),
        BTreeSet::from(["removed".to_string()])
    );
}

#[test]
fn every_state_is_reachable_from_the_initial_one() {
    let env = reachable(
        EnvironmentStatus::Stopped,
        &design_environment_transitions(),
    );
    let table_env = reachable(
        EnvironmentStatus::Stopped,
        &EnvironmentStatus::TRANSITIONS.iter().copied().collect(),
    );
    assert_eq!(env, table_env);
    assert_eq!(env.len(), EnvironmentStatus::ALL.len());
    let session_table: HashSet<_> = SessionStatus::TRANSITIONS.iter().copied().collect();
    assert_eq!(
        reachable(SessionStatus::Starting, &session_table).len(),
        SessionStatus::ALL.len()
    );
    let ext_table: HashSet<_> = ExtensionStatus::TRANSITIONS.iter().copied().collect();
    assert_eq!(
        reachable(ExtensionStatus::Pending, &ext_table).len(),
        ExtensionStatus::ALL.len()
    );
}

#[test]
fn every_live_session_and_extension_can_still_end() {
    let session_table: HashSet<_> = SessionStatus::TRANSITIONS.iter().copied().collect();
    for &s in SessionStatus::ALL {
        assert!(reachable(s, &session_table).contains(&SessionStatus::Terminated));
    }
    let ext_table: HashSet<_> = ExtensionStatus::TRANSITIONS.iter().copied().collect();
    for &s in ExtensionStatus::ALL {
        assert!(reachable(s, &ext_table).contains(&ExtensionStatus::Removed));
    }
}

#[test]
fn environment_is_deletable_only_when_stopped_or_in_error() {
    use EnvironmentStatus::*;
    for &s in EnvironmentStatus::ALL {
        assert_eq!(s.is_deletable(), matches!(s, Stopped | Error), "{s}");
    }
}

#[test]
fn deleting_a_running_environment_can_stop_it_first() {
    use EnvironmentStatus::*;
    let s = Running.transition_to(Stopping).unwrap();
    let s = s.transition_to(Stopped).unwrap();
    assert!(s.is_deletable());
}

#[test]
fn starting_stopping_and_resuming_are_transitional_and_a_frozen_environment_holds_quota() {
    use EnvironmentStatus::*;
    for &s in EnvironmentStatus::ALL {
        assert_eq!(
            s.is_transitional(),
            matches!(s, Starting | Stopping | Resuming),
            "{s}"
        );
        assert_eq!(
            s.counts_as_running(),
            matches!(s, Starting | Running | Suspended | Resuming),
            "{s}"
        );
    }
}

#[test]
fn only_terminated_sessions_are_not_live() {
    for &s in SessionStatus::ALL {
        assert_eq!(s.is_live(), s != SessionStatus::Terminated, "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// Random sequences

fn any_environment_status() -> impl Strategy<Value = EnvironmentStatus> {
    prop::sample::select(EnvironmentStatus::ALL)
}
fn any_session_status() -> impl Strategy<Value = SessionStatus> {
    prop::sample::select(SessionStatus::ALL)
}
fn any_extension_status() -> impl Strategy<Value = ExtensionStatus> {
    prop::sample::select(ExtensionStatus::ALL)
}

/// A reference model of an environment, from DESIGN.md §2's prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Start,
    Started,
    Stop,
    Stopped,
    Fail,
    Retry,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Live(EnvironmentStatus),
    Deleted,
}

impl Model {
    /// The next state per the design, or `None` when the design refuses the operation.
    fn apply(self, op: Op) -> Option<Model> {
        use EnvironmentStatus::*;
        let Model::Live(s) = self else {
            return None; // nothing happens to a deleted environment
        };
        let next = match (op, s) {
            (Op::Start, Stopped) => Starting,
            (Op::Started, Starting) => Running,
            (Op::Stop, Running) => Stopping,
            (Op::Stopped, Stopping) => Stopped,
            (Op::Stopped, Error) => Stopped,
            (Op::Fail, Stopped | Starting | Running | Stopping) => Error,
            (Op::Retry, Error) => Starting,
            (Op::Delete, Stopped | Error) => return Some(Model::Deleted),
            _ => return None,
        };
        Some(Model::Live(next))
    }
}

/// Runs `op` through the code under test: the state machine, plus `is_deletable` for deletes.
/// `Start` and `Retry` both ask for `starting`; they differ only in the state they come from.
fn apply_sut(state: Model, op: Op) -> Option<Model> {
    use EnvironmentStatus::*;
    let Model::Live(s) = state else {
        return None;
    };
    let target = match op {
        Op::Start => {
            if s == Error {
                return None; // a start from error is a retry
            }
            Starting
        }
        Op::Retry => {
            if s != Error {
                return None; // only an environment in error is retried
            }
            Starting
        }
        Op::Started => Running,
        Op::Stop => Stopping,
        Op::Stopped => Stopped,
        Op::Fail => Error,
        Op::Delete => return s.is_deletable().then_some(Model::Deleted),
    };
    s.transition_to(target).ok().map(Model::Live)
}

fn any_op() -> impl Strategy<Value = Op> {
    prop::sample::select(vec![
        Op::Start,
        Op::Started,
        Op::Stop,
        Op::Stopped,
        Op::Fail,
        Op::Retry,
        Op::Delete,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn transition_is_accepted_iff_it_is_in_the_environment_table(
        from in any_environment_status(), to in any_environment_status()
    ) {
        let listed = EnvironmentStatus::TRANSITIONS.contains(&(from, to));
        prop_assert_eq!(from.transition_to(to).is_ok(), listed);
        prop_assert_eq!(listed, design_environment_transitions().contains(&(from, to)));
    }

    #[test]
    fn random_environment_requests_stay_on_the_design_graph(
        requests in prop::collection::vec(any_environment_status(), 0..64)
    ) {
        run_requests(EnvironmentStatus::Stopped, &requests, &design_environment_transitions())?;
    }

    #[test]
    fn random_session_requests_stay_on_the_design_graph(
        requests in prop::collection::vec(any_session_status(), 0..64)
    ) {
        run_requests(SessionStatus::Starting, &requests, &design_session_transitions())?;
    }

    #[test]
    fn random_extension_requests_stay_on_the_design_graph(
        requests in prop::collection::vec(any_extension_status(), 0..64)
    ) {
        run_requests(ExtensionStatus::Pending, &requests, &design_extension_transitions())?;
    }

    #[test]
    fn once_terminated_a_session_stays_terminated(
        requests in prop::collection::vec(any_session_status(), 0..32)
    ) {
        let mut state = SessionStatus::Terminated;
        for to in requests {
            if let Ok(next) = state.transition_to(to) {
                state = next;
            }
            prop_assert_eq!(state, SessionStatus::Terminated);
        }
    }

    #[test]
    fn once_removed_an_extension_stays_removed(
        requests in prop::collection::vec(any_extension_status(), 0..32)
    ) {
        let mut state = ExtensionStatus::Removed;
        for to in requests {
            if let Ok(next) = state.transition_to(to) {
                state = next;
            }
            prop_assert_eq!(state, ExtensionStatus::Removed);
        }
    }

    #[test]
    fn environment_operations_agree_with_the_reference_model(
        ops in prop::collection::vec(any_op(), 0..64)
    ) {
        let mut model = Model::Live(EnvironmentStatus::Stopped);
        let mut sut = model;
        let mut previous = EnvironmentStatus::Stopped;
        for op in ops {
            let expected = model.apply(op);
            let actual = apply_sut(sut, op);
            prop_assert_eq!(actual, expected, "{:?} from {:?}", op, sut);
            if let Some(next) = expected {
                model = next;
            }
            if let Some(next) = actual {
                sut = next;
            }
            prop_assert_eq!(sut, model);
            if let Model::Live(s) = sut {
                // A running environment was always just starting; a stopped one was stopping,
                // in error, or already stopped.
                if s == EnvironmentStatus::Running {
                    prop_assert!(matches!(previous, EnvironmentStatus::Starting | EnvironmentStatus::Running));
                }
                if s == EnvironmentStatus::Stopped {
                    prop_assert!(matches!(
                        previous,
                        EnvironmentStatus::Stopping | EnvironmentStatus::Error | EnvironmentStatus::Stopped
                    ));
                }
                previous = s;
            }
        }
    }
}
