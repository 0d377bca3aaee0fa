use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::broadcast;
use vibebox_core::Store;
use vibebox_core::Vibebox;
use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, Project, Role, Team};
use vibebox_core::events::{Event, EventKind};
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::ContainerId;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::{
    IssuedRefreshToken, NewEnvironment, NewProject, NewTeam, Registration,
};
use vibebox_core::testing::{FakeRuntime, ManualClock};

pub const PASSWORD: &str = "correct horse battery staple";

/// What [`H::team_env`] makes.
pub struct TeamEnv {
    pub alice: Actor,
    pub dev: Actor,
    pub viewer: Actor,
    pub stranger: Actor,
    pub env: Environment,
}

pub struct H {
    pub vb: Vibebox,
    pub rt: Arc<FakeRuntime>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
}

impl H {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    /// A service on a fresh store of the backend under test (`crate::backend`) and a fake
    /// runtime.
    pub async fn with_config(config: Config) -> Self {
        Self::with_runtime(FakeRuntime::new(), config).await
    }

    /// [`with_config`](Self::with_config) on a fake runtime the caller set up (capabilities,
    /// say).
    pub async fn with_runtime(rt: FakeRuntime, config: Config) -> Self {
        let rt = Arc::new(rt.with_stats_interval(Duration::from_millis(20)));
        let store = crate::backend::fresh_store().await;
        let clock = Arc::new(ManualClock::new());
        let vb = Vibebox::builder()
            .store(store.clone())
            .runtime(rt.clone())
            .secrets(Arc::new(AesGcmSecrets::new(
                Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
            )))
            .clock(clock.clone())
            .config(config)
            .build()
            .unwrap();
        Self {
            vb,
            rt,
            store,
            clock,
        }
    }

    /// Registers a user and returns the actor.
    pub async fn user(&self, name: &str) -> Actor {
        let user = self
            .vb
            .register(Registration {
                email: format!("{name}@example.com"),
                password: SecretString::from(PASSWORD),
                display_name: name.to_string(),
            })
            .await
            .unwrap();
        self.vb.actor_for_user(user.id).await.unwrap()
    }

    /// Issues a refresh token for the actor, as a sign-in does.
    pub async fn sign_in(&self, actor: &Actor) -> IssuedRefreshToken {
        self.vb
            .issue_refresh_token(actor.user_id().unwrap(), Default::default())
            .await
            .unwrap()
    }

    /// A team administered by `admin`, with the given extra members.
    pub async fn team(&self, admin: &Actor, slug: &str, members: &[(&str, Role)]) -> Team {
        let team = self
            .vb
            .create_team(
                admin,
                NewTeam {
                    name: slug.to_string(),
                    slug: slug.to_string(),
                    description: None,
                },
            )
            .await
            .unwrap();
        for (name, role) in members {
            self.vb
                .add_member(admin, team.id, &format!("{name}@example.com"), *role)
                .await
                .unwrap();
        }
        team
    }

    /// A team `core` of `alice` (admin) with `dev` (developer) and `viewer`, a project in
    /// it, an environment `dev` created and started, and `stranger` outside the team.
    pub async fn team_env(&self) -> TeamEnv {
        let alice = self.user("alice").await;
        let dev = self.user("dev").await;
        let viewer = self.user("viewer").await;
        let stranger = self.user("stranger").await;
        let team = self
            .team(
                &alice,
                "core",
                &[("dev", Role::Developer), ("viewer", Role::Viewer)],
            )
            .await;
        let project = self.project(&alice, "proj", Some(&team)).await;
        let env = self.env(&dev, &project, "dev-env").await;
        let env = self.vb.start_environment(&dev, env.id).await.unwrap();
        TeamEnv {
            alice,
            dev,
            viewer,
            stranger,
            env,
        }
    }

    pub async fn project(&self, actor: &Actor, slug: &str, team: Option<&Team>) -> Project {
        self.vb
            .create_project(
                actor,
                NewProject {
                    name: slug.to_string(),
                    slug: slug.to_string(),
                    team_id: team.map(|t| t.id),
                },
            )
            .await
            .unwrap()
    }

    pub async fn env(&self, actor: &Actor, project: &Project, slug: &str) -> Environment {
        self.vb
            .create_environment(actor, new_env(project, slug))
            .await
            .unwrap()
    }

    /// A user with a personal project and one stopped environment in it.
    pub async fn owner_with_env(&self, name: &str) -> (Actor, Project, Environment) {
        let actor = self.user(name).await;
        let project = self.project(&actor, &format!("{name}-proj"), None).await;
        let env = self.env(&actor, &project, "dev").await;
        (actor, project, env)
    }

    pub fn container(env: &Environment) -> ContainerId {
        ContainerId(
            env.container_id
                .clone()
                .expect("environment has a container"),
        )
    }
}

pub fn new_env(project: &Project, slug: &str) -> NewEnvironment {
    NewEnvironment {
        project_id: project.id,
        name: format!("env {slug}"),
        slug: slug.to_string(),
        base_image: "vibebox/base:bookworm".to_string(),
        cpu_limit: None,
        memory_limit: Some(512),
        storage_limit: None,
        idle_policy: None,
        start: false,
    }
}

/// Waits (bounded) for the first event that `pick` accepts.
pub async fn wait_for<T>(
    rx: &mut broadcast::Receiver<Event>,
    mut pick: impl FnMut(&EventKind) -> Option<T>,
) -> T {
    let deadline = Duration::from_secs(10);
    tokio::time::timeout(deadline, async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(t) = pick(&event.kind) {
                        return t;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("the expected event did not arrive")
}
