//! `GET /healthz`, `GET /readyz` and the OpenAPI document (`GET /api/v1/openapi.json`).

use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::Client;
use crate::error::Result;
use crate::transport::Call;

/// A successful health or readiness check. It serializes to the JSON the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// Readiness only: how log collection goes on the server (as the server reports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_collection: Option<serde_json::Value>,
}

fn root(method: hyper::Method, path: &str) -> Call {
    let mut call = Call::api(method, "").public();
    call.path = path.to_string();
    call
}

impl Client {
    /// `GET /healthz`: the server process answers.
    pub async fn healthz(&self) -> Result<Health> {
        self.transport.json(root(Method::GET, "/healthz")).await
    }

    /// `GET /readyz`: the server's store and container engine answer. Errors: `Unavailable`
    /// naming which does not.
    pub async fn readyz(&self) -> Result<Health> {
        self.transport.json(root(Method::GET, "/readyz")).await
    }

    /// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the server's API.
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.transport
            .json(Call::api(Method::GET, "/openapi.json").public())
            .await
    }
}
