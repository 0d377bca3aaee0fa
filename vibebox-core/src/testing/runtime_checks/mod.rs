//! The [`ContainerRuntime`] conformance suite: one async function per rule of the contract.
//!
//! Every backend runs it in its own tests:
//!
//! ```ignore
//! vibebox_core::runtime_conformance!(
//!     async { vibebox_core::testing::FakeRuntime::new() },
//!     vibebox_core::testing::runtime_checks::RuntimeFixture::new("vibebox/busybox:test"),
//! );
//! ```
//!
//! The macro expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per
//! check, named after it, so the test crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features. The checks use only commands a busybox image has (`sh -c`,
//! `echo`, `cat`, `sleep`, `stty size`), label every container they create with the fixture's
//! labels, and remove their containers at the end, also when they fail.
mod kill;
mod networks;
mod pause;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use secrecy::SecretString;
use tokio::io::AsyncWriteExt;

use crate::domain::{LogStream, Protocol};
use crate::error::{ErrorKind, Result};
use crate::runtime::{
    ContainerId, ContainerRuntime, ContainerSpec, ContainerState, ExecId, ExecInfo, ExecSession,
    ExecSpec, HardeningProfile, Limits, LogChunk, LogOptions, PortSpec, RuntimeEvent,
    RuntimeEventKind, TerminalSize, VolumeMount,
};

pub use self::kill::{
    kill_of_a_stopped_container_is_a_no_op, kill_of_an_unknown_container_is_not_found,
    kill_stops_a_running_container_at_once,
};
pub use self::networks::{
    aliases_on_the_default_network_are_invalid_input,
    connect_then_disconnect_moves_a_running_container_between_networks,
    connecting_to_a_missing_network_is_not_found,
    connecting_twice_and_disconnecting_twice_are_fine, missing_network_is_not_found,
    network_name_taken_is_already_exists, network_round_trip_create_inspect_list_remove,
    overlapping_subnet_is_conflict, running_container_holds_its_network,
};
pub use self::pause::{
    events_report_pause_and_unpause, pause_freezes_the_container,
    pause_of_a_stopped_container_is_conflict, pause_of_an_unknown_container_is_not_found,
    paused_container_can_be_stopped_and_removed, pausing_twice_is_fine,
    resume_thaws_and_keeps_memory,
};

