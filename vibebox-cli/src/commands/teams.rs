//! `vibebox team list|create|show|rm|members|add-member|remove-member`.

use std::str::FromStr;

use vibebox_client::NewTeam;
use vibebox_core::domain::{Role, Team};
use vibebox_core::id::UserId;

use super::list_all;
use crate::cli::{RoleArg, TeamCommand};
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::resolve;

/// Runs a team command.
pub async fn run(ctx: &Context, command: TeamCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        TeamCommand::List(list) => {
            let teams = list_all(list, |page| client.list_teams(page)).await?;
            ctx.out.print(&teams, |out| {
                let rows = teams.iter().map(row).collect::<Vec<_>>();
                out.table(&["slug", "name", "id", "created"], &rows)
            })?;
        }
        TeamCommand::Create { slug, name } => {
            let new = NewTeam {
                name: name.unwrap_or_else(|| slug.clone()),
                slug,
                description: None,
            };
            let team = client.create_team(&new).await?;
            show(ctx, &team)?;
        }
        TeamCommand::Show { team } => {
            let team = resolve::team(client, &team).await?;
            show(ctx, &team)?;
        }
        TeamCommand::Rm { team } => {
            let team = resolve::team(client, &team).await?;
            client.delete_team(team.id).await?;
            eprintln!("Deleted team {}.", team.slug);
        }
        TeamCommand::Members { team, list } => {
            let team = resolve::team(client, &team).await?;
            let members = list_all(list, |page| client.list_members(team.id, page)).await?;
            ctx.out.print(&members, |out| {
                let rows = members
                    .iter()
                    .map(|m| {
                        vec![
                            m.membership.user_id.to_string(),
                            m.display_name.clone().unwrap_or_default(),
                            m.email.clone().unwrap_or_default(),
                            m.membership.role.to_string(),
                            when(Some(m.membership.joined_at)),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["user", "name", "email", "role", "joined"], &rows)
            })?;
        }
        TeamCommand::AddMember { team, email, role } => {
            let team = resolve::team(client, &team).await?;
            let membership = client.add_member(team.id, &email, role_of(role)).await?;
            ctx.out.print(&membership, |_| {
                eprintln!("{email} is now {} of {}.", membership.role, team.slug);
                Ok(())
            })?;
        }
        TeamCommand::RemoveMember { team, user } => {
            let team = resolve::team(client, &team).await?;
            let user = UserId::from_str(&user).map_err(|_| {
                CliError::usage(
                    format!("`{user}` is not a user id"),
                    format!("`vibebox team members {}` shows them", team.slug),
                )
            })?;
            client.remove_member(team.id, user).await?;
            eprintln!("Removed {user} from {}.", team.slug);
        }
    }
    Ok(0)
}

fn row(team: &Team) -> Vec<String> {
    vec![
        team.slug.clone(),
        team.name.clone(),
        team.id.to_string(),
        when(Some(team.created_at)),
    ]
}

fn show(ctx: &Context, team: &Team) -> Result<(), CliError> {
    ctx.out.print(team, |out| {
        out.fields(&[
            ("slug", team.slug.clone()),
            ("name", team.name.clone()),
            ("id", team.id.to_string()),
            ("description", team.description.clone().unwrap_or_default()),
            ("created", when(Some(team.created_at))),
        ])
    })
}

/// The core role for a `--role` value.
pub fn role_of(role: RoleArg) -> Role {
    match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Developer => Role::Developer,
        RoleArg::Viewer => Role::Viewer,
    }
}
