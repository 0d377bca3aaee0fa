//! The gateway with the real OpenSSH client (`ssh`, `scp`, `sftp`, `rsync -e ssh`) against
//! the real service, engine and images: each test logs in with its own generated key.
//! Needs the Docker engine and `scripts/base-image`; fails, never skips, without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "openssh/logins.rs"]
mod logins;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{PROMPTLY, hold_open, noise, sha256, show, stderr, stdout, verbose, with_fixture};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox::domain::EnvironmentStatus;

#[test]
fn exec_returns_the_commands_exit_code() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let out = client.run("sh -c 'exit 3'").await;
        assert_eq!(out.status.code(), Some(3), "{}", show(&out));
        let out = client.run("true").await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    });
}

#[test]
fn exec_pipes_stdin_to_the_command() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let mut child = client
            .ssh(["--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"abc\n").await.unwrap();
        drop(stdin);
        let out = tokio::time::timeout(PROMPTLY, child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "abc\n");
    });
}

#[test]
fn exec_carries_megabytes_of_stdin_intact() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let data = noise(3 << 20, 7);
        let mut child = client
            .ssh(["--", "sha256sum"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feed = async move {
            stdin.write_all(&data).await.unwrap();
            drop(stdin);
        };
        let (_, out) = tokio::join!(feed, child.wait_with_output());
        let out = out.unwrap();
        assert!(out.status.success(), "{}", show(&out));
        assert!(
            stdout(&out).starts_with(&sha256(&noise(3 << 20, 7))),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn exec_keeps_stderr_apart_from_stdout() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let out = client.run("echo to-out; echo to-err >&2").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "to-out\n");
        assert_eq!(stderr(&out), "to-err\n");
    });
}

#[test]
fn exec_runs_in_the_users_home_under_their_shell() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let out = client.run("echo \"$HOME $PWD $SHELL\"; id -un").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(
            stdout(&out),
            "/home/vibebox /home/vibebox /bin/bash\nvibebox\n"
        );
    });
}

#[test]
fn a_shell_under_tmux_starts_at_home_echoes_and_follows_resizes() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let socket = format!("vibebox-ssh-{}", f.d.run());
        let tmux = |args: &[&str]| {
            let out = std::process::Command::new("tmux")
                .arg("-L")
                .arg(&socket)
                .args(args)
                .output()
                .expect("tmux runs (apt-get install tmux)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let line = format!("{} -tt {}", client.ssh_line(), client.target());
        tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "40",
            &line,
        ]);
        let screen_shows = |want: &'static str| {
            let tmux = &tmux;
            async move {
                let deadline = Instant::now() + PROMPTLY;
                loop {
                    let screen = tmux(&["capture-pane", "-p", "-t", "t"]);
                    if screen.contains(want) {
                        return;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no {want:?} on screen:\n{screen}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        tmux(&["send-keys", "-t", "t", "echo hi-$((6*7)) in-$PWD", "Enter"]);
        // The shell starts in the user's home, as sshd's does.
        screen_shows("hi-42 in-/home/vibebox").await;
        tmux(&["send-keys", "-t", "t", "stty size", "Enter"]);
        screen_shows("40 120").await;
        tmux(&["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
        tmux(&["send-keys", "-t", "t", "clear; stty size", "Enter"]);
        screen_shows("30 100").await;
        tmux(&["send-keys", "-t", "t", "exit", "Enter"]);
        tmux(&["kill-server"]);
    });
}

#[test]
fn scp_copies_both_ways_intact() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let data = noise(4 << 20, 11);
        let up = client.dir.join("up.bin");
        let down = client.dir.join("down.bin");
        std::fs::write(&up, &data).unwrap();
        let out = client
            .scp(
                up.to_str().unwrap(),
                &format!("{}:scp.bin", client.target()),
            )
            .await;
        assert!(out.status.success(), "upload: {}", show(&out));
        let out = client.run("sha256sum scp.bin").await;
        assert!(stdout(&out).starts_with(&sha256(&data)), "{}", show(&out));
        let out = client
            .scp(
                &format!("{}:scp.bin", client.target()),
                down.to_str().unwrap(),
            )
            .await;
        assert!(out.status.success(), "download: {}", show(&out));
        assert_eq!(sha256(&std::fs::read(&down).unwrap()), sha256(&data));
    });
}

#[test]
fn sftp_puts_and_gets_intact() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let data = noise(2 << 20, 13);
        let put = client.dir.join("put.bin");
        let got = client.dir.join("got.bin");
        std::fs::write(&put, &data).unwrap();
        let batch = client.dir.join("batch");
        std::fs::write(
            &batch,
            format!(
                "mkdir sftp-dir\nput {} sftp-dir/file.bin\nls sftp-dir\nget sftp-dir/file.bin {}\n",
                put.display(),
                got.display()
            ),
        )
        .unwrap();
        let out = client.sftp(&batch).await;
        assert!(out.status.success(), "{}", show(&out));
        assert!(stdout(&out).contains("file.bin"), "{}", show(&out));
        assert_eq!(sha256(&std::fs::read(&got).unwrap()), sha256(&data));
    });
}

