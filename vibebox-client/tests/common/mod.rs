//! A real server in this process on 127.0.0.1: the HTTP front on the in-memory store and the
//! fake engine (published ports reachable here, so tunnels reach a local listener), with a
//! layer that records every request's method and path.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{SecretBox, SecretString};
use vibebox_client::types::{EnvironmentId, ProjectId};
use vibebox_client::{Client, Credential, NewEnvironment, NewProject, Registration};
use vibebox_core::Vibebox;
use vibebox_core::runtime::Capabilities;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::testing::{FakeRuntime, MemoryStore};
use vibebox_http::{AccessTokens, HttpConfig, SigningKey};

pub const PASSWORD: &str = "correct horse battery staple";
/// The server's access-token signing key (tests sign expired tokens with it).
pub const SIGNING_KEY: [u8; 32] = [5u8; 32];

/// The access tokens of the test server's configuration.
pub fn access_tokens() -> AccessTokens {
    let key = SigningKey::new("k1", SecretBox::new(Box::new(SIGNING_KEY.to_vec()))).unwrap();
    AccessTokens::new("vibebox", "vibebox-api", key)
}

/// A local TCP echo server (the "app" a tunnel reaches through the published port); its
/// port.
pub async fn echo_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

/// Every request the server received: (method, path).
pub type Seen = Arc<Mutex<Vec<(String, String)>>>;

pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub vibebox: Arc<Vibebox>,
    pub runtime: Arc<FakeRuntime>,
    pub seen: Seen,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `tweak` adjusts (the gateway it reports, say).
    pub async fn start_with(tweak: impl FnOnce(&mut HttpConfig)) -> Self {
        let runtime = Arc::new(FakeRuntime::new().with_capabilities(Capabilities {
            storage_limit: false,
            kill_exec: true,
            stats: true,
            local_ports: true,
            pause: true,
        }));
        let vibebox = Arc::new(
            Vibebox::builder()
                .store(Arc::new(MemoryStore::new()))
                .runtime(runtime.clone())
                .secrets(Arc::new(AesGcmSecrets::new(
                    Keyring::generate(KeyId::new("k1").unwrap()).unwrap(),
                )))
                .build()
                .unwrap(),
        );
        let mut config = HttpConfig {
            per_ip_rate_limit: None,
            auth_rate_limit: None,
            per_user_rate_limit: None,
            ..HttpConfig::new(access_tokens())
        };
        tweak(&mut config);
        let seen: Seen = Arc::default();
        let record = seen.clone();
        let router = vibebox_http::router(vibebox.clone(), config).layer(
            axum::middleware::from_fn(move |request: Request, next: Next| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push((
                        request.method().to_string(),
                        request.uri().path().to_string(),
                    ));
                    let response: Response = next.run(request).await;
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            addr,
            url: format!("http://{addr}"),
            vibebox,
            runtime,
            seen,
        }
    }

    /// A client without a credential.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url, Credential::None).unwrap()
    }

    /// Registers `name@example.com` through the API.
    pub async fn register(&self, name: &str) {
        self.anonymous()
            .register(&Registration {
                email: format!("{name}@example.com"),
                password: SecretString::from(PASSWORD),
                display_name: name.to_string(),
            })
            .await
            .unwrap();
    }

    /// Registers and signs in `name`; returns the signed-in client.
    pub async fn signed_in(&self, name: &str) -> Client {
        self.register(name).await;
        let client = self.anonymous();
        client
            .login(
                &format!("{name}@example.com"),
                &SecretString::from(PASSWORD),
            )
            .await
            .unwrap();
        client
    }
}

/// Creates the project `alpha` and its stopped environment `dev` on the base image.
pub async fn alpha_dev(client: &Client) -> (ProjectId, EnvironmentId) {
    let project = client
        .create_project(&NewProject {
            name: "Alpha".into(),
            slug: "alpha".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let env = client
        .create_environment(&NewEnvironment::new(
            project.id,
            "Dev",
            "dev",
            "vibebox/base:bookworm",
        ))
        .await
        .unwrap();
    (project.id, env.id)
}
