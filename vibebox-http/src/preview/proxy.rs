//! Forwarding one preview request: who is asking, what may reach the app, and the bytes both
//! ways (a WebSocket upgrade becomes a byte pipe).

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use vibebox_core::rbac::Actor;
use vibebox_core::service::{PreviewGrant, PreviewTarget};

use super::pool::{PoolKey, Upstream};
use super::{AUTH_PATH, COOKIE, PreviewConfig, pages};
use crate::state::AppState;

/// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), besides those the
/// `Connection` header lists.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Answers one request for a preview host.
pub(crate) async fn handle(
    s: AppState,
    config: &PreviewConfig,
    host: String,
    target: PreviewTarget,
    mut request: Request,
) -> Response {
    if request.uri().path() == AUTH_PATH {
        let query = request.uri().query().unwrap_or("").to_string();
        return redeem(&s, config, &host, &query).await;
    }
    let (actor, used_authorization) = identify(&s, &host, request.headers()).await;
    let grant = match s.vibebox.authorize_preview(actor.as_ref(), &target).await {
        Ok(grant) => grant,
        Err(e) => return pages::for_error(&e),
    };
    let client = request
        .extensions()
        .get::<crate::client_ip::ClientIp>()
        .map(|c| c.0);
    let upgrade = wants_upgrade(request.headers());
    prepare_request_headers(
        request.headers_mut(),
        &host,
        client,
        config,
        used_authorization,
        upgrade,
    );
    forward(&s, &grant, request, upgrade).await
}

/// The caller: the preview cookie of this host, else an `Authorization` VibeBox accepts.
/// Returns whether the `Authorization` header was VibeBox's (so it is not forwarded); one it
/// does not accept may be the app's own and goes through.
async fn identify(s: &AppState, host: &str, headers: &HeaderMap) -> (Option<Actor>, bool) {
    if let Some(user) =
        cookie(headers, COOKIE).and_then(|token| s.preview_credentials.session_user(&token, host))
        && let Ok(actor) = s.vibebox.actor_for_user(user).await
    {
        return (Some(actor), bearer(headers).is_some_and(is_vibebox_key));
    }
    // Not counted against the API's per-user rate limit: a dev server's page load is
    // hundreds of requests.
    if let Some(token) = bearer(headers)
        && let Ok(actor) = crate::auth::authenticate(s, token).await
    {
        return (Some(actor), true);
    }
    (None, bearer(headers).is_some_and(is_vibebox_key))
}

