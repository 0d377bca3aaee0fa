//! Property: any sequence of operations on the service leaves every environment in a legal
//! state, every published status change is a transition of the table, and an environment
//! never has more than one container.

use proptest::prelude::*;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::events::EventKind;
use vibebox_core::lifecycle::StateMachine;
use vibebox_core::runtime::{ContainerRuntime, LABEL_ENVIRONMENT_ID};
use vibebox_core::testing::FakeFailure;

use super::harness::H;

#[derive(Clone, Debug)]
enum Op {
    Start,
    Stop,
    FailNextStart,
    Crash,
    RemoveBehindBack,
    Reconcile,
    EngineDown,
    EngineUp,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Start),
        3 => Just(Op::Stop),
        1 => Just(Op::FailNextStart),
        1 => Just(Op::Crash),
        1 => Just(Op::RemoveBehindBack),
        2 => Just(Op::Reconcile),
        1 => Just(Op::EngineDown),
        1 => Just(Op::EngineUp),
    ]
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let mut last = EnvironmentStatus::Stopped;
    for op in ops {
        let mut reconciled = false;
        let current = h.vb.get_environment(&alice, env.id).await.unwrap();
        let container = current
            .container_id
            .clone()
            .map(vibebox_core::runtime::ContainerId);
        match op {
            Op::Start => drop(h.vb.start_environment(&alice, env.id).await),
            Op::Stop => drop(h.vb.stop_environment(&alice, env.id).await),
            Op::FailNextStart => h.rt.fail_next(FakeFailure::Start),
            Op::Crash => {
                if let Some(c) = &container {
                    h.rt.crash(c, 1);
                }
            }
            Op::RemoveBehindBack => {
                if let Some(c) = &container {
                    h.rt.remove_behind_back(c);
                }
            }
            Op::Reconcile => reconciled = h.vb.reconcile().await.is_ok(),
            Op::EngineDown => h.rt.set_unavailable(true),
            Op::EngineUp => h.rt.set_unavailable(false),
        }
        // Every published change is a transition of the table, in order.
        while let Ok(event) = rx.try_recv() {
            if let EventKind::Status { status, .. } = event.kind {
                prop_assert!(
                    last.can_transition_to(status),
                    "published {last} -> {status}"
                );
                last = status;
            }
        }
        let now = h.vb.get_environment(&alice, env.id).await.unwrap();
        prop_assert_eq!(now.status, last, "the store agrees with the events");
        // Operations finish: nothing is left mid-transition.
        prop_assert!(!now.status.is_transitional(), "left {}", now.status);
        h.rt.set_unavailable(false);
        let labelled =
            h.rt.list(&[(LABEL_ENVIRONMENT_ID.to_string(), env.id.to_string())])
                .await
                .unwrap();
        prop_assert!(labelled.len() <= 1, "{} containers", labelled.len());
        // Drift (a container killed or removed behind our back) is allowed until the
        // reconciler has run; after a successful pass, running means a running container.
        if reconciled && now.status == EnvironmentStatus::Running {
            let ours = labelled.first();
            prop_assert!(
                ours.is_some_and(|c| c.state.is_running()
                    && Some(c.id.0.as_str()) == now.container_id.as_deref())
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn any_sequence_of_operations_leaves_a_legal_state(ops in prop::collection::vec(op(), 1..16)) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(ops))?;
    }
}
