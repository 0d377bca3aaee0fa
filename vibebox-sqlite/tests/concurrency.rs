//! Concurrent writers: compare-and-set winners, and no "database is locked" for transactions
//! that read before they write (they all begin with `BEGIN IMMEDIATE`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use vibebox_core::Error;
use vibebox_core::domain::{EnvironmentStatus, Role};
use vibebox_core::store::{EnvironmentsStore, PageRequest, TeamsStore};
use vibebox_core::testing::store_checks::fixtures::*;
use vibebox_sqlite::SqliteStore;

async fn stores() -> Vec<(&'static str, Arc<SqliteStore>)> {
    vec![
        ("on disk", Arc::new(common::disk_store().await)),
        ("in memory", Arc::new(common::memory_store().await)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_from_eight_tasks_have_one_winner() {
    for (kind, store) in stores().await {
        let e = create_environment(&*store).await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let mut next = e.clone();
                next.status = EnvironmentStatus::Starting;
                next.name = format!("start {i}");
                tokio::spawn(async move {
                    store
                        .update_environment(&next, EnvironmentStatus::Stopped, next.version)
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
                Err(other) => panic!("{kind}: unexpected {other:?}"),
            }
        }
        assert_eq!((wins, stale), (1, 7), "{kind}");
        let stored = store.get_environment(e.id).await.unwrap();
        assert_eq!(stored.status, EnvironmentStatus::Starting);
        assert_eq!(stored.version, e.version + 1);
    }
}

/// Eight tasks each apply 25 read-then-write updates to one environment, retrying only on
/// `StaleVersion`: every update lands and nothing fails with a lock error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_then_write_updates_from_eight_tasks_never_see_a_locked_database() {
    let store = Arc::new(common::disk_store().await);
    let e = create_environment(&*store).await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut landed = 0;
                while landed < 25 {
                    let mut current = store.get_environment(e.id).await.unwrap();
                    let expected = (current.status, current.version);
                    current.name = format!("task {task} update {landed}");
                    match store
                        .update_environment(&current, expected.0, expected.1)
                        .await
                    {
                        Ok(_) => landed += 1,
                        Err(Error::StaleVersion { .. }) => {}
                        Err(other) => panic!("task {task}: {other:?}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.version, e.version + 8 * 25);
}

/// Eight tasks add members to one team and change their roles concurrently (each call reads
/// before it writes): no lock errors, and the team keeps an admin throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_changes_from_eight_tasks_never_see_a_locked_database() {
    for (kind, store) in stores().await {
        let owner = create_user(&*store).await;
        let t = create_team(&*store, &owner).await;
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let store = Arc::clone(&store);
                let owner = owner.id;
                tokio::spawn(async move {
                    for round in 0..10 {
                        let u = create_user(&*store).await;
                        store
                            .add_member(&membership(t.id, u.id, Role::Viewer))
                            .await
                            .unwrap();
                        store
                            .update_member_role(t.id, u.id, Role::Admin, now())
                            .await
                            .unwrap();
                        // Demoting the owner races with other tasks' demotions; LastAdmin is
                        // the only acceptable refusal.
                        let who = if round % 2 == 0 { owner } else { u.id };
                        match store
                            .update_member_role(t.id, who, Role::Developer, now())
                            .await
                        {
                            Ok(_) | Err(Error::LastAdmin) => {}
                            Err(other) => panic!("task {task}: {other:?}"),
                        }
                        match store.remove_member(t.id, u.id).await {
                            Ok(()) | Err(Error::LastAdmin) => {}
                            Err(other) => panic!("task {task}: {other:?}"),
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let members = store
            .list_members(t.id, &PageRequest::first(500))
            .await
            .unwrap();
        let admins = members
            .items
            .iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        assert!(admins >= 1, "{kind}: the team kept an admin");
    }
}
