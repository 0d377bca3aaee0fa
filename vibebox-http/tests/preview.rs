//! Preview URLs through the HTTP front, on the fake engine with published ports reachable
//! here: the "app" is a real HTTP server in this test process, reached through the port the
//! fake engine says it published. (tests/docker_preview.rs does it with real containers.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{any, get};
use common::{App, config};
use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;
use vibebox_core::runtime::Capabilities;
use vibebox_core::testing::{FakeRuntime, ScriptedExec};

/// The app: `/echo` answers what it received (method, path, headers, body length); `/big`
/// streams 4 MiB; `/ws` echoes WebSocket messages.
async fn app_server() -> SocketAddr {
    async fn echo(req: Request<Body>) -> axum::Json<Value> {
        let (parts, body) = req.into_parts();
        let len = body
            .collect()
            .await
            .map(|b| b.to_bytes().len())
            .unwrap_or(0);
        let headers: serde_json::Map<String, Value> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({
            "method": parts.method.as_str(),
            "path": parts.uri.to_string(),
            "headers": headers,
            "body_len": len,
        }))
    }
    async fn ws(upgrade: WebSocketUpgrade) -> axum::response::Response {
        upgrade.on_upgrade(|mut socket| async move {
            while let Some(Ok(msg)) = socket.recv().await {
                if let AxumMessage::Text(t) = msg {
                    let _ = socket
                        .send(AxumMessage::Text(format!("echo: {t}").into()))
                        .await;
                }
            }
        })
    }
    let router = axum::Router::new()
        .route("/echo", any(echo))
        .route("/big", get(|| async { vec![7u8; 4 * 1024 * 1024] }))
        .route("/ws", get(ws));
    common::serve(router).await
}

/// An app on a fake engine whose published ports are reachable here.
fn preview_app() -> App {
    App::with_runtime(
        config(),
        FakeRuntime::new().with_capabilities(Capabilities {
            storage_limit: false,
            kill_exec: true,
            stats: true,
            local_ports: true,
            pause: true,
        }),
    )
}

/// Declares port 8080 of the environment published on `host_port` (the app server's), with
/// a share level, and starts the environment.
async fn publish(app: &App, env: &str, token: &str, host_port: u16, share: &str) -> String {
    let port = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/ports"),
            token,
            Some(json!({"container_port": 8080, "host_port": host_port})),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.body);
    let port_id = port.body["id"].as_str().unwrap().to_string();
    set_share(app, env, &port_id, token, share).await;
    let r = app.start(env, token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    port_id
}

