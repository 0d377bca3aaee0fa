//! Environments: uniqueness, compare-and-set, cascades, filters and health.

use super::prelude::*;

/// An environment slug is unique within its project only.
pub async fn environment_slug_is_unique_per_project(store: &dyn Store) {
    let e = create_environment(store).await;
    let dup = environment(e.project_id, e.creator_id, &e.slug);
    assert_already_exists(store.create_environment(&dup).await, "slug");
    assert_not_found(store.get_environment(dup.id).await, "environment");

    let u = store.get_user(e.creator_id).await.unwrap();
    let other = create_project(store, &u).await;
    store
        .create_environment(&environment(other.id, u.id, &e.slug))
        .await
        .unwrap();

    let sibling = environment(e.project_id, e.creator_id, &unique_slug("env"));
    store.create_environment(&sibling).await.unwrap();
    let mut renamed = sibling.clone();
    renamed.slug = e.slug.clone();
    let res = store
        .update_environment(&renamed, sibling.status, sibling.version)
        .await;
    assert_already_exists(res, "slug");
}

/// The access read returns the environment, its project and the user's role in the project's
/// team: no role for a personal project, a user outside the team, or no user.
pub async fn environment_access_reads_project_and_team_role(store: &dyn Store) {
    let e = create_environment(store).await;
    let personal = store
        .get_environment_access(e.id, Some(e.creator_id))
        .await
        .unwrap();
    assert_eq!(personal.environment, e);
    assert_eq!(
        personal.project,
        store.get_project(e.project_id).await.unwrap()
    );
    assert_eq!(personal.team_role, None);

    let admin = create_user(store).await;
    let team = create_team(store, &admin).await;
    let viewer = create_user(store).await;
    store
        .add_member(&membership(team.id, viewer.id, Role::Viewer))
        .await
        .unwrap();
    let p = project(ProjectOwner::Team(team.id), &unique_slug("proj"));
    store.create_project(&p).await.unwrap();
    let te = environment(p.id, admin.id, &unique_slug("env"));
    store.create_environment(&te).await.unwrap();
    let cases = [
        (Some(admin.id), Some(Role::Admin)),
        (Some(viewer.id), Some(Role::Viewer)),
        (Some(e.creator_id), None),
        (None, None),
    ];
    for (user, role) in cases {
        let got = store.get_environment_access(te.id, user).await.unwrap();
        assert_eq!(got.environment, te, "user {user:?}");
        assert_eq!(got.project, p, "user {user:?}");
        assert_eq!(got.team_role, role, "user {user:?}");
    }
    assert_not_found(
        store
            .get_environment_access(EnvironmentId::new(), Some(admin.id))
            .await,
        "environment",
    );
}

/// An update with a stale status or version is `StaleVersion` and changes nothing.
pub async fn environment_update_is_compare_and_set(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut next = e.clone();
    next.status = EnvironmentStatus::Starting;
    next.name = "Changed".into();

    assert_stale(
        store
            .update_environment(&next, EnvironmentStatus::Running, e.version)
            .await,
    );
    assert_stale(
        store
            .update_environment(&next, e.status, e.version + 1)
            .await,
    );
    assert_eq!(store.get_environment(e.id).await.unwrap(), e);

    let stored = store
        .update_environment(&next, e.status, e.version)
        .await
        .unwrap();
    assert_eq!(stored.status, EnvironmentStatus::Starting);
    assert_stale(store.update_environment(&next, e.status, e.version).await);

    let ghost = environment(e.project_id, e.creator_id, &unique_slug("env"));
    assert_not_found(
        store
            .update_environment(&ghost, ghost.status, ghost.version)
            .await,
        "environment",
    );
}

