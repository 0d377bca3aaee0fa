//! PostgreSQL over TLS (`sslmode`, `sslrootcert`) and the statement timeout, against a real
//! cluster with TLS on.
//!
//! The tests start their own cluster, once per test binary, with `VIBEBOX_PG_TLS=1
//! scripts/postgres start DIR`: a throwaway self-signed CA (`DIR/ca.crt`) and a server
//! certificate it signed for `localhost` and `127.0.0.1`. A watchdog process stops the cluster
//! when the test binary exits, however it exits. A cluster that cannot start fails every test
//! here, with or without `CI=true`: they never skip. The refusal of `sslmode=require` by a server
//! without TLS uses the normal test server (`VIBEBOX_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use vibebox_core::ErrorKind;
use vibebox_core::store::{StoreHealth, UsersStore};
use vibebox_postgres::{DEFAULT_STATEMENT_TIMEOUT, PgStore, PgStoreOptions, testing};

/// A password put in every URL (the throwaway clusters trust local connections and ignore it):
/// it must never show in an error.
const CANARY: &str = "canary-pw-tls-51c2";

/// The TLS cluster of this test binary.
struct Cluster {
    dir: PathBuf,
    port: u16,
    ca: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start_cluster) {
        Ok(cluster) => cluster,
        Err(e) => panic!(
            "the TLS test cluster could not start, and these tests never skip \
             (VIBEBOX_PG_TLS=1 scripts/postgres start DIR needs the PostgreSQL server binaries \
             and openssl): {e}"
        ),
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres")
}

fn start_cluster() -> Result<Cluster, String> {
    let dir = std::env::temp_dir().join(format!("vibebox-pg-tls-{}", std::process::id()));
    // First the watchdog: once this process is gone, it stops the cluster and deletes `dir`
    // (`stop` on a missing directory does nothing).
    Command::new("sh")
        .arg("-c")
        .arg(r#"tail --pid="$1" -s 0.2 -f /dev/null; exec "$2" stop "$3""#)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(script())
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    let started = Instant::now();
    let out = Command::new(script())
        .arg("start")
        .arg(&dir)
        .env("VIBEBOX_PG_TLS", "1")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{} start failed ({}): {}",
            script().display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let url = stdout.lines().last().unwrap_or_default();
    let port = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no URL on the script's last line: {stdout:?}"))?;
    let ca = dir.join("ca.crt");
    if !ca.is_file() {
        return Err(format!("{} is missing", ca.display()));
    }
    eprintln!("TLS cluster on port {port} in {:?}", started.elapsed());
    Ok(Cluster { dir, port, ca })
}

/// A new, empty database on the TLS cluster (created over a plain connection).
async fn fresh_database() -> String {
    let port = cluster().port;
    let name = format!("vbx_tls_{}", uuid::Uuid::now_v7().simple());
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap();
    conn.close().await.unwrap();
    name
}

/// A URL for `database` on the TLS cluster reached at `host`:`port`, with the canary password
/// and the given query parameters.
fn url(host: &str, port: u16, database: &str, params: &str) -> String {
    format!("postgres://postgres:{CANARY}@{host}:{port}/{database}?{params}")
}

fn verify_full_params(ca: &Path) -> String {
    format!("sslmode=verify-full&sslrootcert={}", ca.display())
}

fn quick() -> PgStoreOptions {
    PgStoreOptions::default().acquire_timeout(Duration::from_secs(5))
}

/// Whether the store's session is encrypted, as the server sees it.
async fn encrypted(store: &PgStore) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(testing::pool(store))
        .await
        .unwrap()
}

async fn show_statement_timeout(store: &PgStore) -> String {
    sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(testing::pool(store))
        .await
        .unwrap()
}

/// Asserts a refused connection: `Unavailable`, the message contains each of `needles`, and the
/// password shows nowhere.
#[track_caller]
fn assert_refused(result: vibebox_core::Result<PgStore>, needles: &[&str]) {
    let err = result.expect_err("the connection must be refused");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let shown = err.to_string();
    for needle in needles {
        assert!(shown.contains(needle), "{needle:?} missing from: {shown}");
    }
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(!format!("{err:?}").contains(CANARY), "{err:?}");
    eprintln!("refused as expected: {shown}");
}

