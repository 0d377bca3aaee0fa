use async_trait::async_trait;

use super::{MemoryStore, State, paginate};
use crate::clock::Timestamp;
use crate::domain::{Membership, ProjectOwner, Role, Team};
use crate::error::{Error, Result};
use crate::id::{TeamId, UserId};
use crate::store::{Page, PageRequest, TeamsStore};

impl State {
    fn team_slug_taken(&self, slug: &str, except: Option<TeamId>) -> bool {
        self.teams
            .values()
            .any(|t| Some(t.id) != except && t.slug == slug)
    }

    fn admin_count(&self, team: TeamId) -> usize {
        self.memberships
            .values()
            .filter(|m| m.team_id == team && m.role == Role::Admin)
            .count()
    }

    fn membership(&self, team: TeamId, user: UserId) -> Result<&Membership> {
        self.memberships
            .get(&(team, user))
            .ok_or(Error::not_found("membership"))
    }
}

#[async_trait]
impl TeamsStore for MemoryStore {
    async fn create_team(&self, team: &Team, first_admin: &Membership) -> Result<()> {
        self.with(|s| {
            if first_admin.role != Role::Admin {
                return Err(Error::invalid("role", "the first member must be an admin"));
            }
            if first_admin.team_id != team.id {
                return Err(Error::invalid(
                    "team_id",
                    "the first member must belong to the new team",
                ));
            }
            if s.teams.contains_key(&team.id) {
                return Err(Error::already_exists("team", "id"));
            }
            if s.team_slug_taken(&team.slug, None) {
                return Err(Error::already_exists("team", "slug"));
            }
            s.require_user(first_admin.user_id)?;
            s.teams.insert(team.id, team.clone());
            s.memberships
                .insert((team.id, first_admin.user_id), first_admin.clone());
            Ok(())
        })
    }

    async fn get_team(&self, id: TeamId) -> Result<Team> {
        self.with(|s| s.teams.get(&id).cloned().ok_or(Error::not_found("team")))
    }

    async fn update_team(&self, team: &Team) -> Result<()> {
        self.with(|s| {
            if !s.teams.contains_key(&team.id) {
                return Err(Error::not_found("team"));
            }
            if s.team_slug_taken(&team.slug, Some(team.id)) {
                return Err(Error::already_exists("team", "slug"));
            }
            s.teams.insert(team.id, team.clone());
            Ok(())
        })
    }

    async fn delete_team(&self, id: TeamId) -> Result<()> {
        self.with(|s| {
            if s.teams.remove(&id).is_none() {
                return Err(Error::not_found("team"));
            }
            s.memberships.retain(|(team, _), _| *team != id);
            let projects: Vec<_> = s
                .projects
                .values()
                .filter(|p| p.owner == ProjectOwner::Team(id))
                .map(|p| p.id)
                .collect();
            for project in projects {
                s.cascade_delete_project(project);
            }
            Ok(())
        })
    }

    async fn list_teams_for_user(&self, user: UserId, page: &PageRequest) -> Result<Page<Team>> {
        self.with(|s| {
            let teams = s
                .memberships
                .values()
                .filter(|m| m.user_id == user)
                .filter_map(|m| s.teams.get(&m.team_id).cloned())
                .collect();
            paginate(teams, |t| t.id.0, page, false)
        })
    }

    async fn add_member(&self, membership: &Membership) -> Result<()> {
        self.with(|s| {
            if !s.teams.contains_key(&membership.team_id) {
                return Err(Error::not_found("team"));
            }
            s.require_user(membership.user_id)?;
            let key = (membership.team_id, membership.user_id);
            if s.memberships.contains_key(&key) {
                return Err(Error::already_exists("membership", "user_id"));
            }
            s.memberships.insert(key, membership.clone());
            Ok(())
        })
    }

    async fn get_membership(&self, team: TeamId, user: UserId) -> Result<Option<Membership>> {
        self.with(|s| Ok(s.memberships.get(&(team, user)).cloned()))
    }

    async fn list_members(&self, team: TeamId, page: &PageRequest) -> Result<Page<Membership>> {
        self.with(|s| {
            let members = s
                .memberships
                .values()
                .filter(|m| m.team_id == team)
                .cloned()
                .collect();
            paginate(members, |m| m.user_id.0, page, false)
        })
    }

    async fn update_member_role(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
        at: Timestamp,
    ) -> Result<Membership> {
        self.with(|s| {
            let current = s.membership(team, user)?;
            if current.role == Role::Admin && role != Role::Admin && s.admin_count(team) <= 1 {
                return Err(Error::LastAdmin);
            }
            let mut updated = current.clone();
            updated.role = role;
            updated.updated_at = at;
            s.memberships.insert((team, user), updated.clone());
            Ok(updated)
        })
    }

    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        self.with(|s| {
            let current = s.membership(team, user)?;
            if current.role == Role::Admin && s.admin_count(team) <= 1 {
                return Err(Error::LastAdmin);
            }
            s.memberships.remove(&(team, user));
            Ok(())
        })
    }

    async fn list_memberships_for_user(&self, user: UserId) -> Result<Vec<Membership>> {
        self.with(|s| {
            Ok(s.memberships
                .values()
                .filter(|m| m.user_id == user)
                .cloned()
                .collect())
        })
    }
}
