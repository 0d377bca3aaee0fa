use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use vibebox_core::ErrorKind;
use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, LogStream};
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::TerminalSize;
use vibebox_core::service::{EXEC_MAX_ARGS, ExecRequest, ExecStream};
use vibebox_core::store::{AuditFilter, PageRequest};
use vibebox_core::testing::ScriptedExec;

use super::harness::{H, TeamEnv};

const WAIT: Duration = Duration::from_secs(10);

/// A user with a running environment.
async fn running(h: &H, name: &str) -> (Actor, Environment) {
    let (actor, _, env) = h.owner_with_env(name).await;
    let env = h.vb.start_environment(&actor, env.id).await.unwrap();
    (actor, env)
}

fn sh(script: &str) -> ExecRequest {
    ExecRequest::new(["sh", "-c", script])
}

/// Reads a stream's output to its end: (stdout, stderr).
async fn read_all(s: &mut ExecStream) -> (String, String) {
    let (mut out, mut err) = (String::new(), String::new());
    tokio::time::timeout(WAIT, async {
        while let Some(chunk) = s.output.next().await {
            let chunk = chunk.unwrap();
            let text = String::from_utf8_lossy(&chunk.data);
            match chunk.stream {
                LogStream::Stdout => out.push_str(&text),
                LogStream::Stderr => err.push_str(&text),
            }
        }
    })
    .await
    .expect("the output ended");
    (out, err)
}

/// Waits (bounded) until the fake engine runs `n` execs.
async fn until_running_execs(h: &H, n: usize) {
    tokio::time::timeout(WAIT, async {
        while h.rt.running_exec_count() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} execs run, not {n}", h.rt.running_exec_count()));
}

#[tokio::test]
async fn exec_reports_the_exit_code_with_stdout_and_stderr_kept_apart() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let r =
        h.vb.exec(&alice, env.id, sh("echo out; echo err >&2; exit 3"))
            .await
            .unwrap();
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(&r.stdout[..], b"out\n");
    assert_eq!(&r.stderr[..], b"err\n");
    assert!(!r.timed_out && !r.stdout_truncated && !r.stderr_truncated);
    let ok = h.vb.exec(&alice, env.id, sh("true")).await.unwrap();
    assert_eq!(ok.exit_code, Some(0));
}

#[tokio::test]
async fn exec_writes_stdin_then_closes_it() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let r =
        h.vb.exec(
            &alice,
            env.id,
            ExecRequest::new(["cat"]).with_stdin("piped in\n"),
        )
        .await
        .unwrap();
    assert_eq!((r.exit_code, &r.stdout[..]), (Some(0), &b"piped in\n"[..]));
}

#[tokio::test]
async fn exec_runs_as_the_container_user_with_the_requested_env_and_workdir() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let request = sh("whoami; printenv GREETING; pwd")
        .with_env("GREETING", "hello")
        .with_workdir("/tmp");
    let r = h.vb.exec(&alice, env.id, request).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&r.stdout), "1000\nhello\n/tmp\n");
    let spec = h.rt.exec_history().last().unwrap().spec.clone();
    assert_eq!(spec.user.as_deref(), Some("1000"));
    assert_eq!(spec.tty, None);
}

