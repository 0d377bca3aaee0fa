//! Logins decided by core's rule (`ServiceGatekeeper`, the gateway the server runs): keys
//! registered with the service, roles, disabled users, removed keys, throttling, and what a
//! stranger can learn. Each test makes its own users on the shared stack.

use std::time::{Duration, Instant};

use vibebox::domain::{Environment, Project, Role};
use vibebox::rbac::Actor;
use vibebox::service::{NewProject, NewTeam};
use vibebox::store::PageRequest;

use crate::support::{
    Client, Fixture, PROMPTLY, THROTTLE_BACKOFF, hold_open, run_bounded, show, stderr, stdout,
    verbose, with_fixture,
};

/// What OpenSSH prints for every refused login.
const DENIED: &str = "Permission denied (publickey)";

/// A new user with a personal project `<name>-p` and its running environment `dev`.
async fn user_with_running_env(f: &Fixture, name: &str) -> (Actor, Project, Environment) {
    let actor = f.d.user(name).await;
    let project = f.d.project(&actor, &format!("{name}-p")).await;
    let env = f.d.env(&actor, &project, "dev").await;
    let env = f.d.vb.start_environment(&actor, env.id).await.unwrap();
    (actor, project, env)
}

/// Runs `ssh … -- true` and asserts OpenSSH's refusal.
async fn assert_refused(client: &Client) -> std::process::Output {
    let out = run_bounded(verbose(client, &["--", "true"])).await;
    assert_eq!(out.status.code(), Some(255), "{}", show(&out));
    assert!(stderr(&out).contains(DENIED), "{}", show(&out));
    out
}

async fn audit_count(f: &Fixture, action: &str, resource_id: &str) -> usize {
    f.d.vb
        .unchecked()
        .store()
        .list_audit(&Default::default(), &PageRequest::first(500))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.action == action && e.resource_id == resource_id)
        .count()
}

#[test]
fn a_registered_key_opens_its_environment_by_slugs_and_by_id_and_is_audited() {
    with_fixture(|f| async move {
        let (actor, project, env) = user_with_running_env(&f, "keyowner").await;
        let by_slugs = f.registered(&actor, &format!("{}.dev", project.slug)).await;
        let out = by_slugs.run("echo by-slugs").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "by-slugs\n");
        let by_id = f.registered(&actor, &env.id.to_string()).await;
        let out = by_id.run("echo by-id").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "by-id\n");
        assert_eq!(
            audit_count(&f, "environment.ssh_login", &env.id.to_string()).await,
            2
        );
        let keys =
            f.d.vb
                .list_ssh_keys(&actor, &PageRequest::first(10))
                .await
                .unwrap()
                .items;
        assert_eq!(keys.len(), 2);
        assert!(
            keys.iter().all(|k| k.last_used_at.is_some()),
            "each key records its last use: {keys:?}"
        );
    });
}

#[test]
fn a_team_viewer_is_refused_and_a_team_developer_is_let_in() {
    with_fixture(|f| async move {
        let admin = f.d.user("teamadmin").await;
        let developer = f.d.user("teamdev").await;
        let viewer = f.d.user("teamviewer").await;
        let team =
            f.d.vb
                .create_team(
                    &admin,
                    NewTeam {
                        name: "SSH team".into(),
                        slug: "ssh-team".into(),
                        description: None,
                    },
                )
                .await
                .unwrap();
        for (email, role) in [
            ("teamdev@example.com", Role::Developer),
            ("teamviewer@example.com", Role::Viewer),
        ] {
            f.d.vb
                .add_member(&admin, team.id, email, role)
                .await
                .unwrap();
        }
        let project =
            f.d.vb
                .create_project(
                    &admin,
                    NewProject {
                        name: "shared".into(),
                        slug: "shared".into(),
                        team_id: Some(team.id),
                    },
                )
                .await
                .unwrap();
        let env = f.d.env(&developer, &project, "devbox").await;
        f.d.vb.start_environment(&developer, env.id).await.unwrap();
        let username = "shared.devbox";

        let dev = f.registered(&developer, username).await;
        let out = dev.run("whoami >/dev/null && echo developer-in").await;
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(stdout(&out), "developer-in\n");

        let view = f.registered(&viewer, username).await;
        assert_refused(&view).await;

        let adm = f.registered(&admin, username).await;
        let out = adm.run("echo admin-in").await;
        assert_eq!(stdout(&out), "admin-in\n", "{}", show(&out));
    });
}

