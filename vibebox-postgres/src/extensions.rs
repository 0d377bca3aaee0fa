//! [`ExtensionsStore`]: the extension catalog and per-environment installations.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{EnvironmentExtension, Extension, ExtensionStatus};
use vibebox_core::id::{EnvironmentExtensionId, EnvironmentId, ExtensionId};
use vibebox_core::store::cas_missed;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{ExtensionsStore, Page, PageRequest};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;
use crate::rows::{convert, parse};

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
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<ExtensionRow> for Extension {
    fn from(r: ExtensionRow) -> Self {
        Extension {
            id: ExtensionId(r.id),
            extension_id: r.extension_id,
            name: r.name,
            version: r.version,
            publisher: r.publisher,
            is_custom: r.is_custom,
            download_url: r.download_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct InstallationRow {
    id: Uuid,
    environment_id: Uuid,
    extension_id: Uuid,
    status: String,
    error_message: Option<String>,
    installed_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<InstallationRow> for EnvironmentExtension {
    type Error = Error;
    fn try_from(r: InstallationRow) -> Result<Self> {
        Ok(EnvironmentExtension {
            id: EnvironmentExtensionId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            extension_id: ExtensionId(r.extension_id),
            status: parse("extension status", &r.status)?,
            error_message: r.error_message,
            installed_at: r.installed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[async_trait]
impl ExtensionsStore for PgStore {
    #[tracing::instrument(skip_all, fields(extension.id = %ext.id))]
    async fn create_extension(&self, ext: &Extension) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO extensions (",
            extension_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(ext.id.0)
        .bind(&ext.extension_id)
        .bind(&ext.name)
        .bind(&ext.version)
        .bind(&ext.publisher)
        .bind(ext.is_custom)
        .bind(&ext.download_url)
        .bind(ext.created_at)
        .bind(ext.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(extension.id = %id))]
    async fn get_extension(&self, id: ExtensionId) -> Result<Extension> {
        sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(Extension::from)
        .ok_or(Error::not_found("extension"))
    }

    #[tracing::instrument(skip_all)]
    async fn find_extension(&self, extension_id: &str) -> Result<Option<Extension>> {
        let row = sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE extension_id = $1"
        ))
        .bind(extension_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        Ok(row.map(Extension::from))
    }

    #[tracing::instrument(skip_all)]
    async fn list_extensions(&self, page: &PageRequest) -> Result<Page<Extension>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, ExtensionRow>(concat!(
            "SELECT ",
            extension_columns!(),
            " FROM extensions WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .persistent(false)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let exts = rows.into_iter().map(Extension::from).collect();
        Ok(page_of(exts, page.limit, |x: &Extension| x.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %ext.environment_id, extension.id = %ext.extension_id))]
    async fn add_environment_extension(&self, ext: &EnvironmentExtension) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO environment_extensions (",
            installation_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(ext.id.0)
        .bind(ext.environment_id.0)
        .bind(ext.extension_id.0)
        .bind(ext.status.as_str())
        .bind(&ext.error_message)
        .bind(ext.installed_at)
        .bind(ext.created_at)
        .bind(ext.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
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
            " FROM environment_extensions WHERE environment_id = $1 AND extension_id = $2"
        ))
        .bind(env.0)
        .bind(ext.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("environment_extension"))
        .and_then(EnvironmentExtension::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_environment_extensions(
        &self,
        env: EnvironmentId,
    ) -> Result<Vec<EnvironmentExtension>> {
        let rows = sqlx::query_as::<_, InstallationRow>(concat!(
            "SELECT ",
            installation_columns!(),
            " FROM environment_extensions WHERE environment_id = $1 ORDER BY id"
        ))
        .bind(env.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, EnvironmentExtension::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment_extension.id = %ext.id, status = %ext.status))]
    async fn update_environment_extension(
        &self,
        ext: &EnvironmentExtension,
        expected_status: ExtensionStatus,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE environment_extensions SET status = $3, error_message = $4, \
             installed_at = $5, updated_at = $6 WHERE id = $1 AND status = $2",
        )
        .bind(ext.id.0)
        .bind(expected_status.as_str())
        .bind(ext.status.as_str())
        .bind(&ext.error_message)
        .bind(ext.installed_at)
        .bind(ext.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM environment_extensions WHERE id = $1)",
        )
        .bind(ext.id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map)?;
        Err(cas_missed(exists, "environment_extension"))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env, extension.id = %ext))]
    async fn delete_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<()> {
        let done = sqlx::query(
            "DELETE FROM environment_extensions WHERE environment_id = $1 AND extension_id = $2",
        )
        .bind(env.0)
        .bind(ext.0)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        one_affected(done.rows_affected(), "environment_extension")
    }

    #[tracing::instrument(skip_all)]
    async fn list_environment_extensions_by_status(
        &self,
        statuses: &[ExtensionStatus],
        limit: u32,
    ) -> Result<Vec<EnvironmentExtension>> {
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let rows = sqlx::query_as::<_, InstallationRow>(concat!(
            "SELECT ",
            installation_columns!(),
            " FROM environment_extensions WHERE status = ANY($1) ORDER BY id LIMIT $2"
        ))
        .bind(statuses)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, EnvironmentExtension::try_from)
    }
}
