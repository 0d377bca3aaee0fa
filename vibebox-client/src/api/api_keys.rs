//! `GET/POST /users/me/api-keys`, `DELETE /users/me/api-keys/{id}`.

use hyper::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::Scope;
use vibebox_core::id::{ApiKeyId, UserId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// `POST /users/me/api-keys`.
#[derive(Clone, Debug, Serialize)]
pub struct NewApiKey {
    /// A label (1–100 characters).
    pub name: String,
    /// What the key may do (at least one scope).
    pub scopes: Vec<Scope>,
    /// When it expires (default: the server's default lifetime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// An API key as the server lists it (never its secret). It serializes to the JSON the
/// server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// Identity.
    pub id: ApiKeyId,
    /// The user the key acts as.
    pub user_id: UserId,
    /// Its label.
    pub name: String,
    /// The public part shown in listings (`vbx_<prefix>`).
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Its last successful use.
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A new key: its listing and, this once, the whole token. It serializes to the JSON the
/// server sends, the token included (it is there to be shown once); `Debug` leaves the token
/// out.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    /// The key as listed.
    #[serde(flatten)]
    pub key: ApiKeyInfo,
    /// The whole key (`vbx_…`), for [`Credential::ApiKey`](crate::Credential::ApiKey). It
    /// cannot be shown again.
    #[serde(serialize_with = "crate::api::auth::expose")]
    pub token: SecretString,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &self.key)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// `GET /users/me/api-keys?limit=&cursor=`: the caller's keys, ordered by id.
    pub async fn list_api_keys(&self, page: PageRequest) -> Result<Page<ApiKeyInfo>> {
        let call = page.apply(Call::api(Method::GET, "/users/me/api-keys"));
        let page: PageOrList<ApiKeyInfo> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `POST /users/me/api-keys`: creates a key; the token is in this answer only.
    /// Errors: `Invalid` naming the field; `Conflict`.
    pub async fn create_api_key(&self, new: &NewApiKey) -> Result<CreatedApiKey> {
        let call = Call::api(Method::POST, "/users/me/api-keys").json(new)?;
        self.transport.json(call).await
    }

    /// `DELETE /users/me/api-keys/{id}`. Errors: `NotFound`.
    pub async fn delete_api_key(&self, id: ApiKeyId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/users/me/api-keys/{id}"),
            ))
            .await
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use vibebox_core::domain::{ApiKey, TokenHash};

    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    /// A key as the server stores it, with a last use and a secret hash that must never show.
    fn stored_key() -> ApiKey {
        let now = chrono::Utc::now();
        ApiKey {
            id: ApiKeyId::new(),
            user_id: UserId::new(),
            name: "ci".into(),
            prefix: "abcd1234".into(),
            secret_hash: TokenHash([7; 32]),
            scopes: vec![Scope::Read, Scope::EnvironmentsWrite],
            expires_at: now + chrono::Duration::days(30),
            last_used_at: Some(now),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn an_api_key_info_round_trips_through_the_servers_json_unchanged() -> TestResult {
        let sent = serde_json::to_value(stored_key())?;
        let read: ApiKeyInfo = serde_json::from_value(sent.clone())?;
        assert_eq!(serde_json::to_value(&read)?, sent);
        let again: ApiKeyInfo = serde_json::from_str(&serde_json::to_string(&read)?)?;
        assert_eq!(again, read);
        Ok(())
    }

    #[test]
    fn a_created_key_serializes_its_token_but_debug_redacts_it() -> TestResult {
        let canary = "vbx_abcd1234_canary-secret";
        let mut sent = serde_json::to_value(stored_key())?;
        sent["token"] = canary.into();
        let created: CreatedApiKey = serde_json::from_value(sent.clone())?;
        assert_eq!(created.token.expose_secret(), canary);
        assert_eq!(serde_json::to_value(&created)?, sent);
        assert!(!format!("{created:?}").contains(canary));
        Ok(())
    }
}
