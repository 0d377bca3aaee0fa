//! `vibebox exec`: exit codes, stdin piping, and the two output streams.

use crate::common::Cli;

/// Writes a line to the main process's stdout once its FIFO exists.
const EMIT_STORED: &str = "until [ -p /tmp/o ]; do sleep 0.05; done; echo stored-line > /tmp/o";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_exits_with_the_remote_code_and_keeps_streams_apart() {
    let cli = Cli::signed_in("quin").await;
    let env = cli.running_env("web").await;
    let run = cli
        .run(&[
            "exec",
            &env,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 7",
        ])
        .await;
    assert_eq!(run.code, 7, "{run:?}");
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
    assert_eq!(cli.run(&["exec", &env, "--", "true"]).await.code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_pipes_stdin_through_to_the_end() {
    let cli = Cli::signed_in("rae").await;
    let env = cli.running_env("web").await;
    let input: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let run = cli
        .run_with_stdin(&["exec", &env, "--", "wc", "-l"], &input)
        .await;
    assert_eq!(run.ok().trim(), "20000");
    let run = cli
        .run_with_stdin(&["exec", &env, "--", "cat"], "abc")
        .await;
    assert_eq!(run.ok(), "abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_failures_of_vibebox_itself_exit_255() {
    let cli = Cli::signed_in("sam").await;
    let env = cli.running_env("web").await;
    let run = cli.run(&["exec", &env, "--", "/no/such/program"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    cli.run(&["env", "stop", &env]).await.ok();
    let run = cli.run(&["exec", &env, "--", "true"]).await;
    assert_eq!(run.code, 255, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    let run = cli
        .run(&["exec", &env, "--timeout", "soon", "--", "true"])
        .await;
    assert_eq!(run.code, 255, "{run:?}");
    assert!(run.stderr.contains("--timeout"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_print_stored_lines_and_follow_new_ones() {
    let cli = Cli::signed_in("tia").await;
    let env = cli.running_env("web").await;
    // The main process's output is what the environment logs (see `Cli::new`).
    cli.run(&["exec", &env, "--", "sh", "-c", EMIT_STORED])
        .await
        .ok();
    let deadline = std::time::Instant::now() + crate::harness::WAIT;
    loop {
        let run = cli.run(&["logs", &env]).await;
        if run.ok().contains("stored-line") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the line was never stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut follow = cli
        .command(&["logs", &env, "-f"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    // Wait until the stored line is printed, then make a live one: the stored line must
    // show exactly once (the live socket's replay is not printed again), then the live one.
    let mut seen = Vec::new();
    while !seen.iter().any(|l| l == "stored-line") {
        let line = tokio::time::timeout(crate::harness::WAIT, lines.next_line())
            .await
            .expect("the stored line never came")
            .unwrap()
            .expect("logs -f ended");
        seen.push(line);
    }
    cli.run(&["exec", &env, "--", "sh", "-c", "echo live-line > /tmp/o"])
        .await
        .ok();
    while seen.last().map(String::as_str) != Some("live-line") {
        let line = tokio::time::timeout(crate::harness::WAIT, lines.next_line())
            .await
            .expect("the live line never came")
            .unwrap()
            .expect("logs -f ended");
        seen.push(line);
    }
    assert_eq!(
        seen.iter().filter(|l| *l == "stored-line").count(),
        1,
        "{seen:?}"
    );
    follow.kill().await.unwrap();
}