/// A successful update stores version `expected + 1` and returns the stored row.
pub async fn environment_update_increments_version(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut next = e.clone();
    next.status = EnvironmentStatus::Starting;
    next.container_id = Some("abc123".into());
    next.cpu_limit = 1.5;
    next.memory_limit = 2048;
    next.error_message = Some("none".into());
    next.idle_policy = crate::domain::IdlePolicy {
        suspend_after_minutes: None,
        stop_after_hours: Some(2),
    };
    next.status_changed_at = fixed_time();
    next.updated_at = fixed_time();
    next.version = 999; // ignored: the store sets expected + 1
    let stored = store
        .update_environment(&next, e.status, e.version)
        .await
        .unwrap();
    assert_eq!(stored.version, e.version + 1);
    let expected = Environment {
        version: e.version + 1,
        ..next.clone()
    };
    assert_eq!(stored, expected);
    assert_eq!(store.get_environment(e.id).await.unwrap(), expected);
}

/// A health warning.
fn warning(code: WarningCode, message: &str, since: Timestamp) -> HealthWarning {
    HealthWarning {
        code,
        message: message.into(),
        since,
    }
}

/// Each OOM kill counts once and the latest kill time is kept, whatever order kills are
/// reported in. Neither the version nor `updated_at` changes, and every read of the environment
/// carries the health that `record_oom_kill` returned.
pub async fn oom_kills_count_up_and_keep_the_latest_time(store: &dyn Store) {
    let e = create_environment(store).await;
    let later = fixed_time();
    let earlier = later - chrono::TimeDelta::microseconds(1_500_001);
    let first = store.record_oom_kill(e.id, later).await.unwrap();
    assert_eq!(first.oom_kills, 1);
    assert_eq!(first.last_oom_kill_at, Some(later));
    let second = store.record_oom_kill(e.id, earlier).await.unwrap();
    let expected = EnvironmentHealth {
        oom_kills: 2,
        last_oom_kill_at: Some(later),
        warnings: Vec::new(),
    };
    assert_eq!(second, expected);

    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.health, second);
    assert_eq!(stored.version, e.version);
    assert_eq!(stored.updated_at, e.updated_at);
    assert_eq!(
        Environment {
            health: EnvironmentHealth::default(),
            ..stored.clone()
        },
        e,
        "only the health changed"
    );
    let access = store.get_environment_access(e.id, None).await.unwrap();
    assert_eq!(access.environment, stored);
    let by_project = EnvironmentFilter {
        project_id: Some(e.project_id),
        ..Default::default()
    };
    let listed = store
        .list_environments(&by_project, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, [stored]);

    let latest = later + chrono::TimeDelta::microseconds(1);
    let third = store.record_oom_kill(e.id, latest).await.unwrap();
    assert_eq!(third.oom_kills, 3);
    assert_eq!(third.last_oom_kill_at, Some(latest));
    assert_eq!(store.get_environment(e.id).await.unwrap().health, third);
}

/// Eight concurrent OOM kills all count: each call sees a different count, and the total is 8.
pub async fn concurrent_oom_kills_all_count(store: &dyn Store) {
    let e = create_environment(store).await;
    let t = fixed_time();
    let results = futures::future::join_all(
        (0..8).map(|i| store.record_oom_kill(e.id, t + chrono::TimeDelta::microseconds(i))),
    )
    .await;
    let mut counts: Vec<i64> = results.into_iter().map(|r| r.unwrap().oom_kills).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<_>>());
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.health.oom_kills, 8);
    assert_eq!(
        stored.health.last_oom_kill_at,
        Some(t + chrono::TimeDelta::microseconds(7))
    );
    assert_eq!(stored.version, e.version);
}

