//! Builders for store rows and small setup helpers shared by the checks.
//!
//! Every builder makes a fresh id; names that must be unique carry a random suffix, so checks
//! never depend on (or collide with) other data in the store.

use std::fmt::Debug;

use chrono::TimeZone;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock, Timestamp};
use crate::domain::{
    ApiKey, AuditActor, AuditEvent, Environment, EnvironmentExtension, EnvironmentPort,
    EnvironmentStatus, EnvironmentVariable, Extension, ExtensionStatus, LogStream, Membership,
    NewLogEntry, OAuthIdentity, PasswordHash, Project, ProjectOwner, Protocol, RefreshSession,
    Role, Scope, Session, SessionStatus, SessionType, ShareLevel, Team, TokenHash, User,
};
use crate::error::{Error, ErrorKind, Result};
use crate::id::*;
use crate::store::Store;

/// The cut-off every retention check uses: lines older than this are deleted. Other checks write
/// log lines at or after [`fixed_time`], well after it.
pub fn retention_cutoff() -> Timestamp {
    ts(2005, 1, 1)
}

/// The per-environment size limit every retention check uses. Other checks keep fewer bytes
/// of logs than this per environment, so a retention pass never touches their lines.
pub const RETENTION_MAX_BYTES: u64 = 2_500;

/// The current time, truncated to microseconds.
pub fn now() -> Timestamp {
    SystemClock.now()
}

/// Midnight UTC of a date.
pub fn ts(year: i32, month: u32, day: u32) -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(year, month, day, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A timestamp with a non-zero microsecond part (2024-02-29T12:34:56.123456Z).
pub fn fixed_time() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2024, 2, 29, 12, 34, 56)
        .single()
        .unwrap_or_default()
        + chrono::TimeDelta::microseconds(123_456)
}

/// 12 random lowercase hex digits.
pub fn suffix() -> String {
    let s = Uuid::now_v7().simple().to_string();
    s[s.len() - 12..].to_string()
}

/// A random number in `0..n`.
pub fn random_below(n: u64) -> u64 {
    (Uuid::now_v7().as_u128() as u64) % n.max(1)
}

/// A random host port in 20000–59999.
pub fn random_host_port() -> u16 {
    20_000 + random_below(40_000) as u16
}

/// A random token hash.
pub fn token_hash() -> TokenHash {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&Uuid::now_v7().as_u128().to_le_bytes());
    out[16..].copy_from_slice(&Uuid::now_v7().as_u128().to_be_bytes());
    TokenHash(out)
}

/// A unique email address.
pub fn unique_email() -> String {
    format!("user-{}@example.com", suffix())
}

/// A unique slug with a prefix.
pub fn unique_slug(prefix: &str) -> String {
    format!("{prefix}-{}", suffix())
}

/// A user with the given email.
pub fn user(email: &str) -> User {
    let at = now();
    User {
        id: UserId::new(),
        email: email.to_string(),
        password_hash: Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        )),
        display_name: "Test User".into(),
        ssh_public_key: None,
        notification_settings: serde_json::json!({}),
        is_platform_admin: false,
        disabled: false,
        last_login_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// An OAuth identity for a user.
pub fn identity(user: UserId, provider: &str, subject: &str) -> OAuthIdentity {
    let at = now();
    OAuthIdentity {
        id: OAuthIdentityId::new(),
        user_id: user,
        provider: provider.into(),
        subject: subject.into(),
        created_at: at,
        updated_at: at,
    }
}

/// A team with the given slug.
pub fn team(slug: &str) -> Team {
    let at = now();
    Team {
        id: TeamId::new(),
        name: "Test Team".into(),
        slug: slug.into(),
        description: None,
        created_at: at,
        updated_at: at,
    }
}

/// A membership.
pub fn membership(team: TeamId, user: UserId, role: Role) -> Membership {
    let at = now();
    Membership {
        team_id: team,
        user_id: user,
        role,
        joined_at: at,
        updated_at: at,
    }
}

/// A project with the given owner and slug.
pub fn project(owner: ProjectOwner, slug: &str) -> Project {
    let at = now();
    Project {
        id: ProjectId::new(),
        name: "Test Project".into(),
        slug: slug.into(),
        owner,
        is_archived: false,
        created_at: at,
        updated_at: at,
    }
}

