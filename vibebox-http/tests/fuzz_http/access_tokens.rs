//! JWT access tokens (`AccessTokens::verify`), bearer credentials through the router (JWTs and
//! `vbx_` API keys in `Authorization`) and one-time WebSocket tickets.
//!
//! Tokens are built from parts: a header and claims each right or wrong in one way (another
//! algorithm, an unknown key id, a refresh token's type, expired, not yet valid, another
//! audience, wrong JSON types), signed with the right key, the rotated-out key, another key
//! or nothing, encoded canonically or not, then optionally edited. The oracle: `verify`
//! accepts a token only when every rule holds, and then returns its subject; it accepts every
//! canonical valid token; every refusal is `Unauthenticated`; any single-byte change of an
//! issued token is refused. Over HTTP: exactly the valid credentials get through, everything
//! else is a 401 problem with a `WWW-Authenticate` challenge.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use http_body_util::BodyExt;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretBox};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use vibebox_core::ErrorKind;
use vibebox_core::domain::Scope;
use vibebox_core::id::UserId;
use vibebox_core::rbac::Actor;
use vibebox_http::{AccessTokens, PROBLEM_JSON, SigningKey, Tickets};

use crate::harness::{Edit, apply_all, edit, fuzz, mutate_distinct, no_panic_since, panics};
use crate::json_mutation::awkward_value;
use crate::{fuzz_app, runtime};

const ISSUER: &str = "vibebox";
const AUDIENCE: &str = "vibebox-api";
const CURRENT: &[u8] = &[3u8; 32];
const PREVIOUS: &[u8] = &[9u8; 32];
const OTHER: &[u8] = &[5u8; 32];

/// Signs with `k1` (the bytes `common::config` uses) and still verifies `k0`.
fn tokens() -> AccessTokens {
    let key = |kid: &str, bytes: &[u8]| {
        SigningKey::new(kid, SecretBox::new(Box::new(bytes.to_vec()))).expect("a valid key")
    };
    AccessTokens::new(ISSUER, AUDIENCE, key("k1", CURRENT)).also_verify(key("k0", PREVIOUS))
}

/// HMAC-SHA256 (RFC 2104), written out so that the tokens do not depend on the code under test.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// One claim: kept, gone, or set to something else.
#[derive(Clone, Debug)]
enum Claim {
    Keep,
    Remove,
    Set(Value),
}

