//! `PublicKeyLine`: which OpenSSH public keys are accepted, and their fingerprints.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use vibebox_core::ErrorKind;
use vibebox_core::ssh::{KeyAlgorithm, PublicKeyLine};

// Generated once with `ssh-keygen -t … -N '' -C …`; the fingerprints are `ssh-keygen -lf`'s.
pub const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC test-ed25519";
const ED25519_FP: &str = "SHA256:8my0RNUEnKfqpswH6Td8D1zouTrmlLbVtGqPC0RDuPo";
const ECDSA_256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMI39oFBwjCI/9jbTRFDSDg/6dN5vX4CBVbyvzqHskbTuX/kgpdVoxeTUwrtEEQNTLyMnxWuPxvb47cJJQXjmik= test-ecdsab256";
const ECDSA_256_FP: &str = "SHA256:M5vHr5GXriKCwZiPgzDmgNs4ln4j4i8AgH2Cb3idqS8";
const ECDSA_384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBKvZTHnlhc/kdHtAoaKJ+SI3YwwW9Oj40KzNy+UtZcm3ov3sWWGkfZJ0cTfO1VeDUeEwfoUDaFoTvYUcvX7IXsd83gmR8hjMPG7DQoBTNVpqDv0Rsv+g2bpXpD7DWSoptg== test-ecdsab384";
const ECDSA_384_FP: &str = "SHA256:EljEP+z26IyYvMSYnNiDBnMYFJQHGawiH8Hs3DI8vlk";
const ECDSA_521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAD3CnETFA0Z8iQ0M8J1IHUZ7IfT15gudZOs1A2/5LBgRh/sygcDBnuhIDpyb3jMrOYCP6NFN6BaUrY19qbSMvrL5ADohibPFoCxNZfFLXVR5989/GejUHmhHkytJzSw80D0nNQk6tvv/3A/D+TyqModyeBIB/rnPyoRDTuAqip221cz2w== test-ecdsab521";
const ECDSA_521_FP: &str = "SHA256:ZdYI7EYwR1thUNK3OdBFJk2qySsfsFxzWPymHPsqJ+s";
const RSA_2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCxEQiZZe+LD1lvyntMWaYt82cpJuWqrtDkNy6psyAaYGtqtxJwkJ4/Sc74Rxis5szUBn52TBgJ0PAviq48Tzti6131277kp2AtUMuGSY6S/xcHZ82FRsptt+cwbzBzMgUMfHqg5xk4NvoWG4CgTMsgx9sKqi8EgCQK9/7QzZlFLoC7gaOkoExc5n58YYswY3SagFKBpDUTcW7RBi7Sx8xgdxI8s3XS81THm8/sRLh6BFiK2r2Ld8wJP6CiFUzQ6hi91UrqDgKF1CHXfT7zlCl+TlVBulb7RuLNE0Dv+G7VAyGWZAVEupLwgdbv9iZhW2SDY/kaXXBLeIqnk3zdx0Gr test-rsab2048";
const RSA_2048_FP: &str = "SHA256:PA6k2piJIjwcJaHDOrU1JZOlGFxYWsesm7j43BVzSjk";
const RSA_3072: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDJ+x6OflRa5mCPuga7e6m2kW9WYLAOk/rz352vxagO+QstIf/6XmwE8227ydXI32Waki2uVysFK/EsNKNFooJbUcJAXNFQclaiMCHBCC2C+WEX1PXpFIpH4/VTz/DegCK2DQM0DUMkjdQrzvGkkUvrKEpn4BVadKoEgvNuYdQ2v3yMDSflhftVPVPeyswPhO24T5SGL3PKN86fidCqW4ZfpIRrXP2Wi6dfN6pdLDtKlnqCE5gHZ0LTVIk/eMfyjRzdHksup3iygtNt5WTb2Pf64MWXRReTK8dorZz2FtGqPfVnHLiL2ERqqTVta9ep8wt+GiLcOtr9IiHcpP3L/VRVIZSgtzHVwK9zHEQ3tQ+1GA02ZH5jrF2cUeiVMs+NIwPXjhxw5h+E1zL8lcMHKSKz0z5XUSrZpWo1LxlElOxLSxoxZjlpgYI9NfILdYGGZ/54w97IglDAheDrRhRqkDhZ3gRJzPoPnXh+o60bVG37T0Nk3LjY+QS3EVvjCSXFIcU= test-rsab3072";
const RSA_3072_FP: &str = "SHA256:wZOWNMY6gw19cgahytJjWHVFoQea+Jfavkh2RZjEGJ0";
const RSA_1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC6CTOvIFyjP4L3azxytXuFb4nkRACgY1YpyUoDcnNKtJV9ErIsi4rOQ8cqXWUq2gTRoTX5kGzIjiERWCBprebOBOBstQfXJZFFcp1Ps9HrHt93od0TJTwC7XX3AxYPdUCBGwn6LmRineYFV4MR01kDF2XqvfGeIy+nO4Jg3jiCSQ== test-rsab1024";
// Security keys cannot be generated without the hardware; these are built from their wire
// format (an Ed25519 key of bytes 1..=32, and the P-256 point of ECDSA_256) and fingerprinted
// with `ssh-keygen -lf`, which accepts them.
const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo= sk-ed";
const SK_ED25519_FP: &str = "SHA256:nX0hpi5mKbTIJ10yBq5/sLQhiI1Y0RBAqN0drDdgJWs";
const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBMI39oFBwjCI/9jbTRFDSDg/6dN5vX4CBVbyvzqHskbTuX/kgpdVoxeTUwrtEEQNTLyMnxWuPxvb47cJJQXjmikAAAAEc3NoOg== sk-ec";
const SK_ECDSA_FP: &str = "SHA256:meUL4QT25cqg0DfJm2zaAj8+yUcsIBgZaO+tfBi64S0";

