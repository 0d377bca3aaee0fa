//! Every operation of the served OpenAPI document is reachable from the client: a tour calls
//! every client method once against a real server, and the server records what it received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use common::{PASSWORD, Server, alpha_dev, echo_server};
use futures::StreamExt;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox_client::types::{EnvironmentStatus, Role, Scope, SessionType, ShareLevel};
use vibebox_client::{
    Client, EnvironmentPatch, ExecRequest, ExecStart, LogQuery, NewApiKey, NewExtension, NewPort,
    NewSession, NewTeam, NewVariable, PageRequest, ProfilePatch, ProjectPatch, StatusMessage,
    TeamPatch, TerminalOptions, UserAdminPatch, collect_all,
};

/// Operations for browsers only, which the client deliberately does not wrap: the cookie
/// session (`/auth/session…`) keeps the refresh token in an HttpOnly cookie, away from
/// script; the client holds its tokens itself (`/auth/login`, `/auth/refresh`,
/// `/auth/logout`).
const BROWSER_ONLY: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/session"),
    ("POST", "/api/v1/auth/session/refresh"),
    ("DELETE", "/api/v1/auth/session"),
];

/// The (method, path template) pairs of the served document.
fn operations(spec: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The template a concrete path matches: same segment count, literals equal; the most
/// literal template wins (`/users/me` over `/users/{id}`).
fn template_of<'a>(
    method: &str,
    path: &str,
    ops: &'a BTreeSet<(String, String)>,
) -> Option<&'a (String, String)> {
    let segs: Vec<&str> = path.split('/').collect();
    ops.iter()
        .filter(|(m, _)| m == method)
        .filter_map(|op| {
            let t: Vec<&str> = op.1.split('/').collect();
            if t.len() != segs.len() {
                return None;
            }
            let mut literals = 0;
            for (a, b) in t.iter().zip(&segs) {
                if a.starts_with('{') {
                    continue;
                }
                if a != b {
                    return None;
                }
                literals += 1;
            }
            Some((literals, op))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, op)| op)
}

/// Waits for the first status message.
async fn first_status(client: &Client, env: vibebox_client::types::EnvironmentId) {
    let mut status = client.status_socket(env).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), status.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, StatusMessage::Status { .. }), "{first:?}");
    status.close().await.unwrap();
}

