//! Users' SSH public keys.

use super::prelude::*;

/// A fingerprint names one key across all users: another user adding it, or the same user
/// adding it twice, is `AlreadyExists` naming `public_key`, and nothing is stored.
pub async fn ssh_key_fingerprint_is_unique_across_users(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let key = ssh_key(a.id, "laptop");
    store.create_ssh_key(&key).await.unwrap();
    for user in [b.id, a.id] {
        let mut dup = ssh_key(user, "copy");
        dup.fingerprint = key.fingerprint.clone();
        dup.blob = key.blob.clone();
        let err = store.create_ssh_key(&dup).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert_eq!(err.field(), Some("public_key"), "{err}");
        assert!(!err.to_string().contains(&a.email), "{err}");
    }
    assert_eq!(store.count_ssh_keys(b.id).await.unwrap(), 0);
    assert_eq!(store.count_ssh_keys(a.id).await.unwrap(), 1);
    let found = store
        .find_ssh_key_by_fingerprint(&key.fingerprint)
        .await
        .unwrap();
    assert_eq!(found, Some(key));
    let unknown = random_ssh_public_key().fingerprint();
    assert_eq!(
        store.find_ssh_key_by_fingerprint(&unknown).await.unwrap(),
        None
    );
}

/// Every field of a key reads back as written, timestamps to the microsecond.
pub async fn ssh_key_round_trips_every_field(store: &dyn Store) {
    let u = create_user(store).await;
    let mut key = ssh_key(u.id, "work laptop");
    key.comment = Some("me@work laptop".into());
    key.created_at = fixed_time();
    key.updated_at = fixed_time();
    store.create_ssh_key(&key).await.unwrap();
    assert_eq!(store.get_ssh_key(u.id, key.id).await.unwrap(), key);
    let mut bare = ssh_key(u.id, "bare");
    bare.comment = None;
    store.create_ssh_key(&bare).await.unwrap();
    assert_eq!(store.get_ssh_key(u.id, bare.id).await.unwrap(), bare);
}

/// A key needs an existing user.
pub async fn ssh_key_requires_existing_user(store: &dyn Store) {
    let key = ssh_key(UserId::new(), "orphan");
    assert_not_found(store.create_ssh_key(&key).await, "user");
    assert_eq!(
        store
            .find_ssh_key_by_fingerprint(&key.fingerprint)
            .await
            .unwrap(),
        None
    );
}

/// A user's keys are listed in id order, page by page, without other users' keys.
pub async fn ssh_keys_are_listed_per_user_and_paged_by_id(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let key = ssh_key(a.id, name);
        store.create_ssh_key(&key).await.unwrap();
        ids.push(key.id);
    }
    store.create_ssh_key(&ssh_key(b.id, "other")).await.unwrap();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store.list_ssh_keys(a.id, &page).await.unwrap();
        assert!(got.items.len() <= 2);
        assert!(got.items.iter().all(|k| k.user_id == a.id));
        seen.extend(got.items.iter().map(|k| k.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(store.count_ssh_keys(a.id).await.unwrap(), 3);
    let bad = PageRequest {
        limit: 10,
        cursor: Some("nope".into()),
    };
    assert_invalid(store.list_ssh_keys(a.id, &bad).await, "cursor");
}

/// Only its user reads or deletes a key; another user is told it does not exist.
pub async fn ssh_key_is_read_and_deleted_only_by_its_user(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let key = ssh_key(a.id, "laptop");
    store.create_ssh_key(&key).await.unwrap();
    assert_not_found(store.get_ssh_key(b.id, key.id).await, "ssh_key");
    assert_not_found(store.delete_ssh_key(b.id, key.id).await, "ssh_key");
    assert_not_found(store.delete_ssh_key(a.id, SshKeyId::new()).await, "ssh_key");
    assert_eq!(store.count_ssh_keys(a.id).await.unwrap(), 1);
    store.delete_ssh_key(a.id, key.id).await.unwrap();
    assert_not_found(store.get_ssh_key(a.id, key.id).await, "ssh_key");
    assert_eq!(
        store
            .find_ssh_key_by_fingerprint(&key.fingerprint)
            .await
            .unwrap(),
        None
    );
    // The fingerprint is free again.
    let mut again = ssh_key(b.id, "now bob's");
    again.fingerprint = key.fingerprint.clone();
    again.blob = key.blob.clone();
    store.create_ssh_key(&again).await.unwrap();
}

/// A sign-in records the time of last use; touching a key that is gone is not an error.
pub async fn touching_an_ssh_key_records_its_last_use(store: &dyn Store) {
    let u = create_user(store).await;
    let key = ssh_key(u.id, "laptop");
    store.create_ssh_key(&key).await.unwrap();
    store.touch_ssh_key(key.id, fixed_time()).await.unwrap();
    let stored = store.get_ssh_key(u.id, key.id).await.unwrap();
    assert_eq!(stored.last_used_at, Some(fixed_time()));
    assert_eq!(stored.updated_at, key.updated_at);
    store
        .touch_ssh_key(SshKeyId::new(), fixed_time())
        .await
        .unwrap();
}