/// The one list of checks: calls `$m!` with the arguments followed by every check's name.
#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_runtime_check_list {
    ($m:ident ! ($($args:tt)*)) => {
        $crate::$m! {
            ($($args)*)
            ping_succeeds,
            image_present_reports_present_and_absent_images,
            create_with_absent_image_is_not_found,
            duplicate_name_is_already_exists,
            create_then_inspect_reports_created,
            inspect_reports_labels,
            start_then_inspect_reports_running,
            start_is_idempotent,
            stop_is_idempotent,
            stopped_container_can_start_again,
            kill_stops_a_running_container_at_once,
            kill_of_a_stopped_container_is_a_no_op,
            kill_of_an_unknown_container_is_not_found,
            remove_unknown_container_is_not_found,
            operations_on_unknown_container_are_not_found,
            remove_running_container_makes_it_gone,
            list_filters_by_labels,
            engine_assigns_host_port_when_none_requested,
            requested_host_port_is_bound,
            taken_host_port_fails_start,
            main_process_exit_is_reported,
            exec_reports_exit_code,
            exec_without_tty_keeps_stdout_and_stderr_apart,
            tty_exec_merges_output_into_stdout,
            exec_on_stopped_container_is_conflict,
            exec_stdin_reaches_the_process,
            exec_sees_container_and_exec_env,
            tty_exec_resize_changes_stty_size,
            resize_exec_without_tty_is_invalid_input,
            kill_exec_ends_the_process,
            unknown_exec_is_not_found,
            stop_ends_running_execs,
            logs_keep_stdout_and_stderr_apart,
            logs_tail_returns_the_last_lines,
            logs_follow_ends_when_container_stops,
            stats_report_memory_limit,
            stats_report_the_pids_limit,
            stats_end_when_container_stops,
            events_report_start_and_die,
            storage_limit_is_reported_not_claimed,
            volumes_outlive_their_container_until_removed,
            network_round_trip_create_inspect_list_remove,
            network_name_taken_is_already_exists,
            overlapping_subnet_is_conflict,
            running_container_holds_its_network,
            missing_network_is_not_found,
            connect_then_disconnect_moves_a_running_container_between_networks,
            connecting_twice_and_disconnecting_twice_are_fine,
            aliases_on_the_default_network_are_invalid_input,
            connecting_to_a_missing_network_is_not_found,
            pause_freezes_the_container,
            resume_thaws_and_keeps_memory,
            pause_of_a_stopped_container_is_conflict,
            pause_of_an_unknown_container_is_not_found,
            pausing_twice_is_fine,
            paused_container_can_be_stopped_and_removed,
            events_report_pause_and_unpause,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_runtime_check_names {
    (() $($name:ident,)*) => {
        /// The name of every check, in the order the suite lists them.
        pub const ALL_CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Every listed name is a check function (a typo fails the build).
        #[allow(dead_code)]
        fn every_listed_check_exists() {
            $(let _ = $name;)*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __vibebox_runtime_conformance_tests {
    (($make:expr, $fixture:expr) $($name:ident,)*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let runtime = $make.await;
                let fixture: $crate::testing::runtime_checks::RuntimeFixture = $fixture;
                $crate::testing::runtime_checks::$name(&runtime, &fixture).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per runtime
/// check, named after it.
///
/// `runtime_conformance!(<future yielding impl ContainerRuntime>, <RuntimeFixture>);` — both
/// expressions are evaluated once per test.
#[macro_export]
macro_rules! runtime_conformance {
    ($make:expr, $fixture:expr $(,)?) => {
        $crate::__vibebox_runtime_check_list!(__vibebox_runtime_conformance_tests!(
            $make, $fixture
        ));
    };
}

crate::__vibebox_runtime_check_list!(__vibebox_runtime_check_names!());

/// How long a check waits for something that should happen promptly.
const WAIT: Duration = Duration::from_secs(20);
/// How long a whole check may take.
const CHECK_LIMIT: Duration = Duration::from_secs(120);
/// The grace period checks stop with.
const GRACE: Duration = Duration::from_secs(2);

/// What the checks need to know about the backend under test.
#[derive(Clone, Debug)]
pub struct RuntimeFixture {
    /// An image present on the engine with a busybox-like userland (`sh`, `echo`, `cat`,
    /// `sleep`, `stty`).
    pub image: String,
    /// A command that runs until stopped, e.g. `["sleep", "3600"]`.
    pub long_running_cmd: Vec<String>,
    /// Labels every created container carries, so a real-engine run can clean up by label.
    pub labels: Vec<(String, String)>,
    /// The prefix of every container name.
    pub name_prefix: String,
}

impl RuntimeFixture {
    /// A fixture for `image` with a unique run id: labels `vibebox.conformance=true` and
    /// `vibebox.conformance.run=<id>`, names prefixed `vbx-conformance-<id>-`, and
    /// `sleep 3600` as the long-running command.
    pub fn new(image: impl Into<String>) -> Self {
        let uuid = uuid::Uuid::now_v7().simple().to_string();
        let run_id = uuid
            .get(uuid.len().saturating_sub(12)..)
            .unwrap_or(&uuid)
            .to_string();
        Self {
            image: image.into(),
            long_running_cmd: vec!["sleep".into(), "3600".into()],
            labels: vec![
                ("vibebox.conformance".into(), "true".into()),
                ("vibebox.conformance.run".into(), run_id.clone()),
            ],
            name_prefix: format!("vbx-conformance-{run_id}-"),
        }
    }

    /// A spec named `<prefix><suffix>` running the long-running command, with modest limits,
    /// the fixture's labels, no ports and the dev hardening profile.
    pub fn spec(&self, suffix: &str) -> ContainerSpec {
        ContainerSpec {
            name: format!("{}{suffix}", self.name_prefix),
            image: self.image.clone(),
            cmd: Some(self.long_running_cmd.clone()),
            user: None,
            hostname: None,
            env: Vec::new(),
            limits: Limits {
                nano_cpus: 500_000_000,
                memory_bytes: 128 * 1024 * 1024,
                pids_limit: 128,
                storage_bytes: None,
            },
            ports: Vec::new(),
            volumes: Vec::new(),
            labels: self.labels.iter().cloned().collect(),
            hardening: HardeningProfile::Dev,
            network: None,
        }
    }

    /// Like [`spec`](Self::spec) with `sh -c <script>` as the command.
    pub fn script_spec(&self, suffix: &str, script: &str) -> ContainerSpec {
        let mut spec = self.spec(suffix);
        spec.cmd = Some(vec!["sh".into(), "-c".into(), script.into()]);
        spec
    }

    fn with_label(&self, key: &str, value: &str) -> Vec<(String, String)> {
        let mut labels = self.labels.clone();
        labels.push((key.into(), value.into()));
        labels
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Containers and volumes a check created, removed when it ends.
#[derive(Clone)]
struct Scope<'a> {
    rt: &'a dyn ContainerRuntime,
    created: Arc<Mutex<Vec<ContainerId>>>,
    volumes: Arc<Mutex<Vec<String>>>,
    networks: Arc<Mutex<Vec<String>>>,
}

impl Scope<'_> {
    async fn create(&self, spec: &ContainerSpec) -> ContainerId {
        let id = self
            .rt
            .create(spec)
            .await
            .unwrap_or_else(|e| panic!("create {} failed: {e}", spec.name));
        self.created.lock().unwrap().push(id.clone());
        id
    }

    async fn create_started(&self, spec: &ContainerSpec) -> ContainerId {
        let id = self.create(spec).await;
        self.rt
            .start(&id)
            .await
            .unwrap_or_else(|e| panic!("start {} failed: {e}", spec.name));
        id
    }

    async fn cleanup(&self) {
        let ids = std::mem::take(&mut *self.created.lock().unwrap());
        for id in ids {
            let _ = tokio::time::timeout(WAIT, self.rt.remove(&id)).await;
        }
        let volumes = std::mem::take(&mut *self.volumes.lock().unwrap());
        for v in volumes {
            let _ = tokio::time::timeout(WAIT, self.rt.remove_volume(&v)).await;
        }
        let networks = std::mem::take(&mut *self.networks.lock().unwrap());
        for n in networks {
            let _ = tokio::time::timeout(WAIT, self.rt.remove_network(&n)).await;
        }
    }
}

/// Runs a check body, then removes what it created, then re-raises its failure.
async fn guarded<'a, F, Fut>(rt: &'a dyn ContainerRuntime, body: F)
where
    F: FnOnce(Scope<'a>) -> Fut,
    Fut: Future<Output = ()> + 'a,
{
    let scope = Scope {
        rt,
        created: Arc::new(Mutex::new(Vec::new())),
        volumes: Arc::new(Mutex::new(Vec::new())),
        networks: Arc::new(Mutex::new(Vec::new())),
    };
    let outcome = tokio::time::timeout(
        CHECK_LIMIT,
        AssertUnwindSafe(body(scope.clone())).catch_unwind(),
    )
    .await;
    scope.cleanup().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the check did not finish within {CHECK_LIMIT:?}"),
    }
}

async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(WAIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

fn expect_kind<T>(r: Result<T>, kind: ErrorKind, what: &str) -> crate::Error {
    match r {
        Ok(_) => panic!("{what}: expected a {kind} error, got success"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: expected {kind}, got {e}");
            e
        }
    }
}

/// Polls `inspect` until `pred` holds.
async fn wait_for_container(
    rt: &dyn ContainerRuntime,
    id: &ContainerId,
    what: &str,
    pred: impl Fn(&crate::runtime::ContainerInfo) -> bool,
) -> crate::runtime::ContainerInfo {
    within(what, async {
        loop {
            let info = rt.inspect(id).await.expect("inspect");
            if pred(&info) {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Polls `inspect_exec` until the exec has ended.
async fn wait_exec_end(rt: &dyn ContainerRuntime, id: &ExecId) -> ExecInfo {
    within("the exec to end", async {
        loop {
            let info = rt.inspect_exec(id).await.expect("inspect_exec");
            if !info.running {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Polls non-follow `logs` until `pred` holds on the lines.
async fn wait_for_logs(
    rt: &dyn ContainerRuntime,
    id: &ContainerId,
    what: &str,
    pred: impl Fn(&[LogChunk]) -> bool,
) -> Vec<LogChunk> {
    within(what, async {
        loop {
            let lines = read_logs(rt, id, LogOptions::default()).await;
            if pred(&lines) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

async fn read_logs(
    rt: &dyn ContainerRuntime,
    id: &ContainerId,
    options: LogOptions,
) -> Vec<LogChunk> {
    within("the logs to end", rt.logs(id, options).collect::<Vec<_>>())
        .await
        .into_iter()
        .map(|r| r.expect("log line"))
        .collect()
}

/// Reads an exec's whole output: (stdout, stderr).
async fn read_output(session: &mut ExecSession) -> (String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    within("the exec output to end", async {
        while let Some(chunk) = session.output.next().await {
            let chunk = chunk.expect("exec output");
            match chunk.stream {
                LogStream::Stdout => out.extend_from_slice(&chunk.data),
                LogStream::Stderr => err.extend_from_slice(&chunk.data),
            }
        }
    })
    .await;
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Reads an exec's output until it contains `needle`; returns what was read.
async fn read_until(session: &mut ExecSession, needle: &str) -> String {
    let mut seen = Vec::new();
    within(&format!("exec output containing {needle:?}"), async {
        while let Some(chunk) = session.output.next().await {
            seen.extend_from_slice(&chunk.expect("exec output").data);
            if String::from_utf8_lossy(&seen).contains(needle) {
                return;
            }
        }
        panic!(
            "the exec output ended without {needle:?}: {:?}",
            String::from_utf8_lossy(&seen)
        );
    })
    .await;
    String::from_utf8_lossy(&seen).into_owned()
}

async fn drain_until_end<T>(
    what: &str,
    stream: &mut futures::stream::BoxStream<'static, Result<T>>,
) {
    within(what, async { while stream.next().await.is_some() {} }).await;
}

fn exec_spec(cmd: &[&str]) -> ExecSpec {
    ExecSpec {
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..ExecSpec::default()
    }
}

fn sh(script: &str) -> ExecSpec {
    exec_spec(&["sh", "-c", script])
}

/// A host port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn port(container_port: u16, host_port: Option<u16>) -> PortSpec {
    PortSpec {
        container_port,
        protocol: Protocol::Tcp,
        host_ip: "127.0.0.1".into(),
        host_port,
    }
}

fn absent_id(fx: &RuntimeFixture) -> ContainerId {
    ContainerId(format!("{}absent", fx.name_prefix))
}

// ---------------------------------------------------------------------------------------------
// Checks

/// `ping` succeeds on a reachable engine.
pub async fn ping_succeeds(rt: &dyn ContainerRuntime, _fx: &RuntimeFixture) {
    within("ping", rt.ping()).await.expect("ping");
}

/// `image_present` is true for the fixture's image and false for an absent one.
pub async fn image_present_reports_present_and_absent_images(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    assert!(rt.image_present(&fx.image).await.expect("image_present"));
    let absent = format!(
        "vibebox/absent-{}:none",
        fx.name_prefix.trim_end_matches('-')
    );
    assert!(!rt.image_present(&absent).await.expect("image_present"));
}

/// Creating from an absent image is `NotFound` naming the image, promptly.
pub async fn create_with_absent_image_is_not_found(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("absent-image");
        spec.image = format!(
            "vibebox/absent-{}:none",
            fx.name_prefix.trim_end_matches('-')
        );
        let r = within("create with an absent image", s.rt.create(&spec)).await;
        if let Ok(id) = &r {
            s.created.lock().unwrap().push(id.clone());
        }
        let e = expect_kind(r, ErrorKind::NotFound, "create with an absent image");
        assert!(
            e.to_string().contains(&spec.image),
            "the error should name the image: {e}"
        );
    })
    .await;
}

/// A second container with the same name is `AlreadyExists`.
pub async fn duplicate_name_is_already_exists(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let spec = fx.spec("dup");
        s.create(&spec).await;
        let r = s.rt.create(&spec).await;
        if let Ok(id) = &r {
            s.created.lock().unwrap().push(id.clone());
        }
        expect_kind(r, ErrorKind::AlreadyExists, "create with a taken name");
    })
    .await;
}

/// A created container is `created`, with its name, image, no exit code and no ports.
pub async fn create_then_inspect_reports_created(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("created");
        spec.ports = vec![port(8080, None)];
        let id = s.create(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.id, id);
        assert_eq!(info.name, spec.name);
        assert_eq!(info.image, fx.image);
        assert_eq!(info.state, ContainerState::Created);
        assert_eq!(info.exit_code, None);
        assert!(!info.oom_killed);
        assert!(info.ports.is_empty(), "{:?}", info.ports);
        assert!(info.started_at.is_none());
    })
    .await;
}

/// `inspect` reports every label the spec set.
pub async fn inspect_reports_labels(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("labels");
        spec.labels
            .insert("vibebox.conformance.extra".into(), "some value".into());
        let id = s.create(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        for (k, v) in &spec.labels {
            assert_eq!(info.labels.get(k), Some(v), "label {k}");
        }
    })
    .await;
}

/// A started container is `running` with a start time.
pub async fn start_then_inspect_reports_running(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("running")).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running);
        assert!(info.started_at.is_some());
        assert_eq!(info.exit_code, None);
    })
    .await;
}

/// Starting a running container succeeds and leaves it running.
pub async fn start_is_idempotent(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("start-twice")).await;
        s.rt.start(&id).await.expect("second start");
        assert_eq!(
            s.rt.inspect(&id).await.expect("inspect").state,
            ContainerState::Running
        );
    })
    .await;
}

/// Stopping a stopped (or never started) container succeeds.
pub async fn stop_is_idempotent(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let created = s.create(&fx.spec("stop-created")).await;
        s.rt.stop(&created, GRACE)
            .await
            .expect("stop a created container");
        let id = s.create_started(&fx.spec("stop-twice")).await;
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        s.rt.stop(&id, GRACE).await.expect("second stop");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Exited);
        assert!(info.finished_at.is_some());
        assert!(info.exit_code.is_some());
    })
    .await;
}

/// A stopped container starts again.
pub async fn stopped_container_can_start_again(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("restart")).await;
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        s.rt.start(&id).await.expect("start again");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running);
        assert_eq!(info.exit_code, None);
    })
    .await;
}

