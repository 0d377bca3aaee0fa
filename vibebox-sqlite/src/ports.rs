//! Port mappings of environments (called from the `EnvironmentsStore` impl).

use uuid::Uuid;
use vibebox_core::domain::EnvironmentPort;
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
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

/// Adds a port. The environment is the only parent, so a foreign-key violation names it.
pub(crate) async fn add(store: &SqliteStore, p: &EnvironmentPort) -> Result<()> {
    sqlx::query(
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
    .bind(micros(p.updated_at))
    .execute(store.pool())
    .await
    .db_parent("environment")?;
    Ok(())
}

/// The environment's ports, ordered by id.
pub(crate) async fn list(store: &SqliteStore, env: EnvironmentId) -> Result<Vec<EnvironmentPort>> {
    sqlx::query_as::<_, PortRow>(
        "SELECT id, environment_id, container_port, host_port, bound_host_port, protocol, \
         created_at, updated_at FROM environment_ports WHERE environment_id = ? ORDER BY id",
    )
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
