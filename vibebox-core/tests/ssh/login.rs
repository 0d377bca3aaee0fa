//! `Vibebox::authorize_ssh`: who may open which environment over SSH, the one answer every
//! refusal gets, throttling, the audit log, and `ssh_grant_valid` for open connections.

use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, Role};
use vibebox_core::rbac::Actor;
use vibebox_core::service::ProjectPatch;
use vibebox_core::ssh::PublicKeyLine;
use vibebox_core::throttle::ThrottlePolicy;
use vibebox_core::{Error, ErrorKind, Result};

use crate::harness::*;

/// A team `core` of `alice` (admin) with `dev` (developer) and `viewer`; its project `shop`
/// with environment `dev` created by `dev`; `stranger` outside; each with a key.
struct World {
    h: H,
    alice: (Actor, PublicKeyLine),
    dev: (Actor, PublicKeyLine),
    viewer: (Actor, PublicKeyLine),
    stranger: (Actor, PublicKeyLine),
    env: Environment,
}

impl World {
    async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    async fn with_config(config: Config) -> Self {
        let h = H::with_config(config);
        let alice = h.user("alice").await;
        let dev = h.user("dev").await;
        let viewer = h.user("viewer").await;
        let stranger = h.user("stranger").await;
        let team = h
            .team(
                &alice,
                "core",
                &[(&dev, Role::Developer), (&viewer, Role::Viewer)],
            )
            .await;
        let project = h.project(&alice, "shop", Some(&team)).await;
        let env = h.env(&dev, &project, "dev").await;
        let keys = [
            h.fresh_key(&alice).await,
            h.fresh_key(&dev).await,
            h.fresh_key(&viewer).await,
            h.fresh_key(&stranger).await,
        ];
        let [ka, kd, kv, ks] = keys;
        Self {
            h,
            alice: (alice, ka),
            dev: (dev, kd),
            viewer: (viewer, kv),
            stranger: (stranger, ks),
            env,
        }
    }
}

/// Asserts the one answer every refusal gets.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T>) {
    let err = result.expect_err("expected a refusal");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert_eq!(err.to_string(), Error::Unauthenticated.to_string());
    assert!(matches!(err, Error::Unauthenticated), "{err:?}");
}

#[tokio::test]
async fn the_team_admin_and_the_creating_developer_may_sign_in_by_slugs_or_id() {
    let w = World::new().await;
    let id = w.env.id.to_string();
    for (actor, key) in [&w.alice, &w.dev] {
        for username in ["shop.dev", "Shop.Dev", id.as_str()] {
            let grant = w.h.login(username, key, ip("192.0.2.1")).await.unwrap();
            assert_eq!(grant.environment.id, w.env.id, "{username}");
            assert_eq!(grant.user_id, actor.user_id().unwrap());
            assert_eq!(grant.actor.user_id(), actor.user_id());
            assert_eq!(grant.fingerprint, key.fingerprint());
        }
    }
}

#[tokio::test]
async fn the_owner_of_a_personal_project_may_sign_in() {
    let h = H::new();
    let owner = h.user("owner").await;
    let project = h.project(&owner, "mine", None).await;
    let env = h.env(&owner, &project, "box").await;
    let key = h.fresh_key(&owner).await;
    let grant = h.login("mine.box", &key, None).await.unwrap();
    assert_eq!(grant.environment.id, env.id);
}

#[tokio::test]
async fn viewer_stranger_and_a_developer_on_anothers_environment_are_refused_alike() {
    let w = World::new().await;
    let id = w.env.id.to_string();
    // A developer may exec only in environments they created (DESIGN.md §3).
    let alices_env = {
        let project = w.h.store.get_project(w.env.project_id).await.unwrap();
        w.h.env(&w.alice.0, &project, "admin-env").await
    };
    for username in ["shop.dev", id.as_str()] {
        assert_refused(w.h.login(username, &w.viewer.1, None).await);
        assert_refused(w.h.login(username, &w.stranger.1, None).await);
    }
    assert_refused(w.h.login("shop.admin-env", &w.dev.1, None).await);
    assert_refused(w.h.login(&alices_env.id.to_string(), &w.dev.1, None).await);
}

