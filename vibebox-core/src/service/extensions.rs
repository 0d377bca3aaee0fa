//! VS Code extensions: the catalog, and installations per environment with tracked status.

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{EnvironmentExtension, EnvironmentStatus, Extension, ExtensionStatus};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::id::{EnvironmentExtensionId, EnvironmentId, ExtensionId};
use crate::lifecycle::StateMachine;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ExecSpec};
use crate::store::cursor::page_by_id;
use crate::store::{Page, PageRequest};
use crate::validate;

/// A catalog entry to add (platform admins).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewExtension {
    /// `publisher.name`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub extension_id: String,
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// Semantic version.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub version: String,
    /// Custom (not from the marketplace): requires `download_url`.
    #[serde(default)]
    pub is_custom: bool,
    /// Where a custom extension's VSIX is downloaded from.
    #[serde(default)]
    pub download_url: Option<String>,
}

/// Longest error message kept for a failed installation.
const ERROR_MAX: usize = 1000;

/// What a custom extension's installation says when the image can download nothing.
const NO_DOWNLOADER: &str =
    "neither curl nor wget is installed in this environment's image to download the extension";

/// Whether an installer's exit says its program could not be run: a shell's 127, or the
/// engine's 126 (Docker) or 127 when the executable does not exist.
fn installer_missing(code: i64, out: &str) -> bool {
    code == 127
        || (code == 126
            && (out.contains("no such file or directory")
                || out.contains("executable file not found")))
}

impl Vibebox {
    /// The extension catalog (any signed-in user).
    pub async fn list_extensions(
        &self,
        actor: &Actor,
        page: &PageRequest,
    ) -> Result<Page<Extension>> {
        self.authorize_platform(actor, Action::ReadCatalog)?;
        self.store().list_extensions(page).await
    }

    /// Adds an extension to the catalog (platform admins).
    ///
    /// Errors: `InvalidInput`; `AlreadyExists` (`extension_id`); `PermissionDenied`.
    #[instrument(skip_all)]
    pub async fn add_extension(&self, actor: &Actor, new: NewExtension) -> Result<Extension> {
        self.authorize_platform(actor, Action::ManageExtensionCatalog)?;
        let (extension_id, publisher) = validate::extension_id(&new.extension_id)?;
        let name = validate::name("name", &new.name)?;
        validate::semver("version", &new.version)?;
        match (&new.download_url, new.is_custom) {
            (Some(url), true) => validate::download_url(url)?,
            (None, true) => {
                return Err(Error::invalid(
                    "download_url",
                    "a custom extension needs a download URL",
                ));
            }
            (Some(_), false) => {
                return Err(Error::invalid(
                    "download_url",
                    "only custom extensions have a download URL",
                ));
            }
            (None, false) => {}
        }
        let now = self.now();
        let ext = Extension {
            id: ExtensionId::new(),
            extension_id,
            name,
            version: new.version,
            publisher,
            is_custom: new.is_custom,
            download_url: new.download_url,
            created_at: now,
            updated_at: now,
        };
        self.store().create_extension(&ext).await?;
        self.audit(
            actor,
            AuditRecord::new("extension.create", "extension", ext.id)
                .details(json!({ "extension_id": ext.extension_id })),
        )
        .await;
        Ok(ext)
    }

