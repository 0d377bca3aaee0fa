//! `PUT/GET /environments/{id}/files` and `GET …/files/list` on the fake runtime (the file
//! scripts' answers scripted): statuses, headers, problems naming the field, the upload's own
//! size cap past the router's body limit, and the OpenAPI entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use vibebox_core::testing::ScriptedExec;

/// What every file script's command line contains.
const SCRIPT: &str = "vibebox-files";

fn files_uri(env: &str, query: &str) -> String {
    format!("/api/v1/environments/{env}/files{query}")
}

/// A record as the scripts print it.
fn record(name: &str, kind: &str, mode: &str, size: u64, mtime: &str) -> String {
    [name, kind, mode, &size.to_string(), mtime, ""]
        .iter()
        .map(|f| format!("{f}\0"))
        .collect()
}

fn put(uri: &str, token: &str, body: Body, length: Option<u64>) -> Request<Body> {
    let mut r = Request::put(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/octet-stream");
    if let Some(n) = length {
        r = r.header("content-length", n.to_string());
    }
    r.body(body).unwrap()
}

fn assert_problem(r: &Reply, status: StatusCode, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["status"], status.as_u16());
    for key in ["type", "title", "detail", "code"] {
        assert!(!r.body[key].is_null(), "{key} missing: {}", r.body);
    }
    match field {
        Some(f) => assert_eq!(r.body["field"], f, "{}", r.body),
        None => assert!(r.body["field"].is_null(), "{}", r.body),
    }
}

#[tokio::test]
async fn an_upload_answers_201_with_the_entry_even_past_the_routers_body_limit() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let size = 2 * 1024 * 1024;
    app.runtime.script_exec(
        SCRIPT,
        ScriptedExec::succeed(record("big.bin", "f", "644", size, "1700000000.5")),
    );
    let body = Body::from(vec![7u8; size as usize]);
    let r = app
        .send(put(
            &files_uri(&env, "?path=big.bin&mode=0644"),
            &alice,
            body,
            Some(size),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"name": "big.bin", "path": "/home/vibebox/big.bin", "kind": "file",
               "size": size, "mode": 0o644, "mtime": "2023-11-14T22:13:20.500Z",
               "link_target": null})
    );
    let exec = app.runtime.exec_history().pop().unwrap();
    assert_eq!(exec.spec.cmd.last().map(String::as_str), Some("644"));
}

#[tokio::test]
async fn an_upload_without_content_length_is_411() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let before = app.runtime.exec_history().len();
    let chunked = Body::from_stream(futures::stream::iter(vec![Ok::<_, io::Error>(
        Bytes::from_static(b"data"),
    )]));
    let r = app
        .send(put(&files_uri(&env, "?path=a"), &alice, chunked, None))
        .await;
    assert_problem(&r, StatusCode::LENGTH_REQUIRED, None);
    assert_eq!(r.body["code"], "length_required");
    assert_eq!(app.runtime.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn an_upload_over_the_services_cap_is_413_naming_content_length() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let over = app.vibebox.config().max_upload_bytes + 1;
    let r = app
        .send(put(
            &files_uri(&env, "?path=a"),
            &alice,
            Body::from("x"),
            Some(over),
        ))
        .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, Some("content_length"));
    assert_eq!(r.body["code"], "payload_too_large");
}

#[tokio::test]
async fn a_form_upload_is_415() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let request = Request::put(files_uri(&env, "?path=a"))
        .header("authorization", format!("Bearer {alice}"))
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", "1")
        .body(Body::from("x"))
        .unwrap();
    assert_problem(
        &app.send(request).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        None,
    );
}

#[tokio::test]
async fn bad_paths_and_modes_are_422_naming_the_field() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    for (query, field) in [
        ("", "path"),
        ("?path=", "path"),
        ("?path=a%00b", "path"),
        ("?path=%2F", "path"),
        ("?path=a&mode=9", "mode"),
        ("?path=a&mode=17777", "mode"),
    ] {
        let r = app
            .send(put(
                &files_uri(&env, query),
                &alice,
                Body::from("x"),
                Some(1),
            ))
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    for route in ["", "/list"] {
        let r = app
            .get(
                &format!("/api/v1/environments/{env}/files{route}"),
                Some(&alice),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("path"));
    }
}

#[tokio::test]
async fn a_body_that_fails_midway_is_400_naming_body() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    app.runtime.script_exec(SCRIPT, ScriptedExec::fail(27, ""));
    let failing = Body::from_stream(futures::stream::iter(vec![
        Ok(Bytes::from_static(b"part")),
        Err(io::Error::other("client went away")),
    ]));
    let r = app
        .send(put(&files_uri(&env, "?path=a"), &alice, failing, Some(100)))
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST, Some("body"));
}

