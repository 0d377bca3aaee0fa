//! `GET/POST /environments/{id}/variables`, `DELETE /environments/{id}/variables/{key}`.

use hyper::Method;
use secrecy::SecretString;
use serde::Serialize;
use vibebox_core::id::EnvironmentId;

use crate::Client;
use crate::base_url::segment;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// `POST /environments/{id}/variables`. The value is a secret: it is sent in the body and
/// nowhere else (`Debug` leaves it out).
#[derive(Clone, Serialize)]
pub struct NewVariable {
    /// `^[A-Z_][A-Z0-9_]*$`.
    pub key: String,
    /// The value (at most 32 KiB).
    #[serde(serialize_with = "crate::api::auth::expose")]
    pub value: SecretString,
    /// Encrypt it (always done for secret-like keys).
    pub is_encrypted: bool,
}

impl std::fmt::Debug for NewVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVariable")
            .field("key", &self.key)
            .field("value", &"<redacted>")
            .field("is_encrypted", &self.is_encrypted)
            .finish()
    }
}

/// A variable as readers see it: encrypted values are masked by the server (core's own
/// type, which the server serializes).
pub type Variable = vibebox_core::service::VariableView;

impl Client {
    /// `GET /environments/{id}/variables?limit=&cursor=`: encrypted values masked.
    pub async fn list_variables(
        &self,
        env: EnvironmentId,
        page: PageRequest,
    ) -> Result<Page<Variable>> {
        let call = page.apply(Call::api(
            Method::GET,
            format!("/environments/{env}/variables"),
        ));
        let page: PageOrList<Variable> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `POST /environments/{id}/variables`: sets a variable (creates or replaces it).
    pub async fn set_variable(&self, env: EnvironmentId, new: &NewVariable) -> Result<Variable> {
        let call = Call::api(Method::POST, format!("/environments/{env}/variables")).json(new)?;
        self.transport.json(call).await
    }

    /// `DELETE /environments/{id}/variables/{key}`.
    pub async fn delete_variable(&self, env: EnvironmentId, key: &str) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/environments/{env}/variables/{}", segment(key)),
            ))
            .await
    }
}

#[cfg(test)]
mod tests {
    use vibebox_core::id::VariableId;
    use vibebox_core::service::VariableView;

    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_variable_round_trips_through_the_servers_json_unchanged() -> TestResult {
        let now = chrono::Utc::now();
        let server = VariableView {
            id: VariableId::new(),
            environment_id: EnvironmentId::new(),
            key: "API_TOKEN".into(),
            value: "********".into(),
            is_encrypted: true,
            created_at: now,
            updated_at: now + chrono::Duration::milliseconds(1500),
        };
        let sent = serde_json::to_value(&server)?;
        let read: Variable = serde_json::from_value(sent.clone())?;
        assert_eq!(serde_json::to_value(&read)?, sent);
        let again: Variable = serde_json::from_str(&serde_json::to_string(&read)?)?;
        assert_eq!(again, read);
        Ok(())
    }
}
