//! WebSocket control frames: the JSON text frames (and binary frames) clients send to the
//! terminal, exec and tunnel sockets, sent by a real client (tokio-tungstenite) to the real
//! router served on a local port, on FakeRuntime. The decoders are private to
//! `vibebox-http/src/ws/`, so they are fuzzed through the sockets.
//!
//! Each case opens a socket, sends a few frames (valid, bent, structurally mutated, garbage),
//! then a ping. The oracle: no panic anywhere in the server; the socket either stays open (the
//! ping is answered) or ends the documented way (an exit frame then a normal close, 1008 after
//! a refused start, 1002 for bytes after a tunnel's `eof`), never 1011 or a dropped
//! connection; every frame that cannot be valid is answered with an error frame, and no more
//! errors come than frames sent; error codes are never a server error's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use futures::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use vibebox_core::runtime::Capabilities;
use vibebox_core::testing::FakeRuntime;

use crate::common::App;
use crate::harness::{apply_all, edit, fuzz, no_panic_since, panics};
use crate::json_mutation::{any_json, json_edit, mutate};
use crate::{fuzz_config, runtime};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a case waits for the server before calling it stuck.
const WAIT: Duration = Duration::from_secs(10);
const PING: &[u8] = b"fuzz-ping";
/// Problem codes of server errors: never the answer to a client's frame.
const SERVER_ERROR_CODES: &[&str] = &["internal", "unavailable", "timeout", "unsupported"];

/// A served app with a running environment, a shell session `sh`, and port 8080 published on
/// a local echo server (for the tunnel).
struct Fixture {
    addr: SocketAddr,
    token: String,
    env: String,
    _app: App,
}

/// A local TCP server that echoes each connection until its end of input.
async fn echo_app() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.into_split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    port
}

/// Serves the router on 127.0.0.1 with `TCP_NODELAY`, as the example server does (without
/// it, small frames wait on delayed acknowledgements, some 40 ms each).
async fn serve(router: axum::Router) -> SocketAddr {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

impl Fixture {
    async fn new() -> Self {
        crate::harness::count_panics();
        let echo = echo_app().await;
        let app = App::with_runtime(
            fuzz_config(),
            FakeRuntime::new().with_capabilities(Capabilities {
                storage_limit: false,
                kill_exec: true,
                stats: true,
                local_ports: true,
                pause: true,
            }),
        );
        let token = app.signed_in("alice").await;
        let (_, env) = app.project_with_env(&token).await;
        let base = format!("/api/v1/environments/{env}");
        let port = app
            .call(
                "POST",
                &format!("{base}/ports"),
                &token,
                Some(json!({"container_port": 8080, "host_port": echo})),
            )
            .await;
        assert_eq!(port.status, StatusCode::CREATED, "{}", port.body);
        assert_eq!(app.start(&env, &token).await.status, StatusCode::OK);
        let session = app
            .call(
                "POST",
                &format!("{base}/sessions"),
                &token,
                Some(json!({"session_type": "shell", "session_name": "sh"})),
            )
            .await;
        assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
        let addr = serve(app.router.clone()).await;
        Self {
            addr,
            token,
            env,
            _app: app,
        }
    }

    /// Opens a socket; `Err(status)` when the upgrade is refused.
    async fn connect(&self, path: &str) -> Result<Socket, TestCaseError> {
        let mut request = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            format!("vibebox.v1, bearer.{}", self.token)
                .parse()
                .unwrap(),
        );
        match tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async_with_config(request, None, true),
        )
        .await
        {
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(e)) => Err(TestCaseError::fail(format!(
                "{path}: the upgrade failed: {e}"
            ))),
            Err(_) => Err(TestCaseError::fail(format!("{path}: the upgrade hung"))),
        }
    }
}

/// A frame a client sends, and what the protocol makes of it.
#[derive(Clone, Debug)]
enum Frame {
    /// A text frame; `bad` when it cannot be a valid control frame of the socket.
    Text {
        text: String,
        bad: bool,
    },
    Binary(Vec<u8>),
}

