//! What a test's code traces, captured, so the test can check that no secret reaches the logs.

use std::sync::{Arc, Mutex};

/// Everything traced on this thread at any level while the guard lives, as formatted text.
///
/// ```
/// let (capture, _guard) = vibebox_core::testing::TraceCapture::install();
/// tracing::info!(user = "alice", "signed in");
/// assert!(capture.text().contains("signed in"));
/// ```
///
/// Tracing caches which callsites are enabled process-wide, so a test that installs a
/// capture belongs in its own test binary.
#[derive(Clone, Debug, Default)]
pub struct TraceCapture(Arc<Mutex<Vec<u8>>>);

impl TraceCapture {
    /// Installs a TRACE-level subscriber for the current thread (a `current_thread` runtime
    /// keeps spawned tasks on it) and returns the capture and the guard that uninstalls it.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (capture, guard)
    }

    /// The text traced so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for TraceCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TraceCapture {
    type Writer = TraceCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
