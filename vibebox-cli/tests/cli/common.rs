//! A server for the CLI, a config directory of its own, and a way to run `vibebox`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::harness::{D, PASSWORD};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vibebox");

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "exit {}; stderr: {}", self.code, self.stderr);
        &self.stdout
    }
}

/// A served VibeBox on the real engine, and a signed-in CLI user.
pub struct Cli {
    pub d: D,
    pub url: String,
    pub config: PathBuf,
    pub email: String,
    /// The SSH gateway's port, when [`Cli::with_ssh`] serves one.
    pub ssh_port: Option<u16>,
    /// Stops the gateway when the test ends.
    _ssh: Option<DropGuard>,
}

impl Cli {
    /// A server, a user `name`, and the CLI signed in as that user (password login).
    pub async fn signed_in(name: &str) -> Self {
        let cli = Self::new(name).await;
        cli.login().await;
        cli
    }

    /// [`Cli::signed_in`] on a server that also runs its SSH gateway (`vibebox-ssh`, with
    /// core's login rule) on a loopback port, and reports it at `GET /api/v1/ssh`.
    pub async fn with_ssh(name: &str) -> Self {
        let cli = Self::serve(name, Some(Reported::TheGatewaysKey)).await;
        cli.login().await;
        cli
    }

    /// [`Cli::with_ssh`], but the server reports another host key than the gateway's: what
    /// the CLI sees when someone in between answers for the gateway.
    pub async fn with_impostor_ssh(name: &str) -> Self {
        let cli = Self::serve(name, Some(Reported::AnotherKey)).await;
        cli.login().await;
        cli
    }

    /// A server and a user, not signed in. Environments' main process prints what is
    /// written to `/tmp/o` (stdout) and `/tmp/e` (stderr), so tests can make logs.
    pub async fn new(name: &str) -> Self {
        Self::serve(name, None).await
    }

    async fn serve(name: &str, ssh: Option<Reported>) -> Self {
        let d = crate::harness::forwarding(|_| {}).await;
        let actor = d.user(name).await;
        let (gateway, guard) = match ssh {
            Some(reported) => {
                let (gateway, guard) = serve_ssh(&d, reported).await;
                (Some(gateway), Some(guard))
            }
            None => (None, None),
        };
        let ssh_port = gateway.as_ref().map(|g| g.port);
        let (addr, _token, _router) =
            crate::harness::serve_http_with(&d, &actor, |config| config.ssh = gateway).await;
        let config = std::env::temp_dir().join(format!("vibebox-cli-{}", crate::harness::run_id()));
        std::fs::create_dir_all(&config).unwrap();
        Self {
            d,
            url: format!("http://{addr}"),
            config,
            email: format!("{name}@example.com"),
            ssh_port,
            _ssh: guard,
        }
    }

    /// `vibebox login` with the user's password.
    async fn login(&self) {
        let run = self
            .run_with_stdin(
                &["login", &self.url, "--email", &self.email],
                &format!("{PASSWORD}\n"),
            )
            .await;
        assert_eq!(run.code, 0, "login failed: {}", run.stderr);
    }

    /// The hosts file.
    pub fn hosts(&self) -> PathBuf {
        self.config.join("hosts.json")
    }

    /// The environment of every run: this config dir, no colour, no VIBEBOX_* from outside.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(args)
            .env("VIBEBOX_CONFIG_DIR", &self.config)
            .env("NO_COLOR", "1")
            .env_remove("VIBEBOX_URL")
            .env_remove("VIBEBOX_TOKEN")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        command
    }

    /// Runs `vibebox ARGS` with empty stdin.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "").await
    }

    /// Runs `vibebox ARGS` with `input` on stdin.
    pub async fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.as_bytes().to_vec();
        let feeder = tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
        let output = tokio::time::timeout(crate::harness::WAIT * 4, child.wait_with_output())
            .await
            .expect("vibebox ran too long")
            .unwrap();
        let _ = feeder.await;
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A project `slug` with a running environment `dev`, created through the CLI.
    pub async fn running_env(&self, slug: &str) -> String {
        self.run(&["project", "create", slug]).await.ok();
        let env = format!("{slug}/dev");
        self.run(&[
            "env",
            "create",
            &env,
            "--image",
            crate::harness::BASE_IMAGE,
            "--start",
        ])
        .await
        .ok();
        env
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.config);
    }
}

/// Which host key the server reports for its gateway.
#[derive(Clone, Copy)]
enum Reported {
    TheGatewaysKey,
    AnotherKey,
}

/// The SSH gateway on the harness's service, on a loopback port with a new host key: what the
/// HTTP route reports, and a guard that stops it.
async fn serve_ssh(d: &D, reported: Reported) -> (vibebox_http::SshGateway, DropGuard) {
    let host_key = vibebox_ssh::HostKey::generate().unwrap();
    let shown = match reported {
        Reported::TheGatewaysKey => host_key.clone(),
        Reported::AnotherKey => vibebox_ssh::HostKey::generate().unwrap(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = vibebox_ssh::SshConfig::new(addr, host_key.clone());
    let server = vibebox_ssh::SshServer::for_vibebox(Arc::new(d.vb.clone()), config);
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run_on(listener, shutdown.clone()));
    let gateway = vibebox_http::SshGateway {
        host: None,
        port: addr.port(),
        host_keys: vec![vibebox_http::SshHostKey {
            public_key: shown.public_openssh().unwrap(),
            fingerprint: shown.fingerprint(),
        }],
    };
    (gateway, shutdown.drop_guard())
}
