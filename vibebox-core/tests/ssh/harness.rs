//! A service on MemoryStore, FakeRuntime and a manual clock, with users made in the store.

use std::net::IpAddr;
use std::sync::Arc;

use vibebox_core::config::Config;
use vibebox_core::domain::{
    AuditEvent, Environment, Membership, Project, Role, SshKey, Team, User,
};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::rbac::Actor;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::{NewEnvironment, NewProject, NewSshKey, NewTeam, SshGrant, SshLogin};
use vibebox_core::ssh::PublicKeyLine;
use vibebox_core::store::{AuditFilter, PageRequest};
use vibebox_core::testing::{FakeRuntime, ManualClock, MemoryStore};
use vibebox_core::{Result, Store, Vibebox};

pub use vibebox_core::testing::store_checks::fixtures::random_ssh_public_key;

pub struct H {
    pub vb: Vibebox,
    pub store: Arc<dyn Store>,
}

impl H {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let vb = Vibebox::builder()
            .store(store.clone())
            .runtime(Arc::new(FakeRuntime::new()))
            .secrets(Arc::new(AesGcmSecrets::new(
                Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
            )))
            .clock(Arc::new(ManualClock::new()))
            .config(config)
            .build()
            .unwrap();
        Self { vb, store }
    }

    /// A user made in the store (no password to hash), as an actor.
    pub async fn user(&self, name: &str) -> Actor {
        let now = self.vb.clock().now();
        let user = User {
            id: UserId::new(),
            email: format!("{name}@example.com"),
            password_hash: None,
            display_name: name.to_string(),
            ssh_public_key: None,
            notification_settings: serde_json::json!({}),
            is_platform_admin: false,
            disabled: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_user(&user, None).await.unwrap();
        self.vb.actor_for_user(user.id).await.unwrap()
    }

    /// Disables the actor's account, in the store.
    pub async fn disable(&self, actor: &Actor) {
        let mut user = self.store.get_user(actor.user_id().unwrap()).await.unwrap();
        user.disabled = true;
        self.store.update_user(&user).await.unwrap();
    }

    /// A team of `admin` with members given by actor and role.
    pub async fn team(&self, admin: &Actor, slug: &str, members: &[(&Actor, Role)]) -> Team {
        let team = self
            .vb
            .create_team(
                admin,
                NewTeam {
                    name: slug.into(),
                    slug: slug.into(),
                    description: None,
                },
            )
            .await
            .unwrap();
        for (member, role) in members {
            self.add_member(team.id, member, *role).await;
        }
        team
    }

    pub async fn add_member(&self, team: TeamId, member: &Actor, role: Role) {
        let now = self.vb.clock().now();
        let membership = Membership {
            team_id: team,
            user_id: member.user_id().unwrap(),
            role,
            joined_at: now,
            updated_at: now,
        };
        self.store.add_member(&membership).await.unwrap();
    }

    pub async fn project(&self, actor: &Actor, slug: &str, team: Option<&Team>) -> Project {
        self.vb
            .create_project(
                actor,
                NewProject {
                    name: slug.into(),
                    slug: slug.into(),
                    team_id: team.map(|t| t.id),
                },
            )
            .await
            .unwrap()
    }

    pub async fn env(&self, actor: &Actor, project: &Project, slug: &str) -> Environment {
        self.vb
            .create_environment(
                actor,
                NewEnvironment {
                    project_id: project.id,
                    name: format!("env {slug}"),
                    slug: slug.into(),
                    base_image: "vibebox/base:bookworm".into(),
                    cpu_limit: None,
                    memory_limit: Some(512),
                    storage_limit: None,
                    idle_policy: None,
                    start: false,
                },
            )
            .await
            .unwrap()
    }

    /// Registers `line` as a key of `actor`.
    pub async fn add_key(&self, actor: &Actor, name: &str, line: &PublicKeyLine) -> SshKey {
        self.vb
            .add_ssh_key(actor, new_key(name, &line.to_string()))
            .await
            .unwrap()
    }

    /// Registers a fresh random key for `actor` and returns it.
    pub async fn fresh_key(&self, actor: &Actor) -> PublicKeyLine {
        let line = random_ssh_public_key();
        self.add_key(actor, "laptop", &line).await;
        line
    }

    /// An SSH sign-in attempt.
    pub async fn login(
        &self,
        username: &str,
        key: &PublicKeyLine,
        peer: Option<IpAddr>,
    ) -> Result<SshGrant> {
        self.vb
            .authorize_ssh(&SshLogin {
                username: username.to_string(),
                public_key: key.clone(),
                peer,
            })
            .await
    }

    /// Every audit event with this action, oldest first.
    pub async fn audit(&self, action: &str) -> Vec<AuditEvent> {
        let mut events = self
            .store
            .list_audit(&AuditFilter::default(), &PageRequest::first(500))
            .await
            .unwrap()
            .items;
        events.retain(|e| e.action == action);
        events.reverse();
        events
    }
}

pub fn new_key(name: &str, public_key: &str) -> NewSshKey {
    NewSshKey {
        name: name.into(),
        public_key: public_key.into(),
    }
}

pub fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}
