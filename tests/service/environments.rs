use secrecy::{ExposeSecret, SecretString};
use vibebox_core::ErrorKind;
use vibebox_core::domain::SessionType;
use vibebox_core::domain::{EnvironmentStatus, Protocol, Role};
use vibebox_core::runtime::TerminalSize;
use vibebox_core::service::{EnvironmentPatch, MASKED_VALUE, NewPort, NewSession, NewVariable};
use vibebox_core::store::PageRequest;

use super::harness::{H, new_env};

#[tokio::test]
async fn new_environments_are_stopped_with_the_default_limits() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let project = h.project(&alice, "proj", None).await;
    let mut new = new_env(&project, "dev");
    new.memory_limit = None;
    let env = h.vb.create_environment(&alice, new).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Stopped);
    assert_eq!(
        (env.cpu_limit, env.memory_limit, env.storage_limit),
        (2.0, 4096, 20480)
    );
    assert_eq!(env.creator_id, alice.user_id().unwrap());
}

#[tokio::test]
async fn invalid_environment_input_names_the_field_and_writes_nothing() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let project = h.project(&alice, "proj", None).await;
    type Mutation = Box<dyn Fn(&mut vibebox_core::service::NewEnvironment)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|n| n.cpu_limit = Some(0.0)), "cpu_limit"),
        (Box::new(|n| n.cpu_limit = Some(f64::NAN)), "cpu_limit"),
        (Box::new(|n| n.memory_limit = Some(10)), "memory_limit"),
        (Box::new(|n| n.storage_limit = Some(-1)), "storage_limit"),
        (
            Box::new(|n| n.base_image = "Not/An:Image:".into()),
            "base_image",
        ),
        (Box::new(|n| n.slug = "Bad Slug".into()), "slug"),
        (Box::new(|n| n.name = " ".into()), "name"),
    ];
    for (mutate, field) in cases {
        let mut new = new_env(&project, "dev");
        mutate(&mut new);
        let e = h.vb.create_environment(&alice, new).await.unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (ErrorKind::InvalidInput, Some(field))
        );
    }
    let listed =
        h.vb.list_environments(&alice, Some(project.id), &PageRequest::first(10))
            .await
            .unwrap();
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn environment_slug_is_unique_per_project() {
    let h = H::new().await;
    let (alice, project, _) = h.owner_with_env("alice").await;
    let e =
        h.vb.create_environment(&alice, new_env(&project, "dev"))
            .await
            .unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::AlreadyExists, Some("slug"))
    );
    let other = h.project(&alice, "other", None).await;
    h.vb.create_environment(&alice, new_env(&other, "dev"))
        .await
        .unwrap();
}

