//! Ports and variables of environments.

use super::prelude::*;

/// (environment, container_port, protocol) is unique.
pub async fn container_port_is_unique_per_environment_and_protocol(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    store.add_port(&port(e.id, 8080, None)).await.unwrap();
    assert_already_exists(
        store.add_port(&port(e.id, 8080, None)).await,
        "container_port",
    );
    let mut udp = port(e.id, 8080, None);
    udp.protocol = Protocol::Udp;
    store.add_port(&udp).await.unwrap();
    store.add_port(&port(other.id, 8080, None)).await.unwrap();
    let ports = store.list_ports(e.id).await.unwrap();
    assert_eq!(ports.len(), 2);
    assert!(ports.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
}

/// A host port is taken across all environments; unset host ports never clash.
pub async fn host_port_is_unique_across_environments(store: &dyn Store) {
    let a = create_environment(store).await;
    let b = create_environment(store).await;
    let host = random_host_port();
    store.add_port(&port(a.id, 80, Some(host))).await.unwrap();
    let clash = port(b.id, 81, Some(host));
    assert_already_exists(store.add_port(&clash).await, "host_port");
    assert!(store.list_ports(b.id).await.unwrap().is_empty());
    store.add_port(&port(b.id, 82, None)).await.unwrap();
    store.add_port(&port(b.id, 83, None)).await.unwrap();
}

/// Bound host ports are recorded and cleared per port; unlisted ports are left alone.
pub async fn bound_host_ports_are_recorded_and_cleared(store: &dyn Store) {
    let e = create_environment(store).await;
    let p1 = port(e.id, 3000, None);
    let p2 = port(e.id, 3001, None);
    store.add_port(&p1).await.unwrap();
    store.add_port(&p2).await.unwrap();
    store
        .set_bound_host_ports(e.id, &[(p1.id, Some(41000)), (p2.id, Some(41001))])
        .await
        .unwrap();
    store
        .set_bound_host_ports(e.id, &[(p1.id, None)])
        .await
        .unwrap();
    let ports = store.list_ports(e.id).await.unwrap();
    let bound = |id| ports.iter().find(|p| p.id == id).unwrap().bound_host_port;
    assert_eq!(bound(p1.id), None);
    assert_eq!(bound(p2.id), Some(41001));
}

/// Deleting a port or variable that is not in the environment is `NotFound`.
pub async fn deleting_missing_port_or_variable_is_not_found(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    let p = port(e.id, 5432, None);
    store.add_port(&p).await.unwrap();
    assert_not_found(store.delete_port(other.id, p.id).await, "port");
    assert_not_found(store.delete_port(e.id, PortId::new()).await, "port");
    store.delete_port(e.id, p.id).await.unwrap();
    assert!(store.list_ports(e.id).await.unwrap().is_empty());

    store
        .put_variable(&variable(e.id, "FOO", "1", false))
        .await
        .unwrap();
    assert_not_found(store.delete_variable(other.id, "FOO").await, "variable");
    assert_not_found(store.delete_variable(e.id, "BAR").await, "variable");
    store.delete_variable(e.id, "FOO").await.unwrap();
    assert!(store.list_variables(e.id).await.unwrap().is_empty());
}

/// `put_variable` upserts by key, keeping the id and created_at of the existing row.
pub async fn put_variable_upserts_by_key(store: &dyn Store) {
    let e = create_environment(store).await;
    let first = variable(e.id, "DATABASE_URL", "postgres://one", false);
    assert_eq!(store.put_variable(&first).await.unwrap(), first);

    let mut second = variable(e.id, "DATABASE_URL", "ciphertext-two", true);
    second.created_at = fixed_time();
    second.updated_at = fixed_time();
    let stored = store.put_variable(&second).await.unwrap();
    assert_eq!(stored.id, first.id);
    assert_eq!(stored.created_at, first.created_at);
    assert_eq!(stored.value, "ciphertext-two");
    assert!(stored.is_encrypted);
    assert_eq!(stored.updated_at, fixed_time());
    assert_eq!(store.list_variables(e.id).await.unwrap(), [stored]);
}

/// Variables are listed by key, whatever their insertion order.
pub async fn variables_are_listed_by_key(store: &dyn Store) {
    let e = create_environment(store).await;
    for key in ["ZED", "ALPHA", "MIDDLE"] {
        store
            .put_variable(&variable(e.id, key, "v", false))
            .await
            .unwrap();
    }
    let keys: Vec<_> = store
        .list_variables(e.id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.key)
        .collect();
    assert_eq!(keys, ["ALPHA", "MIDDLE", "ZED"]);
}

/// Encrypted variables are listed by id in batches after a given id; plaintext ones never.
pub async fn encrypted_variables_are_listed_in_batches_by_id(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let v = variable(e.id, &format!("SECRET_{i}"), "ct", true);
        store.put_variable(&v).await.unwrap();
        mine.push(v.id);
    }
    let plain = variable(e.id, "PLAIN", "text", false);
    store.put_variable(&plain).await.unwrap();

    // Start just before our first variable so that older data in the store is skipped.
    let start = store
        .list_encrypted_variables(None, u32::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .take_while(|id| *id < mine[0])
        .last();
    let mut after = start;
    let mut seen = Vec::new();
    loop {
        let batch = store.list_encrypted_variables(after, 2).await.unwrap();
        assert!(batch.len() <= 2);
        assert!(batch.iter().all(|v| v.is_encrypted));
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        seen.extend(batch.iter().map(|v| v.id));
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ordered by id");
    for id in &mine {
        assert!(seen.contains(id));
    }
    assert!(!seen.contains(&plain.id));
}

/// A port is private unless added with another share level, and `add_port` keeps the level.
pub async fn ports_are_private_by_default(store: &dyn Store) {
    let e = create_environment(store).await;
    let private = port(e.id, 8000, None);
    assert_eq!(private.share_level, ShareLevel::Private);
    store.add_port(&private).await.unwrap();
    let mut public = port(e.id, 8001, None);
    public.share_level = ShareLevel::Public;
    store.add_port(&public).await.unwrap();
    let ports = store.list_ports(e.id).await.unwrap();
    let level = |id| ports.iter().find(|p| p.id == id).unwrap().share_level;
    assert_eq!(level(private.id), ShareLevel::Private);
    assert_eq!(level(public.id), ShareLevel::Public);
}

/// Every share level is stored and read back, with `updated_at`; other ports and fields are
/// left alone.
pub async fn share_level_is_set_and_read_back(store: &dyn Store) {
    let e = create_environment(store).await;
    let p = port(e.id, 3000, None);
    let untouched = port(e.id, 3001, None);
    store.add_port(&p).await.unwrap();
    store.add_port(&untouched).await.unwrap();
    for (i, level) in ShareLevel::ALL.iter().rev().enumerate() {
        let at = fixed_time() + chrono::TimeDelta::seconds(i as i64);
        let stored = store
            .set_port_share_level(e.id, p.id, *level, at)
            .await
            .unwrap();
        let expected = EnvironmentPort {
            share_level: *level,
            updated_at: at,
            ..p.clone()
        };
        assert_eq!(stored, expected);
        let ports = store.list_ports(e.id).await.unwrap();
        assert_eq!(ports.iter().find(|x| x.id == p.id), Some(&expected));
        assert_eq!(
            ports.iter().find(|x| x.id == untouched.id),
            Some(&untouched)
        );
    }
}

/// Setting the share level of a port that is not in the environment is `NotFound` (`port`)
/// and changes nothing.
pub async fn share_level_of_a_missing_port_is_not_found(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    let p = port(e.id, 5000, None);
    store.add_port(&p).await.unwrap();
    let at = fixed_time();
    assert_not_found(
        store
            .set_port_share_level(other.id, p.id, ShareLevel::Public, at)
            .await,
        "port",
    );
    assert_not_found(
        store
            .set_port_share_level(e.id, PortId::new(), ShareLevel::Public, at)
            .await,
        "port",
    );
    assert_eq!(store.list_ports(e.id).await.unwrap(), [p]);
    assert!(store.list_ports(other.id).await.unwrap().is_empty());
}
