use vibebox_core::ErrorKind;
use vibebox_core::domain::ExtensionStatus;
use vibebox_core::events::EventKind;
use vibebox_core::service::NewExtension;
use vibebox_core::store::PageRequest;
use vibebox_core::testing::ScriptedExec;

use super::harness::{H, wait_for};

fn python() -> NewExtension {
    NewExtension {
        extension_id: "ms-python.python".into(),
        name: "Python".into(),
        version: "2024.1.0".into(),
        is_custom: false,
        download_url: None,
    }
}

fn status_of(kind: &EventKind) -> Option<(ExtensionStatus, Option<String>)> {
    match kind {
        EventKind::Extension {
            status,
            error_message,
            ..
        } if matches!(status, ExtensionStatus::Installed | ExtensionStatus::Failed) => {
            Some((*status, error_message.clone()))
        }
        _ => None,
    }
}

#[tokio::test]
async fn only_platform_admins_add_to_the_catalog_and_custom_needs_a_url() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let bob = h.user("bob").await;
    assert_eq!(
        h.vb.add_extension(&bob, python()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let e =
        h.vb.add_extension(
            &admin,
            NewExtension {
                extension_id: "acme.tools".into(),
                is_custom: true,
                ..python()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("download_url"));
    let e =
        h.vb.add_extension(
            &admin,
            NewExtension {
                version: "1.0".into(),
                ..python()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("version"));
    h.vb.add_extension(&admin, python()).await.unwrap();
    let catalog =
        h.vb.list_extensions(&bob, &PageRequest::first(10))
            .await
            .unwrap();
    assert_eq!(catalog.items[0].publisher, "ms-python");
}

#[tokio::test]
async fn an_extension_installs_in_a_running_environment_and_its_status_is_tracked() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    h.vb.add_extension(&admin, python()).await.unwrap();
    let project = h.project(&admin, "proj", None).await;
    let env = h.env(&admin, &project, "dev").await;
    h.rt.script_exec(
        "--install-extension ms-python.python@2024.1.0",
        ScriptedExec::succeed("ok\n"),
    );
    // Requested while stopped: pending until the environment starts.
    let requested =
        h.vb.install_extension(&admin, env.id, "ms-python.python")
            .await
            .unwrap();
    assert_eq!(requested.status, ExtensionStatus::Pending);
    let mut rx = h.vb.subscribe(&admin, env.id).await.unwrap();
    h.vb.start_environment(&admin, env.id).await.unwrap();
    let (status, _) = wait_for(&mut rx, status_of).await;
    assert_eq!(status, ExtensionStatus::Installed);
    let listed =
        h.vb.list_environment_extensions(&admin, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert!(listed[0].installed_at.is_some());
    let e =
        h.vb.install_extension(&admin, env.id, "ms-python.python")
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    h.vb.uninstall_extension(&admin, env.id, listed[0].extension_id)
        .await
        .unwrap();
    assert!(
        h.vb.list_environment_extensions(&admin, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_installation_keeps_its_error_and_can_be_retried() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    h.vb.add_extension(&admin, python()).await.unwrap();
    let project = h.project(&admin, "proj", None).await;
    let env = h.env(&admin, &project, "dev").await;
    h.vb.start_environment(&admin, env.id).await.unwrap();
    h.rt.script_exec(
        "--install-extension",
        ScriptedExec::fail(1, "network unreachable\n"),
    );
    let mut rx = h.vb.subscribe(&admin, env.id).await.unwrap();
    h.vb.install_extension(&admin, env.id, "ms-python.python")
        .await
        .unwrap();
    let (status, message) = wait_for(&mut rx, status_of).await;
    assert_eq!(status, ExtensionStatus::Failed);
    assert!(message.unwrap().contains("network unreachable"));
    let stored =
        h.vb.list_environment_extensions(&admin, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert!(
        stored[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("exit code 1")
    );

    h.rt.clear_scripts();
    h.rt.script_exec("--install-extension", ScriptedExec::succeed(""));
    h.vb.install_extension(&admin, env.id, "ms-python.python")
        .await
        .unwrap();
    let (status, message) = wait_for(&mut rx, status_of).await;
    assert_eq!((status, message), (ExtensionStatus::Installed, None));
}

#[tokio::test]
async fn an_extension_missing_from_the_catalog_is_not_found() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e =
        h.vb.install_extension(&alice, env.id, "nobody.nothing")
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e =
        h.vb.install_extension(&alice, env.id, "no-dot")
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("extension_id"));
}
