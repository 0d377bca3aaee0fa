//! The web console (feature `console`): the page at `/` and at deep links, its versioned files
//! with immutable caching, the vendor files read from a folder, the security headers, and
//! what stays out of its way (the API, health checks, preview hosts).
#![cfg(feature = "console")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::App;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vibebox_http::console::{CONTENT_SECURITY_POLICY, ConsoleConfig, VENDOR_FILES};
use vibebox_http::{HttpConfig, PROBLEM_JSON};

/// A response with its body as text.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

/// An app serving the console with `vendor_dir`.
fn console_app(vendor_dir: Option<PathBuf>) -> App {
    App::with(HttpConfig {
        console: Some(ConsoleConfig { vendor_dir }),
        ..common::config()
    })
}

/// A folder holding every vendor file, each containing its own name.
fn vendor_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vibebox-console-vendor-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in VENDOR_FILES {
        std::fs::write(dir.join(name), format!("/* {name} */")).unwrap();
    }
    dir
}

async fn fetch(app: &App, method: &str, uri: &str, headers: &[(&str, &str)]) -> Page {
    let mut r = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        r = r.header(*name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(r.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get_html(app: &App, uri: &str) -> Page {
    fetch(
        app,
        "GET",
        uri,
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    )
    .await
}

fn assert_secured(page: &Page, what: &str) {
    let h = &page.headers;
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY,
        "{what}"
    );
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{what}");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{what}");
    assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{what}");
}

fn assert_is_index(page: &Page, what: &str) {
    assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.text);
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8",
        "{what}"
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache", "{what}");
    assert!(
        page.text.starts_with("<!doctype html>"),
        "{what}: {}",
        page.text
    );
    assert_secured(page, what);
}

/// The `/assets/<version>/…` URLs the page references.
fn asset_urls(index: &str) -> Vec<String> {
    index
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_string)
        .collect()
}

fn version_of(index: &str) -> String {
    let url = asset_urls(index).into_iter().next().expect("an asset URL");
    url.split('/').nth(2).unwrap().to_string()
}

#[tokio::test]
async fn the_console_is_served_at_the_root_with_a_strict_csp_and_the_security_headers() {
    let app = console_app(Some(vendor_dir()));
    let page = get_html(&app, "/").await;
    assert_is_index(&page, "/");
    assert_eq!(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'"
    );
    assert!(
        !page.text.contains("{{"),
        "every placeholder is filled: {}",
        page.text
    );
    let head = fetch(&app, "HEAD", "/", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.text.is_empty());
    assert_secured(&head, "HEAD /");
}

