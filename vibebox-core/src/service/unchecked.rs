//! The one door past authorization: the raw store, runtime and secrets of a [`Vibebox`].
//!
//! Every other method of [`Vibebox`] takes an [`Actor`](crate::rbac::Actor), checks its role,
//! and writes the audit log. What comes through this door does neither: a read returns any
//! tenant's rows, a write is not audited, and a container change is not reconciled with the
//! store. It exists for tests, benchmarks and operator tooling that must look underneath (a
//! test that waits for a log row to land, a benchmark that reads an exec's state), and its
//! name is meant to stand out in review, as coder's `dbauthz.AsSystemRestricted` does.

use std::sync::Arc;

use crate::runtime::ContainerRuntime;
use crate::secrets::Secrets;
use crate::store::Store;

use super::Vibebox;

/// The raw backends of a [`Vibebox`], without RBAC or audit: for tests, benchmarks and
/// operator tooling, never for serving a request ([`Vibebox::unchecked`] says why).
#[derive(Clone, Copy)]
pub struct Unchecked<'a> {
    vibebox: &'a Vibebox,
}

impl std::fmt::Debug for Unchecked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unchecked").finish_non_exhaustive()
    }
}

impl Vibebox {
    /// The raw store, runtime and secrets, past every authorization check and the audit log.
    ///
    /// **Not for serving requests.** Nothing reached through it checks who asks; use the
    /// service's own methods, which take an actor, for anything a user or a client does.
    pub fn unchecked(&self) -> Unchecked<'_> {
        Unchecked { vibebox: self }
    }
}

impl<'a> Unchecked<'a> {
    /// The store: any tenant's rows, writes without audit.
    pub fn store(self) -> &'a Arc<dyn Store> {
        self.vibebox.store()
    }

    /// The container runtime: any container, changes the store does not hear of.
    pub fn runtime(self) -> &'a Arc<dyn ContainerRuntime> {
        self.vibebox.runtime()
    }

    /// The secrets backend: decrypts any stored value.
    pub fn secrets(self) -> &'a Arc<dyn Secrets> {
        self.vibebox.secrets()
    }
}
