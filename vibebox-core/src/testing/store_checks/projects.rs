//! Projects.

use super::prelude::*;

/// A project slug is unique per owner, but two owners may use the same slug.
pub async fn project_slug_is_unique_per_owner_only(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let t = create_team(store, &a).await;
    let slug = unique_slug("proj");
    store
        .create_project(&project(ProjectOwner::User(a.id), &slug))
        .await
        .unwrap();
    let dup = project(ProjectOwner::User(a.id), &slug);
    assert_already_exists(store.create_project(&dup).await, "slug");
    assert_not_found(store.get_project(dup.id).await, "project");
    store
        .create_project(&project(ProjectOwner::User(b.id), &slug))
        .await
        .unwrap();
    store
        .create_project(&project(ProjectOwner::Team(t.id), &slug))
        .await
        .unwrap();
    let res = store
        .create_project(&project(ProjectOwner::Team(t.id), &slug))
        .await;
    assert_already_exists(res, "slug");
}

/// Updating a project writes name, slug and is_archived; a taken slug is refused.
pub async fn update_project_rejects_taken_slug(store: &dyn Store) {
    let a = create_user(store).await;
    let p1 = create_project(store, &a).await;
    let p2 = create_project(store, &a).await;
    let mut changed = p2.clone();
    changed.slug = p1.slug.clone();
    assert_already_exists(store.update_project(&changed).await, "slug");
    assert_eq!(store.get_project(p2.id).await.unwrap(), p2);

    let mut archived = p2.clone();
    archived.name = "Renamed".into();
    archived.slug = unique_slug("proj");
    archived.is_archived = true;
    store.update_project(&archived).await.unwrap();
    let stored = store.get_project(p2.id).await.unwrap();
    assert_eq!(stored.name, "Renamed");
    assert_eq!(stored.slug, archived.slug);
    assert!(stored.is_archived);
    assert_eq!(stored.owner, p2.owner);

    let ghost = project(ProjectOwner::User(a.id), &unique_slug("proj"));
    assert_not_found(store.update_project(&ghost).await, "project");
    assert_not_found(store.delete_project(ghost.id).await, "project");
}

/// A project whose owner does not exist is `NotFound` naming the owner's kind.
pub async fn project_owner_must_exist(store: &dyn Store) {
    let p = project(ProjectOwner::User(UserId::new()), &unique_slug("proj"));
    assert_not_found(store.create_project(&p).await, "user");
    let p = project(ProjectOwner::Team(TeamId::new()), &unique_slug("proj"));
    assert_not_found(store.create_project(&p).await, "team");
    assert_not_found(store.get_project(p.id).await, "project");
}

/// A user's projects are their own plus those of their teams, in id order.
pub async fn list_projects_for_user_includes_team_projects(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let mine = create_project(store, &a).await;
    let theirs = create_project(store, &b).await;
    let t = create_team(store, &b).await;
    let team_project = project(ProjectOwner::Team(t.id), &unique_slug("proj"));
    store.create_project(&team_project).await.unwrap();

    let ids = |page: Page<Project>| page.items.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let before = store
        .list_projects_for_user(a.id, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(ids(before), [mine.id]);

    store
        .add_member(&membership(t.id, a.id, Role::Viewer))
        .await
        .unwrap();
    let after = store
        .list_projects_for_user(a.id, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(ids(after), [mine.id, team_project.id]);
    let b_sees = store
        .list_projects_for_user(b.id, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(ids(b_sees), [theirs.id, team_project.id]);
}

/// Listing by owner returns exactly that owner's projects, user or team, in id order.
pub async fn list_projects_by_owner_lists_only_that_owner(store: &dyn Store) {
    let a = create_user(store).await;
    let b = create_user(store).await;
    let mine = create_project(store, &a).await;
    create_project(store, &b).await;
    let t = create_team(store, &a).await;
    let first = project(ProjectOwner::Team(t.id), &unique_slug("proj"));
    store.create_project(&first).await.unwrap();
    let second = project(ProjectOwner::Team(t.id), &unique_slug("proj"));
    store.create_project(&second).await.unwrap();

    let ids = |page: Page<Project>| page.items.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let by_user = store
        .list_projects_by_owner(ProjectOwner::User(a.id), &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(ids(by_user), [mine.id]);
    let page = store
        .list_projects_by_owner(ProjectOwner::Team(t.id), &PageRequest::first(1))
        .await
        .unwrap();
    let cursor = page.next_cursor.clone();
    assert_eq!(ids(page), [first.id]);
    assert!(cursor.is_some(), "a second team project follows");
    let rest = store
        .list_projects_by_owner(ProjectOwner::Team(t.id), &PageRequest { limit: 1, cursor })
        .await
        .unwrap();
    assert_eq!(rest.next_cursor, None);
    assert_eq!(ids(rest), [second.id]);
}

/// Deleting a project deletes its environments and everything in them.
pub async fn deleting_project_cascades_to_environments(store: &dyn Store) {
    let e = create_environment(store).await;
    let port = port(e.id, 8080, None);
    store.add_port(&port).await.unwrap();
    store
        .append_logs(&[log_line(e.id, now(), LogStream::Stdout, "hello")])
        .await
        .unwrap();
    store.delete_project(e.project_id).await.unwrap();
    assert_not_found(store.get_project(e.project_id).await, "project");
    assert_not_found(store.get_environment(e.id).await, "environment");
    assert!(store.list_ports(e.id).await.unwrap().is_empty());
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 0);
    // The creator is untouched.
    store.get_user(e.creator_id).await.unwrap();
}

/// A page is never longer than its limit and `next_cursor` is set exactly when more follow.
pub async fn next_cursor_is_set_exactly_when_more_items_exist(store: &dyn Store) {
    let u = create_user(store).await;
    for _ in 0..4 {
        create_project(store, &u).await;
    }
    let full = store
        .list_projects_for_user(u.id, &PageRequest::first(4))
        .await
        .unwrap();
    assert_eq!(full.items.len(), 4);
    assert!(full.next_cursor.is_none(), "exactly `limit` items: no more");
    let short = store
        .list_projects_for_user(u.id, &PageRequest::first(3))
        .await
        .unwrap();
    assert_eq!(short.items.len(), 3);
    let rest = store
        .list_projects_for_user(
            u.id,
            &PageRequest {
                limit: 3,
                cursor: short.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    assert_eq!(rest.items[0].id, full.items[3].id);
}