#[tokio::test]
async fn update_with_a_stale_version_is_a_conflict() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let updated =
        h.vb.update_environment(
            &alice,
            env.id,
            EnvironmentPatch {
                cpu_limit: Some(1.5),
                expected_version: Some(env.version),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.cpu_limit, 1.5);
    assert_eq!(updated.version, env.version + 1);
    let e =
        h.vb.update_environment(
            &alice,
            env.id,
            EnvironmentPatch {
                cpu_limit: Some(3.0),
                expected_version: Some(env.version),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn lists_show_only_what_the_actor_can_see() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let (bob, _, _) = h.owner_with_env("bob").await;
    let mine =
        h.vb.list_environments(&alice, None, &PageRequest::first(10))
            .await
            .unwrap();
    assert_eq!(mine.items.len(), 1);
    assert_eq!(mine.items[0].id, env.id);
    assert_eq!(
        h.vb.get_environment(&bob, env.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn viewer_is_refused_every_write_but_reads_everything() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let viewer = h.user("viewer").await;
    let team = h.team(&alice, "core", &[("viewer", Role::Viewer)]).await;
    let project = h.project(&alice, "proj", Some(&team)).await;
    let env = h.env(&alice, &project, "dev").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();

    fn denied<T>(r: Result<T, vibebox_core::Error>) {
        assert_eq!(
            r.map(|_| ()).unwrap_err().kind(),
            ErrorKind::PermissionDenied
        )
    }
    denied(h.vb.stop_environment(&viewer, env.id).await);
    denied(h.vb.start_environment(&viewer, env.id).await);
    denied(
        h.vb.update_environment(&viewer, env.id, EnvironmentPatch::default())
            .await,
    );
    denied(h.vb.delete_environment(&viewer, env.id).await);
    denied(
        h.vb.add_port(
            &viewer,
            env.id,
            NewPort {
                container_port: 80,
                host_port: None,
                protocol: None,
            },
        )
        .await,
    );
    denied(
        h.vb.set_variable(
            &viewer,
            env.id,
            NewVariable {
                key: "A".into(),
                value: SecretString::from("b"),
                is_encrypted: false,
            },
        )
        .await,
    );
    denied(
        h.vb.create_session(
            &viewer,
            env.id,
            NewSession {
                session_type: SessionType::Shell,
                session_name: "x".into(),
                idle_timeout_minutes: None,
            },
        )
        .await,
    );
    denied(
        h.vb.install_extension(&viewer, env.id, "ms-python.python")
            .await,
    );
    denied(
        h.vb.open_terminal(&viewer, env.id, "main", TerminalSize { cols: 80, rows: 24 })
            .await,
    );
    denied(
        h.vb.create_environment(&viewer, new_env(&project, "mine"))
            .await,
    );

    h.vb.get_environment(&viewer, env.id).await.unwrap();
    h.vb.list_ports(&viewer, env.id, &PageRequest::first(50))
        .await
        .unwrap();
    h.vb.list_variables(&viewer, env.id, &PageRequest::first(50))
        .await
        .unwrap();
    h.vb.list_sessions(&viewer, env.id, false, &PageRequest::first(50))
        .await
        .unwrap();
    h.vb.list_environment_extensions(&viewer, env.id, &PageRequest::first(50))
        .await
        .unwrap();
    h.vb.query_logs(&viewer, env.id, Default::default(), &PageRequest::first(10))
        .await
        .unwrap();
    h.vb.subscribe(&viewer, env.id).await.unwrap();
    assert_eq!(
        h.vb.get_environment(&alice, env.id).await.unwrap().status,
        EnvironmentStatus::Running,
        "nothing the viewer tried changed the environment"
    );
}

#[tokio::test]
async fn developers_manage_only_their_own_environments_and_admins_any() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let dev1 = h.user("dev1").await;
    let dev2 = h.user("dev2").await;
    let team = h
        .team(
            &alice,
            "core",
            &[("dev1", Role::Developer), ("dev2", Role::Developer)],
        )
        .await;
    let project = h.project(&dev1, "proj", Some(&team)).await;
    let env = h.env(&dev1, &project, "dev").await;
    let e = h.vb.start_environment(&dev2, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    h.vb.start_environment(&dev1, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
}

#[tokio::test]
async fn secret_like_variables_are_always_encrypted_and_masked() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let plaintext = "s3cr3t-canary-value";
    let view =
        h.vb.set_variable(
            &alice,
            env.id,
            NewVariable {
                key: "STRIPE_API_KEY".into(),
                value: SecretString::from(plaintext),
                is_encrypted: false,
            },
        )
        .await
        .unwrap();
    assert!(view.is_encrypted);
    assert_eq!(view.value, MASKED_VALUE);
    let raw = h.store.list_variables(env.id).await.unwrap();
    assert!(
        !raw[0].value.contains(plaintext),
        "stored as ciphertext only"
    );
    h.vb.set_variable(
        &alice,
        env.id,
        NewVariable {
            key: "RUST_LOG".into(),
            value: SecretString::from("debug"),
            is_encrypted: false,
        },
    )
    .await
    .unwrap();
    let listed =
        h.vb.list_variables(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    let rust_log = listed.iter().find(|v| v.key == "RUST_LOG").unwrap();
    assert_eq!(
        (rust_log.value.as_str(), rust_log.is_encrypted),
        ("debug", false)
    );
    assert!(!format!("{listed:?}").contains(plaintext));

    // Decrypted only into the container at start.
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let spec = h.rt.spec_of(&H::container(&env)).unwrap();
    let (_, value) = spec
        .env
        .iter()
        .find(|(k, _)| k == "STRIPE_API_KEY")
        .unwrap();
    assert_eq!(value.expose_secret(), plaintext);
    assert!(!format!("{spec:?}").contains(plaintext));
}

#[tokio::test]
async fn bad_variables_and_ports_name_the_field() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e =
        h.vb.set_variable(
            &alice,
            env.id,
            NewVariable {
                key: "lower".into(),
                value: SecretString::from("x"),
                is_encrypted: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("key"));
    let port = |container_port, host_port| NewPort {
        container_port,
        host_port,
        protocol: Some(Protocol::Tcp),
    };
    let e =
        h.vb.add_port(&alice, env.id, port(0, None))
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("container_port"));
    let e =
        h.vb.add_port(&alice, env.id, port(80, Some(80)))
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("host_port"));
    h.vb.add_port(&alice, env.id, port(80, None)).await.unwrap();
    let e =
        h.vb.add_port(&alice, env.id, port(80, None))
            .await
            .unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::AlreadyExists, Some("container_port"))
    );
    let e =
        h.vb.delete_variable(&alice, env.id, "MISSING")
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn details_report_the_container_and_storage_enforcement_never_claimed() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    // Before any start: what the engine would do (the fake enforces nothing by default).
    let before = h.vb.environment_details(&alice, env.id).await.unwrap();
    assert_eq!(before.container, None);
    assert!(!before.storage_limit_enforced);
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let after = h.vb.environment_details(&alice, env.id).await.unwrap();
    let container = after.container.expect("the running container");
    assert!(container.state.is_running());
    assert_eq!(
        after.storage_limit_enforced,
        container.storage_limit_enforced
    );
    assert!(!after.storage_limit_enforced);
    // Another tenant cannot see it.
    let mallory = h.user("mallory").await;
    assert_eq!(
        h.vb.environment_details(&mallory, env.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn each_environment_gets_a_home_volume_removed_with_it() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let volume = format!("vibebox-{}-home", env.id);
    assert_eq!(h.rt.volumes(), vec![volume]);
    h.vb.delete_environment(&alice, env.id).await.unwrap();
    assert!(h.rt.volumes().is_empty());
}

#[tokio::test]
async fn ports_and_variables_page_in_id_order_whatever_order_the_store_lists_them_in() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut ports = Vec::new();
    for container_port in [9000, 3000, 8080] {
        let new = NewPort {
            container_port,
            host_port: None,
            protocol: None,
        };
        ports.push(h.vb.add_port(&alice, env.id, new).await.unwrap().id.0);
    }
    let mut variables = Vec::new();
    // Keys in reverse order: the stores list variables by key.
    for key in ["ZED", "MID", "ALPHA"] {
        let new = NewVariable {
            key: key.into(),
            value: SecretString::from("v"),
            is_encrypted: false,
        };
        variables.push(h.vb.set_variable(&alice, env.id, new).await.unwrap().id.0);
    }
    ports.sort();
    variables.sort();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let got = h.vb.list_ports(&alice, env.id, &page).await.unwrap();
        assert!(got.items.len() <= 1);
        seen.extend(got.items.iter().map(|p| p.id.0));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ports, "each port once, by id");

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = h.vb.list_variables(&alice, env.id, &page).await.unwrap();
        seen.extend(got.items.iter().map(|v| v.id.0));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, variables, "each variable once, by id");

    let bad = PageRequest {
        limit: 10,
        cursor: Some("nope".into()),
    };
    let e = h.vb.list_variables(&alice, env.id, &bad).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("cursor"))
    );
}
