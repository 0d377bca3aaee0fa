//! The service on the real Docker engine and an on-disk SQLite store: the harness shared by
//! the `docker_*` test binaries.
//!
//! Every container a harness creates carries `vibebox.test.run=<run id>` (through
//! `Config::container_labels`) and a name starting `vbx-t-<run id>-`. Dropping the harness
//! removes them with the Docker CLI, also when the test failed. The engine and the images
//! (`scripts/base-image`) must be present: these tests fail, never skip, without them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use secrecy::SecretString;
use tokio::sync::broadcast;
use vibebox::Store;
use vibebox::Vibebox;
use vibebox::config::Config;
use vibebox::domain::{Environment, EnvironmentStatus, LogEntry, Project};
use vibebox::events::{Event, EventKind};
use vibebox::id::EnvironmentId;
use vibebox::rbac::Actor;
use vibebox::runtime::{ContainerId, ContainerRuntime, ExecSpec};
use vibebox::secrets::{AesGcmSecrets, KeyId, Keyring, Secrets};
use vibebox::service::LogFilter;
use vibebox::service::{NewEnvironment, NewProject, Registration};
use vibebox::store::PageRequest;
use vibebox_docker::DockerRuntime;
use vibebox_sqlite::SqliteStore;

pub const BASE_IMAGE: &str = "vibebox/base:bookworm";
pub const BUSYBOX_IMAGE: &str = "vibebox/busybox:test";
pub const PASSWORD: &str = "correct horse battery staple";
/// The label every test container carries.
pub const RUN_LABEL: &str = "vibebox.test.run";
/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(30);

