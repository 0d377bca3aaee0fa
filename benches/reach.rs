//! Reach benchmarks on the real Docker engine (issue 14), each with its raw baseline from the
//! same run:
//!
//! - exec round trip of `true` through `Vibebox::exec` against a raw bollard exec (create,
//!   start, read to the end, inspect) of the same command (target: ≤ 1.2× at p50);
//! - a TCP tunnel through the engine (`connect_port` to an undeclared port, socat relay):
//!   64-byte echo round trips (target: p99 ≤ 2 ms) and one-way throughput up and down
//!   (target: ≥ 200 MB/s);
//! - the preview proxy on a keep-alive connection: GETs of a small page from Python's
//!   `http.server` (HTTP/1.1) through the preview URL against the same GETs to the port the
//!   engine published (target: p99 ≤ 2 ms above it).
//!
//! Run: `cargo bench --bench reach` (about a minute); `VIBEBOX_BENCH_QUICK=1` (or no `--bench`
//! argument) takes few samples, to check that it works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/engine.rs"]
mod engine;
#[path = "../tests/docker/mod.rs"]
mod harness;

use std::time::Instant;

use bollard::Docker;
use common::{Percentiles, ms, row};
use engine::raw_exec_true;
use harness::{D, container, serve_http};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox::domain::Environment;
use vibebox::rbac::Actor;
use vibebox::service::{ExecRequest, NewPort};
use vibebox::store::PageRequest;

struct Plan {
    execs: usize,
    echoes: usize,
    bulk_bytes: usize,
    gets: usize,
}

fn plan() -> Plan {
    let quick = std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || !std::env::args().any(|a| a == "--bench");
    if quick {
        Plan {
            execs: 10,
            echoes: 200,
            bulk_bytes: 16 << 20,
            gets: 200,
        }
    } else {
        Plan {
            execs: 200,
            echoes: 5_000,
            bulk_bytes: 1 << 30,
            gets: 5_000,
        }
    }
}

/// Runs a command in the background in the environment and waits until `port` listens.
async fn background(d: &D, env: &Environment, port: u16, command: &str) {
    let script = format!(
        "nohup {command} >/dev/null 2>&1 &
         for i in $(seq 1 200); do grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1"
    );
    let (code, out) = d.exec(env, &script).await;
    assert_eq!(code, 0, "{command}: {out}");
}

async fn exec_round_trip(d: &D, actor: &Actor, env: &Environment, n: usize) {
    let docker = engine::docker().await;
    let id = container(env);
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    for i in 0..n + 5 {
        let t = Instant::now();
        raw_exec_true(&docker, id.as_str(), d.config.container_user.clone()).await;
        let raw_took = t.elapsed();
        let t = Instant::now();
        let result =
            d.vb.exec(actor, env.id, ExecRequest::new(["true"]))
                .await
                .unwrap();
        let our_took = t.elapsed();
        assert_eq!(result.exit_code, Some(0));
        if i >= 5 {
            raw.push(raw_took);
            ours.push(our_took);
        }
    }
    let (raw, ours) = (
        Percentiles::of(&raw).unwrap(),
        Percentiles::of(&ours).unwrap(),
    );
    row("exec `true`: raw bollard", &raw);
    row("exec `true`: Vibebox::exec", &ours);
    println!(
        "\nexec ratio at p50: {:.2} (target ≤ 1.20)\n",
        ours.p50.as_secs_f64() / raw.p50.as_secs_f64()
    );
}

async fn tunnel(d: &D, actor: &Actor, env: &Environment, plan: &Plan) {
    background(
        d,
        env,
        7000,
        "socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat",
    )
    .await;
    background(
        d,
        env,
        7001,
        "socat -b 131072 -u TCP-LISTEN:7001,reuseaddr,fork OPEN:/dev/null",
    )
    .await;
    background(
        d,
        env,
        7002,
        "socat -b 131072 -u OPEN:/dev/zero TCP-LISTEN:7002,reuseaddr,fork",
    )
    .await;
    let mut echo = d.vb.connect_port(actor, env.id, 7000).await.unwrap();
    let message = [42u8; 64];
    let mut back = [0u8; 64];
    let mut samples = Vec::new();
    for i in 0..plan.echoes + 50 {
        let t = Instant::now();
        echo.write_all(&message).await.unwrap();
        echo.read_exact(&mut back).await.unwrap();
        if i >= 50 {
            samples.push(t.elapsed());
        }
    }
    row(
        "tunnel echo, 64 bytes (engine path)",
        &Percentiles::of(&samples).unwrap(),
    );

    let mut up = d.vb.connect_port(actor, env.id, 7001).await.unwrap();
    let chunk = vec![7u8; 256 * 1024];
    let t = Instant::now();
    let mut sent = 0;
    while sent < plan.bulk_bytes {
        up.write_all(&chunk).await.unwrap();
        sent += chunk.len();
    }
    up.shutdown().await.unwrap();
    let mut rest = Vec::new();
    up.read_to_end(&mut rest).await.unwrap();
    let up_rate = sent as f64 / t.elapsed().as_secs_f64() / 1e6;

    let down = d.vb.connect_port(actor, env.id, 7002).await.unwrap();
    let down_rate = read_rate(down, plan.bulk_bytes).await;
    let docker = Docker::connect_with_defaults().unwrap();
    let inspected = docker
        .inspect_container(&container(env).0, None)
        .await
        .unwrap();
    let address = inspected
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.into_values().find_map(|e| e.ip_address))
        .filter(|ip| !ip.is_empty())
        .expect("the container has an address");
    let raw = tokio::net::TcpStream::connect((address.as_str(), 7002))
        .await
        .unwrap();
    let raw_rate = read_rate(raw, plan.bulk_bytes).await;
    println!(
        "\ntunnel throughput ({} MiB each way): up {up_rate:.0} MB/s, down {down_rate:.0} MB/s (target ≥ 200); \
         the app's port read straight from its container address: {raw_rate:.0} MB/s\n",
        plan.bulk_bytes >> 20
    );
}

