//! [`AuditStore`]: the append-only audit log, listed newest first by id.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{AuditActor, AuditEvent};
use vibebox_core::id::{ApiKeyId, AuditEventId, TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::{AuditFilter, AuditStore, Page, PageRequest};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::{corrupt, map};
use crate::rows::convert;

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    actor_type: String,
    actor_user_id: Option<Uuid>,
    actor_key_id: Option<Uuid>,
    action: String,
    resource_type: String,
    resource_id: String,
    team_id: Option<Uuid>,
    details: serde_json::Value,
    ip: Option<String>,
    at: Timestamp,
}

/// The actor as the three columns (type, user, key).
fn actor_columns(actor: &AuditActor) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    match actor {
        AuditActor::User { user_id } => ("user", Some(user_id.0), None),
        AuditActor::ApiKey { user_id, key_id } => ("api_key", Some(user_id.0), Some(key_id.0)),
        AuditActor::System => ("system", None, None),
        AuditActor::Anonymous => ("anonymous", None, None),
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = Error;
    fn try_from(r: AuditRow) -> Result<Self> {
        let actor = match (r.actor_type.as_str(), r.actor_user_id, r.actor_key_id) {
            ("user", Some(u), None) => AuditActor::User { user_id: UserId(u) },
            ("api_key", Some(u), Some(k)) => AuditActor::ApiKey {
                user_id: UserId(u),
                key_id: ApiKeyId(k),
            },
            ("system", None, None) => AuditActor::System,
            ("anonymous", None, None) => AuditActor::Anonymous,
            _ => {
                return Err(corrupt(
                    "audit actor",
                    Error::invalid("actor", "unknown actor"),
                ));
            }
        };
        Ok(AuditEvent {
            id: AuditEventId(r.id),
            actor,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            team_id: r.team_id.map(TeamId),
            details: r.details,
            ip: r.ip,
            at: r.at,
        })
    }
}

#[async_trait]
impl AuditStore for PgStore {
    #[tracing::instrument(skip_all, fields(audit.action = %event.action))]
    async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        let (actor_type, actor_user, actor_key) = actor_columns(&event.actor);
        sqlx::query(
            "INSERT INTO audit_events (id, actor_type, actor_user_id, actor_key_id, action, \
             resource_type, resource_id, team_id, details, ip, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(event.id.0)
        .bind(actor_type)
        .bind(actor_user)
        .bind(actor_key)
        .bind(&event.action)
        .bind(&event.resource_type)
        .bind(&event.resource_id)
        .bind(event.team_id.map(|t| t.0))
        .bind(&event.details)
        .bind(&event.ip)
        .bind(event.at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all)]
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let before = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, actor_type, actor_user_id, actor_key_id, action, resource_type, \
             resource_id, team_id, details, ip, at FROM audit_events \
             WHERE ($1::uuid IS NULL OR team_id = $1) \
             AND ($2::uuid IS NULL OR actor_user_id = $2) \
             AND ($3::uuid IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .persistent(false)
        .bind(filter.team_id.map(|t| t.0))
        .bind(filter.actor_user_id.map(|u| u.0))
        .bind(before)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let events = convert(rows, AuditEvent::try_from)?;
        Ok(page_of(events, page.limit, |e: &AuditEvent| {
            e.id.to_string()
        }))
    }
}
