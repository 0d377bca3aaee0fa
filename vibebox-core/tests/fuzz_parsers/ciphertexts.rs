//! The ciphertext decoder (`AesGcmSecrets::decrypt`, `v1:<key_id>:<base64url>`) and the key
//! file parser (`Keyring::from_encoded`): anything is an error of the documented kind, never a
//! panic; what is encrypted decrypts with the same associated data only; no single-byte change
//! of a ciphertext decrypts; a parsed keyring survives its own encoding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use vibebox_core::ErrorKind;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring, Secrets};

use crate::harness::{apply_all, edit, fuzz, mutate_distinct};

fn key(byte: u8) -> SecretBox<[u8; 32]> {
    SecretBox::new(Box::new([byte; 32]))
}

/// `k1` encrypts; `k0` (rotated out) still decrypts.
fn secrets() -> AesGcmSecrets {
    AesGcmSecrets::new(
        Keyring::new(KeyId::new("k1").expect("key id"), key(0x42))
            .with_old_key(KeyId::new("k0").expect("key id"), key(0x17))
            .expect("distinct ids"),
    )
}

/// Secrets whose current key is `k0`: what `secrets()` made before the rotation.
fn before_rotation() -> AesGcmSecrets {
    AesGcmSecrets::new(Keyring::new(KeyId::new("k0").expect("key id"), key(0x17)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

/// Base64 of random bytes in the alphabets and paddings a ciphertext might be mangled into.
fn base64_of_random_bytes() -> impl Strategy<Value = String> {
    (proptest::collection::vec(any::<u8>(), 0..96), 0..4u8).prop_map(|(bytes, alphabet)| {
        match alphabet {
            0 | 1 => URL_SAFE_NO_PAD.encode(&bytes),
            2 => URL_SAFE.encode(&bytes),
            _ => STANDARD.encode(&bytes),
        }
    })
}

/// `<version>:<key id>:<payload>` with each part right or a little wrong.
fn structured_ciphertext() -> impl Strategy<Value = String> {
    let version = prop::sample::select(vec!["v1", "v2", "V1", "", "v1 ", "v0", "v11"]);
    let key_id = prop_oneof![
        prop::sample::select(vec!["k1", "k0", "k9", "", "bad id", "k1:", "K1"])
            .prop_map(str::to_string),
        "[A-Za-z0-9_-]{30,34}",
    ];
    let payload = prop_oneof![
        4 => base64_of_random_bytes(),
        1 => "[A-Za-z0-9_-]{0,80}",
        1 => ".{0,40}",
    ];
    (version, key_id, payload).prop_map(|(v, k, p)| format!("{v}:{k}:{p}"))
}

fn any_ciphertext_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => ".{0,200}",
        1 => proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        4 => structured_ciphertext(),
    ]
}

#[test]
fn decrypting_anything_is_an_internal_error_never_a_panic() {
    let rt = runtime();
    let s = secrets();
    fuzz(
        "ciphertext_decode",
        2000,
        move || {
            (
                any_ciphertext_text(),
                proptest::collection::vec(any::<u8>(), 0..24),
            )
        },
        |(text, aad)| {
            let _ = s.needs_reencryption(&text);
            match rt.block_on(s.decrypt(&text, &aad)) {
                // Random bytes cannot pass AES-GCM's tag (a 2^-128 chance).
                Ok(_) => Err(TestCaseError::fail(format!("{text:?} decrypted"))),
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Internal, "{}", e);
                    Ok(())
                }
            }
        },
    );
}

#[test]
fn ciphertexts_round_trip_and_no_single_byte_change_decrypts() {
    let rt = runtime();
    let s = secrets();
    let old = before_rotation();
    fuzz(
        "ciphertext_round_trip",
        1000,
        move || {
            (
                ".{0,200}",
                proptest::collection::vec(any::<u8>(), 0..48),
                any::<bool>(),
                (any::<usize>(), any::<u8>(), any::<u8>()),
                proptest::collection::vec(edit(), 1..4),
            )
        },
        |(plaintext, aad, rotated, (at, kind, byte), edits)| {
            let maker = if rotated { &old } else { &s };
            let ct = rt.block_on(maker.encrypt(&SecretString::from(plaintext.clone()), &aad))?;
            prop_assert!(!ct.contains(&plaintext) || plaintext.len() < 8, "{}", ct);
            let opened = rt.block_on(s.decrypt(&ct, &aad))?;
            prop_assert_eq!(opened.expose_secret(), plaintext.as_str());
            prop_assert_eq!(s.needs_reencryption(&ct), rotated);
            if rotated {
                let moved = rt.block_on(s.reencrypt(&ct, &aad))?;
                prop_assert!(!s.needs_reencryption(&moved));
                let reopened = rt.block_on(s.decrypt(&moved, &aad))?;
                prop_assert_eq!(reopened.expose_secret(), plaintext.as_str());
            }
            // Bound to its associated data.
            let mut other_aad = aad.clone();
            match other_aad.get_mut(at % aad.len().max(1)) {
                Some(b) => *b ^= byte | 1,
                None => other_aad.push(byte),
            }
            prop_assert!(rt.block_on(s.decrypt(&ct, &other_aad)).is_err());
            // Any single-byte change, and any few edits, is refused.
            let changed = mutate_distinct(&ct, at, kind, byte);
            let r = rt.block_on(s.decrypt(&changed, &aad));
            prop_assert!(r.is_err(), "{:?} (from {:?}) decrypted", changed, ct);
            let edited = apply_all(&ct, &edits);
            if edited != ct {
                let r = rt.block_on(s.decrypt(&edited, &aad));
                prop_assert!(r.is_err(), "{:?} (from {:?}) decrypted", edited, ct);
            }
            Ok(())
        },
    );
}

