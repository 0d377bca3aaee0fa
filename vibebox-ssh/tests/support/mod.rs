//! The stack the OpenSSH tests run against: the service on the real Docker engine and an
//! on-disk SQLite store (the `docker_*` harness), the gateway on a loopback port, one running
//! environment shared by the tests that only use it, and a stand-in [`Gatekeeper`] that maps
//! each test's own generated key to a grant (the key lookup is the only thing not real).
//!
//! The tests are plain `#[test]`s that run their bodies on the fixture's runtime
//! ([`with_fixture`]): the first one in builds the stack, the last one out takes it down and
//! removes its containers, also when a test failed.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use vibebox::domain::{Environment, Project};
use vibebox::rbac::Actor;
use vibebox::service::NewSshKey;
use vibebox_ssh::{Gatekeeper, Grant, HostKey, PublicKeyInfo, Refusal, SshConfig, SshServer};

#[path = "../../../tests/docker/mod.rs"]
pub mod harness;

/// A generous bound for one ssh command.
pub const COMMAND_WAIT: Duration = Duration::from_secs(60);

/// The first backoff of a key that keeps failing, in the service's configuration.
pub const THROTTLE_BACKOFF: Duration = Duration::from_secs(5);

/// How long something that should happen promptly may take.
pub const PROMPTLY: Duration = Duration::from_secs(20);

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `ssh` with this client's options, logging what it is told (refusals, disconnects).
pub fn verbose(client: &Client, args: &[&str]) -> tokio::process::Command {
    client.ssh_with(&["-o", "LogLevel=INFO"], args)
}

/// Spawns `ssh -- sleep <secs>` and returns once the sleep runs inside.
pub async fn hold_open(
    f: &Fixture,
    client: &Client,
    env: &vibebox::domain::Environment,
    secs: u32,
) -> tokio::process::Child {
    let child = verbose(client, &["--", &format!("sleep {secs}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let env = f.d.reload(env).await;
    // `slee[p]`: the probe's own command line does not match.
    let probe = format!("pgrep -f 'slee[p] {secs}' >/dev/null");
    let deadline = std::time::Instant::now() + PROMPTLY;
    while f.d.exec(&env, &probe).await.0 != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the held session never started"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child
}

/// Keys the gateway accepts: (username, fingerprint) → grant; and revoked key ids.
#[derive(Default)]
pub struct TestGatekeeper {
    keys: Mutex<HashMap<(String, String), Grant>>,
    revoked: Mutex<HashSet<String>>,
}

impl TestGatekeeper {
    pub fn allow(&self, username: &str, fingerprint: &str, grant: Grant) {
        self.keys
            .lock()
            .unwrap()
            .insert((username.to_string(), fingerprint.to_string()), grant);
    }

    pub fn revoke(&self, key_id: &str) {
        self.revoked.lock().unwrap().insert(key_id.to_string());
    }
}

#[async_trait]
impl Gatekeeper for TestGatekeeper {
    async fn authorize(
        &self,
        username: &str,
        key: &PublicKeyInfo,
        _peer: Option<std::net::IpAddr>,
    ) -> Result<Grant, Refusal> {
        if self.revoked.lock().unwrap().contains(&key.fingerprint) {
            return Err(Refusal::new("revoked key"));
        }
        self.keys
            .lock()
            .unwrap()
            .get(&(username.to_string(), key.fingerprint.clone()))
            .cloned()
            .ok_or_else(|| Refusal::new("unknown key"))
    }

    async fn still_valid(&self, grant: &Grant) -> bool {
        !self.revoked.lock().unwrap().contains(&grant.key_id)
    }
}

/// The running stack.
pub struct Fixture {
    pub d: harness::D,
    pub actor: Actor,
    pub project: Project,
    /// Running; shared by the tests that do not stop it.
    pub env: Environment,
    /// The username that names `env`.
    pub username: String,
    pub port: u16,
    /// A second gateway on the same service, whose logins follow core's rule
    /// ([`ServiceGatekeeper`]: keys registered with the service).
    pub service_port: u16,
    /// The gateways' public host key (`ssh-ed25519 AAAA…`).
    pub host_key: String,
    pub gate: Arc<TestGatekeeper>,
    shutdown: CancellationToken,
    servers: Mutex<Vec<tokio::task::JoinHandle<vibebox_ssh::Result<()>>>>,
    clients: AtomicUsize,
}

struct Slot {
    users: usize,
    fixture: Option<(Arc<tokio::runtime::Runtime>, Arc<Fixture>)>,
}

static SLOT: Mutex<Slot> = Mutex::new(Slot {
    users: 0,
    fixture: None,
});

/// Runs a test body on the shared stack.
pub fn with_fixture<F, Fut>(body: F)
where
    F: FnOnce(Arc<Fixture>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // Before the stack is built: a build that fails still gives its place back.
    let _release = Release;
    let (rt, fixture) = acquire();
    rt.block_on(async move {
        tokio::time::timeout(Duration::from_secs(240), body(fixture))
            .await
            .expect("the test finished in time");
    });
}

fn acquire() -> (Arc<tokio::runtime::Runtime>, Arc<Fixture>) {
    let mut slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
    slot.users += 1;
    if let Some((rt, f)) = &slot.fixture {
        return (rt.clone(), f.clone());
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let fixture = Arc::new(rt.block_on(build()));
    slot.fixture = Some((rt.clone(), fixture.clone()));
    (rt, fixture)
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let mut slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
        slot.users -= 1;
        if slot.users > 0 {
            return;
        }
        if let Some((rt, fixture)) = slot.fixture.take() {
            fixture.shutdown.cancel();
            let servers = std::mem::take(&mut *fixture.servers.lock().unwrap());
            for server in servers {
                let _ = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), server).await
                });
            }
            // The harness removes the run's containers when it goes.
            drop(fixture);
            drop(rt);
        }
    }
}

