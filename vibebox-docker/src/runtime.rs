//! [`DockerRuntime`]: connecting to the engine, and the container lifecycle calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, InspectContainerOptions,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::OnceCell;
use vibebox_core::error::{BoxError, Error, ErrorKind, Result};
use vibebox_core::runtime::{ContainerId, ContainerInfo, ContainerSpec};

use crate::error::{self, server_error};
use crate::exec_registry::ExecRegistry;
use crate::freeze_gates::FreezeGates;
use crate::info::container_info;
use crate::spec::create_body;

/// The engine address used when `DOCKER_HOST` is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How the runtime talks to the engine.
#[derive(Clone, Debug)]
pub struct DockerOptions {
    /// How long a call may wait for the engine's answer (default 120 s). Streams (logs, stats,
    /// events, exec output) are not limited by it; a stop waits its grace period on top.
    pub request_timeout: Duration,
    /// How long pulling an absent image may take before create gives up (default 60 s).
    pub pull_timeout: Duration,
    /// How many containers `list` inspects at once (default 8).
    pub inspect_concurrency: usize,
    /// What to tell the user when an image is absent and cannot be pulled, appended to that
    /// `NotFound` error: typically the command that builds it (default none).
    pub missing_image_hint: Option<String>,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(120),
            pull_timeout: Duration::from_secs(60),
            inspect_concurrency: 8,
            missing_image_hint: None,
        }
    }
}

impl DockerOptions {
    /// Appends `hint` to the error for an image that is absent and cannot be pulled:
    /// "image vibebox/base:bookworm is not present and could not be pulled: …; `hint`".
    pub fn missing_image_hint(mut self, hint: impl Into<String>) -> Self {
        self.missing_image_hint = Some(hint.into());
        self
    }
}

/// A [`ContainerRuntime`](vibebox_core::runtime::ContainerRuntime) on a Docker engine.
///
/// Cheap to clone. The connection is made on first use and the API version negotiated then,
/// so a runtime can be built while the engine is down: calls fail with `Unavailable` ("the
/// Docker engine is not running …") until it answers.
#[derive(Clone)]
pub struct DockerRuntime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    host: String,
    pub(crate) options: DockerOptions,
    client: OnceCell<Docker>,
    /// Whether `storage_opt` works on this engine; lowered for good the first time the engine
    /// refuses it.
    storage_limit: AtomicBool,
    pub(crate) execs: Mutex<ExecRegistry>,
    /// Keeps exec starts and pauses of one container apart.
    pub(crate) freeze_gates: FreezeGates,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime")
            .field("host", &self.inner.host)
            .field("connected", &self.inner.client.initialized())
            .finish_non_exhaustive()
    }
}

impl DockerRuntime {
    /// Connects to the engine at `host` (`unix:///var/run/docker.sock`, a bare socket path,
    /// `tcp://host:2375` or `http://host:2375`), negotiates the API version and checks that it
    /// answers.
    ///
    /// Errors: `Unavailable` when the engine is not running or cannot be reached;
    /// `InvalidInput` (`docker_host`) for an address it cannot use.
    pub async fn connect(host: &str) -> Result<Self> {
        Self::connect_with(host, DockerOptions::default()).await
    }

    /// [`connect`](Self::connect) with options.
    pub async fn connect_with(host: &str, options: DockerOptions) -> Result<Self> {
        let runtime = Self::lazy_with(host, options)?;
        runtime.client().await?;
        Ok(runtime)
    }

    /// Connects to the engine `DOCKER_HOST` names, or the default socket.
    pub async fn from_env() -> Result<Self> {
        Self::connect(&host_from_env()).await
    }

    /// A runtime for `host` that connects on first use. Use it where the engine may be down
    /// at startup (a server that must still answer).
    ///
    /// Errors: `InvalidInput` (`docker_host`) for an address it cannot use.
    pub fn lazy(host: &str) -> Result<Self> {
        Self::lazy_with(host, DockerOptions::default())
    }

    /// [`lazy`](Self::lazy) with options.
    pub fn lazy_with(host: &str, options: DockerOptions) -> Result<Self> {
        let host = normalize_host(host)?;
        Ok(Self {
            inner: Arc::new(Inner {
                host,
                options,
                client: OnceCell::new(),
                storage_limit: AtomicBool::new(false),
                execs: Mutex::new(ExecRegistry::default()),
                freeze_gates: FreezeGates::default(),
            }),
        })
    }

