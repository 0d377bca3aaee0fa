//! Encrypted variables reach the database only as ciphertext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fresh;
use secrecy::{ExposeSecret, SecretString};
use vibebox_core::Secrets;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring, variable_aad};
use vibebox_core::store::EnvironmentsStore;
use vibebox_core::testing::store_checks::fixtures::*;

#[tokio::test]
async fn encrypted_variable_is_stored_only_as_ciphertext() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let secrets = AesGcmSecrets::new(Keyring::generate(KeyId::new("k1").unwrap()).unwrap());
    let plaintext = "sk-live-plaintext-canary-0042";
    let aad = variable_aad(e.id, "STRIPE_API_KEY");
    let ciphertext = secrets
        .encrypt(&SecretString::from(plaintext), &aad)
        .await
        .unwrap();
    f.store
        .put_variable(&variable(e.id, "STRIPE_API_KEY", &ciphertext, true))
        .await
        .unwrap();

    let (value, encrypted): (String, bool) = sqlx::query_as(
        "SELECT value, is_encrypted FROM environment_variables \
         WHERE environment_id = $1 AND key = 'STRIPE_API_KEY'",
    )
    .bind(e.id.0)
    .fetch_one(&f.raw)
    .await
    .unwrap();
    assert!(encrypted);
    assert_eq!(value, ciphertext);
    assert!(!value.contains(plaintext));
    // Nowhere in the row, whatever the column.
    let row_text: String =
        sqlx::query_scalar("SELECT v::text FROM environment_variables v WHERE environment_id = $1")
            .bind(e.id.0)
            .fetch_one(&f.raw)
            .await
            .unwrap();
    assert!(!row_text.contains(plaintext), "{row_text}");

    // And it decrypts back with the row's associated data.
    let stored = f.store.list_variables(e.id).await.unwrap();
    let back = secrets.decrypt(&stored[0].value, &aad).await.unwrap();
    assert_eq!(back.expose_secret(), plaintext);
}