#[derive(Clone, Debug)]
enum Signer {
    Current,
    Previous,
    Other,
    Empty,
    Random(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Encoding {
    Canonical,
    Padded,
    Standard,
    RawJson,
    ExtraSegment,
    NoSignature,
}

/// A token described by its parts.
#[derive(Clone, Debug)]
struct TokenParts {
    alg: Option<Value>,
    kid: Option<Value>,
    extra_header: Option<(String, Value)>,
    /// Seconds from now of `iat`, `nbf` and `exp` when kept.
    times: (i64, i64, i64),
    claims: Vec<(&'static str, Claim)>,
    signer: Signer,
    encoding: Encoding,
    edits: Vec<Edit>,
}

fn claim(specific: Vec<Value>) -> impl Strategy<Value = Claim> {
    prop_oneof![
        10 => Just(Claim::Keep),
        1 => Just(Claim::Remove),
        2 => prop::sample::select(specific).prop_map(Claim::Set),
        1 => awkward_value().prop_map(Claim::Set),
    ]
}

fn any_token_parts() -> impl Strategy<Value = TokenParts> {
    let alg = prop_oneof![
        6 => Just(Some(json!("HS256"))),
        1 => Just(None),
        2 => prop::sample::select(vec![
            json!("HS384"), json!("HS512"), json!("none"), json!("RS256"), json!("ES256"),
            json!("EdDSA"), json!("hs256"), json!(1), json!(null),
        ]).prop_map(Some),
    ];
    let kid = prop_oneof![
        6 => Just(Some(json!("k1"))),
        2 => Just(Some(json!("k0"))),
        1 => Just(None),
        2 => prop::sample::select(vec![json!("k9"), json!(""), json!(7), json!(null), json!("k1 "), json!(["k1"])])
            .prop_map(Some),
    ];
    let extra = prop_oneof![
        4 => Just(None),
        1 => prop::sample::select(vec![
            ("typ".to_string(), json!("refresh")),
            ("jku".to_string(), json!("http://evil.example/keys")),
            ("x5u".to_string(), json!(5)),
            ("cty".to_string(), json!("JWT")),
        ]).prop_map(Some),
    ];
    // iat, nbf, exp relative to now; far from the 30 s leeway's edges, or inside it.
    let times = prop_oneof![
        6 => Just((0i64, 0i64, 900i64)),
        1 => Just((-2000, -2000, -1000)),
        1 => Just((0, 0, -10)),
        1 => Just((0, 1000, 2000)),
        1 => Just((1000, 0, 2000)),
        1 => Just((10, 10, 900)),
    ];
    let claims = (
        claim(vec![json!("other"), json!(""), json!(["vibebox"])]),
        claim(vec![
            json!("other"),
            json!([AUDIENCE]),
            json!(["x", AUDIENCE]),
            json!([]),
        ]),
        claim(vec![
            json!("not-a-uuid"),
            json!(UserId::new().to_string()),
            json!(5),
        ]),
        claim(vec![json!("refresh"), json!("Access"), json!("")]),
        claim(vec![
            json!(i64::MAX),
            json!(-1),
            json!(1e20),
            json!("1700000000"),
        ]),
        claim(vec![json!(i64::MIN), json!(i64::MAX), json!(0.5)]),
        claim(vec![json!(i64::MAX), json!(0), json!(null)]),
    )
        .prop_map(|(iss, aud, sub, typ, exp, nbf, iat)| {
            vec![
                ("iss", iss),
                ("aud", aud),
                ("sub", sub),
                ("typ", typ),
                ("exp", exp),
                ("nbf", nbf),
                ("iat", iat),
            ]
        });
    let signer = prop_oneof![
        8 => Just(Signer::Current),
        3 => Just(Signer::Previous),
        1 => Just(Signer::Other),
        1 => Just(Signer::Empty),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Signer::Random),
    ];
    let encoding = prop_oneof![
        10 => Just(Encoding::Canonical),
        1 => Just(Encoding::Padded),
        1 => Just(Encoding::Standard),
        1 => Just(Encoding::RawJson),
        1 => Just(Encoding::ExtraSegment),
        1 => Just(Encoding::NoSignature),
    ];
    let edits = prop_oneof![
        4 => Just(Vec::new()),
        1 => proptest::collection::vec(edit(), 1..3),
    ];
    (alg, kid, extra, times, claims, signer, encoding, edits).prop_map(
        |(alg, kid, extra_header, times, claims, signer, encoding, edits)| TokenParts {
            alg,
            kid,
            extra_header,
            times,
            claims,
            signer,
            encoding,
            edits,
        },
    )
}

/// A valid token's parts.
fn valid_parts() -> TokenParts {
    TokenParts {
        alg: Some(json!("HS256")),
        kid: Some(json!("k1")),
        extra_header: None,
        times: (0, 0, 900),
        claims: ["iss", "aud", "sub", "typ", "exp", "nbf", "iat"]
            .into_iter()
            .map(|name| (name, Claim::Keep))
            .collect(),
        signer: Signer::Current,
        encoding: Encoding::Canonical,
        edits: Vec::new(),
    }
}

/// Token parts: a valid token with up to three of its parts taken from random ones (so
/// that each rule is exercised alone, and valid tokens are common), or random parts.
fn token_parts() -> impl Strategy<Value = TokenParts> {
    let near_valid = (
        any_token_parts(),
        proptest::collection::vec(0usize..14, 0..4),
    )
        .prop_map(|(random, picks)| {
            let mut parts = valid_parts();
            for pick in picks {
                match pick {
                    0 => parts.alg = random.alg.clone(),
                    1 => parts.kid = random.kid.clone(),
                    2 => parts.extra_header = random.extra_header.clone(),
                    3 => parts.times = random.times,
                    4..=10 => parts.claims[pick - 4] = random.claims[pick - 4].clone(),
                    11 => parts.signer = random.signer.clone(),
                    12 => parts.encoding = random.encoding,
                    _ => parts.edits = random.edits.clone(),
                }
            }
            // The rotated-out key signs under its own id.
            if matches!(parts.signer, Signer::Previous) && parts.kid == Some(json!("k1")) {
                parts.kid = Some(json!("k0"));
            }
            parts
        });
    prop_oneof![3 => near_valid, 1 => any_token_parts()]
}

impl TokenParts {
    fn header(&self) -> Value {
        let mut h = Map::new();
        if let Some(alg) = &self.alg {
            h.insert("alg".into(), alg.clone());
        }
        h.insert("typ".into(), json!("JWT"));
        if let Some(kid) = &self.kid {
            h.insert("kid".into(), kid.clone());
        }
        if let Some((k, v)) = &self.extra_header {
            h.insert(k.clone(), v.clone());
        }
        Value::Object(h)
    }

    fn claims(&self, now: i64, subject: &str) -> Value {
        let (iat, nbf, exp) = self.times;
        let default = |name: &str| match name {
            "iss" => json!(ISSUER),
            "aud" => json!(AUDIENCE),
            "sub" => json!(subject),
            "typ" => json!("access"),
            "exp" => json!(now + exp),
            "nbf" => json!(now + nbf),
            _ => json!(now + iat),
        };
        let mut c = Map::new();
        for (name, claim) in &self.claims {
            match claim {
                Claim::Keep => {
                    c.insert((*name).into(), default(name));
                }
                Claim::Remove => {}
                Claim::Set(v) => {
                    c.insert((*name).into(), v.clone());
                }
            }
        }
        Value::Object(c)
    }

    /// The compact token, and whether it is untouched after signing.
    fn encode(&self, now: i64, subject: &str) -> (String, bool) {
        let segment = |v: &Value| {
            let json = v.to_string();
            match self.encoding {
                Encoding::Padded => URL_SAFE.encode(&json),
                Encoding::Standard => STANDARD.encode(&json),
                Encoding::RawJson => json,
                _ => URL_SAFE_NO_PAD.encode(&json),
            }
        };
        let signing_input = format!(
            "{}.{}",
            segment(&self.header()),
            segment(&self.claims(now, subject))
        );
        let signature = match &self.signer {
            Signer::Current => hmac_sha256(CURRENT, signing_input.as_bytes()).to_vec(),
            Signer::Previous => hmac_sha256(PREVIOUS, signing_input.as_bytes()).to_vec(),
            Signer::Other => hmac_sha256(OTHER, signing_input.as_bytes()).to_vec(),
            Signer::Empty => Vec::new(),
            Signer::Random(b) => b.clone(),
        };
        let token = match self.encoding {
            Encoding::NoSignature => signing_input,
            Encoding::ExtraSegment => {
                format!("{signing_input}.{}.e30", URL_SAFE_NO_PAD.encode(&signature))
            }
            _ => format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature)),
        };
        let edited = apply_all(&token, &self.edits);
        let untouched = edited == token;
        (edited, untouched)
    }

