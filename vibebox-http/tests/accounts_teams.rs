//! Accounts, API keys, devices, teams, sessions, extensions, logs and audit through HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn an_api_key_token_is_shown_once_and_never_listed() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let r = app
        .call(
            "POST",
            "/api/v1/users/me/api-keys",
            &alice,
            Some(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("vbx_"));
    let listed = app
        .call("GET", "/api/v1/users/me/api-keys", &alice, None)
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.body.to_string().contains(&token[4..]),
        "the secret part is never listed"
    );
    assert!(listed.body["items"][0].get("secret_hash").is_none());
    let me = app.call("GET", "/api/v1/users/me", &token, None).await;
    assert_eq!(me.status, StatusCode::OK);
    // A read-only key cannot create projects.
    let write = app
        .call(
            "POST",
            "/api/v1/projects",
            &token,
            Some(json!({"name": "x", "slug": "xyz"})),
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "{}", write.body);
}

#[tokio::test]
async fn devices_are_listed_and_a_revoked_one_cannot_refresh() {
    let app = App::new();
    app.user("alice").await;
    let login = app.login("alice").await;
    let access = login.body["access_token"].as_str().unwrap().to_string();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_string();
    let devices = app
        .call("GET", "/api/v1/users/me/sessions", &access, None)
        .await;
    assert_eq!(devices.status, StatusCode::OK);
    let id = devices.body["items"][0]["id"].as_str().unwrap().to_string();
    assert!(devices.body["items"][0].get("token_hash").is_none());
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/users/me/sessions/{id}"),
            &access,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let again = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn platform_admins_list_and_disable_accounts_others_get_403() {
    let app = App::new();
    let admin = app.signed_in("admin").await; // the first user is platform admin
    let bob = app.signed_in("bob").await;
    assert_eq!(
        app.call("GET", "/api/v1/users", &bob, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("GET", "/api/v1/audit", &bob, None).await.status,
        StatusCode::FORBIDDEN
    );
    let users = app.call("GET", "/api/v1/users", &admin, None).await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 2);
    let bob_id = app.call("GET", "/api/v1/users/me", &bob, None).await.body["id"].clone();
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{}", bob_id.as_str().unwrap()),
            &admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        app.call("GET", "/api/v1/users/me", &bob, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let audit = app.call("GET", "/api/v1/audit", &admin, None).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(!audit.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_team_admin_manages_members_and_the_last_admin_stays() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let team = app
        .call(
            "POST",
            "/api/v1/teams",
            &alice,
            Some(json!({"name": "Core", "slug": "core"})),
        )
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.body);
    let id = team.body["id"].as_str().unwrap().to_string();
    let added = app
        .call(
            "POST",
            &format!("/api/v1/teams/{id}/members"),
            &alice,
            Some(json!({"email": "bob@example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let members = app
        .call("GET", &format!("/api/v1/teams/{id}/members"), &bob, None)
        .await;
    assert_eq!(members.body["items"].as_array().unwrap().len(), 2);
    // The viewer cannot add members.
    let refused = app
        .call(
            "POST",
            &format!("/api/v1/teams/{id}/members"),
            &bob,
            Some(json!({"email": "alice@example.com", "role": "admin"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let alice_id = app.call("GET", "/api/v1/users/me", &alice, None).await.body["id"].clone();
    let demote = app
        .call(
            "PATCH",
            &format!("/api/v1/teams/{id}/members/{}", alice_id.as_str().unwrap()),
            &alice,
            Some(json!({"role": "developer"})),
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT, "{}", demote.body);
    let audit = app
        .call("GET", &format!("/api/v1/teams/{id}/audit"), &alice, None)
        .await;
    assert_eq!(audit.status, StatusCode::OK);
}

#[tokio::test]
async fn team_members_are_listed_with_their_display_names_and_emails() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let team = app
        .call(
            "POST",
            "/api/v1/teams",
            &alice,
            Some(json!({"name": "Core", "slug": "core"})),
        )
        .await;
    let id = team.body["id"].as_str().unwrap().to_string();
    let added = app
        .call(
            "POST",
            &format!("/api/v1/teams/{id}/members"),
            &alice,
            Some(json!({"email": "bob@example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let members = app
        .call("GET", &format!("/api/v1/teams/{id}/members"), &bob, None)
        .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);
    let bob_row = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "viewer")
        .unwrap()
        .clone();
    // The membership's fields as before, plus the member's name and email.
    let mut expected = added.body.clone();
    expected["display_name"] = json!("bob");
    expected["email"] = json!("bob@example.com");
    assert_eq!(bob_row, expected);
    let alice_row = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "admin")
        .unwrap();
    assert_eq!(alice_row["display_name"], "alice");
    assert_eq!(alice_row["email"], "alice@example.com");
    let keys: Vec<&str> = alice_row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            "display_name",
            "email",
            "joined_at",
            "role",
            "team_id",
            "updated_at",
            "user_id"
        ]
        .into_iter()
        .collect()
    );
}

#[tokio::test]
async fn sessions_extensions_and_logs_of_a_running_environment() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let base = format!("/api/v1/environments/{env}");
    let s = app
        .call(
            "POST",
            &format!("{base}/sessions"),
            &alice,
            Some(json!({"session_type": "shell", "session_name": "work"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let sid = s.body["id"].as_str().unwrap().to_string();
    let listed = app
        .call("GET", &format!("{base}/sessions"), &alice, None)
        .await;
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == sid.as_str())
    );
    let ended = app
        .call("DELETE", &format!("/api/v1/sessions/{sid}"), &alice, None)
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["status"], "terminated");
    // The catalog: platform admins add entries (alice is the first user, so an admin).
    let ext = app
        .call("POST", "/api/v1/extensions", &alice, Some(json!({"extension_id": "rust-lang.rust-analyzer", "name": "rust-analyzer", "version": "0.3.2000"})))
        .await;
    assert_eq!(ext.status, StatusCode::CREATED, "{}", ext.body);
    let install = app
        .call(
            "POST",
            &format!("{base}/extensions"),
            &alice,
            Some(json!({"extension_id": "rust-lang.rust-analyzer"})),
        )
        .await;
    assert_eq!(install.status, StatusCode::ACCEPTED, "{}", install.body);
    let logs = app
        .call(
            "GET",
            &format!("{base}/logs?stream=stdout&limit=10"),
            &alice,
            None,
        )
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    assert!(logs.body["items"].is_array());
    let bad = app
        .call("GET", &format!("{base}/logs?stream=neither"), &alice, None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
