//! An in-memory container engine for tests.
//!
//! [`FakeRuntime`] keeps containers, execs, logs and events in memory and behaves like the Docker
//! adapter as far as the [`ContainerRuntime`] contract goes (it passes the conformance suite).
//! Tests steer it with helpers: [`fail_next`](FakeRuntime::fail_next),
//! [`set_unavailable`](FakeRuntime::set_unavailable), [`crash`](FakeRuntime::crash),
//! [`oom_kill`](FakeRuntime::oom_kill), [`push_log`](FakeRuntime::push_log),
//! [`script_exec`](FakeRuntime::script_exec) and more.
//!
//! Fault hooks model what a real Docker 20.10 engine does under trouble:
//! [`stall_log_follows`](FakeRuntime::stall_log_follows),
//! [`end_log_follows`](FakeRuntime::end_log_follows),
//! [`rotate_logs`](FakeRuntime::rotate_logs), [`saturate`](FakeRuntime::saturate),
//! [`oom_kill_process`](FakeRuntime::oom_kill_process) and
//! [`set_pids`](FakeRuntime::set_pids).
//!
//! # Processes
//!
//! A container's main command (`spec.cmd`) and execs run through a tiny shell: `echo`
//! (with `>&2`), `exit N`, `true`, `false`, `sleep N`, `cat`, `stty size`, `printenv`, `pwd`,
//! `whoami`, `sh -c '…'` with `;`, `&&`, `||` and `$VAR`. An exec of `sh`, `bash` or `tmux …`
//! with stdin reads commands from stdin; with a TTY it echoes every byte back like a terminal in
//! echo mode, and ends on `exit` or Ctrl-D. In a main command, `sleep` and unknown programs run
//! until the container stops; a main command that ends makes the container exit with its code.
//! Without a command (`cmd: None`) the container runs until stopped. `echo … > /path` (and
//! `>>`, `2>`) writes a file of the container, which `cat /path` reads back; files last until
//! the container is removed.
//!
//! # Pause
//!
//! [`pause`](ContainerRuntime::pause) and [`resume`](ContainerRuntime::resume) behave like
//! Docker 20.10's pause and unpause as the contract sees them: a paused container reports
//! `Paused`, keeps its ports, network, files and processes (an exec's id and pid stay the
//! same), refuses `exec` (and `kill_exec`, which the Docker adapter runs as an exec) and
//! `start` with `Conflict`, and can be stopped, killed and removed (a `Pause` event, then an
//! `Unpause` before the `Die`, as Docker reports). While paused, no statement of any of its
//! processes starts and no input is read; a statement already under way (a `sleep`) runs on.
//! With [`Capabilities::pause`] off (see [`with_capabilities`](FakeRuntime::with_capabilities)),
//! both answer `Unsupported`, like an engine without a freezer.
//!
//! # Networks
//!
//! The engine starts with Docker's default `bridge`. A container is on the network of its
//! spec (else `bridge`) and on those it was [connected](ContainerRuntime::connect_network)
//! to, until [disconnected](ContainerRuntime::disconnect_network); `inspect` lists them, and
//! a network lists its live containers. It resolves no names;
//! [`network_aliases`](FakeRuntime::network_aliases) tells the aliases a container has on a
//! network.
mod faults;
mod interp;
mod networks;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use self::interp::ScriptedExec;
use self::interp::{Ctx, Files, Sink};
use crate::clock::{Timestamp, truncate};
use crate::domain::LogStream;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::{
    BoundPort, Capabilities, ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec,
    ContainerState, ContainerStats, ExecId, ExecInfo, ExecSession, ExecSpec, LogChunk, LogOptions,
    NetworkAttachment, NetworkInfo, NetworkSpec, RuntimeEvent, RuntimeEventKind, TerminalSize,
};

/// The first port the fake engine hands out when none is requested.
const FIRST_EPHEMERAL_PORT: u16 = 32768;
/// The last one.
const LAST_EPHEMERAL_PORT: u16 = 60999;
/// Images present in a new FakeRuntime.
const DEFAULT_IMAGES: [&str; 2] = ["vibebox/base:bookworm", "vibebox/busybox:test"];

/// A failure a test can inject with [`FakeRuntime::fail_next`]: the next call of that operation
/// fails with an `Internal` runtime error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FakeFailure {
    /// `create` fails.
    Create,
    /// `start` fails.
    Start,
    /// `stop` (or `kill`) fails.
    Stop,
    /// `remove` fails.
    Remove,
    /// `inspect` fails.
    Inspect,
    /// `list` fails.
    List,
    /// `exec` fails.
    Exec,
    /// `ping` fails.
    Ping,
    /// `pause` fails.
    Pause,
    /// `resume` fails.
    Resume,
}

impl FakeFailure {
    fn op(self) -> &'static str {
        match self {
            FakeFailure::Create => "create",
            FakeFailure::Start => "start",
            FakeFailure::Stop => "stop",
            FakeFailure::Remove => "remove",
            FakeFailure::Inspect => "inspect",
            FakeFailure::List => "list",
            FakeFailure::Exec => "exec",
            FakeFailure::Ping => "ping",
            FakeFailure::Pause => "pause",
            FakeFailure::Resume => "resume",
        }
    }
}

/// One exec the fake ran, as recorded by [`FakeRuntime::exec_history`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    /// The container it ran in.
    pub container_id: ContainerId,
    /// Its id.
    pub exec_id: ExecId,
    /// What was asked.
    pub spec: ExecSpec,
}

/// An in-memory container engine. Cheap to clone (clones share state).
#[derive(Clone)]
pub struct FakeRuntime {
    inner: Arc<Inner>,
}

/// Pauses held by [`FakeRuntime::hold_pauses`].
#[derive(Debug)]
pub struct PauseHold {
    arrived: tokio::sync::Semaphore,
    gate: tokio::sync::Semaphore,
}

impl PauseHold {
    /// Waits until a `pause` is held.
    pub async fn arrived(&self) {
        if let Ok(permit) = self.arrived.acquire().await {
            permit.forget();
        }
    }

    /// Lets one held `pause` go on.
    pub fn release(&self) {
        self.gate.add_permits(1);
    }
}

