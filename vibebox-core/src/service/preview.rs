//! Preview URLs (DESIGN.md §9): `<port>--<env>--<project>.<preview-domain>` names a TCP
//! port inside an environment, and the HTTP front proxies requests for that host to it.
//!
//! Who may open one is the port's share level
//! ([`ShareLevel`](crate::domain::ShareLevel)); a port that is not declared is private. Project
//! slugs are unique per owner, not per server, so when two projects share a slug and hold an
//! environment of the same slug, the address carries a fourth part, the start of the project's
//! id: `<port>--<env>--<project>--<key>`. The address the API hands out
//! ([`preview_target`](Vibebox::preview_target)) always resolves to one environment.

use serde_json::json;
use tracing::instrument;

use super::tunnels::PortStream;
use super::{AuditRecord, Vibebox};
use crate::domain::{Environment, EnvironmentStatus, Project, Protocol, ShareLevel};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, ProjectId};
use crate::rbac::{Action, Actor};

/// How many hex digits of the project id tell same-slug projects apart.
const PROJECT_KEY_LEN: usize = 12;

/// What a preview host names: a port of an environment of a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewTarget {
    port: u16,
    environment: String,
    project: String,
    project_key: Option<String>,
}

impl PreviewTarget {
    /// Parses the first label of a preview host: `<port>--<env>--<project>` or
    /// `<port>--<env>--<project>--<key>`. `None` for anything else.
    pub fn parse(label: &str) -> Option<Self> {
        let parts: Vec<&str> = label.split("--").collect();
        let (port, environment, project, key) = match parts.as_slice() {
            [port, env, project] => (port, env, project, None),
            [port, env, project, key] => (port, env, project, Some(*key)),
            _ => return None,
        };
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
            return None;
        }
        let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
        let slug_like = |s: &str| {
            !s.is_empty()
                && s.len() <= 50
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !slug_like(environment) || !slug_like(project) {
            return None;
        }
        let project_key = match key {
            Some(k) if k.len() == PROJECT_KEY_LEN && k.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(k.to_ascii_lowercase())
            }
            Some(_) => return None,
            None => None,
        };
        Some(Self {
            port,
            environment: environment.to_string(),
            project: project.to_string(),
            project_key,
        })
    }

    /// The host's first label.
    pub fn label(&self) -> String {
        match &self.project_key {
            Some(key) => format!(
                "{}--{}--{}--{key}",
                self.port, self.environment, self.project
            ),
            None => format!("{}--{}--{}", self.port, self.environment, self.project),
        }
    }

    /// The port inside the environment.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl std::fmt::Display for PreviewTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

fn project_key(id: ProjectId) -> String {
    id.as_uuid()
        .simple()
        .to_string()
        .chars()
        .take(PROJECT_KEY_LEN)
        .collect()
}

/// Permission to reach one port of one running environment, as
/// [`authorize_preview`](Vibebox::authorize_preview) granted it for one request.
#[derive(Clone, Debug)]
pub struct PreviewGrant {
    env: Environment,
    port: u16,
}

