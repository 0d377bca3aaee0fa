//! Teams, projects and environments through the CLI, on the real engine.

use crate::common::Cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_goes_from_create_to_running_to_gone() {
    let cli = Cli::signed_in("lee").await;
    cli.run(&["project", "create", "web"]).await.ok();
    let created = cli
        .run_with_stdin(
            &[
                "env",
                "create",
                "web/dev",
                "--image",
                crate::harness::BASE_IMAGE,
                "--cpu",
                "1",
                "--memory",
                "512M",
                "--port",
                "8000",
                "--var",
                "GREETING=hello",
                "--secret",
                "TOKEN",
                "--json",
            ],
            "s3cret-value\n",
        )
        .await;
    let env: serde_json::Value = serde_json::from_str(created.ok()).unwrap();
    assert_eq!(env["status"], "stopped");
    assert_eq!(env["memory_limit"], 512);

    let started = cli.run(&["env", "start", "web/dev"]).await;
    assert!(started.ok().contains("running"), "{started:?}");
    let listed = cli.run(&["env", "list"]).await;
    let row = listed
        .ok()
        .lines()
        .find(|l| l.starts_with("web/dev"))
        .unwrap_or_else(|| panic!("no row for web/dev: {}", listed.stdout));
    assert!(row.contains("running"), "{row}");

    // The variables reached the container; the secret is masked in listings.
    let echoed = cli
        .run(&["exec", "web/dev", "--", "sh", "-c", "echo $GREETING-$TOKEN"])
        .await;
    assert_eq!(echoed.ok().trim(), "hello-s3cret-value");
    let vars = cli.run(&["vars", "list", "web/dev"]).await;
    assert!(vars.ok().contains("GREETING"), "{vars:?}");
    assert!(!vars.stdout.contains("s3cret-value"), "{}", vars.stdout);
    let ports = cli.run(&["ports", "list", "web/dev", "--json"]).await;
    let ports: serde_json::Value = serde_json::from_str(ports.ok()).unwrap();
    assert_eq!(ports[0]["container_port"], 8000);

    let stopped = cli.run(&["env", "stop", "web/dev"]).await;
    assert!(stopped.ok().contains("stopped"), "{stopped:?}");
    cli.run(&["env", "rm", "web/dev"]).await.ok();
    let gone = cli.run(&["env", "show", "web/dev"]).await;
    assert_eq!(gone.code, 4, "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_exits_non_zero_with_the_servers_reason() {
    let cli = Cli::signed_in("max").await;
    cli.run(&["project", "create", "web"]).await.ok();
    cli.run(&[
        "env",
        "create",
        "web/bad",
        "--image",
        "vibebox/no-such-image:latest",
    ])
    .await
    .ok();
    let run = cli.run(&["env", "start", "web/bad"]).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("no-such-image"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_projects_are_shared_with_members_by_role() {
    let owner = Cli::signed_in("nia").await;
    owner.run(&["team", "create", "acme"]).await.ok();
    owner.d.user("olly").await;
    owner
        .run(&[
            "team",
            "add-member",
            "acme",
            "olly@example.com",
            "--role",
            "viewer",
        ])
        .await
        .ok();
    owner
        .run(&["project", "create", "shop", "--team", "acme"])
        .await
        .ok();
    let members = owner.run(&["team", "members", "acme", "--json"]).await;
    let members: serde_json::Value = serde_json::from_str(members.ok()).unwrap();
    assert_eq!(members.as_array().unwrap().len(), 2);
    let projects = owner.run(&["project", "list"]).await;
    assert!(projects.ok().contains("shop"), "{projects:?}");
    let teams = owner.run(&["team", "list", "--json"]).await;
    let teams: serde_json::Value = serde_json::from_str(teams.ok()).unwrap();
    assert_eq!(teams[0]["slug"], "acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_printed_for_each_shell() {
    let cli = Cli::new("pat").await;
    for shell in ["bash", "zsh", "fish"] {
        let run = cli.run(&["completion", shell]).await;
        assert!(run.ok().contains("port-forward"), "{shell}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_ports_sessions_extensions_and_audit_work_from_the_cli() {
    let cli = Cli::signed_in("quy").await;
    cli.run(&["project", "create", "web"]).await.ok();
    cli.run(&[
        "env",
        "create",
        "web/dev",
        "--image",
        crate::harness::BASE_IMAGE,
    ])
    .await
    .ok();

    cli.run(&["vars", "set", "web/dev", "A=1", "B=two"])
        .await
        .ok();
    cli.run_with_stdin(
        &["vars", "secret", "web/dev", "API_TOKEN"],
        "hidden-value\n",
    )
    .await
    .ok();
    cli.run(&["vars", "rm", "web/dev", "A"]).await.ok();
    let vars = cli.run(&["vars", "list", "web/dev", "--json"]).await;
    let vars: serde_json::Value = serde_json::from_str(vars.ok()).unwrap();
    let keys: Vec<&str> = vars
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 2, "{vars}");
    assert!(keys.contains(&"B") && keys.contains(&"API_TOKEN"), "{vars}");
    assert!(!vars.to_string().contains("hidden-value"), "{vars}");

    cli.run(&["ports", "add", "web/dev", "3000", "--share", "team"])
        .await
        .ok();
    cli.run(&["ports", "share", "web/dev", "3000", "public"])
        .await
        .ok();
    let ports = cli.run(&["ports", "list", "web/dev", "--json"]).await;
    let ports: serde_json::Value = serde_json::from_str(ports.ok()).unwrap();
    assert_eq!(ports[0]["share_level"], "public", "{ports}");
    cli.run(&["ports", "rm", "web/dev", "3000"]).await.ok();
    let ports = cli.run(&["ports", "list", "web/dev", "--json"]).await;
    assert_eq!(ports.ok().trim(), "[]");

    cli.run(&["env", "start", "web/dev"]).await.ok();
    let created = cli
        .run(&[
            "sessions", "create", "web/dev", "--kind", "tmux", "--name", "build", "--json",
        ])
        .await;
    let session: serde_json::Value = serde_json::from_str(created.ok()).unwrap();
    let listed = cli.run(&["sessions", "list", "web/dev"]).await;
    assert!(listed.ok().contains("build"), "{listed:?}");
    cli.run(&["sessions", "rm", session["id"].as_str().unwrap()])
        .await
        .ok();
    let live = cli.run(&["sessions", "list", "web/dev", "--json"]).await;
    let live: serde_json::Value = serde_json::from_str(live.ok()).unwrap();
    assert!(
        live.as_array()
            .unwrap()
            .iter()
            .all(|s| s["session_name"] != "build"),
        "{live}"
    );

    let catalog = cli.run(&["extensions", "list", "--json"]).await;
    assert!(
        serde_json::from_str::<serde_json::Value>(catalog.ok())
            .unwrap()
            .is_array()
    );
    let installs = cli
        .run(&["extensions", "list", "--env", "web/dev", "--json"])
        .await;
    assert!(
        serde_json::from_str::<serde_json::Value>(installs.ok())
            .unwrap()
            .is_array()
    );

    let audit = cli.run(&["audit", "--json"]).await;
    let audit: serde_json::Value = serde_json::from_str(audit.ok()).unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.iter().any(|a| a.contains("start")),
        "the start is in the audit log: {actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_environment_is_resumed_by_exec() {
    let cli = Cli::signed_in("sue").await;
    let env = cli.running_env("nap").await;
    let out = cli.run(&["env", "suspend", &env]).await;
    assert_eq!(out.ok().trim(), format!("{env} is suspended."));
    let shown = cli.run(&["env", "show", &env, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_str(shown.ok()).unwrap();
    assert_eq!(shown["status"], "suspended");
    // Any use wakes it: exec answers, and the environment runs again.
    let out = cli.run(&["exec", &env, "--", "echo", "awake"]).await;
    assert_eq!(out.ok(), "awake\n");
    let shown = cli.run(&["env", "show", &env, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_str(shown.ok()).unwrap();
    assert_eq!(shown["status"], "running");
    // Suspend and resume explicitly.
    cli.run(&["env", "suspend", &env]).await.ok();
    let out = cli.run(&["env", "resume", &env]).await;
    assert_eq!(out.ok().trim(), format!("{env} is running."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_policy_is_shown_and_set_half_at_a_time() {
    let cli = Cli::signed_in("ida").await;
    let env = cli.running_env("idle").await;
    let out = cli.run(&["env", "idle", &env]).await;
    let shown = out.ok();
    assert!(shown.contains("after 15 min idle"), "{shown}");
    assert!(shown.contains("after 24 h suspended"), "{shown}");
    let out = cli
        .run(&["env", "idle", &env, "--suspend-after", "2h", "--json"])
        .await;
    let policy: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(
        policy,
        serde_json::json!({"suspend_after_minutes": 120, "stop_after_hours": 24}),
        "the other half is kept"
    );
    let out = cli
        .run(&["env", "idle", &env, "--stop-after", "never"])
        .await;
    assert!(out.ok().contains("never"), "{}", out.ok());
    // A bad value names its flag, and nothing changes.
    let out = cli
        .run(&["env", "idle", &env, "--suspend-after", "30s"])
        .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--suspend-after"), "{}", out.stderr);
    let shown = cli.run(&["env", "show", &env, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_str(shown.ok()).unwrap();
    assert_eq!(
        shown["idle_policy"],
        serde_json::json!({"suspend_after_minutes": 120, "stop_after_hours": null})
    );
}
