//! Turning an environment into the container spec the runtime creates.

use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::Vibebox;
use crate::domain::{Environment, EnvironmentPort, Project};
use crate::error::Result;
use crate::id::{EnvironmentId, ProjectId};
use crate::runtime::{
    ContainerSpec, LABEL_ENVIRONMENT_ID, LABEL_MANAGED, LABEL_PROJECT_ID, Limits, PortSpec,
    VolumeMount,
};
use crate::secrets::variable_aad;

/// Label carrying a hash of the spec, so a changed spec recreates the container.
pub(crate) const LABEL_SPEC_HASH: &str = "vibebox.spec_hash";

const MB: i64 = 1024 * 1024;

impl Vibebox {
    /// The name of an environment's home volume: the container's name plus `-home`.
    pub(crate) fn home_volume_name(&self, env: EnvironmentId) -> String {
        format!("{}{env}-home", self.config().container_name_prefix)
    }

    /// Removes an environment's home volume, if it has one. Best effort: a volume that is
    /// gone is fine, and a failure is logged (the data stays on the engine, named after the
    /// environment).
    pub(crate) async fn remove_home_volume(&self, env: EnvironmentId) {
        if self.config().home_volume.is_none() {
            return;
        }
        let name = self.home_volume_name(env);
        match self.runtime().remove_volume(&name).await {
            Ok(()) => tracing::debug!(volume = %name, "removed the home volume"),
            Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(volume = %name, error = %e, "could not remove the home volume")
            }
        }
    }

    /// The labels that select this instance's containers: `vibebox.managed=true` plus the
    /// configured extra labels. The reconciler and the event watcher look only at these, so
    /// instances with different labels can share an engine.
    pub(crate) fn managed_labels(&self) -> Vec<(String, String)> {
        let mut labels = vec![(LABEL_MANAGED.to_string(), "true".to_string())];
        labels.extend(
            self.config()
                .container_labels
                .iter()
                .filter(|(k, _)| !k.starts_with("vibebox.managed"))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        labels
    }

    /// Builds the container spec of an environment, decrypting its variables for this call only.
    pub(crate) async fn container_spec(
        &self,
        env: &Environment,
        project: &Project,
        ports: &[EnvironmentPort],
    ) -> Result<ContainerSpec> {
        self.spec_in(env, Some(project.id), ports).await
    }

    /// [`container_spec`](Self::container_spec), for an environment of `project` or, without
    /// one, for a warm pool container made ahead of its environment: no project label, on the
    /// engine's default network.
    pub(crate) async fn spec_in(
        &self,
        env: &Environment,
        project: Option<ProjectId>,
        ports: &[EnvironmentPort],
    ) -> Result<ContainerSpec> {
        let cfg = self.config();
        let variables = self.store().list_variables(env.id).await?;
        let mut hasher = Sha256::new();
        let mut vars = Vec::with_capacity(variables.len());
        for v in &variables {
            hasher.update(v.key.as_bytes());
            hasher.update([0]);
            hasher.update(v.value.as_bytes());
            hasher.update([0]);
            let value = if v.is_encrypted {
                self.secrets()
                    .decrypt(&v.value, &variable_aad(env.id, &v.key))
                    .await?
            } else {
                SecretString::from(v.value.clone())
            };
            vars.push((v.key.clone(), value));
        }
        let limits = Limits {
            nano_cpus: (env.cpu_limit * 1e9).round() as i64,
            memory_bytes: env.memory_limit.saturating_mul(MB),
            pids_limit: cfg.pids_limit,
            storage_bytes: self
                .runtime()
                .capabilities()
                .storage_limit
                .then(|| env.storage_limit.saturating_mul(MB)),
        };
        let port_specs: Vec<PortSpec> = ports
            .iter()
            .map(|p| PortSpec {
                container_port: p.container_port,
                protocol: p.protocol,
                host_ip: cfg.publish_host_ip.clone(),
                host_port: p.host_port,
            })
            .collect();
        let volumes: Vec<VolumeMount> = cfg
            .home_volume
            .iter()
            .map(|target| VolumeMount {
                name: self.home_volume_name(env.id),
                target: target.clone(),
            })
            .collect();
        let network = project.and_then(|p| self.network_attachment(env, p));
        hasher.update(
            format!(
                "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                env.base_image,
                limits,
                port_specs,
                volumes,
                cfg.hardening,
                cfg.container_user,
                cfg.container_command
            )
            .as_bytes(),
        );
        // Only when there is one, so containers made before networks existed keep their hash
        // when the pool is off; with a pool, a container on the default bridge is recreated
        // on the project's network at its next start.
        if let Some(n) = &network {
            hasher.update(format!("|{n:?}").as_bytes());
        }
        let spec_hash: String = hasher
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut labels = cfg.container_labels.clone();
        labels.extend([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_ENVIRONMENT_ID.to_string(), env.id.to_string()),
            (LABEL_SPEC_HASH.to_string(), spec_hash),
        ]);
        if let Some(project) = project {
            labels.insert(LABEL_PROJECT_ID.to_string(), project.to_string());
        }
        Ok(ContainerSpec {
            name: format!("{}{}", cfg.container_name_prefix, env.id),
            image: env.base_image.clone(),
            cmd: cfg.container_command.clone(),
            user: cfg.container_user.clone(),
            hostname: Some(env.slug.clone()),
            env: vars,
            limits,
            ports: port_specs,
            volumes,
            labels,
            hardening: cfg.hardening,
            network,
        })
    }
}
