//! FakeRuntime-specific behaviour: injected failures, crashes, scripted execs, terminals, and
//! the fault hooks that model Docker 20.10 (stalled and ended log follows, rotation, a
//! saturated container, an OOM-killed process).
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::io::AsyncWriteExt;
use vibebox_core::ErrorKind;
use vibebox_core::domain::LogStream;
use vibebox_core::runtime::{
    ContainerId, ContainerRuntime, ContainerState, ExecSession, ExecSpec, LogChunk, LogOptions,
    RuntimeEventKind, TerminalSize,
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

// ---------------------------------------------------------------------------------------------
// Fault hooks: what Docker 20.10 does under trouble.

fn follow() -> LogOptions {
    LogOptions {
        follow: true,
        ..LogOptions::default()
    }
}

async fn started(rt: &FakeRuntime, spec: &vibebox_core::runtime::ContainerSpec) -> ContainerId {
    let id = rt.create(spec).await.unwrap();
    rt.start(&id).await.unwrap();
    id
}

async fn next_message(stream: &mut BoxStream<'static, vibebox_core::Result<LogChunk>>) -> String {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a line in time")
        .expect("a line, not the end")
        .unwrap()
        .message
}

async fn messages(rt: &FakeRuntime, id: &ContainerId, options: LogOptions) -> Vec<String> {
    tokio::time::timeout(
        WAIT,
        rt.logs(id, options).map(|l| l.unwrap().message).collect(),
    )
    .await
    .unwrap()
}

/// Whether the stream stays pending for a while (neither a line nor its end).
async fn stays_pending<T>(stream: &mut BoxStream<'static, T>) -> bool {
    tokio::time::timeout(Duration::from_millis(150), stream.next())
        .await
        .is_err()
}

#[tokio::test]
async fn stalled_log_follow_stays_open_and_new_follows_see_every_retained_line() {
    let rt = FakeRuntime::new();
    let id = started(&rt, &fixture().spec("a")).await;
    rt.push_log(&id, LogStream::Stdout, "one\ntwo\n");
    let mut stalled = rt.logs(&id, follow());
    assert_eq!(next_message(&mut stalled).await, "one");
    assert!(rt.stall_log_follows(&id));
    rt.push_log(&id, LogStream::Stdout, "three\n");
    assert!(
        stays_pending(&mut stalled).await,
        "a stalled follow yields nothing"
    );

    let mut fresh = rt.logs(&id, follow());
    for want in ["one", "two", "three"] {
        assert_eq!(next_message(&mut fresh).await, want);
    }
    rt.push_log(&id, LogStream::Stdout, "four\n");
    assert_eq!(next_message(&mut fresh).await, "four");
    assert!(stays_pending(&mut stalled).await);

    // Even the container's stop does not end it, while the new follow ends.
    rt.stop(&id, WAIT).await.unwrap();
    assert!(
        tokio::time::timeout(WAIT, fresh.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(stays_pending(&mut stalled).await);
    assert!(!rt.stall_log_follows(&ContainerId("absent".into())));
}

#[tokio::test]
async fn stall_reaches_a_follow_opened_but_not_yet_read() {
    let rt = FakeRuntime::new();
    let id = started(&rt, &fixture().spec("a")).await;
    rt.push_log(&id, LogStream::Stdout, "one\n");
    let mut opened = rt.logs(&id, follow());
    let mut plain = rt.logs(&id, LogOptions::default());
    rt.stall_log_follows(&id);
    assert!(stays_pending(&mut opened).await);
    // A read that does not follow is not a follow: it reads and ends.
    assert_eq!(next_message(&mut plain).await, "one");
    assert!(plain.next().await.is_none());
}

#[tokio::test]
async fn ended_log_follows_end_while_the_container_keeps_running() {
    let rt = FakeRuntime::new();
    let id = started(&rt, &fixture().spec("a")).await;
    rt.push_log(&id, LogStream::Stdout, "one\n");
    let mut first = rt.logs(&id, follow());
    let mut unread = rt.logs(&id, follow());
    assert_eq!(next_message(&mut first).await, "one");
    assert!(rt.end_log_follows(&id));
    assert!(
        tokio::time::timeout(WAIT, first.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tokio::time::timeout(WAIT, unread.next())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        rt.inspect(&id).await.unwrap().state,
        ContainerState::Running
    );
    let mut again = rt.logs(&id, follow());
    assert_eq!(next_message(&mut again).await, "one");
    rt.push_log(&id, LogStream::Stderr, "two\n");
    assert_eq!(next_message(&mut again).await, "two");
    assert!(!rt.end_log_follows(&ContainerId("absent".into())));
}

#[tokio::test]
async fn a_stalled_follow_stays_stalled_when_follows_end() {
    let rt = FakeRuntime::new();
    let id = started(&rt, &fixture().spec("a")).await;
    let mut stalled = rt.logs(&id, follow());
    rt.stall_log_follows(&id);
    rt.end_log_follows(&id);
    rt.rotate_logs(&id, 0);
    assert!(stays_pending(&mut stalled).await);
}

#[tokio::test]
async fn rotated_logs_keep_only_the_last_lines_for_new_reads() {
    let rt = FakeRuntime::new();
    let id = started(&rt, &fixture().spec("a")).await;
    rt.push_log(&id, LogStream::Stdout, "1\n2\n3\n4\n5\n");
    let mut open = rt.logs(&id, follow());
    assert_eq!(next_message(&mut open).await, "1");
    assert!(rt.rotate_logs(&id, 2));
    assert_eq!(messages(&rt, &id, LogOptions::default()).await, ["4", "5"]);
    let tail = LogOptions {
        tail: Some(5),
        ..LogOptions::default()
    };
    assert_eq!(messages(&rt, &id, tail).await, ["4", "5"]);
    // The follow opened before goes on where it was, and sees new lines.
    for want in ["2", "3", "4", "5"] {
        assert_eq!(next_message(&mut open).await, want);
    }
    rt.push_log(&id, LogStream::Stdout, "6\n");
    assert_eq!(next_message(&mut open).await, "6");
    assert_eq!(
        messages(&rt, &id, LogOptions::default()).await,
        ["4", "5", "6"]
    );
    // Rotation only drops lines: a larger keep later brings nothing back.
    rt.rotate_logs(&id, 10);
    assert_eq!(messages(&rt, &id, LogOptions::default()).await.len(), 3);
    assert_eq!(rt.logs_of(&id).len(), 6, "logs_of keeps every line written");
    assert!(!rt.rotate_logs(&ContainerId("absent".into()), 1));
}

#[tokio::test]
async fn saturated_container_reports_pids_at_its_limit_and_refuses_execs() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(10));
    let mut spec = fixture().spec("a");
    spec.limits.pids_limit = 48;
    let id = started(&rt, &spec).await;
    let mut before = rt.exec(&id, &cmd(&["sleep", "3600"])).await.unwrap();
    assert!(rt.saturate(&id, true));
    let sample = rt.stats(&id).next().await.unwrap().unwrap();
    assert_eq!((sample.pids, sample.pids_limit), (Some(48), Some(48)));
    let e = rt.exec(&id, &cmd(&["true"])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(
        e.to_string()
            .contains("read init-p: connection reset by peer"),
        "{e}"
    );
    let e = rt.kill_exec(&before.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
    assert!(rt.saturate(&id, false));
    rt.exec(&id, &cmd(&["true"])).await.unwrap();
    rt.kill_exec(&before.id).await.unwrap();
    assert_eq!(output(&mut before).await, "");
}

#[tokio::test]
async fn saturated_container_still_stops_kills_and_removes_and_a_new_run_clears_it() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(10));
    let fx = fixture();
    let id = started(&rt, &fx.spec("a")).await;
    assert!(rt.saturate(&id, true));
    rt.kill(&id).await.unwrap();
    let info = rt.inspect(&id).await.unwrap();
    assert_eq!(
        (info.state, info.exit_code),
        (ContainerState::Exited, Some(137))
    );
    assert!(
        !rt.saturate(&id, true),
        "only a running container saturates"
    );
    rt.start(&id).await.unwrap();
    let sample = rt.stats(&id).next().await.unwrap().unwrap();
    assert_eq!(sample.pids, Some(1));
    rt.exec(&id, &cmd(&["true"])).await.unwrap();

    rt.saturate(&id, true);
    rt.stop(&id, WAIT).await.unwrap();
    rt.start(&id).await.unwrap();
    rt.exec(&id, &cmd(&["true"])).await.unwrap();

    rt.saturate(&id, true);
    rt.remove(&id).await.unwrap();
    assert_eq!(rt.container_count(), 0);
    assert!(!rt.saturate(&id, false));
}

#[tokio::test]
async fn oom_killed_process_emits_oom_and_the_container_keeps_running() {
    let rt = FakeRuntime::new();
    let id = rt.create(&fixture().spec("a")).await.unwrap();
    assert!(
        !rt.oom_kill_process(&id),
        "a created container has no process"
    );
    rt.start(&id).await.unwrap();
    let mut events = rt.events(&[]);
    assert!(rt.oom_kill_process(&id));
    let ev = tokio::time::timeout(WAIT, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (ev.container_id.clone(), ev.kind),
        (id.clone(), RuntimeEventKind::Oom)
    );
    let info = rt.inspect(&id).await.unwrap();
    assert_eq!(
        (info.state, info.oom_killed),
        (ContainerState::Running, false)
    );
    rt.exec(&id, &cmd(&["true"])).await.unwrap();

    // Docker 20.10 then reports the run as OOM-killed however it ends.
    rt.stop(&id, WAIT).await.unwrap();
    let info = rt.inspect(&id).await.unwrap();
    assert_eq!((info.exit_code, info.oom_killed), (Some(143), true));
    rt.start(&id).await.unwrap();
    assert!(!rt.inspect(&id).await.unwrap().oom_killed);
    rt.stop(&id, WAIT).await.unwrap();
    assert!(!rt.inspect(&id).await.unwrap().oom_killed);
}

#[tokio::test]
async fn set_pids_is_what_stats_report_until_saturated() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(10));
    let id = started(&rt, &fixture().spec("a")).await;
    assert!(rt.set_pids(&id, 7));
    let mut stats = rt.stats(&id);
    let sample = stats.next().await.unwrap().unwrap();
    assert_eq!((sample.pids, sample.pids_limit), (Some(7), Some(128)));
    rt.saturate(&id, true);
    assert_eq!(stats.next().await.unwrap().unwrap().pids, Some(128));
    rt.saturate(&id, false);
    assert_eq!(stats.next().await.unwrap().unwrap().pids, Some(7));
    assert!(!rt.set_pids(&ContainerId("absent".into()), 1));
}

#[tokio::test]
async fn a_spec_without_a_pids_limit_reports_none() {
    let rt = FakeRuntime::new().with_stats_interval(Duration::from_millis(10));
    let mut spec = fixture().spec("a");
    spec.limits.pids_limit = 0;
    let id = started(&rt, &spec).await;
    rt.saturate(&id, true);
    let sample = rt.stats(&id).next().await.unwrap().unwrap();
    assert_eq!((sample.pids, sample.pids_limit), (Some(1), None));
}
