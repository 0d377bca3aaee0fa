//! `vibebox`: the command-line client of a VibeBox server.
//!
//! Every command is a thin layer over [`vibebox_client`]: it resolves names, calls the API and
//! prints a table, a line, or `--json`. Errors are one line with a hint, and the exit code says
//! what kind of error it was (see [`error`]).

mod cli;
mod commands;
mod config;
mod context;
mod error;
mod gateway;
mod output;
mod parse;
mod resolve;
mod terminal;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    // One thread: a command is one conversation with the server, and a port-forward's copies
    // on one thread keep pace with the raw tunnel, where a pool of two bounced between
    // 150 and 380 MB/s as its wakeups crossed threads (BENCHMARKS.md, issue 15).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::failed(format!("cannot start: {e}"))),
    };
    let outcome = runtime.block_on(commands::run(cli));
    // A read of stdin may still be blocked on a thread (after `shell` or `exec`): do not wait
    // for a key press that will never come.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => report(&e),
    }
}

/// Prints the error and its hint on stderr and returns its exit code.
fn report(e: &CliError) -> ExitCode {
    let colour = output::colour_wanted(std::io::stderr().is_terminal());
    let mut err = std::io::stderr().lock();
    let (red, dim, reset) = if colour {
        ("\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let _ = writeln!(err, "{red}error:{reset} {e}");
    if !e.hint().is_empty() {
        let _ = writeln!(err, "{dim}hint:{reset} {}", e.hint());
    }
    ExitCode::from(e.exit_code())
}

/// `-v` info, `-vv` debug, else warnings only; `RUST_LOG` wins when set.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
