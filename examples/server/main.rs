//! The VibeBox server: the HTTP API on SQLite (or PostgreSQL) and the local Docker engine.
//!
//! ```sh
//! cargo run --example server                       # ./vibebox.db, DOCKER_HOST or the default socket, 127.0.0.1:3000
//! cargo run --example server -- --listen 0.0.0.0:8080 --database postgres://vibebox@localhost/vibebox
//! cargo run --example server -- --help             # every flag and environment variable
//! ```
//!
//! On a fresh machine it first builds the image environments run on, `vibebox/base:bookworm`,
//! with the repository's `scripts/base-image` (about a minute, once; `--no-build-images`
//! skips it). Both `sqlite:` and `postgres://` database URLs work: the example always has the
//! PostgreSQL store, while the `vibebox` facade leaves it to the `postgres` feature.
//!
//! The web console is served at `/`. Its terminal needs xterm.js, which the repository does not
//! hold: on first start the server fetches it with `scripts/console-assets` into
//! `target/console-vendor` (`--console-vendor-dir` to choose; `--no-build-images` skips it).
//! The SSH gateway listens on `--ssh-listen` (127.0.0.1:2222; `off` runs none): users connect
//! as `<project>.<environment>` with a key registered at `/api/v1/users/me/ssh-keys`.
//! `--secure-cookies` (the default when `--public-url` is https) marks the session cookie
//! `Secure`.
//!
//! On first run it generates the encryption keyring, the token signing key and the SSH host
//! key (Ed25519; its fingerprint is printed at start) into the key file (mode 0600) and warns
//! about it; `VIBEBOX_ENCRYPTION_KEYS`, `VIBEBOX_SIGNING_KEY` and `VIBEBOX_SSH_HOST_KEY` bring
//! your own instead. The first account registered (`POST /api/v1/auth/register`)
//! becomes platform admin unless `--no-first-user-admin`. GitHub and Google sign-in are on
//! when their client id and secret are set. The server answers even when the Docker engine
//! is down, and says that environments cannot start until it is back. Ctrl-C or SIGTERM
//! shuts it down gracefully: requests in flight finish, sockets close with 1001. A server that
//! cannot start says why in one line on stderr (`error: …`) and exits with status 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod console;
mod images;
mod keys;
mod options;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use vibebox::Vibebox;
use vibebox::config::Config;
use vibebox::runtime::ContainerRuntime;
use vibebox::secrets::AesGcmSecrets;
use vibebox::{Store, StoreBackend};
use vibebox_docker::{DockerOptions, DockerRuntime, host_from_env};
use vibebox_http::oauth::OAuthProvider;
use vibebox_http::{
    AccessTokens, ConsoleConfig, HttpConfig, OpenSockets, PreviewConfig, RateLimit,
    SOCKET_CLOSE_TIMEOUT, SshGateway, SshHostKey,
};
use vibebox_ssh::{SshConfig, SshServer};

use options::{BoxError, OAuthClient, Options};

/// Runs the server; a failure to start (or to keep serving) is one line on stderr, never a
/// Rust `Debug` dump, and exit status 1.
fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let opts = options::parse(std::env::args().skip(1))?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.worker_threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(serve(opts))
}

/// A message on one line: line breaks (a driver's multi-line reason) become spaces.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The store the URL names. The `vibebox` facade has PostgreSQL only with its `postgres`
/// feature, off by default so that embedders do not pay for it; this example depends on
/// `vibebox-postgres` directly (as on `vibebox-http`), so both URLs work from `cargo run`.
async fn connect_store(url: &str) -> vibebox::Result<Arc<dyn Store>> {
    match StoreBackend::for_url(url)? {
        StoreBackend::Postgres => Ok(Arc::new(vibebox_postgres::PgStore::connect(url).await?)),
        StoreBackend::Sqlite => vibebox::connect_store(url).await,
    }
}

