//! The extension catalog and per-environment installations.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{EnvironmentExtension, Extension, ExtensionStatus};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentExtensionId, EnvironmentId, ExtensionId};
use vibebox_core::store::cas_missed;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{ExtensionsStore, Page, PageRequest};

use crate::codec::{
    after_id, limit, micros, names_json, opt_micros, opt_timestamp, parse_enum, timestamp,
};
use crate::error::DbResultExt;
use crate::store::{SqliteStore, exists};

macro_rules! extension_columns {
    () => {
        "id, extension_id, name, version, publisher, is_custom, download_url, created_at, \
         updated_at"
    };
}

macro_rules! installation_columns {
    () => {
        "id, environment_id, extension_id, status, error_message, installed_at, created_at, \
         updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ExtensionRow {
    id: Uuid,
    extension_id: String,
    name: String,
    version: String,
    publisher: String,
    is_custom: bool,
    download_url: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ExtensionRow> for Extension {
    type Error = Error;

    fn try_from(r: ExtensionRow) -> Result<Self> {
        Ok(Extension {
            id: ExtensionId(r.id),
            extension_id: r.extension_id,
            name: r.name,
            version: r.version,
            publisher: r.publisher,
            is_custom: r.is_custom,
            download_url: r.download_url,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InstallationRow {
    id: Uuid,
    environment_id: Uuid,
    extension_id: Uuid,
    status: String,
    error_message: Option<String>,
    installed_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<InstallationRow> for EnvironmentExtension {
    type Error = Error;

    fn try_from(r: InstallationRow) -> Result<Self> {
        Ok(EnvironmentExtension {
            id: EnvironmentExtensionId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            extension_id: ExtensionId(r.extension_id),
            status: parse_enum(&r.status, "status")?,
            error_message: r.error_message,
            installed_at: opt_timestamp(r.installed_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn installations(rows: Vec<InstallationRow>) -> Result<Vec<EnvironmentExtension>> {
    rows.into_iter()
        .map(EnvironmentExtension::try_from)
        .collect()
}

#[async_trait]
impl ExtensionsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(extension.id = %ext.id))]
    async fn create_extension(&self, ext: &Extension) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO extensions (",
            extension_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(ext.id.0)
        .bind(&ext.extension_id)
        .bind(&ext.name)
        .bind(&ext.version)
        .bind(&ext.publisher)
        .bind(ext.is_custom)
        .bind(&ext.download_url)
        .bind(micros(ext.created_at))
        .bind(micros(ext.updated_at))
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(extension.id = %id))]
    async fn get_extension(&self, id: ExtensionId) -> Result<Extension> {
        sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("extension"))?
        .try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn find_extension(&self, extension_id: &str) -> Result<Option<Extension>> {
        sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE extension_id = ?"
        ))
        .bind(extension_id)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_extensions(&self, page: &PageRequest) -> Result<Page<Extension>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after_id(after))
        .bind(fetch_limit(page.limit))
        .fetch_all(self.pool())
        .await
        .db()?;
        let exts = rows
            .into_iter()
            .map(Extension::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(exts, page.limit, |x| x.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %ext.environment_id, extension.id = %ext.extension_id))]
    async fn add_environment_extension(&self, ext: &EnvironmentExtension) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM environments WHERE id = ?",
            ext.environment_id.0,
        )
        .await?
        {
            return Err(Error::not_found("environment"));
        }
        if !exists(
            &mut *tx,
            "SELECT 1 FROM extensions WHERE id = ?",
            ext.extension_id.0,
        )
        .await?
        {
            return Err(Error::not_found("extension"));
        }
        sqlx::query(concat!(
            "INSERT INTO environment_extensions (",
            installation_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(ext.id.0)
        .bind(ext.environment_id.0)
        .bind(ext.extension_id.0)
        .bind(ext.status.as_str())
        .bind(&ext.error_message)
        .bind(opt_micros(ext.installed_at))
        .bind(micros(ext.created_at))
        .bind(micros(ext.updated_at))
        .execute(&mut *tx)
        .await
        .db_parent("environment")?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env, extension.id = %ext))]
    async fn get_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<EnvironmentExtension> {
        sqlx::query_as::<_, InstallationRow>(concat!(
            "SELECT ",
            installation_columns!(),
            " FROM environment_extensions WHERE environment_id = ? AND extension_id = ?"
        ))
        .bind(env.0)
        .bind(ext.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("environment_extension"))?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_environment_extensions(
        &self,
        env: EnvironmentId,
    ) -> Result<Vec<EnvironmentExtension>> {
        let rows = sqlx::query_as::<_, InstallationRow>(concat!(
            "SELECT ",
            installation_columns!(),
            " FROM environment_extensions WHERE environment_id = ? ORDER BY id"
        ))
        .bind(env.0)
        .fetch_all(self.pool())
        .await
        .db()?;
        installations(rows)
    }

    #[tracing::instrument(skip_all, fields(environment_extension.id = %ext.id))]
    async fn update_environment_extension(
        &self,
        ext: &EnvironmentExtension,
        expected_status: ExtensionStatus,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE environment_extensions SET status = ?, error_message = ?, installed_at = ?, \
             updated_at = ? WHERE id = ? AND status = ?",
        )
        .bind(ext.status.as_str())
        .bind(&ext.error_message)
        .bind(opt_micros(ext.installed_at))
        .bind(micros(ext.updated_at))
        .bind(ext.id.0)
        .bind(expected_status.as_str())
        .execute(self.pool())
        .await
        .db()?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists = exists(
            self.pool(),
            "SELECT 1 FROM environment_extensions WHERE id = ?",
            ext.id.0,
        )
        .await?;
        Err(cas_missed(exists, "environment_extension"))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env, extension.id = %ext))]
    async fn delete_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<()> {
        let done = sqlx::query(
            "DELETE FROM environment_extensions WHERE environment_id = ? AND extension_id = ?",
        )
        .bind(env.0)
        .bind(ext.0)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "environment_extension")
    }

    #[tracing::instrument(skip_all)]
    async fn list_environment_extensions_by_status(
        &self,
        statuses: &[ExtensionStatus],
        n: u32,
    ) -> Result<Vec<EnvironmentExtension>> {
        let Some(statuses) = names_json(statuses, ExtensionStatus::as_str) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query_as::<_, InstallationRow>(concat!(
            "SELECT ",
            installation_columns!(),
            " FROM environment_extensions WHERE status IN (SELECT value FROM json_each(?)) \
             ORDER BY id LIMIT ?"
        ))
        .bind(statuses)
        .bind(limit(n))
        .fetch_all(self.pool())
        .await
        .db()?;
        installations(rows)
    }
}