/// Setting warnings replaces them all, in the given order; an empty list clears them. The OOM
/// fields, the version and `updated_at` stay as they were.
pub async fn warnings_are_replaced_and_leave_oom_and_version_alone(store: &dyn Store) {
    let e = create_environment(store).await;
    let t = fixed_time();
    let oom = store.record_oom_kill(e.id, t).await.unwrap();
    let first = vec![
        warning(
            WarningCode::MemoryLimit,
            "memory use is at the 4096 MB limit",
            t + chrono::TimeDelta::microseconds(2),
        ),
        warning(WarningCode::PidsLimit, "at the pids limit (512)", t),
        warning(
            WarningCode::ExecFailing,
            "exec fails: \"fork: Resource temporarily unavailable\" — ünïcode",
            t + chrono::TimeDelta::microseconds(1),
        ),
    ];
    store.set_environment_warnings(e.id, &first).await.unwrap();
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.health.warnings, first);
    assert_eq!(stored.health.oom_kills, oom.oom_kills);
    assert_eq!(stored.health.last_oom_kill_at, oom.last_oom_kill_at);
    assert_eq!(stored.version, e.version);
    assert_eq!(stored.updated_at, e.updated_at);

    let second = vec![warning(
        WarningCode::LogCollection,
        "the log collector keeps failing",
        t,
    )];
    store.set_environment_warnings(e.id, &second).await.unwrap();
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.health.warnings, second);

    store.set_environment_warnings(e.id, &[]).await.unwrap();
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(
        stored.health,
        EnvironmentHealth {
            warnings: Vec::new(),
            ..oom
        }
    );
    assert_eq!(stored.version, e.version);
    assert_eq!(stored.updated_at, e.updated_at);

    // Warnings on an environment that never had an OOM kill.
    let fresh = create_environment(store).await;
    store
        .set_environment_warnings(fresh.id, &second)
        .await
        .unwrap();
    let stored = store.get_environment(fresh.id).await.unwrap();
    assert_eq!(
        stored.health,
        EnvironmentHealth {
            warnings: second,
            ..Default::default()
        }
    );
}

/// `update_environment` never writes health: whatever `health` the caller passes, the stored
/// health survives, and the returned row carries it.
pub async fn update_environment_keeps_stored_health(store: &dyn Store) {
    let e = create_environment(store).await;
    let t = fixed_time();
    let oom = store.record_oom_kill(e.id, t).await.unwrap();
    let warnings = vec![warning(WarningCode::PidsLimit, "at the pids limit", t)];
    store
        .set_environment_warnings(e.id, &warnings)
        .await
        .unwrap();
    let health = EnvironmentHealth { warnings, ..oom };

    let mut next = e.clone();
    next.status = EnvironmentStatus::Starting;
    next.name = "Changed".into();
    next.health = EnvironmentHealth::default();
    let stored = store
        .update_environment(&next, e.status, e.version)
        .await
        .unwrap();
    let expected = Environment {
        version: e.version + 1,
        health: health.clone(),
        ..next.clone()
    };
    assert_eq!(stored, expected);
    assert_eq!(store.get_environment(e.id).await.unwrap(), expected);

    // Nor does a different health passed in get written.
    let mut again = expected.clone();
    again.status = EnvironmentStatus::Running;
    again.health = EnvironmentHealth {
        oom_kills: 99,
        last_oom_kill_at: None,
        warnings: Vec::new(),
    };
    let stored = store
        .update_environment(&again, expected.status, expected.version)
        .await
        .unwrap();
    assert_eq!(stored.health, health);
    assert_eq!(store.get_environment(e.id).await.unwrap().health, health);
}

/// Recording an OOM kill or setting warnings of an environment that does not exist (or no
/// longer does) is `NotFound` and creates nothing.
pub async fn health_of_unknown_environment_is_not_found(store: &dyn Store) {
    let ghost = EnvironmentId::new();
    let w = [warning(
        WarningCode::ExecFailing,
        "exec fails",
        fixed_time(),
    )];
    assert_not_found(
        store.record_oom_kill(ghost, fixed_time()).await,
        "environment",
    );
    assert_not_found(
        store.set_environment_warnings(ghost, &w).await,
        "environment",
    );
    assert_not_found(
        store.set_environment_warnings(ghost, &[]).await,
        "environment",
    );
    assert_not_found(store.get_environment(ghost).await, "environment");

    let e = create_environment(store).await;
    store.record_oom_kill(e.id, fixed_time()).await.unwrap();
    store.delete_environment(e.id).await.unwrap();
    assert_not_found(
        store.record_oom_kill(e.id, fixed_time()).await,
        "environment",
    );
    assert_not_found(
        store.set_environment_warnings(e.id, &w).await,
        "environment",
    );
    assert_not_found(store.get_environment(e.id).await, "environment");
}