    /// One page of the environment's extensions with their installation status, ordered by
    /// id (the order they were first requested). An environment holds at most one installation
    /// per catalog entry, so the page is cut from the whole list.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn list_environment_extensions(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        page: &PageRequest,
    ) -> Result<Page<EnvironmentExtension>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        let installs = self.store().list_environment_extensions(env_id).await?;
        page_by_id(installs, |e| e.id.0, page, false)
    }

    /// Requests an extension (by its `publisher.name` id) for an environment. It is installed
    /// now if the environment runs, otherwise at its next start. Requesting a failed extension
    /// again retries it.
    ///
    /// Errors: `NotFound` (`extension`) if it is not in the catalog; `AlreadyExists`
    /// (`extension_id`) if already requested and not failed; `PermissionDenied`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn install_extension(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        extension_id: &str,
    ) -> Result<EnvironmentExtension> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        let (extension_id, _) = validate::extension_id(extension_id)?;
        let ext = self
            .store()
            .find_extension(&extension_id)
            .await?
            .ok_or_else(|| Error::not_found("extension"))?;
        let now = self.now();
        let requested = EnvironmentExtension {
            id: EnvironmentExtensionId::new(),
            environment_id: env_id,
            extension_id: ext.id,
            status: ExtensionStatus::Pending,
            error_message: None,
            installed_at: None,
            created_at: now,
            updated_at: now,
        };
        let record = match self.store().add_environment_extension(&requested).await {
            Ok(()) => requested,
            Err(Error::AlreadyExists { .. }) => {
                let existing = self
                    .store()
                    .get_environment_extension(env_id, ext.id)
                    .await?;
                if existing.status != ExtensionStatus::Failed {
                    return Err(Error::already_exists(
                        "environment_extension",
                        "extension_id",
                    ));
                }
                let container = self.awake_container(&access.env).await.map_err(|e| {
                    if e.kind() == crate::error::ErrorKind::Conflict {
                        Error::Conflict("start the environment to retry the installation".into())
                    } else {
                        e
                    }
                })?;
                let this = self.clone();
                let retry = existing.clone();
                tokio::spawn(async move {
                    if let Err(e) = this.install_one(&container, &retry).await {
                        tracing::warn!(error = %e, "retrying an extension failed");
                    }
                });
                existing
            }
            Err(e) => return Err(e),
        };
        self.audit(
            actor,
            AuditRecord::new("environment.extension.install", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "extension_id": ext.extension_id })),
        )
        .await;
        if access.env.status == EnvironmentStatus::Running
            && record.status == ExtensionStatus::Pending
        {
            self.spawn_pending_extensions(env_id);
        }
        Ok(record)
    }

    /// Removes an extension from an environment: uninstalls it if installed, otherwise just
    /// drops the request.
    ///
    /// Errors: `NotFound` (`environment_extension`); `InvalidTransition` while installing.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn uninstall_extension(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<()> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        let record = self.store().get_environment_extension(env_id, ext).await?;
        match record.status {
            ExtensionStatus::Pending | ExtensionStatus::Failed => {}
            ExtensionStatus::Installed => {
                let uninstalling = self
                    .set_extension_status(&record, ExtensionStatus::Uninstalling, None)
                    .await?;
                if let (EnvironmentStatus::Running, Some(c)) =
                    (access.env.status, &access.env.container_id)
                {
                    let catalog = self.store().get_extension(ext).await?;
                    let mut cmd = self.config().extension_uninstall_command.clone();
                    cmd.push(catalog.extension_id);
                    let spec = ExecSpec {
                        cmd,
                        user: self.config().container_user.clone(),
                        ..Default::default()
                    };
                    if let Err(e) = self.run_to_end(&ContainerId(c.clone()), &spec).await {
                        tracing::warn!(error = %e, "uninstalling an extension failed");
                    }
                }
                self.set_extension_status(&uninstalling, ExtensionStatus::Removed, None)
                    .await?;
            }
            other => {
                return Err(Error::InvalidTransition {
                    machine: "extension",
                    from: other.to_string(),
                    to: ExtensionStatus::Removed.to_string(),
                });
            }
        }
        self.store()
            .delete_environment_extension(env_id, ext)
            .await?;
        self.audit(
            actor,
            AuditRecord::new("environment.extension.uninstall", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "extension_id": ext })),
        )
        .await;
        Ok(())
    }

    async fn set_extension_status(
        &self,
        record: &EnvironmentExtension,
        to: ExtensionStatus,
        error_message: Option<String>,
    ) -> Result<EnvironmentExtension> {
        record.status.transition_to(to)?;
        let now = self.now();
        let mut next = record.clone();
        next.status = to;
        next.error_message = error_message;
        next.updated_at = now;
        if to == ExtensionStatus::Installed {
            next.installed_at = Some(now);
        }
        self.store()
            .update_environment_extension(&next, record.status)
            .await?;
        self.publish(
            next.environment_id,
            EventKind::Extension {
                extension_id: next.extension_id,
                status: next.status,
                error_message: next.error_message.clone(),
            },
        );
        Ok(next)
    }

    /// Installs the environment's pending (and retried) extensions in the background.
    pub(crate) fn spawn_pending_extensions(&self, env_id: EnvironmentId) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.install_pending_extensions(env_id).await {
                tracing::warn!(error = %e, environment.id = %env_id, "extension installer failed");
            }
        });
    }

    /// Installs every pending extension of a running environment, one at a time. Returns how
    /// many were installed.
    pub async fn install_pending_extensions(&self, env_id: EnvironmentId) -> Result<usize> {
        let env = self.store().get_environment(env_id).await?;
        let Some(container) = env
            .container_id
            .clone()
            .filter(|_| env.status == EnvironmentStatus::Running)
        else {
            return Ok(0);
        };
        let container = ContainerId(container);
        let mut installed = 0;
        for record in self.store().list_environment_extensions(env_id).await? {
            if record.status == ExtensionStatus::Pending
                && self.install_one(&container, &record).await?
            {
                installed += 1;
            }
        }
        Ok(installed)
    }

    /// Moves one pending or failed installation to installing, runs the installer and records
    /// the outcome. Returns whether it got installed; losing the race to another installer is
    /// not an error.
    async fn install_one(
        &self,
        container: &ContainerId,
        record: &EnvironmentExtension,
    ) -> Result<bool> {
        let installing = match self
            .set_extension_status(record, ExtensionStatus::Installing, None)
            .await
        {
            Ok(r) => r,
            Err(Error::StaleVersion { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let catalog = self.store().get_extension(record.extension_id).await?;
        match self.run_install(container, &catalog).await {
            Ok(()) => {
                self.set_extension_status(&installing, ExtensionStatus::Installed, None)
                    .await?;
                Ok(true)
            }
            Err(message) => {
                self.set_extension_status(&installing, ExtensionStatus::Failed, Some(message))
                    .await?;
                Ok(false)
            }
        }
    }

    async fn run_install(
        &self,
        container: &ContainerId,
        ext: &Extension,
    ) -> std::result::Result<(), String> {
        let mut cmd = self.config().extension_install_command.clone();
        let program = cmd.first().cloned().unwrap_or_default();
        let mut env = Vec::new();
        match (&ext.download_url, ext.is_custom) {
            (Some(url), true) => {
                // Download with whatever the image has into a fresh directory (busybox's
                // mktemp takes no suffix after the X's, and the installer wants a `.vsix`
                // name), install the file, and remove it either way. The URL goes through
                // the environment, never through the shell's parser.
                let installer = cmd.join(" ");
                cmd = vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    format!(
                        "set -e; d=$(mktemp -d /tmp/vibebox-ext-XXXXXX); trap 'rm -rf \"$d\"' EXIT; \
                         f=\"$d/extension.vsix\"; \
                         if command -v curl >/dev/null 2>&1; then curl -fsSL \"$VIBEBOX_EXT_URL\" -o \"$f\"; \
                         elif command -v wget >/dev/null 2>&1; then wget -q -O \"$f\" \"$VIBEBOX_EXT_URL\"; \
                         else echo \"{NO_DOWNLOADER}\" >&2; exit 1; fi; \
                         {installer} \"$f\""
                    ),
                ];
                env.push(("VIBEBOX_EXT_URL".to_string(), url.clone()));
            }
            _ => cmd.push(format!("{}@{}", ext.extension_id, ext.version)),
        }
        let spec = ExecSpec {
            cmd,
            env,
            user: self.config().container_user.clone(),
            ..Default::default()
        };
        match self.run_to_end(container, &spec).await {
            Ok((0, _)) => Ok(()),
            Ok((code, out)) if installer_missing(code, &out) => Err(format!(
                "the extension installer {program} is not present in this environment's image"
            )),
            Ok((code, out)) => {
                let detail: String = out
                    .trim()
                    .chars()
                    .rev()
                    .take(ERROR_MAX)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect();
                Err(format!("installation failed (exit code {code}): {detail}"))
            }
            Err(e) => Err(format!("installation failed: {}", e.report_new())),
        }
    }
}
