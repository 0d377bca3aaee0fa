//! The `Vibebox` service: every operation of DESIGN.md §5 and §6 as a Rust method that takes
//! the actor.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::password::PasswordHasher;
use crate::runtime::ContainerRuntime;
use crate::secrets::Secrets;
use crate::store::Store;

/// The VibeBox service. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct Vibebox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    runtime: Arc<dyn ContainerRuntime>,
    secrets: Arc<dyn Secrets>,
    config: Config,
    clock: Arc<dyn Clock>,
    events: EventBus,
    hasher: PasswordHasher,
}

impl Vibebox {
    /// Starts building a service.
    pub fn builder() -> VibeboxBuilder {
        VibeboxBuilder::default()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The container runtime.
    pub fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        &self.inner.runtime
    }

    /// The secrets backend.
    pub fn secrets(&self) -> &Arc<dyn Secrets> {
        &self.inner.secrets
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
}

/// Builds a [`Vibebox`]. A store, a runtime and a secrets backend are required.
#[derive(Default)]
pub struct VibeboxBuilder {
    store: Option<Arc<dyn Store>>,
    runtime: Option<Arc<dyn ContainerRuntime>>,
    secrets: Option<Arc<dyn Secrets>>,
    config: Option<Config>,
    clock: Option<Arc<dyn Clock>>,
    hasher: Option<PasswordHasher>,
}

impl VibeboxBuilder {
    /// The store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The container runtime.
    pub fn runtime(mut self, runtime: Arc<dyn ContainerRuntime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The secrets backend.
    pub fn secrets(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The password hasher (default: Argon2id with OWASP parameters).
    pub fn password_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// Builds the service. Errors: `InvalidInput` naming the missing part.
    pub fn build(self) -> Result<Vibebox> {
        let store = self
            .store
            .ok_or_else(|| Error::invalid("store", "a store is required"))?;
        let runtime = self
            .runtime
            .ok_or_else(|| Error::invalid("runtime", "a container runtime is required"))?;
        let secrets = self
            .secrets
            .ok_or_else(|| Error::invalid("secrets", "a secrets backend is required"))?;
        let config = self.config.unwrap_or_default();
        Ok(Vibebox {
            inner: Arc::new(Inner {
                events: EventBus::new(config.event_buffer),
                store,
                runtime,
                secrets,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                hasher: self.hasher.unwrap_or_default(),
                config,
            }),
        })
    }
}
