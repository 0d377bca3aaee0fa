//! Transparent refresh: an expired access token is refreshed once (for all concurrent
//! requests) and the request succeeds; the hook sees the rotated pair; a refused refresh
//! token means signing in again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::{PASSWORD, Server, access_tokens};
use secrecy::{ExposeSecret, SecretString};
use vibebox_client::{Client, Credential, ErrorKind, TokenPair};
use vibebox_http::{ACCESS_TYPE, Claims};

/// An access token for `user` that expired half an hour ago, signed with the server's key.
fn expired_token(user: &str) -> SecretString {
    let now = chrono::Utc::now().timestamp();
    access_tokens()
        .sign(&Claims {
            iss: "vibebox".into(),
            aud: "vibebox-api".into(),
            sub: user.to_string(),
            iat: now - 3600,
            nbf: now - 3600,
            exp: now - 1800,
            typ: ACCESS_TYPE.into(),
        })
        .unwrap()
}

/// Alice signed in: her id and a valid refresh token.
async fn alice(server: &Server) -> (String, SecretString) {
    let client = server.signed_in("alice").await;
    let me = client.me().await.unwrap();
    (me.id.to_string(), client.tokens().unwrap().refresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_once_for_concurrent_requests_and_the_hook_sees_the_new_pair()
 {
    let server = Server::start().await;
    let (id, refresh) = alice(&server).await;
    let expired = expired_token(&id);
    let seen: Arc<Mutex<Vec<TokenPair>>> = Arc::default();
    let record = seen.clone();
    let client = Client::builder(&server.url)
        .credential(Credential::Tokens {
            access: expired.clone(),
            refresh: refresh.clone(),
        })
        .on_tokens_refreshed(Arc::new(move |pair: &TokenPair| {
            record.lock().unwrap().push(pair.clone())
        }))
        .build()
        .unwrap();

    let calls = (0..6).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.me().await })
    });
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().email, "alice@example.com");
    }

    let pairs = seen.lock().unwrap().clone();
    assert_eq!(pairs.len(), 1, "one refresh for all concurrent requests");
    let pair = &pairs[0];
    assert_ne!(pair.access.expose_secret(), expired.expose_secret());
    assert_ne!(pair.refresh.expose_secret(), refresh.expose_secret());
    assert!(pair.expires_at.is_some());
    let current = client.tokens().unwrap();
    assert_eq!(
        current.refresh.expose_secret(),
        pair.refresh.expose_secret()
    );
    // The rotated refresh token is the one that works now; the old one was used.
    let anon = server.anonymous();
    assert_eq!(
        anon.refresh(&refresh).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_gives_unauthenticated_and_asks_to_sign_in_again() {
    let server = Server::start().await;
    let (id, refresh) = alice(&server).await;
    server
        .anonymous()
        .revoke_refresh_token(&refresh)
        .await
        .unwrap();
    let client = Client::new(
        &server.url,
        Credential::Tokens {
            access: expired_token(&id),
            refresh,
        },
    )
    .unwrap();
    let e = client.me().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.to_string().contains("sign in again"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_upload_refreshes_first_when_the_access_token_is_about_to_expire() {
    let server = Server::start().await;
    let (id, refresh) = alice(&server).await;
    let client = Client::new(
        &server.url,
        Credential::Tokens {
            access: expired_token(&id),
            refresh: refresh.clone(),
        },
    )
    .unwrap();
    let env = vibebox_client::types::EnvironmentId::new();
    // The environment does not exist: a 404, not a 401, because the token was refreshed
    // before the body (which cannot be sent twice) went out.
    let e = client
        .upload_file(env, "a.txt", None, 5, &b"hello"[..])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_ne!(
        client.tokens().unwrap().refresh.expose_secret(),
        refresh.expose_secret()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_sent_as_is_and_never_refreshed() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let key = alice
        .create_api_key(&vibebox_client::NewApiKey {
            name: "ci".into(),
            scopes: vec![vibebox_client::types::Scope::Read],
            expires_at: None,
        })
        .await
        .unwrap();
    let by_key = Client::new(&server.url, Credential::ApiKey(key.token.clone())).unwrap();
    assert_eq!(by_key.me().await.unwrap().email, "alice@example.com");
    assert!(by_key.tokens().is_none());
    let bad = Client::new(
        &server.url,
        Credential::ApiKey(SecretString::from("vbx_nope_nope")),
    )
    .unwrap();
    let e = bad.me().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(!format!("{e} {e:?}").contains("vbx_nope_nope"));
    let _ = PASSWORD;
}