#[test]
fn rsync_over_ssh_copies_a_tree() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let tree = client.dir.join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        let big = noise(1 << 20, 17);
        std::fs::write(tree.join("big.bin"), &big).unwrap();
        std::fs::write(tree.join("sub/small.txt"), b"small\n").unwrap();
        let mut c = tokio::process::Command::new("rsync");
        c.args(["-a", "-e", &client.ssh_line()])
            .arg(format!("{}/", tree.display()))
            .arg(format!("{}:rsynced/", client.target()))
            .kill_on_drop(true);
        let out = support::run_bounded(c).await;
        assert!(
            out.status.success(),
            "rsync (apt-get install rsync): {}",
            show(&out)
        );
        let out = client
            .run("sha256sum rsynced/big.bin; cat rsynced/sub/small.txt")
            .await;
        assert_eq!(
            stdout(&out),
            format!("{}  rsynced/big.bin\nsmall\n", sha256(&big)),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn ssh_dash_l_reaches_a_server_inside_the_environment() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let out = client
            .run(
                "mkdir -p /tmp/www && echo vibebox-tunnel-ok > /tmp/www/probe.txt && \
                 cd /tmp/www && nohup python3 -m http.server 8765 --bind 127.0.0.1 \
                 </dev/null >/dev/null 2>&1 &",
            )
            .await;
        assert!(out.status.success(), "{}", show(&out));
        let local = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut forward = client
            .ssh([
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-L",
                &format!("127.0.0.1:{local}:localhost:8765"),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let body = loop {
            if let Ok(mut tcp) = tokio::net::TcpStream::connect(("127.0.0.1", local)).await {
                let _ = tcp
                    .write_all(b"GET /probe.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
                    .await;
                let mut reply = Vec::new();
                let _ = tokio::time::timeout(PROMPTLY, tcp.read_to_end(&mut reply)).await;
                let reply = String::from_utf8_lossy(&reply).into_owned();
                if reply.starts_with("HTTP/1.0 200") {
                    break reply;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no answer through the tunnel (ssh alive: {:?})",
                forward.try_wait()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(body.ends_with("vibebox-tunnel-ok\n"), "{body}");
        forward.kill().await.unwrap();
    });
}

#[test]
fn a_tunnel_to_another_host_is_refused() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let c = client.ssh_with(&["-o", "LogLevel=INFO"], ["-W", "example.invalid:80"]);
        let out = support::run_bounded(c).await;
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("only ports on localhost"),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn remote_forwarding_is_refused() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let mut c = client.ssh([
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:localhost:9",
        ]);
        c.arg("-o").arg("LogLevel=INFO");
        let out = support::run_bounded(c).await;
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("remote port forwarding failed"),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn a_wrong_key_is_refused() {
    with_fixture(|f| async move {
        let stranger = f.stranger().await;
        let out = support::run_bounded(verbose(&stranger, &["--", "true"])).await;
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("Permission denied (publickey)"),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn passwords_and_keyboard_interactive_are_not_offered() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let out = support::run_bounded(verbose(
            &client,
            &[
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
                "--",
                "true",
            ],
        ))
        .await;
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("Permission denied (publickey)"),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn twenty_concurrent_sessions_each_run_their_command() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let runs = (0..20).map(|i| {
            let client = &client;
            async move {
                (
                    i,
                    client.run(&format!("echo session-$((1000 + {i}))")).await,
                )
            }
        });
        for (i, out) in futures::future::join_all(runs).await {
            assert!(out.status.success(), "session {i}: {}", show(&out));
            assert_eq!(stdout(&out), format!("session-{}\n", 1000 + i));
        }
    });
}

#[test]
fn garbage_on_the_port_leaves_the_server_serving() {
    with_fixture(|f| async move {
        let addr = ("127.0.0.1", f.port);
        // Random bytes, then an HTTP request: each connection is closed, the server goes on.
        for payload in [
            noise(64 << 10, 23),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ] {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = tcp.write_all(&payload).await;
            let mut seen = Vec::new();
            let closed = tokio::time::timeout(PROMPTLY, tcp.read_to_end(&mut seen)).await;
            assert!(closed.is_ok(), "the server kept a garbage connection open");
            assert!(
                seen.starts_with(b"SSH-2.0-"),
                "{:?}",
                String::from_utf8_lossy(&seen)
            );
        }
        // A silent connection holds nothing up, and is dropped after the auth timeout.
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        let client = f.client().await;
        let out = client.run("echo alive").await;
        assert_eq!(stdout(&out), "alive\n", "{}", show(&out));
        let mut sink = Vec::new();
        let dropped = tokio::time::timeout(PROMPTLY, silent.read_to_end(&mut sink)).await;
        assert!(
            dropped.is_ok(),
            "a silent connection outlived the auth timeout"
        );
    });
}

#[test]
fn a_connection_to_a_stopped_environment_starts_it() {
    with_fixture(|f| async move {
        let (env, user) = f.second_env("cold").await;
        assert_eq!(env.status, EnvironmentStatus::Stopped);
        let client = f.client_for(&user, &env).await;
        let out = client.run("echo warm").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "warm\n");
        assert!(
            stderr(&out).contains(&format!("vibebox: starting {user}")),
            "{}",
            show(&out)
        );
        assert_eq!(f.d.reload(&env).await.status, EnvironmentStatus::Running);
    });
}

#[test]
fn a_connection_to_a_suspended_environment_resumes_it() {
    with_fixture(|f| async move {
        let (env, user) = f.second_env("sleepy").await;
        f.d.vb.start_environment(&f.actor, env.id).await.unwrap();
        let env = f.d.vb.suspend_environment(&f.actor, env.id).await.unwrap();
        assert_eq!(env.status, EnvironmentStatus::Suspended);
        let client = f.client_for(&user, &env).await;
        let out = client.run("echo thawed").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "thawed\n");
        assert_eq!(f.d.reload(&env).await.status, EnvironmentStatus::Running);
    });
}

#[test]
fn stopping_the_environment_closes_its_connections() {
    with_fixture(|f| async move {
        let (env, user) = f.second_env("brief").await;
        f.d.vb.start_environment(&f.actor, env.id).await.unwrap();
        let client = f.client_for(&user, &env).await;
        let held = hold_open(&f, &client, &env, 3011).await;
        f.d.vb.stop_environment(&f.actor, env.id).await.unwrap();
        let out = tokio::time::timeout(PROMPTLY, held.wait_with_output())
            .await
            .expect("the connection was closed")
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("the environment stopped"),
            "{}",
            show(&out)
        );
    });
}

#[test]
fn a_revoked_key_loses_its_open_connections_within_seconds() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let held = hold_open(&f, &client, &f.env, 3023).await;
        let revoked = Instant::now();
        f.gate.revoke(&client.fingerprint);
        let out = tokio::time::timeout(PROMPTLY, held.wait_with_output())
            .await
            .expect("the connection was closed")
            .unwrap();
        assert!(revoked.elapsed() < Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("access was revoked"),
            "{}",
            show(&out)
        );
        let again = support::run_bounded(verbose(&client, &["--", "true"])).await;
        assert!(
            stderr(&again).contains("Permission denied (publickey)"),
            "{}",
            show(&again)
        );
    });
}

