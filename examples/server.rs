//! The VibeBox server: the HTTP API on SQLite (or PostgreSQL) and the local Docker engine.
//!
//! ```sh
//! cargo run --example server                       # ./vibebox.db, DOCKER_HOST or the default socket, 127.0.0.1:3000
//! cargo run --example server -- --listen 0.0.0.0:8080 --database postgres://vibebox@localhost/vibebox
//! ```
//!
//! | flag | environment | default |
//! |---|---|---|
//! | `--database URL` | `VIBEBOX_DATABASE_URL` | `sqlite://vibebox.db` |
//! | `--listen ADDR` | `VIBEBOX_LISTEN` | `127.0.0.1:3000` |
//! | `--keys PATH` | `VIBEBOX_KEY_FILE` | `./vibebox.keys` (created on first run, mode 0600) |
//! | `--cors-origin URL` (repeatable) | `VIBEBOX_CORS_ORIGINS` (comma-separated) | none |
//! | `--container-prefix NAME` | `VIBEBOX_CONTAINER_PREFIX` | `vibebox-` (names containers and home volumes) |
//! | — | `DOCKER_HOST` | `unix:///var/run/docker.sock` |
//!
//! The first account registered (`POST /api/v1/auth/register`) becomes platform admin. The
//! server answers even when the Docker engine is down; environments start once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use tokio_util::sync::CancellationToken;
use vibebox::Vibebox;
use vibebox::runtime::ContainerRuntime;
use vibebox::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_docker::{DockerRuntime, host_from_env};
use vibebox_http::{AccessTokens, HttpConfig, SigningKey};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    database: String,
    listen: SocketAddr,
    keys: PathBuf,
    cors_origins: Vec<String>,
    container_prefix: Option<String>,
}

fn options() -> Result<Options, BoxError> {
    let mut database =
        std::env::var("VIBEBOX_DATABASE_URL").unwrap_or_else(|_| "sqlite://vibebox.db".to_string());
    let mut listen = std::env::var("VIBEBOX_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let mut keys = std::env::var("VIBEBOX_KEY_FILE").unwrap_or_else(|_| "vibebox.keys".into());
    let mut cors_origins: Vec<String> = std::env::var("VIBEBOX_CORS_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut container_prefix = std::env::var("VIBEBOX_CONTAINER_PREFIX").ok();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => database = value()?,
            "--listen" => listen = value()?,
            "--keys" => keys = value()?,
            "--cors-origin" => cors_origins.push(value()?),
            "--container-prefix" => container_prefix = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "usage: server [--database URL] [--listen ADDR] [--keys PATH] [--cors-origin URL]... [--container-prefix NAME]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other} (try --help)").into()),
        }
    }
    let listen = listen
        .parse()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    Ok(Options {
        database,
        listen,
        keys: PathBuf::from(keys),
        cors_origins,
        container_prefix,
    })
}

/// The encryption keyring and the token signing key, from the key file; created (mode 0600)
/// on first run.
fn load_or_create_keys(path: &Path) -> Result<(Keyring, SigningKey), BoxError> {
    if !path.exists() {
        let keyring = Keyring::generate(KeyId::new("k1")?)?;
        let mut signing = [0u8; 32];
        getrandom::fill(&mut signing).map_err(|e| format!("no randomness: {e}"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        writeln!(
            file,
            "# VibeBox keys. Keep this file secret and back it up: without it, encrypted\n\
             # variables cannot be read and every access token becomes invalid.\n\
             encryption: {}\nsigning: s1={}",
            keyring.to_encoded().expose_secret(),
            URL_SAFE_NO_PAD.encode(signing)
        )?;
        println!(
            "warning: generated new keys in {} (mode 0600) - keep it secret and back it up",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)?;
    let mut keyring = None;
    let mut signing = None;
    for line in text.lines().map(str::trim) {
        if let Some(encoded) = line.strip_prefix("encryption:") {
            keyring = Some(Keyring::from_encoded(&SecretString::from(
                encoded.trim().to_string(),
            ))?);
        } else if let Some(entry) = line.strip_prefix("signing:") {
            let (kid, key) = entry
                .trim()
                .split_once('=')
                .ok_or("signing: expects <kid>=<base64 key>")?;
            let key = URL_SAFE_NO_PAD.decode(key.trim())?;
            signing = Some(SigningKey::new(kid, SecretBox::new(Box::new(key)))?);
        }
    }
    match (keyring, signing) {
        (Some(k), Some(s)) => Ok((k, s)),
        _ => Err(format!("{} lacks an encryption: or signing: line", path.display()).into()),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let opts = options()?;
    let (keyring, signing) = load_or_create_keys(&opts.keys)?;
    let store = vibebox::connect_store(&opts.database).await?;
    let docker_host = host_from_env();
    let runtime = Arc::new(DockerRuntime::lazy(&docker_host)?);
    let engine = match runtime.ping().await {
        Ok(()) => format!("Docker at {docker_host}"),
        Err(e) => {
            println!(
                "warning: the Docker engine is unavailable ({e}); the API serves, but environments cannot start until it is reachable"
            );
            format!("Docker at {docker_host} (unavailable)")
        }
    };
    let vibebox = Arc::new(
        Vibebox::builder()
            .store(store)
            .runtime(runtime)
            .secrets(Arc::new(AesGcmSecrets::new(keyring)))
            .config(vibebox::Config {
                container_name_prefix: opts
                    .container_prefix
                    .clone()
                    .unwrap_or_else(|| vibebox::Config::default().container_name_prefix),
                ..vibebox::Config::default()
            })
            .build()?,
    );
    let shutdown = CancellationToken::new();
    let background = vibebox.spawn_background(shutdown.clone());
    let app = vibebox_http::router(
        vibebox.clone(),
        HttpConfig {
            shutdown: shutdown.clone(),
            allowed_origins: opts.cors_origins.clone(),
            ..HttpConfig::new(AccessTokens::new("vibebox", "vibebox-api", signing))
        },
    );
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    println!(
        "VibeBox listening on http://{} (database {}, {engine}); API under /api/v1",
        listener.local_addr()?,
        redact(&opts.database)
    );
    let stop = shutdown.clone();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = tokio::signal::ctrl_c().await;
        println!("shutting down: finishing requests in flight");
        stop.cancel();
    })
    .await?;
    background.shutdown().await;
    Ok(())
}

/// The database URL without a password (SQLite URLs carry none).
fn redact(url: &str) -> String {
    if url.starts_with("postgres") {
        vibebox_postgres::redact_url(url)
    } else {
        url.to_string()
    }
}
