//! `vibebox project list|create|show|rm`.

use vibebox_client::NewProject;
use vibebox_core::domain::{Project, ProjectOwner};

use super::list_all;
use crate::cli::ProjectCommand;
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::resolve;

/// Runs a project command.
pub async fn run(ctx: &Context, command: ProjectCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        ProjectCommand::List(list) => {
            let projects = list_all(list, |page| client.list_projects(page)).await?;
            ctx.out.print(&projects, |out| {
                let rows = projects
                    .iter()
                    .map(|p| {
                        vec![
                            p.slug.clone(),
                            p.name.clone(),
                            owner(&p.owner),
                            p.id.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["slug", "name", "owner", "id"], &rows)
            })?;
        }
        ProjectCommand::Create { slug, name, team } => {
            let team_id = match team {
                Some(team) => Some(resolve::team(client, &team).await?.id),
                None => None,
            };
            let new = NewProject {
                name: name.unwrap_or_else(|| slug.clone()),
                slug,
                team_id,
            };
            let project = client.create_project(&new).await?;
            show(ctx, &project)?;
        }
        ProjectCommand::Show { project } => {
            let project = resolve::project(client, &project).await?;
            show(ctx, &project)?;
        }
        ProjectCommand::Rm { project } => {
            let project = resolve::project(client, &project).await?;
            client.delete_project(project.id).await?;
            eprintln!("Deleted project {}.", project.slug);
        }
    }
    Ok(0)
}

/// `you` or `team <id>`.
fn owner(owner: &ProjectOwner) -> String {
    match owner {
        ProjectOwner::User(_) => "you".into(),
        ProjectOwner::Team(team) => format!("team {team}"),
    }
}

fn show(ctx: &Context, project: &Project) -> Result<(), CliError> {
    ctx.out.print(project, |out| {
        out.fields(&[
            ("slug", project.slug.clone()),
            ("name", project.name.clone()),
            ("id", project.id.to_string()),
            ("owner", owner(&project.owner)),
            ("created", when(Some(project.created_at))),
        ])
    })
}
