#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The validation rules of DESIGN.md §2, one rule per test. Every refusal must be
//! `InvalidInput` and name the field the API shows.

use std::str::FromStr;

use base64::Engine as _;
use proptest::prelude::*;
use secrecy::SecretString;
use vibebox_core::domain::{
    EnvironmentStatus, ExtensionStatus, LogStream, ProjectOwner, Protocol, Role, Scope,
    SessionStatus, SessionType,
};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::validate;
use vibebox_core::{ErrorKind, Result};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Asserts that `result` is an `InvalidInput` error naming `field`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T>, field: &str) {
    match result {
        Ok(v) => panic!("expected invalid {field}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert_eq!(e.field(), Some(field), "{e}");
        }
    }
}

/// Asserts that `result` is Ok, showing the error otherwise.
#[track_caller]
fn assert_ok<T: std::fmt::Debug>(result: Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("expected Ok, got {e}"),
    }
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

/// Appends an SSH wire-format string (u32 length, then bytes).
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An authorized_keys line `<kind> <base64 of the SSH strings>`.
fn key_line(kind: &str, strings: &[&[u8]]) -> String {
    let mut blob = Vec::new();
    for s in strings {
        ssh_string(&mut blob, s);
    }
    format!(
        "{kind} {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

fn sha256_digest() -> String {
    format!("sha256:{}", "0123456789abcdef".repeat(4))
}

// Real keys, generated once with `ssh-keygen -N ''`.
const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxOtW+PfSSmb21LjrA8V3npMEnnn6Iy4zjFxKw94lyp dev@example.com";
const RSA_2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCu15MaAIhF7yi0clCDU6AUbS3ecI6xa1RNRv2UIxNrbHmz+ToU5JcYChuVpZxwxrXEsQ3zPRkZt+V4F2cieGPH2jPyVi97AxOdUQdgnDo8Hnsc5+V4jrlCCHV3VdDvWE7svgomoND9BlJKhErwEM4fwqZu8A0WNUKX8PsrDj/RcmNlfe/yR8x54A0dX8XPDtruw47Hte/bkgT/RhpN05xwyoEcsrLy/xC6qK6vkBtIDl9DLoLwWZXg76lDKGWq87Af0ylaxyA02o4Lr1azPyw57iCRIRzh9tcDa7N/C+o+qSoF395FAGDGRJGZQAORtuD4wwM4qP8Ny/9kKXFE2rWt rsa2048";
const RSA_1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDDry3O31F9LlpfE5UC7RbIQKvQaNebpHbTEqWLV2p6hHcraLiac86+tZZ2IPSK3htwrHb0AlFaY1sy20ShuRlHm+f50AzEu6AYS4uz+S0XuEZwMLLFkACWgaNF0qez5x1jGyxb2UkysS862efksqHhwPYUd+Ch5jmoSVDO3DQx/Q== root@vm";
const ECDSA_256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA+/VpV6lR2SUziN11TK3R+hR0Etc89yWeIqeI/h4e1V7tXMC2gI0zrRT5cnI6DK80Si+gih9rZppuaAlGyk798= root@vm";
const ECDSA_384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBESwSN0eXDpKSj5cCBww5SJcGCrHrBxSi7ZW2f0lDALgsJCBAV0OW9EU9/95Id2Go1u5yw6PamLzb3YThqD24Ehs3SP7G3H3HqMaWAc7PZp64L4IK+0yE0UCwqtgCLE+NQ== root@vm";
const ECDSA_521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAFmJhVwbFOXZwr0ZBYUcxEowBzWHmOjSWMSRrRZsJ3BWrstO78Dy2kb09JMdWrNM+A+RT6Jqw2LYRAH3T47Qp2WwwCBy+89izhOUYE914V15CL5jXLaDoHa7cogXI6GZptHtCV+tuJ17KjNCtEY+sAaW80Sgjsy64JYrTw9cpvMYFX79w== root@vm";

// ---------------------------------------------------------------------------------------------
// email

#[test]
fn email_is_stored_lowercase() {
    assert_eq!(
        assert_ok(validate::email("Alice.Smith@Example.COM")),
        "alice.smith@example.com"
    );
}

#[test]
fn email_is_trimmed() {
    assert_eq!(
        assert_ok(validate::email("  bob@example.com \n")),
        "bob@example.com"
    );
}

#[test]
fn email_accepts_plus_addressing_and_subdomains() {
    assert_ok(validate::email("alice+vibebox@mail.example.co.uk"));
    assert_ok(validate::email("o'brien_x-y@example.org"));
}

#[test]
fn email_accepts_an_internationalized_top_level_domain_in_punycode() {
    assert_ok(validate::email("user@example.xn--p1ai"));
}

#[test]
fn email_must_not_be_empty() {
    assert_invalid(validate::email(""), "email");
    assert_invalid(validate::email("   "), "email");
}

#[test]
fn email_must_contain_at() {
    assert_invalid(validate::email("alice.example.com"), "email");
}

#[test]
fn email_needs_a_local_part_and_a_domain() {
    assert_invalid(validate::email("@example.com"), "email");
    assert_invalid(validate::email("alice@"), "email");
}

#[test]
fn email_domain_must_contain_a_dot() {
    assert_invalid(validate::email("alice@localhost"), "email");
}

#[test]
fn email_top_level_domain_must_be_two_or_more_letters() {
    assert_invalid(validate::email("alice@example.c"), "email");
    assert_invalid(validate::email("alice@example.123"), "email");
}

#[test]
fn email_rejects_spaces_and_a_second_at() {
    assert_invalid(validate::email("al ice@example.com"), "email");
    assert_invalid(validate::email("a@b@example.com"), "email");
}

#[test]
fn email_rejects_misplaced_dots_in_the_local_part() {
    assert_invalid(validate::email(".alice@example.com"), "email");
    assert_invalid(validate::email("alice.@example.com"), "email");
    assert_invalid(validate::email("al..ice@example.com"), "email");
}

#[test]
fn email_rejects_invalid_domain_labels() {
    assert_invalid(validate::email("alice@-example.com"), "email");
    assert_invalid(validate::email("alice@example-.com"), "email");
    assert_invalid(validate::email("alice@exa_mple.com"), "email");
    assert_invalid(validate::email("alice@example..com"), "email");
}

#[test]
fn email_local_part_is_at_most_64_characters() {
    assert_ok(validate::email(&format!("{}@example.com", "a".repeat(64))));
    assert_invalid(
        validate::email(&format!("{}@example.com", "a".repeat(65))),
        "email",
    );
}

#[test]
fn email_is_at_most_254_characters() {
    let domain = format!(
        "{}.{}.{}.{}.com",
        "d".repeat(60),
        "e".repeat(60),
        "f".repeat(60),
        "g".repeat(60)
    );
    let at_limit = format!("{}@{domain}", "a".repeat(254 - 1 - domain.len()));
    assert_eq!(at_limit.len(), 254);
    assert_ok(validate::email(&at_limit));
    let over = format!("{}@{domain}", "a".repeat(255 - 1 - domain.len()));
    assert_invalid(validate::email(&over), "email");
}

// ---------------------------------------------------------------------------------------------
// names

#[test]
fn display_name_is_trimmed() {
    assert_eq!(assert_ok(validate::display_name("  Ada  ")), "Ada");
}

#[test]
fn display_name_must_not_be_empty() {
    assert_invalid(validate::display_name(""), "display_name");
    assert_invalid(validate::display_name(" \t "), "display_name");
}

#[test]
fn display_name_is_at_most_100_characters_counted_as_characters() {
    assert_ok(validate::display_name(&"é".repeat(100)));
    assert_invalid(validate::display_name(&"x".repeat(101)), "display_name");
}

#[test]
fn display_name_rejects_control_characters() {
    assert_invalid(validate::display_name("Ada\u{0}Lovelace"), "display_name");
    assert_invalid(validate::display_name("Ada\nLovelace"), "display_name");
}

#[test]
fn name_errors_name_the_given_field() {
    assert_eq!(
        assert_ok(validate::name("team_name", "Core Team")),
        "Core Team"
    );
    assert_invalid(validate::name("team_name", ""), "team_name");
    assert_invalid(
        validate::name("project_name", &"p".repeat(101)),
        "project_name",
    );
}

// ---------------------------------------------------------------------------------------------
// slug

#[test]
fn slug_accepts_lowercase_letters_digits_and_single_hyphens() {
    for ok in ["abc", "web-app", "a1-b2-c3", "123", &"a".repeat(50)] {
        assert_ok(validate::slug("slug", ok));
    }
}

#[test]
fn slug_rejects_uppercase() {
    assert_invalid(validate::slug("slug", "WebApp"), "slug");
}

#[test]
fn slug_rejects_leading_hyphen() {
    assert_invalid(validate::slug("slug", "-web"), "slug");
}

#[test]
fn slug_rejects_trailing_hyphen() {
    assert_invalid(validate::slug("slug", "web-"), "slug");
}

#[test]
fn slug_rejects_double_hyphen() {
    assert_invalid(validate::slug("slug", "web--app"), "slug");
}

#[test]
fn slug_rejects_other_characters() {
    for bad in ["web_app", "web app", "web.app", "wéb", "web/app"] {
        assert_invalid(validate::slug("slug", bad), "slug");
    }
}

#[test]
fn slug_is_3_to_50_characters() {
    assert_invalid(validate::slug("slug", ""), "slug");
    assert_invalid(validate::slug("slug", "ab"), "slug");
    assert_invalid(validate::slug("slug", &"a".repeat(51)), "slug");
}

#[test]
fn slug_errors_name_the_given_field() {
    assert_invalid(validate::slug("team_slug", "X"), "team_slug");
}

// ---------------------------------------------------------------------------------------------
// description

#[test]
fn description_may_be_empty_or_multiline() {
    assert_ok(validate::description(""));
    assert_ok(validate::description("line one\nline two\r\n\tindented"));
}

#[test]
fn description_is_at_most_2000_characters() {
    assert_ok(validate::description(&"é".repeat(2000)));
    assert_invalid(validate::description(&"d".repeat(2001)), "description");
}

#[test]
fn description_rejects_control_characters_other_than_whitespace() {
    assert_invalid(validate::description("bell\u{7}"), "description");
    assert_invalid(validate::description("nul\u{0}"), "description");
}

// ---------------------------------------------------------------------------------------------
// password

#[test]
fn password_accepts_a_passphrase() {
    assert_ok(validate::password(&secret("correct horse battery staple")));
}

#[test]
fn password_shorter_than_8_characters_is_rejected() {
    assert_invalid(validate::password(&secret("Ab1!xyz")), "password");
    assert_ok(validate::password(&secret("Ab1!xyzw")));
}

#[test]
fn password_length_counts_characters_not_bytes() {
    // Seven characters, fourteen bytes.
    assert_invalid(validate::password(&secret("ééééééa")), "password");
}

#[test]
fn password_is_at_most_1024_characters() {
    assert_ok(validate::password(&secret(&"ab".repeat(512))));
    assert_invalid(
        validate::password(&secret(&format!("{}c", "ab".repeat(512)))),
        "password",
    );
}

#[test]
fn common_password_is_rejected_whatever_its_case() {
    assert_invalid(validate::password(&secret("password123")), "password");
    assert_invalid(validate::password(&secret("PassWord123")), "password");
    assert_invalid(validate::password(&secret("12345678")), "password");
}

#[test]
fn password_of_one_repeated_character_is_rejected() {
    assert_invalid(validate::password(&secret("zzzzzzzzzzzz")), "password");
}

#[test]
fn password_error_does_not_echo_the_password() {
    let e = validate::password(&secret("hunter2")).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// ssh_public_key

#[test]
fn ed25519_key_is_accepted() {
    assert_eq!(assert_ok(validate::ssh_public_key(ED25519)), ED25519);
}

#[test]
fn ssh_key_is_trimmed() {
    assert_eq!(
        assert_ok(validate::ssh_public_key(&format!("  {ED25519}\n"))),
        ED25519
    );
}

#[test]
fn ssh_key_comment_is_optional() {
    let without = ED25519.rsplit_once(' ').unwrap().0;
    assert_ok(validate::ssh_public_key(without));
}

#[test]
fn rsa_key_of_2048_bits_is_accepted() {
    assert_ok(validate::ssh_public_key(RSA_2048));
}

#[test]
fn rsa_key_under_2048_bits_is_rejected() {
    assert_invalid(validate::ssh_public_key(RSA_1024), "ssh_public_key");
}

#[test]
fn rsa_key_of_2047_bits_is_rejected() {
    // A 256-byte modulus whose top bit is clear has 2047 bits.
    let mut n = vec![0x7f_u8];
    n.extend(std::iter::repeat_n(0xab, 255));
    let line = key_line("ssh-rsa", &[b"ssh-rsa", &[1, 0, 1], &n]);
    assert_invalid(validate::ssh_public_key(&line), "ssh_public_key");
    // The same size with the top bit set (and the mpint's sign byte) is 2048 bits.
    let mut n = vec![0x00_u8, 0xc1];
    n.extend(std::iter::repeat_n(0xab, 255));
    let line = key_line("ssh-rsa", &[b"ssh-rsa", &[1, 0, 1], &n]);
    assert_ok(validate::ssh_public_key(&line));
}

#[test]
fn ecdsa_keys_on_all_three_curves_are_accepted() {
    for key in [ECDSA_256, ECDSA_384, ECDSA_521] {
        assert_ok(validate::ssh_public_key(key));
    }
}

#[test]
fn security_key_ed25519_is_accepted() {
    let line = key_line(
        "sk-ssh-ed25519@openssh.com",
        &[b"sk-ssh-ed25519@openssh.com", &[7; 32], b"ssh:"],
    );
    assert_ok(validate::ssh_public_key(&line));
}

#[test]
fn security_key_ed25519_needs_its_application_and_nothing_after() {
    let without_application = key_line(
        "sk-ssh-ed25519@openssh.com",
        &[b"sk-ssh-ed25519@openssh.com", &[7; 32]],
    );
    assert_invalid(
        validate::ssh_public_key(&without_application),
        "ssh_public_key",
    );
    let trailing = key_line(
        "sk-ssh-ed25519@openssh.com",
        &[b"sk-ssh-ed25519@openssh.com", &[7; 32], b"ssh:", b"extra"],
    );
    assert_invalid(validate::ssh_public_key(&trailing), "ssh_public_key");
}

#[test]
fn security_key_ecdsa_is_accepted() {
    let mut point = vec![4_u8];
    point.extend([5_u8; 64]);
    let kind = "sk-ecdsa-sha2-nistp256@openssh.com";
    let line = key_line(kind, &[kind.as_bytes(), b"nistp256", &point, b"ssh:"]);
    assert_ok(validate::ssh_public_key(&line));
    let without_application = key_line(kind, &[kind.as_bytes(), b"nistp256", &point]);
    assert_invalid(
        validate::ssh_public_key(&without_application),
        "ssh_public_key",
    );
}

#[test]
fn dsa_key_type_is_rejected() {
    let line = key_line(
        "ssh-dss",
        &[b"ssh-dss", &[1; 20], &[2; 20], &[3; 20], &[4; 20]],
    );
    assert_invalid(validate::ssh_public_key(&line), "ssh_public_key");
}

#[test]
fn ssh_key_type_must_match_the_key_data() {
    let blob = ED25519.split(' ').nth(1).unwrap();
    assert_invalid(
        validate::ssh_public_key(&format!("ssh-rsa {blob}")),
        "ssh_public_key",
    );
}

#[test]
fn ssh_key_without_key_data_is_rejected() {
    assert_invalid(validate::ssh_public_key("ssh-ed25519"), "ssh_public_key");
    assert_invalid(validate::ssh_public_key(""), "ssh_public_key");
}

#[test]
fn ssh_key_data_must_be_base64() {
    assert_invalid(
        validate::ssh_public_key("ssh-ed25519 not*base64!"),
        "ssh_public_key",
    );
}

#[test]
fn truncated_ssh_key_is_rejected() {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(ED25519.split(' ').nth(1).unwrap())
        .unwrap();
    let cut = base64::engine::general_purpose::STANDARD.encode(&blob[..blob.len() - 3]);
    assert_invalid(
        validate::ssh_public_key(&format!("ssh-ed25519 {cut}")),
        "ssh_public_key",
    );
}

#[test]
fn ed25519_key_must_be_32_bytes_with_nothing_after() {
    let short = key_line("ssh-ed25519", &[b"ssh-ed25519", &[9; 31]]);
    assert_invalid(validate::ssh_public_key(&short), "ssh_public_key");
    let trailing = key_line("ssh-ed25519", &[b"ssh-ed25519", &[9; 32], b"extra"]);
    assert_invalid(validate::ssh_public_key(&trailing), "ssh_public_key");
}

#[test]
fn ecdsa_curve_must_match_the_key_type() {
    let mut point = vec![4_u8];
    point.extend([5_u8; 96]);
    let line = key_line(
        "ecdsa-sha2-nistp256",
        &[b"ecdsa-sha2-nistp256", b"nistp384", &point],
    );
    assert_invalid(validate::ssh_public_key(&line), "ssh_public_key");
}

#[test]
fn ecdsa_point_must_be_uncompressed_and_of_the_curve_size() {
    let line = |point: &[u8]| {
        key_line(
            "ecdsa-sha2-nistp256",
            &[b"ecdsa-sha2-nistp256", b"nistp256", point],
        )
    };
    let mut good = vec![4_u8];
    good.extend([5_u8; 64]);
    assert_ok(validate::ssh_public_key(&line(&good)));
    assert_invalid(
        validate::ssh_public_key(&line(&[4, 1, 2])),
        "ssh_public_key",
    );
    let trailing = key_line(
        "ecdsa-sha2-nistp256",
        &[b"ecdsa-sha2-nistp256", b"nistp256", &good, b"extra"],
    );
    assert_invalid(validate::ssh_public_key(&trailing), "ssh_public_key");
    let mut compressed = vec![2_u8];
    compressed.extend([5_u8; 32]);
    assert_invalid(
        validate::ssh_public_key(&line(&compressed)),
        "ssh_public_key",
    );
}

#[test]
fn ssh_key_must_be_a_single_line() {
    assert_invalid(
        validate::ssh_public_key(&format!("{ED25519}\n{RSA_2048}")),
        "ssh_public_key",
    );
}

#[test]
fn private_key_pasted_by_mistake_is_rejected() {
    assert_invalid(
        validate::ssh_public_key("-----BEGIN OPENSSH PRIVATE KEY-----"),
        "ssh_public_key",
    );
}

// ---------------------------------------------------------------------------------------------
// variables

#[test]
fn variable_key_accepts_the_shell_convention() {
    for ok in ["PATH", "_PRIVATE", "DATABASE_URL", "A1", "_", "X_2_Y"] {
        assert_ok(validate::variable_key(ok));
    }
}

#[test]
fn variable_key_must_start_with_letter_or_underscore() {
    assert_invalid(validate::variable_key("1PATH"), "key");
    assert_invalid(validate::variable_key("-PATH"), "key");
}

#[test]
fn variable_key_must_be_uppercase() {
    assert_invalid(validate::variable_key("path"), "key");
    assert_invalid(validate::variable_key("Path"), "key");
}

#[test]
fn variable_key_rejects_other_characters() {
    for bad in ["MY-VAR", "MY VAR", "MY.VAR", "MY=VAR", "ÄPFEL"] {
        assert_invalid(validate::variable_key(bad), "key");
    }
}

#[test]
fn variable_key_is_1_to_128_characters() {
    assert_invalid(validate::variable_key(""), "key");
    assert_ok(validate::variable_key(&"K".repeat(128)));
    assert_invalid(validate::variable_key(&"K".repeat(129)), "key");
}

#[test]
fn variable_value_may_be_empty_or_multiline() {
    assert_ok(validate::variable_value(""));
    assert_ok(validate::variable_value("line1\nline2 with = and $"));
}

#[test]
fn variable_value_is_at_most_32_kib() {
    assert_ok(validate::variable_value(&"v".repeat(32 * 1024)));
    assert_invalid(
        validate::variable_value(&"v".repeat(32 * 1024 + 1)),
        "value",
    );
}

#[test]
fn variable_value_rejects_nul() {
    assert_invalid(validate::variable_value("a\0b"), "value");
}

#[test]
fn keys_containing_token_are_secret_like() {
    assert!(validate::is_secret_like_key("GITHUB_TOKEN"));
    assert!(validate::is_secret_like_key("TOKEN"));
}

#[test]
fn keys_containing_any_design_marker_are_secret_like() {
    for key in [
        "STRIPE_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "SSH_PRIVATE_KEY",
        "NPM_TOKEN",
        "SECRET",
    ] {
        assert!(validate::is_secret_like_key(key), "{key}");
    }
}

#[test]
fn secret_like_detection_ignores_case() {
    assert!(validate::is_secret_like_key("db_password"));
    assert!(validate::is_secret_like_key("Api_Key"));
}

#[test]
fn ordinary_keys_are_not_secret_like() {
    for key in ["PATH", "HOME", "DATABASE_URL", "NODE_ENV", "PORT", "KEY"] {
        assert!(!validate::is_secret_like_key(key), "{key}");
    }
}

// ---------------------------------------------------------------------------------------------
// ports

#[test]
fn container_port_is_1_to_65535() {
    assert_eq!(assert_ok(validate::container_port(1)), 1);
    assert_eq!(assert_ok(validate::container_port(80)), 80);
    assert_eq!(assert_ok(validate::container_port(65535)), 65535);
}

#[test]
fn container_port_out_of_range_is_rejected() {
    for bad in [0, -1, 65536, i64::MIN, i64::MAX] {
        assert_invalid(validate::container_port(bad), "container_port");
    }
}

#[test]
fn host_port_below_1024_is_rejected() {
    for bad in [0, 1, 22, 80, 443, 1023] {
        assert_invalid(validate::host_port(bad), "host_port");
    }
}

#[test]
fn host_port_from_1024_to_65535_is_accepted() {
    assert_eq!(assert_ok(validate::host_port(1024)), 1024);
    assert_eq!(assert_ok(validate::host_port(8080)), 8080);
    assert_eq!(assert_ok(validate::host_port(65535)), 65535);
}

#[test]
fn host_port_above_65535_is_rejected() {
    for bad in [65536, -8080, i64::MAX] {
        assert_invalid(validate::host_port(bad), "host_port");
    }
}

// ---------------------------------------------------------------------------------------------
// extensions

#[test]
fn semver_accepts_release_and_prerelease_versions() {
    for ok in ["1.2.3", "0.0.1", "1.0.0-beta.1", "2.1.0+build.5"] {
        assert_ok(validate::semver("version", ok));
    }
}

#[test]
fn semver_rejects_partial_or_prefixed_versions() {
    for bad in ["", "1", "1.2", "v1.2.3", "1.2.3.4", "latest", "01.2.3"] {
        assert_invalid(validate::semver("version", bad), "version");
    }
}

#[test]
fn extension_id_is_publisher_dot_name_lowercased() {
    assert_eq!(
        assert_ok(validate::extension_id("MS-Python.Python")),
        ("ms-python.python".to_string(), "ms-python".to_string())
    );
    assert_eq!(
        assert_ok(validate::extension_id("rust-lang.rust_analyzer")).1,
        "rust-lang"
    );
}

#[test]
fn extension_id_needs_both_publisher_and_name() {
    for bad in ["python", ".python", "ms-python.", "", "."] {
        assert_invalid(validate::extension_id(bad), "extension_id");
    }
}

#[test]
fn extension_id_parts_start_with_a_letter_or_digit() {
    assert_invalid(validate::extension_id("-pub.name"), "extension_id");
    assert_invalid(validate::extension_id("pub._name"), "extension_id");
}

#[test]
fn extension_id_rejects_other_characters() {
    for bad in ["pub.na me", "pub/x.name", "pub.name!", "pub.na.me"] {
        assert_invalid(validate::extension_id(bad), "extension_id");
    }
}

#[test]
fn download_url_accepts_http_and_https() {
    assert_ok(validate::download_url(
        "https://example.com/ext/foo-1.2.3.vsix",
    ));
    assert_ok(validate::download_url(
        "http://downloads.example.org:8080/foo.vsix?sig=abc#x",
    ));
}

#[test]
fn download_url_rejects_other_schemes() {
    for bad in [
        "ftp://example.com/a.vsix",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/a.vsix",
        "HTTPS//example.com",
    ] {
        assert_invalid(validate::download_url(bad), "download_url");
    }
}

#[test]
fn download_url_must_name_a_valid_host() {
    for bad in [
        "https://",
        "https:///a.vsix",
        "https://-bad-.com/",
        "https://a_b.com/",
    ] {
        assert_invalid(validate::download_url(bad), "download_url");
    }
}

#[test]
fn download_url_port_must_be_a_port_number() {
    assert_invalid(
        validate::download_url("https://example.com:abc/a.vsix"),
        "download_url",
    );
    assert_invalid(
        validate::download_url("https://example.com:99999/a.vsix"),
        "download_url",
    );
}

#[test]
fn download_url_rejects_whitespace_and_shell_metacharacters() {
    for bad in [
        "https://example.com/a b.vsix",
        "https://example.com/a.vsix\n",
        "https://example.com/$(id).vsix",
        "https://example.com/`id`.vsix",
        "https://example.com/a'.vsix",
        "https://example.com/a\\b.vsix",
    ] {
        assert_invalid(validate::download_url(bad), "download_url");
    }
}

#[test]
fn download_url_is_at_most_2048_characters() {
    let base = "https://example.com/";
    assert_ok(validate::download_url(&format!(
        "{base}{}",
        "a".repeat(2048 - base.len())
    )));
    assert_invalid(
        validate::download_url(&format!("{base}{}", "a".repeat(2049 - base.len()))),
        "download_url",
    );
}

// ---------------------------------------------------------------------------------------------
// image_reference

#[test]
fn image_reference_accepts_docker_hub_names() {
    for ok in [
        "debian",
        "debian:bookworm",
        "vibebox/base:bookworm",
        "docker.io/library/debian:bookworm",
        "library/ubuntu:24.04",
    ] {
        assert_ok(validate::image_reference(ok));
    }
}

#[test]
fn image_reference_accepts_registry_with_port_and_digest() {
    let d = sha256_digest();
    for ok in [
        "localhost:5000/a/b:tag".to_string(),
        "localhost/a".to_string(),
        format!("registry.example.com:443/team/app@{d}"),
        format!("ghcr.io/owner/repo:v1.2.3@{d}"),
        format!("debian@{d}"),
    ] {
        assert_ok(validate::image_reference(&ok));
    }
}

#[test]
fn image_reference_accepts_docker_path_separators() {
    for ok in ["my.repo/a_b", "a__b/c", "a-b--c/d", "x/y.z:1.0_rc-1"] {
        assert_ok(validate::image_reference(ok));
    }
}

#[test]
fn image_reference_rejects_uppercase_path() {
    assert_invalid(validate::image_reference("Debian:bookworm"), "base_image");
    assert_invalid(
        validate::image_reference("vibebox/Base:bookworm"),
        "base_image",
    );
    assert_invalid(
        validate::image_reference("docker.io/library/Debian"),
        "base_image",
    );
}

#[test]
fn image_reference_rejects_empty_tag() {
    assert_invalid(validate::image_reference("debian:"), "base_image");
}

#[test]
fn image_reference_rejects_tag_starting_with_a_separator() {
    assert_invalid(validate::image_reference("debian:-x"), "base_image");
    assert_invalid(validate::image_reference("debian:.x"), "base_image");
    assert_invalid(
        validate::image_reference(&format!("debian:{}", "t".repeat(129))),
        "base_image",
    );
}

#[test]
fn image_reference_rejects_empty_path_component() {
    assert_invalid(validate::image_reference("a//b"), "base_image");
    assert_invalid(validate::image_reference("a/b/"), "base_image");
    assert_invalid(validate::image_reference("/a"), "base_image");
}

#[test]
fn image_reference_rejects_a_tag_without_a_name() {
    assert_invalid(validate::image_reference(":tag"), "base_image");
}

#[test]
fn image_reference_rejects_trailing_or_leading_separators() {
    for bad in ["debian-", "-debian", "debian.", "debian_", "a/b-:tag"] {
        assert_invalid(validate::image_reference(bad), "base_image");
    }
}

#[test]
fn image_reference_rejects_invalid_separators() {
    for bad in ["a___b", "a..b", "a._b"] {
        assert_invalid(validate::image_reference(bad), "base_image");
    }
}

#[test]
fn image_reference_rejects_malformed_digests() {
    for bad in [
        "debian@sha256".to_string(),
        "debian@sha256:abc".to_string(),
        format!("debian@sha256:{}", "ABCDEF0123456789".repeat(4)),
        format!("debian@:{}", "0".repeat(64)),
        format!("debian@sha256:{}g", "0".repeat(63)),
    ] {
        assert_invalid(validate::image_reference(&bad), "base_image");
    }
}

#[test]
fn image_reference_rejects_invalid_registry_ports() {
    assert_invalid(validate::image_reference("localhost:/a"), "base_image");
    assert_invalid(validate::image_reference("localhost:50x0/a"), "base_image");
    assert_invalid(
        validate::image_reference("localhost:123456/a"),
        "base_image",
    );
}

#[test]
fn image_reference_rejects_spaces_and_empty_input() {
    for bad in ["", " ", "debian bookworm", "debian:book worm"] {
        assert_invalid(validate::image_reference(bad), "base_image");
    }
}

#[test]
fn image_reference_is_at_most_512_characters() {
    let long = format!("{}/{}", "a".repeat(255), "b".repeat(257));
    assert_eq!(long.len(), 513);
    assert_invalid(validate::image_reference(&long), "base_image");
}

// ---------------------------------------------------------------------------------------------
// limits

#[test]
fn design_defaults_are_valid_limits() {
    // DESIGN.md §2: cpu 2.0, memory 4096 MB, storage 20480 MB, idle timeout 30 minutes.
    assert_ok(validate::cpu_limit(2.0));
    assert_ok(validate::memory_limit(4096));
    assert_ok(validate::storage_limit(20480));
    assert_eq!(assert_ok(validate::idle_timeout_minutes(30)), 30);
}

#[test]
fn cpu_limit_must_be_greater_than_zero() {
    for bad in [0.0, -0.0, -1.0, 0.001] {
        assert_invalid(validate::cpu_limit(bad), "cpu_limit");
    }
    assert_ok(validate::cpu_limit(0.01));
    assert_ok(validate::cpu_limit(0.5));
}

#[test]
fn cpu_limit_is_at_most_256_cores() {
    assert_ok(validate::cpu_limit(256.0));
    assert_invalid(validate::cpu_limit(256.5), "cpu_limit");
}

#[test]
fn cpu_limit_must_be_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_invalid(validate::cpu_limit(bad), "cpu_limit");
    }
}

#[test]
fn memory_limit_below_64_mb_is_rejected() {
    assert_ok(validate::memory_limit(64));
    for bad in [63, 0, -4096] {
        assert_invalid(validate::memory_limit(bad), "memory_limit");
    }
}

#[test]
fn memory_limit_is_at_most_1_tib() {
    assert_ok(validate::memory_limit(1024 * 1024));
    assert_invalid(validate::memory_limit(1024 * 1024 + 1), "memory_limit");
    assert_invalid(validate::memory_limit(i64::MAX), "memory_limit");
}

#[test]
fn storage_limit_is_512_mb_to_16_tib() {
    assert_ok(validate::storage_limit(512));
    assert_ok(validate::storage_limit(16 * 1024 * 1024));
    for bad in [511, 0, -1, 16 * 1024 * 1024 + 1] {
        assert_invalid(validate::storage_limit(bad), "storage_limit");
    }
}

// ---------------------------------------------------------------------------------------------
// sessions

#[test]
fn session_name_accepts_letters_digits_underscore_hyphen() {
    for ok in ["main", "Dev_1", "a-b", &"s".repeat(64)] {
        assert_ok(validate::session_name(ok));
    }
}

#[test]
fn session_name_rejects_tmux_reserved_characters() {
    assert_invalid(validate::session_name("a.b"), "session_name");
    assert_invalid(validate::session_name("a:b"), "session_name");
}

#[test]
fn session_name_rejects_empty_long_or_spaced_names() {
    for bad in ["", "a b", "a/b", "ä", &"s".repeat(65)] {
        assert_invalid(validate::session_name(bad), "session_name");
    }
}

#[test]
fn idle_timeout_is_1_minute_to_7_days() {
    assert_eq!(assert_ok(validate::idle_timeout_minutes(1)), 1);
    assert_eq!(assert_ok(validate::idle_timeout_minutes(10080)), 10080);
    for bad in [0, -30, 10081, i64::from(i32::MAX) + 1, i64::MIN] {
        assert_invalid(validate::idle_timeout_minutes(bad), "idle_timeout_minutes");
    }
}

// ---------------------------------------------------------------------------------------------
// account

#[test]
fn notification_settings_must_be_a_json_object() {
    assert_ok(validate::notification_settings(&serde_json::json!({})));
    assert_ok(validate::notification_settings(
        &serde_json::json!({"email": {"environment_failed": true}}),
    ));
    for bad in [
        serde_json::json!(null),
        serde_json::json!([]),
        serde_json::json!("on"),
        serde_json::json!(1),
        serde_json::json!(true),
    ] {
        assert_invalid(
            validate::notification_settings(&bad),
            "notification_settings",
        );
    }
}

#[test]
fn notification_settings_are_at_most_16_kib() {
    let big = serde_json::json!({ "note": "n".repeat(16 * 1024) });
    assert_invalid(
        validate::notification_settings(&big),
        "notification_settings",
    );
}

#[test]
fn oauth_provider_is_a_lowercase_identifier() {
    for ok in ["github", "google", "my-idp_2"] {
        assert_ok(validate::oauth_provider(ok));
    }
    for bad in ["", "GitHub", "git hub", "git.hub", &"p".repeat(33)] {
        assert_invalid(validate::oauth_provider(bad), "provider");
    }
}

#[test]
fn oauth_subject_is_1_to_255_characters_without_control_characters() {
    assert_ok(validate::oauth_subject("1234567"));
    assert_ok(validate::oauth_subject(&"s".repeat(255)));
    for bad in ["", "a\nb", "a\u{0}", &"s".repeat(256)] {
        assert_invalid(validate::oauth_subject(bad), "subject");
    }
}

// ---------------------------------------------------------------------------------------------
// project ownership

#[test]
fn project_owned_by_a_user_alone_is_personal() {
    let u = UserId::new();
    assert_eq!(
        assert_ok(ProjectOwner::from_columns(Some(u), None)),
        ProjectOwner::User(u)
    );
}

#[test]
fn project_owned_by_a_team_alone_is_a_team_project() {
    let t = TeamId::new();
    assert_eq!(
        assert_ok(ProjectOwner::from_columns(None, Some(t))),
        ProjectOwner::Team(t)
    );
}

#[test]
fn project_owned_by_both_user_and_team_is_rejected() {
    assert_invalid(
        ProjectOwner::from_columns(Some(UserId::new()), Some(TeamId::new())),
        "owner",
    );
}

#[test]
fn project_owned_by_nobody_is_rejected() {
    assert_invalid(ProjectOwner::from_columns(None, None), "owner");
}

// ---------------------------------------------------------------------------------------------
// string enums

/// Checks that `T` spells exactly `names` (from DESIGN.md §2), that each name parses back, that
/// serde agrees, and that anything else is rejected naming `field`.
#[track_caller]
fn check_string_enum<T>(all: &[T], names: &[&str], field: &str)
where
    T: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + FromStr<Err = vibebox_core::Error>
        + serde::Serialize,
{
    let shown: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(shown, names, "the names differ from DESIGN.md");
    for (v, name) in all.iter().zip(names) {
        assert_eq!(assert_ok(T::from_str(name)), *v);
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::json!(name),
            "serde and Display disagree for {v:?}"
        );
        assert_invalid(T::from_str(&name.to_uppercase()), field);
        assert_invalid(T::from_str(&format!(" {name}")), field);
    }
    assert_invalid(T::from_str(""), field);
    assert_invalid(T::from_str("unknown"), field);
}

