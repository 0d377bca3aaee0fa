//! Authorization: who may do what (DESIGN.md §3).
//!
//! [`authorize`] is the single decision function. The service works out the actor's
//! [`Relation`] to the resource (owner, member with a role, or stranger) and asks it. Strangers
//! get `NotFound`, so a resource's existence never leaks; members whose role or key scope falls
//! short get `PermissionDenied`.

use serde::{Deserialize, Serialize};

use crate::domain::{AuditActor, Role, Scope};
use crate::error::{Error, Result};
use crate::id::{ApiKeyId, UserId};

/// A signed-in user, as the service sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserActor {
    /// The user.
    pub id: UserId,
    /// Whether the user is a platform admin.
    pub is_platform_admin: bool,
}

/// Who performs an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A user with their full rights.
    User(UserActor),
    /// A user acting through an API key; the key's scopes narrow the user's rights.
    ApiKey {
        /// The key's user.
        user: UserActor,
        /// The key.
        key_id: ApiKeyId,
        /// What the key may do.
        scopes: Vec<Scope>,
    },
    /// VibeBox's own background jobs: allowed everything.
    System,
}

impl Actor {
    /// The user behind the actor, if any.
    pub fn user(&self) -> Option<UserActor> {
        match self {
            Actor::User(u) | Actor::ApiKey { user: u, .. } => Some(*u),
            Actor::System => None,
        }
    }

    /// The user id behind the actor, if any.
    pub fn user_id(&self) -> Option<UserId> {
        self.user().map(|u| u.id)
    }

    /// How the actor appears in the audit log.
    pub fn audit_actor(&self) -> AuditActor {
        match self {
            Actor::User(u) => AuditActor::User { user_id: u.id },
            Actor::ApiKey { user, key_id, .. } => AuditActor::ApiKey {
                user_id: user.id,
                key_id: *key_id,
            },
            Actor::System => AuditActor::System,
        }
    }
}

/// The actor's relation to the project (or team) that holds a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The user owns the personal project.
    Owner,
    /// The user is a member of the owning team with this role.
    Member(Role),
    /// No relation: the resource is invisible to the actor.
    Stranger,
}

impl Relation {
    /// Every relation, for exhaustive tests.
    pub const ALL: &'static [Relation] = &[
        Relation::Owner,
        Relation::Member(Role::Admin),
        Relation::Member(Role::Developer),
        Relation::Member(Role::Viewer),
        Relation::Stranger,
    ];
}

/// Something an actor asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a project and everything in it (environments, ports, masked variables, sessions,
    /// extensions, logs, status).
    ReadProject,
    /// Create a project (in a team, or for oneself).
    CreateProject,
    /// Rename or otherwise update a project.
    UpdateProject,
    /// Archive or delete a project.
    DeleteProject,
    /// Create an environment in a project.
    CreateEnvironment,
    /// Update or delete an environment, or manage its ports, variables, sessions and extensions.
    ManageEnvironment,
    /// Start or stop an environment.
    StartStopEnvironment,
    /// Open a terminal or run a command in an environment.
    ExecEnvironment,
    /// See a team and its members.
    ReadTeam,
    /// Manage a team, its members and roles; delete it.
    ManageTeam,
    /// Read a team's audit log.
    ReadTeamAudit,
    /// Read one's own profile, keys and devices.
    ReadOwnAccount,
    /// Change one's own profile, keys and devices.
    ManageOwnAccount,
    /// Read the extension catalog.
    ReadCatalog,
    /// List, disable and promote users (platform admins).
    ManageUsers,
    /// Add to the custom extension catalog (platform admins).
    ManageExtensionCatalog,
    /// Read the whole audit log (platform admins).
    ReadAuditLog,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: &'static [Action] = &[
        Action::ReadProject,
        Action::CreateProject,
        Action::UpdateProject,
        Action::DeleteProject,
        Action::CreateEnvironment,
        Action::ManageEnvironment,
        Action::StartStopEnvironment,
        Action::ExecEnvironment,
        Action::ReadTeam,
        Action::ManageTeam,
        Action::ReadTeamAudit,
        Action::ReadOwnAccount,
        Action::ManageOwnAccount,
        Action::ReadCatalog,
        Action::ManageUsers,
        Action::ManageExtensionCatalog,
        Action::ReadAuditLog,
    ];

    /// A stable name, used in errors and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Action::ReadProject => "read project",
            Action::CreateProject => "create project",
            Action::UpdateProject => "update project",
            Action::DeleteProject => "archive or delete project",
            Action::CreateEnvironment => "create environment",
            Action::ManageEnvironment => "manage environment",
            Action::StartStopEnvironment => "start or stop environment",
            Action::ExecEnvironment => "open terminal",
            Action::ReadTeam => "read team",
            Action::ManageTeam => "manage team",
            Action::ReadTeamAudit => "read team audit log",
            Action::ReadOwnAccount => "read account",
            Action::ManageOwnAccount => "manage account",
            Action::ReadCatalog => "read extension catalog",
            Action::ManageUsers => "manage users",
            Action::ManageExtensionCatalog => "manage extension catalog",
            Action::ReadAuditLog => "read audit log",
        }
    }

    /// The API key scope this action needs.
    pub fn required_scope(self) -> Scope {
        match self {
            Action::ReadProject
            | Action::ReadTeam
            | Action::ReadTeamAudit
            | Action::ReadOwnAccount
            | Action::ReadCatalog => Scope::Read,
            Action::CreateProject | Action::UpdateProject | Action::DeleteProject => {
                Scope::ProjectsWrite
            }
            Action::CreateEnvironment | Action::ManageEnvironment => Scope::EnvironmentsWrite,
            Action::StartStopEnvironment => Scope::EnvironmentsLifecycle,
            Action::ExecEnvironment => Scope::EnvironmentsExec,
            Action::ManageTeam => Scope::TeamsWrite,
            Action::ManageOwnAccount => Scope::AccountWrite,
            Action::ManageUsers | Action::ManageExtensionCatalog | Action::ReadAuditLog => {
                Scope::Admin
            }
        }
    }

    /// Whether this action is about a project, environment or team (decided by [`Relation`]),
    /// rather than about the platform or one's own account.
    pub fn is_tenant_action(self) -> bool {
        !matches!(
            self,
            Action::ReadOwnAccount
                | Action::ManageOwnAccount
                | Action::ReadCatalog
                | Action::ManageUsers
                | Action::ManageExtensionCatalog
                | Action::ReadAuditLog
        )
    }
}

