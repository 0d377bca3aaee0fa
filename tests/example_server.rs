//! The README's first command, `cargo run --example server`, driven as a process: it
//! generates its key file (mode 0600) and warns, serves without a Docker engine and says that
//! environments cannot start, makes the first account platform admin unless told otherwise,
//! takes its keys from the environment when given, shuts down gracefully on SIGTERM, and says
//! in one line why it cannot start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use example::server_binary;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("vibebox-example-{name}-{nanos}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running server and the lines it printed up to "listening".
struct Server {
    child: Child,
    addr: SocketAddr,
    banner: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(server_binary());
        command
            .current_dir(dir)
            .args(["--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0"])
            .args(args)
            // No engine at this address: the server must still serve.
            .env(
                "DOCKER_HOST",
                format!("unix://{}/no-docker.sock", dir.display()),
            )
            .env("RUST_LOG", "warn")
            .env_remove("VIBEBOX_DATABASE_URL")
            .env_remove("VIBEBOX_KEY_FILE")
            .env_remove("VIBEBOX_SIGNING_KEY")
            .env_remove("VIBEBOX_ENCRYPTION_KEYS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let addr = loop {
            let line = lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("the server never said where it listens: {banner:?}"));
            banner.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Self {
            child,
            addr,
            banner,
            lines,
        }
    }

    /// Where the SSH gateway listens, as the server printed it at start.
    fn ssh_addr(&self) -> Option<SocketAddr> {
        self.banner.iter().find_map(|l| {
            let rest = l.strip_prefix("SSH gateway on ")?;
            rest.split(';').next()?.trim().parse().ok()
        })
    }

    /// The SSH host key fingerprint the server printed at start.
    fn host_key_fingerprint(&self) -> String {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix("SSH host key "))
            .unwrap_or_else(|| panic!("no SSH host key line: {:?}", self.banner))
            .trim()
            .to_string()
    }

    fn said(&self, needle: &str) -> bool {
        self.banner.iter().any(|l| l.contains(needle))
    }

    /// SIGTERM, then the exit status and what it printed meanwhile.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        let rest = self.lines.try_iter().collect();
        (status, rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a fresh connection: the status and the JSON body (Null if none).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let payload = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

fn register_and_login(addr: SocketAddr, email: &str) -> Value {
    let (status, body) = request(
        addr,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "display_name": "Someone"})),
    );
    assert_eq!(status, 202, "{body}");
    let (status, body) = request(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn the_server_makes_its_key_file_serves_without_docker_and_stops_gracefully() {
    let dir = scratch("first-run");
    let server = Server::start(&dir, &[], &[]);
    assert!(server.said("generated new keys"), "{:?}", server.banner);
    let host_key = server.host_key_fingerprint();
    assert!(host_key.starts_with("SHA256:"), "{:?}", server.banner);
    assert!(
        server.said("environments cannot start"),
        "the missing engine is named: {:?}",
        server.banner
    );
    let mode = std::fs::metadata(dir.join("vibebox.keys"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        dir.join("vibebox.db").exists(),
        "SQLite at ./vibebox.db by default"
    );

    assert_eq!(request(server.addr, "GET", "/healthz", None, None).0, 200);
    let (status, ready) = request(server.addr, "GET", "/readyz", None, None);
    assert_eq!(status, 503);
    assert!(
        ready["detail"]
            .as_str()
            .unwrap()
            .contains("container engine"),
        "{ready}"
    );

    let first = register_and_login(server.addr, "first@example.com");
    assert_eq!(first["user"]["is_platform_admin"], true);
    let second = register_and_login(server.addr, "second@example.com");
    assert_eq!(second["user"]["is_platform_admin"], false);
    let token = first["access_token"].as_str().unwrap().to_string();

    let (status, rest) = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");

    // The keys and the database survive a restart: the token still verifies, and the SSH host
    // key (its fingerprint printed at start) is the same.
    let again = Server::start(&dir, &[], &[]);
    assert!(!again.said("generated new keys"), "{:?}", again.banner);
    assert_eq!(again.host_key_fingerprint(), host_key);
    let (status, me) = request(again.addr, "GET", "/api/v1/users/me", Some(&token), None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "first@example.com");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_first_account_is_not_admin_when_the_server_is_told_so() {
    let dir = scratch("no-admin");
    let server = Server::start(&dir, &["--no-first-user-admin"], &[]);
    let first = register_and_login(server.addr, "first@example.com");
    assert_eq!(first["user"]["is_platform_admin"], false);
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_worker_thread_count_that_is_not_a_positive_number_is_refused_by_name() {
    let dir = scratch("workers");
    for (args, env) in [
        (&["--worker-threads", "many"][..], None),
        (&["--worker-threads", "0"][..], None),
        (&[][..], Some("-2")),
    ] {
        let mut command = Command::new(server_binary());
        command
            .current_dir(&dir)
            .args(["--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(value) = env {
            command.env("VIBEBOX_WORKER_THREADS", value);
        }
        let out = command.output().unwrap();
        assert!(!out.status.success(), "{args:?} {env:?} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let named = if env.is_some() {
            "VIBEBOX_WORKER_THREADS"
        } else {
            "--worker-threads"
        };
        assert!(stderr.contains(named), "the error names {named}: {stderr}");
    }
    assert!(
        !dir.join("vibebox.keys").exists(),
        "nothing is written before the settings are valid"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs the server with `args` (and `env`) where it cannot start: its stderr.
fn fails_to_start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(server_binary());
    command
        .current_dir(dir)
        .args(["--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0"])
        .args(args)
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-docker.sock", dir.display()),
        )
        .env("RUST_LOG", "warn")
        .env_remove("VIBEBOX_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} {env:?} must not start: {stderr}"
    );
    stderr
}

#[test]
fn a_server_that_cannot_start_says_why_in_one_line() {
    let dir = scratch("startup-errors");
    // The flags, the environment, and what the error must name.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    // An address another socket holds.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap();
    let cases: [Case; 8] = [
        (&["--bogus"], &[], "unknown flag --bogus"),
        (
            &["--database", "postgres://nobody:hunter2@127.0.0.1:1/x"],
            &[],
            "postgres://nobody:***@127.0.0.1:1/x",
        ),
        (
            &[
                "--database",
                "postgres://nobody:hunter2@127.0.0.1:notaport/x",
            ],
            &[],
            "is not a valid PostgreSQL URL",
        ),
        (
            &["--database", "mysql://root:hunter2@127.0.0.1/x"],
            &[],
            "unsupported database URL",
        ),
        (
            &["--listen", "1.2.3.4:1"],
            &[],
            "cannot listen on 1.2.3.4:1",
        ),
        (
            &[],
            &[("DOCKER_HOST", "ftp://docker")],
            "DOCKER_HOST ftp://docker",
        ),
        (&["--ssh-listen", "port 22"], &[], "--ssh-listen"),
        (
            &["--ssh-listen", &taken.to_string()],
            &[],
            "cannot listen for SSH on",
        ),
    ];
    for (args, env, named) in cases {
        let stderr = fails_to_start(&dir, args, env);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?} {env:?}: one line, got {stderr:?}");
        let line = lines[0];
        assert!(line.starts_with("error: "), "{line}");
        assert!(
            line.contains(named),
            "{args:?} {env:?} names {named:?}: {line}"
        );
        // No Rust Debug form (`Error: Unavailable { what: … }`, quoted strings) and no password.
        for noise in ["Error:", "{", "}", "\"", "hunter2"] {
            assert!(
                !line.contains(noise),
                "{args:?} {env:?}: {noise:?} in {line}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_key_file_without_an_ssh_host_key_gains_one_and_keeps_it() {
    let dir = scratch("old-key-file");
    drop(Server::start(&dir, &[], &[]));
    let path = dir.join("vibebox.keys");
    let old: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("ssh-host-key:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, old).unwrap();
    let upgraded = Server::start(&dir, &[], &[]);
    assert!(
        upgraded.said("added an SSH host key"),
        "{:?}",
        upgraded.banner
    );
    let host_key = upgraded.host_key_fingerprint();
    drop(upgraded);
    let again = Server::start(&dir, &[], &[]);
    assert!(!again.said("added an SSH host key"), "{:?}", again.banner);
    assert_eq!(again.host_key_fingerprint(), host_key);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keys_from_the_environment_replace_the_key_file() {
    let dir = scratch("own-keys");
    let keyring =
        vibebox::secrets::Keyring::generate(vibebox::secrets::KeyId::new("ops1").unwrap()).unwrap();
    let encoded = secrecy::ExposeSecret::expose_secret(&keyring.to_encoded()).to_string();
    let signing = "ops-s1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let env = [
        ("VIBEBOX_ENCRYPTION_KEYS", encoded.as_str()),
        ("VIBEBOX_SIGNING_KEY", signing),
    ];
    let server = Server::start(&dir, &[], &env);
    assert!(!dir.join("vibebox.keys").exists(), "no key file is written");
    let login = register_and_login(server.addr, "ops@example.com");
    let token = login["access_token"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"], "ops-s1",
        "tokens are signed with the given key"
    );
    drop(server);

    let bad = Command::new(server_binary())
        .current_dir(&dir)
        .args(["--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0"])
        .env("VIBEBOX_SIGNING_KEY", "short=AAEC")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("VIBEBOX_SIGNING_KEY"),
        "the error names the setting: {stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_ssh_gateway_serves_where_told_and_the_api_shows_its_host_key() {
    let dir = scratch("ssh-gateway");
    let server = Server::start(&dir, &[], &[]);
    let ssh = server
        .ssh_addr()
        .unwrap_or_else(|| panic!("no SSH gateway line: {:?}", server.banner));
    let fingerprint = server.host_key_fingerprint();
    let (status, body) = request(server.addr, "GET", "/api/v1/ssh", None, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["port"], ssh.port());
    assert!(body.get("host").is_none(), "{body}");
    assert_eq!(body["host_keys"][0]["fingerprint"], fingerprint.as_str());
    // OpenSSH sees the same key on the port.
    let scan = Command::new("ssh-keyscan")
        .args([
            "-T",
            "20",
            "-t",
            "ed25519",
            "-p",
            &ssh.port().to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("ssh-keyscan runs (apt-get install openssh-client)");
    let scanned = String::from_utf8_lossy(&scan.stdout).into_owned();
    let published = body["host_keys"][0]["public_key"].as_str().unwrap();
    assert!(
        scanned.contains(published),
        "ssh-keyscan found {scanned:?}, the API says {published:?}"
    );
    drop(server);

    let off = Server::start(&dir, &["--ssh-listen", "off"], &[]);
    assert_eq!(off.ssh_addr(), None, "{:?}", off.banner);
    let (status, body) = request(off.addr, "GET", "/api/v1/ssh", None, None);
    assert_eq!(status, 404, "{body}");
    drop(off);
    std::fs::remove_dir_all(&dir).ok();
}
