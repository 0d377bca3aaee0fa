//! API keys and refresh sessions.

use super::prelude::*;

/// API key prefixes are unique across users.
pub async fn api_key_prefix_is_unique(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let prefix = suffix();
    let key = api_key(a.id, &prefix);
    store.create_api_key(&key).await.unwrap();
    let dup = api_key(b.id, &prefix);
    assert_already_exists(store.create_api_key(&dup).await, "prefix");
    assert!(store.list_api_keys(b.id).await.unwrap().is_empty());
    let found = store
        .find_api_key_by_prefix(&prefix)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.key, key);
    assert_eq!(
        (found.owner_disabled, found.owner_is_platform_admin),
        (a.disabled, a.is_platform_admin)
    );
    assert!(
        store
            .find_api_key_by_prefix(&suffix())
            .await
            .unwrap()
            .is_none()
    );
}

/// A key can only be deleted by its own user; uses are recorded.
pub async fn api_key_is_deleted_only_by_its_user(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let k1 = api_key(a.id, &suffix());
    let k2 = api_key(a.id, &suffix());
    store.create_api_key(&k1).await.unwrap();
    store.create_api_key(&k2).await.unwrap();
    assert_eq!(
        store
            .list_api_keys(a.id)
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect::<Vec<_>>(),
        [k1.id, k2.id]
    );
    store.touch_api_key(k1.id, fixed_time()).await.unwrap();
    let touched = store.find_api_key_by_prefix(&k1.prefix).await.unwrap();
    assert_eq!(touched.unwrap().key.last_used_at, Some(fixed_time()));

    assert_not_found(store.delete_api_key(b.id, k1.id).await, "api_key");
    assert_not_found(store.delete_api_key(a.id, ApiKeyId::new()).await, "api_key");
    store.delete_api_key(a.id, k1.id).await.unwrap();
    assert_eq!(store.list_api_keys(a.id).await.unwrap(), [k2]);
}

/// Refresh token hashes are unique.
pub async fn refresh_token_hash_is_unique(store: &dyn Store) {
    let u = create_user(store).await;
    let first = refresh_session(u.id, RefreshFamilyId::new());
    store.create_refresh_session(&first).await.unwrap();
    let mut dup = refresh_session(u.id, RefreshFamilyId::new());
    dup.token_hash = first.token_hash;
    assert_already_exists(store.create_refresh_session(&dup).await, "token");
    assert_eq!(
        store.find_refresh_session(&first.token_hash).await.unwrap(),
        Some(first)
    );
    assert!(
        store
            .find_refresh_session(&token_hash())
            .await
            .unwrap()
            .is_none()
    );
}

/// Concurrent rotations of one token: exactly one inserts its successor.
pub async fn refresh_rotation_has_one_winner(store: &dyn Store) {
    let u = create_user(store).await;
    let family = RefreshFamilyId::new();
    let old = refresh_session(u.id, family);
    store.create_refresh_session(&old).await.unwrap();
    let successors: Vec<_> = (0..8).map(|_| refresh_session(u.id, family)).collect();
    let at = now();
    let results = futures::future::join_all(
        successors
            .iter()
            .map(|new| store.rotate_refresh_session(old.id, new, at)),
    )
    .await;
    let wins: Vec<_> = results
        .iter()
        .map(|r| *r.as_ref().expect("rotation does not fail"))
        .collect();
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    for (won, new) in wins.iter().zip(&successors) {
        let found = store.find_refresh_session(&new.token_hash).await.unwrap();
        assert_eq!(found.is_some(), *won, "only the winner's successor exists");
    }
    let used = store
        .find_refresh_session(&old.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(at));
}

/// A used or revoked token does not rotate; a missing one is `NotFound`.
pub async fn replayed_refresh_token_does_not_rotate(store: &dyn Store) {
    let u = create_user(store).await;
    let family = RefreshFamilyId::new();
    let old = refresh_session(u.id, family);
    store.create_refresh_session(&old).await.unwrap();
    let new = refresh_session(u.id, family);
    assert!(
        store
            .rotate_refresh_session(old.id, &new, now())
            .await
            .unwrap()
    );
    let replay = refresh_session(u.id, family);
    assert!(
        !store
            .rotate_refresh_session(old.id, &replay, now())
            .await
            .unwrap()
    );
    assert!(
        store
            .find_refresh_session(&replay.token_hash)
            .await
            .unwrap()
            .is_none()
    );

    store.revoke_refresh_family(family, now()).await.unwrap();
    let after_revoke = refresh_session(u.id, family);
    assert!(
        !store
            .rotate_refresh_session(new.id, &after_revoke, now())
            .await
            .unwrap()
    );
    assert_not_found(
        store
            .rotate_refresh_session(
                RefreshSessionId::new(),
                &refresh_session(u.id, family),
                now(),
            )
            .await,
        "refresh_session",
    );
}

/// Revoking a family or a user touches only sessions not yet revoked, and counts them.
pub async fn revoking_refresh_sessions_counts_only_unrevoked(store: &dyn Store) {
    let u = create_user(store).await;
    let other = create_user(store).await;
    let family = RefreshFamilyId::new();
    let a = refresh_session(u.id, family);
    let b = refresh_session(u.id, family);
    let c = refresh_session(u.id, RefreshFamilyId::new());
    let d = refresh_session(other.id, RefreshFamilyId::new());
    for s in [&a, &b, &c, &d] {
        store.create_refresh_session(s).await.unwrap();
    }
    let at = fixed_time();
    assert_eq!(store.revoke_refresh_family(family, at).await.unwrap(), 2);
    assert_eq!(store.revoke_refresh_family(family, now()).await.unwrap(), 0);
    let revoked = store.find_refresh_session(&a.token_hash).await.unwrap();
    assert_eq!(revoked.unwrap().revoked_at, Some(at));
    assert_eq!(
        store
            .revoke_user_refresh_sessions(u.id, now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.list_refresh_sessions(other.id, now()).await.unwrap(),
        [d]
    );
}

/// Current sessions exclude used, revoked and expired ones, and are ordered by id.
pub async fn list_refresh_sessions_hides_used_revoked_and_expired(store: &dyn Store) {
    let u = create_user(store).await;
    let t = now();
    let live1 = refresh_session(u.id, RefreshFamilyId::new());
    let mut used = refresh_session(u.id, RefreshFamilyId::new());
    used.used_at = Some(t);
    let mut revoked = refresh_session(u.id, RefreshFamilyId::new());
    revoked.revoked_at = Some(t);
    let mut expired = refresh_session(u.id, RefreshFamilyId::new());
    expired.expires_at = t;
    let live2 = refresh_session(u.id, RefreshFamilyId::new());
    for s in [&live1, &used, &revoked, &expired, &live2] {
        store.create_refresh_session(s).await.unwrap();
    }
    let current = store.list_refresh_sessions(u.id, t).await.unwrap();
    assert_eq!(current, [live1, live2]);
}
