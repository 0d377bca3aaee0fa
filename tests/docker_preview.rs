//! Preview URLs on the real engine: a Python HTTP server and a WebSocket echo inside an
//! environment, reached through the proxy with curl (as a script, and as a browser does with
//! the one-time URL the typed client asks for, and its cookie) and with a WebSocket client.
//! The ports are not declared: the proxy reaches them through the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use futures::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vibebox::domain::Environment;

/// A WebSocket echo server in Python's standard library: it answers each text message with
/// `echo: <message>`.
const WS_ECHO: &str = r#"
import base64, hashlib, socket, struct, sys
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    key = ""
    while True:
        line = f.readline().decode().strip()
        if not line:
            break
        if line.lower().startswith("sec-websocket-key:"):
            key = line.split(":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
    while True:
        h = f.read(2)
        if len(h) < 2:
            break
        op, n = h[0] & 0x0F, h[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", f.read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", f.read(8))[0]
        mask = f.read(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(n)))
        if op == 8:
            break
        reply = b"echo: " + data
        c.sendall(bytes([0x81, len(reply)]) + reply)
    c.close()
"#;

/// Runs `command` in the background in the environment and waits until `port` listens.
async fn background(d: &D, env: &Environment, port: u16, command: &str) {
    let script = format!(
        "nohup {command} >/tmp/server-{port}.log 2>&1 &
         for i in $(seq 1 200); do grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done
         cat /tmp/server-{port}.log; exit 1"
    );
    let (code, out) = d.exec(env, &script).await;
    assert_eq!(code, 0, "the server on {port} did not come up: {out}");
}

fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs (it is part of the test machine)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reaches_a_python_server_through_its_preview_url() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, project, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d
        .exec(
            &env,
            "mkdir -p /tmp/site && echo 'hello from python' > /tmp/site/index.html",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    background(
        &d,
        &env,
        8000,
        "python3 -m http.server 8000 --bind 127.0.0.1 --directory /tmp/site",
    )
    .await;
    let (front, token, _) = serve_http(&d, &alice).await;
    let origin = format!(
        "http://8000--{}--{}.vibebox.localhost:{}",
        env.slug,
        project.slug,
        front.port()
    );

    // A script, with its token.
    let body = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{origin}/"),
    ]);
    assert_eq!(body.trim(), "hello from python");
    // Nobody else: the port is private.
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{origin}/"),
    ]);
    assert_eq!(status, "401");

    // A browser: the one-time URL from the API, then its cookie.
    let opened = http_client(front, &token)
        .open_preview(env.id, 8000, None)
        .await
        .unwrap();
    assert_eq!(opened.origin, origin);
    let jar = std::env::temp_dir().join(format!("vibebox-preview-jar-{}", d.run()));
    let jar = jar.to_str().unwrap();
    let body = curl(&["-L", "-c", jar, "-b", jar, opened.url.expose_secret()]);
    assert_eq!(body.trim(), "hello from python");
    let again = curl(&["-b", jar, &format!("{origin}/index.html")]);
    assert_eq!(again.trim(), "hello from python");
    let _ = std::fs::remove_file(jar);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_inside_an_environment_passes_through_its_preview_url() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, project, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d
        .exec(
            &env,
            &format!("cat > /tmp/ws_echo.py <<'PY'\n{WS_ECHO}\nPY"),
        )
        .await;
    assert_eq!(code, 0, "{out}");
    background(&d, &env, 8001, "python3 /tmp/ws_echo.py 8001").await;
    let (front, token, _) = serve_http(&d, &alice).await;
    let host = format!(
        "8001--{}--{}.vibebox.localhost:{}",
        env.slug,
        project.slug,
        front.port()
    );
    let mut request = format!("ws://{host}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    // `*.localhost` is loopback; connect there without asking the system resolver.
    let stream = tokio::net::TcpStream::connect(front).await.unwrap();
    let (mut ws, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 101);
    for text in ["hot reload", "second message"] {
        ws.send(Message::Text(text.into())).await.unwrap();
        let reply = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        match reply {
            Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), format!("echo: {text}")),
            other => panic!("no echo: {other:?}"),
        }
    }
}
