//! From a line the container prints until a subscriber (`Vibebox::subscribe`) receives it as
//! `EventKind::Log`.
//!
//! The container's main process echoes, one whole line at a time, what arrives on a FIFO
//! (dockerd reads container output by lines). The bench feeds the FIFO through a long-lived
//! exec (`cat > fifo`) and times from writing a numbered line into that exec's stdin until the
//! subscriber has it, one line in flight at a time. The figure therefore includes the exec's
//! stdin hop into the container, on top of the log path proper.

use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;
use vibebox::Vibebox;
use vibebox::config::Config;
use vibebox::events::{Event, EventKind};
use vibebox::rbac::Actor;
use vibebox::runtime::{ContainerRuntime, ExecSession, ExecSpec};

use crate::common::Latencies;
use crate::harness::{BUSYBOX_IMAGE, D, WAIT, build, container, new_env};

pub const LINE: &str = "log/line_to_subscriber";
/// The part of [`LINE`] from the engine's timestamp of the line (when dockerd read it) to the
/// subscriber, on the wall clock.
pub const ENGINE_TO_SUBSCRIBER: &str = "log/engine_timestamp_to_subscriber";

const FIFO: &str = "/tmp/vbx-lines";

/// A running environment that prints what it is fed, and a subscriber to its events.
pub struct LogProbe {
    /// The service that runs the environment's collector (kept alive with it).
    _vb: Vibebox,
    events: broadcast::Receiver<Event>,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    /// The feeding exec (its output is kept so its connection stays open).
    _feeder: ExecSession,
    seq: u64,
}

/// Starts the printing environment (busybox, 64 MB) on a service whose main process is the
/// FIFO echo loop, subscribes, and checks that a first line comes through.
pub async fn open(d: &D, actor: &Actor) -> LogProbe {
    let script = format!(
        "mkfifo {FIFO} && echo ready && while :; do while IFS= read -r l; do echo \"$l\"; done < {FIFO}; done"
    );
    let config = Config {
        container_command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        ..d.config.clone()
    };
    let vb = build(d.store.clone(), d.rt.clone(), config, d.secrets.clone());
    let project = d.project(actor, "printing").await;
    let mut new = new_env(&project, "printer", BUSYBOX_IMAGE);
    new.memory_limit = Some(64);
    let env = vb.create_environment(actor, new).await.unwrap();
    let env = vb.start_environment(actor, env.id).await.unwrap();
    let events = vb.subscribe(actor, env.id).await.unwrap();
    let feeder =
        d.rt.exec(
            &container(&env),
            &ExecSpec {
                cmd: vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    format!("until [ -p {FIFO} ]; do sleep 1; done; exec cat > {FIFO}"),
                ],
                user: d.config.container_user.clone(),
                stdin: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut feeder = feeder;
    let input = std::mem::replace(&mut feeder.input, Box::pin(tokio::io::sink()));
    let mut probe = LogProbe {
        _vb: vb,
        events,
        input,
        _feeder: feeder,
        seq: 0,
    };
    for _ in 0..20 {
        line(&mut probe, None).await;
    }
    probe
}

/// Times `iters` lines; what criterion's `iter_custom` wants.
pub async fn lines(probe: &mut LogProbe, iters: u64, lat: &Latencies) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += line(probe, Some(lat)).await;
    }
    total
}

/// Sends one numbered line and waits for its log event.
async fn line(probe: &mut LogProbe, lat: Option<&Latencies>) -> Duration {
    probe.seq += 1;
    let text = format!("vbx-line-{}", probe.seq);
    let t = Instant::now();
    probe
        .input
        .write_all(format!("{text}\n").as_bytes())
        .await
        .unwrap();
    probe.input.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, probe.events.recv())
            .await
            .expect("the line reaches the subscriber in time")
        {
            Ok(Event {
                kind: EventKind::Log {
                    message, timestamp, ..
                },
                ..
            }) if message == text => {
                let took = t.elapsed();
                if let Some(lat) = lat {
                    lat.record(LINE, took);
                    let engine = (chrono::Utc::now() - timestamp)
                        .to_std()
                        .unwrap_or_default();
                    lat.record(ENGINE_TO_SUBSCRIBER, engine);
                }
                return took;
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                panic!("the subscriber lost {n} events with one line in flight")
            }
            Err(broadcast::error::RecvError::Closed) => panic!("the event bus closed"),
        }
    }
}
