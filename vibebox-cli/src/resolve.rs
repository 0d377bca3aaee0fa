//! Names people type, turned into ids: `PROJECT/ENV` slugs (or an environment id), project
//! and team slugs (or ids).
//!
//! Project slugs are unique per owner, so a slug that two owners use (your personal `web` and a
//! team's `web`) is ambiguous: the error lists the candidates' ids, which always work.

use std::str::FromStr;

use vibebox_client::{Client, collect_all};
use vibebox_core::domain::{Environment, Project, Team};
use vibebox_core::id::{EnvironmentId, ProjectId, TeamId};

use crate::error::{CliError, Kind};

/// The environment `reference` names: an id, or `PROJECT/ENV`.
pub async fn environment(client: &Client, reference: &str) -> Result<Environment, CliError> {
    if let Ok(id) = EnvironmentId::from_str(reference) {
        return Ok(client.get_environment(id).await?);
    }
    let Some((project, env)) = reference.split_once('/') else {
        return Err(CliError::usage(
            format!("`{reference}` is not an environment: write PROJECT/ENV or its id"),
            "`vibebox env list` shows them",
        ));
    };
    let project = self::project(client, project).await?;
    let envs = collect_all(|page| client.list_environments(Some(project.id), page)).await?;
    envs.into_iter().find(|e| e.slug == env).ok_or_else(|| {
        CliError::new(
            Kind::NotFound,
            format!("no environment `{env}` in project `{}`", project.slug),
            format!("`vibebox env list --project {}` shows them", project.slug),
        )
    })
}

/// The environment's id (see [`environment`]); an id is taken as it is, without a request.
pub async fn environment_id(client: &Client, reference: &str) -> Result<EnvironmentId, CliError> {
    match EnvironmentId::from_str(reference) {
        Ok(id) => Ok(id),
        Err(_) => Ok(environment(client, reference).await?.id),
    }
}

/// The project `reference` names: an id or a slug.
pub async fn project(client: &Client, reference: &str) -> Result<Project, CliError> {
    if let Ok(id) = ProjectId::from_str(reference) {
        return Ok(client.get_project(id).await?);
    }
    let projects = collect_all(|page| client.list_projects(page)).await?;
    let mut matches: Vec<Project> = projects
        .into_iter()
        .filter(|p| p.slug == reference)
        .collect();
    match matches.len() {
        0 => Err(CliError::new(
            Kind::NotFound,
            format!("no project `{reference}`"),
            "`vibebox project list` shows yours",
        )),
        1 => Ok(matches.remove(0)),
        _ => Err(CliError::usage(
            format!(
                "`{reference}` names {} projects: {}",
                matches.len(),
                matches
                    .iter()
                    .map(|p| p.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "use the project's id",
        )),
    }
}

/// The team `reference` names: an id or a slug.
pub async fn team(client: &Client, reference: &str) -> Result<Team, CliError> {
    if let Ok(id) = TeamId::from_str(reference) {
        return Ok(client.get_team(id).await?);
    }
    let teams = collect_all(|page| client.list_teams(page)).await?;
    teams
        .into_iter()
        .find(|t| t.slug == reference)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                format!("no team `{reference}`"),
                "`vibebox team list` shows yours",
            )
        })
}