/// Removing a container that does not exist is `NotFound`.
pub async fn remove_unknown_container_is_not_found(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    expect_kind(
        rt.remove(&absent_id(fx)).await,
        ErrorKind::NotFound,
        "remove an unknown container",
    );
}

/// `inspect`, `start`, `stop`, `exec` and `logs` of an unknown container are `NotFound`.
pub async fn operations_on_unknown_container_are_not_found(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    let id = absent_id(fx);
    expect_kind(rt.inspect(&id).await, ErrorKind::NotFound, "inspect");
    expect_kind(rt.start(&id).await, ErrorKind::NotFound, "start");
    expect_kind(rt.stop(&id, GRACE).await, ErrorKind::NotFound, "stop");
    expect_kind(
        rt.exec(&id, &exec_spec(&["true"])).await,
        ErrorKind::NotFound,
        "exec",
    );
    let first = within(
        "logs of an unknown container",
        rt.logs(&id, LogOptions::default()).next(),
    )
    .await;
    match first {
        Some(r) => {
            expect_kind(r, ErrorKind::NotFound, "logs");
        }
        None => panic!("logs of an unknown container should yield NotFound, not end"),
    }
}

/// A removed running container is gone from `inspect` and `list`.
pub async fn remove_running_container_makes_it_gone(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("remove-running")).await;
        within("remove", s.rt.remove(&id))
            .await
            .expect("remove a running container");
        expect_kind(
            s.rt.inspect(&id).await,
            ErrorKind::NotFound,
            "inspect after remove",
        );
        let listed = s.rt.list(&fx.labels).await.expect("list");
        assert!(
            listed.iter().all(|c| c.id != id),
            "removed container still listed"
        );
    })
    .await;
}

