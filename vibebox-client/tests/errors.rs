//! Errors: the server's problem documents come through with their code, field and detail; a
//! server that cannot be reached is a clear `Transport` error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Server;
use vibebox_client::types::EnvironmentId;
use vibebox_client::{Client, Credential, ErrorKind, NewTeam};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_carries_the_problems_code_and_detail() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let e = alice
        .get_environment(EnvironmentId::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.code(), Some("not_found"));
    assert!(!e.detail().unwrap().is_empty());
    assert_eq!(e.field(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_422_names_the_field_and_displays_on_one_line() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let e = alice
        .create_team(&NewTeam {
            name: "Bad".into(),
            slug: "Not A Slug".into(),
            description: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert_eq!(e.status(), Some(422));
    assert_eq!(e.code(), Some("invalid_input"));
    assert_eq!(e.field(), Some("slug"));
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains("422") && text.contains("slug"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_refused_before_the_upgrade_is_the_servers_problem() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let e = alice.status_socket(EnvironmentId::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.code(), Some("not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_a_transport_error_naming_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{addr}"), Credential::None).unwrap();
    let e = client.healthz().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    let text = e.to_string();
    assert!(
        text.contains("cannot reach") && text.contains(&addr.to_string()),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    let e = client.tunnel(EnvironmentId::new(), 80).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
}

#[tokio::test]
async fn a_base_url_that_is_not_http_is_invalid_url() {
    let e = Client::new("ftp://example.com", Credential::None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUrl);
}