/// Key file entries, right or a little wrong.
fn key_file() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "current", "k1", "k2", "", " k1 ", "bad id", "CURRENT", "k1=x"
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9_-]{1,34}",
    ];
    let value = prop_oneof![
        // 32 bytes (a real key) in every accepted spelling, or other lengths.
        (proptest::collection::vec(any::<u8>(), 32), 0..4u8).prop_map(|(b, a)| match a {
            0 => URL_SAFE_NO_PAD.encode(&b),
            1 => URL_SAFE.encode(&b),
            2 => STANDARD.encode(&b),
            _ => format!(" {} ", STANDARD.encode(&b)),
        }),
        base64_of_random_bytes(),
        prop::sample::select(vec!["k1", "k2", "", "==", "current"]).prop_map(str::to_string),
        ".{0,20}",
    ];
    let entry = (
        name,
        prop::sample::select(vec!["=", " = ", "", "=="]),
        value,
    )
        .prop_map(|(n, eq, v)| format!("{n}{eq}{v}"));
    let separator = prop::sample::select(vec![";", "\n", "\r\n", " ; ", ";;", ","]);
    (
        proptest::collection::vec((entry, separator), 0..6),
        any::<bool>(),
    )
        .prop_map(|(entries, with_current)| {
            let mut out = if with_current {
                "current=k1;".to_string()
            } else {
                String::new()
            };
            for (e, sep) in entries {
                out.push_str(&e);
                out.push_str(sep);
            }
            out
        })
}

fn any_key_file() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,200}",
        4 => key_file(),
        2 => (key_file(), proptest::collection::vec(edit(), 1..3)).prop_map(|(k, e)| apply_all(&k, &e)),
    ]
}

#[test]
fn key_files_parse_or_fail_naming_the_keyring_and_round_trip() {
    let rt = runtime();
    fuzz("keyring_decode", 1500, any_key_file, |text| {
        match Keyring::from_encoded(&SecretString::from(text.clone())) {
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
                prop_assert_eq!(e.field(), Some("keyring"), "{}", e);
                // The message never repeats key material (a key id, `current`'s value included,
                // is not secret).
                let message = format!("{e} {e:?}");
                let values = text
                    .split([';', '\n'])
                    .filter_map(|entry| entry.split_once('='))
                    .filter(|(name, _)| name.trim() != "current")
                    .map(|(_, value)| value.trim());
                for value in values {
                    if value.len() >= 16 {
                        prop_assert!(!message.contains(value), "{:?} in {:?}", value, message);
                    }
                }
                Ok(())
            }
            Ok(ring) => {
                prop_assert!(ring.contains(ring.current_id()));
                let again = Keyring::from_encoded(&ring.to_encoded())?;
                prop_assert_eq!(again.current_id(), ring.current_id());
                prop_assert_eq!(
                    again.key_ids().collect::<Vec<_>>(),
                    ring.key_ids().collect::<Vec<_>>()
                );
                // The same keys: what one encrypts, the other decrypts.
                let (a, b) = (AesGcmSecrets::new(ring), AesGcmSecrets::new(again));
                let ct = rt.block_on(a.encrypt(&SecretString::from("x"), b"aad"))?;
                let opened = rt.block_on(b.decrypt(&ct, b"aad"))?;
                prop_assert_eq!(opened.expose_secret(), "x");
                Ok(())
            }
        }
    });
}

#[test]
fn key_ids_accept_exactly_their_grammar() {
    fuzz(
        "key_id",
        2000,
        move || prop_oneof![".{0,40}", "[A-Za-z0-9_-]{0,40}"],
        |s| {
            let expected = (1..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            match KeyId::new(s.clone()) {
                Ok(id) => {
                    prop_assert!(expected, "{:?}", s);
                    prop_assert_eq!(id.as_str(), s.as_str());
                }
                Err(e) => {
                    prop_assert!(!expected, "{:?}: {}", s, e);
                    prop_assert_eq!(e.field(), Some("key_id"));
                }
            }
            Ok(())
        },
    );
}