/// `list` returns exactly the containers carrying all the given labels, running or not.
pub async fn list_filters_by_labels(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut a = fx.spec("list-a");
        a.labels
            .insert("vibebox.conformance.pick".into(), "a".into());
        let mut b = fx.spec("list-b");
        b.labels
            .insert("vibebox.conformance.pick".into(), "b".into());
        let a = s.create_started(&a).await;
        let b = s.create(&b).await;
        let all: Vec<ContainerId> =
            s.rt.list(&fx.labels)
                .await
                .expect("list")
                .into_iter()
                .map(|c| c.id)
                .collect();
        assert!(all.contains(&a) && all.contains(&b), "{all:?}");
        let only_a =
            s.rt.list(&fx.with_label("vibebox.conformance.pick", "a"))
                .await
                .expect("list");
        assert_eq!(only_a.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&a]);
        assert_eq!(only_a[0].state, ContainerState::Running);
        let only_b =
            s.rt.list(&fx.with_label("vibebox.conformance.pick", "b"))
                .await
                .expect("list");
        assert_eq!(only_b.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&b]);
        let none =
            s.rt.list(&fx.with_label("vibebox.conformance.pick", "none"))
                .await
                .expect("list");
        assert!(none.is_empty(), "{none:?}");
    })
    .await;
}

