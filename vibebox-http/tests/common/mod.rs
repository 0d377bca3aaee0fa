//! An app on the in-memory kit, and requests through `tower::ServiceExt::oneshot`.
#![allow(dead_code)]

pub mod pages;
pub mod ws;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::{SecretBox, SecretString};
use serde_json::Value;
use tower::ServiceExt;
use vibebox_core::Vibebox;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::Registration;
use vibebox_core::testing::{FakeRuntime, MemoryStore};
use vibebox_http::{AccessTokens, HttpConfig, SigningKey, router};

pub const PASSWORD: &str = "correct horse battery staple";

/// The test configuration: defaults, with a fixed signing key.
pub fn config() -> HttpConfig {
    let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![3u8; 32]))).unwrap();
    HttpConfig::new(AccessTokens::new("vibebox", "vibebox-api", key))
}

pub struct App {
    pub router: axum::Router,
    pub vibebox: Arc<Vibebox>,
    pub runtime: Arc<FakeRuntime>,
    pub store: Arc<MemoryStore>,
}

/// A response: status, headers and the body as JSON (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl App {
    pub fn new() -> Self {
        Self::with(config())
    }

    pub fn with(config: HttpConfig) -> Self {
        Self::with_runtime(config, FakeRuntime::new())
    }

    /// An app on the given fake engine (with its capabilities, say).
    pub fn with_runtime(config: HttpConfig, runtime: FakeRuntime) -> Self {
        let runtime = Arc::new(runtime);
        let store = Arc::new(MemoryStore::new());
        let vibebox = Arc::new(
            Vibebox::builder()
                .store(store.clone())
                .runtime(runtime.clone())
                .secrets(Arc::new(AesGcmSecrets::new(
                    Keyring::generate(KeyId::new("k1").unwrap()).unwrap(),
                )))
                .build()
                .unwrap(),
        );
        let router = router(vibebox.clone(), config);
        Self {
            router,
            vibebox,
            runtime,
            store,
        }
    }

    /// The container of an environment (by its id as the API shows it).
    pub async fn container_of(&self, env: &str) -> vibebox_core::runtime::ContainerId {
        let id: vibebox_core::id::EnvironmentId = env.parse().unwrap();
        let env = self
            .vibebox
            .unchecked()
            .store()
            .get_environment(id)
            .await
            .unwrap();
        vibebox_core::runtime::ContainerId(env.container_id.unwrap())
    }

    /// Registers a user through the service.
    pub async fn user(&self, name: &str) -> vibebox_core::domain::User {
        self.vibebox
            .register(Registration {
                email: format!("{name}@example.com"),
                password: SecretString::from(PASSWORD),
                display_name: name.to_string(),
            })
            .await
            .unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, bearer: Option<&str>) -> Reply {
        let mut r = Request::get(uri);
        if let Some(token) = bearer {
            r = r.header("authorization", format!("Bearer {token}"));
        }
        self.send(r.body(Body::empty()).unwrap()).await
    }

    pub async fn post_json(&self, uri: &str, body: Value) -> Reply {
        self.send(
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Signs in through `POST /api/v1/auth/login`.
    pub async fn login(&self, name: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/login",
            serde_json::json!({"email": format!("{name}@example.com"), "password": PASSWORD}),
        )
        .await
    }
}

impl App {
    /// Registers a user and signs them in; returns the access token.
    pub async fn signed_in(&self, name: &str) -> String {
        self.user(name).await;
        let r = self.login(name).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// Any request with a bearer token and an optional JSON body.
    pub async fn call(&self, method: &str, uri: &str, bearer: &str, body: Option<Value>) -> Reply {
        let mut r = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {bearer}"));
        let body = match body {
            Some(v) => {
                r = r.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(r.body(body).unwrap()).await
    }
}

impl App {
    /// Creates a personal project `alpha` and a stopped environment `dev` in it through HTTP;
    /// returns the project's and the environment's ids.
    pub async fn project_with_env(&self, bearer: &str) -> (String, String) {
        let project = self
            .call(
                "POST",
                "/api/v1/projects",
                bearer,
                Some(serde_json::json!({"name": "A", "slug": "alpha"})),
            )
            .await;
        assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
        let project = project.body["id"].as_str().unwrap().to_string();
        let env = self
            .call(
                "POST",
                "/api/v1/environments",
                bearer,
                Some(
                    serde_json::json!({"project_id": project, "name": "Dev", "slug": "dev",
                                        "base_image": "vibebox/base:bookworm"}),
                ),
            )
            .await;
        assert_eq!(env.status, StatusCode::CREATED, "{}", env.body);
        (project, env.body["id"].as_str().unwrap().to_string())
    }
}

impl App {
    /// Creates team `slug` through HTTP with `admin` (a token) as its admin and adds the
    /// signed-up users `members` (`name@example.com`) with their roles (`developer`, `viewer`,
    /// `admin`); returns the team's id.
    pub async fn team(&self, admin: &str, slug: &str, members: &[(&str, &str)]) -> String {
        let team = self
            .call(
                "POST",
                "/api/v1/teams",
                admin,
                Some(serde_json::json!({"name": slug, "slug": slug})),
            )
            .await;
        assert_eq!(team.status, StatusCode::CREATED, "{}", team.body);
        let team = team.body["id"].as_str().unwrap().to_string();
        for (name, role) in members {
            let r = self
                .call(
                    "POST",
                    &format!("/api/v1/teams/{team}/members"),
                    admin,
                    Some(serde_json::json!({"email": format!("{name}@example.com"), "role": role})),
                )
                .await;
            assert!(r.status.is_success(), "{}", r.body);
        }
        team
    }

    /// [`project_with_env`](Self::project_with_env), started; returns the environment's id.
    pub async fn running_env(&self, bearer: &str) -> String {
        let (_, env) = self.project_with_env(bearer).await;
        let r = self.start(&env, bearer).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        env
    }

    /// `POST /api/v1/environments/{env}/start`.
    pub async fn start(&self, env: &str, bearer: &str) -> Reply {
        self.call(
            "POST",
            &format!("/api/v1/environments/{env}/start"),
            bearer,
            None,
        )
        .await
    }
}

impl App {
    /// Serves the app on 127.0.0.1 (with the peer address known) and returns its address.
    pub async fn serve(&self) -> std::net::SocketAddr {
        serve(self.router.clone()).await
    }

    /// Creates an API key for the user through the service; returns the whole `vbx_` token.
    pub async fn api_key(
        &self,
        user: vibebox_core::id::UserId,
        scopes: Vec<vibebox_core::domain::Scope>,
    ) -> String {
        let actor = self.vibebox.actor_for_user(user).await.unwrap();
        let key = self
            .vibebox
            .create_api_key(
                &actor,
                vibebox_core::service::NewApiKey {
                    name: "ci".into(),
                    scopes,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        secrecy::ExposeSecret::expose_secret(&key.token).to_string()
    }

    /// Disables the account behind `token` through `PATCH /users/{id}` as the platform
    /// admin `admin`.
    pub async fn disable(&self, admin: &str, token: &str) {
        let me = self.call("GET", "/api/v1/users/me", token, None).await;
        let id = me.body["id"].as_str().unwrap().to_string();
        let r = self
            .call(
                "PATCH",
                &format!("/api/v1/users/{id}"),
                admin,
                Some(serde_json::json!({"disabled": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

/// Serves a router on 127.0.0.1 (with the peer address known) and returns its address.
pub async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // As the example server does: small frames go out at once.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}
