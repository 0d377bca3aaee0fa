//! Teams and memberships.

use super::prelude::*;

/// Team slugs are unique; a duplicate creates neither team nor membership.
pub async fn team_slug_is_unique(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let slug = unique_slug("team");
    let first = team(&slug);
    store
        .create_team(&first, &membership(first.id, a.id, Role::Admin))
        .await
        .unwrap();
    let second = team(&slug);
    let res = store
        .create_team(&second, &membership(second.id, b.id, Role::Admin))
        .await;
    assert_already_exists(res, "slug");
    assert_not_found(store.get_team(second.id).await, "team");
    assert!(
        store
            .list_memberships_for_user(b.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Renaming a team onto a taken slug is refused too.
    let other = create_team(store, &b).await;
    let mut renamed = other.clone();
    renamed.slug = slug;
    assert_already_exists(store.update_team(&renamed).await, "slug");
    assert_eq!(store.get_team(other.id).await.unwrap(), other);
}

/// The first member of a team must be an admin.
pub async fn create_team_requires_admin_role(store: &dyn Store) {
    let u = create_user(store).await;
    let t = team(&unique_slug("team"));
    let res = store
        .create_team(&t, &membership(t.id, u.id, Role::Developer))
        .await;
    assert_invalid(res, "role");
    assert_not_found(store.get_team(t.id).await, "team");
}

/// A team's first admin must exist; nothing is created otherwise.
pub async fn create_team_requires_existing_user(store: &dyn Store) {
    let t = team(&unique_slug("team"));
    let res = store
        .create_team(&t, &membership(t.id, UserId::new(), Role::Admin))
        .await;
    assert_not_found(res, "user");
    assert_not_found(store.get_team(t.id).await, "team");
}

/// Teams that do not exist are `NotFound` (`team`) for get, update, delete and add_member.
pub async fn missing_team_is_not_found(store: &dyn Store) {
    let u = create_user(store).await;
    let ghost = team(&unique_slug("team"));
    assert_not_found(store.get_team(ghost.id).await, "team");
    assert_not_found(store.update_team(&ghost).await, "team");
    assert_not_found(store.delete_team(ghost.id).await, "team");
    assert_not_found(
        store
            .add_member(&membership(ghost.id, u.id, Role::Viewer))
            .await,
        "team",
    );
}

/// (team, user) is unique; adding a missing user is `NotFound` (`user`).
pub async fn membership_is_unique_per_team_and_user(store: &dyn Store) {
    let admin = create_user(store).await;
    let dev = create_user(store).await;
    let t = create_team(store, &admin).await;
    store
        .add_member(&membership(t.id, dev.id, Role::Developer))
        .await
        .unwrap();
    let res = store
        .add_member(&membership(t.id, dev.id, Role::Viewer))
        .await;
    assert_already_exists(res, "user_id");
    let stored = store.get_membership(t.id, dev.id).await.unwrap().unwrap();
    assert_eq!(stored.role, Role::Developer);
    let res = store
        .add_member(&membership(t.id, UserId::new(), Role::Viewer))
        .await;
    assert_not_found(res, "user");
}

/// Changing or removing a membership that does not exist is `NotFound` (`membership`).
pub async fn missing_membership_is_not_found(store: &dyn Store) {
    let admin = create_user(store).await;
    let stranger = create_user(store).await;
    let t = create_team(store, &admin).await;
    assert!(
        store
            .get_membership(t.id, stranger.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_not_found(
        store
            .update_member_role(t.id, stranger.id, Role::Admin, now())
            .await,
        "membership",
    );
    assert_not_found(store.remove_member(t.id, stranger.id).await, "membership");
}

/// The only admin cannot be demoted; with a second admin, one can.
pub async fn last_admin_cannot_be_demoted(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let t = create_team(store, &a).await;
    let err = store
        .update_member_role(t.id, a.id, Role::Developer, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastAdmin), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Conflict);

    store
        .add_member(&membership(t.id, b.id, Role::Viewer))
        .await
        .unwrap();
    let at = now();
    let promoted = store
        .update_member_role(t.id, b.id, Role::Admin, at)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(promoted.updated_at, at);
    let demoted = store
        .update_member_role(t.id, a.id, Role::Viewer, now())
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Viewer);
    let err = store
        .update_member_role(t.id, b.id, Role::Developer, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastAdmin), "{err:?}");
}

/// The only admin cannot be removed; other members can.
pub async fn last_admin_cannot_be_removed(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let t = create_team(store, &a).await;
    store
        .add_member(&membership(t.id, b.id, Role::Developer))
        .await
        .unwrap();
    let err = store.remove_member(t.id, a.id).await.unwrap_err();
    assert!(matches!(err, Error::LastAdmin), "{err:?}");
    assert!(store.get_membership(t.id, a.id).await.unwrap().is_some());
    store.remove_member(t.id, b.id).await.unwrap();
    assert!(store.get_membership(t.id, b.id).await.unwrap().is_none());
}

/// Two admins demoting each other at once: one wins, the team keeps one admin.
pub async fn concurrent_admin_demotions_keep_one_admin(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let t = create_team(store, &a).await;
    store
        .add_member(&membership(t.id, b.id, Role::Admin))
        .await
        .unwrap();
    let results = futures::future::join_all([
        store.update_member_role(t.id, a.id, Role::Viewer, now()),
        store.update_member_role(t.id, b.id, Role::Viewer, now()),
    ])
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().any(|r| matches!(r, Err(Error::LastAdmin))));
    let members = store
        .list_members(t.id, &PageRequest::first(10))
        .await
        .unwrap();
    let admins = members
        .items
        .iter()
        .filter(|m| m.role == Role::Admin)
        .count();
    assert_eq!(admins, 1);
}