/// A port published without a host port gets one chosen by the engine, reported while running.
pub async fn engine_assigns_host_port_when_none_requested(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("auto-port");
        spec.ports = vec![port(8080, None)];
        let id = s.create_started(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.ports.len(), 1, "{:?}", info.ports);
        assert_eq!(info.ports[0].container_port, 8080);
        assert_eq!(info.ports[0].protocol, Protocol::Tcp);
        assert_ne!(info.ports[0].host_port, 0);
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert!(info.ports.is_empty(), "ports after stop: {:?}", info.ports);
    })
    .await;
}

/// A requested host port is the one bound.
pub async fn requested_host_port_is_bound(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let host_port = free_port();
        let mut spec = fx.spec("fixed-port");
        spec.ports = vec![port(8080, Some(host_port))];
        let id = s.create_started(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.ports.len(), 1, "{:?}", info.ports);
        assert_eq!(info.ports[0].host_port, host_port);
        assert_eq!(info.ports[0].container_port, 8080);
    })
    .await;
}

/// Starting a container whose host port another running container holds fails (`Internal`)
/// and leaves it not running.
pub async fn taken_host_port_fails_start(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let host_port = free_port();
        let mut first = fx.spec("port-holder");
        first.ports = vec![port(8080, Some(host_port))];
        let mut second = fx.spec("port-taker");
        second.ports = vec![port(8081, Some(host_port))];
        s.create_started(&first).await;
        let taker = s.create(&second).await;
        let e = expect_kind(
            within("start", s.rt.start(&taker)).await,
            ErrorKind::Internal,
            "start with a taken host port",
        );
        assert!(e.to_string().contains("allocated"), "{e}");
        let info = s.rt.inspect(&taker).await.expect("inspect");
        assert!(!info.state.is_running(), "{:?}", info.state);
    })
    .await;
}

/// When the main process ends by itself the container is `exited` with its exit code.
pub async fn main_process_exit_is_reported(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s
            .create_started(&fx.script_spec("exits", "echo bye; exit 3"))
            .await;
        let info = wait_for_container(s.rt, &id, "the container to exit", |i| {
            i.state == ContainerState::Exited
        })
        .await;
        assert_eq!(info.exit_code, Some(3));
        assert!(info.finished_at.is_some());
        assert!(!info.oom_killed);
    })
    .await;
}

/// An exec's exit code is reported once it has ended.
pub async fn exec_reports_exit_code(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-code")).await;
        let mut session = s.rt.exec(&id, &sh("exit 3")).await.expect("exec");
        read_output(&mut session).await;
        let info = wait_exec_end(s.rt, &session.id).await;
        assert_eq!(info.exit_code, Some(3));
        let mut ok = s.rt.exec(&id, &exec_spec(&["true"])).await.expect("exec");
        read_output(&mut ok).await;
        assert_eq!(wait_exec_end(s.rt, &ok.id).await.exit_code, Some(0));
    })
    .await;
}

/// Without a TTY, stdout and stderr arrive as separate streams.
pub async fn exec_without_tty_keeps_stdout_and_stderr_apart(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-streams")).await;
        let mut session =
            s.rt.exec(&id, &sh("echo to-stdout; echo to-stderr >&2"))
                .await
                .expect("exec");
        let (out, err) = read_output(&mut session).await;
        assert_eq!(out, "to-stdout\n");
        assert_eq!(err, "to-stderr\n");
    })
    .await;
}

