//! The service's configuration. Every default comes from DESIGN.md and can be overridden.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::SessionType;
use crate::runtime::{HardeningProfile, Ipv4Subnet};
use crate::throttle::ThrottlePolicy;

/// How VibeBox behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most environments a user may have starting or running (default 10).
    pub max_running_per_user: u64,
    /// Sessions created when an environment starts (default: one tmux session named `main`).
    pub default_sessions: Vec<(SessionType, String)>,
    /// Idle timeout for new sessions, in minutes (default 30).
    pub default_idle_timeout_minutes: i32,
    /// How long a container gets to stop before it is killed (default 10 s).
    pub stop_grace: Duration,
    /// How long an environment may stay `starting` or `stopping` before the reconciler repairs
    /// it (default 5 min).
    pub transition_deadline: Duration,
    /// How often the reconciler runs (default 30 s).
    pub reconcile_interval: Duration,
    /// How often the health pass samples running environments for saturation (default
    /// 10 s; see [`Vibebox::check_health`](crate::Vibebox::check_health)).
    pub health_interval: Duration,
    /// How often the idle-session reaper runs (default 60 s).
    pub reaper_interval: Duration,
    /// Logs older than this are deleted (default 7 days).
    pub log_max_age: Duration,
    /// Logs beyond this many bytes per environment are deleted, oldest first (default 20 MB).
    pub log_max_bytes_per_environment: u64,
    /// How often log retention runs (default 10 min).
    pub retention_interval: Duration,
    /// Lines the log collector writes per batch (default 500).
    pub log_batch_size: usize,
    /// How long the log collector waits to fill a batch (default 200 ms).
    pub log_batch_delay: Duration,
    /// Events buffered per environment for slow subscribers (default 1024).
    pub event_buffer: usize,
    /// The host address ports are published on (default 127.0.0.1).
    pub publish_host_ip: String,
    /// The security profile of new containers (default `Dev`).
    pub hardening: HardeningProfile,
    /// The pids limit of new containers (default 1024).
    pub pids_limit: i64,
    /// The user environments run as (default `1000`, the images' non-root user).
    pub container_user: Option<String>,
    /// The main process of environment containers; it must keep running (default: a shell that
    /// logs one line and sleeps, so the image's own command, often an interactive shell that
    /// would exit at once, is not used).
    pub container_command: Option<Vec<String>>,
    /// Where each environment's own named volume is mounted, so files there survive the
    /// container being recreated (a changed image, limits or ports); default `/home/vibebox`,
    /// the images' user's home. `None` keeps everything in the container's own layer. The
    /// volume is removed with the environment.
    pub home_volume: Option<String>,
    /// The prefix of container names (default `vibebox-`).
    pub container_name_prefix: String,
    /// Extra labels on every container (default none), e.g. to tell apart the containers of
    /// several VibeBox instances or test runs on one engine. The `vibebox.*` labels VibeBox
    /// sets itself take precedence.
    pub container_labels: BTreeMap<String, String>,
    /// Where each project's own network takes its subnet from (default: /27 subnets of
    /// 10.213.0.0/16, room for 2,048 projects of up to 29 running environments). `None` puts
    /// every environment on the engine's default bridge, where the environments of all tenants
    /// can reach each other.
    pub network_pool: Option<NetworkPool>,
    /// The most tunnels open at once in this process (default 1,024); more are refused with
    /// `QuotaExceeded`.
    pub max_open_tunnels: usize,
    /// The command that runs a VS Code server session (default `code-server`).
    pub vscode_server_command: Vec<String>,
    /// The command that installs a marketplace extension; the extension id is appended
    /// (default `code-server --install-extension`).
    pub extension_install_command: Vec<String>,
    /// The command that removes an extension; the extension id is appended
    /// (default `code-server --uninstall-extension`).
    pub extension_uninstall_command: Vec<String>,
    /// How sign-ins are throttled (per address and account, per address, per account).
    pub login_throttle: ThrottlePolicy,
    /// Whether the first user to register becomes a platform admin (default true).
    pub first_user_is_platform_admin: bool,
    /// Default lifetime of an API key when none is given (default 90 days).
    pub api_key_default_ttl: Duration,
    /// Longest lifetime of an API key (default 365 days).
    pub api_key_max_ttl: Duration,
    /// Lifetime of a sign-in's refresh tokens, absolute (default 7 days).
    pub refresh_token_ttl: Duration,
    /// Most bytes of stdout, and of stderr, a one-shot exec keeps (default 1 MiB each); the
    /// rest is read and dropped, and the result says it was truncated.
    pub exec_output_cap: usize,
    /// How long a one-shot exec may run when the request names no timeout (default 60 s).
    pub exec_default_timeout: Duration,
    /// The longest timeout an exec request may ask for (default 1 h).
    pub exec_max_timeout: Duration,
    /// The largest file [`Vibebox::upload_file`](crate::Vibebox::upload_file) accepts, in
    /// bytes (default 1 GiB).
    pub max_upload_bytes: u64,
    /// Most SSH public keys a user may register, the profile's key included (default 50); more
    /// are refused with `QuotaExceeded`.
    pub max_ssh_keys_per_user: u64,
    /// How failed SSH sign-ins are throttled
    /// ([`Vibebox::authorize_ssh`](crate::Vibebox::authorize_ssh)): the sign-in throttle's
    /// rules with the key's fingerprint in place of the email. Default: 5 free failures per key
    /// and address, then 1 s doubling up to 15 min; 100 failures an hour per key from
    /// addresses it never signed in from; 1,000 an hour per address.
    pub ssh_login_throttle: ThrottlePolicy,
    /// How often the idle policies are applied (default 60 s): environments idle past their
    /// [`IdlePolicy`](crate::domain::IdlePolicy) are suspended, and those suspended past it
    /// stopped.
    pub idle_interval: Duration,
    /// CPU use, as a percentage of one core, at or above which an environment nobody touched
    /// is still busy and is not suspended (default 5.0).
    pub idle_cpu_percent: f64,
    /// How long the CPU of an idle environment is sampled before it is suspended
    /// (default 3 s; the engine's samples come once a second).
    pub idle_cpu_window: Duration,
    /// The warm pool: per shape, containers kept created and started ahead of use, which a
    /// matching "create and start" claims instead of creating one (default: none).
    pub pool: Vec<PoolShape>,
    /// How often the warm pool is checked and refilled besides after each claim (default 30 s).
    pub pool_interval: Duration,
    /// The pause between two creates of a refill (default 250 ms), so that a refill leaves
    /// the engine to the API between its creates.
    pub pool_refill_gap: Duration,
}

