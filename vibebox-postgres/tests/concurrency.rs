//! Races between replicas (here: tasks sharing one pool) resolve in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::fresh;
use vibebox_core::Error;
use vibebox_core::domain::{EnvironmentStatus, Role};
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_from_eight_tasks_have_one_winner() {
    let f = fresh().await;
    let store = Arc::new(f.store);
    let e = create_environment(store.as_ref()).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let mut next = e.clone();
            next.status = EnvironmentStatus::Starting;
            next.name = format!("start {i}");
            tokio::spawn(async move {
                store
                    .update_environment(&next, EnvironmentStatus::Stopped, e.version)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    let mut stale = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(stored) => {
                wins += 1;
                assert_eq!(stored.version, e.version + 1);
            }
            Err(Error::StaleVersion { .. }) => stale += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((wins, stale), (1, 7));
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.status, EnvironmentStatus::Starting);
    assert_eq!(stored.version, e.version + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_of_many_admins_keep_one() {
    let f = fresh().await;
    let store = Arc::new(f.store);
    let first = create_user(store.as_ref()).await;
    let t = create_team(store.as_ref(), &first).await;
    let mut admins = vec![first.id];
    for _ in 0..5 {
        let u = create_user(store.as_ref()).await;
        store
            .add_member(&membership(t.id, u.id, Role::Admin))
            .await
            .unwrap();
        admins.push(u.id);
    }
    let tasks: Vec<_> = admins
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let (store, user) = (store.clone(), *user);
            tokio::spawn(async move {
                if i % 2 == 0 {
                    store.remove_member(t.id, user).await
                } else {
                    store
                        .update_member_role(t.id, user, Role::Viewer, now())
                        .await
                        .map(|_| ())
                }
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => {}
            Err(Error::LastAdmin) => refused += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(refused, 1);
    let members = store
        .list_members(t.id, &PageRequest::first(50))
        .await
        .unwrap();
    let left = members
        .items
        .iter()
        .filter(|m| m.role == Role::Admin)
        .count();
    assert_eq!(left, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_rotations_from_spawned_tasks_have_one_winner() {
    let f = fresh().await;
    let store = Arc::new(f.store);
    let u = create_user(store.as_ref()).await;
    let family = vibebox_core::id::RefreshFamilyId::new();
    let old = refresh_session(u.id, family);
    store.create_refresh_session(&old).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let new = refresh_session(u.id, family);
            tokio::spawn(async move { store.rotate_refresh_session(old.id, &new, now()).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    let live = store.list_refresh_sessions(u.id, now()).await.unwrap();
    assert_eq!(live.len(), 1, "only the winner's successor is current");
}
