//! Live resource usage from the engine's stats stream.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use chrono::Utc;
use futures::stream::BoxStream;
use futures::{StreamExt, TryFutureExt};
use std::time::Duration;

use vibebox_core::error::{Error, ErrorKind, Result};
use vibebox_core::runtime::{ContainerId, ContainerStats};

use crate::error;
use crate::info::parse_time;
use crate::runtime::DockerRuntime;

/// The engine samples about once a second. When no sample comes for this long, the container
/// is inspected: the engine's stream does not end when the container stops (it goes quiet, or
/// sends samples read at the zero time).
const QUIET: Duration = Duration::from_millis(2500);

impl DockerRuntime {
    pub(crate) fn stats_stream(
        &self,
        id: &ContainerId,
    ) -> BoxStream<'static, Result<ContainerStats>> {
        let this = self.clone();
        let id = id.clone();
        async move {
            let docker = this.client().await?;
            let options = StatsOptionsBuilder::new()
                .stream(true)
                .one_shot(false)
                .build();
            let samples = docker
                .stats(id.as_str(), Some(options))
                // After the container stops the engine sends samples read at the zero time.
                .take_while(|s| {
                    let live = match s {
                        Ok(s) => s.read.as_deref().and_then(parse_time).is_some(),
                        Err(_) => true,
                    };
                    std::future::ready(live)
                })
                .map(|s| s.map(sample).map_err(|e| error::map("container", e)))
                .boxed();
            Ok::<_, Error>(futures::stream::unfold(
                (samples, this, id, false),
                |(mut samples, this, id, done)| async move {
                    if done {
                        return None;
                    }
                    loop {
                        match tokio::time::timeout(QUIET, samples.next()).await {
                            Ok(Some(Ok(s))) => return Some((Ok(s), (samples, this, id, false))),
                            Ok(Some(Err(e))) => return Some((Err(e), (samples, this, id, true))),
                            Ok(None) => return None,
                            Err(_) => match this.inspect_container(&id).await {
                                // A paused container's stream goes on (with no CPU use).
                                Ok(info) if info.state.is_live() => continue,
                                Ok(_) => return None,
                                Err(e) if e.kind() == ErrorKind::NotFound => return None,
                                Err(e) => return Some((Err(e), (samples, this, id, true))),
                            },
                        }
                    }
                },
            ))
        }
        .try_flatten_stream()
        .boxed()
    }
}

/// Memory in use as `docker stats` counts it: usage without the inactive page cache
/// (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
fn memory_used(s: &ContainerStatsResponse) -> u64 {
    let Some(m) = &s.memory_stats else { return 0 };
    let usage = m.usage.unwrap_or(0);
    let cache = m
        .stats
        .as_ref()
        .and_then(|st| {
            st.get("total_inactive_file")
                .or_else(|| st.get("inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    usage.saturating_sub(cache)
}

/// CPU use as a percentage of one core: the container's share of the host's CPU time since
/// the previous sample, times the online CPUs.
fn cpu_percent(s: &ContainerStatsResponse) -> f64 {
    let (Some(cpu), Some(pre)) = (&s.cpu_stats, &s.precpu_stats) else {
        return 0.0;
    };
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    // The first sample has no previous one to compare with.
    if pre.system_cpu_usage.unwrap_or(0) == 0 {
        return 0.0;
    }
    let cpu_delta = total(cpu).saturating_sub(total(pre));
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0));
    if cpu_delta == 0 || system_delta == 0 {
        return 0.0;
    }
    let cpus = cpu
        .online_cpus
        .filter(|n| *n > 0)
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as f64)
        })
        .unwrap_or(1.0);
    cpu_delta as f64 / system_delta as f64 * cpus * 100.0
}

fn sample(s: ContainerStatsResponse) -> ContainerStats {
    ContainerStats {
        at: s
            .read
            .as_deref()
            .and_then(parse_time)
            .unwrap_or_else(Utc::now),
        cpu_percent: cpu_percent(&s),
        memory_bytes: memory_used(&s),
        memory_limit_bytes: s.memory_stats.as_ref().and_then(|m| m.limit).unwrap_or(0),
        pids: s.pids_stats.as_ref().and_then(|p| p.current),
        pids_limit: pids_limit(&s),
    }
}

/// The pids limit, when there is one. Docker 20.10 on cgroup v1 leaves `limit` out without a
/// limit; the API documents 0 for "no limit", and engines on cgroup v2 may report `max` as
/// the largest integer: all of these are `None`.
fn pids_limit(s: &ContainerStatsResponse) -> Option<u64> {
    s.pids_stats
        .as_ref()
        .and_then(|p| p.limit)
        .filter(|&limit| limit > 0 && limit < i64::MAX.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{
        ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats, ContainerPidsStats,
    };

    use super::*;

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_is_the_share_of_host_time_times_cpus() {
        let s = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 10_000)),
            precpu_stats: Some(cpu(1_000, 8_000)),
            ..Default::default()
        };
        // 500 of 2000 host ticks on 2 CPUs: half a core.
        assert!((cpu_percent(&s) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn first_sample_without_previous_reads_zero_cpu() {
        let s = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 10_000)),
            precpu_stats: Some(ContainerCpuStats::default()),
            ..Default::default()
        };
        assert_eq!(cpu_percent(&s), 0.0);
        let none = ContainerStatsResponse::default();
        assert_eq!(cpu_percent(&none), 0.0);
    }

    #[test]
    fn memory_used_leaves_out_inactive_page_cache() {
        let s = ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                limit: Some(1 << 20),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 4_000)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(memory_used(&s), 6_000);
        assert_eq!(sample(s).memory_limit_bytes, 1 << 20);
    }

    fn with_pids(current: u64, limit: Option<u64>) -> ContainerStatsResponse {
        ContainerStatsResponse {
            pids_stats: Some(ContainerPidsStats {
                current: Some(current),
                limit,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn pids_and_their_limit_come_from_pids_stats() {
        let s = sample(with_pids(48, Some(48)));
        assert_eq!((s.pids, s.pids_limit), (Some(48), Some(48)));
    }

    #[test]
    fn an_absent_zero_or_max_pids_limit_is_no_limit() {
        for limit in [None, Some(0), Some(u64::MAX), Some(i64::MAX.unsigned_abs())] {
            assert_eq!(sample(with_pids(3, limit)).pids_limit, None, "{limit:?}");
        }
        assert_eq!(sample(ContainerStatsResponse::default()).pids_limit, None);
    }
}
