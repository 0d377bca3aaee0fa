//! The extension catalog and installations.

use super::prelude::*;

/// Catalog `extension_id`s are unique.
pub async fn extension_id_is_unique(store: &dyn Store) {
    let id = unique_extension_id();
    let first = extension(&id);
    store.create_extension(&first).await.unwrap();
    let dup = extension(&id);
    assert_already_exists(store.create_extension(&dup).await, "extension_id");
    assert_not_found(store.get_extension(dup.id).await, "extension");
    assert_eq!(
        store.find_extension(&id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_extension(first.id).await.unwrap(), first);
    assert!(
        store
            .find_extension(&unique_extension_id())
            .await
            .unwrap()
            .is_none()
    );
}

/// An environment has each extension at most once.
pub async fn environment_extension_is_unique_per_environment(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    let ext = extension(&unique_extension_id());
    store.create_extension(&ext).await.unwrap();
    let first = environment_extension(e.id, ext.id);
    store.add_environment_extension(&first).await.unwrap();
    assert_already_exists(
        store
            .add_environment_extension(&environment_extension(e.id, ext.id))
            .await,
        "extension_id",
    );
    store
        .add_environment_extension(&environment_extension(other.id, ext.id))
        .await
        .unwrap();
    assert_eq!(
        store.get_environment_extension(e.id, ext.id).await.unwrap(),
        first
    );
    assert_eq!(
        store.list_environment_extensions(e.id).await.unwrap(),
        [first]
    );
}

/// Installations need an existing environment and catalog entry.
pub async fn environment_extension_requires_existing_parents(store: &dyn Store) {
    let e = create_environment(store).await;
    let ext = extension(&unique_extension_id());
    store.create_extension(&ext).await.unwrap();
    assert_not_found(
        store
            .add_environment_extension(&environment_extension(EnvironmentId::new(), ext.id))
            .await,
        "environment",
    );
    assert_not_found(
        store
            .add_environment_extension(&environment_extension(e.id, ExtensionId::new()))
            .await,
        "extension",
    );
    assert_not_found(
        store.get_environment_extension(e.id, ext.id).await,
        "environment_extension",
    );
    assert_not_found(
        store.delete_environment_extension(e.id, ext.id).await,
        "environment_extension",
    );
    assert_not_found(store.get_extension(ExtensionId::new()).await, "extension");
}

/// Installation updates are compare-and-set on the status.
pub async fn environment_extension_update_is_compare_and_set(store: &dyn Store) {
    let e = create_environment(store).await;
    let ext = extension(&unique_extension_id());
    store.create_extension(&ext).await.unwrap();
    let pending = environment_extension(e.id, ext.id);
    store.add_environment_extension(&pending).await.unwrap();

    let mut installed = pending.clone();
    installed.status = ExtensionStatus::Installed;
    installed.installed_at = Some(fixed_time());
    installed.updated_at = fixed_time();
    assert_stale(
        store
            .update_environment_extension(&installed, ExtensionStatus::Installing)
            .await,
    );
    assert_eq!(
        store.get_environment_extension(e.id, ext.id).await.unwrap(),
        pending
    );

    let mut installing = pending.clone();
    installing.status = ExtensionStatus::Installing;
    let results = futures::future::join_all(
        (0..4).map(|_| store.update_environment_extension(&installing, ExtensionStatus::Pending)),
    )
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);

    store
        .update_environment_extension(&installed, ExtensionStatus::Installing)
        .await
        .unwrap();
    assert_eq!(
        store.get_environment_extension(e.id, ext.id).await.unwrap(),
        installed
    );
    store
        .delete_environment_extension(e.id, ext.id)
        .await
        .unwrap();
    assert_not_found(
        store
            .update_environment_extension(&installed, ExtensionStatus::Installed)
            .await,
        "environment_extension",
    );
}

/// Installations by status are listed by id, only in the asked states.
pub async fn environment_extensions_by_status_are_listed_by_id(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        let ext = extension(&unique_extension_id());
        store.create_extension(&ext).await.unwrap();
        let mut inst = environment_extension(e.id, ext.id);
        inst.status = ExtensionStatus::Failed;
        store.add_environment_extension(&inst).await.unwrap();
        mine.push(inst.id);
    }
    let listed = store
        .list_environment_extensions_by_status(&[ExtensionStatus::Failed], 500)
        .await
        .unwrap();
    assert!(listed.iter().all(|x| x.status == ExtensionStatus::Failed));
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
    for id in &mine {
        assert!(listed.iter().any(|x| x.id == *id));
    }
    let none = store
        .list_environment_extensions_by_status(&[ExtensionStatus::Failed], 1)
        .await
        .unwrap();
    assert_eq!(none.len(), 1);
}

/// The catalog pages by id.
pub async fn extension_catalog_pages_by_id(store: &dyn Store) {
    let mut mine = Vec::new();
    for _ in 0..5 {
        let ext = extension(&unique_extension_id());
        store.create_extension(&ext).await.unwrap();
        mine.push(ext.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_extensions(&PageRequest { limit: 2, cursor })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|x| x.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    for id in &mine {
        assert!(seen.contains(id));
    }
}
