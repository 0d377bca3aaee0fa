//! Container output: the engine's log stream with timestamps, one [`LogChunk`] per line.
//!
//! What the engine does to the output, as seen on Docker 20.10 with the `json-file` driver:
//! - Each line gets the engine's timestamp (nanoseconds) from when the engine read it. Lines
//!   of one stream come in order; stdout is not ordered against stderr: a line the process
//!   wrote later on one stream may carry an earlier timestamp than one it wrote before on the
//!   other.
//! - A line longer than 16 KiB is split by the engine into pieces of at most 16 KiB, each
//!   with its own timestamp and without a newline except the last. Each piece becomes its own
//!   [`LogChunk`], so the line is stored as several consecutive lines; joined in order they
//!   give the original line (a multi-byte character cut at a piece boundary becomes U+FFFD).
//! - Bytes that are not UTF-8 are replaced with U+FFFD; a trailing `\n` (and `\r`) is removed.
//! - The log of a container started again still holds the previous runs' lines.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryFutureExt};
use vibebox_core::domain::LogStream;
use vibebox_core::error::{Error, Result};
use vibebox_core::runtime::{ContainerId, LogChunk, LogOptions};

use crate::error;
use crate::info::parse_time;
use crate::runtime::DockerRuntime;

impl DockerRuntime {
    pub(crate) fn log_stream(
        &self,
        id: &ContainerId,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogChunk>> {
        let this = self.clone();
        let id = id.clone();
        async move {
            let docker = this.client().await?;
            // The engine takes whole seconds; finer filtering is the caller's.
            let since = options
                .since
                .map(|t| i32::try_from(t.timestamp()).unwrap_or(i32::MAX))
                .unwrap_or(0);
            let mut builder = LogsOptionsBuilder::new()
                .follow(options.follow)
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .since(since);
            builder = match options.tail {
                Some(n) => builder.tail(&n.to_string()),
                None => builder.tail("all"),
            };
            Ok::<_, Error>(docker.logs(id.as_str(), Some(builder.build())).filter_map(
                |item| async move {
                    match item {
                        Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                            parse_line(LogStream::Stdout, &message).map(Ok)
                        }
                        Ok(LogOutput::StdErr { message }) => {
                            parse_line(LogStream::Stderr, &message).map(Ok)
                        }
                        Ok(LogOutput::StdIn { .. }) => None,
                        Err(e) => Some(Err(error::map("container", e))),
                    }
                },
            ))
        }
        .try_flatten_stream()
        .boxed()
    }
}

/// Parses `<RFC 3339 timestamp> <line>\n`. A frame without a readable timestamp is dropped
/// with a trace (the engine always sends one when asked).
fn parse_line(stream: LogStream, frame: &Bytes) -> Option<LogChunk> {
    let text = String::from_utf8_lossy(frame);
    let (ts, rest) = text.split_once(' ').unwrap_or((text.as_ref(), ""));
    let Some(timestamp) = parse_time(ts) else {
        tracing::debug!("a log frame without a timestamp was skipped");
        return None;
    };
    let message = rest.strip_suffix('\n').unwrap_or(rest);
    let message = message.strip_suffix('\r').unwrap_or(message);
    Some(LogChunk {
        timestamp,
        stream,
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn frames_split_into_timestamp_and_line_without_newline() -> TestResult {
        let c = parse_line(
            LogStream::Stderr,
            &Bytes::from_static(b"2026-11-22T06:09:32.123456789Z hello world\r\n"),
        )
        .ok_or("a timestamped frame parses")?;
        assert_eq!(c.message, "hello world");
        assert_eq!(c.stream, LogStream::Stderr);
        assert_eq!(c.timestamp.timestamp_subsec_nanos(), 123_456_789);
        Ok(())
    }

    #[test]
    fn empty_lines_are_kept_and_invalid_utf8_is_replaced() {
        let empty = parse_line(
            LogStream::Stdout,
            &Bytes::from_static(b"2026-11-22T06:09:32Z \n"),
        );
        assert_eq!(empty.map(|c| c.message), Some(String::new()));
        let bad = parse_line(
            LogStream::Stdout,
            &Bytes::from_static(b"2026-11-22T06:09:32Z a\xffb\n"),
        );
        assert_eq!(bad.map(|c| c.message), Some("a\u{fffd}b".to_string()));
    }

    #[test]
    fn frames_without_timestamp_are_skipped() {
        assert_eq!(
            parse_line(LogStream::Stdout, &Bytes::from_static(b"no timestamp\n")),
            None
        );
    }
}