#[tokio::test]
async fn unknown_removed_and_disabled_keys_and_wrong_usernames_are_refused_alike() {
    let w = World::new().await;
    // A key nobody registered.
    assert_refused(w.h.login("shop.dev", &random_ssh_public_key(), None).await);
    // Usernames that name nothing, or an environment that does not exist.
    // (From a new address each, to stay under the throttle.)
    for (i, username) in [
        "root",
        "shop",
        "shop.prod",
        "nope.dev",
        "shop.dev.extra",
        "",
        &vibebox_core::id::EnvironmentId::new().to_string(),
    ]
    .iter()
    .enumerate()
    {
        let peer = ip(&format!("192.0.2.{i}"));
        assert_refused(w.h.login(username, &w.alice.1, peer).await);
    }
    // A removed key.
    let keys =
        w.h.vb
            .list_ssh_keys(&w.dev.0, &vibebox_core::store::PageRequest::first(10))
            .await
            .unwrap();
    w.h.vb
        .remove_ssh_key(&w.dev.0, keys.items[0].id)
        .await
        .unwrap();
    assert_refused(w.h.login("shop.dev", &w.dev.1, None).await);
    // A disabled user.
    w.h.disable(&w.alice.0).await;
    assert_refused(w.h.login("shop.dev", &w.alice.1, None).await);
}

#[tokio::test]
async fn same_slug_projects_count_only_when_the_keys_user_can_see_them() {
    let h = H::new();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let alices = h.project(&alice, "shop", None).await;
    let bobs = h.project(&bob, "shop", None).await;
    let alice_env = h.env(&alice, &alices, "dev").await;
    let bob_env = h.env(&bob, &bobs, "dev").await;
    let alice_key = h.fresh_key(&alice).await;
    let bob_key = h.fresh_key(&bob).await;
    let grant = h.login("shop.dev", &alice_key, None).await.unwrap();
    assert_eq!(grant.environment.id, alice_env.id);
    let grant = h.login("shop.dev", &bob_key, None).await.unwrap();
    assert_eq!(grant.environment.id, bob_env.id);
}

#[tokio::test]
async fn a_name_that_still_matches_two_visible_environments_is_refused_but_the_id_works() {
    let h = H::new();
    let alice = h.user("alice").await;
    let team = h.team(&alice, "core", &[]).await;
    let personal = h.project(&alice, "shop", None).await;
    let shared = h.project(&alice, "shop", Some(&team)).await;
    let one = h.env(&alice, &personal, "dev").await;
    h.env(&alice, &shared, "dev").await;
    let key = h.fresh_key(&alice).await;
    assert_refused(h.login("shop.dev", &key, None).await);
    let grant = h.login(&one.id.to_string(), &key, None).await.unwrap();
    assert_eq!(grant.environment.id, one.id);
    // Archiving one project leaves one match.
    h.vb.update_project(
        &alice,
        shared.id,
        ProjectPatch {
            is_archived: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let grant = h.login("shop.dev", &key, None).await.unwrap();
    assert_eq!(grant.environment.id, one.id);
}

#[tokio::test]
async fn a_sign_in_records_the_keys_last_use_and_an_audit_event_with_fingerprint_and_peer() {
    let w = World::new().await;
    let grant =
        w.h.login("shop.dev", &w.dev.1, ip("198.51.100.7"))
            .await
            .unwrap();
    let key =
        w.h.store
            .get_ssh_key(grant.user_id, grant.key_id)
            .await
            .unwrap();
    assert_eq!(key.last_used_at, Some(w.h.vb.clock().now()));
    let events = w.h.audit("environment.ssh_login").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.resource_type, "environment");
    assert_eq!(event.resource_id, w.env.id.to_string());
    assert_eq!(event.details["fingerprint"], w.dev.1.fingerprint().as_str());
    assert_eq!(event.details["peer"], "198.51.100.7");
    assert_eq!(event.ip.as_deref(), Some("198.51.100.7"));
    assert!(
        event.team_id.is_some(),
        "team admins see it in the team's log"
    );
    assert_eq!(
        event.actor,
        w.dev.0.audit_actor(),
        "the key's user is the actor"
    );
}

#[tokio::test]
async fn a_refusal_is_audited_with_a_reason_and_no_key_material() {
    let w = World::new().await;
    let _ =
        w.h.login("shop.dev\u{1b}[2J", &w.viewer.1, ip("203.0.113.5"))
            .await;
    let events = w.h.audit("auth.ssh_login_failed").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.resource_id, w.viewer.1.fingerprint());
    assert_eq!(event.ip.as_deref(), Some("203.0.113.5"));
    assert!(event.details["reason"].is_string());
    let text = event.details.to_string();
    assert!(!text.contains(&w.viewer.1.blob_base64()), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "control characters are dropped: {text}"
    );
}