/// Waits for the project socket's snapshot, which shows the environment.
async fn project_snapshot(
    client: &Client,
    project: vibebox_client::types::ProjectId,
    env: vibebox_client::types::EnvironmentId,
) {
    let mut socket = client.project_status(project).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let vibebox_client::ProjectFrame::Snapshot { environments, .. } = &first else {
        panic!("{first:?}");
    };
    assert!(
        environments.iter().any(|e| e.environment_id == env),
        "{first:?}"
    );
    socket.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openapi_operation_is_reachable_from_the_client() {
    let server = Server::start().await;
    let anon = server.anonymous();
    let app_port = echo_server().await;

    // Health and the document.
    assert_eq!(anon.healthz().await.unwrap().status, "ok");
    assert_eq!(anon.readyz().await.unwrap().status, "ok");
    let spec = anon.openapi().await.unwrap();

    // Accounts: the first is the platform admin.
    let alice = server.signed_in("alice").await;
    server.register("bob").await;
    let me = alice.me().await.unwrap();
    assert!(me.is_platform_admin);
    alice
        .update_me(&ProfilePatch {
            display_name: Some("Alice A.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let users = collect_all(|p| alice.list_users(p)).await.unwrap();
    let bob = users
        .iter()
        .find(|u| u.email == "bob@example.com")
        .unwrap()
        .id;
    alice
        .update_user(
            bob,
            &UserAdminPatch {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // API keys and devices.
    let key = alice
        .create_api_key(&NewApiKey {
            name: "ci".into(),
            scopes: vec![Scope::Read],
            expires_at: None,
        })
        .await
        .unwrap();
    assert!(
        !alice
            .list_api_keys(PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let second = Client::builder(&server.url)
        .user_agent("second-device")
        .build()
        .unwrap();
    second
        .login("alice@example.com", &SecretString::from(PASSWORD))
        .await
        .unwrap();
    let devices = alice.list_devices(PageRequest::default()).await.unwrap();
    let other = devices
        .items
        .iter()
        .find(|d| d.user_agent.as_deref() == Some("second-device"))
        .unwrap();
    alice.revoke_device(other.id).await.unwrap();
    // The explicit refresh of a revoked sign-in is refused.
    let revoked = second.tokens().unwrap().refresh;
    assert_eq!(
        anon.refresh(&revoked).await.unwrap_err().kind(),
        vibebox_client::ErrorKind::Unauthenticated
    );

    // SSH keys.
    let ssh_key = alice
        .add_ssh_key(&vibebox_client::NewSshKey {
            name: "laptop".into(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC me@laptop".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        ssh_key.fingerprint,
        "SHA256:8my0RNUEnKfqpswH6Td8D1zouTrmlLbVtGqPC0RDuPo"
    );
    let ssh_keys = alice.ssh_keys(PageRequest::default()).await.unwrap();
    assert_eq!(ssh_keys.items, std::slice::from_ref(&ssh_key));
    alice.remove_ssh_key(ssh_key.id).await.unwrap();
    // This server runs no SSH gateway (tests/ssh_gateway.rs has one).
    assert_eq!(
        anon.ssh_gateway().await.unwrap_err().kind(),
        vibebox_client::ErrorKind::NotFound
    );

    // Teams.
    let team = alice
        .create_team(&NewTeam {
            name: "Core".into(),
            slug: "core".into(),
            description: None,
        })
        .await
        .unwrap();
    assert!(
        !alice
            .list_teams(PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    alice.get_team(team.id).await.unwrap();
    alice
        .update_team(
            team.id,
            &TeamPatch {
                name: Some("Core team".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    alice
        .add_member(team.id, "bob@example.com", Role::Developer)
        .await
        .unwrap();
    let members = alice
        .list_members(team.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(members.items.len(), 2);
    // Members come with their account's email (and display name).
    assert!(members.items.iter().any(|m| m.membership.user_id == bob
        && m.email.as_deref() == Some("bob@example.com")
        && m.display_name.is_some()));
    alice
        .update_member(team.id, bob, Role::Viewer)
        .await
        .unwrap();
    alice.remove_member(team.id, bob).await.unwrap();
    alice
        .list_team_audit(team.id, PageRequest::first(10))
        .await
        .unwrap();

    // Projects and environments (create_project and create_environment in `alpha_dev`).
    let (project, env) = alpha_dev(&alice).await;
    alice.list_projects(PageRequest::default()).await.unwrap();
    alice.get_project(project).await.unwrap();
    alice
        .update_project(
            project,
            &ProjectPatch {
                name: Some("Alpha 2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let listed = alice
        .list_environments(Some(project), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    alice.get_environment(env).await.unwrap();
    alice
        .update_environment(
            env,
            &EnvironmentPatch {
                memory_limit: Some(2048),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Ports and variables.
    let port = alice
        .add_port(
            env,
            &NewPort {
                container_port: 8080,
                host_port: Some(i64::from(app_port)),
                protocol: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        alice
            .list_ports(env, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    alice
        .update_port(env, port.id, ShareLevel::Public)
        .await
        .unwrap();
    alice
        .set_variable(
            env,
            &NewVariable {
                key: "API_TOKEN".into(),
                value: SecretString::from("s3cr3t-value"),
                is_encrypted: true,
            },
        )
        .await
        .unwrap();
    let vars = alice
        .list_variables(env, PageRequest::default())
        .await
        .unwrap();
    assert!(vars.items.iter().all(|v| v.value != "s3cr3t-value"));

    // Running.
    alice.start_environment(env).await.unwrap();
    first_status(&alice, env).await;
    project_snapshot(&alice, project, env).await;
    let session = alice
        .create_session(
            env,
            &NewSession {
                session_type: SessionType::Shell,
                session_name: "work".into(),
                idle_timeout_minutes: None,
            },
        )
        .await;
    let _ = alice
        .list_sessions(env, false, PageRequest::default())
        .await;
    if let Ok(session) = session {
        let _ = alice.terminate_session(session.id).await;
    }
    if let Ok(terminal) = alice.terminal(env, &TerminalOptions::default()).await {
        terminal.close().await.unwrap();
    }

    // Extensions.
    let ext = alice
        .add_extension(&NewExtension {
            extension_id: "acme.tool".into(),
            name: "Tool".into(),
            version: "1.0.0".into(),
            is_custom: false,
            download_url: None,
        })
        .await
        .unwrap();
    alice.list_extensions(PageRequest::default()).await.unwrap();
    let _ = alice.install_extension(env, "acme.tool").await;
    let _ = alice
        .list_environment_extensions(env, PageRequest::default())
        .await;
    let _ = alice.uninstall_extension(env, ext.id).await;

    // Commands, files, logs.
    let out = alice
        .exec(env, &ExecRequest::new(["echo", "hi"]))
        .await
        .unwrap();
    assert_eq!(out.stdout_text(), "hi\n");
    let mut exec = alice
        .exec_socket(env, &ExecStart::new(["true"]))
        .await
        .unwrap();
    while let Some(event) = exec.next().await {
        event.unwrap();
    }
    let _ = alice
        .upload_bytes(env, "notes.txt", Some(0o644), Bytes::from_static(b"hello"))
        .await;
    let _ = alice.list_files(env, ".").await;
    let _ = alice.download_file(env, "notes.txt").await;
    alice
        .query_logs(env, &LogQuery::default(), PageRequest::default())
        .await
        .unwrap();
    alice.logs_socket(env).await.unwrap().close().await.unwrap();

    // Tunnel and preview.
    let mut tunnel = alice.tunnel(env, 8080).await.unwrap();
    tunnel.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tunnel.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    tunnel.shutdown().await.unwrap();
    let preview = alice.open_preview(env, 8080, Some("/")).await.unwrap();
    assert!(
        preview.origin.contains("8080--dev--alpha"),
        "{}",
        preview.origin
    );
    alice.create_ws_ticket().await.unwrap();

    // OAuth: no provider is configured, so the list is empty and both are refused, but reached.
    assert_eq!(anon.oauth_providers().await.unwrap(), vec![]);
    assert_eq!(
        anon.oauth_start("github").await.unwrap_err().status(),
        Some(404)
    );
    let _ = anon
        .oauth_callback(
            "github",
            &SecretString::from("code"),
            "state",
            &SecretString::from("vibebox_oauth=x"),
        )
        .await;

    // Lifecycle, audit, clean-up.
    alice.restart_environment(env, true).await.unwrap();
    let frozen = alice.suspend_environment(env).await.unwrap();
    assert_eq!(frozen.status, EnvironmentStatus::Suspended);
    let thawed = alice.resume_environment(env).await.unwrap();
    assert_eq!(thawed.status, EnvironmentStatus::Running);
    alice.stop_environment(env).await.unwrap();
    alice.list_audit(PageRequest::first(5)).await.unwrap();
    alice.refresh_tokens().await.unwrap();
    alice.remove_port(env, port.id).await.unwrap();
    alice.delete_variable(env, "API_TOKEN").await.unwrap();
    alice.delete_environment(env).await.unwrap();
    alice.delete_project(project).await.unwrap();
    alice.delete_team(team.id).await.unwrap();
    alice.delete_api_key(key.key.id).await.unwrap();
    alice.logout().await.unwrap();
    assert!(alice.tokens().is_none());

    // Every operation of the document was reached.
    let ops = operations(&spec);
    assert!(ops.len() > 50, "{} operations", ops.len());
    let seen = server.seen.lock().unwrap().clone();
    let mut reached = BTreeSet::new();
    for (method, path) in &seen {
        if let Some(op) = template_of(method, path, &ops) {
            reached.insert(op.clone());
        }
    }
    for (method, path) in BROWSER_ONLY {
        assert!(
            ops.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is no longer in the document: drop it from BROWSER_ONLY"
        );
    }
    let missing: Vec<_> = ops
        .difference(&reached)
        .filter(|(m, p)| !BROWSER_ONLY.contains(&(m.as_str(), p.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "operations no client call reached: {missing:#?}"
    );
}
