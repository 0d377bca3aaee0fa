use secrecy::SecretString;
use vibebox_core::ErrorKind;
use vibebox_core::service::{OAuthProfile, Patch, ProfilePatch, Registration, UserAdminPatch};
use vibebox_core::store::PageRequest;

use super::harness::{H, PASSWORD};

#[tokio::test]
async fn first_registered_user_becomes_platform_admin() {
    let h = H::new().await;
    let first = h.user("alice").await;
    let second = h.user("bob").await;
    assert!(first.user().unwrap().is_platform_admin);
    assert!(!second.user().unwrap().is_platform_admin);
}

#[tokio::test]
async fn registration_rejects_invalid_input_naming_the_field() {
    let h = H::new().await;
    let reg = |email: &str, password: &str, name: &str| Registration {
        email: email.into(),
        password: SecretString::from(password.to_string()),
        display_name: name.into(),
    };
    for (r, field) in [
        (reg("not-an-email", PASSWORD, "A"), "email"),
        (reg("a@example.com", "short", "A"), "password"),
        (reg("a@example.com", "password123", "A"), "password"),
        (reg("a@example.com", PASSWORD, ""), "display_name"),
    ] {
        let e = h.vb.register(r).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(field));
    }
    assert_eq!(
        h.store.count_users().await.unwrap(),
        0,
        "nothing half-written"
    );
}

#[tokio::test]
async fn email_is_unique_case_insensitively() {
    let h = H::new().await;
    h.user("alice").await;
    let e =
        h.vb.register(Registration {
            email: "ALICE@Example.com".into(),
            password: SecretString::from(PASSWORD),
            display_name: "Other".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.field(), Some("email"));
}

#[tokio::test]
async fn login_fails_the_same_way_for_wrong_password_and_unknown_email() {
    let h = H::new().await;
    h.user("alice").await;
    let wrong =
        h.vb.login("alice@example.com", &SecretString::from("wrong password!"))
            .await
            .unwrap_err();
    let unknown =
        h.vb.login("nobody@example.com", &SecretString::from(PASSWORD))
            .await
            .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Unauthenticated);
    assert_eq!(wrong.to_string(), unknown.to_string());
    let ok =
        h.vb.login("Alice@Example.com", &SecretString::from(PASSWORD))
            .await
            .unwrap();
    assert!(ok.last_login_at.is_some());
}

#[tokio::test]
async fn disabled_user_cannot_log_in_or_act() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let bob = h.user("bob").await;
    let bob_id = bob.user_id().unwrap();
    let issued = h.sign_in(&bob).await;
    h.vb.set_user_disabled(&admin, bob_id, true).await.unwrap();
    let e =
        h.vb.login("bob@example.com", &SecretString::from(PASSWORD))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        h.vb.actor_for_user(bob_id).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    let e =
        h.vb.rotate_refresh_token(&issued.token, Default::default())
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn only_platform_admins_manage_users() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let bob = h.user("bob").await;
    let e =
        h.vb.list_users(&bob, &PageRequest::first(10))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        h.vb.list_users(&admin, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let e =
        h.vb.set_user_disabled(&admin, admin.user_id().unwrap(), true)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("disabled"));
}

#[tokio::test]
async fn sign_up_answers_a_taken_email_like_a_free_one_and_changes_nothing() {
    let h = H::new().await;
    let registration = |email: &str, password: &str| Registration {
        email: email.into(),
        password: SecretString::from(password.to_string()),
        display_name: "Someone".into(),
    };
    h.vb.sign_up(registration("carol@example.com", PASSWORD))
        .await
        .unwrap();
    h.vb.sign_up(registration("CAROL@example.com", "another long password"))
        .await
        .unwrap();
    // The first password still signs in; the second never does.
    h.vb.login("carol@example.com", &SecretString::from(PASSWORD))
        .await
        .unwrap();
    let e =
        h.vb.login(
            "carol@example.com",
            &SecretString::from("another long password"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    // Rules still name their field.
    let e =
        h.vb.sign_up(registration("dave@example.com", "short"))
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("password"));
}

#[tokio::test]
async fn an_admin_patch_is_checked_whole_before_anything_changes() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let bob = h.user("bob").await;
    let bob_id = bob.user_id().unwrap();
    let admin_id = admin.user_id().unwrap();
    // A patch whose second half is refused (demoting oneself) changes nothing.
    let e =
        h.vb.administer_user(
            &admin,
            admin_id,
            UserAdminPatch {
                disabled: Some(false),
                is_platform_admin: Some(false),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("is_platform_admin"));
    assert!(h.vb.me(&admin).await.unwrap().is_platform_admin);
    let both =
        h.vb.administer_user(
            &admin,
            bob_id,
            UserAdminPatch {
                disabled: Some(true),
                is_platform_admin: Some(true),
            },
        )
        .await
        .unwrap();
    assert!(both.disabled && both.is_platform_admin);
    let e =
        h.vb.administer_user(&admin, bob_id, UserAdminPatch::default())
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn profile_update_validates_the_ssh_key() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let e =
        h.vb.update_profile(
            &alice,
            ProfilePatch {
                ssh_public_key: Patch::Set("ssh-ed25519 not-base64!".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("ssh_public_key"));
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
    let user =
        h.vb.update_profile(
            &alice,
            ProfilePatch {
                ssh_public_key: Patch::Set(key.into()),
                display_name: Some("Alice A.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(user.ssh_public_key.as_deref(), Some(key));
    assert_eq!(user.display_name, "Alice A.");
    let user =
        h.vb.update_profile(
            &alice,
            ProfilePatch {
                ssh_public_key: Patch::Clear,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(user.ssh_public_key, None);
}

#[tokio::test]
async fn oauth_users_are_identified_by_provider_and_subject_never_by_email() {
    let h = H::new().await;
    let profile = |email: &str| OAuthProfile {
        provider: "github".into(),
        subject: "12345".into(),
        email: Some(email.into()),
        display_name: Some("Octo".into()),
    };
    let first = h.vb.oauth_login(profile("octo@example.com")).await.unwrap();
    // The provider now reports another email: still the same account.
    let again =
        h.vb.oauth_login(profile("changed@example.com"))
            .await
            .unwrap();
    assert_eq!(first.id, again.id);
    assert!(first.password_hash.is_none());
    // Another subject with an email that belongs to an existing account is not linked.
    h.user("alice").await;
    let e =
        h.vb.oauth_login(OAuthProfile {
            subject: "999".into(),
            ..profile("alice@example.com")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}
