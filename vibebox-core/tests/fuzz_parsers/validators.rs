//! The validators (`vibebox_core::validate`) and the small parsers beside them (SSH public key
//! lines and blobs, IPv4 subnets, preview host labels), fed structure-aware near-valid input:
//! every refusal is `InvalidInput` naming the field the API shows, never a panic, and what is
//! accepted keeps the rule's promises (round trips, ranges). `tests/validation.rs` holds the
//! rule-by-rule tests and a broad string fuzz; these targets build inputs from the grammars.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use vibebox_core::domain::IdlePolicy;
use vibebox_core::runtime::Ipv4Subnet;
use vibebox_core::service::PreviewTarget;
use vibebox_core::ssh::{KeyAlgorithm, PublicKeyLine};
use vibebox_core::{ErrorKind, Result, validate};

use crate::harness::{Edit, apply_all, edit, fuzz};

/// `Ok`, or `InvalidInput` naming `field`.
fn ok_or_invalid<T>(r: Result<T>, field: &str) -> std::result::Result<Option<T>, TestCaseError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert_eq!(e.field(), Some(field), "{}", e);
            Ok(None)
        }
    }
}

/// A few edits, often none: near-valid input is mostly valid input slightly bent.
fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => proptest::collection::vec(edit(), 1..4),
    ]
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
        1 => "[A-Za-z0-9-]{0,70}",
        1 => prop::sample::select(vec!["xn--p1ai", "localhost", "-a", "a-", "", "é", "1"])
            .prop_map(str::to_string),
    ]
}

fn hostname() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..5).prop_map(|labels| labels.join("."))
}

fn email_text() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        4 => "[a-z0-9._%+-]{1,20}",
        1 => "[!#$%&'*+/=?^_`{|}~.a-zA-Z-]{0,70}",
        1 => ".{0,10}",
    ];
    let at = prop::sample::select(vec!["@", "@", "@", "@@", "", " @ ", "＠"]);
    (
        local,
        at,
        hostname(),
        prop::sample::select(vec!["", " ", "\n", "\t"]),
        edits(),
    )
        .prop_map(|(l, at, h, pad, e)| apply_all(&format!("{pad}{l}{at}{h}{pad}"), &e))
}

#[test]
fn emails_are_normalized_or_refused_naming_the_email() {
    fuzz("validate_email", 2000, email_text, |s| {
        if let Some(e) = ok_or_invalid(validate::email(&s), "email")? {
            prop_assert_eq!(e.clone(), s.trim().to_ascii_lowercase());
            prop_assert!(e.len() <= validate::EMAIL_MAX && e.contains('@'));
            prop_assert_eq!(validate::email(&e)?, e);
        }
        Ok(())
    });
}

fn image_reference_text() -> impl Strategy<Value = String> {
    let registry = prop_oneof![
        Just(String::new()),
        hostname().prop_map(|h| format!("{h}/")),
        (hostname(), prop_oneof!["[0-9]{0,6}", ".{0,3}"]).prop_map(|(h, p)| format!("{h}:{p}/")),
        prop::sample::select(vec![
            "localhost/",
            "Registry.IO/",
            "[::1]:5000/",
            "localhost:5000/"
        ])
        .prop_map(str::to_string),
    ];
    let component = prop_oneof![
        4 => "[a-z0-9]{1,8}([._-]{1,3}[a-z0-9]{1,8}){0,2}",
        1 => "[A-Za-z0-9._-]{0,12}",
    ];
    let path = proptest::collection::vec(component, 1..4).prop_map(|c| c.join("/"));
    let tag = prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}".prop_map(|t| format!(":{t}")),
        "[A-Za-z0-9_.-]{120,135}".prop_map(|t| format!(":{t}")),
        Just(":".to_string()),
    ];
    let digest = prop_oneof![
        Just(String::new()),
        "[0-9a-f]{64}".prop_map(|h| format!("@sha256:{h}")),
        ("[a-z0-9+._-]{0,8}", "[0-9a-fA-F]{0,70}").prop_map(|(a, h)| format!("@{a}:{h}")),
        Just("@".to_string()),
    ];
    (registry, path, tag, digest, edits())
        .prop_map(|(r, p, t, d, e)| apply_all(&format!("{r}{p}{t}{d}"), &e))
}

#[test]
fn image_references_follow_the_reference_grammar_or_name_the_base_image() {
    fuzz(
        "validate_image_reference",
        2000,
        image_reference_text,
        |s| {
            if ok_or_invalid(validate::image_reference(&s), "base_image")?.is_some() {
                prop_assert!(!s.is_empty() && s.len() <= 512);
                prop_assert!(
                    !s.chars().any(|c| c.is_whitespace() || c.is_control()),
                    "{:?}",
                    s
                );
            }
            Ok(())
        },
    );
}

