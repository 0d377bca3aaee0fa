//! The state machines of DESIGN.md §2, as data. A transition that is not in a table is refused
//! with [`Error::InvalidTransition`].

use crate::domain::{EnvironmentStatus, ExtensionStatus, SessionStatus};
use crate::error::{Error, Result};

/// A state machine over a status type.
pub trait StateMachine: Copy + Eq + std::fmt::Display + 'static {
    /// The machine's name, used in errors.
    const MACHINE: &'static str;
    /// Every allowed (from, to) pair.
    const TRANSITIONS: &'static [(Self, Self)];

    /// Whether `self → to` is in the table.
    fn can_transition_to(self, to: Self) -> bool {
        Self::TRANSITIONS.iter().any(|&(f, t)| f == self && t == to)
    }

    /// `Ok(to)` when allowed, otherwise a `Conflict` error naming both states.
    fn transition_to(self, to: Self) -> Result<Self> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(Error::InvalidTransition {
                machine: Self::MACHINE,
                from: self.to_string(),
                to: to.to_string(),
            })
        }
    }
}

impl StateMachine for EnvironmentStatus {
    const MACHINE: &'static str = "environment";
    const TRANSITIONS: &'static [(Self, Self)] = {
        use EnvironmentStatus::*;
        &[
            (Stopped, Starting),
            (Starting, Running),
            (Running, Stopping),
            (Stopping, Stopped),
            (Stopped, Error),
            (Starting, Error),
            (Running, Error),
            (Stopping, Error),
            (Error, Starting),
            (Error, Stopped),
            // Suspend and resume (DESIGN.md §11): the freeze is quick, so suspending has no
            // state of its own; a stop thaws first.
            (Running, Suspended),
            (Suspended, Resuming),
            (Resuming, Running),
            (Suspended, Stopping),
            (Resuming, Stopping),
            (Suspended, Error),
            (Resuming, Error),
            // The engine lost the freeze (restarted, or unpaused behind VibeBox's back).
            (Suspended, Running),
            (Resuming, Suspended),
        ]
    };
}

impl EnvironmentStatus {
    /// Whether an environment in this state may be deleted directly (otherwise it is stopped
    /// first).
    pub fn is_deletable(self) -> bool {
        matches!(self, EnvironmentStatus::Stopped | EnvironmentStatus::Error)
    }

    /// Whether this is a transitional state that the reconciler repairs after a deadline.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            EnvironmentStatus::Starting | EnvironmentStatus::Stopping | EnvironmentStatus::Resuming
        )
    }

    /// Whether the environment counts towards the running-environments quota. A suspended
    /// environment does: it keeps its memory, and any access resumes it, so a resume must
    /// never be refused for want of quota.
    pub fn counts_as_running(self) -> bool {
        matches!(
            self,
            EnvironmentStatus::Starting
                | EnvironmentStatus::Running
                | EnvironmentStatus::Suspended
                | EnvironmentStatus::Resuming
        )
    }

    /// Whether a container exists and holds the environment's processes (running, or frozen
    /// with its memory kept).
    pub fn has_live_container(self) -> bool {
        matches!(
            self,
            EnvironmentStatus::Running | EnvironmentStatus::Suspended | EnvironmentStatus::Resuming
        )
    }
}

impl StateMachine for SessionStatus {
    const MACHINE: &'static str = "session";
    const TRANSITIONS: &'static [(Self, Self)] = {
        use SessionStatus::*;
        &[
            (Starting, Active),
            (Active, Idle),
            (Idle, Active),
            (Starting, Terminated),
            (Active, Terminated),
            (Idle, Terminated),
        ]
    };
}

impl StateMachine for ExtensionStatus {
    const MACHINE: &'static str = "extension";
    const TRANSITIONS: &'static [(Self, Self)] = {
        use ExtensionStatus::*;
        &[
            (Pending, Installing),
            (Installing, Installed),
            (Installing, Failed),
            (Failed, Installing),
            (Installed, Uninstalling),
            (Uninstalling, Removed),
        ]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn environment_cannot_jump_from_stopped_to_running() -> TestResult {
        let e = EnvironmentStatus::Stopped
            .transition_to(EnvironmentStatus::Running)
            .err()
            .ok_or("stopped → running was allowed")?;
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            "environment cannot go from stopped to running"
        );
        Ok(())
    }

    #[test]
    fn every_environment_state_can_fail() {
        for &s in EnvironmentStatus::ALL {
            if s != EnvironmentStatus::Error {
                assert!(s.can_transition_to(EnvironmentStatus::Error), "{s}");
            }
        }
    }

    #[test]
    fn terminated_session_is_terminal() {
        for &s in SessionStatus::ALL {
            assert!(!SessionStatus::Terminated.can_transition_to(s));
        }
    }
}
