//! `vibebox logs ENV [-f] [--since 10m] [--stream stderr] [-t]`: stored lines, then (with
//! `-f`) live ones until Ctrl-C. Lines the container wrote on stderr go to local stderr, as
//! `docker logs` does; lost output is reported where it happened, never hidden.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use vibebox_client::{LogFilter, LogMessage, LogQuery, collect_all};
use vibebox_core::domain::LogStream;

use crate::cli::{LogsArgs, StreamArg};
use crate::context::Context;
use crate::error::CliError;
use crate::{parse, resolve};

/// Prints the stored lines, then follows.
pub async fn run(ctx: &Context, args: LogsArgs) -> Result<u8, CliError> {
    let since = args.since.as_deref().map(since).transpose()?;
    let stream = args.stream.map(|s| match s {
        StreamArg::Stdout => LogStream::Stdout,
        StreamArg::Stderr => LogStream::Stderr,
    });
    let env = resolve::environment_id(&ctx.client, &args.env).await?;
    // Subscribe first, so no line falls between the stored ones and the live ones.
    let mut live = if args.follow {
        let mut socket = ctx.client.logs_socket(env).await?;
        if let Some(stream) = stream {
            vibebox_client::LogsSocket::filter(
                &mut socket,
                match stream {
                    LogStream::Stdout => LogFilter::Stdout,
                    LogStream::Stderr => LogFilter::Stderr,
                },
            )
            .await?;
        }
        Some(socket)
    } else {
        None
    };
    let query = LogQuery {
        since,
        until: None,
        stream,
    };
    let stored = collect_all(|page| ctx.client.query_logs(env, &query, page)).await?;
    let mut printer = Printer::new(args.timestamps, ctx.out.json);
    for entry in &stored {
        printer
            .line(entry.timestamp, entry.stream, &entry.message)
            .await?;
    }
    // The live socket replays recent lines: skip those already printed.
    let last = stored.last().map(|e| e.timestamp);
    let seen: HashSet<(DateTime<Utc>, String)> = stored
        .iter()
        .filter(|e| Some(e.timestamp) == last)
        .map(|e| (e.timestamp, e.message.clone()))
        .collect();
    let Some(socket) = live.as_mut() else {
        return Ok(0);
    };
    while let Some(message) = socket.next().await {
        match message? {
            LogMessage::Log {
                timestamp,
                stream: line_stream,
                message,
            } => {
                let old = last.is_some_and(|l| {
                    timestamp < l
                        || (timestamp == l && seen.contains(&(timestamp, message.clone())))
                });
                let wanted = since.is_none_or(|s| timestamp >= s);
                if !old && wanted {
                    printer.line(timestamp, line_stream, &message).await?;
                }
            }
            LogMessage::Gap { lines, message, .. } => {
                let count = lines
                    .map(|n| format!("{n} lines"))
                    .unwrap_or_else(|| "output".into());
                printer
                    .note(&format!("-- {count} lost: {message} --"))
                    .await?;
            }
            LogMessage::Dropped { count } => {
                printer
                    .note(&format!("-- {count} lines not shown: this terminal was too slow; `vibebox logs` without -f shows them --"))
                    .await?;
            }
            LogMessage::Error { message } => return Err(CliError::failed(message)),
            _ => {}
        }
    }
    Err(CliError::new(
        crate::error::Kind::Unreachable,
        "the log stream ended: the server closed it",
        "run the command again to resume",
    ))
}

/// `--since`: a duration back from now (`10m`) or an RFC 3339 time.
fn since(text: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let back = parse::duration("--since", text)?;
    let back = chrono::Duration::from_std(back)
        .map_err(|_| CliError::usage("--since: too far back", "use a shorter duration"))?;
    Ok(Utc::now() - back)
}

/// Writes lines to the matching local stream.
struct Printer {
    timestamps: bool,
    json: bool,
    stdout: tokio::io::Stdout,
    stderr: tokio::io::Stderr,
}

impl Printer {
    fn new(timestamps: bool, json: bool) -> Self {
        Self {
            timestamps,
            json,
            stdout: tokio::io::stdout(),
            stderr: tokio::io::stderr(),
        }
    }

    async fn line(
        &mut self,
        at: DateTime<Utc>,
        stream: LogStream,
        message: &str,
    ) -> Result<(), CliError> {
        if self.json {
            let line = serde_json::json!({"timestamp": at, "stream": stream, "message": message});
            return write_line(&mut self.stdout, &line.to_string()).await;
        }
        let text = if self.timestamps {
            format!(
                "{} {message}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )
        } else {
            message.to_owned()
        };
        match stream {
            LogStream::Stdout => write_line(&mut self.stdout, &text).await,
            LogStream::Stderr => write_line(&mut self.stderr, &text).await,
        }
    }

    async fn note(&mut self, text: &str) -> Result<(), CliError> {
        write_line(&mut self.stderr, text).await
    }
}

async fn write_line(out: &mut (impl AsyncWrite + Unpin), text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).await?;
    out.write_all(b"\n").await?;
    out.flush().await?;
    Ok(())
}