/// Deleting a team deletes its memberships and its projects with their environments.
pub async fn deleting_team_cascades_to_members_and_projects(store: &dyn Store) {
    let a = create_user(store).await;
    let t = create_team(store, &a).await;
    let p = project(ProjectOwner::Team(t.id), &unique_slug("proj"));
    store.create_project(&p).await.unwrap();
    let e = environment(p.id, a.id, &unique_slug("env"));
    store.create_environment(&e).await.unwrap();
    let personal = create_project(store, &a).await;

    store.delete_team(t.id).await.unwrap();
    assert_not_found(store.get_team(t.id).await, "team");
    assert!(store.get_membership(t.id, a.id).await.unwrap().is_none());
    assert_not_found(store.get_project(p.id).await, "project");
    assert_not_found(store.get_environment(e.id).await, "environment");
    assert_eq!(store.get_project(personal.id).await.unwrap(), personal);
    assert_eq!(store.get_user(a.id).await.unwrap().id, a.id);
}

/// A user sees exactly the teams they are a member of, in id order.
pub async fn list_teams_for_user_lists_only_member_teams(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let t1 = create_team(store, &a).await;
    let t2 = create_team(store, &b).await;
    let t3 = create_team(store, &b).await;
    store
        .add_member(&membership(t3.id, a.id, Role::Viewer))
        .await
        .unwrap();
    let page = store
        .list_teams_for_user(a.id, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), [t1.id]);
    let next = store
        .list_teams_for_user(
            a.id,
            &PageRequest {
                limit: 1,
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(next.items.iter().map(|t| t.id).collect::<Vec<_>>(), [t3.id]);
    assert!(next.next_cursor.is_none());
    assert!(page.next_cursor.is_some());
    let memberships = store.list_memberships_for_user(a.id).await.unwrap();
    let mut teams: Vec<_> = memberships.iter().map(|m| m.team_id).collect();
    teams.sort();
    assert_eq!(teams, [t1.id, t3.id]);
    assert_ne!(t2.id, t1.id);
}

/// Members are listed by user id with their roles.
pub async fn members_are_listed_by_user_id(store: &dyn Store) {
    let a = create_user(store).await;
    let t = create_team(store, &a).await;
    let mut ids = vec![a.id];
    for role in [Role::Developer, Role::Viewer, Role::Admin] {
        let u = create_user(store).await;
        store
            .add_member(&membership(t.id, u.id, role))
            .await
            .unwrap();
        ids.push(u.id);
    }
    ids.sort();
    let first = store
        .list_members(t.id, &PageRequest::first(2))
        .await
        .unwrap();
    let rest = store
        .list_members(
            t.id,
            &PageRequest {
                limit: 2,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert!(rest.next_cursor.is_none());
    let listed: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(listed, ids);
}
