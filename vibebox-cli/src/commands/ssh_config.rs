//! `vibebox ssh-config [--project P]`: an OpenSSH config with one `Host <project>.<env>` block
//! per environment you can see, so plain `ssh web.dev` (and scp, sftp, rsync, VS Code's
//! Remote-SSH) reach them through the gateway. The gateway's host keys are pinned at the same
//! time, in the `known_hosts` file the blocks name.

use serde::Serialize;
use vibebox_client::{PageRequest, SshGateway, collect_all};
use vibebox_core::domain::{Environment, Project};
use vibebox_core::id::EnvironmentId;

use crate::cli::SshConfigArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::gateway::{self, Gateway};
use crate::output::print_json;
use crate::resolve;

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct SshConfig<'a> {
    /// The VibeBox server.
    server: &'a str,
    /// What `GET /ssh` answered.
    gateway: &'a SshGateway,
    /// The name the host keys are filed under.
    host_key_alias: &'a str,
    /// The file that holds them.
    known_hosts: String,
    /// One per environment.
    hosts: Vec<HostBlock>,
}

/// One `Host` block.
#[derive(Debug, Serialize)]
struct HostBlock {
    /// The name to give `ssh` (`Host`): the SSH username.
    host: String,
    /// Where to connect.
    hostname: String,
    /// The gateway's port.
    port: u16,
    /// The SSH username: `<project>.<env>`, or the environment's id.
    user: String,
    /// `PROJECT/ENV`.
    environment: String,
    /// The environment's id.
    environment_id: EnvironmentId,
}

/// Prints the config (or `--json`) and says on stderr how to use it.
pub async fn run(ctx: &Context, args: SshConfigArgs) -> Result<u8, CliError> {
    let gateway = gateway::pin(ctx).await?;
    let projects = collect_all(|page| ctx.client.list_projects(page)).await?;
    let project_id = match &args.project {
        Some(project) => Some(resolve::project(&ctx.client, project).await?.id),
        None => None,
    };
    let envs = collect_all(|page| ctx.client.list_environments(project_id, page)).await?;
    let hosts = envs
        .iter()
        .map(|env| block(&gateway, &projects, env))
        .collect::<Vec<_>>();
    if ctx.out.json {
        return print_json(&SshConfig {
            server: &ctx.server,
            gateway: &gateway.reported,
            host_key_alias: &gateway.alias,
            known_hosts: gateway.known_hosts.display().to_string(),
            hosts,
        })
        .map(|()| 0);
    }
    print!("{}", render(&ctx.server, &gateway, &hosts)?);
    let keys = ctx.client.ssh_keys(PageRequest::first(1)).await?;
    eprintln!(
        "Pinned the gateway's host key in {}.\n\
         Use these hosts with `vibebox ssh-config >> ~/.ssh/config`, or keep them apart and \
         fresh: `vibebox ssh-config > ~/.ssh/vibebox.conf` with `Include vibebox.conf` at the \
         top of ~/.ssh/config. Then: ssh {}",
        gateway.known_hosts.display(),
        hosts.first().map_or("PROJECT.ENV", |h| h.host.as_str()),
    );
    if keys.items.is_empty() {
        eprintln!(
            "You have no SSH key registered yet: `vibebox ssh-key add ~/.ssh/id_ed25519.pub`."
        );
    }
    Ok(0)
}

fn block(gateway: &Gateway, projects: &[Project], env: &Environment) -> HostBlock {
    let user = gateway::username(projects, env);
    let project = projects
        .iter()
        .find(|p| p.id == env.project_id)
        .map_or_else(|| env.project_id.to_string(), |p| p.slug.clone());
    HostBlock {
        host: user.clone(),
        hostname: gateway.host.clone(),
        port: gateway.port,
        user,
        environment: format!("{project}/{}", env.slug),
        environment_id: env.id,
    }
}

/// The config text: a header, then one block per host.
fn render(server: &str, gateway: &Gateway, hosts: &[HostBlock]) -> Result<String, CliError> {
    let known_hosts = gateway::config_value(&gateway.known_hosts.display().to_string())?;
    let mut text = format!(
        "# VibeBox {server}: its environments through the SSH gateway (`vibebox ssh-config`).\n"
    );
    for host in hosts {
        text.push('\n');
        if host.host != host.environment.replace('/', ".") {
            text.push_str(&format!("# {}\n", host.environment));
        }
        text.push_str(&format!(
            "Host {name}\n    HostName {hostname}\n    Port {port}\n    User {name}\n    \
             HostKeyAlias {alias}\n    UserKnownHostsFile {known_hosts}\n    \
             StrictHostKeyChecking yes\n",
            name = host.host,
            hostname = host.hostname,
            port = host.port,
            alias = gateway.alias,
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn each_environment_is_a_host_block_pinned_to_the_gateways_key() -> Result<(), CliError> {
        let gateway = Gateway {
            host: "127.0.0.1".into(),
            port: 2222,
            alias: "vibebox-127.0.0.1-2222".into(),
            known_hosts: PathBuf::from("/c/known_hosts"),
            reported: SshGateway {
                host: None,
                port: 2222,
                host_keys: Vec::new(),
            },
        };
        let id = EnvironmentId::new();
        let hosts = [
            HostBlock {
                host: "web.dev".into(),
                hostname: "127.0.0.1".into(),
                port: 2222,
                user: "web.dev".into(),
                environment: "web/dev".into(),
                environment_id: id,
            },
            HostBlock {
                host: id.to_string(),
                hostname: "127.0.0.1".into(),
                port: 2222,
                user: id.to_string(),
                environment: "api/dev".into(),
                environment_id: id,
            },
        ];
        let text = render("http://127.0.0.1:3000", &gateway, &hosts)?;
        assert!(
            text.contains(
                "\nHost web.dev\n    HostName 127.0.0.1\n    Port 2222\n    User web.dev\n    \
                 HostKeyAlias vibebox-127.0.0.1-2222\n    UserKnownHostsFile /c/known_hosts\n    \
                 StrictHostKeyChecking yes\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("\n# api/dev\nHost {id}\n")),
            "{text}"
        );
        Ok(())
    }
}