/// A shape of the warm pool: environments created and started with this image, these
/// limits and the default storage limit take one of its `count` warm containers.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolShape {
    /// The image.
    pub image: String,
    /// CPU cores.
    pub cpu_limit: f64,
    /// Memory in MB.
    pub memory_limit: i64,
    /// How many warm containers to keep.
    pub count: usize,
}

impl Default for Config {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            max_running_per_user: 10,
            default_sessions: vec![(SessionType::Tmux, "main".to_string())],
            default_idle_timeout_minutes: 30,
            stop_grace: Duration::from_secs(10),
            transition_deadline: Duration::from_secs(5 * 60),
            reconcile_interval: Duration::from_secs(30),
            health_interval: Duration::from_secs(10),
            reaper_interval: Duration::from_secs(60),
            log_max_age: Duration::from_secs(7 * DAY),
            log_max_bytes_per_environment: 20 * 1024 * 1024,
            retention_interval: Duration::from_secs(10 * 60),
            log_batch_size: 500,
            log_batch_delay: Duration::from_millis(200),
            event_buffer: 1024,
            publish_host_ip: "127.0.0.1".to_string(),
            hardening: HardeningProfile::Dev,
            pids_limit: 1024,
            container_user: Some("1000".to_string()),
            container_command: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "echo \"vibebox: environment started\"; sleep 2147483647".into(),
            ]),
            home_volume: Some("/home/vibebox".to_string()),
            container_name_prefix: "vibebox-".to_string(),
            container_labels: BTreeMap::new(),
            network_pool: Some(NetworkPool::default()),
            max_open_tunnels: 1024,
            vscode_server_command: vec![
                "code-server".into(),
                "--bind-addr".into(),
                "0.0.0.0:8080".into(),
                "--auth".into(),
                "none".into(),
            ],
            extension_install_command: vec!["code-server".into(), "--install-extension".into()],
            extension_uninstall_command: vec!["code-server".into(), "--uninstall-extension".into()],
            login_throttle: ThrottlePolicy::default(),
            first_user_is_platform_admin: true,
            api_key_default_ttl: Duration::from_secs(90 * DAY),
            api_key_max_ttl: Duration::from_secs(365 * DAY),
            refresh_token_ttl: Duration::from_secs(7 * DAY),
            exec_output_cap: 1024 * 1024,
            exec_default_timeout: Duration::from_secs(60),
            exec_max_timeout: Duration::from_secs(60 * 60),
            max_upload_bytes: 1024 * 1024 * 1024,
            max_ssh_keys_per_user: 50,
            ssh_login_throttle: ThrottlePolicy::default(),
            idle_interval: Duration::from_secs(60),
            idle_cpu_percent: 5.0,
            idle_cpu_window: Duration::from_secs(3),
            pool: Vec::new(),
            pool_interval: Duration::from_secs(30),
            pool_refill_gap: Duration::from_millis(250),
        }
    }
}

/// The range project networks are carved from, and the size of each: a pool of
/// `2^(prefix - range prefix)` subnets. Pick a range the engine host does not route elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkPool {
    range: Ipv4Subnet,
    prefix: u8,
}

impl NetworkPool {
    /// A pool of `/prefix` subnets in `range`.
    ///
    /// Errors: `InvalidInput` (`network_pool`) when `prefix` is shorter than the range's or
    /// longer than 29 (a network needs room for its gateway and at least a few containers).
    pub fn new(range: Ipv4Subnet, prefix: u8) -> crate::error::Result<Self> {
        if prefix < range.prefix() || prefix > 29 {
            return Err(crate::error::Error::invalid(
                "network_pool",
                format!(
                    "the subnet size must be between /{} (the range) and /29",
                    range.prefix()
                ),
            ));
        }
        Ok(Self { range, prefix })
    }

    /// The range.
    pub fn range(&self) -> Ipv4Subnet {
        self.range
    }

    /// The prefix length of each project's subnet.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// How many project networks fit.
    pub fn capacity(&self) -> u64 {
        self.range.subnet_count(self.prefix)
    }

    /// The `index`-th subnet of the pool.
    pub fn subnet(&self, index: u64) -> Option<Ipv4Subnet> {
        self.range.nth_subnet(self.prefix, index)
    }
}

impl Default for NetworkPool {
    fn default() -> Self {
        Self {
            range: Ipv4Subnet::clamped(std::net::Ipv4Addr::new(10, 213, 0, 0), 16),
            prefix: 27,
        }
    }
}
