//! FakeRuntime-specific behaviour: injected failures, crashes, scripted execs, terminals.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use vibebox_core::ErrorKind;
use vibebox_core::domain::LogStream;
use vibebox_core::runtime::{
    ContainerRuntime, ContainerState, ExecSession, ExecSpec, LogOptions, RuntimeEventKind,
    TerminalSize,
};
use vibebox_core::testing::runtime_checks::RuntimeFixture;
use vibebox_core::testing::{FakeFailure, FakeRuntime, ScriptedExec};

const WAIT: Duration = Duration::from_secs(5);

fn fixture() -> RuntimeFixture {
    RuntimeFixture::new("vibebox/base:bookworm")
}

async fn output(session: &mut ExecSession) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(chunk) = session.output.next().await {
            out.extend_from_slice(&chunk.unwrap().data);
        }
    })
    .await
    .expect("exec output ended");
    String::from_utf8_lossy(&out).into_owned()
}

fn cmd(args: &[&str]) -> ExecSpec {
    ExecSpec {
        cmd: args.iter().map(|s| s.to_string()).collect(),
        ..ExecSpec::default()
    }
}

#[tokio::test]
async fn fail_next_fails_only_the_next_call_of_that_operation() {
    let rt = FakeRuntime::new();
    let fx = fixture();
    rt.fail_next(FakeFailure::Create);
    let e = rt.create(&fx.spec("a")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.to_string().contains("injected create failure"), "{e}");
    assert_eq!(rt.container_count(), 0);
    let id = rt.create(&fx.spec("a")).await.unwrap();

    rt.fail_next(FakeFailure::Start);
    assert_eq!(rt.start(&id).await.unwrap_err().kind(), ErrorKind::Internal);
    assert_eq!(
        rt.inspect(&id).await.unwrap().state,
        ContainerState::Created
    );
    rt.start(&id).await.unwrap();

    rt.fail_next(FakeFailure::Exec);
    assert_eq!(
        rt.exec(&id, &cmd(&["true"])).await.unwrap_err().kind(),
        ErrorKind::Internal
    );
    rt.exec(&id, &cmd(&["true"])).await.unwrap();

    rt.fail_next(FakeFailure::Stop);
    assert_eq!(
        rt.stop(&id, WAIT).await.unwrap_err().kind(),
        ErrorKind::Internal
    );
    assert_eq!(
        rt.inspect(&id).await.unwrap().state,
        ContainerState::Running
    );
    rt.stop(&id, WAIT).await.unwrap();
}

#[tokio::test]
async fn unavailable_engine_fails_every_call_and_streams() {
    let rt = FakeRuntime::new();
    let fx = fixture();
    let id = rt.create(&fx.spec("a")).await.unwrap();
    let mut events = rt.events(&[]);
    rt.set_unavailable(true);
    for e in [
        rt.ping().await.unwrap_err(),
        rt.create(&fx.spec("b")).await.unwrap_err(),
        rt.start(&id).await.unwrap_err(),
        rt.inspect(&id).await.unwrap_err(),
        rt.list(&[]).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("container engine"), "{e}");
    }
    let first = tokio::time::timeout(WAIT, events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unwrap_err().kind(), ErrorKind::Unavailable);
    assert!(
        tokio::time::timeout(WAIT, events.next())
            .await
            .unwrap()
            .is_none()
    );
    let logs: Vec<_> = rt.logs(&id, LogOptions::default()).collect().await;
    assert_eq!(logs.len(), 1);
    assert!(logs[0].is_err());
    rt.set_unavailable(false);
    rt.ping().await.unwrap();
}

#[tokio::test]
async fn absent_image_message_matches_the_docker_adapter() {
    let rt = FakeRuntime::new();
    let mut spec = fixture().spec("a");
    spec.image = "vibebox/custom:1".into();
    let e = rt.create(&spec).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "image vibebox/custom:1 is not present and could not be pulled"
    );
    rt.add_image("vibebox/custom:1");
    assert!(rt.image_present("vibebox/custom:1").await.unwrap());
    rt.create(&spec).await.unwrap();
    rt.remove_image("vibebox/custom:1");
    assert!(!rt.image_present("vibebox/custom:1").await.unwrap());
}

#[tokio::test]
async fn crash_ends_the_container_and_its_streams() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(20));
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    let mut events = rt.events(&[]);
    rt.start(&id).await.unwrap();
    rt.push_log(&id, LogStream::Stdout, "line one\nline two\n");
    let mut follow = rt.logs(
        &id,
        LogOptions {
            follow: true,
            ..Default::default()
        },
    );
    let mut stats = rt.stats(&id);
    assert!(stats.next().await.unwrap().is_ok());
    assert!(rt.crash(&id, 2));
    let lines: Vec<String> =
        tokio::time::timeout(WAIT, follow.by_ref().map(|l| l.unwrap().message).collect())
            .await
            .unwrap();
    assert_eq!(lines, ["line one", "line two"]);
    tokio::time::timeout(WAIT, async { while stats.next().await.is_some() {} })
        .await
        .unwrap();
    let info = rt.inspect(&id).await.unwrap();
    assert_eq!(
        (info.state, info.exit_code, info.oom_killed),
        (ContainerState::Exited, Some(2), false)
    );
    let kinds: Vec<RuntimeEventKind> = events
        .by_ref()
        .take(2)
        .map(|e| e.unwrap().kind)
        .collect()
        .await;
    assert_eq!(
        kinds,
        [
            RuntimeEventKind::Start,
            RuntimeEventKind::Die { exit_code: Some(2) }
        ]
    );
    assert!(!rt.crash(&id, 2), "an exited container cannot crash again");
}