fn download_url_text() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "HTTPS://",
        "ftp://",
        "https:/",
        "",
        "https://https://",
    ]);
    let userinfo = prop::sample::select(vec!["", "user@", "user:pass@", "@", "a@b@"]);
    let port = prop_oneof![
        Just(String::new()),
        (0u32..70_000).prop_map(|p| format!(":{p}")),
        prop::sample::select(vec![":", ":-1", ":+80", ":٣", ":0080", ":99999999"])
            .prop_map(str::to_string),
    ];
    let rest = prop_oneof![
        Just(String::new()),
        "/[A-Za-z0-9._~/%-]{0,30}",
        "[/?#][ -~]{0,30}",
        ".{0,10}",
    ];
    (scheme, userinfo, hostname(), port, rest, edits())
        .prop_map(|(s, u, h, p, r, e)| apply_all(&format!("{s}{u}{h}{p}{r}"), &e))
}

#[test]
fn download_urls_are_http_urls_or_name_the_download_url() {
    fuzz("validate_download_url", 2000, download_url_text, |s| {
        if ok_or_invalid(validate::download_url(&s), "download_url")?.is_some() {
            prop_assert!(
                s.starts_with("https://") || s.starts_with("http://"),
                "{:?}",
                s
            );
            prop_assert!(s.len() <= 2048);
            prop_assert!(
                !s.chars()
                    .any(|c| c.is_whitespace() || "'\"`$\\".contains(c))
            );
        }
        Ok(())
    });
}

/// Short strings built from a valid one by a few edits, for the validators of names and ids.
fn edited(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    (prop::sample::select(valid), edits()).prop_map(|(v, e)| apply_all(v, &e))
}

#[test]
fn short_grammars_accept_or_name_their_field() {
    fuzz(
        "validate_short_grammars",
        2000,
        move || {
            (
                edited(&["main", "my_session-2", "a"]),
                edited(&["ms-python.python", "Publisher.Name", "a.b"]),
                edited(&["1.2.3", "1.0.0-beta.1+build.5", "0.0.0"]),
                edited(&["github", "google-2", "my_idp"]),
                edited(&["API_TOKEN", "_X", "PATH"]),
                edited(&["my-project", "abc", "a1-b2-c3"]),
            )
        },
        |(session, ext, version, provider, key, slug)| {
            ok_or_invalid(validate::session_name(&session), "session_name")?;
            if let Some((id, publisher)) =
                ok_or_invalid(validate::extension_id(&ext), "extension_id")?
            {
                let prefix = format!("{publisher}.");
                prop_assert!(id.starts_with(&prefix));
                prop_assert_eq!(id.clone(), id.to_ascii_lowercase());
            }
            ok_or_invalid(validate::semver("version", &version), "version")?;
            ok_or_invalid(validate::oauth_provider(&provider), "provider")?;
            ok_or_invalid(validate::oauth_subject(&provider), "subject")?;
            ok_or_invalid(validate::variable_key(&key), "key")?;
            ok_or_invalid(validate::variable_value(&key), "value")?;
            ok_or_invalid(validate::slug("slug", &slug), "slug")?;
            ok_or_invalid(validate::name("name", &slug), "name")?;
            ok_or_invalid(validate::description(&slug), "description")?;
            Ok(())
        },
    );
}

/// Floats around the CPU limit's edges and the special values.
fn cpu_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -1.0f64..300.0,
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            validate::CPU_MIN,
            validate::CPU_MIN.next_down(),
            validate::CPU_MAX,
            validate::CPU_MAX.next_up(),
            f64::MAX,
            5e-324,
        ]),
    ]
}

/// Integers around every limit's edges and the extremes.
fn limit_value() -> impl Strategy<Value = i64> {
    let edges = [
        0,
        1,
        64,
        512,
        1023,
        1024,
        10_080,
        65_535,
        65_536,
        validate::MEMORY_MAX_MB,
        validate::STORAGE_MAX_MB,
        i64::from(i32::MAX),
        i64::MAX,
        i64::MIN,
    ];
    prop_oneof![
        any::<i64>(),
        (
            prop::sample::select(edges.to_vec()),
            -1i64..=1,
            any::<bool>()
        )
            .prop_map(|(e, d, neg)| if neg {
                e.wrapping_add(d).wrapping_neg()
            } else {
                e.wrapping_add(d)
            }),
    ]
}