/// With a TTY, all output arrives on stdout.
pub async fn tty_exec_merges_output_into_stdout(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-tty")).await;
        let mut spec = sh("echo to-stdout; echo to-stderr >&2");
        spec.tty = Some(TerminalSize { cols: 80, rows: 24 });
        let mut session = s.rt.exec(&id, &spec).await.expect("exec");
        let (out, err) = read_output(&mut session).await;
        assert!(err.is_empty(), "stderr with a tty: {err:?}");
        assert!(
            out.contains("to-stdout") && out.contains("to-stderr"),
            "{out:?}"
        );
    })
    .await;
}

/// Exec in a container that is not running is `Conflict`.
pub async fn exec_on_stopped_container_is_conflict(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create(&fx.spec("exec-stopped")).await;
        expect_kind(
            s.rt.exec(&id, &exec_spec(&["true"])).await,
            ErrorKind::Conflict,
            "exec in a created container",
        );
        s.rt.start(&id).await.expect("start");
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        expect_kind(
            s.rt.exec(&id, &exec_spec(&["true"])).await,
            ErrorKind::Conflict,
            "exec in a stopped container",
        );
    })
    .await;
}

/// Bytes written to an exec's input reach the process; shutting the input down closes stdin.
pub async fn exec_stdin_reaches_the_process(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-stdin")).await;
        let mut spec = exec_spec(&["cat"]);
        spec.stdin = true;
        let mut session = s.rt.exec(&id, &spec).await.expect("exec");
        session
            .input
            .write_all(b"hello stdin\n")
            .await
            .expect("write");
        session.input.flush().await.expect("flush");
        session.input.shutdown().await.expect("shutdown");
        let (out, _) = read_output(&mut session).await;
        assert_eq!(out, "hello stdin\n");
        assert_eq!(wait_exec_end(s.rt, &session.id).await.exit_code, Some(0));
    })
    .await;
}

/// An exec sees the container's environment and its own extra variables.
pub async fn exec_sees_container_and_exec_env(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("exec-env");
        spec.env = vec![(
            "VBX_FROM_CONTAINER".into(),
            SecretString::from("container-value".to_string()),
        )];
        let id = s.create_started(&spec).await;
        let mut exec = sh("echo \"$VBX_FROM_CONTAINER $VBX_FROM_EXEC\"");
        exec.env = vec![("VBX_FROM_EXEC".into(), "exec-value".into())];
        let mut session = s.rt.exec(&id, &exec).await.expect("exec");
        let (out, _) = read_output(&mut session).await;
        assert_eq!(out, "container-value exec-value\n");
    })
    .await;
}

/// `resize_exec` changes the size `stty size` reports inside a TTY exec.
pub async fn tty_exec_resize_changes_stty_size(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-resize")).await;
        let mut spec = exec_spec(&["sh"]);
        spec.stdin = true;
        spec.tty = Some(TerminalSize { cols: 80, rows: 24 });
        let mut session = s.rt.exec(&id, &spec).await.expect("exec");
        s.rt.resize_exec(
            &session.id,
            TerminalSize {
                cols: 123,
                rows: 45,
            },
        )
        .await
        .expect("resize");
        session
            .input
            .write_all(b"stty size\n")
            .await
            .expect("write");
        session.input.flush().await.expect("flush");
        read_until(&mut session, "45 123").await;
        session.input.write_all(b"exit\n").await.expect("write");
        session.input.flush().await.expect("flush");
        drain_until_end("the shell to exit", &mut session.output).await;
    })
    .await;
}

/// Resizing an exec without a TTY is `InvalidInput`.
pub async fn resize_exec_without_tty_is_invalid_input(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-no-tty")).await;
        let session =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        expect_kind(
            s.rt.resize_exec(
                &session.id,
                TerminalSize {
                    cols: 100,
                    rows: 40,
                },
            )
            .await,
            ErrorKind::InvalidInput,
            "resize without a tty",
        );
    })
    .await;
}

/// `kill_exec` ends a running exec: it stops running and its output ends. Killing it again is
/// fine.
pub async fn kill_exec_ends_the_process(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("exec-kill")).await;
        let mut session =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        if !s.rt.capabilities().kill_exec {
            expect_kind(
                s.rt.kill_exec(&session.id).await,
                ErrorKind::Unsupported,
                "kill_exec without the capability",
            );
            return;
        }
        assert!(
            s.rt.inspect_exec(&session.id)
                .await
                .expect("inspect_exec")
                .running
        );
        within("kill_exec", s.rt.kill_exec(&session.id))
            .await
            .expect("kill_exec");
        let info = wait_exec_end(s.rt, &session.id).await;
        assert!(info.exit_code.is_some_and(|c| c != 0), "{info:?}");
        drain_until_end("the killed exec's output to end", &mut session.output).await;
        s.rt.kill_exec(&session.id)
            .await
            .expect("kill an ended exec");
        // The container itself keeps running.
        assert_eq!(
            s.rt.inspect(&id).await.expect("inspect").state,
            ContainerState::Running
        );
    })
    .await;
}

