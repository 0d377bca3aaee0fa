//! Files on the fake runtime: who may reach them, what is checked before anything runs, how
//! the scripts' answers (scripted with `FakeRuntime::script_exec`) become entries, errors and
//! audit records. The scripts themselves run on the real engine (tests/docker_files.rs).

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use vibebox_core::ErrorKind;
use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, Role};
use vibebox_core::rbac::Actor;
use vibebox_core::service::{FILE_LIST_MAX_ENTRIES, FILE_PATH_MAX_BYTES, FileKind};
use vibebox_core::store::{AuditFilter, PageRequest};
use vibebox_core::testing::ScriptedExec;

use super::harness::H;

/// What every file script's command line contains (its `$0`).
const SCRIPT: &str = "vibebox-files";

async fn running(h: &H, name: &str) -> (Actor, Environment) {
    let (actor, _, env) = h.owner_with_env(name).await;
    let env = h.vb.start_environment(&actor, env.id).await.unwrap();
    (actor, env)
}

fn body(data: &'static [u8]) -> impl futures::Stream<Item = io::Result<Bytes>> + Send {
    futures::stream::iter(vec![Ok(Bytes::from_static(data))])
}

/// A record as the scripts print it: six NUL-terminated fields.
fn record(name: &str, kind: &str, mode: &str, size: u64, mtime: &str, target: &str) -> String {
    [name, kind, mode, &size.to_string(), mtime, target]
        .iter()
        .map(|f| format!("{f}\0"))
        .collect()
}

async fn audit_actions(h: &H) -> Vec<(String, serde_json::Value)> {
    h.store
        .list_audit(
            &AuditFilter::default(),
            &PageRequest {
                limit: PageRequest::MAX_LIMIT,
                cursor: None,
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.action, e.details))
        .collect()
}

