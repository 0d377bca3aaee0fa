//! `vibebox audit [--team TEAM]`: who did what, newest first.

use crate::cli::AuditArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::resolve;

use super::list_all;

/// Prints the audit log.
pub async fn run(ctx: &Context, args: AuditArgs) -> Result<u8, CliError> {
    let client = &ctx.client;
    let list = crate::cli::ListArgs {
        limit: args.list.limit.or(Some(50)),
    };
    let events = match args.team {
        Some(team) => {
            let team = resolve::team(client, &team).await?;
            list_all(list, |page| client.list_team_audit(team.id, page)).await?
        }
        None => list_all(list, |page| client.list_audit(page)).await?,
    };
    ctx.out.print(&events, |out| {
        let rows = events
            .iter()
            .map(|e| {
                vec![
                    when(Some(e.at)),
                    e.action.clone(),
                    format!("{} {}", e.resource_type, e.resource_id),
                    e.ip.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>();
        out.table(&["time", "action", "resource", "from"], &rows)
    })?;
    Ok(0)
}
