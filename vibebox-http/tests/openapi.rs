//! The OpenAPI document: served without credentials as OpenAPI 3.1, every operation in it
//! reaches a real route, every `$ref` resolves, and it lists the routes DESIGN.md §6 names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::App;
use serde_json::Value;

/// The operations DESIGN.md §6 names (OAuth is not built yet), as `METHOD path`.
const DESIGN_ROUTES: &[&str] = &[
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "GET /api/v1/auth/oauth/{provider}",
    "GET /api/v1/auth/oauth/{provider}/callback",
    "GET /api/v1/users/me",
    "PATCH /api/v1/users/me",
    "GET /api/v1/users/me/api-keys",
    "POST /api/v1/users/me/api-keys",
    "DELETE /api/v1/users/me/api-keys/{id}",
    // Issue 17: SSH keys.
    "GET /api/v1/users/me/ssh-keys",
    "POST /api/v1/users/me/ssh-keys",
    "DELETE /api/v1/users/me/ssh-keys/{id}",
    "GET /api/v1/users/me/sessions",
    "DELETE /api/v1/users/me/sessions/{id}",
    "GET /api/v1/users",
    "PATCH /api/v1/users/{id}",
    "GET /api/v1/teams",
    "POST /api/v1/teams",
    "GET /api/v1/teams/{id}",
    "PATCH /api/v1/teams/{id}",
    "DELETE /api/v1/teams/{id}",
    "GET /api/v1/teams/{id}/members",
    "POST /api/v1/teams/{id}/members",
    "PATCH /api/v1/teams/{id}/members/{user_id}",
    "DELETE /api/v1/teams/{id}/members/{user_id}",
    "GET /api/v1/projects",
    "POST /api/v1/projects",
    "GET /api/v1/projects/{id}",
    "PATCH /api/v1/projects/{id}",
    "DELETE /api/v1/projects/{id}",
    "GET /api/v1/environments",
    "POST /api/v1/environments",
    "GET /api/v1/environments/{id}",
    "PATCH /api/v1/environments/{id}",
    "DELETE /api/v1/environments/{id}",
    "POST /api/v1/environments/{id}/start",
    "POST /api/v1/environments/{id}/stop",
    "POST /api/v1/environments/{id}/restart",
    "GET /api/v1/environments/{id}/ports",
    "POST /api/v1/environments/{id}/ports",
    "PATCH /api/v1/environments/{id}/ports/{port_id}",
    "DELETE /api/v1/environments/{id}/ports/{port_id}",
    "GET /api/v1/environments/{id}/variables",
    "POST /api/v1/environments/{id}/variables",
    "DELETE /api/v1/environments/{id}/variables/{key}",
    "GET /api/v1/environments/{id}/sessions",
    "POST /api/v1/environments/{id}/sessions",
    "DELETE /api/v1/sessions/{id}",
    "GET /api/v1/extensions",
    "POST /api/v1/extensions",
    "GET /api/v1/environments/{id}/extensions",
    "POST /api/v1/environments/{id}/extensions",
    "DELETE /api/v1/environments/{id}/extensions/{ext_id}",
    "GET /api/v1/environments/{id}/logs",
    "GET /api/v1/audit",
    "GET /api/v1/teams/{id}/audit",
    "GET /api/v1/ws/environments/{id}/logs",
    "GET /api/v1/ws/environments/{id}/terminal",
    "GET /api/v1/ws/environments/{id}/status",
    "GET /api/v1/ws/projects/{id}/status",
    "POST /api/v1/environments/{id}/exec",
    "GET /api/v1/ws/environments/{id}/exec",
    "PUT /api/v1/environments/{id}/files",
    "GET /api/v1/environments/{id}/files",
    "GET /api/v1/environments/{id}/files/list",
    "POST /api/v1/ws-tickets",
    "GET /healthz",
    "GET /readyz",
    "GET /api/v1/openapi.json",
];

