//! The audit log.

use super::prelude::*;

/// Audit events list newest first and page with a cursor.
pub async fn audit_lists_newest_first(store: &dyn Store) {
    let u = create_user(store).await;
    let t = create_team(store, &u).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = audit_event(
            AuditActor::User { user_id: u.id },
            Some(t.id),
            &format!("a{i}"),
        );
        store.record_audit(&e).await.unwrap();
        ids.push(e.id);
    }
    ids.reverse();
    let filter = AuditFilter {
        team_id: Some(t.id),
        actor_user_id: None,
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_audit(&filter, &PageRequest { limit: 2, cursor })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| e.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);
    let bad = PageRequest {
        limit: 2,
        cursor: Some("??".into()),
    };
    assert_invalid(store.list_audit(&filter, &bad).await, "cursor");
}

/// Audit filters select by team and by the user behind the actor (direct or through a key).
pub async fn audit_filters_by_team_and_actor(store: &dyn Store) {
    let u = create_user(store).await;
    let t = create_team(store, &u).await;
    let other_team = create_team(store, &u).await;
    let direct = audit_event(
        AuditActor::User { user_id: u.id },
        Some(t.id),
        "team.update",
    );
    let via_key = audit_event(
        AuditActor::ApiKey {
            user_id: u.id,
            key_id: ApiKeyId::new(),
        },
        None,
        "project.create",
    );
    let system = audit_event(AuditActor::System, Some(t.id), "environment.reconcile");
    let elsewhere = audit_event(
        AuditActor::User { user_id: u.id },
        Some(other_team.id),
        "team.update",
    );
    for e in [&direct, &via_key, &system, &elsewhere] {
        store.record_audit(e).await.unwrap();
    }
    let list = |filter: AuditFilter| async move {
        store
            .list_audit(&filter, &PageRequest::first(100))
            .await
            .unwrap()
            .items
    };
    let by_team = list(AuditFilter {
        team_id: Some(t.id),
        actor_user_id: None,
    })
    .await;
    assert_eq!(by_team, [system.clone(), direct.clone()]);
    let by_actor = list(AuditFilter {
        team_id: None,
        actor_user_id: Some(u.id),
    })
    .await;
    assert_eq!(by_actor, [elsewhere, via_key, direct.clone()]);
    let both = list(AuditFilter {
        team_id: Some(t.id),
        actor_user_id: Some(u.id),
    })
    .await;
    assert_eq!(both, [direct]);
}
