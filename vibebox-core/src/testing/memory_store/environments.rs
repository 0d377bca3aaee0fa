use async_trait::async_trait;

use super::{MemoryStore, State, paginate};
use crate::clock::Timestamp;
use crate::domain::{
    Environment, EnvironmentHealth, EnvironmentPort, EnvironmentStatus, EnvironmentVariable,
    HealthWarning, ShareLevel,
};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};
use crate::store::{
    EnvironmentAccessRecord, EnvironmentFilter, EnvironmentsStore, Page, PageRequest,
};

impl State {
    fn environment_slug_taken(
        &self,
        project: ProjectId,
        slug: &str,
        except: EnvironmentId,
    ) -> bool {
        self.environments
            .values()
            .any(|e| e.id != except && e.project_id == project && e.slug == slug)
    }

    fn matches(&self, filter: &EnvironmentFilter, env: &Environment) -> bool {
        if let Some(user) = filter.visible_to {
            let visible = self
                .projects
                .get(&env.project_id)
                .is_some_and(|p| self.can_see_project(user, p));
            if !visible {
                return false;
            }
        }
        filter.project_id.is_none_or(|p| p == env.project_id)
            && filter.creator_id.is_none_or(|c| c == env.creator_id)
            && (filter.statuses.is_empty() || filter.statuses.contains(&env.status))
    }
}

#[async_trait]
impl EnvironmentsStore for MemoryStore {
    async fn create_environment(&self, env: &Environment) -> Result<()> {
        self.with(|s| {
            if !s.projects.contains_key(&env.project_id) {
                return Err(Error::not_found("project"));
            }
            s.require_user(env.creator_id)?;
            if s.environments.contains_key(&env.id) {
                return Err(Error::already_exists("environment", "id"));
            }
            if s.environment_slug_taken(env.project_id, &env.slug, env.id) {
                return Err(Error::already_exists("environment", "slug"));
            }
            s.environments.insert(env.id, env.clone());
            Ok(())
        })
    }