/// Asserts that `line` is refused as `InvalidInput` naming `public_key`, with a reason that
/// contains `why`.
#[track_caller]
fn assert_refused(line: &str, why: &str) {
    let err = PublicKeyLine::parse(line).expect_err(line);
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.field(), Some("public_key"), "{err}");
    assert!(
        err.to_string().contains(why),
        "{line:?}: {err} lacks {why:?}"
    );
}

fn blob_of(line: &str) -> Vec<u8> {
    STANDARD.decode(line.split(' ').nth(1).unwrap()).unwrap()
}

/// Appends SSH wire strings and encodes the line.
fn key_line(kind: &str, strings: &[&[u8]]) -> String {
    let mut blob = Vec::new();
    for s in strings {
        blob.extend_from_slice(&u32::try_from(s.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(s);
    }
    format!("{kind} {}", STANDARD.encode(blob))
}

#[test]
fn every_accepted_key_type_parses_with_the_fingerprint_ssh_keygen_prints() {
    for (line, algorithm, fingerprint) in [
        (ED25519, KeyAlgorithm::Ed25519, ED25519_FP),
        (ECDSA_256, KeyAlgorithm::EcdsaP256, ECDSA_256_FP),
        (ECDSA_384, KeyAlgorithm::EcdsaP384, ECDSA_384_FP),
        (ECDSA_521, KeyAlgorithm::EcdsaP521, ECDSA_521_FP),
        (RSA_2048, KeyAlgorithm::Rsa, RSA_2048_FP),
        (RSA_3072, KeyAlgorithm::Rsa, RSA_3072_FP),
        (SK_ED25519, KeyAlgorithm::SkEd25519, SK_ED25519_FP),
        (SK_ECDSA, KeyAlgorithm::SkEcdsaP256, SK_ECDSA_FP),
    ] {
        let key = PublicKeyLine::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(key.algorithm(), algorithm, "{line}");
        assert_eq!(key.algorithm().name(), line.split(' ').next().unwrap());
        assert_eq!(key.fingerprint(), fingerprint, "{line}");
        assert_eq!(key.to_string(), line, "prints back as given");
        assert_eq!(key.blob(), blob_of(line));
    }
}

#[test]
fn rsa_key_of_1024_bits_is_refused() {
    assert_refused(RSA_1024, "at least 2048 bits");
}

#[test]
fn rsa_key_over_16384_bits_is_refused() {
    let mut n = vec![0x00_u8, 0xc1];
    n.extend(std::iter::repeat_n(0xab, 16384 / 8));
    assert_refused(
        &key_line("ssh-rsa", &[b"ssh-rsa", &[1, 0, 1], &n]),
        "at most 16384 bits",
    );
}

#[test]
fn garbage_is_refused_naming_public_key() {
    for (line, why) in [
        ("", "<type> <base64 key> [comment]"),
        ("hello", "<type> <base64 key> [comment]"),
        ("ssh-ed25519", "<type> <base64 key> [comment]"),
        ("ssh-ed25519 not*base64!", "not valid base64"),
        ("hello AAAA", "key type must be"),
        (&format!("no-pty {ED25519}"), "key type must be"),
        (&format!("{ED25519}\n{ED25519}"), "single line"),
        (&format!("{ED25519} bell\u{7}"), "control characters"),
        (&"ssh-ed25519 AAAA".repeat(2000), "too long"),
    ] {
        assert_refused(line, why);
    }
}

#[test]
fn dsa_keys_are_refused() {
    let line = key_line(
        "ssh-dss",
        &[b"ssh-dss", &[1; 20], &[2; 20], &[3; 20], &[4; 20]],
    );
    assert_refused(&line, "key type must be");
}

#[test]
fn a_blob_of_another_type_than_the_line_names_is_refused() {
    let ed25519_blob = ED25519.split(' ').nth(1).unwrap();
    assert_refused(&format!("ssh-rsa {ed25519_blob}"), "another type");
    let p256_blob = ECDSA_256.split(' ').nth(1).unwrap();
    assert_refused(&format!("ecdsa-sha2-nistp384 {p256_blob}"), "another type");
    // The embedded curve must match too.
    let mut point = vec![4_u8];
    point.extend([5_u8; 64]);
    let line = key_line(
        "ecdsa-sha2-nistp256",
        &[b"ecdsa-sha2-nistp256", b"nistp384", &point],
    );
    assert_refused(&line, "curve");
}

#[test]
fn a_truncated_blob_is_refused() {
    for line in [ED25519, ECDSA_256, RSA_2048] {
        let blob = blob_of(line);
        for cut in [1, 3, blob.len() / 2] {
            let short = STANDARD.encode(&blob[..blob.len() - cut]);
            let kind = line.split(' ').next().unwrap();
            assert_refused(&format!("{kind} {short}"), "truncated");
        }
    }
}

#[test]
fn bytes_after_the_key_are_refused() {
    let mut blob = blob_of(ED25519);
    blob.extend_from_slice(&[0, 0, 0, 1, 9]);
    assert_refused(
        &format!("ssh-ed25519 {}", STANDARD.encode(blob)),
        "trailing bytes",
    );
}

#[test]
fn a_security_key_needs_its_application() {
    let line = key_line(
        "sk-ssh-ed25519@openssh.com",
        &[b"sk-ssh-ed25519@openssh.com", &[7; 32]],
    );
    assert_refused(&line, "application");
}

#[test]
fn the_comment_is_kept_and_does_not_change_the_fingerprint() {
    let bare = ED25519.rsplit_once(' ').unwrap().0;
    let without = PublicKeyLine::parse(bare).unwrap();
    assert_eq!(without.comment(), None);
    let with = PublicKeyLine::parse(&format!("  {bare}   me@my laptop \n")).unwrap();
    assert_eq!(with.comment(), Some("me@my laptop"));
    assert_eq!(with.fingerprint(), without.fingerprint());
    assert_eq!(with.to_string(), format!("{bare} me@my laptop"));
}

#[test]
fn a_key_from_its_wire_blob_is_the_same_key() {
    for line in [ED25519, ECDSA_384, RSA_2048, SK_ECDSA] {
        let parsed = PublicKeyLine::parse(line).unwrap();
        let from_blob = PublicKeyLine::from_blob(&blob_of(line)).unwrap();
        assert_eq!(from_blob.algorithm(), parsed.algorithm());
        assert_eq!(from_blob.fingerprint(), parsed.fingerprint());
        assert_eq!(from_blob.comment(), None);
    }
    let err = PublicKeyLine::from_blob(&blob_of(RSA_1024)).unwrap_err();
    assert_eq!(err.field(), Some("public_key"));
    let err = PublicKeyLine::from_blob(&[0, 0, 0, 7, b's']).unwrap_err();
    assert_eq!(err.field(), Some("public_key"));
}

#[test]
fn debug_shows_the_fingerprint_not_the_blob() {
    let key = PublicKeyLine::parse(RSA_2048).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains(RSA_2048_FP), "{debug}");
    assert!(
        !debug.contains(RSA_2048.split(' ').nth(1).unwrap()),
        "{debug}"
    );
}

proptest! {
    #[test]
    fn any_line_or_blob_is_parsed_or_refused_never_a_panic(
        line in ".{0,300}",
        blob in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        if let Err(e) = PublicKeyLine::parse(&line) {
            prop_assert_eq!(e.field(), Some("public_key"));
        }
        if let Err(e) = PublicKeyLine::from_blob(&blob) {
            prop_assert_eq!(e.field(), Some("public_key"));
        }
        let encoded = format!("ssh-ed25519 {}", STANDARD.encode(&blob));
        if let Err(e) = PublicKeyLine::parse(&encoded) {
            prop_assert_eq!(e.field(), Some("public_key"));
        }
    }
}
