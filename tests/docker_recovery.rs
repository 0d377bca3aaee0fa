//! Recovery on the real Docker engine: a VibeBox process killed in the middle of a start or a
//! stop (failure injection: a child process hangs at a chosen point and is SIGKILLed there),
//! and an engine that cannot be reached for a while. In each case the state converges, with
//! one container per environment and nothing lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use docker::hooked_runtime::{Hooked, PAUSED, Pause};
use docker::*;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use vibebox::domain::{Environment, EnvironmentStatus};
use vibebox::error::ErrorKind;
use vibebox::id::{EnvironmentId, UserId};
use vibebox::rbac::Actor;
use vibebox::store::PageRequest;
use vibebox::{Vibebox, config::Config};
use vibebox_docker::DockerRuntime;

/// The test this binary runs as the child VibeBox process.
const CHILD: &str = "child_vibebox_process";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_killed_before_the_container_was_recorded_fails_and_the_next_start_reuses_it() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    interrupt(&d, &env, Op::Start, Pause::AfterCreate).await;
    assert_eq!(d.reload(&env).await.container_id, None, "not recorded");
    start_interrupted_before_running_is_repaired(&d, &alice, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_killed_before_the_container_started_fails_and_the_next_start_reuses_it() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    interrupt(&d, &env, Op::Start, Pause::BeforeStart).await;
    let created = containers_of(&env);
    assert_eq!(d.reload(&env).await.container_id, created.first().cloned());
    start_interrupted_before_running_is_repaired(&d, &alice, &env).await;
}

/// After a start killed while its one container was created but not started: the
/// environment stays `starting` until the deadline, then fails, and the next start reuses the
/// container.
async fn start_interrupted_before_running_is_repaired(d: &D, alice: &Actor, env: &Environment) {
    assert_eq!(d.reload(env).await.status, EnvironmentStatus::Starting);
    let created = containers_of(env);
    assert_eq!(created.len(), 1, "the child created the container");
    assert!(!container_running(&created[0]));

    let report = d.vb.reconcile().await.unwrap();
    assert_eq!(report.repaired, 0, "not before the transition deadline");
    let report = past_the_deadline(d).reconcile().await.unwrap();
    assert_eq!(report.repaired, 1);
    let failed = d.reload(env).await;
    assert_eq!(failed.status, EnvironmentStatus::Error);
    assert_eq!(
        failed.error_message.as_deref(),
        Some("the start was interrupted; start the environment again")
    );

    let started = d.vb.start_environment(alice, env.id).await.unwrap();
    assert_eq!(started.status, EnvironmentStatus::Running);
    assert_eq!(containers_of(env), created, "no second container");
    assert_eq!(started.container_id.as_deref(), Some(created[0].as_str()));
    assert!(container_running(&created[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_killed_after_the_container_started_is_adopted_as_running() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    d.add_engine_chosen_port(&alice, &env, 8080).await;
    interrupt(&d, &env, Op::Start, Pause::AfterStart).await;
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Starting);
    let created = containers_of(&env);
    assert_eq!(created.len(), 1);
    assert!(container_running(&created[0]));

    let report = past_the_deadline(&d).reconcile().await.unwrap();
    assert_eq!(report.repaired, 1);
    let adopted = d.reload(&env).await;
    assert_eq!(adopted.status, EnvironmentStatus::Running);
    assert_eq!(adopted.container_id.as_deref(), Some(created[0].as_str()));
    // The rest of the start is done: the engine-chosen host port is recorded.
    let ports =
        d.vb.list_ports(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    let bound = ports[0]
        .bound_host_port
        .expect("the bound port is recorded");
    let cli = docker(&["port", &created[0], "8080/tcp"]);
    assert_eq!(cli.trim(), format!("127.0.0.1:{bound}"));
    assert_eq!(containers_of(&env), created, "no second container");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_killed_midway_is_finished_by_the_reconciler() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, _) = d.exec(&started, "echo kept > $HOME/notes.txt").await;
    assert_eq!(code, 0);
    interrupt(&d, &env, Op::Stop, Pause::BeforeStop).await;
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Stopping);
    let id = container(&started);
    assert!(container_running(id.as_str()));

    assert_eq!(past_the_deadline(&d).reconcile().await.unwrap().repaired, 1);
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Stopped);
    assert!(!container_running(id.as_str()), "the container is stopped");

    let again = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(containers_of(&env), vec![id.0.clone()]);
    let (code, out) = d.exec(&again, "cat $HOME/notes.txt").await;
    assert_eq!((code, out.as_str()), (0, "kept\n"), "nothing is lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_changes_nothing_and_the_state_converges_once_it_is_back() {
    let proxy = EngineProxy::start().await;
    // No periodic pass for an hour: only the watcher's reconnection triggers a re-list.
    let d = D::with(|c| c.reconcile_interval = Duration::from_secs(3600)).await;
    let rt = Arc::new(DockerRuntime::connect(&proxy.host()).await.unwrap());
    let vb = build_on(d.store.clone(), rt, d.config.clone(), d.secrets.clone());
    let (alice, project, killed) = d.owner_with_env("alice").await;
    let untouched = d.env(&alice, &project, "untouched").await;
    let later = d.env(&alice, &project, "later").await;
    let killed_container = container(&vb.start_environment(&alice, killed.id).await.unwrap());
    vb.start_environment(&alice, untouched.id).await.unwrap();
    let background = vb.spawn_background(Default::default());
    let mut rx = vb.subscribe(&alice, killed.id).await.unwrap();

    proxy.switch(false);
    let e = vb.reconcile().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let e = vb.start_environment(&alice, later.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.to_string().contains("cannot reach the Docker engine"),
        "{e}"
    );
    docker_kill(killed_container.as_str()).await;
    assert_eq!(
        vb.reconcile().await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    // The event watcher keeps trying to reconnect.
    let tries = proxy.refused();
    wait_until("the event watcher retries", || async {
        proxy.refused() >= tries + 2
    })
    .await;
    for env in [&killed, &untouched] {
        assert_eq!(
            d.reload(env).await.status,
            EnvironmentStatus::Running,
            "nothing changes while the engine cannot be reached"
        );
    }

    proxy.switch(true);
    wait_status(&mut rx, |s| s == EnvironmentStatus::Error).await;
    let message = d.reload(&killed).await.error_message.unwrap();
    assert!(message.contains("stopped unexpectedly"), "{message}");
    assert_eq!(
        d.reload(&untouched).await.status,
        EnvironmentStatus::Running
    );
    wait_until(
        "the untouched environment's log collector is back",
        || async { vb.is_collecting(untouched.id) },
    )
    .await;
    let started = vb.start_environment(&alice, later.id).await.unwrap();
    assert_eq!(started.status, EnvironmentStatus::Running);
    background.shutdown().await;
}

/// The operation the child process is killed in.
#[derive(Clone, Copy, Debug)]
enum Op {
    Start,
    Stop,
}

/// Runs `op` on the environment in a child VibeBox process on the same database, waits until
/// it hangs at `pause`, and SIGKILLs it there.
async fn interrupt(d: &D, env: &Environment, op: Op, pause: Pause) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VIBEBOX_CHILD_DB", &d.cleanup.db)
        .env("VIBEBOX_CHILD_RUN", d.run())
        .env("VIBEBOX_CHILD_USER", env.creator_id.to_string())
        .env("VIBEBOX_CHILD_ENV", env.id.to_string())
        .env(
            "VIBEBOX_CHILD_OP",
            match op {
                Op::Start => "start",
                Op::Stop => "stop",
            },
        )
        .env("VIBEBOX_CHILD_PAUSE", pause.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child process starts");
    let stdout = child.stdout.take().unwrap();
    let paused = tokio::time::timeout(
        WAIT,
        tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .any(|line| line.is_ok_and(|l| l.ends_with(PAUSED)))
        }),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        matches!(paused, Ok(Ok(true))),
        "the child reached {pause:?} ({op:?})"
    );
}