pub(crate) struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<RuntimeEvent>,
    /// Bumped on every change, so streams know to look again.
    changes: watch::Sender<u64>,
    /// While set, `pause` waits to be released before freezing (see
    /// [`FakeRuntime::hold_pauses`]).
    pause_hold: Mutex<Option<Arc<PauseHold>>>,
}

struct State {
    images: BTreeSet<String>,
    containers: BTreeMap<String, Container>,
    volumes: BTreeSet<String>,
    networks: BTreeMap<String, networks::FakeNetwork>,
    execs: HashMap<String, ExecEntry>,
    failures: Vec<FakeFailure>,
    /// Every call fails with this error while it is set ([`FakeRuntime::set_unavailable`],
    /// [`FakeRuntime::fail_every_call_with`]).
    outage: Option<Outage>,
    capabilities: Capabilities,
    stats_interval: Duration,
    scripts: Vec<(String, ScriptedExec)>,
    exec_history: Vec<ExecRecord>,
    next_port: u16,
    next_pid: i64,
    next_seq: u64,
}

struct Container {
    seq: u64,
    id: ContainerId,
    spec: ContainerSpec,
    state: ContainerState,
    exit_code: Option<i64>,
    oom_killed: bool,
    error: Option<String>,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    ports: Vec<BoundPort>,
    logs: Vec<LogChunk>,
    /// Incremented at each start.
    run: u64,
    /// Cancelled when the current run ends; the main process and execs hang off it.
    run_token: CancellationToken,
    cpu_percent: f64,
    memory_bytes: u64,
    /// What `stats` report as `pids`, once set; otherwise the main process and the execs.
    pids: Option<u64>,
    /// Held at the pids limit (a fork bomb): execs fail. Cleared when the run ends.
    saturated: bool,
    /// A process other than the main one was OOM-killed during this run; the engine then
    /// reports `oom_killed` when the run ends, however it ends.
    oom_in_run: bool,
    /// The index in `logs` of the first line reads still see (rotation dropped the earlier).
    first_retained_log: usize,
    /// Bumped to stall every open log follow of the container.
    stall_generation: u64,
    /// Bumped to end every open log follow of the container.
    end_generation: u64,
    /// The networks it is on: the one it was created on, then those it was connected to.
    attachments: Vec<networks::Attachment>,
    /// Its files (`echo … > /path`), kept until it is removed.
    files: Files,
    /// True while paused; its processes wait on it.
    frozen: watch::Sender<bool>,
    /// The exit code of a main process that ended while the container was paused: the
    /// container exits with it when resumed.
    pending_exit: Option<i64>,
}

struct ExecEntry {
    container: ContainerId,
    running: bool,
    exit_code: Option<i64>,
    pid: i64,
    tty: Option<Arc<Mutex<TerminalSize>>>,
    cancel: CancellationToken,
}

fn now() -> Timestamp {
    truncate(chrono::Utc::now())
}

fn random_hex_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    )
}

/// Decides, call by call, whether a fake backend fails and with what error: `Some` fails the
/// call (the closure may count calls, so a test can let the first N through).
pub type Outage = Arc<dyn Fn() -> Option<Error> + Send + Sync>;

fn unavailable() -> Error {
    Error::unavailable(
        "container engine",
        "cannot connect to the container engine (fake engine set unavailable)",
        None,
    )
}

fn not_running() -> Error {
    Error::Conflict("the container is not running".into())
}

fn paused() -> Error {
    Error::Conflict("the container is paused".into())
}

fn carries(labels: &BTreeMap<String, String>, wanted: &[(String, String)]) -> bool {
    wanted
        .iter()
        .all(|(k, v)| labels.get(k).is_some_and(|have| have == v))
}

impl Container {
    fn info(&self, caps: Capabilities) -> ContainerInfo {
        ContainerInfo {
            id: self.id.clone(),
            name: self.spec.name.clone(),
            image: self.spec.image.clone(),
            state: self.state,
            exit_code: if self.state == ContainerState::Exited {
                self.exit_code
            } else {
                None
            },
            oom_killed: self.oom_killed,
            error: self.error.clone(),
            labels: self.spec.labels.clone(),
            ports: if self.state.is_live() {
                self.ports.clone()
            } else {
                Vec::new()
            },
            started_at: self.started_at,
            finished_at: self.finished_at,
            storage_limit_enforced: caps.storage_limit && self.spec.limits.storage_bytes.is_some(),
            networks: self.network_names(),
        }
    }

    /// The pids limit the engine reports: none when the spec sets none (0 or negative).
    fn pids_limit(&self) -> Option<u64> {
        u64::try_from(self.spec.limits.pids_limit)
            .ok()
            .filter(|&limit| limit > 0)
    }
}

impl State {
    /// Fails if the engine is unavailable or a failure of `op` was injected.
    fn check(&mut self, op: Option<FakeFailure>) -> Result<()> {
        if let Some(e) = self.outage.as_ref().and_then(|outage| outage()) {
            return Err(e);
        }
        if let Some(op) = op
            && let Some(i) = self.failures.iter().position(|f| *f == op)
        {
            self.failures.remove(i);
            return Err(Error::runtime(
                ErrorKind::Internal,
                format!("fake runtime: injected {} failure", op.op()),
                None,
            ));
        }
        Ok(())
    }

    fn container(&self, id: &ContainerId) -> Result<&Container> {
        self.containers
            .get(id.as_str())
            .ok_or_else(|| Error::not_found("container"))
    }

    fn exec_entry(&mut self, id: &ExecId) -> Result<&mut ExecEntry> {
        self.execs
            .get_mut(&id.0)
            .ok_or_else(|| Error::not_found("exec"))
    }

