//! The `vibebox` binary against a local server (SQLite on disk, the local Docker engine), each
//! figure with its baseline from the same run (issue 15):
//!
//! - a cold `vibebox env list` (a new process each time: start, read the hosts file, one
//!   request for the environments and one for the project slugs, print): target ≤ 50 ms;
//! - `vibebox exec ENV -- true` against the HTTP exec round trip (`POST …/exec` through
//!   `vibebox-client`): target ≤ 1.3×;
//! - `vibebox port-forward` throughput against the raw tunnel (`Client::tunnel`) reading the
//!   same app (socat writing zeros): target ≥ 80 %.
//!
//! Run: `cargo bench -p vibebox-cli --bench cli` (about a minute; build with `--release`);
//! `VIBEBOX_BENCH_QUICK=1` takes few samples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../benches/common/mod.rs"]
mod common;
#[path = "../../tests/docker/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Percentiles;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use vibebox_client::{Client, Credential, ExecRequest};

const BIN: &str = env!("CARGO_BIN_EXE_vibebox");

struct Plan {
    lists: usize,
    execs: usize,
    bulk: usize,
}

fn plan() -> Plan {
    let quick = std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || !std::env::args().any(|a| a == "--bench");
    if quick {
        Plan {
            lists: 10,
            execs: 5,
            bulk: 16 << 20,
        }
    } else {
        Plan {
            lists: 100,
            execs: 50,
            bulk: 512 << 20,
        }
    }
}

fn row(what: &str, p: &Percentiles) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {what} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        p.n,
        ms(p.p50),
        ms(p.p95),
        ms(p.p99),
        ms(p.max)
    );
}

fn command(config: &std::path::Path, url: &str, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(BIN);
    c.args(args)
        .env("VIBEBOX_CONFIG_DIR", config)
        .env("VIBEBOX_URL", url)
        .env("NO_COLOR", "1")
        .env_remove("VIBEBOX_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn timed(config: &std::path::Path, url: &str, args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = command(config, url, args).output().await.unwrap();
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

/// Reads `bytes` from `stream` and returns MB/s.
async fn read_rate(mut stream: impl tokio::io::AsyncRead + Unpin, bytes: usize) -> f64 {
    let mut buf = vec![0u8; 256 * 1024];
    let t = Instant::now();
    let mut got = 0;
    while got < bytes {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the stream ended after {got} bytes");
        got += n;
    }
    got as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let plan = plan();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = harness::D::new().await;
        let actor = d.user("bencher").await;
        let (addr, _, _) = harness::serve_http(&d, &actor).await;
        let url = format!("http://{addr}");
        let config = std::env::temp_dir().join(format!("vibebox-cli-bench-{}", harness::run_id()));
        std::fs::create_dir_all(&config).unwrap();
        let mut login = command(&config, &url, &["login", "--email", "bencher@example.com"]);
        login.stdin(Stdio::piped());
        let mut child = login.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", harness::PASSWORD).as_bytes())
            .await
            .unwrap();
        drop(stdin);
        assert!(child.wait().await.unwrap().success());

        let project = d.project(&actor, "bench").await;
        for i in 0..20 {
            d.env(&actor, &project, &format!("env-{i:02}")).await;
        }
        let env = d.env(&actor, &project, "dev").await;
        let env = d.vb.start_environment(&actor, env.id).await.unwrap();

        println!("| what | n | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        // Cold list: a new process each time.
        timed(&config, &url, &["env", "list"]).await;
        let mut lists = Vec::new();
        for _ in 0..plan.lists {
            lists.push(timed(&config, &url, &["env", "list"]).await);
        }
        let lists = Percentiles::of(&lists).unwrap();
        row("`vibebox env list` (21 environments), a new process each", &lists);

        // Exec: the CLI against the HTTP exec round trip, interleaved.
        let client = Client::new(&url, Credential::None).unwrap();
        client
            .login("bencher@example.com", &SecretString::from(harness::PASSWORD))
            .await
            .unwrap();
        let target = "bench/dev".to_owned();
        let mut http = Vec::new();
        let mut cli = Vec::new();
        for i in 0..plan.execs + 2 {
            let t = Instant::now();
            let out = client.exec(env.id, &ExecRequest::new(["true"])).await.unwrap();
            let h = t.elapsed();
            assert_eq!(out.exit_code, Some(0));
            let c = timed(&config, &url, &["exec", &target, "--", "true"]).await;
            if i >= 2 {
                http.push(h);
                cli.push(c);
            }
        }
        let http = Percentiles::of(&http).unwrap();
        let cli = Percentiles::of(&cli).unwrap();
        row("exec `true`: HTTP round trip (`POST …/exec`)", &http);
        row("exec `true`: `vibebox exec ENV -- true` (new process)", &cli);

        // Throughput: the raw tunnel, then port-forward, reading the same app.
        let (code, out) = d
            .exec(
                &env,
                "nohup socat -b 131072 -u OPEN:/dev/zero TCP-LISTEN:7002,reuseaddr,fork >/dev/null 2>&1 & sleep 0.3; echo ok",
            )
            .await;
        assert_eq!(code, 0, "{out}");
        let mut forward = command(&config, &url, &["port-forward", &target, "0:7002"]);
        forward.stdout(Stdio::piped());
        let mut child = forward.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next_line().await.unwrap().unwrap();
        let local = first.split_whitespace().nth(1).unwrap().to_owned();
        // Interleaved rounds, each on a fresh connection, so a slow moment of the machine
        // does not land on one side only.
        let mut raws = Vec::new();
        let mut forwardeds = Vec::new();
        for _ in 0..5 {
            let tunnel = client.tunnel(env.id, 7002).await.unwrap();
            raws.push(read_rate(tunnel, plan.bulk).await);
            let socket = tokio::net::TcpStream::connect(&local).await.unwrap();
            forwardeds.push(read_rate(socket, plan.bulk).await);
        }
        child.kill().await.unwrap();
        println!("raw tunnel MB/s: {raws:.0?}; port-forward MB/s: {forwardeds:.0?}");
        raws.sort_by(f64::total_cmp);
        forwardeds.sort_by(f64::total_cmp);
        let (raw, forwarded) = (raws[raws.len() / 2], forwardeds[forwardeds.len() / 2]);
        println!(
            "\ncold `env list` p50 {:.1} ms (target ≤ 50); exec ratio at p50 {:.2} (target ≤ 1.30); \
             port-forward {forwarded:.0} MB/s against the raw tunnel's {raw:.0} MB/s: {:.0} % (target ≥ 80 %)\n",
            lists.p50.as_secs_f64() * 1e3,
            cli.p50.as_secs_f64() / http.p50.as_secs_f64(),
            forwarded / raw * 100.0
        );
        let _ = std::fs::remove_dir_all(&config);
    });
}