#[tokio::test]
async fn viewers_are_refused_files_and_strangers_told_the_environment_does_not_exist() {
    let h = H::new().await;
    let admin = h.user("admin").await;
    let viewer = h.user("viewer").await;
    let stranger = h.user("stranger").await;
    let team = h.team(&admin, "core", &[("viewer", Role::Viewer)]).await;
    let project = h.project(&admin, "proj", Some(&team)).await;
    let env = h.env(&admin, &project, "dev").await;
    let env = h.vb.start_environment(&admin, env.id).await.unwrap();
    let before = h.rt.exec_history().len();
    for (actor, kind) in [
        (&viewer, ErrorKind::PermissionDenied),
        (&stranger, ErrorKind::NotFound),
    ] {
        let e = h.vb.list_files(actor, env.id, ".").await.unwrap_err();
        assert_eq!(e.kind(), kind, "list: {e}");
        let e = h.vb.download(actor, env.id, "x").await.unwrap_err();
        assert_eq!(e.kind(), kind, "download: {e}");
        let e =
            h.vb.upload_file(actor, env.id, "x", 1, body(b"x"), None)
                .await
                .unwrap_err();
        assert_eq!(e.kind(), kind, "upload: {e}");
    }
    let e = h.vb.list_files(&stranger, env.id, ".").await.unwrap_err();
    assert_eq!(e.to_string(), "environment not found");
    assert_eq!(h.rt.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn files_of_a_stopped_environment_are_a_conflict_saying_to_start_it() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let errors = [
        h.vb.list_files(&alice, env.id, ".").await.unwrap_err(),
        h.vb.download(&alice, env.id, "a").await.unwrap_err(),
        h.vb.upload_file(&alice, env.id, "a", 1, body(b"a"), None)
            .await
            .unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        assert!(
            e.to_string().contains("stopped; start it"),
            "the message says to start it: {e}"
        );
    }
}

#[tokio::test]
async fn bad_paths_sizes_and_modes_are_refused_naming_the_field_before_anything_runs() {
    let h = H::with_config(Config {
        max_upload_bytes: 10,
        ..Config::default()
    })
    .await;
    let (alice, env) = running(&h, "alice").await;
    let before = h.rt.exec_history().len();
    let long = "a".repeat(FILE_PATH_MAX_BYTES + 1);
    for path in ["", "a\0b", long.as_str()] {
        let e = h.vb.list_files(&alice, env.id, path).await.unwrap_err();
        assert_eq!(e.field(), Some("path"), "list {path:?}: {e}");
        let e = h.vb.download(&alice, env.id, path).await.unwrap_err();
        assert_eq!(e.field(), Some("path"), "download {path:?}: {e}");
        let e =
            h.vb.upload_file(&alice, env.id, path, 1, body(b"x"), None)
                .await
                .unwrap_err();
        assert_eq!(e.field(), Some("path"), "upload {path:?}: {e}");
    }
    let cases = [
        ("/", 1, None, "path"),
        ("/..", 1, None, "path"),
        ("a", 11, None, "content_length"),
        ("a", 1, Some(0o10000), "mode"),
    ];
    for (path, length, mode, field) in cases {
        let e =
            h.vb.upload_file(&alice, env.id, path, length, body(b"x"), mode)
                .await
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(e.field(), Some(field), "{path} {length} {mode:?}: {e}");
    }
    assert_eq!(h.rt.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn an_upload_runs_as_the_user_with_the_path_as_an_argument_and_is_audited_without_content() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let answer = record("notes; rm -rf ~", "f", "640", 14, "1700000000.5", "");
    h.rt.script_exec(SCRIPT, ScriptedExec::succeed(answer));
    let entry =
        h.vb.upload_file(
            &alice,
            env.id,
            "docs/../notes; rm -rf ~",
            14,
            body(b"canary-content"),
            Some(0o640),
        )
        .await
        .unwrap();
    assert_eq!(entry.path, "/home/vibebox/notes; rm -rf ~");
    assert_eq!(
        (entry.kind, entry.size, entry.mode),
        (FileKind::File, 14, 0o640)
    );

    let exec = h.rt.exec_history().pop().unwrap();
    assert_eq!(exec.spec.user.as_deref(), Some("1000"));
    let cmd = &exec.spec.cmd;
    assert_eq!(&cmd[..2], ["/bin/sh", "-c"]);
    assert!(
        !cmd[2].contains("notes"),
        "the path is not in the script text"
    );
    assert_eq!(
        &cmd[3..],
        [
            SCRIPT,
            "/home/vibebox",
            "/home/vibebox/notes; rm -rf ~",
            "14",
            "640"
        ]
    );

    let audit = audit_actions(&h).await;
    let (_, details) = audit
        .iter()
        .find(|(action, _)| action == "environment.file_upload")
        .expect("the upload is audited");
    assert_eq!(details["path"], "/home/vibebox/notes; rm -rf ~");
    assert_eq!(details["size"], 14);
    assert!(!format!("{audit:?}").contains("canary-content"));
}

#[tokio::test]
async fn a_script_that_saw_the_wrong_byte_count_is_reported_as_the_body() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    h.rt.script_exec(SCRIPT, ScriptedExec::fail(27, ""));
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"part")),
        Err(io::Error::other("connection reset")),
    ]);
    let e =
        h.vb.upload_file(&alice, env.id, "f", 100, failing, None)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("body"), "{e}");
    assert!(e.to_string().contains("after 4 of 100 bytes"), "{e}");
    assert!(e.to_string().contains("connection reset"), "{e}");
}