    /// Host ports bound by running containers other than `except`.
    fn bound_ports(&self, except: &str) -> HashSet<(u16, crate::domain::Protocol)> {
        self.containers
            .values()
            .filter(|c| c.id.as_str() != except && c.state.is_live())
            .flat_map(|c| c.ports.iter().map(|p| (p.host_port, p.protocol)))
            .collect()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn emit(&self, c: &Container, kind: RuntimeEventKind) {
        let _ = self.events.send(RuntimeEvent {
            container_id: c.id.clone(),
            kind,
            labels: c.spec.labels.clone(),
            at: now(),
        });
    }

    /// Ends a running (or paused) container's run: its processes die, it becomes exited.
    fn end_run(&self, st: &mut State, id: &str, exit_code: i64, oom: bool, stopped: bool) {
        let Some(c) = st.containers.get_mut(id) else {
            return;
        };
        if !c.state.is_live() {
            return;
        }
        // Docker signals a paused container's processes, then thaws it so they can die.
        let was_paused = c.state == ContainerState::Paused;
        c.frozen.send_replace(false);
        c.pending_exit = None;
        c.state = ContainerState::Exited;
        c.exit_code = Some(exit_code);
        c.oom_killed = oom || c.oom_in_run;
        c.saturated = false;
        c.finished_at = Some(now());
        c.ports.clear();
        c.run_token.cancel();
        c.run_token = CancellationToken::new();
        for e in st.execs.values_mut() {
            if e.container.as_str() == id && e.running {
                e.running = false;
                e.exit_code = Some(137);
                e.cancel.cancel();
            }
        }
        if let Some(c) = st.containers.get(id) {
            if was_paused {
                self.emit(c, RuntimeEventKind::Unpause);
            }
            if oom {
                self.emit(c, RuntimeEventKind::Oom);
            }
            self.emit(
                c,
                RuntimeEventKind::Die {
                    exit_code: Some(exit_code),
                },
            );
            if stopped {
                self.emit(c, RuntimeEventKind::Stop);
            }
        }
        self.bump();
    }

    /// Pauses (or thaws) a running (or paused) container: its state, its processes' freezer,
    /// the event. A main process that ended while it was paused makes it exit on thaw.
    fn set_paused(&self, st: &mut State, id: &str, pause: bool) {
        let Some(c) = st.containers.get_mut(id) else {
            return;
        };
        c.state = if pause {
            ContainerState::Paused
        } else {
            ContainerState::Running
        };
        c.frozen.send_replace(pause);
        let pending = if pause { None } else { c.pending_exit.take() };
        let kind = if pause {
            RuntimeEventKind::Pause
        } else {
            RuntimeEventKind::Unpause
        };
        self.emit(c, kind);
        if let Some(code) = pending {
            self.end_run(st, id, code, false, false);
        }
        self.bump();
    }

    /// Appends output lines to a container's log.
    pub(crate) fn append_logs(&self, id: &ContainerId, stream: LogStream, text: &str) -> bool {
        let mut st = self.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        let at = now();
        for line in text.split_terminator('\n') {
            c.logs.push(LogChunk {
                timestamp: at,
                stream,
                message: line.trim_end_matches('\r').to_string(),
            });
        }
        drop(st);
        self.bump();
        true
    }

    /// The main process ended by itself. In a paused container the exit waits for the resume.
    fn main_exited(&self, id: &ContainerId, run: u64, code: i64) {
        let mut st = self.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return;
        };
        if c.run != run {
            return;
        }
        if c.state == ContainerState::Paused {
            c.pending_exit = Some(code);
            return;
        }
        if c.state.is_running() {
            self.end_run(&mut st, id.as_str(), code, false, false);
        }
    }

    fn exec_ended(&self, id: &str, code: i64) {
        let mut st = self.lock();
        if let Some(e) = st.execs.get_mut(id)
            && e.running
        {
            e.running = false;
            e.exit_code = Some(code);
        }
        drop(st);
        self.bump();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        for c in st.containers.values() {
            c.run_token.cancel();
        }
        for e in st.execs.values() {
            e.cancel.cancel();
        }
    }
}

/// What a stream's step decided.
enum Step<T> {
    /// Yield this and go on.
    Yield(Result<T>),
    /// Yield this and end.
    Last(Result<T>),
    /// End.
    End,
    /// Wait for a change (or until the instant).
    Wait(Option<tokio::time::Instant>),
}