/// `inspect_exec` and `resize_exec` of an unknown exec are `NotFound`.
pub async fn unknown_exec_is_not_found(rt: &dyn ContainerRuntime, _fx: &RuntimeFixture) {
    let id = ExecId("0".repeat(64));
    expect_kind(
        rt.inspect_exec(&id).await,
        ErrorKind::NotFound,
        "inspect_exec",
    );
    expect_kind(
        rt.resize_exec(&id, TerminalSize { cols: 80, rows: 24 })
            .await,
        ErrorKind::NotFound,
        "resize_exec",
    );
}

/// Stopping a container ends its execs: their output streams end.
pub async fn stop_ends_running_execs(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("stop-execs")).await;
        let mut session =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        drain_until_end("the exec's output to end after stop", &mut session.output).await;
        match s.rt.inspect_exec(&session.id).await {
            Ok(info) => assert!(!info.running, "{info:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{e}"),
        }
    })
    .await;
}

/// The main process's stdout and stderr lines arrive apart, in order, with timestamps.
pub async fn logs_keep_stdout_and_stderr_apart(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s
            .create_started(&fx.script_spec(
                "logs-streams",
                "echo to-stdout; echo to-stderr >&2; sleep 3600",
            ))
            .await;
        let lines = wait_for_logs(s.rt, &id, "both log lines", |l| l.len() >= 2).await;
        let out: Vec<_> = lines
            .iter()
            .filter(|l| l.stream == LogStream::Stdout)
            .collect();
        let err: Vec<_> = lines
            .iter()
            .filter(|l| l.stream == LogStream::Stderr)
            .collect();
        assert_eq!(out.len(), 1, "{lines:?}");
        assert_eq!(err.len(), 1, "{lines:?}");
        assert_eq!(out[0].message, "to-stdout");
        assert_eq!(err[0].message, "to-stderr");
        let first = lines[0].timestamp;
        let since = read_logs(
            s.rt,
            &id,
            LogOptions {
                since: Some(first + chrono::TimeDelta::days(1)),
                ..LogOptions::default()
            },
        )
        .await;
        assert!(since.is_empty(), "lines after a future `since`: {since:?}");
    })
    .await;
}

/// `tail` returns only the last lines.
pub async fn logs_tail_returns_the_last_lines(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s
            .create_started(
                &fx.script_spec("logs-tail", "echo one; echo two; echo three; sleep 3600"),
            )
            .await;
        wait_for_logs(s.rt, &id, "three log lines", |l| l.len() >= 3).await;
        let tail = |n| LogOptions {
            tail: Some(n),
            ..LogOptions::default()
        };
        let last: Vec<String> = read_logs(s.rt, &id, tail(1))
            .await
            .into_iter()
            .map(|l| l.message)
            .collect();
        assert_eq!(last, ["three"]);
        let last: Vec<String> = read_logs(s.rt, &id, tail(2))
            .await
            .into_iter()
            .map(|l| l.message)
            .collect();
        assert_eq!(last, ["two", "three"]);
    })
    .await;
}

/// A followed log yields existing lines, then ends when the container stops.
pub async fn logs_follow_ends_when_container_stops(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let id = s
            .create_started(&fx.script_spec("logs-follow", "echo hello; sleep 3600"))
            .await;
        let mut follow = s.rt.logs(
            &id,
            LogOptions {
                follow: true,
                ..LogOptions::default()
            },
        );
        within("the followed line", async {
            loop {
                match follow.next().await {
                    Some(Ok(line)) if line.message == "hello" => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("log follow failed: {e}"),
                    None => panic!("log follow ended before the line arrived"),
                }
            }
        })
        .await;
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        drain_until_end("the followed log to end after stop", &mut follow).await;
    })
    .await;
}

/// `stats` of a running container report the memory limit from the spec.
pub async fn stats_report_memory_limit(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().stats {
        return;
    }
    guarded(rt, |s| async move {
        let mut spec = fx.spec("stats-limit");
        spec.limits.memory_bytes = 96 * 1024 * 1024;
        let id = s.create_started(&spec).await;
        let mut stats = s.rt.stats(&id);
        let sample = within("a stats sample", stats.next())
            .await
            .expect("a sample before the stream ends")
            .expect("stats sample");
        assert_eq!(sample.memory_limit_bytes, 96 * 1024 * 1024);
        assert!(
            sample.memory_bytes <= sample.memory_limit_bytes,
            "{sample:?}"
        );
        assert!(sample.cpu_percent >= 0.0, "{sample:?}");
    })
    .await;
}

