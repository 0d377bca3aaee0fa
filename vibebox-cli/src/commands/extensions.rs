//! `vibebox extensions list [--env ENV] | install ENV EXT | uninstall ENV EXT`.

use vibebox_client::collect_all;
use vibebox_core::domain::Extension;

use crate::cli::ExtensionsCommand;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::output::when;
use crate::resolve;

/// Runs an extensions command.
pub async fn run(ctx: &Context, command: ExtensionsCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        ExtensionsCommand::List { env: None } => {
            let catalog = collect_all(|page| client.list_extensions(page)).await?;
            ctx.out.print(&catalog, |out| {
                let rows = catalog
                    .iter()
                    .map(|e| vec![e.extension_id.clone(), e.version.clone(), e.name.clone()])
                    .collect::<Vec<_>>();
                out.table(&["extension", "version", "name"], &rows)
            })?;
        }
        ExtensionsCommand::List { env: Some(env) } => {
            let id = resolve::environment_id(client, &env).await?;
            let installs = collect_all(|page| client.list_environment_extensions(id, page)).await?;
            let catalog = collect_all(|page| client.list_extensions(page)).await?;
            ctx.out.print(&installs, |out| {
                let rows = installs
                    .iter()
                    .map(|i| {
                        let name = catalog
                            .iter()
                            .find(|e| e.id == i.extension_id)
                            .map(|e| e.extension_id.clone())
                            .unwrap_or_else(|| i.extension_id.to_string());
                        vec![
                            name,
                            i.status.to_string(),
                            when(i.installed_at),
                            i.error_message.clone().unwrap_or_default(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["extension", "status", "installed", "error"], &rows)
            })?;
        }
        ExtensionsCommand::Install { env, extension } => {
            let id = resolve::environment_id(client, &env).await?;
            let install = client.install_extension(id, &extension).await?;
            ctx.out.print(&install, |_| {
                eprintln!("{extension}: {}.", install.status);
                Ok(())
            })?;
        }
        ExtensionsCommand::Uninstall { env, extension } => {
            let id = resolve::environment_id(client, &env).await?;
            let catalog = collect_all(|page| client.list_extensions(page)).await?;
            let found = find(&catalog, &extension)?;
            client.uninstall_extension(id, found.id).await?;
            eprintln!("Uninstalled {extension}.");
        }
    }
    Ok(0)
}

/// The catalog entry `publisher.name` names.
fn find<'a>(catalog: &'a [Extension], extension: &str) -> Result<&'a Extension, CliError> {
    let bare = extension.split('@').next().unwrap_or(extension);
    catalog
        .iter()
        .find(|e| e.extension_id == bare)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                format!("no extension `{bare}` in the catalog"),
                "`vibebox extensions list` shows it",
            )
        })
}