/// A stream driven by a step function run under the state lock, woken by state changes.
fn poll_stream<T, S, F>(inner: &Arc<Inner>, init: S, step: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    S: Send + 'static,
    F: FnMut(&mut State, &mut S) -> Step<T> + Send + 'static,
{
    let rx = inner.changes.subscribe();
    let weak = Arc::downgrade(inner);
    futures::stream::unfold(Some((weak, rx, init, step)), |state| async move {
        let (weak, mut rx, mut s, mut step) = state?;
        loop {
            drop(rx.borrow_and_update());
            let decision = {
                let inner: Arc<Inner> = weak.upgrade()?;
                let mut guard = inner.lock();
                step(&mut guard, &mut s)
            };
            match decision {
                Step::Yield(item) => return Some((item, Some((weak, rx, s, step)))),
                Step::Last(item) => return Some((item, None)),
                Step::End => return None,
                Step::Wait(None) => rx.changed().await.ok()?,
                Step::Wait(Some(deadline)) => {
                    if let Ok(r) = tokio::time::timeout_at(deadline, rx.changed()).await {
                        r.ok()?;
                    }
                }
            }
        }
    })
    .boxed()
}

impl std::fmt::Debug for FakeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("FakeRuntime")
            .field("containers", &st.containers.len())
            .field("images", &st.images)
            .field("outage", &st.outage.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    /// An engine with the images `vibebox/base:bookworm` and `vibebox/busybox:test`, stats every
    /// second, and capabilities `kill_exec` and `stats` (no storage limit).
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        let (changes, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    images: DEFAULT_IMAGES.iter().map(|s| s.to_string()).collect(),
                    containers: BTreeMap::new(),
                    volumes: BTreeSet::new(),
                    networks: networks::default_networks(),
                    execs: HashMap::new(),
                    failures: Vec::new(),
                    outage: None,
                    capabilities: Capabilities {
                        storage_limit: false,
                        kill_exec: true,
                        stats: true,
                        local_ports: false,
                        pause: true,
                    },
                    stats_interval: Duration::from_secs(1),
                    scripts: Vec::new(),
                    exec_history: Vec::new(),
                    next_port: FIRST_EPHEMERAL_PORT,
                    next_pid: 100,
                    next_seq: 0,
                }),
                events,
                changes,
                pause_hold: Mutex::new(None),
            }),
        }
    }

    /// Makes every later `pause` wait before it freezes until the returned hold releases it,
    /// so that a test can act while a freeze is under way.
    pub fn hold_pauses(&self) -> Arc<PauseHold> {
        let hold = Arc::new(PauseHold {
            arrived: tokio::sync::Semaphore::new(0),
            gate: tokio::sync::Semaphore::new(0),
        });
        *self
            .inner
            .pause_hold
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(hold.clone());
        hold
    }

    /// The named volumes that exist.
    pub fn volumes(&self) -> Vec<String> {
        self.inner.lock().volumes.iter().cloned().collect()
    }

    /// Sets how often `stats` yields a sample (default 1 s).
    pub fn with_stats_interval(self, interval: Duration) -> Self {
        self.inner.lock().stats_interval = interval;
        self
    }

    /// Sets what the engine reports it can do.
    pub fn with_capabilities(self, capabilities: Capabilities) -> Self {
        self.inner.lock().capabilities = capabilities;
        self
    }

    /// Makes an image present.
    pub fn add_image(&self, image: &str) {
        self.inner.lock().images.insert(image.to_string());
    }

    /// Makes an image absent (containers made from it stay).
    pub fn remove_image(&self, image: &str) {
        self.inner.lock().images.remove(image);
    }

    /// Makes the next call of `failure`'s operation fail with an `Internal` runtime error.
    /// Several calls queue several failures.
    pub fn fail_next(&self, failure: FakeFailure) {
        self.inner.lock().failures.push(failure);
    }

    /// Makes every call fail with `Unavailable` (`container engine`) until set back; open
    /// `events` streams yield the error and end.
    pub fn set_unavailable(&self, down: bool) {
        let outage: Option<Outage> = down.then(|| Arc::new(|| Some(unavailable())) as Outage);
        self.fail_every_call_with(outage);
    }

    /// Makes calls fail as `outage` decides, until set back to `None` (as
    /// [`set_unavailable`](Self::set_unavailable), with errors of the test's choice: an
    /// error-hygiene test makes ones that carry a canary string).
    pub fn fail_every_call_with(&self, outage: Option<Outage>) {
        self.inner.lock().outage = outage;
        self.inner.bump();
    }

    /// Makes a running container's main process die with `exit_code` (state exited, a `Die`
    /// event, log and stats streams end, execs die). Returns whether it was running.
    pub fn crash(&self, id: &ContainerId, exit_code: i64) -> bool {
        self.end_behind_back(id, exit_code, false, false)
    }

    /// Makes the kernel kill a running container for exceeding its memory limit (exit code
    /// 137, `oom_killed`, `Oom` and `Die` events). Returns whether it was running.
    pub fn oom_kill(&self, id: &ContainerId) -> bool {
        self.end_behind_back(id, 137, true, false)
    }

    /// Like `docker kill`: a running (or paused) container dies with exit code 137 (no `Stop`
    /// event). Returns whether it was running or paused.
    pub fn kill_behind_back(&self, id: &ContainerId) -> bool {
        self.end_behind_back(id, 137, false, true)
    }

    /// Like `docker pause` (`pause` true) or `docker unpause`, behind VibeBox's back: the
    /// container becomes paused or running, with the `Pause` or `Unpause` event. Returns
    /// whether it changed (it was running, or paused).
    pub fn pause_behind_back(&self, id: &ContainerId, pause: bool) -> bool {
        let mut st = self.inner.lock();
        let from = if pause {
            ContainerState::Running
        } else {
            ContainerState::Paused
        };
        if st.containers.get(id.as_str()).map(|c| c.state) != Some(from) {
            return false;
        }
        self.inner.set_paused(&mut st, id.as_str(), pause);
        true
    }

    /// Ends a running container, and a paused one too when `paused_too` (a frozen process can
    /// neither crash nor be OOM-killed, but SIGKILL reaches it).
    fn end_behind_back(
        &self,
        id: &ContainerId,
        exit_code: i64,
        oom: bool,
        paused_too: bool,
    ) -> bool {
        let mut st = self.inner.lock();
        let running = st.containers.get(id.as_str()).is_some_and(|c| {
            c.state.is_running() || (paused_too && c.state == ContainerState::Paused)
        });
        if running {
            self.inner
                .end_run(&mut st, id.as_str(), exit_code, oom, false);
        }
        running
    }

    /// Like `docker rm -f`: the container disappears (a running one dies first).
    /// Returns whether it existed.
    pub fn remove_behind_back(&self, id: &ContainerId) -> bool {
        let mut st = self.inner.lock();
        self.inner.end_run(&mut st, id.as_str(), 137, false, false);
        let Some(c) = st.containers.remove(id.as_str()) else {
            return false;
        };
        c.run_token.cancel();
        self.inner.emit(&c, RuntimeEventKind::Destroy);
        drop(st);
        self.inner.bump();
        true
    }

    /// Appends output to a container's log, one line per `\n`-separated part, stamped now.
    /// Returns whether the container exists.
    pub fn push_log(&self, id: &ContainerId, stream: LogStream, text: &str) -> bool {
        self.inner.append_logs(id, stream, text)
    }

    /// Sets the CPU and memory use `stats` reports for a container (default 1.5 % and 16 MiB,
    /// capped at the limit). Returns whether the container exists.
    pub fn set_usage(&self, id: &ContainerId, cpu_percent: f64, memory_bytes: u64) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        c.cpu_percent = cpu_percent;
        c.memory_bytes = memory_bytes;
        true
    }

    /// Scripts the answer of any exec (or `sh -c` statement) whose command line, joined with
    /// spaces, contains `matcher`. Later scripts win over earlier ones.
    ///
    /// ```ignore
    /// rt.script_exec("code-server --install-extension", ScriptedExec::fail(1, "no network\n"));
    /// ```
    pub fn script_exec(&self, matcher: impl Into<String>, response: ScriptedExec) {
        self.inner.lock().scripts.push((matcher.into(), response));
    }

    /// Removes every script set with `script_exec`.
    pub fn clear_scripts(&self) {
        self.inner.lock().scripts.clear();
    }

    /// How many containers exist (any state).
    pub fn container_count(&self) -> usize {
        self.inner.lock().containers.len()
    }

    /// The spec a container was created from (so tests can check limits, env, labels,
    /// hardening).
    pub fn spec_of(&self, id: &ContainerId) -> Option<ContainerSpec> {
        self.inner
            .lock()
            .containers
            .get(id.as_str())
            .map(|c| c.spec.clone())
    }

    /// The id of the container with this name.
    pub fn id_by_name(&self, name: &str) -> Option<ContainerId> {
        self.inner
            .lock()
            .containers
            .values()
            .find(|c| c.spec.name == name)
            .map(|c| c.id.clone())
    }

    /// Every exec started so far, oldest first.
    pub fn exec_history(&self) -> Vec<ExecRecord> {
        self.inner.lock().exec_history.clone()
    }

    /// How many execs still run (in any container).
    pub fn running_exec_count(&self) -> usize {
        self.inner
            .lock()
            .execs
            .values()
            .filter(|e| e.running)
            .count()
    }

    /// The log lines a container has written so far.
    pub fn logs_of(&self, id: &ContainerId) -> Vec<LogChunk> {
        self.inner
            .lock()
            .containers
            .get(id.as_str())
            .map(|c| c.logs.clone())
            .unwrap_or_default()
    }

    fn spawn_main(
        &self,
        id: ContainerId,
        run: u64,
        token: CancellationToken,
        ctx: Ctx,
        cmd: Vec<String>,
    ) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ctx = ctx;
            let code = tokio::select! {
                code = interp::run_command(&mut ctx, &cmd) => code,
                () = token.cancelled() => return,
            };
            drop(ctx);
            if let Some(inner) = weak.upgrade() {
                inner.main_exited(&id, run, code);
            }
        });
    }
}