#[test]
fn a_stranger_cannot_tell_whether_an_environment_exists() {
    with_fixture(|f| async move {
        let (_owner, project, env) = user_with_running_env(&f, "private").await;
        let stranger = f.d.user("outsider").await;
        let names = [
            format!("{}.dev", project.slug),
            env.id.to_string(),
            format!("{}.nope", project.slug),
            "nope.nope".to_string(),
            uuid::Uuid::new_v4().to_string(),
        ];
        let mut answers = Vec::new();
        for name in &names {
            let client = f.registered(&stranger, name).await;
            let started = Instant::now();
            let out = assert_refused(&client).await;
            // Every refusal waits out the same rejection time (1 s by default), whatever
            // the reason.
            assert!(
                started.elapsed() >= Duration::from_secs(1),
                "{name}: refused after {:?}",
                started.elapsed()
            );
            answers.push((out.status.code(), stderr(&out).replace(name, "NAME")));
        }
        // An unregistered key gets the same answer too.
        let unknown = f.stranger().await.with_user(&names[0]);
        let mut unknown = unknown;
        unknown.port = f.service_port;
        let out = assert_refused(&unknown).await;
        answers.push((out.status.code(), stderr(&out).replace(&names[0], "NAME")));
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "every refusal reads the same: {answers:#?}"
        );
    });
}

#[test]
fn a_disabled_user_loses_open_connections_and_cannot_log_in() {
    with_fixture(|f| async move {
        let (actor, project, env) = user_with_running_env(&f, "tobedisabled").await;
        let client = f.registered(&actor, &format!("{}.dev", project.slug)).await;
        let held = hold_open(&f, &client, &env, 3041).await;
        let Actor::User(user) = &actor else {
            panic!("a registered user acts as a user")
        };
        let disabled = Instant::now();
        // The fixture's first user is platform admin.
        f.d.vb
            .set_user_disabled(&f.actor, user.id, true)
            .await
            .unwrap();
        let out = tokio::time::timeout(PROMPTLY, held.wait_with_output())
            .await
            .expect("the connection was closed")
            .unwrap();
        assert!(
            disabled.elapsed() < Duration::from_secs(10),
            "{:?}",
            disabled.elapsed()
        );
        assert_eq!(out.status.code(), Some(255), "{}", show(&out));
        assert!(
            stderr(&out).contains("access was revoked"),
            "{}",
            show(&out)
        );
        assert_refused(&client).await;
    });
}

#[test]
fn removing_a_key_ends_its_connections_within_seconds() {
    with_fixture(|f| async move {
        let (actor, project, env) = user_with_running_env(&f, "keyremover").await;
        let client = f.registered(&actor, &format!("{}.dev", project.slug)).await;
        let held = hold_open(&f, &client, &env, 3043).await;
        let key =
            f.d.vb
                .list_ssh_keys(&actor, &PageRequest::first(10))
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|k| k.fingerprint == client.fingerprint)
                .expect("the key is registered");
        let removed = Instant::now();
        f.d.vb.remove_ssh_key(&actor, key.id).await.unwrap();
        let out = tokio::time::timeout(PROMPTLY, held.wait_with_output())
            .await
            .expect("the connection was closed")
            .unwrap();
        assert!(
            removed.elapsed() < Duration::from_secs(10),
            "{:?}",
            removed.elapsed()
        );
        assert!(
            stderr(&out).contains("access was revoked"),
            "{}",
            show(&out)
        );
        assert_refused(&client).await;
    });
}

#[test]
fn a_key_that_keeps_failing_is_throttled_then_let_in_again() {
    with_fixture(|f| async move {
        let (actor, project, env) = user_with_running_env(&f, "hammer").await;
        let right = format!("{}.dev", project.slug);
        let client = f.registered(&actor, "nope.nope").await;
        // Five failures are free; the sixth blocks this key from this address for
        // THROTTLE_BACKOFF, which outlasts the next attempt's connection.
        for _ in 0..6 {
            assert_refused(&client).await;
        }
        let client = client.with_user(&right);
        let throttled_at = Instant::now();
        assert_refused(&client).await;
        let logins = audit_count(&f, "environment.ssh_login", &env.id.to_string()).await;
        assert_eq!(logins, 0, "the right name was refused while throttled");
        // Once the backoff has passed, the right name works again.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = client.run("echo let-in").await;
            if out.status.success() {
                assert_eq!(stdout(&out), "let-in\n");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "never let in again: {}",
                show(&out)
            );
        }
        assert!(
            throttled_at.elapsed() >= THROTTLE_BACKOFF - Duration::from_secs(2),
            "let in before the backoff ended"
        );
    });
}
