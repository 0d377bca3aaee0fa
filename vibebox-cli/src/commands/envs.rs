//! `vibebox env list|create|show|rm|start|stop|restart|suspend|resume|idle`.

use std::collections::HashMap;

use secrecy::SecretString;
use vibebox_client::{EnvironmentPatch, NewEnvironment, NewPort, collect_all};
use vibebox_core::domain::{Environment, IdlePolicy, Protocol};
use vibebox_core::id::ProjectId;

use super::lifecycle::{self, Transition};
use super::list_all;
use crate::cli::{EnvCommand, EnvCreateArgs, EnvIdleArgs, LifecycleArgs};
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::{parse, resolve, terminal};

/// The image of `env create` without `--image`.
pub const DEFAULT_IMAGE: &str = "vibebox/base:bookworm";

/// Runs an environment command.
pub async fn run(ctx: &Context, command: EnvCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        EnvCommand::List { project, list } => {
            let project_id = match project {
                Some(project) => Some(resolve::project(client, &project).await?.id),
                None => None,
            };
            let envs = list_all(list, |page| client.list_environments(project_id, page)).await?;
            if ctx.out.json {
                return ctx.out.print(&envs, |_| Ok(())).map(|()| 0);
            }
            let slugs: HashMap<ProjectId, String> = collect_all(|page| client.list_projects(page))
                .await?
                .into_iter()
                .map(|p| (p.id, p.slug))
                .collect();
            let rows = envs
                .iter()
                .map(|e| {
                    let project = slugs
                        .get(&e.project_id)
                        .cloned()
                        .unwrap_or_else(|| e.project_id.to_string());
                    vec![
                        format!("{project}/{}", e.slug),
                        ctx.out.status(e.status.as_str()),
                        e.base_image.clone(),
                        format!("{}", e.cpu_limit),
                        format!("{}M", e.memory_limit),
                        e.id.to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            ctx.out
                .table(&["env", "status", "image", "cpu", "memory", "id"], &rows)?;
        }
        EnvCommand::Create(args) => return create(ctx, args).await,
        EnvCommand::Show { env } => {
            let env = resolve::environment(client, &env).await?;
            show(ctx, &env)?;
        }
        EnvCommand::Rm { env } => {
            let found = resolve::environment(client, &env).await?;
            client.delete_environment(found.id).await?;
            eprintln!("Deleted {env}.");
        }
        EnvCommand::Start(args) => return lifecycle::run(ctx, args, Transition::Start).await,
        EnvCommand::Stop(args) => return lifecycle::run(ctx, args, Transition::Stop).await,
        EnvCommand::Restart(args) => return lifecycle::run(ctx, args, Transition::Restart).await,
        EnvCommand::Suspend(args) => return lifecycle::run(ctx, args, Transition::Suspend).await,
        EnvCommand::Resume(args) => return lifecycle::run(ctx, args, Transition::Resume).await,
        EnvCommand::Idle(args) => return idle(ctx, args).await,
    }
    Ok(0)
}

/// Checks every flag first (nothing is created on bad input), creates the environment, then
/// its ports and variables; secrets are read from stdin or a prompt, one per line.
async fn create(ctx: &Context, args: EnvCreateArgs) -> Result<u8, CliError> {
    let Some((project, slug)) = args.env.split_once('/') else {
        return Err(CliError::usage(
            format!("`{}` is not PROJECT/ENV", args.env),
            "write the project's slug, a slash and the new environment's slug: web/dev",
        ));
    };
    let memory = args
        .memory
        .as_deref()
        .map(|m| parse::megabytes("--memory", m))
        .transpose()?;
    let storage = args
        .storage
        .as_deref()
        .map(|m| parse::megabytes("--storage", m))
        .transpose()?;
    let ports = args
        .ports
        .iter()
        .map(|p| parse::port("--port", p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut vars = Vec::new();
    for pair in &args.vars {
        let (key, value) = parse::pair("--var", pair)?;
        vars.push(super::vars::plain(key, value));
    }
    for key in &args.secrets {
        let value: SecretString = terminal::prompt_secret(&format!("{key}: "))?;
        vars.push(super::vars::secret(key, value));
    }
    let project = resolve::project(&ctx.client, project).await?;
    let mut new = NewEnvironment::new(
        project.id,
        args.name.unwrap_or_else(|| slug.to_owned()),
        slug,
        args.image.unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
    );
    new.cpu_limit = args.cpu;
    new.memory_limit = memory;
    new.storage_limit = storage;
    // Nothing to add before it runs: one call creates and starts it (from the server's warm
    // pool when one matches).
    new.start = args.start && ports.is_empty() && vars.is_empty();
    if new.start {
        let name = format!("{}/{}", project.slug, slug);
        let bar = lifecycle::spinner(ctx.out.json, &format!("Starting {name}"));
        let created = ctx.client.create_environment(&new).await;
        bar.finish_and_clear();
        return lifecycle::settled_or_failed(ctx, &name, &created?);
    }
    let env = ctx.client.create_environment(&new).await?;
    for (port, udp) in ports {
        let mut new = NewPort::tcp(port);
        if udp {
            new.protocol = Some(Protocol::Udp);
        }
        ctx.client.add_port(env.id, &new).await?;
    }
    for var in &vars {
        ctx.client.set_variable(env.id, var).await?;
    }
    if args.start {
        let name = format!("{}/{}", project.slug, env.slug);
        return lifecycle::run(
            ctx,
            LifecycleArgs {
                env: name,
                no_wait: false,
                force: false,
            },
            Transition::Start,
        )
        .await;
    }
    show(ctx, &env)?;
    Ok(0)
}

/// Shows the idle policy, or sets the halves given (flags are checked before anything is
/// read or written).
async fn idle(ctx: &Context, args: EnvIdleArgs) -> Result<u8, CliError> {
    let suspend = args
        .suspend_after
        .as_deref()
        .map(|t| parse::idle_limit("--suspend-after", t, 60))
        .transpose()?;
    let stop = args
        .stop_after
        .as_deref()
        .map(|t| parse::idle_limit("--stop-after", t, 3_600))
        .transpose()?;
    let mut env = resolve::environment(&ctx.client, &args.env).await?;
    if suspend.is_some() || stop.is_some() {
        let policy = IdlePolicy {
            suspend_after_minutes: suspend.unwrap_or(env.idle_policy.suspend_after_minutes),
            stop_after_hours: stop.unwrap_or(env.idle_policy.stop_after_hours),
        };
        let patch = EnvironmentPatch {
            idle_policy: Some(policy),
            expected_version: Some(env.version),
            ..Default::default()
        };
        env = ctx.client.update_environment(env.id, &patch).await?;
    }
    ctx.out.print(&env.idle_policy, |out| {
        out.fields(&[
            ("suspend", suspend_text(&env.idle_policy)),
            ("stop", stop_text(&env.idle_policy)),
        ])
    })?;
    Ok(0)
}

fn suspend_text(policy: &IdlePolicy) -> String {
    match policy.suspend_after_minutes {
        Some(m) if m % 60 == 0 => format!("after {} h idle", m / 60),
        Some(m) => format!("after {m} min idle"),
        None => "never".to_owned(),
    }
}

fn stop_text(policy: &IdlePolicy) -> String {
    match policy.stop_after_hours {
        Some(h) => format!("after {h} h suspended"),
        None => "never".to_owned(),
    }
}

fn show(ctx: &Context, env: &Environment) -> Result<(), CliError> {
    ctx.out.print(env, |out| {
        let mut fields = vec![
            ("slug", env.slug.clone()),
            ("name", env.name.clone()),
            ("id", env.id.to_string()),
            ("status", out.status(env.status.as_str())),
            ("image", env.base_image.clone()),
            ("cpu", env.cpu_limit.to_string()),
            ("memory", format!("{} MB", env.memory_limit)),
            ("storage", format!("{} MB", env.storage_limit)),
            ("suspend", suspend_text(&env.idle_policy)),
            ("stop", stop_text(&env.idle_policy)),
            ("created", when(Some(env.created_at))),
        ];
        if let Some(reason) = &env.error_message {
            fields.push(("error", reason.clone()));
        }
        if env.health.oom_kills > 0 {
            fields.push(("oom kills", env.health.oom_kills.to_string()));
        }
        for warning in &env.health.warnings {
            fields.push(("warning", warning.message.clone()));
        }
        out.fields(&fields)
    })
}