    /// The engine address in use.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The API version negotiated with the engine (`1.41`), once connected.
    pub fn api_version(&self) -> Option<String> {
        self.inner
            .client
            .get()
            .map(|docker| docker.client_version().to_string())
    }

    /// The connected client, connecting and negotiating the API version on first use.
    pub(crate) async fn client(&self) -> Result<Docker> {
        self.inner
            .client
            .get_or_try_init(|| async {
                let docker = Docker::connect_with_host(&self.inner.host)
                    .map_err(error::unavailable)?
                    .with_timeout(self.inner.options.request_timeout);
                let docker = docker
                    .negotiate_version()
                    .await
                    .map_err(error::unavailable)?;
                let info = docker.info().await.map_err(error::unavailable)?;
                let driver = info.driver.unwrap_or_default();
                let backing = info
                    .driver_status
                    .unwrap_or_default()
                    .into_iter()
                    .find(|kv| kv.first().map(String::as_str) == Some("Backing Filesystem"))
                    .and_then(|kv| kv.get(1).cloned())
                    .unwrap_or_default();
                let storage = storage_quota_possible(&driver, &backing);
                self.inner.storage_limit.store(storage, Ordering::Relaxed);
                tracing::info!(
                    host = %self.inner.host,
                    api_version = %docker.client_version(),
                    storage_driver = %driver,
                    storage_limit = storage,
                    "connected to the Docker engine"
                );
                Ok::<_, Error>(docker)
            })
            .await
            .cloned()
    }

    pub(crate) fn storage_limit(&self) -> bool {
        self.inner.storage_limit.load(Ordering::Relaxed)
    }

    pub(crate) async fn ping_engine(&self) -> Result<()> {
        let docker = self.client().await?;
        docker.ping().await.map_err(error::unavailable)?;
        Ok(())
    }