    /// Whether the key id names a key and the signer holds that key.
    fn signed_by_named_key(&self) -> bool {
        matches!(
            (&self.kid, &self.signer),
            (Some(Value::String(k)), Signer::Current) if k == "k1"
        ) || matches!(
            (&self.kid, &self.signer),
            (Some(Value::String(k)), Signer::Previous) if k == "k0"
        )
    }

    /// Every claim kept, times valid, header right, signed by the named key, canonical: the
    /// token must verify.
    fn surely_valid(&self) -> bool {
        let (iat, nbf, exp) = self.times;
        self.alg == Some(json!("HS256"))
            && self.extra_header.is_none()
            && self.signed_by_named_key()
            && self.encoding == Encoding::Canonical
            && self.edits.is_empty()
            && self.claims.iter().all(|(_, c)| matches!(c, Claim::Keep))
            && iat <= 30
            && nbf <= 30
            && exp > 30
    }
}

#[test]
fn access_tokens_verify_only_when_every_rule_holds() {
    let tokens = tokens();
    let user = UserId::new();
    let subject = user.to_string();
    fuzz("jwt_verify", 2000, token_parts, |parts| {
        let now = chrono::Utc::now().timestamp();
        let (token, untouched) = parts.encode(now, &subject);
        match tokens.verify(&token) {
            Ok(id) => {
                // Accepted: so every rule held, on the claims as they were sent.
                prop_assert!(untouched, "an edited token verified: {:?}", token);
                prop_assert_eq!(parts.alg.clone(), Some(json!("HS256")));
                prop_assert!(parts.signed_by_named_key(), "{:?}", parts);
                let c = parts.claims(now, &subject);
                prop_assert_eq!(&c["typ"], "access", "{}", c);
                prop_assert_eq!(&c["iss"], ISSUER, "{}", c);
                let aud_ok = c["aud"] == AUDIENCE
                    || c["aud"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == AUDIENCE));
                prop_assert!(aud_ok, "{}", c);
                let time = |name: &str| c[name].as_f64();
                let now = now as f64;
                prop_assert!(
                    time("exp").is_some_and(|t| t > now - 30.0),
                    "expired: {}",
                    c
                );
                prop_assert!(
                    time("nbf").is_some_and(|t| t <= now + 30.0),
                    "not yet valid: {}",
                    c
                );
                prop_assert!(
                    time("iat").is_some_and(|t| t <= now + 30.0),
                    "issued later: {}",
                    c
                );
                let id = id.to_string();
                prop_assert_eq!(&c["sub"], id.as_str(), "{}", c);
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{}", e);
                prop_assert!(
                    !parts.surely_valid(),
                    "a valid token was refused: {:?}",
                    parts
                );
            }
        }
        Ok(())
    });
}

