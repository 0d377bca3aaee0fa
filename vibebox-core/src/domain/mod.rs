//! The entities of DESIGN.md §2. Each type is plain data; the rules that govern it live in
//! [`validate`](crate::validate), [`lifecycle`](crate::lifecycle) and [`rbac`](crate::rbac).

mod audit;
mod auth;
mod environment;
mod extension;
mod health;
mod log;
mod project;
mod session;
mod ssh_key;
mod team;
mod user;

pub use audit::{AuditActor, AuditEvent};
pub use auth::{ApiKey, RefreshSession, Scope, TokenHash};
pub use environment::{
    Environment, EnvironmentPort, EnvironmentStatus, EnvironmentVariable, IdlePolicy, Protocol,
    ShareLevel,
};
pub use extension::{EnvironmentExtension, Extension, ExtensionStatus};
pub use health::{EnvironmentHealth, HealthWarning, WarningCode};
pub use log::{LogEntry, LogStream, NewLogEntry};
pub use project::{Project, ProjectOwner};
pub use session::{Session, SessionStatus, SessionType};
pub use ssh_key::{PROFILE_SSH_KEY_NAME, SshKey};
pub use team::{Membership, Role, Team};
pub use user::{OAuthIdentity, PasswordHash, User};

/// Implements `as_str`, `Display`, `FromStr` (naming the field on error) and `ALL` for a
/// snake_case enum.
macro_rules! string_enum {
    ($name:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case name used in JSON and SQL.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::error::Error::invalid(
                        $field,
                        concat!("must be one of: ", $($text, " "),+),
                    )),
                }
            }
        }
    };
}
pub(crate) use string_enum;
