//! The VibeBox server.
//!
//! The HTTP front (REST, WebSockets, auth) lands with the vibebox-http issue. Until then this
//! example runs the embedded demo on the in-memory kit (the same walk as `examples/embed.rs`)
//! and says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "embed.rs"]
#[allow(dead_code)]
mod embed;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    embed::init_tracing();
    println!(
        "vibebox server: the HTTP front is not built yet; running the embedded demo instead \
         (MemoryStore + FakeRuntime)\n"
    );
    embed::run().await
}
