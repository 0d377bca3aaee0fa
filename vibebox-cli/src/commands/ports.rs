//! `vibebox ports list|add|share|rm ENV …`.

use vibebox_client::{NewPort, collect_all};
use vibebox_core::domain::{EnvironmentPort, Protocol, ShareLevel};
use vibebox_core::id::EnvironmentId;

use crate::cli::{PortsCommand, ShareArg};
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::{parse, resolve};

/// Runs a ports command.
pub async fn run(ctx: &Context, command: PortsCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        PortsCommand::List { env } => {
            let id = resolve::environment_id(client, &env).await?;
            let ports = collect_all(|page| client.list_ports(id, page)).await?;
            ctx.out.print(&ports, |out| {
                let rows = ports
                    .iter()
                    .map(|p| {
                        vec![
                            p.container_port.to_string(),
                            p.protocol.to_string(),
                            p.bound_host_port
                                .map(|h| format!("127.0.0.1:{h}"))
                                .unwrap_or_else(|| "-".into()),
                            p.share_level.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["port", "protocol", "host", "share"], &rows)
            })?;
        }
        PortsCommand::Add { env, port, share } => {
            let (number, udp) = parse::port("PORT", &port)?;
            let id = resolve::environment_id(client, &env).await?;
            let mut new = NewPort::tcp(number);
            if udp {
                new.protocol = Some(Protocol::Udp);
            }
            let mut added = client.add_port(id, &new).await?;
            if let Some(level) = share {
                added = client.update_port(id, added.id, level_of(level)).await?;
            }
            ctx.out.print(&added, |_| {
                eprintln!("Declared port {number}; it is published at the next start.");
                Ok(())
            })?;
        }
        PortsCommand::Share { env, port, level } => {
            let id = resolve::environment_id(client, &env).await?;
            let found = find(ctx, id, port).await?;
            let updated = client.update_port(id, found.id, level_of(level)).await?;
            ctx.out.print(&updated, |_| {
                eprintln!("Port {port} is now shared with: {}.", updated.share_level);
                Ok(())
            })?;
        }
        PortsCommand::Rm { env, port } => {
            let id = resolve::environment_id(client, &env).await?;
            let found = find(ctx, id, port).await?;
            client.remove_port(id, found.id).await?;
            eprintln!("Removed port {port}.");
        }
    }
    Ok(0)
}

/// The declared port `port` of an environment.
async fn find(ctx: &Context, env: EnvironmentId, port: u16) -> Result<EnvironmentPort, CliError> {
    collect_all(|page| ctx.client.list_ports(env, page))
        .await?
        .into_iter()
        .find(|p| p.container_port == port)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                format!("port {port} is not declared"),
                "`vibebox ports add ENV PORT` declares it",
            )
        })
}

fn level_of(level: ShareArg) -> ShareLevel {
    match level {
        ShareArg::Private => ShareLevel::Private,
        ShareArg::Team => ShareLevel::Team,
        ShareArg::Authenticated => ShareLevel::Authenticated,
        ShareArg::Public => ShareLevel::Public,
    }
}