/// Whether a bearer value is a VibeBox API key (never the app's, whatever it accepts).
fn is_vibebox_key(token: &str) -> bool {
    token.starts_with(vibebox_core::tokens::API_KEY_PREFIX)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name`, from any `Cookie` header.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes the hop-by-hop headers (and those `Connection` lists), keeping an upgrade's.
fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in HOP_BY_HOP.iter().map(|h| h.to_string()).chain(listed) {
        if keep_upgrade && name == "upgrade" {
            continue;
        }
        headers.remove(name.as_str());
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

/// What the app receives: no VibeBox credential, no hop-by-hop header, and the
/// `X-Forwarded-*` headers set by this proxy (any the client sent are dropped).
fn prepare_request_headers(
    headers: &mut HeaderMap,
    host: &str,
    client: Option<IpAddr>,
    config: &PreviewConfig,
    drop_authorization: bool,
    upgrade: bool,
) {
    strip_hop_by_hop(headers, upgrade);
    if drop_authorization {
        headers.remove(header::AUTHORIZATION);
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split_once('=').is_none_or(|(k, _)| k != COOKIE))
        .map(str::to_string)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, v);
    }
    for name in [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    ] {
        headers.remove(name);
    }
    if let Some(ip) = client
        && let Ok(v) = HeaderValue::from_str(&ip.to_string())
    {
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(config.scheme()),
    );
    if let Ok(v) = HeaderValue::from_str(host) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), v);
    }
}

/// Sends the request to the app over a pooled or new connection and streams the answer
/// back; an upgrade answered with 101 becomes a byte pipe between the two sides.
async fn forward(
    s: &AppState,
    grant: &PreviewGrant,
    mut request: Request,
    upgrade: bool,
) -> Response {
    let client_side = upgrade.then(|| hyper::upgrade::on(&mut request));
    let origin_form = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<Uri>()
        .unwrap_or_default();
    *request.uri_mut() = origin_form;
    let key: PoolKey = (grant.environment_id(), grant.port());
    // A pooled connection the app closed meanwhile gives the request back unsent; it goes
    // again on a new connection.
    let (mut upstream, response) = match s.preview_pool.take(&key) {
        Some(mut pooled) => match pooled.try_send_request(request).await {
            Ok(response) => (pooled, response),
            Err(mut e) => match e.take_message() {
                Some(request) => match send_new(s, grant, request).await {
                    Ok(sent) => sent,
                    Err(page) => return page,
                },
                None => {
                    return pages::bad_gateway(&format!(
                        "the app closed the connection: {}",
                        e.error()
                    ));
                }
            },
        },
        None => match send_new(s, grant, request).await {
            Ok(sent) => sent,
            Err(page) => return page,
        },
    };
    if let Some(client_side) = client_side
        && response.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        let mut response = response;
        let app_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            match (client_side.await, app_side.await) {
                (Ok(client), Ok(app)) => {
                    let mut client = TokioIo::new(client);
                    let mut app = TokioIo::new(app);
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut app).await {
                        tracing::debug!(error = %e, "a proxied upgraded connection ended with an error");
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::debug!(error = %e, "a proxied upgrade did not complete")
                }
            }
        });
        return response.map(|_| Body::empty());
    }
    if !upgrade {
        let pool = s.preview_pool.clone();
        tokio::spawn(async move {
            // Ready again once this response has been read to its end.
            if upstream.ready().await.is_ok() {
                pool.put(key, upstream);
            }
        });
    }
    let mut response = response.map(Body::new);
    strip_hop_by_hop(response.headers_mut(), false);
    response
}

async fn send_new(
    s: &AppState,
    grant: &PreviewGrant,
    request: Request,
) -> Result<(Upstream, hyper::Response<hyper::body::Incoming>), Response> {
    let stream = s
        .vibebox
        .connect_preview(grant)
        .await
        .map_err(|e| pages::for_error(&e))?;
    let (mut upstream, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| {
            tracing::debug!(error = %e, "the app's connection failed");
            pages::bad_gateway("the app's connection failed")
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "an app connection ended with an error");
        }
    });
    let response = upstream.send_request(request).await.map_err(|e| {
        tracing::debug!(error = %e, "the app did not answer");
        pages::bad_gateway("the app did not answer")
    })?;
    Ok((upstream, response))
}

/// `GET /__vibebox/auth?ticket=&next=`: trades a ticket from the API for this host's cookie
/// and sends the browser on to `next` (a path on this host; anything else becomes `/`).
async fn redeem(s: &AppState, config: &PreviewConfig, host: &str, query: &str) -> Response {
    let mut ticket = None;
    let mut next = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "ticket" => ticket = Some(v.into_owned()),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(user) = ticket.and_then(|t| s.preview_credentials.redeem_ticket(&t, host).ok()) else {
        return pages::sign_in();
    };
    if s.vibebox.actor_for_user(user).await.is_err() {
        return pages::sign_in();
    }
    let session = match s
        .preview_credentials
        .start_session(user, host, config.session_ttl)
    {
        Ok(token) => token,
        Err(e) => return pages::for_error(&e),
    };
    let mut cookie = format!(
        "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        config.session_ttl.as_secs()
    );
    if config.secure {
        cookie.push_str("; Secure");
    }
    let location = next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".to_string());
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let (Ok(cookie), Ok(location)) = (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&location),
    ) {
        headers.insert(header::SET_COOKIE, cookie);
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(*k), HeaderValue::from_str(v)) {
                h.append(k, v);
            }
        }
        h
    }

    #[test]
    fn vibebox_credentials_and_client_forwarding_headers_never_reach_the_app() {
        let mut h = headers(&[
            (
                "cookie",
                "theme=dark; vibebox_preview=secret-session; app=1",
            ),
            ("authorization", "Bearer vbx_0123_secret"),
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("accept", "text/html"),
        ]);
        prepare_request_headers(
            &mut h,
            "8080--web--shop.vibebox.localhost:3000",
            Some(IpAddr::from([10, 0, 0, 7])),
            &PreviewConfig::default(),
            true,
            false,
        );
        assert_eq!(
            h.get("cookie").and_then(|v| v.to_str().ok()),
            Some("theme=dark; app=1")
        );
        assert!(h.get("authorization").is_none());
        assert_eq!(
            h.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
            Some("10.0.0.7")
        );
        assert_eq!(
            h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()),
            Some("http")
        );
        assert_eq!(
            h.get("x-forwarded-host").and_then(|v| v.to_str().ok()),
            Some("8080--web--shop.vibebox.localhost:3000")
        );
        for gone in ["forwarded", "connection", "x-custom-hop", "keep-alive"] {
            assert!(h.get(gone).is_none(), "{gone}");
        }
        assert_eq!(
            h.get("accept").and_then(|v| v.to_str().ok()),
            Some("text/html")
        );
    }

    #[test]
    fn an_upgrade_keeps_its_upgrade_headers_and_an_apps_own_authorization_stays() {
        let mut h = headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("authorization", "Basic YXBwOnB3"),
            ("cookie", "vibebox_preview=s"),
        ]);
        assert!(wants_upgrade(&h));
        prepare_request_headers(&mut h, "h", None, &PreviewConfig::default(), false, true);
        assert_eq!(
            h.get("upgrade").and_then(|v| v.to_str().ok()),
            Some("websocket")
        );
        assert_eq!(
            h.get("connection").and_then(|v| v.to_str().ok()),
            Some("upgrade")
        );
        assert_eq!(
            h.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Basic YXBwOnB3")
        );
        assert!(h.get("cookie").is_none());
        assert!(h.get("x-forwarded-for").is_none());
    }

    #[test]
    fn the_preview_cookie_is_found_among_others() {
        let h = headers(&[
            ("cookie", "a=1"),
            ("cookie", "b=2; vibebox_preview=tok; c=3"),
        ]);
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("tok"));
        assert_eq!(
            cookie(&headers(&[("cookie", "vibebox_preview_x=1")]), COOKIE),
            None
        );
    }
}
