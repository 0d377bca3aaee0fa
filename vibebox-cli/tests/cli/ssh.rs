//! `vibebox ssh`, `ssh-config` and `ssh-key` with the real OpenSSH client against the server's
//! SSH gateway (core's login rule: keys registered through the API), on the real engine.
//! Every client key is made by `ssh-keygen` for the test.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::Cli;
use crate::harness::{WAIT, run_id};
use crate::tmux::Tmux;

/// A key pair made by `ssh-keygen`, and the fingerprint `ssh-keygen -lf` prints for it.
struct Key {
    private: PathBuf,
    public: PathBuf,
    fingerprint: String,
}

impl Key {
    fn private(&self) -> &str {
        self.private.to_str().unwrap()
    }

    fn public(&self) -> &str {
        self.public.to_str().unwrap()
    }

    fn public_line(&self) -> String {
        std::fs::read_to_string(&self.public).unwrap()
    }
}

/// A new ed25519 key in the CLI's scratch directory, with `comment`.
async fn keygen(cli: &Cli, comment: &str) -> Key {
    let dir = cli.config.join(format!("client-{}", run_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let private = dir.join("id_ed25519");
    let out = tokio::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&private)
        .output()
        .await
        .expect("ssh-keygen runs (apt-get install openssh-client)");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    let public = dir.join("id_ed25519.pub");
    let out = tokio::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&public)
        .output()
        .await
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = listing
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -lf prints the fingerprint")
        .to_owned();
    assert!(fingerprint.starts_with("SHA256:"), "{listing}");
    Key {
        private,
        public,
        fingerprint,
    }
}

/// A running environment and a registered key: what `vibebox ssh` needs.
async fn ready(cli: &Cli, slug: &str) -> (String, Key) {
    let env = cli.running_env(slug).await;
    let key = keygen(cli, "laptop").await;
    cli.run(&["ssh-key", "add", key.public()]).await.ok();
    (env, key)
}

/// `vibebox ssh ENV` with this key only, never a prompt, then `rest`.
fn ssh_args<'a>(env: &'a str, key: &'a Key, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "ssh",
        env,
        "-i",
        key.private(),
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=20",
    ];
    args.extend_from_slice(rest);
    args
}

/// Plain OpenSSH with a config file, this key only, never a prompt.
async fn openssh(config: &Path, key: &Key, host: &str, remote: &str) -> std::process::Output {
    let run = tokio::process::Command::new("ssh")
        .arg("-F")
        .arg(config)
        .args(["-i", key.private()])
        .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
        .args(["-o", "ConnectTimeout=20", "--", host, remote])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT * 2, run)
        .await
        .expect("ssh finished in time")
        .unwrap()
}