async fn build() -> Fixture {
    // A backoff long enough to observe through a 1 s rejection time (the logins tests).
    let d = harness::D::with(|c| c.ssh_login_throttle.base_delay = THROTTLE_BACKOFF).await;
    let (actor, project, env) = d.owner_with_env("sshowner").await;
    let env = d.vb.start_environment(&actor, env.id).await.unwrap();
    let username = format!("{}.{}", project.slug, env.slug);
    let gate = Arc::new(TestGatekeeper::default());
    let host_key = HostKey::generate().unwrap();
    let mut config = SshConfig::new("127.0.0.1:0".parse().unwrap(), host_key.clone());
    config.auth_timeout = Duration::from_secs(5);
    let vibebox = Arc::new(d.vb.clone());
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = SshServer::new(vibebox.clone(), gate.clone(), config.clone());
    let stand_in = tokio::spawn(server.run_on(listener, shutdown.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_port = listener.local_addr().unwrap().port();
    let server = SshServer::for_vibebox(vibebox, config);
    let service = tokio::spawn(server.run_on(listener, shutdown.clone()));
    Fixture {
        d,
        actor,
        project,
        env,
        username,
        port,
        service_port,
        host_key: host_key.public_openssh().expect("the host key encodes"),
        gate,
        shutdown,
        servers: Mutex::new(vec![stand_in, service]),
        clients: AtomicUsize::new(0),
    }
}

impl Fixture {
    /// A new client key (its own directory) allowed to log in to `env` as `username`.
    pub async fn client_for(&self, username: &str, env: &Environment) -> Client {
        let client = self.stranger().await;
        self.gate.allow(
            username,
            &client.fingerprint,
            Grant {
                actor: self.actor.clone(),
                environment_id: env.id,
                key_id: client.fingerprint.clone(),
                fingerprint: client.fingerprint.clone(),
            },
        );
        client.with_user(username)
    }

    /// A client allowed into the shared environment.
    pub async fn client(&self) -> Client {
        self.client_for(&self.username.clone(), &self.env.clone())
            .await
    }

    /// A client with a fresh key nobody allowed.
    pub async fn stranger(&self) -> Client {
        let n = self.clients.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("vibebox-ssh-test-{}-{n}", self.d.run()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("id_ed25519");
        let out = tokio::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "vibebox-test", "-f"])
            .arg(&key)
            .output()
            .await
            .expect("ssh-keygen runs (apt-get install openssh-client)");
        assert!(out.status.success(), "ssh-keygen: {out:?}");
        let out = tokio::process::Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(dir.join("id_ed25519.pub"))
            .output()
            .await
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        let fingerprint = listing
            .split_whitespace()
            .nth(1)
            .expect("ssh-keygen -l prints the fingerprint")
            .to_string();
        let known_hosts = dir.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!(
                "[127.0.0.1]:{} {key}\n[127.0.0.1]:{} {key}\n",
                self.port,
                self.service_port,
                key = self.host_key
            ),
        )
        .unwrap();
        Client {
            dir,
            key,
            known_hosts,
            fingerprint,
            port: self.port,
            user: self.username.clone(),
        }
    }

    /// A client of the gateway that follows core's rule, as `username`, whose new key is
    /// registered to `actor` with the service.
    pub async fn registered(&self, actor: &Actor, username: &str) -> Client {
        let mut client = self.stranger().await.with_user(username);
        client.port = self.service_port;
        let line = std::fs::read_to_string(client.key.with_extension("pub")).unwrap();
        self.d
            .vb
            .add_ssh_key(
                actor,
                NewSshKey {
                    name: "laptop".into(),
                    public_key: line.trim().to_string(),
                },
            )
            .await
            .unwrap();
        client
    }

    /// Another environment of the owner's project, stopped.
    pub async fn second_env(&self, slug: &str) -> (Environment, String) {
        let env = self.d.env(&self.actor, &self.project, slug).await;
        (env, format!("{}.{slug}", self.project.slug))
    }
}