    pub(crate) async fn is_image_present(&self, image: &str) -> Result<bool> {
        let docker = self.client().await?;
        match docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(server_error(&e), Some((404, _))) => Ok(false),
            Err(e) => Err(error::map("image", e)),
        }
    }

    /// Pulls `image`, giving up after the pull timeout. Errors: `NotFound` naming the image.
    async fn pull(&self, docker: &Docker, image: &str) -> Result<()> {
        let (repo, tag) = split_reference(image);
        let options = CreateImageOptionsBuilder::new()
            .from_image(repo)
            .tag(tag)
            .build();
        let pull = docker
            .create_image(Some(options), None, None)
            .try_for_each(|_| async { Ok(()) });
        let reason = match tokio::time::timeout(self.inner.options.pull_timeout, pull).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if error::is_unreachable(&e) => return Err(error::unavailable(e)),
            Ok(Err(e)) => match server_error(&e) {
                Some((_, message)) => message,
                None => e.to_string(),
            },
            Err(_) => format!(
                "the pull did not finish within {} s",
                self.inner.options.pull_timeout.as_secs()
            ),
        };
        Err(self.image_not_found(image, &reason))
    }

    fn image_not_found(&self, image: &str, reason: &str) -> Error {
        image_not_found(
            image,
            reason,
            self.inner.options.missing_image_hint.as_deref(),
        )
    }

    pub(crate) async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        let docker = self.client().await?;
        let mut pulled = false;
        loop {
            let enforce_storage = self.storage_limit();
            let options = CreateContainerOptionsBuilder::new()
                .name(&spec.name)
                .build();
            let body = create_body(spec, enforce_storage);
            let e = match docker.create_container(Some(options), body).await {
                Ok(created) => {
                    for w in created.warnings {
                        tracing::warn!(container = %created.id, warning = %w, "engine warning on create");
                    }
                    return Ok(ContainerId(created.id));
                }
                Err(e) => e,
            };
            match server_error(&e) {
                // "network … not found": the spec's network does not exist.
                Some((404, message)) if message.contains("network") => {
                    return Err(Error::runtime(
                        ErrorKind::NotFound,
                        "the container's network does not exist",
                        Some(error::boxed(e)),
                    ));
                }
                Some((404, _)) if !pulled => {
                    tracing::info!(image = %spec.image, "image absent; pulling it");
                    self.pull(&docker, &spec.image).await?;
                    pulled = true;
                }
                Some((404, message)) => return Err(self.image_not_found(&spec.image, &message)),
                Some((409, _)) => return Err(Error::already_exists("container", "name")),
                Some((_, message)) if enforce_storage && refuses_storage_opt(&message) => {
                    tracing::warn!(
                        reason = %message,
                        "the engine cannot enforce storage limits; creating without one"
                    );
                    self.inner.storage_limit.store(false, Ordering::Relaxed);
                }
                _ => return Err(error::map("container", e)),
            }
        }
    }

    pub(crate) async fn start_container(&self, id: &ContainerId) -> Result<()> {
        let docker = self.client().await?;
        docker
            .start_container(
                id.as_str(),
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| match server_error(&e) {
                // The network it was created on is gone (removed while it was stopped).
                Some((404, message)) if message.contains("network") => Error::runtime(
                    ErrorKind::NotFound,
                    "the container's network is gone",
                    Some(error::boxed(e)),
                ),
                Some((404, _)) => Error::not_found("container"),
                // 409 "cannot start a paused container, try unpause instead".
                Some((409, message)) if message.contains("paused") => {
                    Error::runtime(ErrorKind::Conflict, "the container is paused", Some(error::boxed(e)))
                }
                Some((_, message)) if message.contains("port is already allocated") => {
                    Error::runtime(
                        ErrorKind::Internal,
                        "the container could not start: a host port it publishes is already allocated",
                        Some(error::boxed(e)),
                    )
                }
                Some(_) if !error::is_unreachable(&e) => Error::runtime(
                    ErrorKind::Internal,
                    "the container could not start",
                    Some(error::boxed(e)),
                ),
                _ => error::map("container", e),
            })
    }

    pub(crate) async fn stop_container(&self, id: &ContainerId, grace: Duration) -> Result<()> {
        let docker = self.client().await?;
        let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
        let t = i32::try_from(secs).unwrap_or(i32::MAX);
        // The engine answers after the grace period; give the call that much longer.
        let docker = docker.with_timeout(self.inner.options.request_timeout + grace);
        docker
            .stop_container(
                id.as_str(),
                Some(StopContainerOptionsBuilder::new().t(t).build()),
            )
            .await
            .map_err(|e| error::map("container", e))
    }

    pub(crate) async fn remove_container(&self, id: &ContainerId) -> Result<()> {
        let docker = self.client().await?;
        match docker
            .remove_container(
                id.as_str(),
                Some(
                    RemoveContainerOptionsBuilder::new()
                        .force(true)
                        .v(true)
                        .build(),
                ),
            )
            .await
        {
            Ok(()) => Ok(()),
            // "removal of container … is already in progress": it is going away.
            Err(e) if matches!(server_error(&e), Some((409, m)) if m.contains("already in progress")) => {
                Ok(())
            }
            Err(e) => Err(error::map("container", e)),
        }
    }

    pub(crate) async fn remove_named_volume(&self, name: &str) -> Result<()> {
        let docker = self.client().await?;
        docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(|e| match server_error(&e) {
                Some((409, _)) => Error::runtime(
                    ErrorKind::Conflict,
                    format!("volume {name} is in use"),
                    Some(error::boxed(e)),
                ),
                _ => error::map("volume", e),
            })
    }

    pub(crate) async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo> {
        let docker = self.client().await?;
        inspect_with(&docker, id.as_str()).await
    }

    pub(crate) async fn list_containers(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<ContainerInfo>> {
        let docker = self.client().await?;
        let filters: HashMap<String, Vec<String>> = HashMap::from([(
            "label".to_string(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        )]);
        let summaries = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| error::map("container", e))?;
        let ids: Vec<String> = summaries.into_iter().filter_map(|s| s.id).collect();
        let infos: Vec<Option<ContainerInfo>> = futures::stream::iter(ids)
            .map(|id| {
                let docker = docker.clone();
                async move {
                    match inspect_with(&docker, &id).await {
                        Ok(info) => Ok(Some(info)),
                        // Removed between the list and the inspect.
                        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(self.inner.options.inspect_concurrency.max(1))
            .try_collect()
            .await?;
        Ok(infos.into_iter().flatten().collect())
    }
}

async fn inspect_with(docker: &Docker, id: &str) -> Result<ContainerInfo> {
    docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map(container_info)
        .map_err(|e| error::map("container", e))
}

/// `DOCKER_HOST`, or the default socket.
pub fn host_from_env() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string())
}

fn normalize_host(host: &str) -> Result<String> {
    let host = host.trim();
    if host.starts_with('/') {
        return Ok(format!("unix://{host}"));
    }
    if ["unix://", "tcp://", "http://"]
        .iter()
        .any(|s| host.starts_with(s) && host.len() > s.len())
    {
        return Ok(host.to_string());
    }
    Err(Error::invalid(
        "docker_host",
        "must be unix:///path/to/docker.sock, a socket path, tcp://host:port or http://host:port",
    ))
}

/// Whether the storage driver can take a `size` storage option at all: overlay2 only on XFS
/// (which also needs the `pquota` mount option, found out on the first create), btrfs, zfs
/// and devicemapper. The engine's refusal lowers it for good.
fn storage_quota_possible(driver: &str, backing_filesystem: &str) -> bool {
    match driver {
        "overlay2" => backing_filesystem == "xfs",
        "btrfs" | "zfs" | "devicemapper" | "windowsfilter" => true,
        _ => false,
    }
}

fn refuses_storage_opt(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("storage-opt") || m.contains("storage opt") || m.contains("storageopt")
}

/// Splits `repo[:tag]` (a registry port is not a tag); digests stay in the repo part.
fn split_reference(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

fn image_not_found(image: &str, reason: &str, hint: Option<&str>) -> Error {
    let mut message = format!("image {image} is not present and could not be pulled");
    if let Some(hint) = hint.map(str::trim).filter(|h| !h.is_empty()) {
        message.push_str("; ");
        message.push_str(hint);
    }
    // The engine's reason (a registry's answer, a timeout) is for the operator's log.
    let reason: BoxError = error::engine_reason(reason).to_string().into();
    Error::runtime(ErrorKind::NotFound, message, Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_normalize_or_name_the_field() {
        assert_eq!(
            normalize_host("/run/docker.sock").ok().as_deref(),
            Some("unix:///run/docker.sock")
        );
        assert_eq!(
            normalize_host("tcp://10.0.0.1:2375").ok().as_deref(),
            Some("tcp://10.0.0.1:2375")
        );
        let e = normalize_host("ftp://x")
            .err()
            .map(|e| e.field().map(str::to_string));
        assert_eq!(e, Some(Some("docker_host".to_string())));
        assert!(normalize_host("unix://").is_err());
    }

    #[test]
    fn references_split_into_repo_and_tag() {
        assert_eq!(
            split_reference("vibebox/base:bookworm"),
            ("vibebox/base", "bookworm")
        );
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(
            split_reference("localhost:5000/x"),
            ("localhost:5000/x", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/x:1"),
            ("localhost:5000/x", "1")
        );
    }

    #[test]
    fn a_missing_image_names_it_and_ends_with_the_hint() {
        let plain = image_not_found("vibebox/base:bookworm", " pull access denied ", None);
        assert_eq!(plain.kind(), ErrorKind::NotFound);
        assert_eq!(
            plain.to_string(),
            "image vibebox/base:bookworm is not present and could not be pulled"
        );
        let reason = std::error::Error::source(&plain).map(ToString::to_string);
        assert_eq!(
            reason.as_deref(),
            Some("pull access denied"),
            "the log has the engine's reason"
        );
        let hinted = image_not_found(
            "vibebox/base:bookworm",
            "pull access denied",
            Some("build it with scripts/base-image"),
        );
        assert_eq!(hinted.kind(), ErrorKind::NotFound);
        assert_eq!(
            hinted.to_string(),
            "image vibebox/base:bookworm is not present and could not be pulled; \
             build it with scripts/base-image"
        );
        let options =
            DockerOptions::default().missing_image_hint("build it with scripts/base-image");
        let runtime = DockerRuntime::lazy_with("unix:///nowhere.sock", options);
        let message = runtime
            .map(|r| r.image_not_found("x:1", "gone").to_string())
            .ok();
        assert_eq!(
            message.as_deref(),
            Some(
                "image x:1 is not present and could not be pulled; build it with scripts/base-image"
            )
        );
    }

    #[test]
    fn storage_quota_needs_xfs_under_overlay2() {
        assert!(!storage_quota_possible("overlay2", "extfs"));
        assert!(storage_quota_possible("overlay2", "xfs"));
        assert!(!storage_quota_possible("fuse-overlayfs", ""));
        assert!(refuses_storage_opt(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
        ));
    }
}