impl Frame {
    fn text(value: &Value, bad: bool) -> Self {
        Frame::Text {
            text: value.to_string(),
            bad,
        }
    }

    fn message(&self) -> Message {
        match self {
            Frame::Text { text, .. } => Message::text(text.clone()),
            Frame::Binary(b) => Message::binary(b.clone()),
        }
    }

    fn is_bad(&self) -> bool {
        matches!(self, Frame::Text { bad: true, .. })
    }

    /// Whether the frame may end what runs behind the socket (a valid text frame, or bytes,
    /// holding one of `enders`). The server then closes, and frames the client still sends
    /// meet a closed connection: the reset may drop the exit and close frames before the
    /// client reads them.
    fn may_end(&self, enders: &[&str]) -> bool {
        match self {
            Frame::Text { text, bad: false } => enders.iter().any(|e| text.contains(e)),
            Frame::Text { bad: true, .. } => false,
            Frame::Binary(bytes) => enders
                .iter()
                .any(|e| bytes.windows(e.len()).any(|w| w == e.as_bytes())),
        }
    }
}

/// Numbers a terminal size cannot be (`u16` from 1).
fn bad_size() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(0),
        json!(-1),
        json!(65_536),
        json!(1.5),
        json!("80"),
        json!(null),
        json!(true),
        json!([80]),
        json!(i64::MAX),
    ])
}

/// Control frames for a socket whose valid `type`s are `valid` (their documents in `seeds`).
fn control_frame(
    valid: &'static [&'static str],
    seeds: Vec<Value>,
) -> impl Strategy<Value = Frame> {
    let mutated = (
        prop::sample::select(seeds.clone()),
        proptest::collection::vec(json_edit(), 1..3),
    )
        .prop_map(|(seed, edits)| Frame::text(&mutate(&seed, &edits), false));
    let edited = (
        prop::sample::select(seeds.clone()),
        proptest::collection::vec(edit(), 1..3),
    )
        .prop_map(|(seed, edits)| Frame::Text {
            text: apply_all(&seed.to_string(), &edits),
            bad: false,
        });
    let unknown_type = prop_oneof![
        prop::sample::select(vec![
            "kill", "eof", "start", "resize", "input", "Resize", "", "input ", "exit", "error"
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,10}",
    ]
    .prop_map(move |t| {
        // A bare `{"type": t}`: refused unless `t` is the socket's and needs no other field.
        let needs_fields = ["resize", "input", "start"].contains(&t.as_str());
        let bad = !valid.contains(&t.as_str()) || needs_fields;
        Frame::text(&json!({"type": t}), bad)
    });
    let garbage = prop_oneof![
        any_json().prop_map(move |v| {
            // Only an object whose `type` is one of the socket's can be valid.
            let typed = v
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| valid.contains(&t));
            Frame::text(&v, !typed)
        }),
        ".{0,40}".prop_map(|text| {
            let bad = serde_json::from_str::<Value>(&text).map_or(true, |v| !v.is_object());
            Frame::Text { text, bad }
        }),
    ];
    let bad_resize = (bad_size(), 1u16..500, any::<bool>(), any::<bool>()).prop_map(
        |(bad, good, cols_bad, drop)| {
            let mut frame = json!({"type": "resize", "cols": good, "rows": good});
            let field = if cols_bad { "cols" } else { "rows" };
            if drop {
                if let Some(m) = frame.as_object_mut() {
                    m.remove(field);
                }
            } else {
                frame[field] = bad;
            }
            Frame::text(&frame, true)
        },
    );
    let seeds_valid = prop::sample::select(seeds).prop_map(|s| Frame::text(&s, false));
    prop_oneof![
        3 => seeds_valid,
        3 => mutated,
        2 => edited,
        2 => unknown_type,
        2 => garbage,
        2 => bad_resize,
        2 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(Frame::Binary),
    ]
}

/// How a socket ended, and what came before.
#[derive(Debug, Default)]
struct Transcript {
    /// The ping was answered: the socket is open and read every frame sent before it.
    answered: bool,
    errors: Vec<Value>,
    exits: Vec<Value>,
    close: Option<Option<CloseCode>>,
    /// Text frames that are neither errors nor exits.
    others: Vec<String>,
}