#[tokio::test]
async fn refusals_inside_the_container_become_not_found_or_name_path() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let cases = [
        (20, ErrorKind::NotFound, None, "file not found"),
        (
            21,
            ErrorKind::InvalidInput,
            Some("path"),
            "not a regular file",
        ),
        (
            22,
            ErrorKind::InvalidInput,
            Some("path"),
            "permission denied reading",
        ),
    ];
    for (code, kind, field, message) in cases {
        h.rt.script_exec(SCRIPT, ScriptedExec::fail(code, "refused\n"));
        let e = h.vb.download(&alice, env.id, "/x").await.unwrap_err();
        assert_eq!((e.kind(), e.field()), (kind, field), "{code}: {e}");
        assert!(e.to_string().contains(message), "{code}: {e}");
    }
    h.rt.script_exec(SCRIPT, ScriptedExec::fail(23, ""));
    let e = h.vb.list_files(&alice, env.id, "/x").await.unwrap_err();
    assert!(e.to_string().contains("is not a directory"), "{e}");
    h.rt.script_exec(SCRIPT, ScriptedExec::fail(25, ""));
    let e =
        h.vb.upload_file(&alice, env.id, "/no/f", 1, body(b"x"), None)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("path"), "{e}");
    assert!(e.to_string().contains("\"/no\" does not exist"), "{e}");
    h.rt.script_exec(SCRIPT, ScriptedExec::fail(22, ""));
    let e =
        h.vb.upload_file(&alice, env.id, "/etc/f", 1, body(b"x"), None)
            .await
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("permission denied writing in \"/etc\""),
        "{e}"
    );
    assert!(
        !audit_actions(&h)
            .await
            .iter()
            .any(|(a, _)| a.starts_with("environment.file_")),
        "refusals are not audited"
    );
}

#[tokio::test]
async fn a_download_sends_exactly_the_files_size_and_is_audited() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let header = format!(
        "/home/vibebox/real.txt\0{}",
        record("real.txt", "f", "644", 5, "1700000000", "")
    );
    h.rt.script_exec(
        SCRIPT,
        ScriptedExec::succeed(format!("{header}hello, and what came after")),
    );
    let mut download = h.vb.download(&alice, env.id, "link").await.unwrap();
    assert!(!download.is_archive());
    assert_eq!(download.entry.path, "/home/vibebox/real.txt");
    let mut bytes = Vec::new();
    while let Some(chunk) = download.body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, b"hello");
    let audit = audit_actions(&h).await;
    let (_, details) = audit
        .iter()
        .find(|(action, _)| action == "environment.file_download")
        .expect("the download is audited");
    assert_eq!(details["path"], "/home/vibebox/link");
    assert_eq!(details["real_path"], "/home/vibebox/real.txt");
    assert_eq!(details["size"], 5);
}

#[tokio::test]
async fn a_file_shorter_than_its_size_ends_its_download_with_an_error() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let header = format!("/f\0{}", record("f", "f", "644", 100, "1", ""));
    h.rt.script_exec(SCRIPT, ScriptedExec::succeed(format!("{header}short")));
    let mut download = h.vb.download(&alice, env.id, "/f").await.unwrap();
    let first = download.body.next().await.unwrap().unwrap();
    assert_eq!(&first[..], b"short");
    let e = download.body.next().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(download.body.next().await.is_none());
}

#[tokio::test]
async fn a_listing_is_sorted_keeps_odd_names_and_is_truncated_past_the_cap() {
    let h = H::new().await;
    let (alice, env) = running(&h, "alice").await;
    let small = [
        record("zeta", "d", "755", 4096, "1", ""),
        record("new\nline", "f", "600", 3, "2.25", ""),
        record("link", "l", "777", 9, "3", "../a b\nc"),
    ]
    .concat();
    h.rt.script_exec(SCRIPT, ScriptedExec::succeed(small));
    let listing = h.vb.list_files(&alice, env.id, "/w").await.unwrap();
    assert!(!listing.truncated);
    let names: Vec<&str> = listing.items.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["link", "new\nline", "zeta"]);
    assert_eq!(listing.items[0].link_target.as_deref(), Some("../a b\nc"));
    assert_eq!(listing.items[1].path, "/w/new\nline");
    assert_eq!(listing.items[1].mtime.timestamp_subsec_millis(), 250);

    let many: String = (0..=FILE_LIST_MAX_ENTRIES)
        .map(|i| record(&format!("f{i:05}"), "f", "644", 0, "1", ""))
        .collect();
    h.rt.script_exec(SCRIPT, ScriptedExec::succeed(many));
    let listing = h.vb.list_files(&alice, env.id, "/w").await.unwrap();
    assert!(listing.truncated);
    assert_eq!(listing.items.len(), FILE_LIST_MAX_ENTRIES);
}