async fn serve(opts: Options) -> Result<(), BoxError> {
    let (keyring, signing) = keys::load(&opts)?;
    let ssh_host_key = keys::ssh_host_key(&opts)?;
    let database = redact(&opts.database);
    let store = connect_store(&opts.database).await.map_err(|e| {
        // PostgreSQL's errors name the (redacted) URL already.
        let message = e.to_string();
        if message.contains(&database) {
            message
        } else {
            format!("database {database}: {message}")
        }
    })?;
    // Bound before the image build, so that an address in use fails at once.
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let ssh_listener = match opts.ssh_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            format!("cannot listen for SSH on {addr}: {e} (--ssh-listen off runs no gateway)")
        })?),
        None => None,
    };
    let docker_host = host_from_env();
    let runtime = Arc::new(
        DockerRuntime::lazy_with(
            &docker_host,
            DockerOptions::default().missing_image_hint(images::missing_image_hint()),
        )
        .map_err(|e| format!("DOCKER_HOST {docker_host}: {e}"))?,
    );
    let engine = match runtime.ping().await {
        Ok(()) => {
            if opts.build_images {
                images::ensure(runtime.as_ref(), &opts.base_image).await?;
            }
            format!("Docker at {docker_host}")
        }
        Err(e) => {
            println!(
                "warning: the Docker engine is unavailable ({e}); the API serves, but environments cannot start until it is reachable"
            );
            format!("Docker at {docker_host} (unavailable)")
        }
    };
    if opts.build_images {
        console::ensure_vendor(&opts.console_vendor_dir).await;
    }
    let vibebox = Arc::new(
        Vibebox::builder()
            .store(store)
            .runtime(runtime)
            .secrets(Arc::new(AesGcmSecrets::new(keyring)))
            .config(service_config(&opts))
            .build()?,
    );
    let shutdown = CancellationToken::new();
    let background = vibebox.spawn_background(shutdown.clone());
    let oauth_providers = oauth_providers(&opts)?;
    let signs_in_with: Vec<String> = oauth_providers.iter().map(|p| p.name.clone()).collect();
    let ssh_gateway = match &ssh_listener {
        Some(l) => Some(SshGateway {
            host: opts.ssh_public_host.clone(),
            port: l.local_addr()?.port(),
            host_keys: vec![SshHostKey {
                public_key: ssh_host_key.public_openssh()?,
                fingerprint: ssh_host_key.fingerprint(),
            }],
        }),
        None => None,
    };
    let sockets = OpenSockets::new();
    let app = vibebox_http::router(
        vibebox.clone(),
        HttpConfig {
            shutdown: shutdown.clone(),
            sockets: sockets.clone(),
            allowed_origins: opts.cors_origins.clone(),
            per_ip_rate_limit: RateLimit::per_minute(opts.rate_limit_per_ip, 500),
            auth_rate_limit: RateLimit::per_minute(opts.rate_limit_auth, 20),
            per_user_rate_limit: RateLimit::per_minute(opts.rate_limit_per_user, 300),
            oauth_providers,
            secure_cookies: opts.secure_cookies,
            trusted_proxies: opts.trusted_proxies.clone(),
            ssh: ssh_gateway,
            console: Some(ConsoleConfig {
                vendor_dir: Some(opts.console_vendor_dir.clone()),
            }),
            preview: opts.preview_domain.clone().map(|domain| PreviewConfig {
                domain,
                secure: opts.preview_tls,
                ..PreviewConfig::default()
            }),
            ..HttpConfig::new(AccessTokens::new("vibebox", "vibebox-api", signing))
        },
    );
    println!("SSH host key {}", ssh_host_key.fingerprint());
    let ssh = match ssh_listener {
        Some(l) => {
            let addr = l.local_addr()?;
            println!("SSH gateway on {addr}; connect as <project>.<environment>");
            let server =
                SshServer::for_vibebox(vibebox.clone(), SshConfig::new(addr, ssh_host_key));
            Some(tokio::spawn(server.run_on(l, shutdown.clone())))
        }
        None => None,
    };
    println!(
        "VibeBox listening on http://{} (database {database}, {engine}); API under /api/v1{}",
        listener.local_addr()?,
        if signs_in_with.is_empty() {
            String::new()
        } else {
            format!("; sign-in with {}", signs_in_with.join(", "))
        }
    );
    println!("console at {}/", opts.public_url);
    if let Some(domain) = &opts.preview_domain {
        println!(
            "preview URLs at {}://<port>--<env>--<project>.{domain}:{}",
            if opts.preview_tls { "https" } else { "http" },
            listener.local_addr()?.port()
        );
    }
    let stop = shutdown.clone();
    // No Nagle delay: a response's head and body often go out as two writes (a streamed
    // preview response always does), and the client's delayed ACK would hold the second.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        // Best effort: without it the server still works, only slower on small responses.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        terminated().await;
        println!("shutting down: finishing requests in flight");
        stop.cancel();
    })
    .await?;
    // `axum::serve` does not wait for upgraded connections: each socket was sent its 1001 when
    // `shutdown` was cancelled; wait (bounded) for it to get out before the runtime stops.
    if tokio::time::timeout(SOCKET_GRACE, sockets.all_closed())
        .await
        .is_err()
    {
        println!(
            "warning: {} WebSockets were still closing after {SOCKET_GRACE:?}",
            sockets.len()
        );
    }
    if let Some(ssh) = ssh {
        match ssh.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => println!("warning: the SSH gateway failed: {e}"),
            Err(e) => println!("warning: the SSH gateway failed: {e}"),
        }
    }
    background.shutdown().await;
    Ok(())
}