/// Removes the run's containers and its database when dropped.
pub struct Cleanup {
    pub run: String,
    pub db: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_run_containers(&self.run);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `docker rm -f` of every container labelled with the run id, then of its volumes and
/// networks.
pub fn remove_run_containers(run: &str) {
    let filter = format!("label={RUN_LABEL}={run}");
    let ids = docker(&["ps", "-aq", "--filter", &filter]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(ids);
        docker(&args);
    }
    let volumes = docker(&["volume", "ls", "-q", "--filter", &filter]);
    let volumes: Vec<&str> = volumes.split_whitespace().collect();
    if !volumes.is_empty() {
        let mut args = vec!["volume", "rm", "-f"];
        args.extend(volumes);
        docker(&args);
    }
    let networks = docker(&["network", "ls", "-q", "--filter", &filter]);
    let networks: Vec<&str> = networks.split_whitespace().collect();
    if !networks.is_empty() {
        let mut args = vec!["network", "rm"];
        args.extend(networks);
        docker(&args);
    }
}

/// Whether the engine has the named volume.
pub fn volume_exists(name: &str) -> bool {
    std::process::Command::new("docker")
        .args(["volume", "inspect", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs the Docker CLI and returns its stdout (the tests' independent view of the engine).
pub fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker inspect` of one container as JSON.
pub fn docker_inspect(id: &str) -> serde_json::Value {
    let out = docker(&["inspect", id]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("docker inspect prints JSON");
    v.get(0).cloned().expect("one container")
}

/// Whether the engine still has the container.
pub fn container_exists(id: &str) -> bool {
    std::process::Command::new("docker")
        .args(["inspect", "--type", "container", id])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub struct D {
    pub vb: Vibebox,
    pub rt: Arc<DockerRuntime>,
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub secrets: Arc<dyn Secrets>,
    pub cleanup: Cleanup,
}

/// A short unique run id.
pub fn run_id() -> String {
    let u = uuid::Uuid::now_v7().simple().to_string();
    u[u.len() - 10..].to_string()
}

/// The test configuration: this run's labels and name prefix, a short stop grace and a short
/// log batch delay; everything else (the default tmux session included) as in production.
pub fn test_config(run: &str) -> Config {
    Config {
        container_name_prefix: format!("vbx-t-{run}-"),
        container_labels: [(RUN_LABEL.to_string(), run.to_string())].into(),
        stop_grace: Duration::from_secs(2),
        log_batch_delay: Duration::from_millis(20),
        ..Config::default()
    }
}

impl D {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A harness whose configuration `tweak` adjusts.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        let run = run_id();
        let db = std::env::temp_dir().join(format!("vibebox-docker-test-{run}.db"));
        let cleanup = Cleanup {
            run: run.clone(),
            db,
        };
        let mut config = test_config(&run);
        tweak(&mut config);
        let secrets: Arc<dyn Secrets> = Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        ));
        let rt = Arc::new(engine().await);
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::connect(&format!("sqlite://{}", cleanup.db.display()))
                .await
                .unwrap(),
        );
        Self::assemble(store, rt, config, secrets, cleanup)
    }

    /// A harness on a store the caller opened (PostgreSQL, say); its `cleanup.db` names no
    /// file, so only the run's containers and volumes are removed.
    pub async fn on_store(store: Arc<dyn Store>, tweak: impl FnOnce(&mut Config)) -> Self {
        let run = run_id();
        let cleanup = Cleanup {
            db: std::env::temp_dir().join(format!("vibebox-docker-test-{run}-no-such.db")),
            run,
        };
        let mut config = test_config(&cleanup.run);
        tweak(&mut config);
        let secrets: Arc<dyn Secrets> = Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        ));
        let rt = Arc::new(engine().await);
        Self::assemble(store, rt, config, secrets, cleanup)
    }

    fn assemble(
        store: Arc<dyn Store>,
        rt: Arc<DockerRuntime>,
        config: Config,
        secrets: Arc<dyn Secrets>,
        cleanup: Cleanup,
    ) -> Self {
        let vb = build(store.clone(), rt.clone(), config.clone(), secrets.clone());
        Self {
            vb,
            rt,
            store,
            config,
            secrets,
            cleanup,
        }
    }

    /// A second service on the same store, engine and keys: VibeBox restarted.
    pub async fn restarted(&self) -> Vibebox {
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::connect(&format!("sqlite://{}", self.cleanup.db.display()))
                .await
                .unwrap(),
        );
        let rt = Arc::new(engine().await);
        build(store, rt, self.config.clone(), self.secrets.clone())
    }

    pub fn run(&self) -> &str {
        &self.cleanup.run
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

    pub async fn project(&self, actor: &Actor, slug: &str) -> Project {
        self.vb
            .create_project(
                actor,
                NewProject {
                    name: slug.to_string(),
                    slug: slug.to_string(),
                    team_id: None,
                },
            )
            .await
            .unwrap()
    }

    /// A stopped environment on the Debian base image (0.5 CPU, 256 MB).
    pub async fn env(&self, actor: &Actor, project: &Project, slug: &str) -> Environment {
        self.vb
            .create_environment(actor, new_env(project, slug, BASE_IMAGE))
            .await
            .unwrap()
    }

    /// A user with a personal project and one stopped environment.
    pub async fn owner_with_env(&self, name: &str) -> (Actor, Project, Environment) {
        let actor = self.user(name).await;
        let project = self.project(&actor, &format!("{name}-proj")).await;
        let env = self.env(&actor, &project, "dev").await;
        (actor, project, env)
    }

    /// Adds a TCP port whose host port the engine chooses at each start.
    pub async fn add_engine_chosen_port(&self, actor: &Actor, env: &Environment, port: i64) {
        self.vb
            .add_port(
                actor,
                env.id,
                vibebox::service::NewPort {
                    container_port: port,
                    host_port: None,
                    protocol: Some(vibebox::domain::Protocol::Tcp),
                },
            )
            .await
            .unwrap();
    }

    /// The environment as stored now.
    pub async fn reload(&self, env: &Environment) -> Environment {
        self.store.get_environment(env.id).await.unwrap()
    }

    /// Runs a command in the environment's container (as its user) and returns the exit
    /// code and the output.
    pub async fn exec(&self, env: &Environment, script: &str) -> (i64, String) {
        exec_in(
            &*self.rt,
            &container(env),
            script,
            self.config.container_user.clone(),
        )
        .await
    }
}

/// Builds a service on the given parts.
pub fn build(
    store: Arc<dyn Store>,
    rt: Arc<DockerRuntime>,
    config: Config,
    secrets: Arc<dyn Secrets>,
) -> Vibebox {
    build_on(store, rt, config, secrets)
}

/// The engine from DOCKER_HOST or the default socket, with both test images present.
pub async fn engine() -> DockerRuntime {
    let rt = match DockerRuntime::from_env().await {
        Ok(rt) => rt,
        Err(e) => panic!("these tests need a running Docker engine: {e}"),
    };
    for image in [BASE_IMAGE, BUSYBOX_IMAGE] {
        assert!(
            rt.image_present(image).await.unwrap_or(false),
            "image {image} is missing: run scripts/base-image"
        );
    }
    rt
}

pub fn new_env(project: &Project, slug: &str, image: &str) -> NewEnvironment {
    NewEnvironment {
        project_id: project.id,
        name: format!("env {slug}"),
        slug: slug.to_string(),
        base_image: image.to_string(),
        cpu_limit: Some(0.5),
        memory_limit: Some(256),
        storage_limit: None,
        idle_policy: None,
        start: false,
    }
}

pub fn container(env: &Environment) -> ContainerId {
    ContainerId(
        env.container_id
            .clone()
            .expect("the environment has a container"),
    )
}

/// Runs `sh -c script` in a container and returns the exit code and stdout+stderr.
pub async fn exec_in(
    rt: &dyn ContainerRuntime,
    id: &ContainerId,
    script: &str,
    user: Option<String>,
) -> (i64, String) {
    let mut session = rt
        .exec(
            id,
            &ExecSpec {
                cmd: vec!["/bin/sh".into(), "-c".into(), script.into()],
                user,
                ..Default::default()
            },
        )
        .await
        .expect("exec");
    let mut out = Vec::new();
    while let Some(chunk) = tokio::time::timeout(WAIT, session.output.next())
        .await
        .expect("exec output in time")
    {
        out.extend_from_slice(&chunk.expect("exec output").data);
    }
    let code = loop {
        let info = rt.inspect_exec(&session.id).await.expect("inspect_exec");
        if !info.running {
            break info.exit_code.unwrap_or(-1);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// Waits for a status event matching `pred` on a subscription.
pub async fn wait_status(
    rx: &mut broadcast::Receiver<Event>,
    pred: impl Fn(EnvironmentStatus) -> bool,
) -> EnvironmentStatus {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(Event {
                    kind: EventKind::Status { status, .. },
                    ..
                }) if pred(status) => return status,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the event bus closed"),
            }
        }
    })
    .await
    .expect("the status event in time")
}

// ---- Reconciler and recovery (docker_reconcile.rs, docker_recovery.rs) ----

pub mod hooked_runtime;

/// Builds a service on any runtime (a wrapper around the engine).
pub fn build_on(
    store: Arc<dyn Store>,
    rt: Arc<dyn ContainerRuntime>,
    config: Config,
    secrets: Arc<dyn Secrets>,
) -> Vibebox {
    Vibebox::builder()
        .store(store)
        .runtime(rt)
        .secrets(secrets)
        .config(config)
        .build()
        .unwrap()
}

/// Opens the SQLite store at `db` (another connection to a harness's database).
pub async fn sqlite_store(db: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap(),
    )
}

/// Polls `check` until it holds, failing the test after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let done = tokio::time::timeout(WAIT, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "timed out waiting until {what}");
}

/// The ids of every container the engine has for an environment (running or not), as the
/// CLI lists them by label.
pub fn containers_of(env: &Environment) -> Vec<String> {
    docker(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label=vibebox.environment_id={}", env.id),
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

/// Whether the engine reports the container running (false when it is gone).
pub fn container_running(id: &str) -> bool {
    docker(&["inspect", "--format", "{{.State.Running}}", id]).trim() == "true"
}

/// `docker kill` of a container, returning once the engine reports it stopped.
pub async fn docker_kill(id: &str) {
    docker(&["kill", id]);
    wait_until("the killed container has stopped", || async {
        !container_running(id)
    })
    .await;
}

// ---- Sessions, terminals and extensions (docker_sessions, docker_terminal,
// docker_extensions) ----

/// The size terminals open with in these tests.
pub const TERM_SIZE: vibebox::runtime::TerminalSize =
    vibebox::runtime::TerminalSize { cols: 80, rows: 24 };

impl D {
    /// A harness whose service reads the time from `clock` (so idle timeouts pass at once).
    pub async fn with_clock(
        clock: Arc<dyn vibebox::clock::Clock>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mut d = Self::with(tweak).await;
        d.vb = Vibebox::builder()
            .store(d.store.clone())
            .runtime(d.rt.clone())
            .secrets(d.secrets.clone())
            .config(d.config.clone())
            .clock(clock)
            .build()
            .unwrap();
        d
    }

    /// A user with a running environment on the base image.
    pub async fn owner_with_running_env(&self, name: &str) -> (Actor, Environment) {
        let (actor, _, env) = self.owner_with_env(name).await;
        let env = self.vb.start_environment(&actor, env.id).await.unwrap();
        (actor, env)
    }

    /// Waits until `script` exits 0 in the environment; returns its output.
    pub async fn exec_until_ok(&self, env: &Environment, script: &str) -> String {
        let mut last = (0, String::new());
        let found = tokio::time::timeout(WAIT, async {
            loop {
                last = self.exec(env, script).await;
                if last.0 == 0 {
                    return last.1.clone();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("`{script}` never succeeded; last: {last:?}"))
    }

    /// Whether a process with this pid exists in the environment's container (zombies
    /// waiting for the init to reap them count as gone).
    pub async fn process_alive(&self, env: &Environment, pid: &str) -> bool {
        let script = format!("grep -q '^State:[[:space:]]*[^Z]' /proc/{pid}/status");
        self.exec(env, &script).await.0 == 0
    }

    /// Waits until no process with this pid is left in the environment's container.
    pub async fn wait_process_gone(&self, env: &Environment, pid: &str) {
        tokio::time::timeout(WAIT, async {
            while self.process_alive(env, pid).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("process {pid} is still running"));
    }
}

/// Reads a terminal's output until it contains `needle`; returns all that was read.
pub async fn read_until(t: &mut vibebox::service::Terminal, needle: &str) -> String {
    let mut seen = String::new();
    let done = tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            match t.output.next().await {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk.unwrap())),
                None => return false,
            }
        }
        true
    })
    .await;
    match done {
        Ok(true) => seen,
        Ok(false) => panic!("the terminal ended before {needle:?}; got {seen:?}"),
        Err(_) => panic!("never saw {needle:?}; got {seen:?}"),
    }
}

/// Reads a terminal's output until it ends; returns what was read.
pub async fn read_to_end(t: &mut vibebox::service::Terminal) -> String {
    let mut seen = String::new();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(chunk) = t.output.next().await {
            match chunk {
                Ok(c) => seen.push_str(&String::from_utf8_lossy(&c)),
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the terminal did not end; got {seen:?}");
    seen
}

// ---- Output on demand (docker_logs.rs, docker_log_burst.rs) ----

/// The main process. Each FIFO is opened read-write, so it never reaches end-of-file, and a
/// writer's open waits until the forwarding `cat` has it open.
pub const FORWARDER: &str = "cd /tmp && { [ -p o ] || mkfifo o; } && { [ -p e ] || mkfifo e; } \
                         && { cat 0<>e >&2 & exec cat 0<>o; }";

/// A harness whose environments run [`FORWARDER`], with `tweak` applied to the config.
pub async fn forwarding(tweak: impl FnOnce(&mut Config)) -> D {
    D::with(|cfg| {
        cfg.container_command = Some(vec!["/bin/sh".into(), "-c".into(), FORWARDER.into()]);
        tweak(cfg);
    })
    .await
}

/// Makes the main process print: runs `script` (which writes to `/tmp/o` or `/tmp/e`) once
/// both FIFOs exist.
pub async fn emit(d: &D, env: &Environment, script: &str) {
    let (code, out) = d
        .exec(
            env,
            &format!("until [ -p /tmp/o ] && [ -p /tmp/e ]; do sleep 0.05; done; {script}"),
        )
        .await;
    assert_eq!(code, 0, "emitting lines failed: {out}");
}

/// Every stored line of the environment, oldest first, read page by page.
pub async fn stored_logs(vb: &Vibebox, actor: &Actor, env: EnvironmentId) -> Vec<LogEntry> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = vb
            .query_logs(
                actor,
                env,
                LogFilter::default(),
                &PageRequest {
                    limit: PageRequest::MAX_LIMIT,
                    cursor,
                },
            )
            .await
            .unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

/// Serves the harness's service over HTTP on 127.0.0.1 (the peer address known); returns
/// the address, a bearer token for the actor and the router (for requests in process).
pub async fn serve_http(d: &D, actor: &Actor) -> (std::net::SocketAddr, String, axum::Router) {
    serve_http_with(d, actor, |_| {}).await
}

/// [`serve_http`] with an `HttpConfig` that `tweak` adjusts first (the SSH gateway it
/// reports, say).
pub async fn serve_http_with(
    d: &D,
    actor: &Actor,
    tweak: impl FnOnce(&mut vibebox_http::HttpConfig),
) -> (std::net::SocketAddr, String, axum::Router) {
    use vibebox_http::{AccessTokens, HttpConfig, SigningKey};
    let tokens = AccessTokens::new(
        "vibebox",
        "vibebox-api",
        SigningKey::new("k1", secrecy::SecretBox::new(Box::new(vec![5u8; 32]))).unwrap(),
    );
    let issued = tokens.issue(actor.user_id().unwrap()).unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&issued.token).to_string();
    let mut config = HttpConfig::new(tokens);
    tweak(&mut config);
    let app = vibebox_http::router(Arc::new(d.vb.clone()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            served.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, token, app)
}

/// A typed client of the HTTP front at `addr` (from [`serve_http`]) with the bearer `token`:
/// an access token goes as is, as an API key would.
pub fn http_client(addr: std::net::SocketAddr, token: &str) -> vibebox_client::Client {
    vibebox_client::Client::new(
        &format!("http://{addr}"),
        vibebox_client::Credential::ApiKey(SecretString::from(token)),
    )
    .unwrap()
}