/// A stopped environment at version 1.
pub fn environment(project: ProjectId, creator: UserId, slug: &str) -> Environment {
    let at = now();
    Environment {
        id: EnvironmentId::new(),
        project_id: project,
        name: "Test Environment".into(),
        slug: slug.into(),
        creator_id: creator,
        base_image: "ubuntu:24.04".into(),
        container_id: None,
        status: EnvironmentStatus::Stopped,
        cpu_limit: 2.0,
        memory_limit: 4096,
        storage_limit: 20480,
        error_message: None,
        // Not the default, and with a never: a store that drops either column shows it.
        idle_policy: crate::domain::IdlePolicy {
            suspend_after_minutes: Some(30),
            stop_after_hours: None,
        },
        version: 1,
        health: Default::default(),
        status_changed_at: at,
        created_at: at,
        updated_at: at,
    }
}

/// A TCP port mapping.
pub fn port(env: EnvironmentId, container_port: u16, host_port: Option<u16>) -> EnvironmentPort {
    let at = now();
    EnvironmentPort {
        id: PortId::new(),
        environment_id: env,
        container_port,
        host_port,
        bound_host_port: None,
        protocol: Protocol::Tcp,
        share_level: ShareLevel::Private,
        created_at: at,
        updated_at: at,
    }
}

/// A variable.
pub fn variable(
    env: EnvironmentId,
    key: &str,
    value: &str,
    encrypted: bool,
) -> EnvironmentVariable {
    let at = now();
    EnvironmentVariable {
        id: VariableId::new(),
        environment_id: env,
        key: key.into(),
        value: value.into(),
        is_encrypted: encrypted,
        created_at: at,
        updated_at: at,
    }
}

/// An active session.
pub fn session(env: EnvironmentId, session_type: SessionType, name: &str) -> Session {
    let at = now();
    Session {
        id: SessionId::new(),
        environment_id: env,
        session_type,
        session_name: name.into(),
        status: SessionStatus::Active,
        pid: None,
        idle_timeout_minutes: 30,
        last_activity_at: at,
        created_at: at,
        updated_at: at,
    }
}

/// A marketplace catalog extension.
pub fn extension(extension_id: &str) -> Extension {
    let at = now();
    Extension {
        id: ExtensionId::new(),
        extension_id: extension_id.into(),
        name: "Test Extension".into(),
        version: "1.0.0".into(),
        publisher: extension_id.split('.').next().unwrap_or("test").into(),
        is_custom: false,
        download_url: None,
        created_at: at,
        updated_at: at,
    }
}

/// A unique `publisher.name` extension id.
pub fn unique_extension_id() -> String {
    format!("pub{}.ext{}", suffix(), suffix())
}