#[tokio::test]
async fn oom_kill_sets_oom_killed_and_emits_oom_then_die() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    rt.start(&id).await.unwrap();
    let mut events = rt.events(&[]);
    assert!(rt.oom_kill(&id));
    let info = rt.inspect(&id).await.unwrap();
    assert!(info.oom_killed);
    assert_eq!(info.exit_code, Some(137));
    let kinds: Vec<RuntimeEventKind> = events
        .by_ref()
        .take(2)
        .map(|e| e.unwrap().kind)
        .collect()
        .await;
    assert_eq!(
        kinds,
        [
            RuntimeEventKind::Oom,
            RuntimeEventKind::Die {
                exit_code: Some(137)
            }
        ]
    );
}

#[tokio::test]
async fn behind_back_kill_and_remove_are_seen_by_inspect() {
    let rt = FakeRuntime::new();
    let fx = fixture();
    let a = rt.create(&fx.spec("a")).await.unwrap();
    let b = rt.create(&fx.spec("b")).await.unwrap();
    rt.start(&a).await.unwrap();
    rt.start(&b).await.unwrap();
    assert!(rt.kill_behind_back(&a));
    assert_eq!(rt.inspect(&a).await.unwrap().exit_code, Some(137));
    assert!(rt.remove_behind_back(&b));
    assert_eq!(
        rt.inspect(&b).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(rt.container_count(), 1);
    assert_eq!(rt.id_by_name(&fx.spec("a").name), Some(a));
}

#[tokio::test]
async fn scripted_exec_answers_with_output_and_exit_code() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    rt.start(&id).await.unwrap();
    rt.script_exec(
        "code-server --install-extension",
        ScriptedExec::succeed("installed\n"),
    );
    rt.script_exec(
        "code-server --install-extension broken.ext",
        ScriptedExec::fail(1, "extension not found\n"),
    );
    let mut ok = rt
        .exec(
            &id,
            &cmd(&["code-server", "--install-extension", "good.ext"]),
        )
        .await
        .unwrap();
    assert_eq!(output(&mut ok).await, "installed\n");
    assert_eq!(rt.inspect_exec(&ok.id).await.unwrap().exit_code, Some(0));
    let mut bad = rt
        .exec(
            &id,
            &cmd(&["sh", "-c", "code-server --install-extension broken.ext"]),
        )
        .await
        .unwrap();
    assert_eq!(output(&mut bad).await, "extension not found\n");
    assert_eq!(rt.inspect_exec(&bad.id).await.unwrap().exit_code, Some(1));
    let history = rt.exec_history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].spec.cmd[0], "code-server");
    assert_eq!(history[0].container_id, id);
}

#[tokio::test]
async fn unknown_commands_are_not_found_with_127() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    rt.start(&id).await.unwrap();
    let mut s = rt.exec(&id, &cmd(&["no-such-tool", "x"])).await.unwrap();
    assert_eq!(output(&mut s).await, "sh: no-such-tool: not found\n");
    assert_eq!(rt.inspect_exec(&s.id).await.unwrap().exit_code, Some(127));
}

#[tokio::test]
async fn tmux_terminal_echoes_input_and_runs_lines() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    rt.start(&id).await.unwrap();
    let spec = ExecSpec {
        cmd: ["tmux", "new-session", "-A", "-s", "main"]
            .map(String::from)
            .to_vec(),
        stdin: true,
        tty: Some(TerminalSize { cols: 80, rows: 24 }),
        ..ExecSpec::default()
    };
    let mut s = rt.exec(&id, &spec).await.unwrap();
    rt.resize_exec(
        &s.id,
        TerminalSize {
            cols: 132,
            rows: 50,
        },
    )
    .await
    .unwrap();
    s.input
        .write_all(b"echo hi\rstty size\r\x04")
        .await
        .unwrap();
    let out = output(&mut s).await;
    assert_eq!(out, "echo hi\r\nhi\r\nstty size\r\n50 132\r\n");
    let info = rt.inspect_exec(&s.id).await.unwrap();
    assert!(!info.running);
    assert_eq!(info.exit_code, Some(0));
    assert_eq!(rt.running_exec_count(), 0);
}

#[tokio::test]
async fn spec_of_returns_what_was_passed_and_stats_use_its_memory() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(10));
    let mut spec = fixture().spec("a");
    spec.limits.memory_bytes = 1024 * 1024;
    let id = rt.create(&spec).await.unwrap();
    let got = rt.spec_of(&id).unwrap();
    assert_eq!(got.limits, spec.limits);
    assert_eq!(got.labels, spec.labels);
    assert_eq!(got.hardening, spec.hardening);
    rt.start(&id).await.unwrap();
    rt.set_usage(&id, 50.0, 512 * 1024);
    let sample = rt.stats(&id).next().await.unwrap().unwrap();
    assert_eq!(sample.memory_bytes, 512 * 1024);
    assert_eq!(sample.memory_limit_bytes, 1024 * 1024);
    assert_eq!(sample.cpu_percent, 50.0);
}

#[tokio::test]
async fn kill_exec_reports_137_at_once() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    rt.start(&id).await.unwrap();
    let mut s = rt.exec(&id, &cmd(&["sleep", "3600"])).await.unwrap();
    assert_eq!(rt.running_exec_count(), 1);
    rt.kill_exec(&s.id).await.unwrap();
    let info = rt.inspect_exec(&s.id).await.unwrap();
    assert_eq!((info.running, info.exit_code), (false, Some(137)));
    assert_eq!(output(&mut s).await, "");
}
