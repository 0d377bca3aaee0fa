//! `vibebox port-forward` and `vibebox open`.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::common::Cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_carries_each_connection_to_the_port_inside() {
    let cli = Cli::signed_in("wes").await;
    let env = cli.running_env("web").await;
    // An app inside on an undeclared port: replies with what it read, upper-cased.
    cli.run(&[
        "exec",
        &env,
        "--",
        "sh",
        "-c",
        "nohup socat TCP-LISTEN:7700,reuseaddr,fork SYSTEM:'tr a-z A-Z' >/dev/null 2>&1 &",
    ])
    .await
    .ok();
    let mut forward = cli
        .command(&["port-forward", &env, "0:7700"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(forward.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(crate::harness::WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // "Forwarding 127.0.0.1:PORT -> web/dev:7700"
    let local = first
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let deadline = std::time::Instant::now() + crate::harness::WAIT;
    for round in 0..3 {
        let reply = loop {
            let mut socket = tokio::net::TcpStream::connect(&local).await.unwrap();
            socket
                .write_all(format!("hello {round}").as_bytes())
                .await
                .unwrap();
            socket.shutdown().await.unwrap();
            let mut reply = String::new();
            let _ = socket.read_to_string(&mut reply).await;
            if !reply.is_empty() {
                break reply;
            }
            // The app may still be starting: the first connections can be refused inside.
            assert!(
                std::time::Instant::now() < deadline,
                "the app never answered"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(reply, format!("HELLO {round}"));
    }
    forward.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_prints_a_one_time_preview_url() {
    let cli = Cli::signed_in("xan").await;
    let env = cli.running_env("web").await;
    let run = cli.run(&["open", &env, "8000", "--print"]).await;
    let url = run.ok().trim().to_owned();
    assert!(url.starts_with("http://8000--dev--web."), "{url}");
    assert!(
        url.contains('?'),
        "the URL carries its one-time ticket: {url}"
    );
}
