//! The execs a Docker runtime started: remembered (up to a limit) so that resize and kill
//! know each exec's container, user, marker and terminal.

use std::collections::{HashMap, VecDeque};

use vibebox_core::runtime::ContainerId;

/// Execs remembered for kill and resize; the oldest are forgotten past this many.
const REGISTRY_LIMIT: usize = 4096;

/// What the runtime remembers about an exec it started.
#[derive(Clone, Debug)]
pub(crate) struct ExecRecord {
    pub(crate) container: ContainerId,
    pub(crate) user: Option<String>,
    pub(crate) token: String,
    pub(crate) tty: bool,
}

/// Execs started by this runtime, oldest first.
#[derive(Debug, Default)]
pub(crate) struct ExecRegistry {
    records: HashMap<String, ExecRecord>,
    order: VecDeque<String>,
}

impl ExecRegistry {
    pub(crate) fn insert(&mut self, id: String, record: ExecRecord) {
        while self.records.len() >= REGISTRY_LIMIT {
            match self.order.pop_front() {
                Some(old) => {
                    self.records.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(id.clone());
        self.records.insert(id, record);
    }

    pub(crate) fn get(&self, id: &str) -> Option<ExecRecord> {
        self.records.get(id).cloned()
    }

    /// The execs started in `container` that are still remembered.
    pub(crate) fn started_in(&self, container: &ContainerId) -> Vec<String> {
        self.order
            .iter()
            .filter(|id| {
                self.records
                    .get(id.as_str())
                    .is_some_and(|r| &r.container == container)
            })
            .cloned()
            .collect()
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if self.records.remove(id).is_some() {
            self.order.retain(|o| o != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ExecRecord {
        ExecRecord {
            container: ContainerId("c".into()),
            user: None,
            token: "t".into(),
            tty: false,
        }
    }

    #[test]
    fn registry_forgets_the_oldest_past_its_limit() {
        let mut r = ExecRegistry::default();
        for i in 0..REGISTRY_LIMIT + 3 {
            r.insert(format!("e{i}"), record());
        }
        assert_eq!(r.records.len(), REGISTRY_LIMIT);
        assert!(r.get("e0").is_none());
        assert!(r.get("e2").is_none());
        assert!(r.get("e3").is_some());
        r.remove("e3");
        assert!(r.get("e3").is_none());
        assert_eq!(r.order.len(), REGISTRY_LIMIT - 1);
    }
}