/// Sends the frames and a ping, then reads until the ping is answered and at least
/// `min_errors` error frames came, or the socket ends.
async fn exchange(
    socket: &mut Socket,
    frames: &[Frame],
    min_errors: usize,
) -> Result<Transcript, TestCaseError> {
    for f in frames {
        if socket.send(f.message()).await.is_err() {
            break;
        }
    }
    let _ = socket.send(Message::Ping(PING.to_vec().into())).await;
    let mut t = Transcript::default();
    let deadline = Instant::now() + WAIT;
    while !(t.answered && t.errors.len() >= min_errors) {
        let left = deadline.saturating_duration_since(Instant::now());
        let next = tokio::time::timeout(left, socket.next())
            .await
            .map_err(|_| {
                TestCaseError::fail(format!("stuck: no answer in {WAIT:?}; so far {t:?}"))
            })?;
        match next {
            Some(Ok(Message::Pong(p))) if p.as_ref() == PING => t.answered = true,
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<Value>(&text) {
                Ok(v) if v["type"] == "error" => t.errors.push(v),
                Ok(v) if v["type"] == "exit" => t.exits.push(v),
                _ => t.others.push(text.to_string()),
            },
            Some(Ok(Message::Close(frame))) => {
                t.close = Some(frame.map(|f| f.code));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                t.close = Some(None);
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(t)
}

/// Every error frame: a client error's code, a message, and a field for invalid input.
fn check_errors(t: &Transcript) -> TestCaseResult {
    for e in &t.errors {
        prop_assert!(e["message"].is_string(), "{}", e);
        if let Some(code) = e["code"].as_str() {
            prop_assert!(
                !SERVER_ERROR_CODES.contains(&code),
                "a server error for a frame: {}",
                e
            );
            if code == "invalid_input" {
                prop_assert!(
                    e["field"].is_string(),
                    "invalid input naming no field: {}",
                    e
                );
            }
        }
    }
    Ok(())
}

/// A socket that ended before answering the ping ended the documented way: a frame that may
/// end it was sent, and it closed with one of `codes` (after an exit frame when
/// `exit_first`), or its connection was closed under frames the client sent after that.
fn ended_as_documented(
    t: &Transcript,
    may_end: bool,
    codes: &[CloseCode],
    exit_first: bool,
) -> TestCaseResult {
    prop_assert!(
        may_end,
        "the socket ended though nothing sent could end it: {:?}",
        t
    );
    // Without a close frame, the connection was closed (and reset by the frames after).
    if let Some(Some(code)) = t.close {
        prop_assert!(codes.contains(&code), "closed with {:?}: {:?}", code, t);
        prop_assert!(
            !exit_first || !t.exits.is_empty(),
            "closed without an exit: {:?}",
            t
        );
    }
    Ok(())
}

/// The terminal's valid control frames.
fn terminal_seeds() -> Vec<Value> {
    vec![
        json!({"type": "resize", "cols": 120, "rows": 40}),
        json!({"type": "resize", "cols": 1, "rows": 65535}),
        json!({"type": "input", "data": "true\n"}),
        json!({"type": "input", "data": ""}),
    ]
}

#[test]
fn terminal_control_frames_are_answered_and_never_break_the_socket() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    let path = format!(
        "/api/v1/ws/environments/{}/terminal?session=sh",
        fixture.env
    );
    let frames =
        || proptest::collection::vec(control_frame(&["resize", "input"], terminal_seeds()), 1..8);
    fuzz("ws_terminal_frames", 500, frames, |frames| {
        let before = panics();
        let t = rt.block_on(async {
            let mut socket = fixture.connect(&path).await?;
            let bad = frames.iter().filter(|f| f.is_bad()).count();
            exchange(&mut socket, &frames, bad).await
        })?;
        no_panic_since(before)?;
        check_errors(&t)?;
        let texts = frames
            .iter()
            .filter(|f| matches!(f, Frame::Text { .. }))
            .count();
        prop_assert!(
            t.errors.len() <= texts,
            "more errors than text frames: {:?}",
            t
        );
        prop_assert!(
            t.others.is_empty(),
            "unexpected text frames: {:?}",
            t.others
        );
        if !t.answered {
            // Only the shell ending (`exit`, ^D) ends a terminal: an exit, then a close; or,
            // when the client sent more after that, a connection the server already closed.
            let may_end = frames.iter().any(|f| f.may_end(&["exit", "\u{4}"]));
            ended_as_documented(&t, may_end, &[CloseCode::Normal], true)?;
        }
        Ok(())
    });
}

/// The exec socket's valid control frames after the start.
fn exec_seeds() -> Vec<Value> {
    vec![
        json!({"type": "resize", "cols": 100, "rows": 30}),
        json!({"type": "eof"}),
        json!({"type": "kill"}),
    ]
}

#[test]
fn exec_control_frames_are_answered_and_never_break_the_socket() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    let path = format!("/api/v1/ws/environments/{}/exec", fixture.env);
    let frames = || {
        (
            any::<bool>(),
            proptest::collection::vec(
                control_frame(&["resize", "eof", "kill"], exec_seeds()),
                1..8,
            ),
        )
    };
    fuzz("ws_exec_frames", 500, frames, |(tty, frames)| {
        let before = panics();
        let mut start = json!({"type": "start", "command": ["cat"]});
        if tty {
            start["tty"] = json!({"cols": 80, "rows": 24});
        }
        // A second start is refused like any bad frame.
        let t = rt.block_on(async {
            let mut socket = fixture.connect(&path).await?;
            socket
                .send(Message::text(start.to_string()))
                .await
                .map_err(|e| TestCaseError::fail(format!("start: {e}")))?;
            let bad = frames.iter().filter(|f| f.is_bad()).count();
            exchange(&mut socket, &frames, bad).await
        })?;
        no_panic_since(before)?;
        check_errors(&t)?;
        prop_assert!(
            t.errors.len() <= frames.len(),
            "more errors than frames: {:?}",
            t
        );
        prop_assert!(
            t.others.is_empty(),
            "unexpected text frames: {:?}",
            t.others
        );
        if !t.answered {
            // Only `eof` (cat ends) or `kill` ends it: an exit, then a normal close (or a
            // connection closed under frames sent after that).
            let may_end = frames.iter().any(|f| f.may_end(&["eof", "kill"]));
            ended_as_documented(&t, may_end, &[CloseCode::Normal], true)?;
        }
        Ok(())
    });
}

#[test]
fn exec_start_frames_run_or_are_refused_with_1008() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    let path = format!("/api/v1/ws/environments/{}/exec", fixture.env);
    let seed = json!({"type": "start", "command": ["echo", "hi"], "env": {"A": "b"},
                      "workdir": "/tmp", "tty": {"cols": 80, "rows": 24}, "timeout_seconds": 5});
    let first = move || {
        prop_oneof![
            4 => proptest::collection::vec(json_edit(), 0..4)
                .prop_map(move |edits| Frame::text(&mutate(&seed, &edits), false)),
            2 => control_frame(&["start"], vec![json!({"type": "start", "command": ["true"]})]),
        ]
    };
    fuzz("ws_exec_start", 500, first, |first| {
        let before = panics();
        let t = rt.block_on(async {
            let mut socket = fixture.connect(&path).await?;
            // Whatever runs gets its input closed and is killed: the socket must then end.
            let frames = [
                first.clone(),
                Frame::text(&json!({"type": "eof"}), false),
                Frame::text(&json!({"type": "kill"}), false),
            ];
            for f in &frames {
                if socket.send(f.message()).await.is_err() {
                    break;
                }
            }
            let mut t = Transcript::default();
            loop {
                let next = tokio::time::timeout(WAIT, socket.next())
                    .await
                    .map_err(|_| TestCaseError::fail(format!("stuck after {first:?}: {t:?}")))?;
                match next {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<Value>(&text) {
                        Ok(v) if v["type"] == "error" => t.errors.push(v),
                        Ok(v) if v["type"] == "exit" => t.exits.push(v),
                        _ => t.others.push(text.to_string()),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        t.close = Some(frame.map(|f| f.code));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        t.close = Some(None);
                        break;
                    }
                }
            }
            Ok::<_, TestCaseError>(t)
        })?;
        no_panic_since(before)?;
        check_errors(&t)?;
        prop_assert!(
            t.others.is_empty(),
            "unexpected text frames: {:?}",
            t.others
        );
        match t.close {
            Some(Some(CloseCode::Normal)) => {
                prop_assert_eq!(t.exits.len(), 1, "{:?}", t);
            }
            Some(Some(CloseCode::Policy)) => {
                prop_assert!(t.exits.is_empty() && t.errors.len() == 1, "{:?}", t);
                prop_assert!(
                    !first.is_bad() || t.errors[0]["code"] == "invalid_input",
                    "{:?}",
                    t
                );
            }
            other => prop_assert!(false, "ended with {:?}: {:?}", other, t),
        }
        if first.is_bad() {
            prop_assert_eq!(
                t.close,
                Some(Some(CloseCode::Policy)),
                "a bad start ran: {:?}",
                t
            );
        }
        Ok(())
    });
}