    async fn get_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.with(|s| {
            s.environments
                .get(&id)
                .cloned()
                .ok_or(Error::not_found("environment"))
        })
    }

    async fn get_environment_access(
        &self,
        id: EnvironmentId,
        user: Option<UserId>,
    ) -> Result<EnvironmentAccessRecord> {
        self.with(|s| {
            let missing = || Error::not_found("environment");
            let environment = s.environments.get(&id).cloned().ok_or_else(missing)?;
            let project = s
                .projects
                .get(&environment.project_id)
                .cloned()
                .ok_or_else(missing)?;
            let team_role = match (project.owner.team_id(), user) {
                (Some(team), Some(user)) => s.memberships.get(&(team, user)).map(|m| m.role),
                _ => None,
            };
            Ok(EnvironmentAccessRecord {
                environment,
                project,
                team_role,
            })
        })
    }

    async fn find_environments_by_slugs(
        &self,
        project_slug: &str,
        env_slug: &str,
    ) -> Result<Vec<Environment>> {
        self.with(|s| {
            Ok(s.environments
                .values()
                .filter(|e| {
                    e.slug == env_slug
                        && s.projects
                            .get(&e.project_id)
                            .is_some_and(|p| p.slug == project_slug)
                })
                .cloned()
                .collect())
        })
    }

    async fn list_environments(
        &self,
        filter: &EnvironmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Environment>> {
        self.with(|s| {
            let envs = s
                .environments
                .values()
                .filter(|e| s.matches(filter, e))
                .cloned()
                .collect();
            paginate(envs, |e| e.id.0, page, false)
        })
    }

    async fn update_environment(
        &self,
        env: &Environment,
        expected_status: EnvironmentStatus,
        expected_version: i64,
    ) -> Result<Environment> {
        self.with(|s| {
            let stored = s
                .environments
                .get(&env.id)
                .ok_or(Error::not_found("environment"))?;
            if stored.status != expected_status || stored.version != expected_version {
                return Err(Error::StaleVersion {
                    resource: "environment",
                });
            }
            if s.environment_slug_taken(stored.project_id, &env.slug, env.id) {
                return Err(Error::already_exists("environment", "slug"));
            }
            let updated = Environment {
                id: stored.id,
                project_id: stored.project_id,
                creator_id: stored.creator_id,
                created_at: stored.created_at,
                version: expected_version.saturating_add(1),
                health: stored.health.clone(),
                ..env.clone()
            };
            s.environments.insert(env.id, updated.clone());
            Ok(updated)
        })
    }

    async fn record_oom_kill(&self, id: EnvironmentId, at: Timestamp) -> Result<EnvironmentHealth> {
        self.with(|s| {
            let env = s
                .environments
                .get_mut(&id)
                .ok_or(Error::not_found("environment"))?;
            env.health.oom_kills = env.health.oom_kills.saturating_add(1);
            env.health.last_oom_kill_at =
                Some(env.health.last_oom_kill_at.map_or(at, |t| t.max(at)));
            Ok(env.health.clone())
        })
    }

    async fn set_environment_warnings(
        &self,
        id: EnvironmentId,
        warnings: &[HealthWarning],
    ) -> Result<()> {
        self.with(|s| {
            let env = s
                .environments
                .get_mut(&id)
                .ok_or(Error::not_found("environment"))?;
            env.health.warnings = warnings.to_vec();
            Ok(())
        })
    }

    async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        self.with(|s| {
            s.require_environment(id)?;
            s.cascade_delete_environment(id);
            Ok(())
        })
    }

    async fn count_running_environments(&self, creator: UserId) -> Result<u64> {
        self.with(|s| {
            Ok(s.environments
                .values()
                .filter(|e| e.creator_id == creator && e.status.counts_as_running())
                .count() as u64)
        })
    }

    async fn add_port(&self, port: &EnvironmentPort) -> Result<()> {
        self.with(|s| {
            s.require_environment(port.environment_id)?;
            if s.ports.contains_key(&port.id) {
                return Err(Error::already_exists("port", "id"));
            }
            if s.ports.values().any(|p| {
                p.environment_id == port.environment_id
                    && p.container_port == port.container_port
                    && p.protocol == port.protocol
            }) {
                return Err(Error::already_exists("port", "container_port"));
            }
            if port.host_port.is_some() && s.ports.values().any(|p| p.host_port == port.host_port) {
                return Err(Error::already_exists("port", "host_port"));
            }
            s.ports.insert(port.id, port.clone());
            Ok(())
        })
    }

    async fn list_ports(&self, env: EnvironmentId) -> Result<Vec<EnvironmentPort>> {
        self.with(|s| {
            Ok(s.ports
                .values()
                .filter(|p| p.environment_id == env)
                .cloned()
                .collect())
        })
    }

    async fn delete_port(&self, env: EnvironmentId, port: PortId) -> Result<()> {
        self.with(|s| {
            if s.ports.get(&port).is_none_or(|p| p.environment_id != env) {
                return Err(Error::not_found("port"));
            }
            s.ports.remove(&port);
            Ok(())
        })
    }

    async fn set_port_share_level(
        &self,
        env: EnvironmentId,
        port: PortId,
        level: ShareLevel,
        at: Timestamp,
    ) -> Result<EnvironmentPort> {
        self.with(|s| {
            let stored = s
                .ports
                .get_mut(&port)
                .filter(|p| p.environment_id == env)
                .ok_or(Error::not_found("port"))?;
            stored.share_level = level;
            stored.updated_at = at;
            Ok(stored.clone())
        })
    }

    async fn set_bound_host_ports(
        &self,
        env: EnvironmentId,
        bound: &[(PortId, Option<u16>)],
    ) -> Result<()> {
        self.with(|s| {
            for (id, host_port) in bound {
                if let Some(port) = s.ports.get_mut(id)
                    && port.environment_id == env
                {
                    port.bound_host_port = *host_port;
                }
            }
            Ok(())
        })
    }

    async fn put_variable(&self, var: &EnvironmentVariable) -> Result<EnvironmentVariable> {
        self.with(|s| {
            s.require_environment(var.environment_id)?;
            let existing = s
                .variables
                .values_mut()
                .find(|v| v.environment_id == var.environment_id && v.key == var.key);
            if let Some(existing) = existing {
                existing.value.clone_from(&var.value);
                existing.is_encrypted = var.is_encrypted;
                existing.updated_at = var.updated_at;
                return Ok(existing.clone());
            }
            if s.variables.contains_key(&var.id) {
                return Err(Error::already_exists("variable", "id"));
            }
            s.variables.insert(var.id, var.clone());
            Ok(var.clone())
        })
    }

    async fn list_variables(&self, env: EnvironmentId) -> Result<Vec<EnvironmentVariable>> {
        self.with(|s| {
            let mut vars: Vec<_> = s
                .variables
                .values()
                .filter(|v| v.environment_id == env)
                .cloned()
                .collect();
            vars.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(vars)
        })
    }

    async fn delete_variable(&self, env: EnvironmentId, key: &str) -> Result<()> {
        self.with(|s| {
            let id = s
                .variables
                .values()
                .find(|v| v.environment_id == env && v.key == key)
                .map(|v| v.id)
                .ok_or(Error::not_found("variable"))?;
            s.variables.remove(&id);
            Ok(())
        })
    }

    async fn list_encrypted_variables(
        &self,
        after: Option<VariableId>,
        limit: u32,
    ) -> Result<Vec<EnvironmentVariable>> {
        self.with(|s| {
            Ok(s.variables
                .values()
                .filter(|v| v.is_encrypted && after.is_none_or(|a| v.id > a))
                .take(limit as usize)
                .cloned()
                .collect())
        })
    }
}