/// The same instance restarted with a transition deadline already passed.
fn past_the_deadline(d: &D) -> Vibebox {
    let config = Config {
        transition_deadline: Duration::ZERO,
        ..d.config.clone()
    };
    build(d.store.clone(), d.rt.clone(), config, d.secrets.clone())
}

/// The child VibeBox process of `interrupt`: runs the operation the environment names on the
/// parent's database with a runtime that hangs at the pause point. Run by the tests above,
/// never on its own (without its environment it does nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the interruption tests, which run it"]
async fn child_vibebox_process() {
    let Ok(db) = std::env::var("VIBEBOX_CHILD_DB") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let store = sqlite_store(&PathBuf::from(db)).await;
    let config = test_config(&var("VIBEBOX_CHILD_RUN"));
    let pause = Pause::parse(&var("VIBEBOX_CHILD_PAUSE"));
    let rt = Arc::new(Hooked::pausing(engine().await, pause));
    let secrets: Arc<dyn vibebox::secrets::Secrets> =
        Arc::new(vibebox::secrets::AesGcmSecrets::new(
            vibebox::secrets::Keyring::generate(vibebox::secrets::KeyId::new("test").unwrap())
                .unwrap(),
        ));
    let vb = build_on(store, rt, config, secrets);
    let user: UserId = var("VIBEBOX_CHILD_USER").parse().unwrap();
    let env: EnvironmentId = var("VIBEBOX_CHILD_ENV").parse().unwrap();
    let actor = vb.actor_for_user(user).await.unwrap();
    let outcome = match var("VIBEBOX_CHILD_OP").as_str() {
        "start" => vb.start_environment(&actor, env).await,
        "stop" => vb.stop_environment(&actor, env).await,
        other => panic!("unknown operation {other}"),
    };
    panic!("the operation was to hang at {pause:?}, but it ended: {outcome:?}");
}

/// A unix-socket proxy to the Docker engine that can be switched off (the engine cannot be
/// reached: live connections are cut and new ones closed at once) and on again.
struct EngineProxy {
    path: PathBuf,
    on: watch::Sender<bool>,
    refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl EngineProxy {
    async fn start() -> Self {
        let host = vibebox_docker::host_from_env();
        let engine = PathBuf::from(
            host.strip_prefix("unix://")
                .expect("the proxy needs the engine on a unix socket"),
        );
        let path = std::env::temp_dir().join(format!("vibebox-engine-{}.sock", run_id()));
        let listener = UnixListener::bind(&path).unwrap();
        let (on, switch) = watch::channel(true);
        let refused = Arc::new(AtomicUsize::new(0));
        let count = refused.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*switch.borrow() {
                    count.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let (engine, mut switch) = (engine.clone(), switch.clone());
                tokio::spawn(async move {
                    let Ok(mut upstream) = UnixStream::connect(&engine).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = switch.wait_for(|on| !*on) => {}
                    }
                });
            }
        });
        Self {
            path,
            on,
            refused,
            task,
        }
    }

    /// The address to give `DockerRuntime::connect`.
    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn switch(&self, on: bool) {
        self.on.send_replace(on);
    }

    /// How many connections were closed while off.
    fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}