#[tokio::test]
async fn refusals_inside_the_container_are_404_or_422_naming_path() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    app.runtime
        .script_exec(SCRIPT, ScriptedExec::fail(20, "no such file\n"));
    let r = app.get(&files_uri(&env, "?path=/nope"), Some(&alice)).await;
    assert_problem(&r, StatusCode::NOT_FOUND, None);
    assert_eq!(r.body["detail"], "file not found");
    app.runtime.script_exec(SCRIPT, ScriptedExec::fail(22, ""));
    let r = app
        .get(&files_uri(&env, "/list?path=/root"), Some(&alice))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("path"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("permission denied reading \"/root\""),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn viewers_get_403_strangers_404_and_a_stopped_environment_409() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let viewer = app.signed_in("viewer").await;
    let stranger = app.signed_in("stranger").await;
    let team = app.team(&alice, "core", &[("viewer", "viewer")]).await;
    let project = app
        .call(
            "POST",
            "/api/v1/projects",
            &alice,
            Some(json!({"name": "P", "slug": "team-proj", "team_id": team})),
        )
        .await;
    let env = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(
                json!({"project_id": project.body["id"], "name": "E", "slug": "env",
                         "base_image": "vibebox/base:bookworm"}),
            ),
        )
        .await;
    let env = env.body["id"].as_str().unwrap().to_string();

    let r = app
        .get(&files_uri(&env, "/list?path=."), Some(&alice))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, None);
    assert!(r.body["detail"].as_str().unwrap().contains("start it"));

    assert_eq!(app.start(&env, &alice).await.status, StatusCode::OK);
    for (token, status) in [
        (&viewer, StatusCode::FORBIDDEN),
        (&stranger, StatusCode::NOT_FOUND),
    ] {
        for uri in [files_uri(&env, "?path=a"), files_uri(&env, "/list?path=.")] {
            assert_problem(&app.get(&uri, Some(token)).await, status, None);
        }
        let r = app
            .send(put(
                &files_uri(&env, "?path=a"),
                token,
                Body::from("x"),
                Some(1),
            ))
            .await;
        assert_problem(&r, status, None);
    }
    let r = app.get(&files_uri(&env, "?path=a"), None).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, None);
}

#[tokio::test]
async fn a_file_downloads_with_its_length_name_and_last_modified() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let header = format!(
        "/home/vibebox/r\u{e9}sum\u{e9} 1.txt\0{}",
        record("r\u{e9}sum\u{e9} 1.txt", "f", "600", 5, "1700000000")
    );
    app.runtime
        .script_exec(SCRIPT, ScriptedExec::succeed(format!("{header}hello")));
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(files_uri(&env, "?path=link"))
                .header("authorization", format!("Bearer {alice}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["content-length"], "5");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"r_sum_ 1.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
}

#[tokio::test]
async fn a_directory_downloads_as_a_tar_named_after_it() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let header = format!(
        "/home/vibebox/proj\0{}",
        record("proj", "d", "755", 4096, "1700000000")
    );
    app.runtime
        .script_exec(SCRIPT, ScriptedExec::succeed(format!("{header}TARBYTES")));
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(files_uri(&env, "?path=proj"))
                .header("authorization", format!("Bearer {alice}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/x-tar");
    assert!(headers.get("content-length").is_none());
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"proj.tar\"; filename*=UTF-8''proj.tar"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"TARBYTES");
}

#[tokio::test]
async fn a_listing_is_items_and_truncated() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let out = [
        record("b", "f", "644", 1, "1700000000"),
        record("a dir", "d", "755", 4096, "1700000000"),
    ]
    .concat();
    app.runtime.script_exec(SCRIPT, ScriptedExec::succeed(out));
    let r = app
        .get(&files_uri(&env, "/list?path=/srv"), Some(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["truncated"], false);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "a dir");
    assert_eq!(items[0]["path"], "/srv/a dir");
    assert_eq!(items[0]["kind"], "directory");
    assert_eq!(items[1]["mode"], 0o644);
}

#[tokio::test]
async fn the_file_routes_are_documented_with_every_status_they_answer() {
    let app = App::new();
    let spec = app.get("/api/v1/openapi.json", None).await.body;
    let paths = &spec["paths"];
    let expect = [
        (
            "/api/v1/environments/{id}/files",
            "put",
            &[
                "201", "400", "401", "403", "404", "409", "411", "413", "415", "422", "429", "503",
            ][..],
        ),
        (
            "/api/v1/environments/{id}/files",
            "get",
            &[
                "200", "401", "403", "404", "409", "422", "429", "503", "504",
            ][..],
        ),
        (
            "/api/v1/environments/{id}/files/list",
            "get",
            &[
                "200", "401", "403", "404", "409", "422", "429", "503", "504",
            ][..],
        ),
    ];
    for (path, method, statuses) in expect {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let documented: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(documented, statuses.to_vec(), "{method} {path}");
    }
    let put = &paths["/api/v1/environments/{id}/files"]["put"];
    assert!(put["requestBody"]["content"]["application/octet-stream"].is_object());
    let download = &paths["/api/v1/environments/{id}/files"]["get"]["responses"]["200"];
    assert!(download["content"]["application/x-tar"].is_object());
    assert!(download["content"]["application/octet-stream"].is_object());
}
