//! Access tokens: one pinned algorithm with a key id, every registered claim validated with at
//! most 30 s of leeway, and only tokens of type `access` accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use secrecy::{ExposeSecret, SecretBox};
use vibebox_core::id::UserId;
use vibebox_http::{ACCESS_TTL, AccessTokens, Claims, SigningKey};

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn key(kid: &str, secret: &[u8]) -> SigningKey {
    SigningKey::new(kid, SecretBox::new(Box::new(secret.to_vec()))).unwrap()
}

fn tokens() -> AccessTokens {
    AccessTokens::new("vibebox", "vibebox-api", key("k1", SECRET))
}

fn claims(user: UserId) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        iss: "vibebox".into(),
        aud: "vibebox-api".into(),
        sub: user.to_string(),
        iat: now,
        nbf: now,
        exp: now + 900,
        typ: "access".into(),
    }
}

fn user() -> UserId {
    uuid::Uuid::now_v7().to_string().parse().unwrap()
}

#[test]
fn an_issued_token_verifies_to_its_user_for_fifteen_minutes() {
    let t = tokens();
    let u = user();
    let issued = t.issue(u).unwrap();
    assert_eq!(issued.expires_in, 900);
    assert_eq!(ACCESS_TTL.as_secs(), 900);
    assert_eq!(t.verify(issued.token.expose_secret()).unwrap(), u);
}

#[test]
fn an_expired_token_is_refused_beyond_the_30_second_leeway() {
    let t = tokens();
    let u = user();
    let now = Utc::now().timestamp();
    let mut c = claims(u);
    c.exp = now - 10;
    assert_eq!(
        t.verify(t.sign(&c).unwrap().expose_secret()).unwrap(),
        u,
        "within leeway"
    );
    c.exp = now - 31;
    assert!(t.verify(t.sign(&c).unwrap().expose_secret()).is_err());
}

#[test]
fn a_token_not_yet_valid_or_issued_in_the_future_is_refused() {
    let t = tokens();
    let now = Utc::now().timestamp();
    let mut c = claims(user());
    c.nbf = now + 120;
    assert!(t.verify(t.sign(&c).unwrap().expose_secret()).is_err());
    let mut c = claims(user());
    c.iat = now + 120;
    assert!(t.verify(t.sign(&c).unwrap().expose_secret()).is_err());
}

#[test]
fn another_issuer_or_audience_is_refused() {
    let t = tokens();
    let mut c = claims(user());
    c.iss = "someone-else".into();
    assert!(t.verify(t.sign(&c).unwrap().expose_secret()).is_err());
    let mut c = claims(user());
    c.aud = "another-api".into();
    assert!(t.verify(t.sign(&c).unwrap().expose_secret()).is_err());
}

#[test]
fn a_refresh_token_is_never_accepted_as_an_access_token() {
    let t = tokens();
    let mut c = claims(user());
    c.typ = "refresh".into();
    let e = t.verify(t.sign(&c).unwrap().expose_secret()).unwrap_err();
    assert_eq!(e.kind(), vibebox_core::error::ErrorKind::Unauthenticated);
}

#[test]
fn only_the_pinned_algorithm_is_accepted() {
    let t = tokens();
    let mut header = Header::new(jsonwebtoken::Algorithm::HS512);
    header.kid = Some("k1".into());
    let token =
        jsonwebtoken::encode(&header, &claims(user()), &EncodingKey::from_secret(SECRET)).unwrap();
    assert!(t.verify(&token).is_err());
    // An unsigned token ("alg": "none").
    let c = claims(user());
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","kid":"k1","typ":"JWT"}"#),
        b64(&serde_json::to_string(&c).unwrap())
    );
    assert!(t.verify(&none).is_err());
}

#[test]
fn every_registered_claim_is_required() {
    let t = tokens();
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    for missing in ["exp", "nbf", "iat", "iss", "aud", "sub"] {
        let mut c = serde_json::to_value(claims(user())).unwrap();
        c.as_object_mut().unwrap().remove(missing);
        let token = jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(
            t.verify(&token).is_err(),
            "a token without {missing} was accepted"
        );
    }
}

#[test]
fn tokens_need_a_known_key_id_and_a_valid_signature() {
    let t = tokens();
    let u = user();
    let good = t.issue(u).unwrap().token.expose_secret().to_string();
    // A flipped signature byte.
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert!(t.verify(std::str::from_utf8(&tampered).unwrap()).is_err());
    // Signed by a key the verifier does not know.
    let other = AccessTokens::new("vibebox", "vibebox-api", key("k9", &[7u8; 32]));
    let foreign = other.issue(u).unwrap();
    assert!(t.verify(foreign.token.expose_secret()).is_err());
}

#[test]
fn a_rotated_out_key_still_verifies_until_dropped() {
    let old = AccessTokens::new("vibebox", "vibebox-api", key("k1", SECRET));
    let u = user();
    let issued = old.issue(u).unwrap();
    let rotated = AccessTokens::new("vibebox", "vibebox-api", key("k2", &[9u8; 32]))
        .also_verify(key("k1", SECRET));
    assert_eq!(rotated.verify(issued.token.expose_secret()).unwrap(), u);
    let dropped = AccessTokens::new("vibebox", "vibebox-api", key("k2", &[9u8; 32]));
    assert!(dropped.verify(issued.token.expose_secret()).is_err());
}

#[test]
fn short_keys_and_odd_key_ids_are_refused_naming_the_field() {
    let e = SigningKey::new("k1", SecretBox::new(Box::new(vec![1u8; 31]))).unwrap_err();
    assert_eq!(e.field(), Some("signing_key"));
    let e = SigningKey::new("k 1", SecretBox::new(Box::new(vec![1u8; 32]))).unwrap_err();
    assert_eq!(e.field(), Some("kid"));
}