#[tokio::test]
async fn exec_validation_errors_name_the_field_and_start_nothing() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let before = h.rt.exec_history().len();
    let cases = [
        (ExecRequest::new(Vec::<String>::new()), "command"),
        (ExecRequest::new([""]), "command"),
        (ExecRequest::new(["echo", "nul\0byte"]), "command"),
        (ExecRequest::new(vec!["x"; EXEC_MAX_ARGS + 1]), "command"),
        (
            ExecRequest::new(["echo".to_string(), "x".repeat(300 * 1024)]),
            "command",
        ),
        (ExecRequest::new(["env"]).with_env("not-a-key", "v"), "env"),
        (ExecRequest::new(["env"]).with_env("KEY", "nul\0"), "env"),
        (
            ExecRequest::new(["pwd"]).with_workdir("relative/dir"),
            "workdir",
        ),
        (ExecRequest::new(["pwd"]).with_workdir("/nul\0"), "workdir"),
        (
            ExecRequest::new(["true"]).with_timeout(Duration::ZERO),
            "timeout",
        ),
        (
            ExecRequest::new(["true"]).with_timeout(Duration::from_secs(2 * 3600)),
            "timeout",
        ),
    ];
    for (request, field) in cases {
        let shown = format!("{request:?}");
        let e = h.vb.exec(&alice, env.id, request).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{shown}: {e}");
        assert_eq!(e.field(), Some(field), "{shown}: {e}");
    }
    assert_eq!(h.rt.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn viewers_cannot_exec_and_strangers_are_told_the_environment_does_not_exist() {
    let h = H::new().await;
    let TeamEnv {
        alice,
        dev,
        viewer,
        stranger,
        env,
    } = h.team_env().await;
    let before = h.rt.exec_history().len();
    let e = h.vb.exec(&viewer, env.id, sh("true")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let e = h.vb.exec(&stranger, env.id, sh("true")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // A stranger learns nothing from a bad request either.
    let e =
        h.vb.exec(&stranger, env.id, ExecRequest::new(Vec::<String>::new()))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e =
        h.vb.exec_stream(&viewer, env.id, sh("true"), None)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let e = h.vb.authorize_exec(&stranger, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(h.rt.exec_history().len(), before, "nothing ran");
    // The creator (a developer) and a team admin may.
    for actor in [&dev, &alice] {
        let r = h.vb.exec(actor, env.id, sh("echo ok")).await.unwrap();
        assert_eq!(&r.stdout[..], b"ok\n");
    }
}

#[tokio::test]
async fn exec_in_a_stopped_environment_is_a_conflict() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e = h.vb.exec(&alice, env.id, sh("true")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e =
        h.vb.exec_stream(&alice, env.id, sh("true"), None)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e = h.vb.authorize_exec(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}

#[tokio::test]
async fn the_exec_audit_event_names_the_program_never_arguments_env_or_stdin() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let request = ExecRequest::new(["/bin/sh", "-c", "cat; echo canary-argument"])
        .with_env("CANARY", "canary-env-value")
        .with_stdin("canary-stdin");
    let r = h.vb.exec(&alice, env.id, request).await.unwrap();
    assert_eq!(r.exit_code, Some(0));
    let mut s =
        h.vb.exec_stream(
            &alice,
            env.id,
            ExecRequest::new(["echo", "canary-stream-argument"]),
            None,
        )
        .await
        .unwrap();
    read_all(&mut s).await;
    let audit = h
        .store
        .list_audit(&AuditFilter::default(), &PageRequest::first(50))
        .await
        .unwrap();
    let execs: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action == "environment.exec")
        .collect();
    assert_eq!(execs.len(), 2, "one event per exec");
    let programs: Vec<&serde_json::Value> = execs.iter().map(|e| &e.details).collect();
    assert!(programs.contains(&&serde_json::json!({"program": "sh"})));
    assert!(programs.contains(&&serde_json::json!({"program": "echo"})));
    for event in execs {
        assert_eq!(event.resource_id, env.id.to_string());
        let shown = serde_json::to_string(event).unwrap();
        assert!(!shown.contains("canary"), "{shown}");
    }
}

#[tokio::test]
async fn exec_output_past_the_cap_is_dropped_and_flagged_while_the_process_runs_on() {
    let h = H::with_config(Config {
        exec_output_cap: 16,
        ..Config::default()
    })
    .await;
    let (alice, env) = running(&h, "alice").await;
    h.rt.script_exec(
        "flood",
        ScriptedExec {
            stdout: "x".repeat(1000),
            stderr: "short".into(),
            exit_code: 0,
            delay: Duration::ZERO,
        },
    );
    let r =
        h.vb.exec(&alice, env.id, sh("flood; echo done"))
            .await
            .unwrap();
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(&r.stdout[..], "x".repeat(16).as_bytes());
    assert!(r.stdout_truncated);
    assert_eq!((&r.stderr[..], r.stderr_truncated), (&b"short"[..], false));
}

#[tokio::test]
async fn exec_past_its_timeout_is_killed_and_reported_timed_out() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let baseline = h.rt.running_exec_count();
    let r =
        h.vb.exec(
            &alice,
            env.id,
            sh("echo before; sleep 30").with_timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap();
    assert!(r.timed_out);
    assert_eq!(r.exit_code, Some(137), "killed");
    assert_eq!(&r.stdout[..], b"before\n", "output before the kill is kept");
    assert!(r.duration < Duration::from_secs(30));
    assert_eq!(h.rt.running_exec_count(), baseline, "the process is gone");
}

#[tokio::test]
async fn exec_uses_the_default_timeout_when_none_is_asked() {
    let h = H::with_config(Config {
        exec_default_timeout: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let (alice, env) = running(&h, "alice").await;
    let r = h.vb.exec(&alice, env.id, sh("sleep 30")).await.unwrap();
    assert!(r.timed_out);
}

#[tokio::test]
async fn dropping_an_exec_future_kills_its_process() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let baseline = h.rt.running_exec_count();
    let mut exec = Box::pin(h.vb.exec(&alice, env.id, sh("sleep 30")));
    // Run it until the process has started, then drop the future.
    tokio::select! {
        _ = exec.as_mut() => panic!("sleep 30 ended"),
        _ = until_running_execs(&h, baseline + 1) => {}
    }
    drop(exec);
    until_running_execs(&h, baseline).await;
}

#[tokio::test]
async fn exec_stream_carries_stdin_through_cat_and_reports_the_exit() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let mut s =
        h.vb.exec_stream(&alice, env.id, ExecRequest::new(["cat"]), None)
            .await
            .unwrap();
    s.stdin.write_all(b"round trip\n").await.unwrap();
    s.stdin.shutdown().await.unwrap();
    let (out, err) = read_all(&mut s).await;
    assert_eq!((out.as_str(), err.as_str()), ("round trip\n", ""));
    let exit = s.control.wait().await.unwrap();
    assert_eq!((exit.exit_code, exit.timed_out), (Some(0), false));
}

#[tokio::test]
async fn exec_stream_keeps_stdout_and_stderr_apart() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let mut s =
        h.vb.exec_stream(
            &alice,
            env.id,
            sh("echo to-out; echo to-err >&2; exit 4"),
            None,
        )
        .await
        .unwrap();
    let (out, err) = read_all(&mut s).await;
    assert_eq!((out.as_str(), err.as_str()), ("to-out\n", "to-err\n"));
    assert_eq!(s.control.wait().await.unwrap().exit_code, Some(4));
}

#[tokio::test]
async fn exec_stream_with_a_tty_resizes_and_without_one_refuses_to() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let size = TerminalSize { cols: 80, rows: 24 };
    let mut s =
        h.vb.exec_stream(&alice, env.id, ExecRequest::new(["sh"]), Some(size))
            .await
            .unwrap();
    s.control
        .resize(TerminalSize {
            cols: 120,
            rows: 40,
        })
        .await
        .unwrap();
    s.stdin.write_all(b"stty size\nexit 0\n").await.unwrap();
    let (out, _) = read_all(&mut s).await;
    assert!(out.contains("40 120"), "{out:?}");
    let spec = h.rt.exec_history().last().unwrap().spec.clone();
    assert!(spec.env.contains(&("TERM".into(), "xterm-256color".into())));
    let e = s
        .control
        .resize(TerminalSize { cols: 0, rows: 10 })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("cols"));

    let plain =
        h.vb.exec_stream(&alice, env.id, sh("sleep 30"), None)
            .await
            .unwrap();
    let e = plain.control.resize(size).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e =
        h.vb.exec_stream(
            &alice,
            env.id,
            sh("true"),
            Some(TerminalSize { cols: 1, rows: 0 }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("rows"));
}

#[tokio::test]
async fn exec_stream_takes_stdin_through_its_writer_only() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let e =
        h.vb.exec_stream(
            &alice,
            env.id,
            ExecRequest::new(["cat"]).with_stdin("x"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("stdin"));
}

#[tokio::test]
async fn an_exec_stream_is_killed_on_kill_on_timeout_and_when_dropped() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let baseline = h.rt.running_exec_count();

    let mut killed =
        h.vb.exec_stream(&alice, env.id, sh("sleep 30"), None)
            .await
            .unwrap();
    killed.control.kill().await.unwrap();
    read_all(&mut killed).await;
    let exit = killed.control.wait().await.unwrap();
    assert_eq!((exit.exit_code, exit.timed_out), (Some(137), false));

    let mut late =
        h.vb.exec_stream(
            &alice,
            env.id,
            sh("sleep 30").with_timeout(Duration::from_millis(200)),
            None,
        )
        .await
        .unwrap();
    read_all(&mut late).await;
    let exit = late.control.wait().await.unwrap();
    assert_eq!((exit.exit_code, exit.timed_out), (Some(137), true));

    let dropped =
        h.vb.exec_stream(&alice, env.id, sh("sleep 30"), None)
            .await
            .unwrap();
    until_running_execs(&h, baseline + 1).await;
    drop(dropped);
    until_running_execs(&h, baseline).await;
}
