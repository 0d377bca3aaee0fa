//! Sessions.

use super::prelude::*;

/// A live session's (environment, type, name) is unique; other types and environments are free.
pub async fn live_session_name_is_unique(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    store
        .create_session(&session(e.id, SessionType::Tmux, "work"))
        .await
        .unwrap();
    let dup = session(e.id, SessionType::Tmux, "work");
    assert_already_exists(store.create_session(&dup).await, "session_name");
    assert_not_found(store.get_session(dup.id).await, "session");
    store
        .create_session(&session(e.id, SessionType::Shell, "work"))
        .await
        .unwrap();
    store
        .create_session(&session(other.id, SessionType::Tmux, "work"))
        .await
        .unwrap();
}

/// Once a session is terminated, its name can be used again.
pub async fn terminated_session_frees_its_name(store: &dyn Store) {
    let e = create_environment(store).await;
    let first = session(e.id, SessionType::Tmux, "work");
    store.create_session(&first).await.unwrap();
    let mut ended = first.clone();
    ended.status = SessionStatus::Terminated;
    store
        .update_session(&ended, SessionStatus::Active)
        .await
        .unwrap();
    let second = session(e.id, SessionType::Tmux, "work");
    store.create_session(&second).await.unwrap();

    let live = store.list_sessions(e.id, false).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [second.id]);
    let all = store.list_sessions(e.id, true).await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
}

/// Session updates are compare-and-set on the status.
pub async fn session_update_is_compare_and_set(store: &dyn Store) {
    let e = create_environment(store).await;
    let s = session(e.id, SessionType::VscodeServer, "code");
    store.create_session(&s).await.unwrap();
    let mut idle = s.clone();
    idle.status = SessionStatus::Idle;
    idle.pid = Some(42);
    idle.idle_timeout_minutes = 5;
    idle.updated_at = fixed_time();
    assert_stale(store.update_session(&idle, SessionStatus::Starting).await);
    assert_eq!(store.get_session(s.id).await.unwrap(), s);

    store
        .update_session(&idle, SessionStatus::Active)
        .await
        .unwrap();
    assert_eq!(store.get_session(s.id).await.unwrap(), idle);
    assert_stale(store.update_session(&idle, SessionStatus::Active).await);

    let ghost = session(e.id, SessionType::Shell, "ghost");
    assert_not_found(
        store.update_session(&ghost, SessionStatus::Active).await,
        "session",
    );
    assert_not_found(store.touch_session(ghost.id, now()).await, "session");
}

/// Touching a session never moves its last activity backwards.
pub async fn touch_session_never_moves_backwards(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut s = session(e.id, SessionType::Shell, "main");
    s.last_activity_at = fixed_time();
    store.create_session(&s).await.unwrap();
    let later = fixed_time() + chrono::TimeDelta::seconds(30);
    store.touch_session(s.id, later).await.unwrap();
    store.touch_session(s.id, fixed_time()).await.unwrap();
    let stored = store.get_session(s.id).await.unwrap();
    assert_eq!(stored.last_activity_at, later);
}

/// Sessions by status come oldest activity first and only in the asked states.
pub async fn sessions_by_status_are_oldest_activity_first(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut mine = Vec::new();
    // Very old activity so that these come before any other data in the store.
    for (i, days) in [3i64, 1, 2].into_iter().enumerate() {
        let mut s = session(e.id, SessionType::Shell, &format!("s{i}"));
        s.status = SessionStatus::Idle;
        s.last_activity_at = ts(1990, 1, 1) + chrono::TimeDelta::days(days);
        store.create_session(&s).await.unwrap();
        mine.push(s);
    }
    store
        .create_session(&session(e.id, SessionType::Shell, "active"))
        .await
        .unwrap();
    let listed = store
        .list_sessions_by_status(&[SessionStatus::Idle], 3)
        .await
        .unwrap();
    assert!(listed.iter().all(|s| s.status == SessionStatus::Idle));
    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, [mine[1].id, mine[2].id, mine[0].id]);
}

/// Purging removes terminated sessions last updated before the cut-off, and nothing else.
pub async fn purge_removes_only_old_terminated_sessions(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut old_ended = session(e.id, SessionType::Shell, "old");
    old_ended.status = SessionStatus::Terminated;
    old_ended.updated_at = ts(1980, 1, 1);
    let mut new_ended = session(e.id, SessionType::Shell, "new");
    new_ended.status = SessionStatus::Terminated;
    let mut old_live = session(e.id, SessionType::Shell, "live");
    old_live.updated_at = ts(1980, 1, 1);
    for s in [&old_ended, &new_ended, &old_live] {
        store.create_session(s).await.unwrap();
    }
    let purged = store
        .purge_terminated_sessions(ts(1985, 1, 1))
        .await
        .unwrap();
    assert!(purged >= 1);
    assert_not_found(store.get_session(old_ended.id).await, "session");
    store.get_session(new_ended.id).await.unwrap();
    store.get_session(old_live.id).await.unwrap();
}
