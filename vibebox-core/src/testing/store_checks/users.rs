//! Users and OAuth identities.

use super::prelude::*;

/// A created user reads back equal, field for field.
pub async fn user_round_trips_every_field(store: &dyn Store) {
    let mut u = user(&unique_email());
    u.ssh_public_key = Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake test".into());
    u.notification_settings = serde_json::json!({ "email": { "digest": true } });
    u.is_platform_admin = true;
    u.last_login_at = Some(fixed_time());
    store.create_user(&u, None).await.unwrap();
    assert_eq!(store.get_user(u.id).await.unwrap(), u);
}

/// Emails are unique regardless of case.
pub async fn email_is_unique_case_insensitively(store: &dyn Store) {
    let email = unique_email();
    store.create_user(&user(&email), None).await.unwrap();
    let res = store.create_user(&user(&email.to_uppercase()), None).await;
    assert_already_exists(res, "email");

    // Whatever case the stored address has.
    let mixed = format!("Mixed.{}@Example.COM", suffix());
    store.create_user(&user(&mixed), None).await.unwrap();
    let res = store.create_user(&user(&mixed.to_lowercase()), None).await;
    assert_already_exists(res, "email");
    let found = store
        .find_user_by_email(&mixed.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.email), Some(mixed));
}

/// `find_user_by_email` ignores case.
pub async fn find_user_by_email_ignores_case(store: &dyn Store) {
    let u = create_user(store).await;
    let found = store
        .find_user_by_email(&u.email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.id), Some(u.id));
    let missing = store.find_user_by_email(&unique_email()).await.unwrap();
    assert!(missing.is_none());
}

/// Updating a user to another user's email is refused and changes nothing.
pub async fn update_user_rejects_taken_email(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let mut changed = b.clone();
    changed.email = a.email.to_uppercase();
    changed.display_name = "Changed".into();
    assert_already_exists(store.update_user(&changed).await, "email");
    assert_eq!(store.get_user(b.id).await.unwrap(), b);

    // Changing only the case of one's own email is fine.
    let mut own = b.clone();
    own.email = b.email.to_uppercase();
    store.update_user(&own).await.unwrap();
    assert_eq!(store.get_user(b.id).await.unwrap().email, own.email);
}

/// Getting or updating a user that does not exist is `NotFound` (`user`).
pub async fn missing_user_is_not_found(store: &dyn Store) {
    assert_not_found(store.get_user(UserId::new()).await, "user");
    assert_not_found(store.update_user(&user(&unique_email())).await, "user");
}

/// (provider, subject) identifies one identity.
pub async fn oauth_identity_is_unique_per_provider_subject(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let subject = suffix();
    let first = identity(a.id, "github", &subject);
    store.create_oauth_identity(&first).await.unwrap();
    let res = store
        .create_oauth_identity(&identity(b.id, "github", &subject))
        .await;
    assert_already_exists(res, "provider, subject");
    // The same subject at another provider is another identity.
    store
        .create_oauth_identity(&identity(b.id, "google", &subject))
        .await
        .unwrap();
    let found = store.find_oauth_identity("github", &subject).await.unwrap();
    assert_eq!(found, Some(first));
}

/// A user created with a taken identity is not created at all.
pub async fn create_user_with_taken_identity_creates_nothing(store: &dyn Store) {
    let a = create_user(store).await;
    let subject = suffix();
    store
        .create_oauth_identity(&identity(a.id, "github", &subject))
        .await
        .unwrap();
    let b = user(&unique_email());
    let res = store
        .create_user(&b, Some(identity(b.id, "github", &subject)))
        .await;
    assert_already_exists(res, "provider, subject");
    assert_not_found(store.get_user(b.id).await, "user");
    assert!(store.find_user_by_email(&b.email).await.unwrap().is_none());
}

/// A user created with an identity can be found through it.
pub async fn create_user_links_identity_atomically(store: &dyn Store) {
    let u = user(&unique_email());
    let subject = suffix();
    let id = identity(u.id, "google", &subject);
    store.create_user(&u, Some(id.clone())).await.unwrap();
    assert_eq!(
        store.find_oauth_identity("google", &subject).await.unwrap(),
        Some(id)
    );
    let missing = store
        .find_oauth_identity("google", &suffix())
        .await
        .unwrap();
    assert!(missing.is_none());
}

/// Linking an identity to a missing user is `NotFound` (`user`).
pub async fn oauth_identity_requires_existing_user(store: &dyn Store) {
    let res = store
        .create_oauth_identity(&identity(UserId::new(), "github", &suffix()))
        .await;
    assert_not_found(res, "user");
}

/// `count_users` counts created users.
pub async fn count_users_counts_created_users(store: &dyn Store) {
    let before = store.count_users().await.unwrap();
    create_user(store).await;
    create_user(store).await;
    assert!(store.count_users().await.unwrap() >= before + 2);
}

/// Walking `list_users` page by page visits every user once, in id order.
pub async fn pagination_cursor_walks_every_item_once(store: &dyn Store) {
    let mut mine = Vec::new();
    for _ in 0..7 {
        mine.push(create_user(store).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_users(&PageRequest { limit: 3, cursor })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), 3, "a page before the last is full");
        }
        seen.extend(page.items.iter().map(|u| u.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ordered by id, no repeats"
    );
    for id in &mine {
        assert_eq!(seen.iter().filter(|s| *s == id).count(), 1);
    }
}

/// A cursor that the store did not issue is `InvalidInput` (`cursor`).
pub async fn malformed_cursor_is_invalid_input(store: &dyn Store) {
    let bad = PageRequest {
        limit: 10,
        cursor: Some("not a cursor!".into()),
    };
    assert_invalid(store.list_users(&bad).await, "cursor");
    assert_invalid(store.list_extensions(&bad).await, "cursor");
    let u = create_user(store).await;
    assert_invalid(store.list_projects_for_user(u.id, &bad).await, "cursor");
    assert_invalid(
        store
            .list_environments(&EnvironmentFilter::default(), &bad)
            .await,
        "cursor",
    );
}