#[test]
fn role_is_admin_developer_or_viewer() {
    // Declaration order is viewer < developer < admin.
    check_string_enum(Role::ALL, &["viewer", "developer", "admin"], "role");
}

#[test]
fn environment_status_names_match_the_design() {
    check_string_enum(
        EnvironmentStatus::ALL,
        // DESIGN.md §2's five, and §11's `suspended` with the issue's `resuming`.
        &[
            "stopped",
            "starting",
            "running",
            "stopping",
            "error",
            "suspended",
            "resuming",
        ],
        "status",
    );
}

#[test]
fn session_status_names_match_the_design() {
    check_string_enum(
        SessionStatus::ALL,
        &["starting", "active", "idle", "terminated"],
        "status",
    );
}

#[test]
fn extension_status_names_match_the_design() {
    check_string_enum(
        ExtensionStatus::ALL,
        &[
            "pending",
            "installing",
            "installed",
            "failed",
            "uninstalling",
            "removed",
        ],
        "status",
    );
}

#[test]
fn protocol_is_tcp_or_udp() {
    check_string_enum(Protocol::ALL, &["tcp", "udp"], "protocol");
}

#[test]
fn session_type_is_vscode_server_tmux_or_shell() {
    check_string_enum(
        SessionType::ALL,
        &["vscode_server", "tmux", "shell"],
        "session_type",
    );
}

