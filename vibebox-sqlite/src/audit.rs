//! The append-only audit log.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{AuditActor, AuditEvent};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{ApiKeyId, AuditEventId, TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::{AuditFilter, AuditStore, Page, PageRequest};

use crate::codec::{before_id, micros, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

macro_rules! audit_columns {
    () => {
        "id, actor_type, actor_user_id, actor_key_id, action, resource_type, resource_id, \
         team_id, details, ip, at"
    };
}

/// Newest first, by team (uses `audit_events_team_id_idx`), optionally also by actor.
const BY_TEAM: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE team_id = ?1 AND (?2 IS NULL OR actor_user_id = ?2) \
     AND id < ?3 ORDER BY id DESC LIMIT ?4"
);

/// Newest first, by actor (uses `audit_events_actor_user_id_idx`).
const BY_ACTOR: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE actor_user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
);

/// Newest first, everything.
const ALL: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
);

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
    details: String,
    ip: Option<String>,
    at: i64,
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
            _ => return Err(Error::internal("stored audit actor is inconsistent", None)),
        };
        Ok(AuditEvent {
            id: AuditEventId(r.id),
            actor,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            team_id: r.team_id.map(TeamId),
            details: serde_json::from_str(&r.details).map_err(|e| {
                Error::internal("stored audit details are not JSON", Some(e.into()))
            })?,
            ip: r.ip,
            at: timestamp(r.at)?,
        })
    }
}

/// The stored form of an actor: type, user and key.
fn actor_columns(actor: &AuditActor) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    match actor {
        AuditActor::User { user_id } => ("user", Some(user_id.0), None),
        AuditActor::ApiKey { user_id, key_id } => ("api_key", Some(user_id.0), Some(key_id.0)),
        AuditActor::System => ("system", None, None),
        AuditActor::Anonymous => ("anonymous", None, None),
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(audit_event.id = %event.id, action = %event.action))]
    async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        let (actor_type, actor_user, actor_key) = actor_columns(&event.actor);
        sqlx::query(concat!(
            "INSERT INTO audit_events (",
            audit_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(event.id.0)
        .bind(actor_type)
        .bind(actor_user)
        .bind(actor_key)
        .bind(&event.action)
        .bind(&event.resource_type)
        .bind(&event.resource_id)
        .bind(event.team_id.map(|t| t.0))
        .bind(event.details.to_string())
        .bind(&event.ip)
        .bind(micros(event.at))
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let before = before_id(decode_id_cursor(page.cursor.as_deref())?);
        let limit = fetch_limit(page.limit);
        let query = match (filter.team_id, filter.actor_user_id) {
            (Some(team), actor) => sqlx::query_as::<_, AuditRow>(BY_TEAM)
                .bind(team.0)
                .bind(actor.map(|a| a.0))
                .bind(before)
                .bind(limit),
            (None, Some(actor)) => sqlx::query_as(BY_ACTOR)
                .bind(actor.0)
                .bind(before)
                .bind(limit),
            (None, None) => sqlx::query_as(ALL).bind(before).bind(limit),
        };
        let events = query
            .fetch_all(self.pool())
            .await
            .db()?
            .into_iter()
            .map(AuditEvent::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(events, page.limit, |e| e.id.to_string()))
    }
}