/// A pending installation.
pub fn environment_extension(env: EnvironmentId, ext: ExtensionId) -> EnvironmentExtension {
    let at = now();
    EnvironmentExtension {
        id: EnvironmentExtensionId::new(),
        environment_id: env,
        extension_id: ext,
        status: ExtensionStatus::Pending,
        error_message: None,
        installed_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// A log line.
pub fn log_line(
    env: EnvironmentId,
    at: Timestamp,
    stream: LogStream,
    message: &str,
) -> NewLogEntry {
    NewLogEntry {
        environment_id: env,
        timestamp: at,
        stream,
        message: message.into(),
    }
}

/// An API key with the given prefix.
pub fn api_key(user: UserId, prefix: &str) -> ApiKey {
    let at = now();
    ApiKey {
        id: ApiKeyId::new(),
        user_id: user,
        name: "test key".into(),
        prefix: prefix.into(),
        secret_hash: token_hash(),
        scopes: vec![Scope::Read],
        expires_at: at + chrono::TimeDelta::days(30),
        last_used_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// A fresh refresh session expiring in 7 days.
pub fn refresh_session(user: UserId, family: RefreshFamilyId) -> RefreshSession {
    let at = now();
    RefreshSession {
        id: RefreshSessionId::new(),
        user_id: user,
        family_id: family,
        token_hash: token_hash(),
        expires_at: at + chrono::TimeDelta::days(7),
        used_at: None,
        revoked_at: None,
        user_agent: Some("conformance".into()),
        ip: Some("127.0.0.1".into()),
        created_at: at,
        updated_at: at,
    }
}

/// An audit event.
pub fn audit_event(actor: AuditActor, team: Option<TeamId>, action: &str) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::new(),
        actor,
        action: action.into(),
        resource_type: "team".into(),
        resource_id: team.map(|t| t.to_string()).unwrap_or_default(),
        team_id: team,
        details: serde_json::json!({ "check": true }),
        ip: None,
        at: now(),
    }
}

/// Creates and returns a fresh user.
pub async fn create_user(store: &dyn Store) -> User {
    let u = user(&unique_email());
    store.create_user(&u, None).await.expect("create user");
    u
}

/// Creates a fresh team with `admin` as its admin.
pub async fn create_team(store: &dyn Store, admin: &User) -> Team {
    let t = team(&unique_slug("team"));
    store
        .create_team(&t, &membership(t.id, admin.id, Role::Admin))
        .await
        .expect("create team");
    t
}

/// Creates a personal project of `owner`.
pub async fn create_project(store: &dyn Store, owner: &User) -> Project {
    let p = project(ProjectOwner::User(owner.id), &unique_slug("proj"));
    store.create_project(&p).await.expect("create project");
    p
}

/// Creates a user, their project and an environment in it.
pub async fn create_environment(store: &dyn Store) -> Environment {
    let u = create_user(store).await;
    let p = create_project(store, &u).await;
    let e = environment(p.id, u.id, &unique_slug("env"));
    store
        .create_environment(&e)
        .await
        .expect("create environment");
    e
}

/// Asserts that `result` failed with `AlreadyExists` naming `field`.
#[track_caller]
pub fn assert_already_exists<T: Debug>(result: Result<T>, field: &str) {
    let err = result.expect_err("expected AlreadyExists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.field(), Some(field), "{err}");
}

/// Asserts that `result` failed with `NotFound` naming `resource`.
#[track_caller]
pub fn assert_not_found<T: Debug>(result: Result<T>, resource: &str) {
    let err = result.expect_err("expected NotFound");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    match err {
        Error::NotFound { resource: r } => assert_eq!(r, resource),
        other => panic!("expected NotFound({resource}), got {other:?}"),
    }
}

/// Asserts that `result` failed with `StaleVersion` (kind `Conflict`).
#[track_caller]
pub fn assert_stale<T: Debug>(result: Result<T>) {
    let err = result.expect_err("expected StaleVersion");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(matches!(err, Error::StaleVersion { .. }), "{err:?}");
}

/// Asserts that `result` failed with `InvalidInput` naming `field`.
#[track_caller]
pub fn assert_invalid<T: Debug>(result: Result<T>, field: &str) {
    let err = result.expect_err("expected InvalidInput");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.field(), Some(field), "{err}");
}

/// An Ed25519 public key line with a random key, so its fingerprint is unique.
pub fn random_ssh_public_key() -> crate::ssh::PublicKeyLine {
    use base64::Engine as _;
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&Uuid::now_v7().as_u128().to_le_bytes());
    blob.extend_from_slice(&Uuid::now_v7().as_u128().to_be_bytes());
    let line = format!(
        "ssh-ed25519 {} test@example.com",
        base64::engine::general_purpose::STANDARD.encode(blob)
    );
    crate::ssh::PublicKeyLine::parse(&line).expect("a well-formed ed25519 line")
}

/// An SSH key of `user` with a random key and the given name.
pub fn ssh_key(user: UserId, name: &str) -> crate::domain::SshKey {
    let key = random_ssh_public_key();
    let at = now();
    crate::domain::SshKey {
        id: SshKeyId::new(),
        user_id: user,
        name: name.into(),
        algorithm: key.algorithm().name().into(),
        blob: key.blob_base64(),
        comment: key.comment().map(str::to_string),
        fingerprint: key.fingerprint(),
        last_used_at: None,
        created_at: at,
        updated_at: at,
    }
}