#[tokio::test]
async fn the_page_references_versioned_assets_cached_immutably_with_their_media_type() {
    let app = console_app(Some(vendor_dir()));
    let index = get_html(&app, "/").await.text;
    let urls = asset_urls(&index);
    assert!(urls.iter().any(|u| u.ends_with(".js")), "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with(".css")), "{urls:?}");
    let version = version_of(&index);
    assert_eq!(version.len(), 12, "{version}");
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
    for url in &urls {
        assert!(url.starts_with(&format!("/assets/{version}/")), "{url}");
        let asset = fetch(&app, "GET", url, &[]).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_eq!(
            asset.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        let expected = match url.rsplit_once('.').map(|(_, e)| e) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("woff2") => "font/woff2",
            Some("json") => "application/json",
            other => panic!("{url}: no expected type for {other:?}"),
        };
        assert_eq!(asset.headers[header::CONTENT_TYPE], expected, "{url}");
        assert!(!asset.text.is_empty(), "{url}");
        assert_secured(&asset, url);
    }
}

#[tokio::test]
async fn another_version_or_an_unknown_file_is_404() {
    let app = console_app(Some(vendor_dir()));
    let index = get_html(&app, "/").await.text;
    let version = version_of(&index);
    let good = asset_urls(&index).into_iter().next().unwrap();
    let stale = good.replace(&version, "000000000000");
    for uri in [
        stale.as_str(),
        &format!("/assets/{version}/js/nope.js"),
        &format!("/assets/{version}/index.html"),
        &format!("/assets/{version}/../index.html"),
        "/assets/js/main.js",
        "/assets",
    ] {
        let r = get_html(&app, uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text);
        assert_eq!(r.headers[header::CONTENT_TYPE], PROBLEM_JSON, "{uri}");
    }
    let post = fetch(&app, "POST", &good, &[]).await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert_eq!(post.headers[header::CONTENT_TYPE], PROBLEM_JSON);
}

#[tokio::test]
async fn deep_links_answer_the_page_and_api_and_other_paths_keep_their_404_problems() {
    let app = console_app(None);
    for uri in ["/projects/x", "/environments/0190a8a0/terminal", "/login"] {
        assert_is_index(&fetch(&app, "GET", uri, &[]).await, uri);
    }
    assert_is_index(
        &get_html(&app, "/docs/v1.2").await,
        "/docs/v1.2 accepting HTML",
    );
    for (method, uri) in [
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v2/projects"),
        ("GET", "/favicon.ico"),
        ("GET", "/healthz/x"),
        ("POST", "/projects/x"),
        ("DELETE", "/"),
    ] {
        let r = fetch(
            &app,
            method,
            uri,
            &[(
                "accept",
                if uri == "/favicon.ico" {
                    "image/*"
                } else {
                    "text/html"
                },
            )],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(
            r.headers[header::CONTENT_TYPE],
            PROBLEM_JSON,
            "{method} {uri}"
        );
        assert!(
            r.text.contains("no such route"),
            "{method} {uri}: {}",
            r.text
        );
    }
    let health = get_html(&app, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(health.text.contains("\"ok\""), "{}", health.text);
}

#[tokio::test]
async fn the_vendor_files_are_served_and_the_page_says_the_terminal_is_available() {
    let app = console_app(Some(vendor_dir()));
    let index = get_html(&app, "/").await.text;
    assert!(
        index.contains(r#"<meta name="vibebox-terminal" content="available">"#),
        "{index}"
    );
    let version = version_of(&index);
    for name in VENDOR_FILES {
        let r = fetch(
            &app,
            "GET",
            &format!("/assets/{version}/vendor/{name}"),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{name}");
        assert_eq!(r.text, format!("/* {name} */"));
        assert_eq!(
            r.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
    }
    let js = fetch(
        &app,
        "GET",
        &format!("/assets/{version}/vendor/xterm.js"),
        &[],
    )
    .await;
    assert_eq!(
        js.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    // The version covers the vendor files: without them it is another.
    let without = get_html(&console_app(None), "/").await.text;
    assert_ne!(version_of(&without), version);
}

#[tokio::test]
async fn without_the_vendor_files_the_page_says_the_terminal_is_missing() {
    let missing = std::env::temp_dir().join("vibebox-console-vendor-that-does-not-exist");
    for app in [console_app(Some(missing)), console_app(None)] {
        let index = get_html(&app, "/").await.text;
        assert!(
            index.contains(r#"<meta name="vibebox-terminal" content="missing">"#),
            "{index}"
        );
        let version = version_of(&index);
        let r = fetch(
            &app,
            "GET",
            &format!("/assets/{version}/vendor/xterm.js"),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn preview_hosts_never_get_the_console() {
    let app = console_app(None);
    let host = "8080--dev--alpha.vibebox.localhost:3000";
    for uri in ["/", "/projects/x"] {
        let r = fetch(&app, "GET", uri, &[("host", host), ("accept", "text/html")]).await;
        assert_ne!(r.status, StatusCode::OK, "{uri}: {}", r.text);
        assert!(
            r.headers
                .get(header::CONTENT_SECURITY_POLICY)
                .is_none_or(|v| v != CONTENT_SECURITY_POLICY)
        );
        assert!(!r.text.contains("vibebox-terminal"), "{uri}: {}", r.text);
    }
    // The same request on the API's host is the console.
    let r = fetch(
        &app,
        "GET",
        "/",
        &[("host", "127.0.0.1:3000"), ("accept", "text/html")],
    )
    .await;
    assert_is_index(&r, "/ on the API's host");
}

#[tokio::test]
async fn without_a_console_config_the_root_stays_a_404_problem() {
    let app = App::new();
    let r = get_html(&app, "/").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers[header::CONTENT_TYPE], PROBLEM_JSON);
}
