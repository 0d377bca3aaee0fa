//! The log collector against an engine that misbehaves the way Docker 20.10's json-file
//! driver does: follows that stall or end while the container runs, and rotation that
//! removes output before it was read.

use vibebox_core::domain::{Environment, LogStream, WarningCode};
use vibebox_core::events::EventKind;
use vibebox_core::rbac::Actor;
use vibebox_core::service::LogFilter;
use vibebox_core::store::PageRequest;

use super::harness::{H, wait_for};

async fn stored(h: &H, actor: &Actor, env: &Environment) -> Vec<String> {
    h.vb.query_logs(
        actor,
        env.id,
        LogFilter::default(),
        &PageRequest::first(500),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|l| l.message)
    .collect()
}

async fn wait_for_line(
    rx: &mut tokio::sync::broadcast::Receiver<vibebox_core::events::Event>,
    line: &str,
) {
    wait_for(rx, |k| match k {
        EventKind::Log { message, .. } if message == line => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_stalled_follow_is_noticed_and_collection_resumes_without_duplicates() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let c = H::container(&env);
    h.rt.push_log(&c, LogStream::Stdout, "before");
    wait_for_line(&mut rx, "before").await;
    assert!(h.rt.stall_log_follows(&c));
    h.rt.push_log(&c, LogStream::Stdout, "during 1\nduring 2");
    wait_for_line(&mut rx, "during 2").await;
    h.rt.push_log(&c, LogStream::Stderr, "after");
    wait_for_line(&mut rx, "after").await;
    assert!(h.vb.log_collection_report().stalls >= 1);
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        stored(&h, &alice, &env).await,
        [
            "vibebox: environment started",
            "before",
            "during 1",
            "during 2",
            "after"
        ]
    );
}

#[tokio::test]
async fn a_follow_the_engine_ends_while_the_container_runs_is_resumed() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let c = H::container(&env);
    h.rt.push_log(&c, LogStream::Stdout, "one");
    wait_for_line(&mut rx, "one").await;
    assert!(h.rt.end_log_follows(&c));
    h.rt.push_log(&c, LogStream::Stdout, "two");
    wait_for_line(&mut rx, "two").await;
    assert!(h.vb.is_collecting(env.id));
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        stored(&h, &alice, &env).await,
        ["vibebox: environment started", "one", "two"]
    );
}

#[tokio::test]
async fn output_rotated_away_before_it_was_read_is_recorded_as_a_gap() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let c = H::container(&env);
    h.rt.push_log(&c, LogStream::Stdout, "kept");
    wait_for_line(&mut rx, "kept").await;
    // Written and rotated away before the collector runs again (no await in between).
    h.rt.push_log(
        &c,
        LogStream::Stdout,
        "lost 1\nlost 2\nlost 3\nlate 1\nlate 2",
    );
    assert!(h.rt.rotate_logs(&c, 2));
    let (after, before, message) = wait_for(&mut rx, |k| match k {
        EventKind::LogGap {
            after,
            before,
            message,
            ..
        } => Some((*after, *before, message.clone())),
        _ => None,
    })
    .await;
    assert!(after < before);
    assert!(message.contains("was lost"), "{message}");
    wait_for_line(&mut rx, "late 2").await;
    assert_eq!(h.vb.log_collection_report().gaps, 1);
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let lines = stored(&h, &alice, &env).await;
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[..2], ["vibebox: environment started", "kept"]);
    assert_eq!(lines[2], message);
    assert_eq!(lines[3..], ["late 1", "late 2"]);
}

#[tokio::test]
async fn lines_written_after_a_stall_and_before_the_stop_are_stored() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let c = H::container(&env);
    wait_for_line(&mut rx, "vibebox: environment started").await;
    assert!(h.rt.stall_log_follows(&c));
    h.rt.push_log(&c, LogStream::Stdout, "last words");
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        stored(&h, &alice, &env).await,
        ["vibebox: environment started", "last words"]
    );
}

#[tokio::test]
async fn a_collector_that_keeps_failing_raises_a_warning_and_clears_it_on_recovery() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    wait_for_line(&mut rx, "vibebox: environment started").await;
    h.rt.set_unavailable(true);
    h.rt.end_log_follows(&H::container(&env));
    let raised = wait_for(&mut rx, |k| match k {
        EventKind::Health { health } => health.warning(WarningCode::LogCollection).cloned(),
        _ => None,
    })
    .await;
    assert!(
        raised.message.contains("log collection has failed"),
        "{}",
        raised.message
    );
    assert_eq!(h.vb.log_collection_report().failing, [env.id]);
    let stored_env = h.store.get_environment(env.id).await.unwrap();
    assert!(
        stored_env
            .health
            .warning(WarningCode::LogCollection)
            .is_some()
    );
    assert_eq!(
        stored_env.version, env.version,
        "health does not bump the version"
    );
    h.rt.set_unavailable(false);
    h.rt.push_log(&H::container(&env), LogStream::Stdout, "back");
    // The line comes first (the catch-up that reads it is the success that clears).
    wait_for_line(&mut rx, "back").await;
    wait_for(&mut rx, |k| match k {
        EventKind::Health { health } if !health.is_degraded() => Some(()),
        _ => None,
    })
    .await;
    assert!(h.vb.log_collection_report().failing.is_empty());
    let stored_env = h.store.get_environment(env.id).await.unwrap();
    assert!(stored_env.health.warnings.is_empty());
}