/// Eight concurrent updates from the same expected version: exactly one wins.
pub async fn concurrent_status_updates_have_one_winner(store: &dyn Store) {
    let e = create_environment(store).await;
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let mut next = e.clone();
            next.status = EnvironmentStatus::Starting;
            next.name = format!("attempt {i}");
            next
        })
        .collect();
    let results = futures::future::join_all(
        attempts
            .iter()
            .map(|next| store.update_environment(next, e.status, e.version)),
    )
    .await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one winner");
    for r in &results {
        if let Err(err) = r {
            assert!(matches!(err, Error::StaleVersion { .. }), "{err:?}");
        }
    }
    let stored = store.get_environment(e.id).await.unwrap();
    assert_eq!(stored.version, e.version + 1);
    assert_eq!(&stored, winners[0]);
}

/// Deleting an environment deletes its ports, variables, sessions, extensions and logs.
pub async fn deleting_environment_cascades_to_children(store: &dyn Store) {
    let e = create_environment(store).await;
    let keep = create_environment(store).await;
    let host = random_host_port();
    store.add_port(&port(e.id, 3000, Some(host))).await.unwrap();
    store
        .put_variable(&variable(e.id, "SECRET_TOKEN", "ciphertext", true))
        .await
        .unwrap();
    let s = session(e.id, SessionType::Shell, "main");
    store.create_session(&s).await.unwrap();
    let ext = extension(&unique_extension_id());
    store.create_extension(&ext).await.unwrap();
    store
        .add_environment_extension(&environment_extension(e.id, ext.id))
        .await
        .unwrap();
    store
        .add_environment_extension(&environment_extension(keep.id, ext.id))
        .await
        .unwrap();
    store
        .append_logs(&[
            log_line(e.id, now(), LogStream::Stdout, "bye"),
            log_line(keep.id, now(), LogStream::Stdout, "stay"),
        ])
        .await
        .unwrap();

    store.delete_environment(e.id).await.unwrap();
    assert_not_found(store.get_environment(e.id).await, "environment");
    assert!(store.list_ports(e.id).await.unwrap().is_empty());
    assert!(store.list_variables(e.id).await.unwrap().is_empty());
    assert_not_found(store.get_session(s.id).await, "session");
    assert!(store.list_sessions(e.id, true).await.unwrap().is_empty());
    assert!(
        store
            .list_environment_extensions(e.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 0);
    assert!(store.latest_log(e.id).await.unwrap().is_none());

    // Siblings and the catalog are untouched; the freed host port can be reused.
    assert_eq!(store.get_extension(ext.id).await.unwrap(), ext);
    assert_eq!(
        store
            .list_environment_extensions(keep.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.log_bytes(keep.id).await.unwrap(), 4);
    store
        .add_port(&port(keep.id, 3000, Some(host)))
        .await
        .unwrap();
    assert_not_found(store.delete_environment(e.id).await, "environment");
}

/// Only the creator's `starting`, `running`, `suspended` and `resuming` environments count as
/// running (they hold a container, frozen or not).
pub async fn count_running_environments_counts_starting_running_and_suspended(store: &dyn Store) {
    let u = create_user(store).await;
    let p = create_project(store, &u).await;
    for status in EnvironmentStatus::ALL {
        let mut e = environment(p.id, u.id, &unique_slug("env"));
        e.status = *status;
        store.create_environment(&e).await.unwrap();
    }
    let counted = EnvironmentStatus::ALL
        .iter()
        .filter(|s| s.counts_as_running())
        .count();
    assert_eq!(counted, 4, "starting, running, suspended, resuming");
    assert_eq!(
        store.count_running_environments(u.id).await.unwrap(),
        counted as u64
    );
    let other = create_user(store).await;
    assert_eq!(store.count_running_environments(other.id).await.unwrap(), 0);
}

/// An environment saved as `suspended` or as `resuming` (created so, or updated to it) reads
/// back with that status, and a status filter finds exactly the environments in it.
pub async fn suspended_and_resuming_environments_round_trip_and_filter(store: &dyn Store) {
    let u = create_user(store).await;
    let p = create_project(store, &u).await;
    let mut suspended = environment(p.id, u.id, &unique_slug("env"));
    suspended.status = EnvironmentStatus::Suspended;
    suspended.container_id = Some("frozen".into());
    store.create_environment(&suspended).await.unwrap();
    assert_eq!(
        store.get_environment(suspended.id).await.unwrap(),
        suspended
    );

    // running → suspended → resuming, through compare-and-set updates.
    let mut resuming = environment(p.id, u.id, &unique_slug("env"));
    resuming.status = EnvironmentStatus::Running;
    resuming.container_id = Some("thawing".into());
    store.create_environment(&resuming).await.unwrap();
    let mut stored = resuming.clone();
    for next in [EnvironmentStatus::Suspended, EnvironmentStatus::Resuming] {
        let mut update = stored.clone();
        update.status = next;
        stored = store
            .update_environment(&update, stored.status, stored.version)
            .await
            .unwrap();
        assert_eq!(stored.status, next);
    }
    assert_eq!(store.get_environment(resuming.id).await.unwrap(), stored);

    let running = environment(p.id, u.id, &unique_slug("env"));
    store.create_environment(&running).await.unwrap();
    let list = |statuses: Vec<EnvironmentStatus>| async move {
        let filter = EnvironmentFilter {
            project_id: Some(p.id),
            statuses,
            ..Default::default()
        };
        store
            .list_environments(&filter, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.id, e.status))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(vec![EnvironmentStatus::Suspended]).await,
        [(suspended.id, EnvironmentStatus::Suspended)]
    );
    assert_eq!(
        list(vec![EnvironmentStatus::Resuming]).await,
        [(resuming.id, EnvironmentStatus::Resuming)]
    );
    let mut both = list(vec![
        EnvironmentStatus::Suspended,
        EnvironmentStatus::Resuming,
    ])
    .await;
    both.sort_by_key(|(id, _)| *id);
    let mut expected = vec![
        (suspended.id, EnvironmentStatus::Suspended),
        (resuming.id, EnvironmentStatus::Resuming),
    ];
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(both, expected);
}

/// Each filter field narrows `list_environments`; results are ordered by id.
pub async fn environment_filter_matches_every_field(store: &dyn Store) {
    let owner = create_user(store).await;
    let dev = create_user(store).await;
    let stranger = create_user(store).await;
    let t = create_team(store, &owner).await;
    store
        .add_member(&membership(t.id, dev.id, Role::Developer))
        .await
        .unwrap();
    let team_project = project(ProjectOwner::Team(t.id), &unique_slug("proj"));
    store.create_project(&team_project).await.unwrap();
    let personal = create_project(store, &owner).await;

    let mut e1 = environment(team_project.id, owner.id, &unique_slug("env"));
    e1.status = EnvironmentStatus::Running;
    let e2 = environment(team_project.id, dev.id, &unique_slug("env"));
    let e3 = environment(personal.id, owner.id, &unique_slug("env"));
    for e in [&e1, &e2, &e3] {
        store.create_environment(e).await.unwrap();
    }
    let list = |filter: EnvironmentFilter| async move {
        store
            .list_environments(&filter, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    let visible = |user| EnvironmentFilter {
        visible_to: Some(user),
        ..Default::default()
    };
    assert_eq!(list(visible(owner.id)).await, [e1.id, e2.id, e3.id]);
    assert_eq!(list(visible(dev.id)).await, [e1.id, e2.id]);
    assert!(list(visible(stranger.id)).await.is_empty());
    let by_project = EnvironmentFilter {
        project_id: Some(personal.id),
        ..Default::default()
    };
    assert_eq!(list(by_project).await, [e3.id]);
    let by_creator = EnvironmentFilter {
        creator_id: Some(dev.id),
        ..Default::default()
    };
    assert_eq!(list(by_creator).await, [e2.id]);
    let by_status = EnvironmentFilter {
        project_id: Some(team_project.id),
        statuses: vec![EnvironmentStatus::Running, EnvironmentStatus::Error],
        ..Default::default()
    };
    assert_eq!(list(by_status).await, [e1.id]);
    let combined = EnvironmentFilter {
        visible_to: Some(dev.id),
        creator_id: Some(owner.id),
        ..Default::default()
    };
    assert_eq!(list(combined).await, [e1.id]);
}

/// A missing parent is `NotFound` naming the parent, for every child row.
pub async fn missing_parent_is_not_found(store: &dyn Store) {
    let u = create_user(store).await;
    let p = create_project(store, &u).await;
    let e = environment(ProjectId::new(), u.id, &unique_slug("env"));
    assert_not_found(store.create_environment(&e).await, "project");
    let e = environment(p.id, UserId::new(), &unique_slug("env"));
    assert_not_found(store.create_environment(&e).await, "user");

    let ghost = EnvironmentId::new();
    assert_not_found(store.get_environment(ghost).await, "environment");
    assert_not_found(store.add_port(&port(ghost, 80, None)).await, "environment");
    assert_not_found(
        store.put_variable(&variable(ghost, "A", "b", false)).await,
        "environment",
    );
    assert_not_found(
        store
            .create_session(&session(ghost, SessionType::Shell, "main"))
            .await,
        "environment",
    );
    assert_not_found(
        store
            .append_logs(&[log_line(ghost, now(), LogStream::Stdout, "x")])
            .await,
        "environment",
    );
    assert_not_found(
        store
            .create_api_key(&api_key(UserId::new(), &suffix()))
            .await,
        "user",
    );
    assert_not_found(
        store
            .create_refresh_session(&refresh_session(UserId::new(), RefreshFamilyId::new()))
            .await,
        "user",
    );
}

/// Timestamps with microseconds come back exactly.
pub async fn timestamps_round_trip_at_microsecond_precision(store: &dyn Store) {
    let t = fixed_time();
    let mut u = user(&unique_email());
    u.created_at = t;
    u.updated_at = t;
    u.last_login_at = Some(t + chrono::TimeDelta::microseconds(1));
    store.create_user(&u, None).await.unwrap();
    assert_eq!(store.get_user(u.id).await.unwrap(), u);

    let p = create_project(store, &u).await;
    let mut e = environment(p.id, u.id, &unique_slug("env"));
    e.status_changed_at = t + chrono::TimeDelta::microseconds(999_999);
    e.created_at = t;
    e.updated_at = t;
    store.create_environment(&e).await.unwrap();
    assert_eq!(store.get_environment(e.id).await.unwrap(), e);

    store
        .append_logs(&[log_line(e.id, t, LogStream::Stderr, "tick")])
        .await
        .unwrap();
    let line = store.latest_log(e.id).await.unwrap().unwrap();
    assert_eq!(line.timestamp, t);
}

/// The slug lookup finds the environment with that slug in every project with that slug, of
/// any owner (archived projects included), ordered by id; nothing for a wrong slug.
pub async fn environments_are_found_by_project_and_environment_slugs(store: &dyn Store) {
    let alice = create_user(store).await;
    let admin = create_user(store).await;
    let team = create_team(store, &admin).await;
    let project_slug = unique_slug("proj");
    let env_slug = unique_slug("env");
    let personal = project(ProjectOwner::User(alice.id), &project_slug);
    let mut shared = project(ProjectOwner::Team(team.id), &project_slug);
    shared.is_archived = true;
    let elsewhere = project(ProjectOwner::User(alice.id), &unique_slug("proj"));
    for p in [&personal, &shared, &elsewhere] {
        store.create_project(p).await.unwrap();
    }
    let mut expected = Vec::new();
    for (p, creator) in [(&shared, admin.id), (&personal, alice.id)] {
        let e = environment(p.id, creator, &env_slug);
        store.create_environment(&e).await.unwrap();
        expected.push(store.get_environment(e.id).await.unwrap());
        let sibling = environment(p.id, creator, &unique_slug("env"));
        store.create_environment(&sibling).await.unwrap();
    }
    store
        .create_environment(&environment(elsewhere.id, alice.id, &env_slug))
        .await
        .unwrap();
    expected.sort_by_key(|e| e.id);

    let found = store
        .find_environments_by_slugs(&project_slug, &env_slug)
        .await
        .unwrap();
    assert_eq!(found, expected);
    let none = store
        .find_environments_by_slugs(&project_slug, &unique_slug("env"))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    let none = store
        .find_environments_by_slugs(&unique_slug("proj"), &env_slug)
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
}