/// Routes anyone may call; every other operation needs the bearer scheme.
const PUBLIC_ROUTES: &[&str] = &[
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/session",
    "POST /api/v1/auth/session/refresh",
    "DELETE /api/v1/auth/session",
    "GET /api/v1/auth/providers",
    "GET /api/v1/ssh",
    "GET /api/v1/auth/oauth/{provider}",
    "GET /api/v1/auth/oauth/{provider}/callback",
    "GET /healthz",
    "GET /readyz",
    "GET /api/v1/openapi.json",
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn spec(app: &App) -> Value {
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    r.body
}

/// Every operation as (`METHOD path`, operation object).
fn operations(spec: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((format!("{} {path}", method.to_uppercase()), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_served_without_credentials() {
    let app = App::new();
    let spec = spec(&app).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["info"]["title"], "VibeBox API");
    assert!(
        spec["info"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert_eq!(spec, serde_json::to_value(vibebox_http::openapi()).unwrap());
}

#[tokio::test]
async fn every_operation_in_the_document_reaches_a_real_route() {
    let app = App::new();
    let token = app.signed_in("ada").await;
    let spec = spec(&app).await;
    let ops = operations(&spec);
    assert!(ops.len() >= DESIGN_ROUTES.len(), "{} operations", ops.len());
    for (op, _) in ops {
        let (method, path) = op.split_once(' ').unwrap();
        // Any value fills a path parameter: a real route answers 404 "no such resource" (or
        // another status), never the fallback's "no such route" nor 405.
        let uri = path
            .replace("{key}", "SOME_KEY")
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "0190a8a0-0000-7000-8000-000000000000"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = app
            .send(
                Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{op}");
        assert_ne!(r.body["detail"], "no such route", "{op}: {}", r.body);
    }
}

/// Collects every `$ref` in a JSON value.
fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_ref_resolves_to_a_component() {
    let spec = spec(&App::new()).await;
    let mut all = BTreeSet::new();
    refs(&spec, &mut all);
    assert!(all.len() > 20, "only {} refs", all.len());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(spec.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[tokio::test]
async fn the_document_lists_every_route_design_section_6_names() {
    let spec = spec(&App::new()).await;
    let listed: BTreeSet<String> = operations(&spec).into_iter().map(|(op, _)| op).collect();
    let missing: Vec<&&str> = DESIGN_ROUTES
        .iter()
        .filter(|r| !listed.contains(**r))
        .collect();
    assert!(missing.is_empty(), "missing from the document: {missing:?}");
}

#[tokio::test]
async fn authenticated_operations_require_the_bearer_scheme_and_public_ones_none() {
    let spec = spec(&App::new()).await;
    let scheme = &spec["components"]["securitySchemes"][vibebox_http::BEARER_SCHEME];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (op, body) in operations(&spec) {
        let security = body["security"].as_array().cloned().unwrap_or_default();
        if PUBLIC_ROUTES.contains(&op.as_str()) {
            assert!(security.is_empty(), "{op} should need no credentials");
        } else {
            assert_eq!(
                security,
                vec![serde_json::json!({ vibebox_http::BEARER_SCHEME: [] })],
                "{op}"
            );
            for status in ["401", "429"] {
                assert!(
                    body["responses"][status].is_object(),
                    "{op} does not document {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn errors_are_documented_as_problem_json() {
    let spec = spec(&App::new()).await;
    for (op, body) in operations(&spec) {
        for (status, response) in body["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap_or_else(|| {
                    panic!("{op} {status} has no content");
                });
                let keys: Vec<&String> = content.keys().collect();
                assert_eq!(keys, ["application/problem+json"], "{op} {status}");
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{op} {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn json_bodies_document_400_413_415_and_422() {
    let spec = spec(&App::new()).await;
    for (op, body) in operations(&spec) {
        if body["requestBody"].is_object() {
            for status in ["400", "413", "415", "422"] {
                assert!(
                    body["responses"][status].is_object(),
                    "{op} does not document {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn typed_ids_are_uuid_strings_and_secrets_write_only() {
    let spec = spec(&App::new()).await;
    let schemas = &spec["components"]["schemas"];
    for id in [
        "UserId",
        "TeamId",
        "EnvironmentId",
        "ApiKeyId",
        "SessionId",
        "SshKeyId",
    ] {
        assert_eq!(schemas[id]["type"], "string", "{id}");
        assert_eq!(schemas[id]["format"], "uuid", "{id}");
    }
    assert_eq!(
        schemas["Environment"]["properties"]["created_at"]["format"],
        "date-time"
    );
    for (schema, field) in [
        ("Registration", "password"),
        ("LoginRequest", "password"),
        ("NewVariable", "value"),
    ] {
        let prop = &schemas[schema]["properties"][field];
        assert_eq!(prop["type"], "string", "{schema}.{field}");
        assert_eq!(prop["writeOnly"], true, "{schema}.{field}");
    }
    // Hashes never travel; the API key's is not in its schema.
    assert!(schemas["ApiKey"]["properties"]["secret_hash"].is_null());
    assert!(schemas["User"]["properties"]["password_hash"].is_null());
}

#[tokio::test]
async fn environment_and_account_lists_answer_the_page_schema_and_take_limit_and_cursor() {
    let spec = spec(&App::new()).await;
    for (path, item) in [
        ("/api/v1/environments/{id}/ports", "EnvironmentPort"),
        ("/api/v1/environments/{id}/variables", "VariableView"),
        ("/api/v1/environments/{id}/sessions", "Session"),
        (
            "/api/v1/environments/{id}/extensions",
            "EnvironmentExtension",
        ),
        ("/api/v1/users/me/api-keys", "ApiKey"),
        ("/api/v1/users/me/sessions", "RefreshSession"),
        ("/api/v1/users/me/ssh-keys", "SshKey"),
    ] {
        let op = &spec["paths"][path]["get"];
        let page = format!("Page_{item}");
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            format!("#/components/schemas/{page}"),
            "GET {path}"
        );
        // The page's items are the item's schema (inlined by utoipa's generics).
        let schema = &spec["components"]["schemas"][page.as_str()];
        assert_eq!(
            schema["properties"]["items"]["type"], "array",
            "{page}: {schema}"
        );
        let fields = |v: &Value| -> BTreeSet<String> {
            v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(
            fields(&schema["properties"]["items"]["items"]),
            fields(&spec["components"]["schemas"][item]),
            "{page}: {schema}"
        );
        assert_eq!(schema["required"], serde_json::json!(["items"]), "{page}");
        assert!(
            schema["properties"]["next_cursor"].is_object(),
            "{page}: {schema}"
        );
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            params.contains("limit") && params.contains("cursor"),
            "GET {path}: {params:?}"
        );
        assert!(
            op["responses"]["422"].is_object(),
            "GET {path} documents 422"
        );
    }
}

#[tokio::test]
async fn the_idle_policy_requires_both_fields_and_allows_null_for_never() {
    let spec = spec(&App::new()).await;
    let policy = &spec["components"]["schemas"]["IdlePolicy"];
    let mut required: Vec<_> = policy["required"]
        .as_array()
        .expect("IdlePolicy lists its required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["stop_after_hours", "suspend_after_minutes"]);
    for field in ["stop_after_hours", "suspend_after_minutes"] {
        let types = policy["properties"][field]["type"].to_string();
        assert!(types.contains("null"), "{field} may be null: {types}");
    }
    let statuses = spec["components"]["schemas"]["EnvironmentStatus"].to_string();
    assert!(statuses.contains("suspended") && statuses.contains("resuming"));
}