impl PreviewGrant {
    /// The environment.
    pub fn environment_id(&self) -> EnvironmentId {
        self.env.id
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Vibebox {
    /// The preview address of `port` in an environment, for an actor who may open it (by the
    /// port's share level; an undeclared port is private). Recorded in the audit log
    /// (`environment.preview_open`).
    ///
    /// Errors: `InvalidInput` (`port`) for port 0; `PermissionDenied` when the share level
    /// does not let the actor open it; `NotFound` for an environment the actor cannot see.
    #[instrument(skip_all, fields(environment.id = %id, port))]
    pub async fn preview_target(
        &self,
        actor: &Actor,
        id: EnvironmentId,
        port: u16,
    ) -> Result<PreviewTarget> {
        if port == 0 {
            return Err(Error::invalid("port", "must be 1-65535"));
        }
        let access = self.environment_for(actor, id, Action::ReadProject).await?;
        let level = self.port_share_level(&access.env, port).await?;
        if !self
            .may_open_preview(Some(actor), &access.env, &access.project, level)
            .await?
        {
            return Err(Error::PermissionDenied {
                action: "open a preview of this port",
            });
        }
        let same_slugs = self
            .store()
            .find_environments_by_slugs(&access.project.slug, &access.env.slug)
            .await?;
        let target = PreviewTarget {
            port,
            environment: access.env.slug.clone(),
            project: access.project.slug.clone(),
            project_key: (same_slugs.len() > 1).then(|| project_key(access.project.id)),
        };
        self.audit(
            actor,
            AuditRecord::new("environment.preview_open", "environment", id)
                .team(access.project.owner.team_id())
                .details(json!({ "port": port, "share_level": level })),
        )
        .await;
        Ok(target)
    }

    /// Decides one preview request: the environment the address names, and whether `actor`
    /// (`None`: no credential) may reach the port there.
    ///
    /// Errors: `Unauthenticated` when a credential is needed and none was given; `NotFound`
    /// when the address names nothing, names several environments, or the actor may not open
    /// it (its existence is not told); `Conflict` when the environment is not running.
    pub async fn authorize_preview(
        &self,
        actor: Option<&Actor>,
        target: &PreviewTarget,
    ) -> Result<PreviewGrant> {
        let (env, project) = self.resolve_preview(target).await?;
        let level = self.port_share_level(&env, target.port).await?;
        if !self.may_open_preview(actor, &env, &project, level).await? {
            return Err(match actor {
                None => Error::Unauthenticated,
                Some(_) => Error::not_found("environment"),
            });
        }
        // A suspended environment is resumed by the connection.
        if !matches!(
            env.status,
            EnvironmentStatus::Running | EnvironmentStatus::Suspended | EnvironmentStatus::Resuming
        ) {
            return Err(Error::Conflict(
                format!("environment {} is {}, not running", env.slug, env.status).into(),
            ));
        }
        Ok(PreviewGrant {
            env,
            port: target.port,
        })
    }

    /// Connects to the granted port (no audit: opening the preview was audited).
    ///
    /// Errors: those of [`connect_port`](Self::connect_port) after authorization.
    pub async fn connect_preview(&self, grant: &PreviewGrant) -> Result<PortStream> {
        self.open_port_stream(&grant.env, grant.port).await
    }

    async fn resolve_preview(&self, target: &PreviewTarget) -> Result<(Environment, Project)> {
        let candidates = self
            .store()
            .find_environments_by_slugs(&target.project, &target.environment)
            .await?;
        let mut found = Vec::new();
        for env in candidates {
            if target
                .project_key
                .as_deref()
                .is_some_and(|key| project_key(env.project_id) != key)
            {
                continue;
            }
            let project = self.store().get_project(env.project_id).await?;
            if project.slug == target.project && !project.is_archived {
                found.push((env, project));
            }
        }
        match found.len() {
            1 => found.pop().ok_or_else(|| Error::not_found("environment")),
            _ => Err(Error::not_found("environment")),
        }
    }

    /// The share level of a TCP port: the declared port's, or private.
    async fn port_share_level(&self, env: &Environment, port: u16) -> Result<ShareLevel> {
        Ok(self
            .store()
            .list_ports(env.id)
            .await?
            .iter()
            .find(|p| p.container_port == port && p.protocol == Protocol::Tcp)
            .map(|p| p.share_level)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_labels_parse_and_print_back() {
        for label in [
            "8080--web--shop",
            "3000--dev-env--my-proj",
            "1--abc--xyz--0123456789ab",
        ] {
            let target = PreviewTarget::parse(label);
            assert_eq!(target.map(|t| t.label()).as_deref(), Some(label));
        }
        let t = PreviewTarget::parse("65535--web--shop");
        assert_eq!(t.map(|t| t.port()), Some(65535));
    }

    #[test]
    fn anything_else_is_not_a_preview_label() {
        for label in [
            "",
            "web--shop",
            "0--web--shop",
            "65536--web--shop",
            "x80--web--shop",
            "80--Web--shop",
            "80--web--shop--short",
            "80--web--shop--0123456789ab--x",
            "80----shop",
            "80--web_1--shop",
        ] {
            assert_eq!(PreviewTarget::parse(label), None, "{label}");
        }
    }
}