/// Reads `bytes` from `stream` (an app that writes zeros for ever) and returns MB/s.
async fn read_rate(mut stream: impl tokio::io::AsyncRead + Unpin, bytes: usize) -> f64 {
    let t = Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < bytes {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the app's stream ended after {got} bytes");
        got += n;
    }
    got as f64 / t.elapsed().as_secs_f64() / 1e6
}

async fn get_all(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Empty<bytes::Bytes>,
    >,
    uri: &str,
    host: Option<&str>,
    auth: Option<&str>,
    n: usize,
) -> Percentiles {
    let mut samples = Vec::new();
    for i in 0..n + 50 {
        let mut request = hyper::Request::get(uri);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let request = request.body(http_body_util::Empty::new()).unwrap();
        let t = Instant::now();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
        if i >= 50 {
            samples.push(t.elapsed());
        }
    }
    Percentiles::of(&samples).unwrap()
}

async fn proxy(d: &D, actor: &Actor, plan: &Plan) {
    let project = d.project(actor, "proxy-bench").await;
    let env = d.env(actor, &project, "web").await;
    d.vb.add_port(
        actor,
        env.id,
        NewPort {
            container_port: 8000,
            host_port: None,
            protocol: Some(vibebox::domain::Protocol::Tcp),
        },
    )
    .await
    .unwrap();
    let env = d.vb.start_environment(actor, env.id).await.unwrap();
    let (code, out) = d
        .exec(
            &env,
            "mkdir -p /tmp/site && echo hello > /tmp/site/index.html",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    background(
        d,
        &env,
        8000,
        "python3 -c 'import http.server as h, functools; h.SimpleHTTPRequestHandler.protocol_version = \"HTTP/1.1\"; h.SimpleHTTPRequestHandler.disable_nagle_algorithm = True; h.ThreadingHTTPServer((\"0.0.0.0\", 8000), functools.partial(h.SimpleHTTPRequestHandler, directory=\"/tmp/site\")).serve_forever()'",
    )
    .await;
    let bound =
        d.vb.list_ports(actor, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|p| p.container_port == 8000)
            .and_then(|p| p.bound_host_port)
            .unwrap();
    let (front, token, _) = serve_http(d, actor).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let direct = get_all(
        &client,
        &format!("http://127.0.0.1:{bound}/index.html"),
        None,
        None,
        plan.gets,
    )
    .await;
    let host = format!("8000--web--proxy-bench.vibebox.localhost:{}", front.port());
    let proxied = get_all(
        &client,
        &format!("http://127.0.0.1:{}/index.html", front.port()),
        Some(&host),
        Some(&format!("Bearer {token}")),
        plan.gets,
    )
    .await;
    row("GET through the published port (direct)", &direct);
    row("GET through the preview URL (keep-alive)", &proxied);
    println!(
        "\npreview overhead at p99: {:.3} ms, at p50: {:.3} ms (target ≤ 2 ms at p99)\n",
        ms(proxied.p99.saturating_sub(direct.p99)),
        ms(proxied.p50.saturating_sub(direct.p50))
    );
}

fn main() {
    let plan = plan();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let d = rt.block_on(D::with(|c| c.default_sessions = Vec::new()));
    let actor = rt.block_on(d.user("bencher"));
    let (_, env) = rt.block_on(async {
        let project = d.project(&actor, "reach-bench").await;
        let env = d.env(&actor, &project, "dev").await;
        (
            project,
            d.vb.start_environment(&actor, env.id).await.unwrap(),
        )
    });
    println!("| what | n | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    rt.block_on(exec_round_trip(&d, &actor, &env, plan.execs));
    rt.block_on(tunnel(&d, &actor, &env, &plan));
    rt.block_on(proxy(&d, &actor, &plan));
}
