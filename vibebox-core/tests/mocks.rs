//! The `mock` feature's mockall mocks plug into the service like any backend.
#![cfg(all(feature = "mock", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use secrecy::SecretString;
use vibebox_core::secrets::MockSecrets;
use vibebox_core::service::{NewProject, NewVariable, Registration};
use vibebox_core::store::PageRequest;
use vibebox_core::testing::{FakeRuntime, MemoryStore};
use vibebox_core::{Error, ErrorKind, Vibebox};

#[tokio::test]
async fn a_failing_secrets_backend_fails_the_write_and_stores_nothing() {
    let mut secrets = MockSecrets::new();
    secrets
        .expect_encrypt()
        .times(1)
        .returning(|_, _| Err(Error::unavailable("key service", "down", None)));
    let store = Arc::new(MemoryStore::new());
    let vb = Vibebox::builder()
        .store(store.clone())
        .runtime(Arc::new(FakeRuntime::new()))
        .secrets(Arc::new(secrets))
        .build()
        .unwrap();
    let user = vb
        .register(Registration {
            email: "a@example.com".into(),
            password: SecretString::from("correct horse battery staple"),
            display_name: "A".into(),
        })
        .await
        .unwrap();
    let actor = vb.actor_for_user(user.id).await.unwrap();
    let project = vb
        .create_project(
            &actor,
            NewProject {
                name: "p".into(),
                slug: "proj".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();
    let env = vb
        .create_environment(&actor, crate_env(project.id))
        .await
        .unwrap();
    let e = vb
        .set_variable(
            &actor,
            env.id,
            NewVariable {
                key: "DB_PASSWORD".into(),
                value: SecretString::from("x"),
                is_encrypted: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        vb.list_variables(&actor, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

fn crate_env(project_id: vibebox_core::id::ProjectId) -> vibebox_core::service::NewEnvironment {
    vibebox_core::service::NewEnvironment {
        project_id,
        name: "dev".into(),
        slug: "dev".into(),
        base_image: "vibebox/base:bookworm".into(),
        cpu_limit: None,
        memory_limit: None,
        storage_limit: None,
        idle_policy: None,
        start: false,
    }
}