#[tokio::test]
async fn after_five_failures_from_one_address_a_key_is_throttled_there_only() {
    let w = World::new().await;
    for _ in 0..5 {
        assert_refused(w.h.login("shop.dev", &w.viewer.1, ip("203.0.113.1")).await);
    }
    assert_refused(w.h.login("shop.dev", &w.viewer.1, ip("203.0.113.1")).await);
    let err =
        w.h.login("shop.dev", &w.viewer.1, ip("203.0.113.1"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    // The same key elsewhere, and another key here, are not affected.
    assert_refused(w.h.login("shop.dev", &w.viewer.1, ip("203.0.113.2")).await);
    w.h.login("shop.dev", &w.dev.1, ip("203.0.113.1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_address_is_throttled_after_its_hourly_failures_over_all_keys() {
    let w = World::with_config(Config {
        ssh_login_throttle: ThrottlePolicy {
            free_failures: 100,
            address_failures_per_hour: 3,
            ..ThrottlePolicy::default()
        },
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        let unknown = random_ssh_public_key();
        assert_refused(w.h.login("shop.dev", &unknown, ip("203.0.113.9")).await);
    }
    // Even a good key is held off at that address, with a distinct error.
    let err =
        w.h.login("shop.dev", &w.dev.1, ip("203.0.113.9"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    w.h.login("shop.dev", &w.dev.1, ip("203.0.113.10"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_key_is_throttled_after_its_hourly_failures_over_all_addresses() {
    let w = World::with_config(Config {
        ssh_login_throttle: ThrottlePolicy {
            free_failures: 100,
            account_failures_per_hour: 3,
            ..ThrottlePolicy::default()
        },
        ..Default::default()
    })
    .await;
    for i in 1..=3 {
        let peer = format!("203.0.113.{i}");
        assert_refused(w.h.login("shop.dev", &w.viewer.1, ip(&peer)).await);
    }
    let err =
        w.h.login("shop.dev", &w.viewer.1, ip("203.0.113.99"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    // Other keys from that address are not affected.
    w.h.login("shop.dev", &w.dev.1, ip("203.0.113.99"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_grant_holds_until_the_key_is_removed() {
    let w = World::new().await;
    let grant = w.h.login("shop.dev", &w.dev.1, None).await.unwrap();
    assert!(w.h.vb.ssh_grant_valid(&grant).await.unwrap());
    w.h.vb.remove_ssh_key(&w.dev.0, grant.key_id).await.unwrap();
    assert!(!w.h.vb.ssh_grant_valid(&grant).await.unwrap());
}

#[tokio::test]
async fn a_grant_ends_when_the_user_is_disabled() {
    let w = World::new().await;
    let grant = w.h.login("shop.dev", &w.dev.1, None).await.unwrap();
    w.h.disable(&w.dev.0).await;
    assert!(!w.h.vb.ssh_grant_valid(&grant).await.unwrap());
}

#[tokio::test]
async fn a_grant_ends_when_the_user_may_no_longer_exec_there() {
    let w = World::new().await;
    let grant = w.h.login("shop.dev", &w.dev.1, None).await.unwrap();
    let project = w.h.store.get_project(w.env.project_id).await.unwrap();
    let team = project.owner.team_id().unwrap();
    w.h.store
        .update_member_role(
            team,
            w.dev.0.user_id().unwrap(),
            Role::Viewer,
            w.h.vb.clock().now(),
        )
        .await
        .unwrap();
    assert!(!w.h.vb.ssh_grant_valid(&grant).await.unwrap());
}

#[tokio::test]
async fn a_grant_ends_when_the_environment_is_deleted() {
    let w = World::new().await;
    let grant = w.h.login("shop.dev", &w.alice.1, None).await.unwrap();
    w.h.vb
        .delete_environment(&w.alice.0, w.env.id)
        .await
        .unwrap();
    assert!(!w.h.vb.ssh_grant_valid(&grant).await.unwrap());
}