/// What the action is performed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The kind of resource, named in a `NotFound` error.
    pub resource: &'static str,
    /// The actor's relation to the project or team that holds it.
    pub relation: Relation,
    /// For environment actions: whether the actor created the environment.
    pub is_creator: bool,
}

impl Target {
    /// A target with no tenant (platform and account actions).
    pub const PLATFORM: Target = Target {
        resource: "resource",
        relation: Relation::Stranger,
        is_creator: false,
    };
}

/// The decision for one (relation, action) pair before scopes are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Visible but not allowed: `PermissionDenied`.
    Deny,
    /// Not visible: `NotFound`.
    Hide,
}

/// The RBAC table of DESIGN.md §3 for tenant actions.
pub fn role_decision(relation: Relation, action: Action, is_creator: bool) -> Decision {
    use Decision::*;
    let role = match relation {
        Relation::Stranger => return Hide,
        Relation::Owner => None,
        Relation::Member(r) => Some(r),
    };
    match action {
        Action::ReadProject => Allow,
        Action::CreateProject | Action::UpdateProject | Action::CreateEnvironment => match role {
            None | Some(Role::Admin) | Some(Role::Developer) => Allow,
            Some(Role::Viewer) => Deny,
        },
        Action::DeleteProject => match role {
            None | Some(Role::Admin) => Allow,
            Some(Role::Developer) | Some(Role::Viewer) => Deny,
        },
        Action::ManageEnvironment | Action::StartStopEnvironment | Action::ExecEnvironment => {
            match role {
                None | Some(Role::Admin) => Allow,
                Some(Role::Developer) if is_creator => Allow,
                Some(Role::Developer) | Some(Role::Viewer) => Deny,
            }
        }
        // Team actions: owning a personal project says nothing about a team.
        Action::ReadTeam => match role {
            Some(_) => Allow,
            None => Hide,
        },
        Action::ManageTeam | Action::ReadTeamAudit => match role {
            Some(Role::Admin) => Allow,
            Some(_) => Deny,
            None => Hide,
        },
        Action::ReadOwnAccount
        | Action::ManageOwnAccount
        | Action::ReadCatalog
        | Action::ManageUsers
        | Action::ManageExtensionCatalog
        | Action::ReadAuditLog => Deny,
    }
}

/// Decides whether `actor` may perform `action` on `target`.
///
/// Errors: `NotFound` (naming `target.resource`) when the actor may not see the resource;
/// `PermissionDenied` when they may see it but their role or key scope does not allow the action.
pub fn authorize(actor: &Actor, action: Action, target: &Target) -> Result<()> {
    let (user, scopes) = match actor {
        Actor::System => return Ok(()),
        Actor::User(u) => (*u, None),
        Actor::ApiKey { user, scopes, .. } => (*user, Some(scopes.as_slice())),
    };
    let decision = if action.is_tenant_action() {
        role_decision(target.relation, action, target.is_creator)
    } else {
        match action {
            Action::ReadOwnAccount | Action::ManageOwnAccount | Action::ReadCatalog => {
                Decision::Allow
            }
            _ if user.is_platform_admin => Decision::Allow,
            _ => Decision::Deny,
        }
    };
    match decision {
        Decision::Hide => Err(Error::not_found(target.resource)),
        Decision::Deny => Err(Error::PermissionDenied {
            action: action.name(),
        }),
        Decision::Allow => match scopes {
            Some(scopes) if !scopes.contains(&action.required_scope()) => {
                Err(Error::PermissionDenied {
                    action: action.name(),
                })
            }
            _ => Ok(()),
        },
    }
}
