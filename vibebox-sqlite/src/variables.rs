//! Environment variables (called from the `EnvironmentsStore` impl). Encrypted values arrive
//! as ciphertext and are stored as given.

use uuid::Uuid;
use vibebox_core::domain::EnvironmentVariable;
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentId, VariableId};
use vibebox_core::store::one_affected;

use crate::codec::{after_id, limit, micros, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

macro_rules! variable_columns {
    () => {
        "id, environment_id, key, value, is_encrypted, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct VariableRow {
    id: Uuid,
    environment_id: Uuid,
    key: String,
    value: String,
    is_encrypted: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<VariableRow> for EnvironmentVariable {
    type Error = Error;

    fn try_from(r: VariableRow) -> Result<Self> {
        Ok(EnvironmentVariable {
            id: VariableId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            key: r.key,
            value: r.value,
            is_encrypted: r.is_encrypted,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn variables(rows: Vec<VariableRow>) -> Result<Vec<EnvironmentVariable>> {
    rows.into_iter()
        .map(EnvironmentVariable::try_from)
        .collect()
}

/// Inserts the variable or replaces value, encryption flag and updated_at of the one with the
/// same key, in one statement.
pub(crate) async fn put(
    store: &SqliteStore,
    v: &EnvironmentVariable,
) -> Result<EnvironmentVariable> {
    sqlx::query_as::<_, VariableRow>(concat!(
        "INSERT INTO environment_variables (",
        variable_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (environment_id, key) DO UPDATE SET value = excluded.value, \
         is_encrypted = excluded.is_encrypted, updated_at = excluded.updated_at \
         RETURNING ",
        variable_columns!()
    ))
    .bind(v.id.0)
    .bind(v.environment_id.0)
    .bind(&v.key)
    .bind(&v.value)
    .bind(v.is_encrypted)
    .bind(micros(v.created_at))
    .bind(micros(v.updated_at))
    .fetch_one(store.pool())
    .await
    .db_parent("environment")?
    .try_into()
}

/// The environment's variables, ordered by key.
pub(crate) async fn list(
    store: &SqliteStore,
    env: EnvironmentId,
) -> Result<Vec<EnvironmentVariable>> {
    let rows = sqlx::query_as::<_, VariableRow>(concat!(
        "SELECT ",
        variable_columns!(),
        " FROM environment_variables WHERE environment_id = ? ORDER BY key"
    ))
    .bind(env.0)
    .fetch_all(store.pool())
    .await
    .db()?;
    variables(rows)
}

/// Deletes a variable by key. Errors: `NotFound` (`variable`).
pub(crate) async fn delete(store: &SqliteStore, env: EnvironmentId, key: &str) -> Result<()> {
    let done =
        sqlx::query("DELETE FROM environment_variables WHERE environment_id = ? AND key = ?")
            .bind(env.0)
            .bind(key)
            .execute(store.pool())
            .await
            .db()?;
    one_affected(done.rows_affected(), "variable")
}

/// Encrypted variables of every environment after `after`, ordered by id.
pub(crate) async fn list_encrypted(
    store: &SqliteStore,
    after: Option<VariableId>,
    n: u32,
) -> Result<Vec<EnvironmentVariable>> {
    let rows = sqlx::query_as::<_, VariableRow>(concat!(
        "SELECT ",
        variable_columns!(),
        " FROM environment_variables WHERE is_encrypted = 1 AND id > ? ORDER BY id LIMIT ?"
    ))
    .bind(after_id(after.map(|a| a.0)))
    .bind(limit(n))
    .fetch_all(store.pool())
    .await
    .db()?;
    variables(rows)
}
