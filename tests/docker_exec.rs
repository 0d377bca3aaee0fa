//! Exec on the real Docker engine: exit codes, stdout and stderr kept apart, stdin, the
//! container user with the request's variables and directory, output capped at 1 MiB with the
//! flag, a timeout that kills the process for real, and the streaming form (killed when
//! dropped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use docker::*;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use vibebox::domain::{Environment, LogStream};
use vibebox::service::ExecRequest;

fn sh(script: &str) -> ExecRequest {
    ExecRequest::new(["sh", "-c", script])
}

/// The lines of `ps` in the environment naming a live (not zombie) `sleep 30`.
async fn live_sleep_30(d: &D, env: &Environment) -> Vec<String> {
    let (code, out) = d.exec(env, "ps -eo stat=,args=").await;
    assert_eq!(code, 0, "{out}");
    out.lines()
        .map(str::trim)
        .filter(|l| l.ends_with(" sleep 30") && !l.starts_with('Z'))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_reports_exit_codes_and_keeps_stdout_and_stderr_apart() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let ok =
        d.vb.exec(&alice, env.id, ExecRequest::new(["true"]))
            .await
            .unwrap();
    assert_eq!(ok.exit_code, Some(0));
    let r =
        d.vb.exec(&alice, env.id, sh("echo to-out; echo to-err >&2; exit 3"))
            .await
            .unwrap();
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(&r.stdout[..], b"to-out\n");
    assert_eq!(&r.stderr[..], b"to-err\n");
    assert!(!r.timed_out && !r.stdout_truncated && !r.stderr_truncated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_passes_stdin_and_runs_as_the_container_user_with_env_and_workdir() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let r =
        d.vb.exec(
            &alice,
            env.id,
            ExecRequest::new(["cat"]).with_stdin("through stdin\n"),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.exit_code, &r.stdout[..]),
        (Some(0), &b"through stdin\n"[..])
    );
    let r =
        d.vb.exec(
            &alice,
            env.id,
            sh("id -u; pwd; printenv GREETING")
                .with_env("GREETING", "hello")
                .with_workdir("/tmp"),
        )
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&r.stdout), "1000\n/tmp\nhello\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_of_output_is_cut_at_one_mib_and_flagged() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let r =
        d.vb.exec(
            &alice,
            env.id,
            sh("head -c 2097152 /dev/zero; echo done >&2"),
        )
        .await
        .unwrap();
    assert_eq!(r.exit_code, Some(0), "the process was not blocked");
    assert_eq!(r.stdout.len(), 1024 * 1024);
    assert!(r.stdout.iter().all(|b| *b == 0));
    assert!(r.stdout_truncated);
    assert_eq!((&r.stderr[..], r.stderr_truncated), (&b"done\n"[..], false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_past_its_timeout_is_killed_and_reported_timed_out() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let r =
        d.vb.exec(
            &alice,
            env.id,
            ExecRequest::new(["sleep", "30"]).with_timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    assert!(r.timed_out);
    assert_eq!(r.exit_code, Some(137), "killed by SIGKILL");
    assert!(r.duration < Duration::from_secs(30), "{:?}", r.duration);
    // The process is gone from the container (a zombie not yet reaped counts as gone).
    until_sleep_30(&d, &env, false).await;
    // `ps` does show a live one: the check above can fail.
    let s =
        d.vb.exec_stream(&alice, env.id, ExecRequest::new(["sleep", "30"]), None)
            .await
            .unwrap();
    until_sleep_30(&d, &env, true).await;
    // Dropping a streamed command kills it too.
    drop(s);
    until_sleep_30(&d, &env, false).await;
}

/// Waits (bounded) until a live `sleep 30` is, or is not, in the environment.
async fn until_sleep_30(d: &D, env: &Environment, present: bool) {
    let reached = tokio::time::timeout(WAIT, async {
        while live_sleep_30(d, env).await.is_empty() == present {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "sleep 30 present: {present} expected; ps shows {:?}",
        live_sleep_30(d, env).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_stream_round_trips_stdin_keeps_streams_apart_and_reports_the_exit() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut s =
        d.vb.exec_stream(&alice, env.id, sh("cat; echo to-err >&2; exit 4"), None)
            .await
            .unwrap();
    s.stdin.write_all(b"streamed\n").await.unwrap();
    s.stdin.shutdown().await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(chunk) = s.output.next().await {
            let chunk = chunk.unwrap();
            match chunk.stream {
                LogStream::Stdout => out.extend_from_slice(&chunk.data),
                LogStream::Stderr => err.extend_from_slice(&chunk.data),
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the output did not end");
    assert_eq!((&out[..], &err[..]), (&b"streamed\n"[..], &b"to-err\n"[..]));
    let exit = s.control.wait().await.unwrap();
    assert_eq!((exit.exit_code, exit.timed_out), (Some(4), false));
}
