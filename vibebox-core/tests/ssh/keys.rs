//! A user's SSH keys: add, list, remove; own keys only; the quota; the profile's key.

use vibebox_core::domain::Scope;
use vibebox_core::rbac::Actor;
use vibebox_core::service::{Patch, ProfilePatch};
use vibebox_core::store::PageRequest;
use vibebox_core::{ErrorKind, Result};

use crate::harness::*;
use crate::public_keys::ED25519;

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, field: Option<&str>) {
    let err = result.expect_err("expected an error");
    assert_eq!(err.kind(), kind, "{err}");
    if field.is_some() {
        assert_eq!(err.field(), field, "{err}");
    }
}

fn profile_key(line: Option<&str>) -> ProfilePatch {
    ProfilePatch {
        ssh_public_key: match line {
            Some(l) => Patch::Set(l.to_string()),
            None => Patch::Clear,
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn a_user_adds_lists_and_removes_their_keys() {
    let h = H::new();
    let alice = h.user("alice").await;
    let key =
        h.vb.add_ssh_key(&alice, new_key(" laptop ", ED25519))
            .await
            .unwrap();
    assert_eq!(key.name, "laptop");
    assert_eq!(key.algorithm, "ssh-ed25519");
    assert_eq!(key.comment.as_deref(), Some("test-ed25519"));
    assert_eq!(
        key.fingerprint,
        "SHA256:8my0RNUEnKfqpswH6Td8D1zouTrmlLbVtGqPC0RDuPo"
    );
    assert_eq!(key.public_key(), ED25519);
    assert_eq!(key.last_used_at, None);
    let second = h.add_key(&alice, "desktop", &random_ssh_public_key()).await;
    let page =
        h.vb.list_ssh_keys(&alice, &PageRequest::first(1))
            .await
            .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&key));
    let rest =
        h.vb.list_ssh_keys(
            &alice,
            &PageRequest {
                limit: 1,
                cursor: page.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items, std::slice::from_ref(&second));
    assert_eq!(rest.next_cursor, None);
    h.vb.remove_ssh_key(&alice, key.id).await.unwrap();
    let left = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(left.unwrap().items, [second]);
}

#[tokio::test]
async fn another_users_key_is_neither_listed_nor_removable() {
    let h = H::new();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let key = h.add_key(&alice, "laptop", &random_ssh_public_key()).await;
    let bobs = h.vb.list_ssh_keys(&bob, &PageRequest::first(10)).await;
    assert!(bobs.unwrap().items.is_empty());
    assert_kind(
        h.vb.remove_ssh_key(&bob, key.id).await,
        ErrorKind::NotFound,
        None,
    );
    let alices = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(alices.unwrap().items, [key]);
}

#[tokio::test]
async fn a_key_another_user_has_is_already_exists_naming_public_key_without_saying_whose() {
    let h = H::new();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    h.vb.add_ssh_key(&alice, new_key("laptop", ED25519))
        .await
        .unwrap();
    // The same key with another comment is the same key.
    let other_comment = format!("{} bob@elsewhere", ED25519.rsplit_once(' ').unwrap().0);
    let err =
        h.vb.add_ssh_key(&bob, new_key("mine", &other_comment))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.field(), Some("public_key"));
    assert!(!err.to_string().contains("alice"), "{err}");
    assert_kind(
        h.vb.add_ssh_key(&alice, new_key("again", ED25519)).await,
        ErrorKind::AlreadyExists,
        Some("public_key"),
    );
}

#[tokio::test]
async fn the_fifty_first_key_exceeds_the_quota() {
    let h = H::new();
    let alice = h.user("alice").await;
    for i in 0..50 {
        h.add_key(&alice, &format!("key {i}"), &random_ssh_public_key())
            .await;
    }
    let line = random_ssh_public_key().to_string();
    let err =
        h.vb.add_ssh_key(&alice, new_key("one too many", &line))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");
    assert!(err.to_string().contains("50"), "{err}");
    // Another user has their own allowance.
    let bob = h.user("bob").await;
    h.vb.add_ssh_key(&bob, new_key("first", &line))
        .await
        .unwrap();
}

#[tokio::test]
async fn key_names_are_1_to_100_characters_and_profile_is_kept_for_the_profile() {
    let h = H::new();
    let alice = h.user("alice").await;
    let line = random_ssh_public_key().to_string();
    for bad in ["", "   ", &"x".repeat(101), "profile", "Profile"] {
        assert_kind(
            h.vb.add_ssh_key(&alice, new_key(bad, &line)).await,
            ErrorKind::InvalidInput,
            Some("name"),
        );
    }
    h.vb.add_ssh_key(&alice, new_key(&"x".repeat(100), &line))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_invalid_key_is_refused_naming_public_key() {
    let h = H::new();
    let alice = h.user("alice").await;
    for bad in ["", "ssh-ed25519 AAAA", "ssh-dss AAAAB3NzaC1kc3M="] {
        assert_kind(
            h.vb.add_ssh_key(&alice, new_key("k", bad)).await,
            ErrorKind::InvalidInput,
            Some("public_key"),
        );
    }
}

#[tokio::test]
async fn an_api_key_needs_account_write_to_change_keys_and_read_to_list_them() {
    let h = H::new();
    let alice = h.user("alice").await;
    let key = h.add_key(&alice, "laptop", &random_ssh_public_key()).await;
    let read_only = Actor::ApiKey {
        user: alice.user().unwrap(),
        key_id: vibebox_core::id::ApiKeyId::new(),
        scopes: vec![Scope::Read],
    };
    assert!(
        h.vb.list_ssh_keys(&read_only, &PageRequest::first(10))
            .await
            .is_ok()
    );
    let line = random_ssh_public_key().to_string();
    assert_kind(
        h.vb.add_ssh_key(&read_only, new_key("k", &line)).await,
        ErrorKind::PermissionDenied,
        None,
    );
    assert_kind(
        h.vb.remove_ssh_key(&read_only, key.id).await,
        ErrorKind::PermissionDenied,
        None,
    );
}

#[tokio::test]
async fn adding_and_removing_a_key_are_audited_with_its_fingerprint() {
    let h = H::new();
    let alice = h.user("alice").await;
    let key = h.add_key(&alice, "laptop", &random_ssh_public_key()).await;
    h.vb.remove_ssh_key(&alice, key.id).await.unwrap();
    for action in ["user.ssh_key.add", "user.ssh_key.remove"] {
        let events = h.audit(action).await;
        assert_eq!(events.len(), 1, "{action}");
        assert_eq!(events[0].resource_type, "ssh_key");
        assert_eq!(events[0].resource_id, key.id.to_string());
        assert_eq!(events[0].details["fingerprint"], key.fingerprint.as_str());
        assert!(
            !events[0].details.to_string().contains(&key.blob),
            "the audit log keeps the fingerprint, not the key"
        );
    }
}

#[tokio::test]
async fn setting_the_profile_key_registers_it_as_the_profile_key() {
    let h = H::new();
    let alice = h.user("alice").await;
    let user =
        h.vb.update_profile(&alice, profile_key(Some(ED25519)))
            .await;
    assert_eq!(user.unwrap().ssh_public_key.as_deref(), Some(ED25519));
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    let keys = keys.unwrap().items;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "profile");
    assert_eq!(keys[0].public_key(), ED25519);
    // Setting it again changes nothing.
    h.vb.update_profile(&alice, profile_key(Some(ED25519)))
        .await
        .unwrap();
    let again = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(again.unwrap().items, keys);
}

#[tokio::test]
async fn a_new_profile_key_replaces_the_previous_and_clearing_removes_it() {
    let h = H::new();
    let alice = h.user("alice").await;
    let other = h.add_key(&alice, "laptop", &random_ssh_public_key()).await;
    h.vb.update_profile(&alice, profile_key(Some(ED25519)))
        .await
        .unwrap();
    let replacement = random_ssh_public_key();
    h.vb.update_profile(&alice, profile_key(Some(&replacement.to_string())))
        .await
        .unwrap();
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    let fingerprints: Vec<String> = keys
        .unwrap()
        .items
        .iter()
        .map(|k| k.fingerprint.clone())
        .collect();
    assert_eq!(
        fingerprints,
        [other.fingerprint.clone(), replacement.fingerprint()]
    );
    let user =
        h.vb.update_profile(&alice, profile_key(None))
            .await
            .unwrap();
    assert_eq!(user.ssh_public_key, None);
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(keys.unwrap().items, [other]);
    // A patch that leaves the field alone leaves the keys alone.
    h.vb.update_profile(&alice, profile_key(Some(ED25519)))
        .await
        .unwrap();
    h.vb.update_profile(
        &alice,
        ProfilePatch {
            display_name: Some("Alice".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(keys.unwrap().items.len(), 2);
}

#[tokio::test]
async fn removing_the_profile_key_clears_the_profile_field() {
    let h = H::new();
    let alice = h.user("alice").await;
    h.vb.update_profile(&alice, profile_key(Some(ED25519)))
        .await
        .unwrap();
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    let profile = keys.unwrap().items.remove(0);
    h.vb.remove_ssh_key(&alice, profile.id).await.unwrap();
    assert_eq!(h.vb.me(&alice).await.unwrap().ssh_public_key, None);
}

#[tokio::test]
async fn a_profile_key_another_user_has_is_refused_and_changes_nothing() {
    let h = H::new();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    h.vb.add_ssh_key(&alice, new_key("laptop", ED25519))
        .await
        .unwrap();
    assert_kind(
        h.vb.update_profile(&bob, profile_key(Some(ED25519))).await,
        ErrorKind::AlreadyExists,
        Some("ssh_public_key"),
    );
    assert_eq!(h.vb.me(&bob).await.unwrap().ssh_public_key, None);
    let keys = h.vb.list_ssh_keys(&bob, &PageRequest::first(10)).await;
    assert!(keys.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_profile_key_the_user_already_registered_is_not_registered_twice() {
    let h = H::new();
    let alice = h.user("alice").await;
    let laptop =
        h.vb.add_ssh_key(&alice, new_key("laptop", ED25519))
            .await
            .unwrap();
    let user =
        h.vb.update_profile(&alice, profile_key(Some(ED25519)))
            .await;
    assert_eq!(user.unwrap().ssh_public_key.as_deref(), Some(ED25519));
    let keys = h.vb.list_ssh_keys(&alice, &PageRequest::first(10)).await;
    assert_eq!(keys.unwrap().items, [laptop]);
}

#[tokio::test]
async fn the_profile_key_counts_toward_the_quota() {
    let h = H::with_config(vibebox_core::Config {
        max_ssh_keys_per_user: 2,
        ..Default::default()
    });
    let alice = h.user("alice").await;
    h.add_key(&alice, "a", &random_ssh_public_key()).await;
    h.vb.update_profile(&alice, profile_key(Some(ED25519)))
        .await
        .unwrap();
    // Replacing the profile key keeps the count.
    let replacement = random_ssh_public_key().to_string();
    h.vb.update_profile(&alice, profile_key(Some(&replacement)))
        .await
        .unwrap();
    let third = random_ssh_public_key().to_string();
    assert_kind(
        h.vb.add_ssh_key(&alice, new_key("b", &third)).await,
        ErrorKind::QuotaExceeded,
        None,
    );
}