#[test]
fn log_stream_is_stdout_or_stderr() {
    check_string_enum(LogStream::ALL, &["stdout", "stderr"], "stream");
}

#[test]
fn scope_names_are_the_api_key_scopes() {
    check_string_enum(
        Scope::ALL,
        &[
            "read",
            "projects:write",
            "environments:write",
            "environments:lifecycle",
            "environments:exec",
            "teams:write",
            "account:write",
            "admin",
        ],
        "scopes",
    );
}

// ---------------------------------------------------------------------------------------------
// No validator panics, whatever the input.

/// Passes if `result` is Ok, or `InvalidInput` naming exactly `field`.
fn ok_or_invalid<T>(result: Result<T>, field: &str) -> std::result::Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
        prop_assert_eq!(e.field(), Some(field), "{}", e);
    }
    Ok(())
}

/// Strings that are sometimes close to valid: random pieces of the alphabets validators use.
fn near_valid_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9@._+:/\\-]{0,80}",
        "[a-z0-9]{1,10}(\\.[a-z0-9\\-]{1,10}){0,3}@[a-z0-9\\-]{0,10}(\\.[a-z0-9\\-]{0,6}){0,3}",
        "([a-zA-Z0-9.\\-]{1,12}(:[0-9a-z]{0,6})?/)?[a-z0-9._\\-]{0,12}(/[a-z0-9._\\-]{0,8}){0,3}(:[A-Za-z0-9._\\-]{0,10})?(@[a-z0-9]{0,7}:[0-9a-fA-F]{0,70})?",
        "https?://[a-zA-Z0-9.@:\\-]{0,30}(/[ -~]{0,20})?",
        "[A-Z_][A-Z0-9_]{0,20}",
    ]
}