/// How long a shutdown waits for WebSockets to close: their close frames take at most
/// [`SOCKET_CLOSE_TIMEOUT`], the rest is for their handlers to let go of what they hold (a
/// terminal's process).
const SOCKET_GRACE: std::time::Duration =
    SOCKET_CLOSE_TIMEOUT.saturating_add(std::time::Duration::from_secs(3));

/// The service's configuration from the options.
fn service_config(opts: &Options) -> Config {
    let mut config = Config {
        first_user_is_platform_admin: opts.first_user_admin,
        pool: opts.pool.clone(),
        ..Config::default()
    };
    // The label scopes the reconciler to this server's containers: containers of other
    // servers and of test runs on the same engine are never taken for orphans.
    let instance = opts
        .instance
        .as_deref()
        .unwrap_or(options::DEFAULT_INSTANCE);
    config
        .container_labels
        .insert("vibebox.instance".into(), instance.to_string());
    if opts.instance.is_some() {
        config.container_name_prefix = format!("vibebox-{instance}-");
    }
    config
}

/// GitHub and Google, where their clients are configured.
fn oauth_providers(opts: &Options) -> Result<Vec<OAuthProvider>, BoxError> {
    let callback = |name: &str| format!("{}/api/v1/auth/oauth/{name}/callback", opts.public_url);
    let mut providers = Vec::new();
    let configured = [
        (
            "github",
            &opts.github,
            OAuthProvider::github as fn(_, _, _) -> _,
        ),
        ("google", &opts.google, OAuthProvider::google),
    ];
    for (name, client, make) in configured {
        let Some(OAuthClient {
            client_id,
            client_secret,
            base_url,
        }) = client
        else {
            continue;
        };
        let mut provider: OAuthProvider =
            make(client_id.clone(), client_secret.clone(), callback(name))
                .map_err(|e| format!("{name} sign-in: {e}"))?;
        if let Some(base) = base_url {
            provider = provider
                .at(base)
                .map_err(|e| format!("{name} sign-in: {e}"))?;
        }
        providers.push(provider);
    }
    Ok(providers)
}

/// Ctrl-C or SIGTERM.
async fn terminated() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            println!("warning: cannot listen for SIGTERM ({e}); stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The database URL without a password (SQLite URLs carry none; any other URL may).
fn redact(url: &str) -> String {
    if url.starts_with("sqlite:") {
        url.to_string()
    } else {
        vibebox_postgres::redact_url(url)
    }
}
