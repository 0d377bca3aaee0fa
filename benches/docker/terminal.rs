//! The keystroke echo round trip through `Vibebox::open_terminal`: one byte written to the
//! terminal's input until the shell's echo of it comes out of the terminal's output.
//!
//! The terminal is a shell session (bash with readline) on the Debian base image. After each
//! timed keystroke a backspace erases it again (not timed), so the input line stays empty.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use vibebox::domain::SessionType;
use vibebox::rbac::Actor;
use vibebox::runtime::TerminalSize;
use vibebox::service::{NewSession, Terminal};

use crate::common::Latencies;
use crate::harness::{BASE_IMAGE, D, WAIT, new_env};

pub const ECHO: &str = "terminal/keystroke_echo";

/// The byte typed: absent from the prompt (`vibebox@term:~$ `) and from escape sequences.
const KEY: u8 = b'q';
const BACKSPACE: u8 = 0x7f;

/// Starts an environment on the base image and opens a terminal on a shell session, ready
/// for input.
pub async fn open(d: &D, actor: &Actor) -> Terminal {
    let project = d.project(actor, "typing").await;
    let env =
        d.vb.create_environment(actor, new_env(&project, "term", BASE_IMAGE))
            .await
            .unwrap();
    d.vb.start_environment(actor, env.id).await.unwrap();
    d.vb.create_session(
        actor,
        env.id,
        NewSession {
            session_type: SessionType::Shell,
            session_name: "sh".into(),
            idle_timeout_minutes: None,
        },
    )
    .await
    .unwrap();
    let mut term =
        d.vb.open_terminal(
            actor,
            env.id,
            "sh",
            TerminalSize {
                cols: 120,
                rows: 40,
            },
        )
        .await
        .unwrap();
    // The shell is ready once it has run a command and printed its prompt again; the marker
    // is computed so the echo of the typed command does not match it.
    term.input.write(b"echo vbx-$((6*7))\r").await.unwrap();
    let mut seen = Vec::new();
    read_until(&mut term, |chunk| {
        seen.extend_from_slice(chunk);
        seen.windows(6)
            .position(|w| w == b"vbx-42")
            .is_some_and(|at| seen[at..].windows(2).any(|w| w == b"$ "))
    })
    .await;
    let (_, echoed) = keystroke(&mut term).await;
    eprintln!(
        "terminal: a typed {:?} comes back as {:?}",
        KEY as char,
        String::from_utf8_lossy(&echoed)
    );
    for _ in 0..20 {
        keystroke(&mut term).await;
    }
    term
}

/// Times `iters` keystrokes; what criterion's `iter_custom` wants.
pub async fn keystrokes(term: &mut Terminal, iters: u64, lat: &Latencies) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (took, _) = keystroke(term).await;
        lat.record(ECHO, took);
        total += took;
    }
    total
}

/// One timed keystroke and its untimed erasure; returns the time and the output chunk that
/// held the echo.
async fn keystroke(term: &mut Terminal) -> (Duration, Bytes) {
    let t = Instant::now();
    term.input.write(&[KEY]).await.unwrap();
    let echoed = read_until(term, |chunk| chunk.contains(&KEY)).await;
    let took = t.elapsed();
    // readline answers a backspace with "\b \b" or "\b\x1b[K": both start with \b.
    term.input.write(&[BACKSPACE]).await.unwrap();
    read_until(term, |chunk| chunk.contains(&0x08)).await;
    (took, echoed)
}

/// Reads output chunks until `done` says so, and returns the last one.
async fn read_until(term: &mut Terminal, mut done: impl FnMut(&[u8]) -> bool) -> Bytes {
    tokio::time::timeout(WAIT, async {
        loop {
            let chunk = term
                .output
                .next()
                .await
                .expect("the terminal stays open")
                .expect("terminal output");
            if done(&chunk) {
                return chunk;
            }
        }
    })
    .await
    .expect("the terminal answers in time")
}
