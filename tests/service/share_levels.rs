//! Port share levels (DESIGN.md §3): who may set them, and who may open a preview URL at each.

use vibebox_core::ErrorKind;
use vibebox_core::domain::{EnvironmentPort, Role, Scope, ShareLevel};
use vibebox_core::id::{ApiKeyId, PortId};
use vibebox_core::rbac::{Actor, UserActor};
use vibebox_core::service::NewPort;
use vibebox_core::store::{AuditFilter, PageRequest};

use super::harness::H;

async fn add_port(h: &H, actor: &Actor, env: vibebox_core::id::EnvironmentId) -> EnvironmentPort {
    h.vb.add_port(
        actor,
        env,
        NewPort {
            container_port: 8080,
            host_port: None,
            protocol: None,
        },
    )
    .await
    .unwrap()
}

/// The actor acting through an API key with these scopes.
fn key(actor: &Actor, scopes: &[Scope]) -> Actor {
    Actor::ApiKey {
        user: actor.user().unwrap(),
        key_id: ApiKeyId::new(),
        scopes: scopes.to_vec(),
    }
}

/// The actor's user, as a platform admin.
fn platform_admin(actor: &Actor) -> Actor {
    Actor::User(UserActor {
        id: actor.user_id().unwrap(),
        is_platform_admin: true,
    })
}

#[tokio::test]
async fn a_new_port_is_private_and_the_owner_sets_every_level() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let port = add_port(&h, &alice, env.id).await;
    assert_eq!(port.share_level, ShareLevel::Private);
    for level in ShareLevel::ALL {
        let set =
            h.vb.set_port_share_level(&alice, env.id, port.id, *level)
                .await
                .unwrap();
        assert_eq!(set.share_level, *level);
        assert_eq!((set.id, set.container_port), (port.id, 8080));
        assert_eq!(
            h.vb.list_ports(&alice, env.id, &PageRequest::first(50))
                .await
                .unwrap()
                .items,
            [set]
        );
    }
}

#[tokio::test]
async fn setting_a_share_level_follows_the_exec_row_of_the_rbac_table() {
    let h = H::new().await;
    let tara = h.user("tara").await;
    let dev = h.user("dev").await;
    let dan = h.user("dan").await;
    let vic = h.user("vic").await;
    let olga = h.user("olga").await;
    let team = h
        .team(
            &tara,
            "core",
            &[
                ("dev", Role::Developer),
                ("dan", Role::Developer),
                ("vic", Role::Viewer),
            ],
        )
        .await;
    let project = h.project(&tara, "shared", Some(&team)).await;
    let env = h.env(&dev, &project, "dev").await;
    let port = add_port(&h, &dev, env.id).await;
    let (env_id, port_id) = (env.id, port.id);
    let set = |actor: Actor, level| {
        let vb = h.vb.clone();
        async move {
            vb.set_port_share_level(&actor, env_id, port_id, level)
                .await
        }
    };
    // Allowed: the creator, a team admin, a key with `environments:exec`, the system.
    for (actor, level) in [
        (dev.clone(), ShareLevel::Team),
        (tara.clone(), ShareLevel::Public),
        (
            key(&dev, &[Scope::EnvironmentsExec]),
            ShareLevel::Authenticated,
        ),
        (Actor::System, ShareLevel::Private),
    ] {
        assert_eq!(set(actor, level).await.unwrap().share_level, level);
    }
    // Refused, and nothing changes.
    for (actor, kind) in [
        (dan.clone(), ErrorKind::PermissionDenied),
        (vic.clone(), ErrorKind::PermissionDenied),
        (
            key(&dev, &[Scope::Read, Scope::EnvironmentsWrite]),
            ErrorKind::PermissionDenied,
        ),
        (olga.clone(), ErrorKind::NotFound),
        (platform_admin(&olga), ErrorKind::NotFound),
    ] {
        let e = set(actor.clone(), ShareLevel::Public).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{actor:?}: {e}");
    }
    let e = set(olga.clone(), ShareLevel::Public).await.unwrap_err();
    assert!(e.to_string().contains("environment"), "{e}");
    assert_eq!(
        h.vb.list_ports(&vic, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items[0]
            .share_level,
        ShareLevel::Private
    );
    // A port that is not the environment's.
    let other = h.env(&dev, &project, "other").await;
    let e =
        h.vb.set_port_share_level(&dev, other.id, port.id, ShareLevel::Public)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("port"), "{e}");
    let e =
        h.vb.set_port_share_level(&dev, env.id, PortId::new(), ShareLevel::Public)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_share_level_change_is_audited_with_the_port_and_level() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let port = add_port(&h, &alice, env.id).await;
    h.vb.set_port_share_level(&alice, env.id, port.id, ShareLevel::Authenticated)
        .await
        .unwrap();
    let audit = h
        .store
        .list_audit(&AuditFilter::default(), &PageRequest::first(50))
        .await
        .unwrap();
    let events: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action == "environment.port_share")
        .collect();
    assert_eq!(events.len(), 1, "{audit:?}");
    assert_eq!(events[0].resource_type, "environment");
    assert_eq!(events[0].resource_id, env.id.to_string());
    assert_eq!(events[0].details["port"], 8080);
    assert_eq!(events[0].details["share_level"], "authenticated");
}

