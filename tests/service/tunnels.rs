//! Tunnels on the fake engine: who may open one, and the errors that name what is wrong.
//! Data through a tunnel is tested on the real engine (tests/docker_tunnels.rs).

use vibebox_core::ErrorKind;
use vibebox_core::store::PageRequest;
use vibebox_core::testing::ScriptedExec;

use super::harness::{H, TeamEnv};

#[tokio::test]
async fn tunnels_are_for_those_who_may_exec_and_hidden_from_strangers() {
    let h = H::new().await;
    let TeamEnv {
        viewer,
        stranger,
        env,
        ..
    } = h.team_env().await;
    let before = h.rt.exec_history().len();
    let e = h.vb.connect_port(&viewer, env.id, 8080).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let e =
        h.vb.connect_port(&stranger, env.id, 8080)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(h.rt.exec_history().len(), before, "nothing ran for them");
}

#[tokio::test]
async fn a_stopped_environment_or_port_zero_opens_no_tunnel() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e = h.vb.connect_port(&alice, env.id, 8080).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.to_string().contains("not running"), "{e}");
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let e = h.vb.connect_port(&alice, env.id, 0).await.unwrap_err();
    assert_eq!(e.field(), Some("port"), "{e}");
}

#[tokio::test]
async fn an_image_without_a_relay_gets_an_error_naming_what_is_missing() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.script_exec(
        "vibebox-tunnel",
        ScriptedExec::fail(127, "vibebox-tunnel: missing relay\n"),
    );
    let e = h.vb.connect_port(&alice, env.id, 8080).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("socat"), "{e}");
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_refused_naming_the_port() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.script_exec(
        "vibebox-tunnel",
        ScriptedExec::fail(
            1,
            "2026/12/02 18:00:00 socat[42] E connect(5, AF=2 127.0.0.1:8080, 16): Connection refused\n",
        ),
    );
    let e = h.vb.connect_port(&alice, env.id, 8080).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let message = e.to_string();
    assert!(
        message.contains("port 8080") && message.contains("connection refused"),
        "{message}"
    );
    // A refused tunnel is not audited as opened.
    let audit =
        h.vb.list_audit(&alice, &PageRequest::first(100))
            .await
            .unwrap();
    assert!(audit.items.iter().any(|a| a.action == "environment.start"));
    assert!(audit.items.iter().all(|a| a.action != "environment.tunnel"));
}
