//! `GET /ssh`: the gateway the server reports comes through typed, without a credential, and
//! serializes back to the server's JSON; a server without a gateway answers `NotFound`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Server;
use vibebox_client::{ErrorKind, SshGateway, SshHostKey};

/// What the server is configured to report.
fn reported(host: Option<&str>) -> vibebox_http::SshGateway {
    vibebox_http::SshGateway {
        host: host.map(str::to_owned),
        port: 2222,
        host_keys: vec![vibebox_http::SshHostKey {
            public_key:
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
                    .into(),
            fingerprint: "SHA256:2aE5uUdIfWRa3yDdJPAo2vsk6WVtFQZyJ6jgt2IAk6c".into(),
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_and_its_host_keys_come_through_typed_without_a_credential() {
    let server = Server::start_with(|config| config.ssh = Some(reported(None))).await;
    let gateway = server.anonymous().ssh_gateway().await.unwrap();
    assert_eq!(
        gateway,
        SshGateway {
            host: None,
            port: 2222,
            host_keys: vec![SshHostKey {
                public_key: reported(None).host_keys[0].public_key.clone(),
                fingerprint: "SHA256:2aE5uUdIfWRa3yDdJPAo2vsk6WVtFQZyJ6jgt2IAk6c".into(),
            }],
        }
    );
    assert_eq!(
        serde_json::to_value(&gateway).unwrap(),
        serde_json::to_value(reported(None)).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_on_another_host_names_it() {
    let server =
        Server::start_with(|config| config.ssh = Some(reported(Some("ssh.example.com")))).await;
    let gateway = server.anonymous().ssh_gateway().await.unwrap();
    assert_eq!(gateway.host.as_deref(), Some("ssh.example.com"));
    assert_eq!(
        serde_json::to_value(&gateway).unwrap(),
        serde_json::to_value(reported(Some("ssh.example.com"))).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_gateway_answers_not_found() {
    let server = Server::start().await;
    let e = server.anonymous().ssh_gateway().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.status(), Some(404));
}