/// Expected answers of `may_open_preview` at private, team, authenticated and public.
type Row = (&'static str, Option<Actor>, [bool; 4]);

const LEVELS: [ShareLevel; 4] = [
    ShareLevel::Private,
    ShareLevel::Team,
    ShareLevel::Authenticated,
    ShareLevel::Public,
];

#[tokio::test]
async fn who_may_open_a_preview_follows_the_ports_share_level() {
    let h = H::new().await;
    // A personal project of alice's, and a team project with an environment `dev` created.
    let (alice, personal_project, personal_env) = h.owner_with_env("alice").await;
    let tara = h.user("tara").await;
    let dev = h.user("dev").await;
    let dan = h.user("dan").await;
    let vic = h.user("vic").await;
    let olga = h.user("olga").await;
    let team = h
        .team(
            &tara,
            "core",
            &[
                ("dev", Role::Developer),
                ("dan", Role::Developer),
                ("vic", Role::Viewer),
            ],
        )
        .await;
    let team_project = h.project(&tara, "shared", Some(&team)).await;
    let team_env = h.env(&dev, &team_project, "web").await;

    const ALL: [bool; 4] = [true, true, true, true];
    const TEAM_UP: [bool; 4] = [false, true, true, true];
    const SIGNED_IN: [bool; 4] = [false, false, true, true];
    const ANYONE: [bool; 4] = [false, false, false, true];
    let team_rows: Vec<Row> = vec![
        ("team admin", Some(tara.clone()), ALL),
        ("developer who created it", Some(dev.clone()), ALL),
        ("other developer", Some(dan.clone()), TEAM_UP),
        ("viewer", Some(vic.clone()), TEAM_UP),
        ("user outside the team", Some(olga.clone()), SIGNED_IN),
        (
            "platform admin outside",
            Some(platform_admin(&olga)),
            SIGNED_IN,
        ),
        (
            "personal owner of another project",
            Some(alice.clone()),
            SIGNED_IN,
        ),
        (
            "creator's key, read",
            Some(key(&dev, &[Scope::Read])),
            TEAM_UP,
        ),
        (
            "creator's key, exec",
            Some(key(&dev, &[Scope::EnvironmentsExec])),
            ALL,
        ),
        (
            "creator's key, write only",
            Some(key(&dev, &[Scope::EnvironmentsWrite])),
            SIGNED_IN,
        ),
        (
            "viewer's key, read",
            Some(key(&vic, &[Scope::Read])),
            TEAM_UP,
        ),
        (
            "viewer's key, exec",
            Some(key(&vic, &[Scope::EnvironmentsExec])),
            SIGNED_IN,
        ),
        (
            "outsider's key, every scope",
            Some(key(&olga, Scope::ALL)),
            SIGNED_IN,
        ),
        ("the system", Some(Actor::System), ALL),
        ("anonymous", None, ANYONE),
    ];
    let personal_rows: Vec<Row> = vec![
        ("personal owner", Some(alice.clone()), ALL),
        (
            "owner's key, read",
            Some(key(&alice, &[Scope::Read])),
            TEAM_UP,
        ),
        (
            "owner's key, exec",
            Some(key(&alice, &[Scope::EnvironmentsExec])),
            ALL,
        ),
        ("team admin elsewhere", Some(tara.clone()), SIGNED_IN),
        ("user outside", Some(olga.clone()), SIGNED_IN),
        (
            "platform admin outside",
            Some(platform_admin(&olga)),
            SIGNED_IN,
        ),
        ("the system", Some(Actor::System), ALL),
        ("anonymous", None, ANYONE),
    ];
    for (env, project, rows) in [
        (&team_env, &team_project, team_rows),
        (&personal_env, &personal_project, personal_rows),
    ] {
        for (who, actor, expected) in rows {
            for (level, want) in LEVELS.iter().zip(expected) {
                let got =
                    h.vb.may_open_preview(actor.as_ref(), env, project, *level)
                        .await
                        .unwrap();
                assert_eq!(got, want, "{who} at {level} in {}", project.slug);
            }
        }
    }
    // A project that is not the environment's is refused outright.
    for level in LEVELS {
        let got =
            h.vb.may_open_preview(Some(&alice), &team_env, &personal_project, level)
                .await
                .unwrap();
        assert!(!got, "mismatched project at {level}");
    }
}
