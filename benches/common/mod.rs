//! What the benchmark files share: per-call latencies recorded next to criterion's own
//! statistics, and their percentiles.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

/// Percentiles of a set of timings.
#[derive(Clone, Copy, Debug)]
pub struct Percentiles {
    pub n: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// The percentiles of `samples` (nearest rank, rounding down); `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_unstable();
        let pct = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        Some(Self {
            n: v.len(),
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
            max: v[v.len() - 1],
        })
    }
}

/// Per-call latencies by label, in the order the labels first appeared.
#[derive(Default)]
pub struct Latencies(Mutex<Vec<(String, Vec<Duration>)>>);

impl Latencies {
    pub fn record(&self, label: &str, d: Duration) {
        let mut all = self.0.lock().unwrap();
        match all.iter_mut().find(|(l, _)| l == label) {
            Some((_, v)) => v.push(d),
            None => all.push((label.to_string(), vec![d])),
        }
    }

    /// The percentiles of one label's timings.
    pub fn get(&self, label: &str) -> Option<Percentiles> {
        let all = self.0.lock().unwrap();
        all.iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, v)| Percentiles::of(v))
    }

    /// Prints p50/p95/p99 of every label to stderr.
    pub fn report(&self) {
        let all = self.0.lock().unwrap();
        eprintln!("\nlatency percentiles (every timed call):");
        for (label, v) in all.iter() {
            let Some(p) = Percentiles::of(v) else {
                continue;
            };
            eprintln!(
                "  {label:<40} n={:<7} p50={:>9.1?} p95={:>9.1?} p99={:>9.1?}",
                p.n, p.p50, p.p95, p.p99
            );
        }
    }
}

/// Whether to take few samples: `VIBEBOX_BENCH_QUICK` is set, or cargo ran the bench without
/// `--bench` (as `cargo test --benches` does), to check that it works.
pub fn quick() -> bool {
    std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || !std::env::args().any(|a| a == "--bench")
}

/// Milliseconds, for tables.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A markdown table row: the label, n, and p50/p95/p99/max in milliseconds.
pub fn row(what: &str, p: &Percentiles) {
    println!(
        "| {what} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
        p.n,
        ms(p.p50),
        ms(p.p95),
        ms(p.p99),
        ms(p.max)
    );
}
