//! Share levels: who may open a port's preview URL (DESIGN.md §3).
//!
//! The levels are built on the RBAC table rather than beside it: `private` is exactly "may
//! exec in the environment" ([`Action::ExecEnvironment`]), and `team` is "may read the
//! project" ([`Action::ReadProject`]: the owner of a personal project, any member of the
//! owning team) or may exec. Platform admins get nothing extra here, as everywhere in the
//! tenant table. Each level lets in everyone a more closed level lets in.

use tracing::instrument;

use super::Vibebox;
use crate::domain::{Environment, Project, ShareLevel};
use crate::error::Result;
use crate::rbac::{Action, Actor, Target, authorize};

impl Vibebox {
    /// Whether `actor` may open the preview URL of a port of `env` shared at `level`; `None`
    /// is a request with no credential. `project` must be `env`'s project (the caller has read
    /// both; a mismatch is refused).
    ///
    /// - [`ShareLevel::Public`]: anyone, `None` included.
    /// - [`ShareLevel::Authenticated`]: any actor: a user, an API key whatever its scopes, the
    ///   system.
    /// - [`ShareLevel::Team`]: in a team project, any member of the owning team (viewers
    ///   included); in a personal project, the owner alone. An API key needs the `read` scope
    ///   (or passes as for `private`).
    /// - [`ShareLevel::Private`]: whoever may exec in the environment (owner, team admins, the
    ///   developer who created it; an API key needs `environments:exec`).
    ///
    /// A refusal is `Ok(false)`, never `NotFound` or `PermissionDenied`: the caller chooses
    /// how to answer. Errors: what the store returns when reading the actor's membership.
    #[instrument(skip_all, fields(environment.id = %env.id, share_level = %level))]
    pub async fn may_open_preview(
        &self,
        actor: Option<&Actor>,
        env: &Environment,
        project: &Project,
        level: ShareLevel,
    ) -> Result<bool> {
        if env.project_id != project.id {
            tracing::warn!(project.id = %project.id, "the project given is not the environment's");
            return Ok(false);
        }
        let Some(actor) = actor else {
            return Ok(level == ShareLevel::Public);
        };
        if matches!(level, ShareLevel::Public | ShareLevel::Authenticated) {
            return Ok(true);
        }
        let target = Target {
            resource: "environment",
            relation: self.relation_to(actor, project.owner).await?,
            is_creator: actor.user_id() == Some(env.creator_id),
        };
        let allowed = |action| authorize(actor, action, &target).is_ok();
        Ok(match level {
            ShareLevel::Private => allowed(Action::ExecEnvironment),
            ShareLevel::Team => allowed(Action::ReadProject) || allowed(Action::ExecEnvironment),
            ShareLevel::Authenticated | ShareLevel::Public => true,
        })
    }
}
