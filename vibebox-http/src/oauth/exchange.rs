//! The back-channel half of a sign-in: the code (with its PKCE verifier) is exchanged for a
//! provider access token, which reads the person's profile. The profile identifies them by
//! (provider, subject); an email is passed on only when the provider says it is verified.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use vibebox_core::error::{Error, Result};
use vibebox_core::service::OAuthProfile;

use super::client::{ProviderClient, unavailable};
use super::{OAuthProvider, ProfileFormat};

/// Trades `code` for a provider access token. The provider refusing the code (wrong,
/// used, or a verifier that does not match its challenge) is `Unauthenticated`; a provider
/// that fails is `Unavailable`.
pub async fn exchange_code(
    client: &ProviderClient,
    provider: &OAuthProvider,
    code: &str,
    verifier: &SecretString,
) -> Result<SecretString> {
    let response = client
        .post_form(
            &provider.token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &provider.redirect_uri),
                ("client_id", &provider.client_id),
                ("client_secret", provider.client_secret.expose_secret()),
                ("code_verifier", verifier.expose_secret()),
            ],
        )
        .await?;
    if response.status.is_server_error() {
        tracing::warn!(status = %response.status, "the OAuth token endpoint failed");
        return Err(unavailable("its token endpoint failed"));
    }
    #[derive(Deserialize)]
    struct TokenAnswer {
        access_token: Option<SecretString>,
        error: Option<String>,
    }
    // A refusal is 400 `{"error": "invalid_grant"}`, or (GitHub) 200 with an error field.
    let answer: TokenAnswer = match response.json("token") {
        Ok(a) => a,
        Err(_) if response.status.is_client_error() => {
            return Err(refused("the token endpoint refused the code"));
        }
        Err(e) => return Err(e),
    };
    match (answer.access_token, answer.error) {
        (Some(token), None) if response.status.is_success() => Ok(token),
        (_, error) => Err(refused(&format!(
            "the token endpoint refused the code ({})",
            error.as_deref().map(printable).unwrap_or_default()
        ))),
    }
}

/// Reads the profile of whoever `token` belongs to.
pub async fn profile(
    client: &ProviderClient,
    provider: &OAuthProvider,
    token: &SecretString,
) -> Result<OAuthProfile> {
    let response = client.get_with_token(&provider.userinfo_url, token).await?;
    if !response.status.is_success() {
        tracing::warn!(status = %response.status, "the OAuth userinfo endpoint failed");
        return Err(unavailable("its profile endpoint failed"));
    }
    match provider.format {
        ProfileFormat::GitHub => {
            #[derive(Deserialize)]
            struct GitHubUser {
                id: u64,
                login: String,
                name: Option<String>,
            }
            let user: GitHubUser = response.json("user")?;
            let email = match &provider.emails_url {
                Some(url) => github_verified_email(client, url, token).await?,
                None => None,
            };
            Ok(OAuthProfile {
                provider: provider.name.clone(),
                subject: user.id.to_string(),
                email,
                display_name: user
                    .name
                    .filter(|n| !n.trim().is_empty())
                    .or(Some(user.login)),
            })
        }
        ProfileFormat::OpenIdConnect => {
            #[derive(Deserialize)]
            struct UserInfo {
                sub: String,
                email: Option<String>,
                #[serde(default)]
                email_verified: bool,
                name: Option<String>,
            }
            let info: UserInfo = response.json("userinfo")?;
            Ok(OAuthProfile {
                provider: provider.name.clone(),
                subject: info.sub,
                email: info.email.filter(|_| info.email_verified),
                display_name: info.name,
            })
        }
    }
}

/// The primary verified address, else any verified one. A token without the `user:email`
/// scope cannot list addresses: then there is none.
async fn github_verified_email(
    client: &ProviderClient,
    url: &str,
    token: &SecretString,
) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct GitHubEmail {
        email: String,
        #[serde(default)]
        primary: bool,
        #[serde(default)]
        verified: bool,
    }
    let response = client.get_with_token(url, token).await?;
    if !response.status.is_success() {
        tracing::debug!(status = %response.status, "GitHub did not list the account's emails");
        return Ok(None);
    }
    let emails: Vec<GitHubEmail> = response.json("emails")?;
    let verified = || emails.iter().filter(|e| e.verified);
    Ok(verified()
        .find(|e| e.primary)
        .or_else(|| verified().next())
        .map(|e| e.email.clone()))
}

/// The provider refused: 401 (the person starts again).
fn refused(why: &str) -> Error {
    tracing::debug!(why, "oauth sign-in refused by the provider");
    Error::Unauthenticated
}

/// A provider's error code, kept to printable ASCII and 64 characters.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}