/// One OpenSSH client: its key, its known_hosts with the gateway's key, its username.
pub struct Client {
    pub dir: PathBuf,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub fingerprint: String,
    pub port: u16,
    pub user: String,
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Client {
    pub fn with_user(mut self, user: &str) -> Self {
        self.user = user.to_string();
        self
    }

    /// The options every OpenSSH tool gets: no user config, the pinned host key, this key
    /// only, never a prompt.
    pub fn options(&self) -> Vec<String> {
        let mut o = vec!["-F".to_string(), "/dev/null".to_string()];
        for opt in [
            "StrictHostKeyChecking=yes".to_string(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "IdentitiesOnly=yes".to_string(),
            format!("IdentityFile={}", self.key.display()),
            "BatchMode=yes".to_string(),
            "ConnectTimeout=20".to_string(),
            "LogLevel=ERROR".to_string(),
        ] {
            o.push("-o".into());
            o.push(opt);
        }
        o
    }

    /// `user@127.0.0.1`.
    pub fn target(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    /// `ssh -p PORT <options> user@127.0.0.1 <args…>`.
    pub fn ssh<I, S>(&self, args: I) -> tokio::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.ssh_with(&[], args)
    }

    /// `ssh <more options> -p PORT <options> user@127.0.0.1 <args…>` (OpenSSH takes the first
    /// value of an option, so `options` override the defaults).
    pub fn ssh_with<I, S>(&self, options: &[&str], args: I) -> tokio::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = tokio::process::Command::new("ssh");
        c.args(options)
            .args(self.options())
            .arg("-p")
            .arg(self.port.to_string())
            .arg(self.target())
            .args(args)
            .kill_on_drop(true);
        c
    }

    /// The `ssh` command line rsync and tmux run, as one string.
    pub fn ssh_line(&self) -> String {
        let mut parts = vec!["ssh".to_string()];
        parts.extend(self.options());
        parts.push("-p".into());
        parts.push(self.port.to_string());
        parts.join(" ")
    }

    /// Runs `ssh … -- <remote command>` to its end.
    pub async fn run(&self, remote: &str) -> Output {
        run_bounded(self.ssh(["--", remote])).await
    }

    /// `scp -P PORT <options> from to` (paths with `:` are remote).
    pub async fn scp(&self, from: &str, to: &str) -> Output {
        let mut c = tokio::process::Command::new("scp");
        c.args(self.options())
            .arg("-P")
            .arg(self.port.to_string())
            .arg(from)
            .arg(to)
            .kill_on_drop(true);
        run_bounded(c).await
    }

    /// `sftp -b batch`.
    pub async fn sftp(&self, batch: &Path) -> Output {
        let mut c = tokio::process::Command::new("sftp");
        c.args(self.options())
            .arg("-P")
            .arg(self.port.to_string())
            .arg("-b")
            .arg(batch)
            .arg(self.target())
            .kill_on_drop(true);
        run_bounded(c).await
    }
}

/// Runs a command with a bound on its time.
pub async fn run_bounded(mut c: tokio::process::Command) -> Output {
    c.stdin(std::process::Stdio::null());
    tokio::time::timeout(COMMAND_WAIT, c.output())
        .await
        .expect("the command finished in time")
        .expect("the command runs")
}

/// Shows an output for an assertion message.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `n` bytes that do not compress (xorshift), so a copy really moves them.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The SHA-256 of bytes, in hex (as `sha256sum` prints it).
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