fn show(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_key_add_lists_ssh_keygens_fingerprint_and_rm_removes_it() {
    let cli = Cli::signed_in("kay").await;
    let key = keygen(&cli, "kay@laptop").await;
    let added = cli.run(&["ssh-key", "add", key.public()]).await;
    assert!(added.ok().contains(&key.fingerprint), "{added:?}");

    let list = cli.run(&["ssh-key", "list"]).await;
    let row = list
        .ok()
        .lines()
        .find(|l| l.contains(&key.fingerprint))
        .unwrap_or_else(|| panic!("no row with {}: {list:?}", key.fingerprint));
    assert!(
        row.starts_with("kay@laptop "),
        "named after the comment: {row}"
    );
    assert!(row.contains("ssh-ed25519"), "{row}");

    // From stdin, named with --name; --json lists both with the same fingerprints.
    let second = keygen(&cli, "").await;
    cli.run_with_stdin(
        &["ssh-key", "add", "-", "--name", "second"],
        &second.public_line(),
    )
    .await
    .ok();
    let json: serde_json::Value =
        serde_json::from_str(cli.run(&["ssh-key", "list", "--json"]).await.ok()).unwrap();
    let mut fingerprints: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["fingerprint"].as_str().unwrap())
        .collect();
    fingerprints.sort_unstable();
    let mut expected = vec![key.fingerprint.as_str(), second.fingerprint.as_str()];
    expected.sort_unstable();
    assert_eq!(fingerprints, expected);

    // rm by fingerprint, then by name.
    cli.run(&["ssh-key", "rm", &key.fingerprint]).await.ok();
    let list = cli.run(&["ssh-key", "list"]).await;
    assert!(!list.ok().contains(&key.fingerprint), "{list:?}");
    assert!(list.ok().contains(&second.fingerprint), "{list:?}");
    cli.run(&["ssh-key", "rm", "second"]).await.ok();
    let list = cli.run(&["ssh-key", "list", "--json"]).await;
    assert_eq!(list.ok().trim(), "[]");
    let missing = cli.run(&["ssh-key", "rm", "second"]).await;
    assert_eq!(missing.code, 4, "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_key_add_refuses_a_private_key_without_sending_it() {
    let cli = Cli::signed_in("kim").await;
    let key = keygen(&cli, "kim@laptop").await;
    let run = cli.run(&["ssh-key", "add", key.private()]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("private key"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{}.pub", key.private())),
        "{}",
        run.stderr
    );
    assert_eq!(
        cli.run(&["ssh-key", "list", "--json"]).await.ok().trim(),
        "[]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_exits_with_the_remote_code_and_pipes_stdin() {
    let cli = Cli::with_ssh("sid").await;
    let (env, key) = ready(&cli, "web").await;

    let run = cli
        .run(&ssh_args(&env, &key, &["--", "sh", "-c", "exit 3"]))
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    let run = cli
        .run_with_stdin(&ssh_args(&env, &key, &["--", "cat"]), "abc\n")
        .await;
    assert_eq!(run.ok(), "abc\n");
    // Words arrive as they are; one word is a line for the remote shell.
    let run = cli
        .run(&ssh_args(
            &env,
            &key,
            &["--", "printf", "%s|", "a b", "it's"],
        ))
        .await;
    assert_eq!(run.ok(), "a b|it's|");
    let run = cli
        .run(&ssh_args(&env, &key, &["--", "echo $((6*7)) | tr 4 x"]))
        .await;
    assert_eq!(run.ok(), "x2\n");

    // The host key the server reported is the one pinned.
    let known_hosts = std::fs::read_to_string(cli.config.join("known_hosts")).unwrap();
    let port = cli.ssh_port.unwrap();
    assert_eq!(
        known_hosts.lines().count(),
        1,
        "one host key: {known_hosts}"
    );
    assert!(
        known_hosts.starts_with(&format!("vibebox-127.0.0.1-{port} ssh-ed25519 ")),
        "{known_hosts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_refuses_a_gateway_whose_host_key_the_server_did_not_report() {
    let cli = Cli::with_impostor_ssh("mo").await;
    let (env, key) = ready(&cli, "web").await;
    let run = cli
        .run(&ssh_args(&env, &key, &["--", "echo", "reached"]))
        .await;
    assert_eq!(run.code, 255, "{run:?}");
    assert!(
        run.stderr.contains("Host key verification failed"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_config_works_with_plain_ssh_and_pins_the_host_key() {
    let cli = Cli::with_ssh("cora").await;
    let (_env, key) = ready(&cli, "proj").await;
    let run = cli.run(&["ssh-config"]).await;
    let text = run.ok().to_owned();
    assert!(text.contains("\nHost proj.dev\n"), "{text}");
    assert!(text.contains("StrictHostKeyChecking yes"), "{text}");
    assert!(run.stderr.contains("Include"), "{}", run.stderr);
    let config = cli.config.join("ssh_config");
    std::fs::write(&config, &text).unwrap();

    let out = openssh(&config, &key, "proj.dev", "echo hi").await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");

    // Another key under the gateway's alias: ssh refuses to connect.
    let known_hosts = cli.config.join("known_hosts");
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    let alias = pinned.split_whitespace().next().unwrap().to_owned();
    let impostor = keygen(&cli, "").await;
    let impostor_key = impostor.public_line();
    let mut words = impostor_key.split_whitespace();
    let (kind, blob) = (words.next().unwrap(), words.next().unwrap());
    std::fs::write(&known_hosts, format!("{alias} {kind} {blob}\n")).unwrap();
    let out = openssh(&config, &key, "proj.dev", "echo hi").await;
    assert_eq!(out.status.code(), Some(255), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Host key verification failed"),
        "{}",
        show(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");

    // Running it again puts the server's key back.
    cli.run(&["ssh-config"]).await.ok();
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), pinned);
    let out = openssh(&config, &key, "proj.dev", "echo again").await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "again\n",
        "{}",
        show(&out)
    );

    // --json: the same hosts, for scripts.
    let json: serde_json::Value =
        serde_json::from_str(cli.run(&["ssh-config", "--json"]).await.ok()).unwrap();
    assert_eq!(json["host_key_alias"], alias.as_str());
    assert_eq!(json["hosts"][0]["host"], "proj.dev");
    assert_eq!(json["hosts"][0]["user"], "proj.dev");
    assert_eq!(json["hosts"][0]["environment"], "proj/dev");
    assert_eq!(json["hosts"][0]["port"], u64::from(cli.ssh_port.unwrap()));
    assert_eq!(json["hosts"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_without_a_registered_key_says_how_to_add_one() {
    let cli = Cli::with_ssh("nell").await;
    let run = cli.run(&["ssh", "web/dev"]).await;
    assert_eq!(run.code, 255, "{run:?}");
    assert!(
        run.stderr.contains("no SSH key registered"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("vibebox ssh-key add ~/.ssh/id_ed25519.pub"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_to_a_server_without_a_gateway_says_so() {
    let cli = Cli::signed_in("gus").await;
    let run = cli.run(&["ssh", "web/dev"]).await;
    assert_eq!(run.code, 255, "{run:?}");
    assert!(run.stderr.contains("runs no SSH gateway"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    let run = cli.run(&["ssh-config"]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("runs no SSH gateway"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_without_openssh_installed_says_how_to_install_it() {
    let cli = Cli::with_ssh("otto").await;
    let empty = cli.config.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = cli
        .command(&["ssh", "web/dev"])
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains("`ssh` is not installed"), "{stderr}");
    assert!(stderr.contains("openssh-client"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_without_a_command_is_an_interactive_login_shell() {
    let cli = Cli::with_ssh("ivy").await;
    let (env, key) = ready(&cli, "term").await;
    let tmux = Tmux::new();
    let pane = tmux
        .vibebox(&cli, "one", 80, 24, &ssh_args(&env, &key, &[]))
        .await;
    pane.wait_for_prompt().await;
    pane.type_line("echo $((6*7))").await;
    pane.wait_for_line("42").await;
    pane.type_line("exit 5").await;
    assert_eq!(pane.wait_for_exit().await, 5, "{}", pane.capture().await);
}