#[test]
fn a_shell_without_a_pty_reads_commands_from_stdin() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let mut child = client
            .ssh(["-T"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"echo from-stdin-$((2+3))\nexit 4\n")
            .await
            .unwrap();
        drop(stdin);
        let out = tokio::time::timeout(PROMPTLY, child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{}", show(&out));
        assert!(stdout(&out).contains("from-stdin-5\n"), "{}", show(&out));
    });
}

#[test]
fn exec_with_a_pty_runs_on_a_terminal() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let c = client.ssh_with(&["-tt"], ["--", "tty; echo \"term=$TERM\"; exit 6"]);
        let out = support::run_bounded(c).await;
        assert_eq!(out.status.code(), Some(6), "{}", show(&out));
        let text = stdout(&out);
        assert!(text.contains("/dev/pts/"), "{}", show(&out));
        assert!(text.contains("term="), "{}", show(&out));
    });
}

#[test]
fn only_lang_lc_and_term_reach_the_environment() {
    with_fixture(|f| async move {
        let client = f.client().await;
        let c = client.ssh_with(
            &["-o", "SetEnv=LC_TIME=C.UTF-8 VIBEBOX_SNEAKY=1"],
            ["--", "echo \"[$LC_TIME][${VIBEBOX_SNEAKY:-unset}]\""],
        );
        let out = support::run_bounded(c).await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "[C.UTF-8][unset]\n");
    });
}

#[test]
fn ssh_traffic_counts_as_session_activity() {
    with_fixture(|f| async move {
        // An environment of its own, so no other test's traffic counts.
        let (env, user) = f.second_env("busy").await;
        let client = f.client_for(&user, &env).await;
        let before = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
        let out = client.run("echo busy").await;
        assert!(out.status.success(), "{}", show(&out));
        let deadline = Instant::now() + PROMPTLY;
        loop {
            let sessions = f.d.store.list_sessions(env.id, false).await.unwrap();
            let ssh = sessions
                .iter()
                .find(|s| s.session_name == vibebox_ssh::SSH_SESSION);
            if let Some(s) = ssh
                && s.last_activity_at >= before
            {
                assert_eq!(s.session_type, vibebox::domain::SessionType::Shell);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no activity recorded: {sessions:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