/// `stats` of a running container report the pids limit from the spec, and no more
/// processes than that.
pub async fn stats_report_the_pids_limit(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().stats {
        return;
    }
    guarded(rt, |s| async move {
        let spec = fx.spec("stats-pids");
        let limit = u64::try_from(spec.limits.pids_limit).expect("a positive pids limit");
        let id = s.create_started(&spec).await;
        let mut stats = s.rt.stats(&id);
        let sample = within("a stats sample", stats.next())
            .await
            .expect("a sample before the stream ends")
            .expect("stats sample");
        assert_eq!(sample.pids_limit, Some(limit), "{sample:?}");
        assert!(
            sample.pids.is_none_or(|pids| (1..=limit).contains(&pids)),
            "{sample:?}"
        );
    })
    .await;
}

/// `stats` end when the container stops.
pub async fn stats_end_when_container_stops(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().stats {
        return;
    }
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("stats-end")).await;
        let mut stats = s.rt.stats(&id);
        within("a stats sample", stats.next())
            .await
            .expect("a sample")
            .expect("stats sample");
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        drain_until_end("the stats to end after stop", &mut stats).await;
    })
    .await;
}

/// Waits for an event of `id` matching `pred`; events of other containers must not appear.
async fn next_event(
    events: &mut futures::stream::BoxStream<'static, Result<RuntimeEvent>>,
    id: &ContainerId,
    pred: impl Fn(&RuntimeEventKind) -> bool,
) -> RuntimeEvent {
    loop {
        match events.next().await {
            Some(Ok(ev)) => {
                assert_eq!(
                    &ev.container_id, id,
                    "an event for a container without the filter's labels: {ev:?}"
                );
                if pred(&ev.kind) {
                    return ev;
                }
            }
            Some(Err(e)) => panic!("events failed: {e}"),
            None => panic!("the event stream ended"),
        }
    }
}

/// `events` report a matching container's start and its death on stop, and nothing about
/// containers without the labels.
pub async fn events_report_start_and_die(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let labels = fx.with_label("vibebox.conformance.events", "watched");
        let mut events = s.rt.events(&labels);
        let mut watched = fx.spec("events-watched");
        watched
            .labels
            .insert("vibebox.conformance.events".into(), "watched".into());
        let id = s.create(&watched).await;
        let other = s.create(&fx.spec("events-other")).await;
        // The stream may connect lazily: (re)start until its start event is seen.
        let mut seen = None;
        for _ in 0..5 {
            s.rt.start(&other).await.expect("start other");
            s.rt.start(&id).await.expect("start");
            let wait = tokio::time::timeout(
                Duration::from_secs(3),
                next_event(&mut events, &id, |k| *k == RuntimeEventKind::Start),
            );
            if let Ok(ev) = wait.await {
                seen = Some(ev);
                break;
            }
            s.rt.stop(&id, GRACE).await.expect("stop");
            s.rt.stop(&other, GRACE).await.expect("stop other");
        }
        let start = seen.expect("a start event");
        for (k, v) in &labels {
            assert_eq!(start.labels.get(k), Some(v), "event label {k}");
        }
        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        let die = within(
            "a die event",
            next_event(&mut events, &id, |k| {
                matches!(k, RuntimeEventKind::Die { .. })
            }),
        )
        .await;
        assert!(
            matches!(die.kind, RuntimeEventKind::Die { exit_code: Some(_) }),
            "{die:?}"
        );
    })
    .await;
}

/// A storage limit is enforced only where the engine says it can be, and `inspect` reports
/// which.
pub async fn storage_limit_is_reported_not_claimed(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("storage");
        spec.limits.storage_bytes = Some(1024 * 1024 * 1024);
        let id = s.create(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(
            info.storage_limit_enforced,
            s.rt.capabilities().storage_limit
        );
        let plain = s.create(&fx.spec("no-storage")).await;
        assert!(
            !s.rt
                .inspect(&plain)
                .await
                .expect("inspect")
                .storage_limit_enforced
        );
    })
    .await;
}

/// A named volume outlives its container: removing it while a container uses it is
/// `Conflict`; once the container is gone it can be removed, and removing it again is
/// `NotFound`.
pub async fn volumes_outlive_their_container_until_removed(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let volume = format!("{}volume", fx.name_prefix);
        s.volumes.lock().unwrap().push(volume.clone());
        let mut spec = fx.spec("volume");
        spec.volumes = vec![VolumeMount {
            name: volume.clone(),
            target: "/data".into(),
        }];
        let id = s.create(&spec).await;
        expect_kind(
            within("remove a volume in use", s.rt.remove_volume(&volume)).await,
            ErrorKind::Conflict,
            "remove a volume in use",
        );
        within("remove", s.rt.remove(&id)).await.expect("remove");
        within("remove the volume", s.rt.remove_volume(&volume))
            .await
            .expect("remove the volume once unused");
        expect_kind(
            within("remove a removed volume", s.rt.remove_volume(&volume)).await,
            ErrorKind::NotFound,
            "remove a removed volume",
        );
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::ALL_CHECKS;

    #[test]
    fn the_check_list_names_at_least_15_distinct_checks() {
        let mut names = ALL_CHECKS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL_CHECKS.len());
        assert!(ALL_CHECKS.len() >= 15);
    }
}
