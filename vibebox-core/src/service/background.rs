//! Background work: the reconciler (at startup, periodically and on engine events), OOM
//! kills counted from engine events, the health pass, the idle-session reaper, the idle
//! policies (auto-suspend), the warm pool's refill and log retention. It runs until the shutdown token fires.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Vibebox;
use crate::runtime::{LABEL_ENVIRONMENT_ID, RuntimeEventKind};

/// The running background tasks.
#[derive(Debug)]
pub struct BackgroundTasks {
    vibebox: Vibebox,
    token: CancellationToken,
    tasks: JoinSet<()>,
}

impl BackgroundTasks {
    /// Stops every task, waits for them to finish, then stops the log collectors (the next
    /// instance's collectors resume after the last stored line).
    pub async fn shutdown(mut self) {
        self.token.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.vibebox.shutdown_collectors().await;
    }
}

impl Vibebox {
    /// Starts the background jobs. They stop when `shutdown` is cancelled (or through
    /// [`BackgroundTasks::shutdown`]).
    pub fn spawn_background(&self, shutdown: CancellationToken) -> BackgroundTasks {
        let mut tasks = JoinSet::new();
        let wake = Arc::new(Notify::new());
        let cfg = self.config().clone();

        let (this, token, w) = (self.clone(), shutdown.clone(), wake.clone());
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(period(cfg.reconcile_interval));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {}
                    _ = w.notified() => {}
                }
                match this.reconcile().await {
                    Ok(r) if r.repaired + r.orphans_removed > 0 => tracing::info!(?r, "reconciled"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reconcile failed; retrying later"),
                }
            }
        });

        let (this, token, w) = (self.clone(), shutdown.clone(), wake.clone());
        tasks.spawn(async move { this.watch_engine_events(token, w).await });

        let (this, token) = (self.clone(), shutdown.clone());
        let every = cfg.reaper_interval;
        tasks.spawn(periodic(token, every, move || {
            let this = this.clone();
            async move {
                if let Err(e) = this.reap_idle_sessions().await {
                    tracing::warn!(error = %e, "session reaper failed");
                }
            }
        }));

        let (this, token) = (self.clone(), shutdown.clone());
        let every = cfg.health_interval;
        tasks.spawn(periodic(token, every, move || {
            let this = this.clone();
            async move {
                if let Err(e) = this.check_health().await {
                    tracing::warn!(error = %e, "health pass failed");
                }
            }
        }));

        let (this, token) = (self.clone(), shutdown.clone());
        let every = period(cfg.pool_interval);
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {}
                    _ = this.inner.pool.refill.notified() => {}
                }
                match this.refill_pool().await {
                    Ok(r) if r.created + r.adopted + r.removed > 0 => {
                        tracing::debug!(?r, "warm pool refilled")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "warm pool refill failed; retrying later"),
                }
            }
        });

        let (this, token) = (self.clone(), shutdown.clone());
        let every = cfg.idle_interval;
        tasks.spawn(periodic(token, every, move || {
            let this = this.clone();
            async move {
                match this.apply_idle_policies().await {
                    Ok(r) if r.suspended + r.stopped > 0 => {
                        tracing::info!(?r, "idle policies applied")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "idle policy pass failed"),
                }
            }
        }));

        let (this, token) = (self.clone(), shutdown.clone());
        let every = cfg.retention_interval;
        tasks.spawn(periodic(token, every, move || {
            let this = this.clone();
            async move {
                if let Err(e) = this.apply_retention().await {
                    tracing::warn!(error = %e, "log retention failed");
                }
            }
        }));

        BackgroundTasks {
            vibebox: self.clone(),
            token: shutdown,
            tasks,
        }
    }

    /// Follows engine events, counts OOM kills and wakes the reconciler on container changes. When the stream
    /// breaks it reconnects with backoff and asks for a full pass, since events sent while
    /// disconnected are lost.
    async fn watch_engine_events(&self, token: CancellationToken, wake: Arc<Notify>) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let mut events = self.runtime().events(&self.managed_labels());
            loop {
                let next = tokio::select! {
                    _ = token.cancelled() => return,
                    next = events.next() => next,
                };
                match next {
                    Some(Ok(event)) => {
                        backoff = Duration::from_millis(500);
                        if event.kind == RuntimeEventKind::Oom
                            && let Some(env) = event
                                .labels
                                .get(LABEL_ENVIRONMENT_ID)
                                .and_then(|id| id.parse().ok())
                        {
                            self.record_oom_kill(env, event.at).await;
                        }
                        if matches!(
                            event.kind,
                            RuntimeEventKind::Die { .. }
                                | RuntimeEventKind::Oom
                                | RuntimeEventKind::Destroy
                                | RuntimeEventKind::Stop
                        ) {
                            wake.notify_one();
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "engine events failed");
                        break;
                    }
                    None => break,
                }
            }
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
            wake.notify_one();
        }
    }
}

async fn periodic<F, Fut>(token: CancellationToken, every: Duration, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tick.tick() => job().await,
        }
    }
}

/// A configured interval as a timer period: a zero interval (which the timer refuses) runs the
/// job back to back, 1 ms apart.
fn period(interval: Duration) -> Duration {
    interval.max(Duration::from_millis(1))
}