/// A loopback TCP proxy on 127.0.0.2 in front of the TLS cluster: the same server under an
/// address its certificate does not name. Its tasks end with the test's runtime.
async fn proxy_on_another_address() -> u16 {
    let upstream = format!("127.0.0.1:{}", cluster().port);
    let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    port
}

/// A self-signed CA that did not sign the cluster's certificate.
fn another_ca() -> PathBuf {
    let dir = cluster()
        .dir
        .join(format!("other-ca-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-days", "1"])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-subj", "/CN=Another throwaway CA"])
        .arg("-keyout")
        .arg(dir.join("ca.key"))
        .arg("-out")
        .arg(dir.join("ca.crt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("ca.crt")
}

#[tokio::test]
async fn require_encrypts_the_session() {
    let db = fresh_database().await;
    let url = url("127.0.0.1", cluster().port, &db, "sslmode=require");
    let store = PgStore::connect_with(&url, quick()).await.unwrap();
    assert!(encrypted(&store).await);
    let version: String =
        sqlx::query_scalar("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(testing::pool(&store))
            .await
            .unwrap();
    assert!(version.starts_with("TLSv1."), "{version}");
    store.ping().await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn verify_full_with_the_cluster_ca_connects() {
    let db = fresh_database().await;
    let params = verify_full_params(&cluster().ca);
    for host in ["127.0.0.1", "localhost"] {
        let url = url(host, cluster().port, &db, &params);
        let store = PgStore::connect_with(&url, quick()).await.unwrap();
        assert!(encrypted(&store).await, "{host}");
        store.ping().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn verify_ca_checks_the_issuer_but_not_the_host_name() {
    let db = fresh_database().await;
    let port = proxy_on_another_address().await;
    let params = format!("sslmode=verify-ca&sslrootcert={}", cluster().ca.display());
    let store = PgStore::connect_with(&url("127.0.0.2", port, &db, &params), quick())
        .await
        .unwrap();
    assert!(encrypted(&store).await);
}

#[tokio::test]
async fn verify_full_with_another_ca_is_refused() {
    let db = fresh_database().await;
    let other = another_ca();
    let url = url(
        "127.0.0.1",
        cluster().port,
        &db,
        &verify_full_params(&other),
    );
    assert_refused(
        PgStore::connect_with(&url, quick()).await,
        &[
            "TLS handshake",
            "sslmode=verify-full",
            "invalid peer certificate",
            "UnknownIssuer",
            &format!("postgres:***@127.0.0.1:{}", cluster().port),
        ],
    );
}

#[tokio::test]
async fn verify_ca_with_another_ca_is_refused() {
    let db = fresh_database().await;
    let params = format!("sslmode=verify-ca&sslrootcert={}", another_ca().display());
    let url = url("127.0.0.1", cluster().port, &db, &params);
    assert_refused(
        PgStore::connect_with(&url, quick()).await,
        &["TLS handshake", "sslmode=verify-ca", "UnknownIssuer"],
    );
}

#[tokio::test]
async fn verify_full_with_the_wrong_host_name_is_refused() {
    let db = fresh_database().await;
    let port = proxy_on_another_address().await;
    let url = url("127.0.0.2", port, &db, &verify_full_params(&cluster().ca));
    assert_refused(
        PgStore::connect_with(&url, quick()).await,
        &[
            "TLS handshake",
            "sslmode=verify-full",
            "not valid for name",
            "127.0.0.2",
        ],
    );
}

#[tokio::test]
async fn require_against_a_server_without_tls_is_refused() {
    // The normal test server runs without TLS.
    let plain = testing::fresh_database_url().await.unwrap();
    let with_canary = plain.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{CANARY}@"),
        1,
    );
    assert!(with_canary.contains(CANARY), "unexpected test URL shape");
    for mode in ["require", "verify-ca", "verify-full"] {
        let mut params = format!("sslmode={mode}");
        if mode != "require" {
            params = format!("{params}&sslrootcert={}", cluster().ca.display());
        }
        let sep = if with_canary.contains('?') { '&' } else { '?' };
        let url = format!("{with_canary}{sep}{params}");
        let started = Instant::now();
        assert_refused(
            PgStore::connect_with(&url, quick()).await,
            &[
                "could not open a TLS connection",
                &format!("sslmode={mode}"),
                "server does not support TLS",
            ],
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused at once"
        );
    }
}

#[tokio::test]
async fn prefer_is_the_default_and_encrypts_when_the_server_offers_tls() {
    let db = fresh_database().await;
    for (params, want) in [
        ("", true),
        ("sslmode=prefer", true),
        ("sslmode=disable", false),
    ] {
        let url = url("127.0.0.1", cluster().port, &db, params);
        let store = PgStore::connect_with(&url, quick()).await.unwrap();
        assert_eq!(encrypted(&store).await, want, "{params:?}");
        store.close().await;
    }
}

#[tokio::test]
async fn statement_timeout_cancels_a_runaway_query_and_keeps_the_connection() {
    let db = fresh_database().await;
    let options = quick()
        .max_connections(1)
        .statement_timeout(Duration::from_millis(200));
    let url = url("127.0.0.1", cluster().port, &db, "sslmode=require");
    let store = PgStore::connect_with(&url, options).await.unwrap();
    let pid_before: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(testing::pool(&store))
        .await
        .unwrap();

    let started = Instant::now();
    let err = testing::execute(&store, "SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    let took = started.elapsed();
    eprintln!("pg_sleep(5) with a 200 ms statement timeout failed after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // The pool's only connection is the same one, still encrypted, still timed, and usable.
    let pid_after: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(testing::pool(&store))
        .await
        .unwrap();
    assert_eq!(pid_before, pid_after);
    assert_eq!(show_statement_timeout(&store).await, "200ms");
    assert!(encrypted(&store).await);
    store.ping().await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn statement_timeout_cancels_a_store_call_waiting_on_a_lock() {
    let db = fresh_database().await;
    let url = url("127.0.0.1", cluster().port, &db, "sslmode=require");
    let options = quick().statement_timeout(Duration::from_millis(200));
    let store = PgStore::connect_with(&url, options).await.unwrap();

    let mut holder = PgConnection::connect(&url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let started = Instant::now();
    let err = store.count_users().await.unwrap_err();
    let took = started.elapsed();
    eprintln!("count_users behind a table lock failed after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    tx.rollback().await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn statement_timeout_defaults_to_30_seconds_and_the_url_can_change_it() {
    let db = fresh_database().await;
    let port = cluster().port;
    assert_eq!(DEFAULT_STATEMENT_TIMEOUT, Duration::from_secs(30));
    assert_eq!(
        PgStoreOptions::default().statement_timeout,
        Some(DEFAULT_STATEMENT_TIMEOUT)
    );

    let store = PgStore::connect(&url("127.0.0.1", port, &db, ""))
        .await
        .unwrap();
    assert_eq!(show_statement_timeout(&store).await, "30s");
    assert!(format!("{store:?}").contains("statement_timeout: Some(30s)"));
    store.close().await;

    // The URL's `options` wins over the field.
    let params = "options=-c%20statement_timeout%3D1234";
    let options = quick().statement_timeout(Duration::from_millis(200));
    let store = PgStore::connect_with(&url("127.0.0.1", port, &db, params), options)
        .await
        .unwrap();
    assert_eq!(show_statement_timeout(&store).await, "1234ms");
    store.close().await;

    // `None` leaves the server's setting (off on this cluster).
    let options = quick().statement_timeout(None);
    let store = PgStore::connect_with(&url("127.0.0.1", port, &db, ""), options)
        .await
        .unwrap();
    assert_eq!(show_statement_timeout(&store).await, "0");
    store.close().await;
}

#[tokio::test]
async fn migrations_wait_past_the_statement_timeout() {
    let db = fresh_database().await;
    let url = url("127.0.0.1", cluster().port, &db, "");
    PgStore::connect(&url).await.unwrap().close().await;

    // Another session holds the migrations table for 600 ms, as a replica migrating would.
    let (locked_tx, locked) = tokio::sync::oneshot::channel();
    let holder_url = url.clone();
    let release = tokio::spawn(async move {
        let mut holder = PgConnection::connect(&holder_url).await.unwrap();
        let mut tx = holder.begin().await.unwrap();
        sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        locked_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        tx.rollback().await.unwrap();
    });
    locked.await.unwrap();

    let started = Instant::now();
    let options = quick().statement_timeout(Duration::from_millis(100));
    let store = PgStore::connect_with(&url, options).await.unwrap();
    let took = started.elapsed();
    eprintln!("connect behind a held migrations table took {took:?}");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    release.await.unwrap();
    // The pool's connections still carry the 100 ms timeout.
    assert_eq!(show_statement_timeout(&store).await, "100ms");
}
