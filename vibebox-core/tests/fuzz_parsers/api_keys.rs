//! API keys and opaque tokens (`vibebox_core::tokens`): `parse_api_key` on anything,
//! generated keys round-trip, and no single-byte change of a key or a refresh token still
//! verifies.

use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use vibebox_core::tokens::{
    API_KEY_PREFIX, generate_api_key, generate_refresh_token, hash_token, parse_api_key,
    verify_token,
};

use crate::harness::{Edit, apply_all, edit, fuzz, mutate_distinct};

/// `^vbx_[0-9a-fA-F]{16}_[0-9a-fA-F]{64}$`, written without the parser's code.
fn is_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 4 + 16 + 1 + 64
        && s.starts_with(API_KEY_PREFIX)
        && b[20] == b'_'
        && b[4..20].iter().all(u8::is_ascii_hexdigit)
        && b[21..].iter().all(u8::is_ascii_hexdigit)
}

/// Keys that are nearly right: the prefix, the id and the secret each a little off.
fn near_valid_key() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec!["vbx_", "VBX_", "vbx", "vbx__", "", "vbx-", "vbx_vbx_"]);
    let separator = prop::sample::select(vec!["_", "", "-", "__", "é", " "]);
    let suffix = prop::sample::select(vec!["", "\n", " ", "_", "x", "é", "\0"]);
    (
        prefix,
        "[0-9a-fA-F]{14,18}",
        separator,
        "[0-9a-fA-F]{62,66}",
        suffix,
    )
        .prop_map(|(p, id, sep, secret, suffix)| format!("{p}{id}{sep}{secret}{suffix}"))
}

/// A real key with a few edits.
fn edited_key() -> impl Strategy<Value = String> {
    proptest::collection::vec(edit(), 1..4).prop_map(|edits: Vec<Edit>| {
        let key = generate_api_key().expect("randomness");
        apply_all(key.token.expose_secret(), &edits)
    })
}

fn any_key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => ".{0,120}",
        1 => proptest::collection::vec(any::<u8>(), 0..120)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        3 => near_valid_key(),
        3 => edited_key(),
    ]
}

#[test]
fn api_key_parsing_accepts_exactly_the_key_grammar() {
    fuzz("api_key_parse", 2000, any_key_text, |s| {
        let parsed = parse_api_key(&s);
        prop_assert_eq!(parsed.is_some(), is_well_formed(&s), "{:?}", s);
        if let Some((prefix, secret)) = parsed {
            prop_assert_eq!(format!("{prefix}_{secret}"), s.clone());
            prop_assert!(prefix.starts_with(API_KEY_PREFIX));
        }
        Ok(())
    });
}

#[test]
fn generated_api_keys_round_trip_and_no_single_byte_change_verifies() {
    fuzz(
        "api_key_round_trip",
        1000,
        move || (any::<usize>(), any::<u8>(), any::<u8>()),
        |(at, kind, byte)| {
            let key = generate_api_key().expect("randomness");
            let token = key.token.expose_secret();
            let (prefix, secret) = parse_api_key(token).ok_or_else(|| {
                TestCaseError::fail(format!("a generated key does not parse: {token:?}"))
            })?;
            prop_assert_eq!(prefix, key.prefix.as_str());
            prop_assert!(hash_token(secret).ct_eq(&key.secret_hash));
            // The store finds a key by its exact prefix and checks the secret's hash: a changed
            // key must miss one or the other.
            let changed = mutate_distinct(token, at, kind, byte);
            prop_assert_ne!(&changed, token);
            if let Some((p, s)) = parse_api_key(&changed) {
                prop_assert!(
                    p != key.prefix || !hash_token(s).ct_eq(&key.secret_hash),
                    "{:?} still names the key",
                    changed
                );
            }
            Ok(())
        },
    );
}

#[test]
fn refresh_tokens_verify_only_unchanged() {
    fuzz(
        "refresh_token_verify",
        1000,
        move || (any::<usize>(), any::<u8>(), any::<u8>(), ".{0,80}"),
        |(at, kind, byte, other)| {
            let (token, hash) = generate_refresh_token().expect("randomness");
            prop_assert!(verify_token(&token, &hash));
            let changed = mutate_distinct(token.expose_secret(), at, kind, byte);
            prop_assert!(!verify_token(&SecretString::from(changed), &hash));
            if other != token.expose_secret() {
                prop_assert!(!verify_token(&SecretString::from(other), &hash));
            }
            Ok(())
        },
    );
}
