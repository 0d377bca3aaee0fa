use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vibebox_core::ErrorKind;
use vibebox_core::domain::Scope;
use vibebox_core::rbac::Actor;
use vibebox_core::service::NewApiKey;
use vibebox_core::store::PageRequest;

use super::harness::H;

#[tokio::test]
async fn refresh_token_rotates_and_the_old_token_is_refused() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let issued = h.sign_in(&alice).await;
    let (user, rotated) =
        h.vb.rotate_refresh_token(&issued.token, Default::default())
            .await
            .unwrap();
    assert_eq!(user.id, alice.user_id().unwrap());
    assert_eq!(rotated.session.family_id, issued.session.family_id);
    assert_eq!(
        rotated.session.expires_at, issued.session.expires_at,
        "absolute expiry"
    );
    assert_ne!(rotated.token.expose_secret(), issued.token.expose_secret());
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let issued = h.sign_in(&alice).await;
    let (_, rotated) =
        h.vb.rotate_refresh_token(&issued.token, Default::default())
            .await
            .unwrap();
    // The attacker replays the first token: refused, and the legitimate new token dies too.
    let e =
        h.vb.rotate_refresh_token(&issued.token, Default::default())
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let e =
        h.vb.rotate_refresh_token(&rotated.token, Default::default())
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let audit = h
        .store
        .list_audit(&Default::default(), &PageRequest::first(50))
        .await
        .unwrap();
    assert!(audit.items.iter().any(|e| e.action == "auth.refresh_reuse"));
}

#[tokio::test]
async fn refresh_tokens_expire_seven_days_after_login() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let issued = h.sign_in(&alice).await;
    h.clock.advance(Duration::from_secs(7 * 24 * 3600 + 1));
    let e =
        h.vb.rotate_refresh_token(&issued.token, Default::default())
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn logout_revokes_the_token_and_devices_can_be_signed_out() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let laptop = h.sign_in(&alice).await;
    let phone = h.sign_in(&alice).await;
    assert_eq!(
        h.vb.list_devices(&alice, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    h.vb.revoke_refresh_token(&laptop.token).await.unwrap();
    assert!(
        h.vb.rotate_refresh_token(&laptop.token, Default::default())
            .await
            .is_err()
    );
    h.vb.revoke_device(&alice, phone.session.id).await.unwrap();
    assert!(
        h.vb.list_devices(&alice, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn api_key_is_shown_once_stored_hashed_and_authenticates_with_its_scopes() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let created =
        h.vb.create_api_key(
            &alice,
            NewApiKey {
                name: "ci".into(),
                scopes: vec![Scope::Read],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let token = created.token.expose_secret().to_string();
    assert!(token.starts_with("vbx_"));
    let stored = h
        .store
        .find_api_key_by_prefix(&created.key.prefix)
        .await
        .unwrap()
        .unwrap()
        .key;
    assert!(!format!("{stored:?}").contains(&token[token.len() - 20..]));
    let actor = h.vb.authenticate_api_key(&created.token).await.unwrap();
    match &actor {
        Actor::ApiKey { scopes, .. } => assert_eq!(scopes, &vec![Scope::Read]),
        other => panic!("expected a key actor, got {other:?}"),
    }
    // A wrong secret with the right prefix is refused.
    let forged = SecretString::from(format!("{}_{}", created.key.prefix, "0".repeat(64)));
    assert_eq!(
        h.vb.authenticate_api_key(&forged).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
}

#[tokio::test]
async fn api_key_scopes_narrow_what_the_user_may_do() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let key =
        h.vb.create_api_key(
            &alice,
            NewApiKey {
                name: "reader".into(),
                scopes: vec![Scope::Read],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let reader = h.vb.authenticate_api_key(&key.token).await.unwrap();
    h.vb.get_environment(&reader, env.id).await.unwrap();
    let e = h.vb.start_environment(&reader, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    // Nor can it mint itself a stronger key.
    let e =
        h.vb.create_api_key(
            &reader,
            NewApiKey {
                name: "escalate".into(),
                scopes: vec![Scope::EnvironmentsLifecycle],
                expires_at: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn api_keys_expire_and_admin_scope_needs_a_platform_admin() {
    let h = H::new().await;
    let _admin = h.user("admin").await;
    let bob = h.user("bob").await;
    let e =
        h.vb.create_api_key(
            &bob,
            NewApiKey {
                name: "x".into(),
                scopes: vec![Scope::Admin],
                expires_at: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("scopes"));
    let key =
        h.vb.create_api_key(
            &bob,
            NewApiKey {
                name: "short".into(),
                scopes: vec![Scope::Read],
                expires_at: Some(h.vb.clock().now() + chrono::TimeDelta::hours(1)),
            },
        )
        .await
        .unwrap();
    h.vb.authenticate_api_key(&key.token).await.unwrap();
    h.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        h.vb.authenticate_api_key(&key.token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthenticated
    );
    h.vb.delete_api_key(&bob, key.key.id).await.unwrap();
    assert!(
        h.vb.list_api_keys(&bob, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_disabled_users_api_keys_stop_authenticating_at_once() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let bob = h.user("bob").await;
    let key =
        h.vb.create_api_key(
            &bob,
            NewApiKey {
                name: "cli".into(),
                scopes: vec![Scope::Read],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    h.vb.authenticate_api_key(&key.token).await.unwrap();
    let bob_id = bob.user_id().unwrap();
    h.vb.set_user_disabled(&admin, bob_id, true).await.unwrap();
    assert_eq!(
        h.vb.authenticate_api_key(&key.token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthenticated
    );
    h.vb.set_user_disabled(&admin, bob_id, false).await.unwrap();
    let actor = h.vb.authenticate_api_key(&key.token).await.unwrap();
    assert_eq!(actor.user_id(), Some(bob_id));
}
