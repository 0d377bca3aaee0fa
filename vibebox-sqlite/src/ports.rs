//! Port mappings of environments (called from the `EnvironmentsStore` impl).
//!
//! Share levels live in their own table, `environment_port_shares` (see migration 0004), one
//! row per port whose level was set: every query that builds an [`EnvironmentPort`] joins it,
//! and a port without a row is private.

use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{EnvironmentPort, ShareLevel};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentId, PortId};
use vibebox_core::store::one_affected;

use crate::codec::{micros, opt_port, parse_enum, port, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

#[derive(sqlx::FromRow)]
struct PortRow {
    id: Uuid,
    environment_id: Uuid,
    container_port: i64,
    host_port: Option<i64>,
    bound_host_port: Option<i64>,
    protocol: String,
    share_level: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<PortRow> for EnvironmentPort {
    type Error = Error;

    fn try_from(r: PortRow) -> Result<Self> {
        Ok(EnvironmentPort {
            id: PortId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            container_port: port(r.container_port, "container_port")?,
            host_port: opt_port(r.host_port, "host_port")?,
            bound_host_port: opt_port(r.bound_host_port, "bound_host_port")?,
            protocol: parse_enum(&r.protocol, "protocol")?,
            share_level: parse_enum(&r.share_level, "share_level")?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

/// Selects every column of a [`PortRow`] from `environment_ports` (as `p`) joined with its share
/// level; a `WHERE` clause on `p` may follow.
macro_rules! select_ports {
    () => {
        "SELECT p.id, p.environment_id, p.container_port, p.host_port, p.bound_host_port, \
         p.protocol, coalesce(s.share_level, 'private') AS share_level, p.created_at, \
         p.updated_at \
         FROM environment_ports p LEFT JOIN environment_port_shares s ON s.port_id = p.id"
    };
}

/// Inserts or replaces a port's share level row.
const UPSERT_SHARE: &str = "INSERT INTO environment_port_shares (port_id, share_level) \
     VALUES (?, ?) ON CONFLICT (port_id) DO UPDATE SET share_level = excluded.share_level";

/// Adds a port. The environment is the only parent, so a foreign-key violation names it. A
/// port that is not private gets its share row in the same transaction.
pub(crate) async fn add(store: &SqliteStore, p: &EnvironmentPort) -> Result<()> {
    let insert = sqlx::query(
        "INSERT INTO environment_ports (id, environment_id, container_port, host_port, \
         bound_host_port, protocol, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(p.id.0)
    .bind(p.environment_id.0)
    .bind(i64::from(p.container_port))
    .bind(p.host_port.map(i64::from))
    .bind(p.bound_host_port.map(i64::from))
    .bind(p.protocol.as_str())
    .bind(micros(p.created_at))
    .bind(micros(p.updated_at));
    if p.share_level == ShareLevel::Private {
        insert
            .execute(store.pool())
            .await
            .db_parent("environment")?;
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    insert.execute(&mut *tx).await.db_parent("environment")?;
    sqlx::query(UPSERT_SHARE)
        .bind(p.id.0)
        .bind(p.share_level.as_str())
        .execute(&mut *tx)
        .await
        .db()?;
    tx.commit().await.db()
}

/// Sets a port's share level and `updated_at` in one transaction and returns the port.
/// Errors: `NotFound` (`port`) when the port is not the environment's (nothing is written).
pub(crate) async fn set_share_level(
    store: &SqliteStore,
    env: EnvironmentId,
    port: PortId,
    level: ShareLevel,
    at: Timestamp,
) -> Result<EnvironmentPort> {
    let mut tx = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE environment_ports SET updated_at = ? WHERE id = ? AND environment_id = ?",
    )
    .bind(micros(at))
    .bind(port.0)
    .bind(env.0)
    .execute(&mut *tx)
    .await
    .db()?;
    one_affected(done.rows_affected(), "port")?;
    sqlx::query(UPSERT_SHARE)
        .bind(port.0)
        .bind(level.as_str())
        .execute(&mut *tx)
        .await
        .db()?;
    let row = sqlx::query_as::<_, PortRow>(concat!(select_ports!(), " WHERE p.id = ?"))
        .bind(port.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
    tx.commit().await.db()?;
    row.try_into()
}

/// The environment's ports, ordered by id.
pub(crate) async fn list(store: &SqliteStore, env: EnvironmentId) -> Result<Vec<EnvironmentPort>> {
    sqlx::query_as::<_, PortRow>(concat!(
        select_ports!(),
        " WHERE p.environment_id = ? ORDER BY p.id"
    ))
    .bind(env.0)
    .fetch_all(store.pool())
    .await
    .db()?
    .into_iter()
    .map(EnvironmentPort::try_from)
    .collect()
}

/// Deletes a port of the environment. Errors: `NotFound` (`port`).
pub(crate) async fn delete(store: &SqliteStore, env: EnvironmentId, port: PortId) -> Result<()> {
    let done = sqlx::query("DELETE FROM environment_ports WHERE id = ? AND environment_id = ?")
        .bind(port.0)
        .bind(env.0)
        .execute(store.pool())
        .await
        .db()?;
    one_affected(done.rows_affected(), "port")
}

/// Records bound host ports in one transaction; ports of other environments are ignored.
pub(crate) async fn set_bound(
    store: &SqliteStore,
    env: EnvironmentId,
    bound: &[(PortId, Option<u16>)],
) -> Result<()> {
    if bound.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    for (id, host_port) in bound {
        sqlx::query(
            "UPDATE environment_ports SET bound_host_port = ? WHERE id = ? AND environment_id = ?",
        )
        .bind(host_port.map(i64::from))
        .bind(id.0)
        .bind(env.0)
        .execute(&mut *tx)
        .await
        .db()?;
    }
    tx.commit().await.db()
}
