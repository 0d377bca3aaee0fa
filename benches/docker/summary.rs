//! The table printed at the end of the docker bench, with each target and whether it was met.

use std::time::Duration;

use crate::Plan;
use crate::common::{Latencies, Percentiles};
use crate::concurrent::{CONCURRENT, Crowd};
use crate::logs::{ENGINE_TO_SUBSCRIBER, LINE};
use crate::start::{RAW, RAW_LIKE_VIBEBOX, VIBEBOX, VIBEBOX_TMUX};
use crate::terminal::ECHO;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn p50_p95(p: Option<Percentiles>) -> String {
    p.map_or("-".into(), |p| {
        format!("{} / {} (n={})", ms(p.p50), ms(p.p95), p.n)
    })
}

fn p50_p99(p: Option<Percentiles>) -> String {
    p.map_or("-".into(), |p| {
        format!("{} / {} (n={})", ms(p.p50), ms(p.p99), p.n)
    })
}

fn p99_within(p: Option<Percentiles>, budget: Duration) -> String {
    p.map_or("-".into(), |p| verdict(p.p99 <= budget).into())
}

pub fn print(plan: &Plan, lat: &Latencies, crowd: &Crowd) {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |a: &str, b: &str, c: String, d: String| {
        rows.push([a.to_string(), b.to_string(), c, d]);
    };
    let (vb, raw) = (lat.get(VIBEBOX), lat.get(RAW));
    row(
        "start through VibeBox, no default session: p50 / p95",
        "",
        p50_p95(vb),
        String::new(),
    );
    row(
        "raw bollard create+start, same spec: p50 / p95",
        "",
        p50_p95(raw),
        String::new(),
    );
    match (vb, raw) {
        (Some(vb), Some(raw)) => {
            let ratio = vb.p50.as_secs_f64() / raw.p50.as_secs_f64();
            row(
                "VibeBox / raw at p50",
                "<= 1.10",
                format!(
                    "{ratio:.2} ({:+.1} ms)",
                    (vb.p50.as_secs_f64() - raw.p50.as_secs_f64()) * 1e3
                ),
                verdict(ratio <= 1.10).into(),
            );
        }
        _ => row("VibeBox / raw at p50", "<= 1.10", "-".into(), "-".into()),
    }
    row(
        "  raw bollard list+create+start+inspect (VibeBox's engine calls): p50 / p95",
        "",
        p50_p95(lat.get(RAW_LIKE_VIBEBOX)),
        String::new(),
    );
    row(
        "start through VibeBox with the default tmux session: p50 / p95",
        "",
        p50_p95(lat.get(VIBEBOX_TMUX)),
        String::new(),
    );
    let echo = lat.get(ECHO);
    row(
        "terminal keystroke echo: p50 / p99",
        "p99 <= 10 ms",
        p50_p99(echo),
        p99_within(echo, Duration::from_millis(10)),
    );
    let line = lat.get(LINE);
    row(
        "log line to subscriber: p50 / p99",
        "p99 <= 50 ms",
        p50_p99(line),
        p99_within(line, Duration::from_millis(50)),
    );
    row(
        "  of which engine timestamp to subscriber: p50 / p99",
        "",
        p50_p99(lat.get(ENGINE_TO_SUBSCRIBER)),
        String::new(),
    );
    let each = lat.get(CONCURRENT);
    row(
        &format!("{} concurrent starts: failures; total wall time", crowd.n),
        "0 failures",
        format!(
            "{} failures; {:.2} s; {} containers running",
            crowd.failures.len(),
            crowd.total.as_secs_f64(),
            crowd.running
        ),
        verdict(crowd.failures.is_empty() && crowd.running == crowd.n).into(),
    );
    row(
        "  each start: p50 / p95 / max",
        "",
        each.map_or("-".into(), |p| {
            format!("{} / {} / {}", ms(p.p50), ms(p.p95), ms(p.max))
        }),
        String::new(),
    );
    row(
        &format!(
            "  {} raw create+starts at once, same spec: failures; total",
            crowd.n
        ),
        "",
        format!(
            "{} failures; {:.2} s",
            crowd.raw_failures.len(),
            crowd.raw_total.as_secs_f64()
        ),
        String::new(),
    );
    let grown = crowd.rss_with_kib.saturating_sub(crowd.rss_before_kib);
    row(
        &format!(
            "bench process RSS: before / with {} running (difference per environment)",
            crowd.n
        ),
        "",
        format!(
            "{:.1} MiB / {:.1} MiB (+{:.1} MiB, {:.0} KiB each)",
            crowd.rss_before_kib as f64 / 1024.0,
            crowd.rss_with_kib as f64 / 1024.0,
            grown as f64 / 1024.0,
            grown as f64 / crowd.n.max(1) as f64
        ),
        String::new(),
    );

    eprintln!(
        "\ndocker bench summary ({} plan{}):",
        if plan.quick { "quick" } else { "full" },
        if plan.quick {
            "; too few samples for the targets"
        } else {
            ""
        }
    );
    eprintln!("| measure | target | result | |");
    eprintln!("|---|---|---|---|");
    for [a, b, c, d] in rows {
        eprintln!("| {a} | {b} | {c} | {d} |");
    }
    for f in crowd.failures.iter().take(5) {
        eprintln!("concurrent start failure: {f}");
    }
    for f in crowd.raw_failures.iter().take(5) {
        eprintln!("concurrent raw start failure: {f}");
    }
    eprintln!(
        "RSS is the whole bench process (tokio, the SQLite pool, criterion's state), measured \
         before criterion ran."
    );
}