async fn set_share(app: &App, env: &str, port_id: &str, token: &str, share: &str) {
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/environments/{env}/ports/{port_id}"),
            token,
            Some(json!({"share_level": share})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A request to a preview host, through the router in process.
async fn preview(
    app: &App,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut r = Request::get(path).header("host", host);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let response = app
        .router
        .clone()
        .oneshot(r.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

const HOST: &str = "8080--dev--alpha.vibebox.localhost:3000";

#[tokio::test]
async fn an_open_url_sets_a_host_only_cookie_once_and_the_cookie_opens_only_its_host() {
    let upstream = app_server().await;
    let app = preview_app();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    publish(&app, &env, &alice, upstream.port(), "private").await;

    let open = app
        .send(
            Request::post(format!(
                "/api/v1/environments/{env}/ports/8080/open?path=/echo%3Fx%3D1"
            ))
            .header("host", "127.0.0.1:3000")
            .header("authorization", format!("Bearer {alice}"))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(open.status, StatusCode::CREATED, "{}", open.body);
    assert_eq!(open.body["origin"], format!("http://{HOST}"));
    assert_eq!(open.body["expires_in"], 60);
    let url: axum::http::Uri = open.body["url"].as_str().unwrap().parse().unwrap();
    assert_eq!(url.host(), Some("8080--dev--alpha.vibebox.localhost"));
    let path = url.path_and_query().unwrap().as_str().to_string();

    let (status, headers, _) = preview(&app, HOST, &path, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/echo?x=1");
    let cookie = headers["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Domain") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();

    // The ticket is spent.
    let (status, _, _) = preview(&app, HOST, &path, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The cookie opens the app, and the app never sees it; the app's own cookies go through.
    let with_cookie = format!("theme=dark; {session}");
    let (status, _, body) = preview(&app, HOST, "/echo?x=1", &[("cookie", &with_cookie)]).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let seen: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["path"], "/echo?x=1");
    assert_eq!(seen["headers"]["cookie"], "theme=dark");
    assert_eq!(seen["headers"]["x-forwarded-host"], HOST);
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");

    // Not on another preview host, and never on the API.
    let (status, _, _) = preview(
        &app,
        "8081--dev--alpha.vibebox.localhost:3000",
        "/",
        &[("cookie", &session)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let api = app
        .send(
            Request::get("/api/v1/users/me")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn share_levels_decide_who_opens_a_preview() {
    let upstream = app_server().await;
    let app = preview_app();
    let admin = app.signed_in("admin").await;
    let owner = app.signed_in("owner").await;
    let teammate = app.signed_in("teammate").await;
    let viewer = app.signed_in("viewer").await;
    let other = app.signed_in("other").await;
    let team_id = app
        .team(
            &admin,
            "core",
            &[
                ("owner", "developer"),
                ("teammate", "developer"),
                ("viewer", "viewer"),
            ],
        )
        .await;
    let project = app
        .call(
            "POST",
            "/api/v1/projects",
            &admin,
            Some(json!({"name": "Alpha", "slug": "alpha", "team_id": team_id})),
        )
        .await;
    let project_id = project.body["id"].as_str().unwrap().to_string();
    let env = app
        .call(
            "POST",
            "/api/v1/environments",
            &owner,
            Some(
                json!({"project_id": project_id, "name": "Dev", "slug": "dev",
                        "base_image": "vibebox/base:bookworm"}),
            ),
        )
        .await;
    let env = env.body["id"].as_str().unwrap().to_string();
    let port_id = publish(&app, &env, &owner, upstream.port(), "private").await;

    let who: [(&str, Option<&str>); 5] = [
        ("owner", Some(&owner)),
        ("team developer", Some(&teammate)),
        ("team viewer", Some(&viewer)),
        ("other user", Some(&other)),
        ("anonymous", None),
    ];
    // 200 allowed; 401 asked to sign in; 404 refused without saying the app exists.
    let table: [(&str, [u16; 5]); 4] = [
        ("private", [200, 404, 404, 404, 401]),
        ("team", [200, 200, 200, 404, 401]),
        ("authenticated", [200, 200, 200, 200, 401]),
        ("public", [200, 200, 200, 200, 200]),
    ];
    for (level, expected) in table {
        set_share(&app, &env, &port_id, &owner, level).await;
        for ((name, token), want) in who.iter().zip(expected) {
            let auth = token.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> = auth
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            let (status, _, body) = preview(&app, HOST, "/echo", &headers).await;
            assert_eq!(
                status.as_u16(),
                want,
                "{level} × {name}: {}",
                String::from_utf8_lossy(&body)
            );
            if want == 200 {
                let seen: Value = serde_json::from_slice(&body).unwrap();
                assert!(
                    seen["headers"]["authorization"].is_null(),
                    "{level} × {name}: the token reached the app"
                );
            }
        }
    }
}

#[tokio::test]
async fn bodies_stream_both_ways_and_websockets_pass_through() {
    let upstream = app_server().await;
    let app = preview_app();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    publish(&app, &env, &alice, upstream.port(), "authenticated").await;

    // 8 MiB up, 4 MiB down.
    let response = app
        .router
        .clone()
        .oneshot(
            Request::post("/echo")
                .header("host", HOST)
                .header("authorization", format!("Bearer {alice}"))
                .body(Body::from(vec![1u8; 8 * 1024 * 1024]))
                .unwrap(),
        )
        .await
        .unwrap();
    let seen: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(seen["body_len"], 8 * 1024 * 1024);
    assert_eq!(seen["method"], "POST");
    let (status, _, body) = preview(
        &app,
        HOST,
        "/big",
        &[("authorization", &format!("Bearer {alice}"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), 4 * 1024 * 1024);

    // A WebSocket through the served front, and the client address forwarded.
    let front = app.serve().await;
    let mut request = format!("ws://{front}/ws").into_client_request().unwrap();
    request.headers_mut().insert(
        "host",
        format!("8080--dev--alpha.vibebox.localhost:{}", front.port())
            .parse()
            .unwrap(),
    );
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {alice}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text("hot reload".into())).await.unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .unwrap();
    match reply {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "echo: hot reload"),
        other => panic!("no echo: {other:?}"),
    }
    ws.close(None).await.unwrap();

    let mut stream = tokio::net::TcpStream::connect(front).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET /echo HTTP/1.1\r\nhost: 8080--dev--alpha.vibebox.localhost:{}\r\nauthorization: Bearer {alice}\r\nx-forwarded-for: 6.6.6.6\r\nconnection: close\r\n\r\n",
        front.port()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    let json_start = raw.find('{').unwrap();
    let seen: Value =
        serde_json::from_str(raw[json_start..].trim_end_matches(|c: char| c != '}')).unwrap();
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn an_app_that_is_down_gets_a_502_page_and_other_hosts_never_reach_the_api() {
    let app = preview_app();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    // Published on a port nothing listens on; the engine path is refused too.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    publish(&app, &env, &alice, closed_port, "public").await;
    app.runtime.script_exec(
        "vibebox-tunnel",
        ScriptedExec::fail(
            1,
            "socat E connect(5, AF=2 127.0.0.1:8080, 16): Connection refused\n",
        ),
    );
    let (status, headers, body) = preview(&app, HOST, "/", &[]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.contains("port 8080") && page.contains("connection refused"),
        "{page}"
    );

    // Under the preview domain, nothing is the API's, whatever the path.
    for host in [
        "nonsense.vibebox.localhost:3000",
        "8080--dev.vibebox.localhost",
    ] {
        let (status, headers, _) = preview(&app, host, "/api/v1/openapi.json", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{host}"
        );
    }
    // And a stopped environment's app is not served.
    let r = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/stop"),
            &alice,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (status, _, body) = preview(&app, HOST, "/", &[]).await;
    assert_eq!(
        status,
        StatusCode::BAD_GATEWAY,
        "{}",
        String::from_utf8_lossy(&body)
    );
}