/// `<type> <base64 blob>` where the blob is built from SSH strings with random contents and
/// sometimes lying lengths.
fn near_valid_ssh_key() -> impl Strategy<Value = String> {
    let kinds = prop::sample::select(vec![
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-dss",
    ]);
    let parts = prop::collection::vec(
        (
            prop::option::of(any::<u32>()),
            prop::collection::vec(any::<u8>(), 0..300),
        ),
        0..4,
    );
    (kinds, parts, any::<bool>()).prop_map(|(kind, parts, embed_kind)| {
        let mut blob = Vec::new();
        if embed_kind {
            ssh_string(&mut blob, kind.as_bytes());
        }
        for (lying_len, bytes) in parts {
            match lying_len {
                Some(len) => {
                    blob.extend_from_slice(&len.to_be_bytes());
                    blob.extend_from_slice(&bytes);
                }
                None => ssh_string(&mut blob, &bytes),
            }
        }
        format!(
            "{kind} {} c",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_string_validator_panics_on_any_input(s in near_valid_string()) {
        ok_or_invalid(validate::email(&s), "email")?;
        ok_or_invalid(validate::name("name", &s), "name")?;
        ok_or_invalid(validate::display_name(&s), "display_name")?;
        ok_or_invalid(validate::slug("slug", &s), "slug")?;
        ok_or_invalid(validate::description(&s), "description")?;
        ok_or_invalid(validate::password(&secret(&s)), "password")?;
        ok_or_invalid(validate::ssh_public_key(&s), "ssh_public_key")?;
        ok_or_invalid(validate::variable_key(&s), "key")?;
        ok_or_invalid(validate::variable_value(&s), "value")?;
        let _ = validate::is_secret_like_key(&s);
        ok_or_invalid(validate::semver("version", &s), "version")?;
        ok_or_invalid(validate::extension_id(&s), "extension_id")?;
        ok_or_invalid(validate::image_reference(&s), "base_image")?;
        ok_or_invalid(validate::session_name(&s), "session_name")?;
        ok_or_invalid(validate::download_url(&s), "download_url")?;
        ok_or_invalid(validate::oauth_provider(&s), "provider")?;
        ok_or_invalid(validate::oauth_subject(&s), "subject")?;
        ok_or_invalid(validate::notification_settings(&serde_json::json!({ "k": s.clone() })), "notification_settings")?;
        ok_or_invalid(validate::notification_settings(&serde_json::json!(s.clone())), "notification_settings")?;
        ok_or_invalid(Role::from_str(&s), "role")?;
        ok_or_invalid(EnvironmentStatus::from_str(&s), "status")?;
        ok_or_invalid(SessionStatus::from_str(&s), "status")?;
        ok_or_invalid(ExtensionStatus::from_str(&s), "status")?;
        ok_or_invalid(Protocol::from_str(&s), "protocol")?;
        ok_or_invalid(SessionType::from_str(&s), "session_type")?;
        ok_or_invalid(Scope::from_str(&s), "scopes")?;
    }

    #[test]
    fn no_ssh_key_blob_makes_the_parser_panic(line in near_valid_ssh_key()) {
        ok_or_invalid(validate::ssh_public_key(&line), "ssh_public_key")?;
    }

    #[test]
    fn no_number_validator_panics_on_any_input(n in any::<i64>(), f in any::<f64>()) {
        ok_or_invalid(validate::container_port(n), "container_port")?;
        ok_or_invalid(validate::host_port(n), "host_port")?;
        ok_or_invalid(validate::memory_limit(n), "memory_limit")?;
        ok_or_invalid(validate::storage_limit(n), "storage_limit")?;
        ok_or_invalid(validate::idle_timeout_minutes(n), "idle_timeout_minutes")?;
        ok_or_invalid(validate::cpu_limit(f), "cpu_limit")?;
    }

    #[test]
    fn port_validators_accept_exactly_their_ranges(n in -100_000_i64..100_000) {
        prop_assert_eq!(validate::container_port(n).is_ok(), (1..=65535).contains(&n));
        prop_assert_eq!(validate::host_port(n).is_ok(), (1024..=65535).contains(&n));
        if let Ok(p) = validate::host_port(n) {
            prop_assert_eq!(i64::from(p), n);
        }
    }

    #[test]
    fn normalizing_validators_are_idempotent(s in near_valid_string()) {
        if let Ok(e) = validate::email(&s) {
            prop_assert_eq!(validate::email(&e).ok(), Some(e.clone()));
            prop_assert_eq!(e.to_lowercase(), e.clone());
        }
        if let Ok(n) = validate::display_name(&s) {
            prop_assert_eq!(validate::display_name(&n).ok(), Some(n.clone()));
        }
        if let Ok((id, publisher)) = validate::extension_id(&s) {
            let prefix = format!("{publisher}.");
            prop_assert!(id.starts_with(&prefix));
            prop_assert_eq!(validate::extension_id(&id).ok(), Some((id.clone(), publisher)));
        }
    }

    #[test]
    fn accepted_slugs_match_the_design_pattern(s in "[a-z0-9\\-]{0,55}") {
        // ^[a-z0-9]+(-[a-z0-9]+)*$, 3-50 characters, checked here without the validator's code.
        let pattern_ok = !s.is_empty()
            && s.split('-').all(|part| !part.is_empty());
        let expected = pattern_ok && (3..=50).contains(&s.len());
        prop_assert_eq!(validate::slug("slug", &s).is_ok(), expected, "{}", s);
    }

    #[test]
    fn accepted_variable_keys_match_the_design_pattern(s in "[A-Za-z0-9_\\-]{0,20}") {
        // ^[A-Z_][A-Z0-9_]*$
        let mut chars = s.chars();
        let expected = chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        prop_assert_eq!(validate::variable_key(&s).is_ok(), expected, "{}", s);
    }

    #[test]
    fn keys_with_a_design_marker_are_always_secret_like(
        prefix in "[A-Z_]{0,8}",
        marker in prop::sample::select(vec!["API_KEY", "SECRET", "PASSWORD", "TOKEN", "PRIVATE_KEY"]),
        suffix in "[A-Z_]{0,8}",
    ) {
        let key = format!("{prefix}{marker}{suffix}");
        prop_assert!(validate::is_secret_like_key(&key), "{}", key);
    }
}