#[async_trait]
impl ContainerRuntime for FakeRuntime {
    fn capabilities(&self) -> Capabilities {
        self.inner.lock().capabilities
    }

    async fn ping(&self) -> Result<()> {
        self.inner.lock().check(Some(FakeFailure::Ping))
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        let mut st = self.inner.lock();
        st.check(None)?;
        Ok(st.images.contains(image))
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Create))?;
        if !st.images.contains(&spec.image) {
            return Err(Error::runtime(
                ErrorKind::NotFound,
                format!(
                    "image {} is not present and could not be pulled",
                    spec.image
                ),
                None,
            ));
        }
        if st.containers.values().any(|c| c.spec.name == spec.name) {
            return Err(Error::already_exists("container", "name"));
        }
        let attachments = st.attachments_for(spec)?;
        st.volumes
            .extend(spec.volumes.iter().map(|v| v.name.clone()));
        let id = ContainerId(random_hex_id());
        let seq = st.next_seq;
        st.next_seq += 1;
        let c = Container {
            seq,
            id: id.clone(),
            spec: spec.clone(),
            state: ContainerState::Created,
            exit_code: None,
            oom_killed: false,
            error: None,
            started_at: None,
            finished_at: None,
            ports: Vec::new(),
            logs: Vec::new(),
            run: 0,
            run_token: CancellationToken::new(),
            cpu_percent: 1.5,
            memory_bytes: 16 * 1024 * 1024,
            pids: None,
            saturated: false,
            oom_in_run: false,
            first_retained_log: 0,
            stall_generation: 0,
            end_generation: 0,
            attachments,
            files: Files::default(),
            frozen: watch::Sender::new(false),
            pending_exit: None,
        };
        self.inner.emit(&c, RuntimeEventKind::Create);
        st.containers.insert(id.0.clone(), c);
        drop(st);
        self.inner.bump();
        Ok(id)
    }

    async fn start(&self, id: &ContainerId) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Start))?;
        let c = st.container(id)?;
        if c.state == ContainerState::Paused {
            // What Docker answers (409).
            return Err(Error::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            ));
        }
        if c.state.is_running() {
            return Ok(());
        }
        if !st.network_present(c) {
            // What Docker answers for a container whose network was removed while it was
            // stopped.
            return Err(Error::runtime(
                ErrorKind::NotFound,
                "the container's network was removed: network not found",
                None,
            ));
        }
        // Bind ports.
        let mut taken = st.bound_ports(id.as_str());
        let requests = c.spec.ports.clone();
        let mut bound = Vec::new();
        let mut next_port = st.next_port;
        for p in &requests {
            let host_port = match p.host_port {
                Some(hp) => {
                    if taken.contains(&(hp, p.protocol)) {
                        let message = format!("port {hp} is already allocated");
                        if let Some(c) = st.containers.get_mut(id.as_str()) {
                            c.error = Some(message.clone());
                        }
                        return Err(Error::runtime(ErrorKind::Internal, message, None));
                    }
                    hp
                }
                None => {
                    let mut chosen = None;
                    for _ in FIRST_EPHEMERAL_PORT..=LAST_EPHEMERAL_PORT {
                        let candidate = next_port;
                        next_port = if next_port >= LAST_EPHEMERAL_PORT {
                            FIRST_EPHEMERAL_PORT
                        } else {
                            next_port + 1
                        };
                        let requested_elsewhere = requests
                            .iter()
                            .any(|r| r.host_port == Some(candidate) && r.protocol == p.protocol);
                        if !taken.contains(&(candidate, p.protocol)) && !requested_elsewhere {
                            chosen = Some(candidate);
                            break;
                        }
                    }
                    let Some(port) = chosen else {
                        return Err(Error::runtime(
                            ErrorKind::Internal,
                            "no free host port is left",
                            None,
                        ));
                    };
                    port
                }
            };
            taken.insert((host_port, p.protocol));
            bound.push(BoundPort {
                container_port: p.container_port,
                protocol: p.protocol,
                host_ip: p.host_ip.clone(),
                host_port,
            });
        }
        st.next_port = next_port;
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return Err(Error::not_found("container"));
        };
        c.state = ContainerState::Running;
        c.exit_code = None;
        c.oom_killed = false;
        c.oom_in_run = false;
        c.saturated = false;
        c.pending_exit = None;
        c.error = None;
        c.started_at = Some(now());
        c.ports = bound;
        c.run += 1;
        let run = c.run;
        let token = c.run_token.clone();
        let main = c.spec.cmd.clone().map(|cmd| {
            let ctx = Ctx {
                sink: Sink::Logs {
                    inner: Arc::downgrade(&self.inner),
                    id: id.clone(),
                },
                stdin: None,
                tty: None,
                env: Ctx::env_for(&c.spec, &[]),
                scripts: Vec::new(),
                main: true,
                working_dir: None,
                user: c.spec.user.clone(),
                files: c.files.clone(),
                frozen: c.frozen.subscribe(),
            };
            (ctx, cmd)
        });
        let scripts = st.scripts.clone();
        if let Some(c) = st.containers.get(id.as_str()) {
            self.inner.emit(c, RuntimeEventKind::Start);
        }
        drop(st);
        self.inner.bump();
        if let Some((mut ctx, cmd)) = main {
            ctx.scripts = scripts;
            self.spawn_main(id.clone(), run, token, ctx, cmd);
        }
        Ok(())
    }

    async fn stop(&self, id: &ContainerId, _grace: Duration) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Stop))?;
        st.container(id)?;
        // SIGTERM through the init process: exit code 143.
        self.inner.end_run(&mut st, id.as_str(), 143, false, true);
        Ok(())
    }

    async fn kill(&self, id: &ContainerId) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Stop))?;
        st.container(id)?;
        // SIGKILL to every process: exit code 137, a `Die` event and no `Stop` event.
        self.inner.end_run(&mut st, id.as_str(), 137, false, false);
        Ok(())
    }

    async fn pause(&self, id: &ContainerId) -> Result<()> {
        let hold = self
            .inner
            .pause_hold
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(hold) = hold {
            hold.arrived.add_permits(1);
            if let Ok(permit) = hold.gate.acquire().await {
                permit.forget();
            }
        }
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Pause))?;
        if !st.capabilities.pause {
            return Err(Error::Unsupported(
                "this container engine cannot pause containers".into(),
            ));
        }
        match st.container(id)?.state {
            // Docker answers 409 "already paused"; the contract leaves it alone.
            ContainerState::Paused => Ok(()),
            state if state.is_running() => {
                self.inner.set_paused(&mut st, id.as_str(), true);
                Ok(())
            }
            _ => Err(not_running()),
        }
    }

    async fn resume(&self, id: &ContainerId) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Resume))?;
        if !st.capabilities.pause {
            return Err(Error::Unsupported(
                "this container engine cannot resume paused containers".into(),
            ));
        }
        match st.container(id)?.state {
            ContainerState::Paused => {
                self.inner.set_paused(&mut st, id.as_str(), false);
                Ok(())
            }
            // Docker answers 500 "is not paused"; the contract leaves a running one alone.
            state if state.is_running() => Ok(()),
            _ => Err(not_running()),
        }
    }

    async fn remove(&self, id: &ContainerId) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Remove))?;
        st.container(id)?;
        drop(st);
        self.remove_behind_back(id);
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        if !st.volumes.contains(name) {
            return Err(Error::not_found("volume"));
        }
        if st
            .containers
            .values()
            .any(|c| c.spec.volumes.iter().any(|v| v.name == name))
        {
            return Err(Error::Conflict(
                format!("volume {name} is in use by a container").into(),
            ));
        }
        st.volumes.remove(name);
        Ok(())
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Inspect))?;
        let caps = st.capabilities;
        Ok(st.container(id)?.info(caps))
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::List))?;
        let caps = st.capabilities;
        let mut found: Vec<&Container> = st
            .containers
            .values()
            .filter(|c| carries(&c.spec.labels, labels))
            .collect();
        found.sort_by_key(|c| c.seq);
        Ok(found.into_iter().map(|c| c.info(caps)).collect())
    }

    fn logs(&self, id: &ContainerId, options: LogOptions) -> BoxStream<'static, Result<LogChunk>> {
        struct LogCursor {
            id: ContainerId,
            options: LogOptions,
            started: bool,
            pending: std::collections::VecDeque<LogChunk>,
            next: usize,
            run: u64,
            follow: bool,
            /// The container's stall and end generations when the stream was opened.
            generations: Option<(u64, u64)>,
            stalled: bool,
        }
        // A follow is open from this call on: the fault hooks reach it even before its
        // first poll.
        let generations = self
            .inner
            .lock()
            .containers
            .get(id.as_str())
            .map(|c| (c.stall_generation, c.end_generation));
        let cursor = LogCursor {
            id: id.clone(),
            options,
            started: false,
            pending: Default::default(),
            next: 0,
            run: 0,
            follow: false,
            generations,
            stalled: false,
        };
        poll_stream(&self.inner, cursor, |st, cur| {
            if cur.options.follow {
                if cur.stalled {
                    return Step::Wait(None);
                }
                let c = st.containers.get(cur.id.as_str());
                if let (Some(c), Some((stall, end))) = (c, cur.generations) {
                    if c.stall_generation != stall {
                        // Stays open and never yields again.
                        cur.stalled = true;
                        return Step::Wait(None);
                    }
                    if c.end_generation != end {
                        return Step::End;
                    }
                }
            }
            if !cur.started {
                if let Some(e) = st.outage.as_ref().and_then(|outage| outage()) {
                    return Step::Last(Err(e));
                }
                let Some(c) = st.containers.get(cur.id.as_str()) else {
                    return Step::Last(Err(Error::not_found("container")));
                };
                let since = cur.options.since;
                let retained = c.logs.get(c.first_retained_log..).unwrap_or_default();
                let mut lines: Vec<LogChunk> = retained
                    .iter()
                    .filter(|l| since.is_none_or(|s| l.timestamp >= s))
                    .cloned()
                    .collect();
                if let Some(tail) = cur.options.tail {
                    let keep = usize::try_from(tail).unwrap_or(usize::MAX);
                    let skip = lines.len().saturating_sub(keep);
                    lines.drain(..skip);
                }
                cur.pending = lines.into();
                cur.next = c.logs.len();
                cur.run = c.run;
                cur.follow = cur.options.follow && c.state.is_live();
                cur.started = true;
            }
            if let Some(line) = cur.pending.pop_front() {
                return Step::Yield(Ok(line));
            }
            if !cur.follow {
                return Step::End;
            }
            let Some(c) = st.containers.get(cur.id.as_str()) else {
                return Step::End;
            };
            if let Some(line) = c.logs.get(cur.next) {
                cur.next += 1;
                return Step::Yield(Ok(line.clone()));
            }
            if !c.state.is_live() || c.run != cur.run {
                return Step::End;
            }
            Step::Wait(None)
        })
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        let mut st = self.inner.lock();
        st.check(Some(FakeFailure::Exec))?;
        let c = st.container(id)?;
        if c.state == ContainerState::Paused {
            // What Docker answers (409).
            return Err(paused());
        }
        if !c.state.is_running() {
            return Err(Error::Conflict(
                format!("container {id} is not running").into(),
            ));
        }
        if c.saturated {
            return Err(faults::exec_at_pids_limit());
        }
        let files = c.files.clone();
        let frozen = c.frozen.subscribe();
        let env = Ctx::env_for(&c.spec, &spec.env);
        let user = spec.user.clone().or_else(|| c.spec.user.clone());
        let cancel = c.run_token.child_token();
        let exec_id = ExecId(random_hex_id());
        let tty = spec.tty.map(|size| Arc::new(Mutex::new(size)));
        let pid = st.next_pid;
        st.next_pid += 1;
        st.execs.insert(
            exec_id.0.clone(),
            ExecEntry {
                container: id.clone(),
                running: true,
                exit_code: None,
                pid,
                tty: tty.clone(),
                cancel: cancel.clone(),
            },
        );
        st.exec_history.push(ExecRecord {
            container_id: id.clone(),
            exec_id: exec_id.clone(),
            spec: spec.clone(),
        });
        let scripts = st.scripts.clone();
        drop(st);
        self.inner.bump();

        let (tx, mut rx) = mpsc::unbounded_channel();
        let (input, stdin): (std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>, _) =
            if spec.stdin {
                let (client, server) = tokio::io::duplex(64 * 1024);
                (Box::pin(client), Some(server))
            } else {
                (Box::pin(tokio::io::sink()), None)
            };
        let ctx = Ctx {
            sink: Sink::Exec {
                tx,
                tty: tty.is_some(),
            },
            stdin,
            tty,
            env,
            scripts,
            main: false,
            working_dir: spec.working_dir.clone(),
            user,
            files,
            frozen,
        };
        let cmd = spec.cmd.clone();
        let weak = Arc::downgrade(&self.inner);
        let task_id = exec_id.0.clone();
        tokio::spawn(async move {
            let mut ctx = ctx;
            let code = tokio::select! {
                code = interp::run_command(&mut ctx, &cmd) => code,
                () = cancel.cancelled() => 137,
            };
            if let Some(inner) = weak.upgrade() {
                inner.exec_ended(&task_id, code);
            }
            // Dropping the context closes the output stream, after the exit code is recorded.
            drop(ctx);
        });
        let output = futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed();
        Ok(ExecSession {
            id: exec_id,
            output,
            input,
        })
    }

    async fn resize_exec(&self, exec: &ExecId, size: TerminalSize) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        let entry = st.exec_entry(exec)?;
        let Some(tty) = &entry.tty else {
            return Err(Error::invalid("tty", "the exec has no terminal"));
        };
        *tty.lock().unwrap_or_else(|e| e.into_inner()) = size;
        Ok(())
    }

    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInfo> {
        let mut st = self.inner.lock();
        st.check(None)?;
        let entry = st.exec_entry(exec)?;
        Ok(ExecInfo {
            running: entry.running,
            exit_code: entry.exit_code,
            pid: Some(entry.pid),
        })
    }

    async fn kill_exec(&self, exec: &ExecId) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        // The Docker adapter kills an exec with a second exec, which a saturated or paused
        // container refuses like any other.
        let container = st
            .execs
            .get(&exec.0)
            .filter(|e| e.running)
            .and_then(|e| st.containers.get(e.container.as_str()));
        if let Some(c) = container {
            if c.saturated {
                return Err(faults::exec_at_pids_limit());
            }
            if c.state == ContainerState::Paused {
                return Err(paused());
            }
        }
        let entry = st.exec_entry(exec)?;
        if entry.running {
            entry.running = false;
            entry.exit_code = Some(137);
            entry.cancel.cancel();
        }
        drop(st);
        self.inner.bump();
        Ok(())
    }

    fn stats(&self, id: &ContainerId) -> BoxStream<'static, Result<ContainerStats>> {
        struct StatsCursor {
            id: ContainerId,
            run: Option<u64>,
            next_at: tokio::time::Instant,
        }
        let cursor = StatsCursor {
            id: id.clone(),
            run: None,
            next_at: tokio::time::Instant::now(),
        };
        poll_stream(&self.inner, cursor, |st, cur| {
            if cur.run.is_none()
                && let Some(e) = st.outage.as_ref().and_then(|outage| outage())
            {
                return Step::Last(Err(e));
            }
            let Some(c) = st.containers.get(cur.id.as_str()) else {
                return match cur.run {
                    None => Step::Last(Err(Error::not_found("container"))),
                    Some(_) => Step::End,
                };
            };
            let run = *cur.run.get_or_insert(c.run);
            if !c.state.is_live() || c.run != run {
                return Step::End;
            }
            let now_instant = tokio::time::Instant::now();
            if now_instant < cur.next_at {
                return Step::Wait(Some(cur.next_at));
            }
            cur.next_at = now_instant + st.stats_interval;
            let limit = u64::try_from(c.spec.limits.memory_bytes).unwrap_or(0);
            let memory = if limit > 0 {
                c.memory_bytes.min(limit)
            } else {
                c.memory_bytes
            };
            let execs = st
                .execs
                .values()
                .filter(|e| e.running && e.container == c.id)
                .count();
            let pids_limit = c.pids_limit();
            let pids = match (c.saturated, pids_limit) {
                (true, Some(limit)) => limit,
                _ => c.pids.unwrap_or(1 + execs as u64),
            };
            Step::Yield(Ok(ContainerStats {
                at: now(),
                // A frozen container gets no CPU.
                cpu_percent: if c.state == ContainerState::Paused {
                    0.0
                } else {
                    c.cpu_percent
                },
                memory_bytes: memory,
                memory_limit_bytes: limit,
                pids: Some(pids),
                pids_limit,
            }))
        })
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        self.create_fake_network(spec)
    }

    async fn inspect_network(&self, name: &str) -> Result<NetworkInfo> {
        self.inspect_fake_network(name)
    }

    async fn list_networks(&self, labels: &[(String, String)]) -> Result<Vec<NetworkInfo>> {
        self.list_fake_networks(labels)
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_fake_network(name)
    }

    async fn connect_network(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        self.connect_fake_network(id, attachment)
    }

    async fn disconnect_network(&self, id: &ContainerId, network: &str) -> Result<()> {
        self.disconnect_fake_network(id, network)
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        let failed = self
            .inner
            .lock()
            .outage
            .as_ref()
            .and_then(|outage| outage());
        if let Some(e) = failed {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        let events = self.inner.events.subscribe();
        let changes = self.inner.changes.subscribe();
        let weak = Arc::downgrade(&self.inner);
        let labels = labels.to_vec();
        futures::stream::unfold(Some((events, changes, weak, labels)), |state| async move {
            let (mut events, mut changes, weak, labels) = state?;
            loop {
                tokio::select! {
                    r = events.recv() => match r {
                        Ok(ev) => {
                            if carries(&ev.labels, &labels) {
                                return Some((Ok(ev), Some((events, changes, weak, labels))));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    r = changes.changed() => {
                        r.ok()?;
                        let failed = weak
                            .upgrade()
                            .and_then(|i| i.lock().outage.as_ref().and_then(|outage| outage()));
                        if let Some(e) = failed {
                            return Some((Err(e), None));
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn spec(name: &str, cmd: Option<&[&str]>) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            image: DEFAULT_IMAGES[1].into(),
            cmd: cmd.map(|c| c.iter().map(|s| s.to_string()).collect()),
            user: None,
            hostname: None,
            env: Vec::new(),
            limits: crate::runtime::Limits {
                nano_cpus: 500_000_000,
                memory_bytes: 64 * 1024 * 1024,
                pids_limit: 64,
                storage_bytes: None,
            },
            ports: Vec::new(),
            volumes: Vec::new(),
            labels: BTreeMap::new(),
            hardening: crate::runtime::HardeningProfile::Dev,
            network: None,
        }
    }

    #[tokio::test]
    async fn stopping_a_paused_container_reports_unpause_before_die() {
        let rt = FakeRuntime::new();
        let mut events = rt.events(&[]);
        let id = rt.create(&spec("c", None)).await.unwrap();
        rt.start(&id).await.unwrap();
        rt.pause(&id).await.unwrap();
        rt.stop(&id, Duration::from_secs(1)).await.unwrap();
        let mut kinds = Vec::new();
        while let Some(Ok(ev)) = events.next().await {
            let stop = ev.kind == RuntimeEventKind::Stop;
            kinds.push(ev.kind);
            if stop {
                break;
            }
        }
        assert_eq!(
            kinds,
            [
                RuntimeEventKind::Create,
                RuntimeEventKind::Start,
                RuntimeEventKind::Pause,
                RuntimeEventKind::Unpause,
                RuntimeEventKind::Die {
                    exit_code: Some(143)
                },
                RuntimeEventKind::Stop,
            ]
        );
    }

    #[tokio::test]
    async fn a_paused_script_waits_and_a_main_exit_while_paused_lands_on_resume() {
        let rt = FakeRuntime::new();
        let id = rt
            .create(&spec("c", Some(&["sh", "-c", "echo before; exit 3"])))
            .await
            .unwrap();
        // Paused before the script's first statement (the test runtime has one thread, so
        // the main process has not run yet): nothing runs until the resume.
        rt.start(&id).await.unwrap();
        rt.pause(&id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let info = rt.inspect(&id).await.unwrap();
        assert_eq!(info.state, ContainerState::Paused);
        rt.resume(&id).await.unwrap();
        for _ in 0..100 {
            if rt.inspect(&id).await.unwrap().state == ContainerState::Exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let info = rt.inspect(&id).await.unwrap();
        assert_eq!(info.state, ContainerState::Exited);
        assert_eq!(info.exit_code, Some(3));

        // A main process that ends while paused (a scripted command under way) makes the
        // container exit only when it is resumed.
        rt.script_exec(
            "slow-daemon",
            ScriptedExec::fail(4, "").with_delay(Duration::from_millis(50)),
        );
        let slow = rt.create(&spec("d", Some(&["slow-daemon"]))).await.unwrap();
        rt.start(&slow).await.unwrap();
        rt.pause(&slow).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            rt.inspect(&slow).await.unwrap().state,
            ContainerState::Paused
        );
        rt.resume(&slow).await.unwrap();
        let info = rt.inspect(&slow).await.unwrap();
        assert_eq!(info.state, ContainerState::Exited);
        assert_eq!(info.exit_code, Some(4));
    }

    #[tokio::test]
    async fn without_the_pause_capability_pause_and_resume_are_unsupported() {
        let rt = FakeRuntime::new().with_capabilities(Capabilities {
            pause: false,
            ..FakeRuntime::new().capabilities()
        });
        let id = rt.create(&spec("c", None)).await.unwrap();
        rt.start(&id).await.unwrap();
        let e = rt.pause(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let e = rt.resume(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn connecting_again_keeps_the_first_aliases_and_a_removed_network_blocks_start() {
        let rt = FakeRuntime::new();
        let net = crate::runtime::NetworkSpec {
            name: "n".into(),
            subnet: crate::runtime::Ipv4Subnet::parse("10.9.0.0/28").unwrap(),
            labels: BTreeMap::new(),
        };
        rt.create_network(&net).await.unwrap();
        let id = rt.create(&spec("c", None)).await.unwrap();
        let join = |alias: &str| NetworkAttachment {
            network: "n".into(),
            aliases: vec![alias.into()],
        };
        rt.connect_network(&id, &join("first")).await.unwrap();
        rt.connect_network(&id, &join("second")).await.unwrap();
        assert_eq!(
            rt.network_aliases(&id, "n"),
            Some(vec!["first".to_string()])
        );
        assert_eq!(rt.network_aliases(&id, "bridge"), Some(Vec::new()));

        // A network it was connected to, removed while it is stopped, keeps it from starting
        // (as the network it was created on would); it cannot be disconnected from it then.
        rt.remove_network("n").await.unwrap();
        let e = rt.start(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = rt.disconnect_network(&id, "n").await.unwrap_err();
        assert_eq!(e.to_string(), "network not found");
    }

    #[tokio::test]
    async fn behind_our_back_pauses_and_kills_reach_a_paused_container() {
        let rt = FakeRuntime::new();
        let id = rt.create(&spec("c", None)).await.unwrap();
        assert!(!rt.pause_behind_back(&id, true), "not running yet");
        rt.start(&id).await.unwrap();
        assert!(rt.pause_behind_back(&id, true));
        assert!(!rt.crash(&id, 1), "a frozen process does not crash");
        assert!(rt.kill_behind_back(&id));
        let info = rt.inspect(&id).await.unwrap();
        assert_eq!(info.state, ContainerState::Exited);
        assert_eq!(info.exit_code, Some(137));
    }
}
