//! `Vibebox::watch_project`: the snapshot and who may take it, then status changes,
//! creations, deletions and throttled metrics, on MemoryStore and FakeRuntime. Tests about
//! timing run on tokio's paused clock, which the fake engine's stats follow too.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, EnvironmentStatus, Project, Role, User};
use vibebox_core::id::{EnvironmentId, UserId};
use vibebox_core::rbac::Actor;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::{
    NewEnvironment, NewProject, NewTeam, PROJECT_WATCH_METRICS_INTERVAL,
    PROJECT_WATCH_RESYNC_INTERVAL, ProjectFrame, ProjectWatch,
};
use vibebox_core::testing::{FakeRuntime, MemoryStore};
use vibebox_core::{ErrorKind, Store, Vibebox};

const WAIT: Duration = Duration::from_secs(10);

struct H {
    vb: Vibebox,
    store: Arc<dyn Store>,
    runtime: Arc<FakeRuntime>,
}

impl H {
    fn new() -> Self {
        Self::with_config(Config::default())
    }

    fn with_config(config: Config) -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let runtime = Arc::new(FakeRuntime::new());
        let vb = replica(&store, &runtime, config);
        Self { vb, store, runtime }
    }

    /// A user made in the store (no password to hash), as an actor.
    async fn user(&self, name: &str) -> Actor {
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

    async fn env(&self, actor: &Actor, project: &Project, slug: &str) -> Environment {
        create_env(&self.vb, actor, project, slug).await
    }

    /// Team `core` of `alice` (admin) with `viewer`; its project with environments `one`
    /// (running) and `two` (stopped).
    async fn team_project(&self) -> Team {
        let alice = self.user("alice").await;
        let viewer = self.user("viewer").await;
        let team = self
            .vb
            .create_team(
                &alice,
                NewTeam {
                    name: "Core".into(),
                    slug: "core".into(),
                    description: None,
                },
            )
            .await
            .unwrap();
        self.vb
            .add_member(&alice, team.id, "viewer@example.com", Role::Viewer)
            .await
            .unwrap();
        let project = self
            .vb
            .create_project(
                &alice,
                NewProject {
                    name: "Shop".into(),
                    slug: "shop".into(),
                    team_id: Some(team.id),
                },
            )
            .await
            .unwrap();
        let one = self.env(&alice, &project, "one").await;
        let one = self.vb.start_environment(&alice, one.id).await.unwrap();
        let two = self.env(&alice, &project, "two").await;
        Team {
            alice,
            viewer,
            project,
            one,
            two,
        }
    }
}

/// What [`H::team_project`] makes.
struct Team {
    alice: Actor,
    viewer: Actor,
    project: Project,
    one: Environment,
    two: Environment,
}

/// A service on a shared store and engine, with its own event bus: another replica.
fn replica(store: &Arc<dyn Store>, runtime: &Arc<FakeRuntime>, config: Config) -> Vibebox {
    Vibebox::builder()
        .store(store.clone())
        .runtime(runtime.clone())
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        )))
        .config(config)
        .build()
        .unwrap()
}

