//! Encrypted variables reach the database only as ciphertext.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use secrecy::{ExposeSecret, SecretString};
use vibebox_core::Secrets;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring, variable_aad};
use vibebox_core::store::EnvironmentsStore;
use vibebox_core::testing::store_checks::fixtures::{create_environment, variable};

#[tokio::test]
async fn encrypted_variable_is_stored_only_as_ciphertext() {
    const CANARY: &str = "sk-live-canary-7f3a9c2e1b";
    let path = common::fresh_path();
    let store = vibebox_sqlite::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let secrets = AesGcmSecrets::new(Keyring::generate(KeyId::new("k1").unwrap()).unwrap());
    let e = create_environment(&store).await;
    let aad = variable_aad(e.id, "OPENAI_API_KEY");
    let ciphertext = secrets
        .encrypt(&SecretString::from(CANARY), &aad)
        .await
        .unwrap();
    store
        .put_variable(&variable(e.id, "OPENAI_API_KEY", &ciphertext, true))
        .await
        .unwrap();

    let (value, encrypted): (String, i64) = sqlx::query_as(
        "SELECT value, is_encrypted FROM environment_variables \
         WHERE environment_id = ? AND key = 'OPENAI_API_KEY'",
    )
    .bind(e.id.0)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(encrypted, 1);
    assert_eq!(value, ciphertext);
    assert!(!value.contains(CANARY));

    // Nowhere in the database file either, once the WAL is checkpointed into it.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
        "the plaintext is in the database file"
    );

    // What the store returns still decrypts with the row's associated data.
    let stored = store.list_variables(e.id).await.unwrap();
    let plain = secrets.decrypt(&stored[0].value, &aad).await.unwrap();
    assert_eq!(plain.expose_secret(), CANARY);
}
