use vibebox_core::ErrorKind;
use vibebox_core::domain::Role;
use vibebox_core::service::{NewProject, ProjectPatch, TeamPatch};
use vibebox_core::store::PageRequest;

use super::harness::{H, new_env};

#[tokio::test]
async fn team_creator_becomes_its_admin_and_members_see_it() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let team = h.team(&alice, "core", &[("bob", Role::Viewer)]).await;
    let members =
        h.vb.list_members(&bob, team.id, &PageRequest::first(10))
            .await
            .unwrap();
    let alice_m = members
        .items
        .iter()
        .find(|m| Some(m.membership.user_id) == alice.user_id())
        .unwrap();
    assert_eq!(alice_m.membership.role, Role::Admin);
    assert_eq!(
        h.vb.list_teams(&bob, &PageRequest::first(10))
            .await
            .unwrap()
            .items[0]
            .id,
        team.id
    );
}

#[tokio::test]
async fn team_members_see_each_others_display_names_and_emails() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let team = h.team(&alice, "core", &[("bob", Role::Viewer)]).await;
    let members =
        h.vb.list_members(&bob, team.id, &PageRequest::first(10))
            .await
            .unwrap();
    let mut seen: Vec<_> = members
        .items
        .iter()
        .map(|m| {
            (
                m.membership.user_id,
                m.membership.role,
                m.display_name.as_deref(),
                m.email.as_deref(),
            )
        })
        .collect();
    seen.sort_by_key(|(_, role, _, _)| *role);
    assert_eq!(
        seen,
        [
            (
                bob.user_id().unwrap(),
                Role::Viewer,
                Some("bob"),
                Some("bob@example.com")
            ),
            (
                alice.user_id().unwrap(),
                Role::Admin,
                Some("alice"),
                Some("alice@example.com")
            ),
        ]
    );
    // Strangers still cannot list the team.
    let stranger = h.user("stranger").await;
    let e =
        h.vb.list_members(&stranger, team.id, &PageRequest::first(10))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_team_always_keeps_one_admin() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let team = h.team(&alice, "core", &[]).await;
    let me = alice.user_id().unwrap();
    let e =
        h.vb.update_member_role(&alice, team.id, me, Role::Developer)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let e = h.vb.remove_member(&alice, team.id, me).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn only_team_admins_manage_the_team_and_strangers_do_not_see_it() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let dev = h.user("dev").await;
    let stranger = h.user("stranger").await;
    let team = h.team(&alice, "core", &[("dev", Role::Developer)]).await;
    let patch = || TeamPatch {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    assert_eq!(
        h.vb.update_team(&dev, team.id, patch())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        h.vb.update_team(&stranger, team.id, patch())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        h.vb.get_team(&stranger, team.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        h.vb.update_team(&alice, team.id, patch())
            .await
            .unwrap()
            .name,
        "Renamed"
    );
    // Any member may leave.
    h.vb.remove_member(&dev, team.id, dev.user_id().unwrap())
        .await
        .unwrap();
    assert_eq!(
        h.vb.get_team(&dev, team.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn viewers_cannot_create_team_projects_and_strangers_get_not_found() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let viewer = h.user("viewer").await;
    let stranger = h.user("stranger").await;
    let team = h.team(&alice, "core", &[("viewer", Role::Viewer)]).await;
    let new = || NewProject {
        name: "P".into(),
        slug: "proj".into(),
        team_id: Some(team.id),
    };
    assert_eq!(
        h.vb.create_project(&viewer, new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        h.vb.create_project(&stranger, new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let project = h.vb.create_project(&alice, new()).await.unwrap();
    assert_eq!(
        h.vb.get_project(&stranger, project.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    h.vb.get_project(&viewer, project.id).await.unwrap();
    let e = h.vb.create_project(&alice, new()).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::AlreadyExists, Some("slug"))
    );
}

#[tokio::test]
async fn developers_update_but_cannot_archive_or_delete_team_projects() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let dev = h.user("dev").await;
    let team = h.team(&alice, "core", &[("dev", Role::Developer)]).await;
    let project = h.project(&alice, "proj", Some(&team)).await;
    h.vb.update_project(
        &dev,
        project.id,
        ProjectPatch {
            name: Some("New name".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let archive = ProjectPatch {
        is_archived: Some(true),
        ..Default::default()
    };
    assert_eq!(
        h.vb.update_project(&dev, project.id, archive.clone())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        h.vb.delete_project(&dev, project.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let archived =
        h.vb.update_project(&alice, project.id, archive)
            .await
            .unwrap();
    assert!(archived.is_archived);
    let e =
        h.vb.create_environment(&alice, new_env(&project, "dev"))
            .await
            .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Conflict,
        "archived projects take no new environments"
    );
}

#[tokio::test]
async fn deleting_a_project_with_a_running_environment_is_refused() {
    let h = H::new().await;
    let (alice, project, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let e = h.vb.delete_project(&alice, project.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    h.vb.delete_project(&alice, project.id).await.unwrap();
    assert_eq!(
        h.rt.container_count(),
        0,
        "the stopped container is removed"
    );
    assert_eq!(
        h.vb.get_environment(&alice, env.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn deleting_a_team_removes_its_projects() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let team = h.team(&alice, "core", &[]).await;
    let project = h.project(&alice, "proj", Some(&team)).await;
    let env = h.env(&alice, &project, "dev").await;
    h.vb.delete_team(&alice, team.id).await.unwrap();
    assert_eq!(
        h.vb.get_project(&alice, project.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        h.vb.get_environment(&alice, env.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn team_audit_log_is_for_team_admins() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let _dev = h.user("dev").await;
    let dev = h.vb.actor_for_user(_dev.user_id().unwrap()).await.unwrap();
    let team = h.team(&alice, "core", &[("dev", Role::Developer)]).await;
    h.project(&alice, "proj", Some(&team)).await;
    let log =
        h.vb.list_team_audit(&alice, team.id, &PageRequest::first(50))
            .await
            .unwrap();
    let actions: Vec<_> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["project.create", "team.member.add", "team.create"]
    );
    assert_eq!(
        h.vb.list_team_audit(&dev, team.id, &PageRequest::first(50))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}