#[test]
fn numeric_limits_accept_exactly_their_ranges() {
    fuzz(
        "validate_limits",
        2000,
        move || (cpu_value(), limit_value(), limit_value()),
        |(cpu, n, m)| {
            let cpu_ok = cpu.is_finite() && (validate::CPU_MIN..=validate::CPU_MAX).contains(&cpu);
            prop_assert_eq!(
                ok_or_invalid(validate::cpu_limit(cpu), "cpu_limit")?.is_some(),
                cpu_ok
            );
            let memory_ok = (validate::MEMORY_MIN_MB..=validate::MEMORY_MAX_MB).contains(&n);
            prop_assert_eq!(
                ok_or_invalid(validate::memory_limit(n), "memory_limit")?.is_some(),
                memory_ok
            );
            let storage_ok = (validate::STORAGE_MIN_MB..=validate::STORAGE_MAX_MB).contains(&m);
            prop_assert_eq!(
                ok_or_invalid(validate::storage_limit(m), "storage_limit")?.is_some(),
                storage_ok
            );
            let timeout = ok_or_invalid(validate::idle_timeout_minutes(n), "idle_timeout_minutes")?;
            prop_assert_eq!(
                timeout.map(i64::from),
                (1..=10_080).contains(&n).then_some(n)
            );
            let port = ok_or_invalid(validate::container_port(m), "container_port")?;
            prop_assert_eq!(port.map(i64::from), (1..=65_535).contains(&m).then_some(m));
            let host = ok_or_invalid(validate::host_port(n), "host_port")?;
            prop_assert_eq!(
                host.map(i64::from),
                (1024..=65_535).contains(&n).then_some(n)
            );
            Ok(())
        },
    );
}

/// An idle policy as JSON: both fields present or not, null, numbers of every size, other types.
fn idle_policy_json() -> impl Strategy<Value = serde_json::Value> {
    let field = prop_oneof![
        Just(None),
        Just(Some(serde_json::Value::Null)),
        (-2i64..20_000).prop_map(|n| Some(n.into())),
        any::<i64>().prop_map(|n| Some(n.into())),
        any::<f64>().prop_map(|f| Some(serde_json::json!(f))),
        Just(Some(serde_json::json!("60"))),
        Just(Some(serde_json::json!([1]))),
    ];
    (field.clone(), field, any::<bool>()).prop_map(|(s, h, extra)| {
        let mut map = serde_json::Map::new();
        if let Some(s) = s {
            map.insert("suspend_after_minutes".into(), s);
        }
        if let Some(h) = h {
            map.insert("stop_after_hours".into(), h);
        }
        if extra {
            map.insert("unknown".into(), serde_json::json!(1));
        }
        serde_json::Value::Object(map)
    })
}

#[test]
fn idle_policies_accept_exactly_their_ranges() {
    fuzz("validate_idle_policy", 2000, idle_policy_json, |json| {
        // Deserializing may refuse (a missing field, a wrong type); it must not panic.
        let Ok(policy) = serde_json::from_value::<IdlePolicy>(json) else {
            return Ok(());
        };
        let suspend_ok = policy
            .suspend_after_minutes
            .is_none_or(|m| (1..=10_080).contains(&m));
        let stop_ok = policy
            .stop_after_hours
            .is_none_or(|h| (1..=8_760).contains(&h));
        match validate::idle_policy(&policy) {
            Ok(()) => prop_assert!(suspend_ok && stop_ok, "{:?}", policy),
            Err(e) => {
                let expected = if suspend_ok {
                    "idle_policy.stop_after_hours"
                } else {
                    "idle_policy.suspend_after_minutes"
                };
                prop_assert_eq!(e.field(), Some(expected), "{}", e);
            }
        }
        Ok(())
    });
}

/// One field of an SSH key blob: a string whose length prefix is true or lies, or raw bytes.
#[derive(Clone, Debug)]
enum BlobField {
    Text(String),
    Bytes(Vec<u8>),
    /// A length prefix that says `len` and the bytes that follow.
    Lying(u32, Vec<u8>),
    Raw(Vec<u8>),
}

fn blob_field() -> impl Strategy<Value = BlobField> {
    let names = KeyAlgorithm::ALL
        .iter()
        .map(|a| a.name().to_string())
        .chain(["nistp256", "nistp384", "nistp521", "ssh.com", "ssh-dss"].map(String::from))
        .collect::<Vec<_>>();
    let lengths = prop_oneof![
        Just(32usize),
        Just(65),
        Just(97),
        Just(133),
        Just(257),
        0usize..300
    ];
    prop_oneof![
        3 => prop::sample::select(names).prop_map(BlobField::Text),
        3 => lengths.prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n)).prop_map(BlobField::Bytes),
        1 => (prop_oneof![any::<u32>(), Just(u32::MAX), 0u32..64], proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(n, b)| BlobField::Lying(n, b)),
        1 => proptest::collection::vec(any::<u8>(), 0..8).prop_map(BlobField::Raw),
    ]
}

