#![doc = include_str!("../README.md")]

mod base_url;
mod client;
mod credential;
mod error;
mod page;
mod transport;

pub mod api;
pub mod ws;

pub use client::{Client, ClientBuilder};
pub use credential::{Credential, RefreshHook, TokenPair};
pub use error::{ApiProblem, ClientError, ErrorKind, Result};
pub use page::{Page, PageRequest, collect_all, paginate};

pub use api::api_keys::{ApiKeyInfo, CreatedApiKey, NewApiKey};
pub use api::auth::{Registration, RegistrationAccepted, SignIn};
pub use api::devices::Device;
pub use api::environments::{EnvironmentPatch, NewEnvironment};
pub use api::exec::{ExecOutput, ExecRequest};
pub use api::extensions::NewExtension;
pub use api::files::Download;
pub use api::health::Health;
pub use api::logs::LogQuery;
pub use api::oauth::{OAuthProviderInfo, OAuthStart};
pub use api::ports::NewPort;
pub use api::preview::PreviewUrl;
pub use api::projects::{NewProject, ProjectPatch};
pub use api::sessions::NewSession;
pub use api::ssh_gateway::{SshGateway, SshHostKey};
pub use api::ssh_keys::{NewSshKey, SshKey};
pub use api::teams::{NewTeam, TeamPatch};
pub use api::users::{ProfilePatch, UserAdminPatch};
pub use api::variables::{NewVariable, Variable};
pub use ws::exec::{ExecEvent, ExecReader, ExecSocket, ExecStart, ExecWriter};
pub use ws::json::JsonSocket;
pub use ws::logs::{LogFilter, LogMessage, LogsSocket};
pub use ws::project_status::{ProjectFrame, ProjectStatusSocket, WatchedEnvironment};
pub use ws::status::{StatusMessage, StatusSocket};
pub use ws::terminal::{Terminal, TerminalEvent, TerminalOptions, TerminalReader, TerminalWriter};
pub use ws::ticket::WsTicket;
pub use ws::tunnel::Tunnel;

/// The wire types this client shares with the server, from `vibebox-core`.
pub mod types {
    pub use vibebox_core::clock::Timestamp;
    pub use vibebox_core::domain::SshKey;
    pub use vibebox_core::domain::{
        AuditEvent, Environment, EnvironmentExtension, EnvironmentHealth, EnvironmentPort,
        EnvironmentStatus, Extension, ExtensionStatus, LogEntry, LogStream, Membership, Project,
        Protocol, Role, Scope, Session, SessionStatus, SessionType, ShareLevel, Team, User,
    };
    pub use vibebox_core::id::SshKeyId;
    pub use vibebox_core::id::{
        ApiKeyId, EnvironmentId, ExtensionId, PortId, ProjectId, RefreshSessionId, SessionId,
        TeamId, UserId, VariableId,
    };
    pub use vibebox_core::service::{FileEntry, FileKind, FileListing, MemberView, Patch};
}