async fn create_env(vb: &Vibebox, actor: &Actor, project: &Project, slug: &str) -> Environment {
    vb.create_environment(
        actor,
        NewEnvironment {
            project_id: project.id,
            name: format!("env {slug}"),
            slug: slug.to_string(),
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

async fn next(watch: &mut ProjectWatch) -> ProjectFrame {
    tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("a frame in time")
        .expect("the watch goes on")
}

/// Reads frames until one matches; returns it.
async fn until(watch: &mut ProjectWatch, pick: impl Fn(&ProjectFrame) -> bool) -> ProjectFrame {
    loop {
        let frame = next(watch).await;
        if pick(&frame) {
            return frame;
        }
    }
}

fn is_status(frame: &ProjectFrame, env: EnvironmentId, want: EnvironmentStatus) -> bool {
    matches!(frame, ProjectFrame::Status { environment_id, status, .. }
             if *environment_id == env && *status == want)
}

#[tokio::test]
async fn a_viewer_watches_a_project_starting_with_a_snapshot_of_its_environments() {
    let h = H::new();
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    let ProjectFrame::Snapshot {
        environments,
        truncated,
    } = next(&mut watch).await
    else {
        panic!("the snapshot comes first");
    };
    assert!(!truncated);
    let by_id: HashMap<_, _> = environments.iter().map(|e| (e.environment_id, e)).collect();
    assert_eq!(by_id.len(), 2);
    let one = by_id[&t.one.id];
    assert_eq!(
        (one.name.as_str(), one.status, one.version),
        ("env one", EnvironmentStatus::Running, t.one.version)
    );
    assert_eq!(one.health, t.one.health);
    let two = by_id[&t.two.id];
    assert_eq!(
        (two.name.as_str(), two.status, two.error_message.as_deref()),
        ("env two", EnvironmentStatus::Stopped, None)
    );
}

#[tokio::test]
async fn another_teams_user_cannot_watch_the_project() {
    let h = H::new();
    let t = h.team_project().await;
    let stranger = h.user("stranger").await;
    let err =
        h.vb.watch_project(&stranger, t.project.id)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_status_change_arrives_with_its_environment_id() {
    let h = H::new();
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    h.vb.start_environment(&t.alice, t.two.id).await.unwrap();
    let starting = next_status(&mut watch).await;
    assert!(
        is_status(&starting, t.two.id, EnvironmentStatus::Starting),
        "{starting:?}"
    );
    let running = next_status(&mut watch).await;
    assert!(
        is_status(&running, t.two.id, EnvironmentStatus::Running),
        "{running:?}"
    );
    // The same JSON as the environment's own status socket.
    let json = serde_json::to_value(&running).unwrap();
    assert_eq!(json["type"], "status");
    assert_eq!(json["environment_id"], t.two.id.to_string());
    assert!(json["at"].is_string() && json["version"].is_i64(), "{json}");
}

/// The next status frame, skipping metrics and health.
async fn next_status(watch: &mut ProjectWatch) -> ProjectFrame {
    until(watch, |f| matches!(f, ProjectFrame::Status { .. })).await
}

#[tokio::test]
async fn a_created_environment_appears_and_a_deleted_one_disappears() {
    let h = H::new();
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    let three = h.env(&t.alice, &t.project, "three").await;
    let created = until(&mut watch, |f| matches!(f, ProjectFrame::Created { .. })).await;
    let ProjectFrame::Created { environment } = created else {
        unreachable!()
    };
    assert_eq!(environment.environment_id, three.id);
    assert_eq!(environment.name, "env three");
    assert_eq!(environment.status, EnvironmentStatus::Stopped);
    // Its later changes arrive too.
    h.vb.start_environment(&t.alice, three.id).await.unwrap();
    until(&mut watch, |f| {
        is_status(f, three.id, EnvironmentStatus::Running)
    })
    .await;
    h.vb.delete_environment(&t.alice, t.two.id).await.unwrap();
    let deleted = until(&mut watch, |f| matches!(f, ProjectFrame::Deleted { .. })).await;
    assert!(
        matches!(deleted, ProjectFrame::Deleted { environment_id, .. } if environment_id == t.two.id)
    );
}

#[tokio::test]
async fn an_environment_of_another_project_does_not_appear() {
    let h = H::new();
    let t = h.team_project().await;
    let other =
        h.vb.create_project(
            &t.alice,
            NewProject {
                name: "Other".into(),
                slug: "other".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    let elsewhere = h.env(&t.alice, &other, "elsewhere").await;
    h.vb.start_environment(&t.alice, elsewhere.id)
        .await
        .unwrap();
    // A marker in the watched project: everything before it has been read.
    let marker = h.env(&t.alice, &t.project, "marker").await;
    loop {
        match next(&mut watch).await {
            ProjectFrame::Created { environment } if environment.environment_id == marker.id => {
                break;
            }
            ProjectFrame::Created { environment } => panic!("{environment:?}"),
            ProjectFrame::Status { environment_id, .. } => {
                assert_ne!(environment_id, elsewhere.id)
            }
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn deleting_the_project_removes_its_environments_then_ends_the_watch() {
    let h = H::new();
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    h.vb.stop_environment(&t.alice, t.one.id).await.unwrap();
    h.vb.delete_project(&t.alice, t.project.id).await.unwrap();
    let mut deleted = Vec::new();
    while let Some(frame) = tokio::time::timeout(PROJECT_WATCH_RESYNC_INTERVAL * 2, watch.next())
        .await
        .expect("the watch ends at its next re-listing")
    {
        if let ProjectFrame::Deleted { environment_id, .. } = frame {
            deleted.push(environment_id);
        }
    }
    deleted.sort();
    let mut want = vec![t.one.id, t.two.id];
    want.sort();
    assert_eq!(deleted, want);
}

#[tokio::test(start_paused = true)]
async fn changes_made_by_another_replica_show_at_the_next_resync() {
    let h = H::new();
    let t = h.team_project().await;
    let before = Instant::now();
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    let other = replica(&h.store, &h.runtime, Config::default());
    let made_there = create_env(&other, &t.alice, &t.project, "there").await;
    other.stop_environment(&t.alice, t.one.id).await.unwrap();
    // Neither reaches this replica's bus: both come from the re-listing.
    let (mut created, mut stopped) = (None, false);
    while created.is_none() || !stopped {
        let frame = tokio::time::timeout(PROJECT_WATCH_RESYNC_INTERVAL * 2, watch.next())
            .await
            .expect("a re-listing in time")
            .expect("the watch goes on");
        stopped |= is_status(&frame, t.one.id, EnvironmentStatus::Stopped);
        if let ProjectFrame::Created { environment } = frame {
            created = Some(environment.environment_id);
        }
    }
    assert!(before.elapsed() >= PROJECT_WATCH_RESYNC_INTERVAL);
    assert_eq!(created, Some(made_there.id));
}

#[tokio::test(start_paused = true)]
async fn metrics_are_throttled_to_one_sample_per_environment_every_two_seconds() {
    let h = H::new();
    let t = h.team_project().await;
    h.vb.start_environment(&t.alice, t.two.id).await.unwrap();
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    // The fake engine samples every second (of tokio's paused clock).
    let mut sent: HashMap<EnvironmentId, Vec<Instant>> = HashMap::new();
    let end = Instant::now() + Duration::from_secs(12);
    while let Ok(frame) = tokio::time::timeout_at(end, watch.next()).await {
        if let Some(ProjectFrame::Metrics {
            environment_id,
            memory_limit_bytes,
            ..
        }) = frame
        {
            assert_eq!(memory_limit_bytes, 512 * 1024 * 1024);
            sent.entry(environment_id).or_default().push(Instant::now());
        }
    }
    for env in [t.one.id, t.two.id] {
        let at = &sent[&env];
        assert!((5..=7).contains(&at.len()), "{} samples in 12 s", at.len());
        for pair in at.windows(2) {
            assert!(pair[1] - pair[0] >= PROJECT_WATCH_METRICS_INTERVAL);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn metrics_flow_while_an_environment_runs_and_stop_when_it_stops() {
    let h = H::new();
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    h.vb.start_environment(&t.alice, t.two.id).await.unwrap();
    until(&mut watch, |f| {
        matches!(f, ProjectFrame::Metrics { environment_id, .. } if *environment_id == t.two.id)
    })
    .await;
    h.vb.stop_environment(&t.alice, t.two.id).await.unwrap();
    until(&mut watch, |f| {
        is_status(f, t.two.id, EnvironmentStatus::Stopped)
    })
    .await;
    let end = Instant::now() + Duration::from_secs(10);
    while let Ok(frame) = tokio::time::timeout_at(end, watch.next()).await {
        assert!(
            !matches!(frame, Some(ProjectFrame::Metrics { environment_id, .. }) if environment_id == t.two.id),
            "a sample after the stop"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_watcher_is_told_how_many_events_it_missed_and_catches_up() {
    let h = H::with_config(Config {
        event_buffer: 4,
        ..Config::default()
    });
    let t = h.team_project().await;
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    next(&mut watch).await;
    // Twelve status changes, unread.
    for _ in 0..3 {
        h.vb.start_environment(&t.alice, t.two.id).await.unwrap();
        h.vb.stop_environment(&t.alice, t.two.id).await.unwrap();
    }
    let dropped = until(&mut watch, |f| !matches!(f, ProjectFrame::Metrics { .. })).await;
    assert_eq!(dropped, ProjectFrame::Dropped { count: 8 });
    let current = h.store.get_environment(t.two.id).await.unwrap();
    let mut last = None;
    let end = Instant::now() + Duration::from_secs(5);
    while let Ok(Some(frame)) = tokio::time::timeout_at(end, watch.next()).await {
        if let ProjectFrame::Status {
            environment_id,
            status,
            version,
            ..
        } = frame
            && environment_id == t.two.id
        {
            last = Some((status, version));
        }
    }
    assert_eq!(
        last,
        Some((EnvironmentStatus::Stopped, current.version)),
        "the last status shown is the current one"
    );
}

#[tokio::test]
async fn a_snapshot_beyond_the_cap_is_truncated() {
    let h = H::new();
    let t = h.team_project().await;
    let cap = vibebox_core::service::PROJECT_WATCH_MAX_ENVIRONMENTS as usize;
    for i in 2..=cap {
        h.env(&t.alice, &t.project, &format!("env-{i:03}")).await;
    }
    let mut watch = h.vb.watch_project(&t.viewer, t.project.id).await.unwrap();
    let ProjectFrame::Snapshot {
        environments,
        truncated,
    } = next(&mut watch).await
    else {
        panic!("the snapshot comes first");
    };
    assert_eq!(environments.len(), cap);
    assert!(truncated, "{} environments, more than {cap}", cap + 1);
}
