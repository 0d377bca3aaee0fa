//! The gates that keep a pause from freezing an exec half-started (see `pause.rs`): one per
//! container, held shared by every exec start and exclusively by `pause`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::RwLock;
use vibebox_core::runtime::ContainerId;

/// One gate per container: exec starts hold it shared, `pause` exclusively.
#[derive(Debug, Default)]
pub(crate) struct FreezeGates {
    gates: Mutex<HashMap<String, Weak<RwLock<()>>>>,
}

impl FreezeGates {
    /// The container's gate; gates nobody holds are forgotten.
    pub(crate) fn gate(&self, id: &ContainerId) -> Arc<RwLock<()>> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(gate) = gates.get(id.as_str()).and_then(Weak::upgrade) {
            return gate;
        }
        gates.retain(|_, g| g.strong_count() > 0);
        let gate = Arc::new(RwLock::new(()));
        gates.insert(id.as_str().to_string(), Arc::downgrade(&gate));
        gate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gate_per_container_while_held() {
        let gates = FreezeGates::default();
        let a = ContainerId("a".into());
        let held = gates.gate(&a);
        assert!(Arc::ptr_eq(&held, &gates.gate(&a)));
        assert!(!Arc::ptr_eq(&held, &gates.gate(&ContainerId("b".into()))));
        drop(held);
        let _ = gates.gate(&ContainerId("c".into()));
        let left = gates.gates.lock().map(|g| g.len()).unwrap_or(usize::MAX);
        assert_eq!(left, 1, "released gates are forgotten");
    }
}