#[test]
fn issued_tokens_verify_and_no_single_byte_change_does() {
    let tokens = tokens();
    fuzz(
        "jwt_round_trip",
        1000,
        move || (any::<usize>(), any::<u8>(), any::<u8>()),
        |(at, kind, byte)| {
            let user = UserId::new();
            let issued = tokens.issue(user)?;
            let token = issued.token.expose_secret();
            prop_assert_eq!(tokens.verify(token)?, user);
            let changed = mutate_distinct(token, at, kind, byte);
            let r = tokens.verify(&changed);
            prop_assert!(r.is_err(), "{:?} (from {:?}) verified", changed, token);
            Ok(())
        },
    );
}

#[test]
fn tickets_open_once_and_nothing_else_opens() {
    fuzz(
        "ws_ticket_redeem",
        1000,
        move || (any::<usize>(), any::<u8>(), any::<u8>(), ".{0,80}"),
        |(at, kind, byte, other)| {
            let tickets = Tickets::default();
            let ticket = tickets.issue(Actor::System)?;
            let r = tickets.redeem(&other);
            prop_assert!(r.is_err() && other != ticket);
            prop_assert!(
                tickets
                    .redeem(&mutate_distinct(&ticket, at, kind, byte))
                    .is_err()
            );
            prop_assert_eq!(tickets.redeem(&ticket)?, Actor::System);
            let again = tickets.redeem(&ticket);
            prop_assert_eq!(
                again.err().map(|e| e.kind()),
                Some(ErrorKind::Unauthenticated)
            );
            Ok(())
        },
    );
}

/// An `Authorization` value: a scheme, a separator, and a credential right or bent.
#[derive(Clone, Debug)]
struct Credential {
    scheme: &'static str,
    separator: &'static str,
    which: u8,
    edits: Vec<Edit>,
    parts: TokenParts,
    raw: Vec<u8>,
}

fn credential() -> impl Strategy<Value = Credential> {
    (
        prop::sample::select(vec![
            "Bearer", "Bearer", "Bearer", "bearer", "BEARER", "Basic", "Token", "",
        ]),
        prop::sample::select(vec![" ", " ", " ", "  ", "\t", "", " \u{a0}"]),
        0u8..5,
        prop_oneof![Just(Vec::new()), proptest::collection::vec(edit(), 1..3)],
        token_parts(),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(scheme, separator, which, edits, parts, raw)| Credential {
            scheme,
            separator,
            which,
            edits,
            parts,
            raw,
        })
}

#[test]
fn bearer_credentials_get_through_only_when_valid() {
    let rt = runtime();
    let (app, jwt, api_key) = rt.block_on(async {
        let app = fuzz_app();
        let jwt = app.signed_in("alice").await;
        let keyholder = app.user("keyholder").await;
        let key = app.api_key(keyholder.id, vec![Scope::Read]).await;
        (app, jwt, key)
    });
    fuzz("http_bearer_credentials", 800, credential, |c| {
        let now = chrono::Utc::now().timestamp();
        let base = match c.which {
            0 => jwt.clone(),
            1 => api_key.clone(),
            2 => c.parts.encode(now, &UserId::new().to_string()).0,
            3 => format!("vbx_{}", String::from_utf8_lossy(&c.raw)),
            _ => String::from_utf8_lossy(&c.raw).into_owned(),
        };
        let credential = apply_all(&base, &c.edits);
        let value = format!("{}{}{}", c.scheme, c.separator, credential);
        let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) else {
            // Not a header value: no client can send it.
            return Ok(());
        };
        let expected_ok = {
            let text = value.to_str().unwrap_or("");
            text.split_once(' ').is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer")
                    && (token.trim() == jwt || token.trim() == api_key)
            })
        };
        let request = Request::get("/api/v1/users/me")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap();
        let before = panics();
        let response = rt.block_on(app.router.clone().oneshot(request)).unwrap();
        no_panic_since(before)?;
        let status = response.status();
        let challenge = response.headers().contains_key(header::WWW_AUTHENTICATE);
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = rt
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        if expected_ok {
            prop_assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        } else {
            prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{:?}", c);
            prop_assert!(challenge);
            prop_assert_eq!(content_type, Some(HeaderValue::from_static(PROBLEM_JSON)));
            let problem: Value = serde_json::from_slice(&body)?;
            prop_assert_eq!(&problem["code"], "unauthenticated");
        }
        Ok(())
    });
}