#[test]
fn tunnel_frames_never_break_the_socket() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    let path = format!("/api/v1/ws/environments/{}/ports/8080/tunnel", fixture.env);
    let frames =
        || proptest::collection::vec(control_frame(&["eof"], vec![json!({"type": "eof"})]), 1..8);
    fuzz("ws_tunnel_frames", 500, frames, |frames| {
        let before = panics();
        let t = rt.block_on(async {
            let mut socket = fixture.connect(&path).await?;
            exchange(&mut socket, &frames, 0).await
        })?;
        no_panic_since(before)?;
        // The tunnel answers no text frame: bytes come back (the echo), nothing else.
        prop_assert!(
            t.errors.is_empty() && t.exits.is_empty() && t.others.is_empty(),
            "{:?}",
            t
        );
        if !t.answered {
            // An `eof` may have ended the input (the echo server then closes: 1000), and bytes
            // after it are a protocol error (1002).
            let may_end = frames.iter().any(|f| f.may_end(&["eof"]));
            ended_as_documented(
                &t,
                may_end,
                &[CloseCode::Normal, CloseCode::Protocol],
                false,
            )?;
        }
        Ok(())
    });
}

/// Query strings for the terminal's upgrade: `session`, `cols`, `rows` and `ticket`, each
/// right, wrong, repeated or absent.
fn terminal_query() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        prop::sample::select(vec![
            "sh", "main", "80", "0", "-1", "65536", "", "%00", "%ZZ", "a%20b", "../x", "1e3"
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9_.~-]{0,70}",
        any::<u32>().prop_map(|n| n.to_string()),
    ];
    let name = prop::sample::select(vec![
        "session", "cols", "rows", "ticket", "session", "cols[]", "",
    ]);
    proptest::collection::vec((name, value), 0..5).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[test]
fn terminal_upgrade_queries_upgrade_or_are_4xx() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    fuzz("ws_terminal_query", 500, terminal_query, |query| {
        let path = format!("/api/v1/ws/environments/{}/terminal?{query}", fixture.env);
        let before = panics();
        let outcome = rt.block_on(async {
            let mut request = format!("ws://{}{path}", fixture.addr).into_client_request()?;
            request.headers_mut().insert(
                "sec-websocket-protocol",
                format!("vibebox.v1, bearer.{}", fixture.token)
                    .parse()
                    .unwrap(),
            );
            match tokio_tungstenite::connect_async_with_config(request, None, true).await {
                Ok((mut socket, _)) => {
                    let _ = socket.close(None).await;
                    Ok(None)
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    Ok(Some(response.status()))
                }
                Err(e) => Err(e),
            }
        });
        no_panic_since(before)?;
        match outcome {
            Ok(None) => {}
            Ok(Some(status)) => {
                prop_assert!(status.is_client_error(), "{} for {:?}", status, query)
            }
            Err(e) => prop_assert!(false, "{:?}: {}", query, e),
        }
        Ok(())
    });
}
