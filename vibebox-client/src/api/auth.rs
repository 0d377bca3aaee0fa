//! `POST /auth/register`, `/auth/login`, `/auth/refresh` and `/auth/logout`.

use hyper::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use vibebox_core::domain::User;

use crate::Client;
use crate::credential::{Credential, TokenPair};
use crate::error::{ClientError, Result};
use crate::transport::{Call, TokenBody};

/// `POST /auth/register`: a new account.
#[derive(Clone, Serialize)]
pub struct Registration {
    /// The email address.
    pub email: String,
    /// The password (8–1024 characters).
    #[serde(serialize_with = "expose")]
    pub password: SecretString,
    /// The name shown to others.
    pub display_name: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// The server's answer to a registration: the same whether or not the email had an account.
/// It serializes to the JSON the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationAccepted {
    /// Always `accepted`.
    pub status: String,
    /// What to do next.
    pub detail: String,
}

/// A sign-in: the user and the token pair (which the client now uses).
#[derive(Clone, Debug)]
pub struct SignIn {
    /// The signed-in user.
    pub user: User,
    /// The tokens; persist them to stay signed in.
    pub tokens: TokenPair,
}

impl From<TokenBody> for SignIn {
    fn from(body: TokenBody) -> Self {
        let tokens = body.pair();
        Self {
            user: body.user,
            tokens,
        }
    }
}

/// Serializes a secret's value into a request body (and nowhere else).
pub(crate) fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

impl Client {
    /// `POST /auth/register`: registers an account, then sign in with [`Client::login`].
    /// Errors: `Invalid` naming the field.
    pub async fn register(&self, registration: &Registration) -> Result<RegistrationAccepted> {
        let call = Call::api(Method::POST, "/auth/register")
            .public()
            .json(registration)?;
        self.transport.json(call).await
    }

    /// `POST /auth/login`: signs in with email and password. On success this client (and its
    /// clones) use the returned tokens. Errors: `Unauthenticated` for a wrong email or
    /// password; `RateLimited` after too many failures.
    pub async fn login(&self, email: &str, password: &SecretString) -> Result<SignIn> {
        let call = Call::api(Method::POST, "/auth/login")
            .public()
            .json(&serde_json::json!({"email": email, "password": password.expose_secret()}))?;
        let body: TokenBody = self.transport.json(call).await?;
        let sign_in = SignIn::from(body);
        self.transport.set_credential(
            Credential::from(sign_in.tokens.clone()),
            sign_in.tokens.expires_at,
        );
        Ok(sign_in)
    }

    /// `POST /auth/refresh`: trades a refresh token for a new pair, without touching this
    /// client's credential (for that, see [`Client::refresh_tokens`]). The old refresh token
    /// stops working. Errors: `Unauthenticated` for a token that is unknown, used, revoked or
    /// expired.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<SignIn> {
        let call = Call::api(Method::POST, "/auth/refresh")
            .public()
            .json(&serde_json::json!({"refresh_token": refresh_token.expose_secret()}))?;
        let body: TokenBody = self.transport.json(call).await?;
        Ok(SignIn::from(body))
    }

    /// `POST /auth/logout`: revokes this client's sign-in (its refresh token) and drops its
    /// credential. Errors: `Unauthenticated` when the client holds no token pair.
    pub async fn logout(&self) -> Result<()> {
        let Some(tokens) = self.tokens() else {
            return Err(ClientError::SignInAgain {
                reason: "this client is not signed in with tokens".into(),
            });
        };
        self.revoke_refresh_token(&tokens.refresh).await?;
        self.transport.set_credential(Credential::None, None);
        Ok(())
    }

    /// `POST /auth/logout` with a given refresh token (unknown tokens are accepted silently).
    pub async fn revoke_refresh_token(&self, refresh_token: &SecretString) -> Result<()> {
        let call = Call::api(Method::POST, "/auth/logout")
            .public()
            .json(&serde_json::json!({"refresh_token": refresh_token.expose_secret()}))?;
        self.transport.empty(call).await
    }
}