fn blob(fields: &[BlobField]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        let (len, bytes) = match f {
            BlobField::Text(s) => (Some(s.len()), s.as_bytes()),
            BlobField::Bytes(b) => (Some(b.len()), b.as_slice()),
            BlobField::Lying(len, b) => (Some(*len as usize), b.as_slice()),
            BlobField::Raw(b) => (None, b.as_slice()),
        };
        if let Some(len) = len {
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        out.extend_from_slice(bytes);
    }
    out
}

#[test]
fn ssh_key_blobs_and_lines_parse_or_name_the_public_key() {
    let line_type = prop_oneof![
        prop::sample::select(KeyAlgorithm::ALL.to_vec()).prop_map(|a| a.name().to_string()),
        Just("ssh-dss".to_string()),
    ];
    fuzz(
        "ssh_public_key",
        1500,
        move || {
            (
                proptest::collection::vec(blob_field(), 0..6),
                line_type,
                prop::sample::select(vec!["", " me@laptop", "\tc", "  two  words ", " \u{7}"]),
                edits(),
            )
        },
        |(fields, kind, comment, e)| {
            let bytes = blob(&fields);
            if let Some(key) = ok_or_invalid(PublicKeyLine::from_blob(&bytes), "public_key")? {
                prop_assert_eq!(key.blob(), bytes.as_slice());
                let line = format!("{} {}", key.algorithm().name(), key.blob_base64());
                prop_assert_eq!(
                    PublicKeyLine::parse(&line)?.fingerprint(),
                    key.fingerprint()
                );
            }
            let line = apply_all(&format!("{kind} {}{comment}", STANDARD.encode(&bytes)), &e);
            if let Some(key) = ok_or_invalid(PublicKeyLine::parse(&line), "public_key")? {
                // The parsed key, written out again, is the same key.
                let again = format!("{} {}", key.algorithm().name(), key.blob_base64());
                prop_assert!(
                    PublicKeyLine::parse(&again)? == PublicKeyLine::from_blob(key.blob())?
                );
            }
            ok_or_invalid(validate::ssh_public_key(&line), "ssh_public_key")?;
            Ok(())
        },
    );
}

#[test]
fn well_formed_ed25519_blobs_are_accepted() {
    fuzz(
        "ssh_ed25519_blob",
        500,
        move || proptest::collection::vec(any::<u8>(), 32),
        |key| {
            let bytes = blob(&[BlobField::Text("ssh-ed25519".into()), BlobField::Bytes(key)]);
            let parsed = PublicKeyLine::from_blob(&bytes)?;
            prop_assert_eq!(parsed.algorithm(), KeyAlgorithm::Ed25519);
            Ok(())
        },
    );
}

fn subnet_text() -> impl Strategy<Value = String> {
    let octet = prop_oneof![
        (0u32..256).prop_map(|n| n.to_string()),
        "[0-9]{1,4}",
        Just("0x1".to_string())
    ];
    (
        proptest::collection::vec(octet, 1..6),
        prop_oneof![
            (0u32..40).prop_map(|n| n.to_string()),
            Just(String::new()),
            Just("-1".into()),
            Just("256".into())
        ],
        prop::sample::select(vec!["/", "/", "", "//", " / "]),
        edits(),
    )
        .prop_map(|(octets, prefix, slash, e)| {
            apply_all(&format!("{}{slash}{prefix}", octets.join(".")), &e)
        })
}

#[test]
fn subnets_parse_to_their_network_or_name_the_subnet() {
    fuzz("ipv4_subnet", 2000, subnet_text, |s| {
        if let Some(net) = ok_or_invalid(Ipv4Subnet::parse(&s), "subnet")? {
            prop_assert!(net.prefix() <= 32);
            prop_assert_eq!(Ipv4Subnet::parse(&net.to_string())?, net);
        }
        Ok(())
    });
}

fn preview_label() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        (0u32..70_000).prop_map(|n| n.to_string()),
        "[a-z0-9-]{0,12}",
        "[0-9a-fA-F]{12}",
        "[0-9a-fA-F]{11,13}",
        ".{0,4}",
    ];
    (
        proptest::collection::vec(part, 1..6),
        prop::sample::select(vec!["--", "--", "-", "---"]),
        edits(),
    )
        .prop_map(|(parts, sep, e)| apply_all(&parts.join(sep), &e))
}

#[test]
fn preview_labels_parse_to_what_they_name() {
    fuzz("preview_label", 2000, preview_label, |s| {
        if let Some(target) = PreviewTarget::parse(&s) {
            prop_assert!(target.port() >= 1);
            prop_assert_eq!(PreviewTarget::parse(&target.label()), Some(target.clone()));
        }
        Ok(())
    });
}
