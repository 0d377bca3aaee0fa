//! Files on the real Docker engine: uploads land whole or not at all, owned by the
//! environment's user; downloads send a file's bytes or a directory as tar; listings show every
//! kind of name; and every path is resolved inside the container, as that user, so symlinks
//! out of it, `..`, devices and `/proc` cannot reach what the user could not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::io;
use std::time::Instant;

use bytes::Bytes;
use docker::*;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use vibebox::Actor;
use vibebox::ErrorKind;
use vibebox::domain::Environment;
use vibebox::runtime::HardeningProfile;
use vibebox::service::{FileEntry, FileKind};
use vibebox::store::{AuditFilter, PageRequest};

const MB: usize = 1024 * 1024;

/// A body of `data` in chunks of 64 KiB.
fn chunks(data: Bytes) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let pieces: Vec<io::Result<Bytes>> = (0..data.len())
        .step_by(64 * 1024)
        .map(|at| Ok(data.slice(at..(at + 64 * 1024).min(data.len()))))
        .collect();
    futures::stream::iter(pieces)
}

async fn upload(d: &D, actor: &Actor, env: &Environment, path: &str, data: &[u8]) -> FileEntry {
    let data = Bytes::copy_from_slice(data);
    d.vb.upload_file(actor, env.id, path, data.len() as u64, chunks(data), None)
        .await
        .unwrap_or_else(|e| panic!("uploading {path}: {e}"))
}

/// Downloads `path` whole: the entry and the bytes.
async fn download(d: &D, actor: &Actor, env: &Environment, path: &str) -> (FileEntry, Vec<u8>) {
    let mut download = d.vb.download(actor, env.id, path).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(chunk) = download.body.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
    })
    .await
    .expect("the download ended in time");
    (download.entry, bytes)
}

/// The names in a directory, as the service lists them.
async fn names(d: &D, actor: &Actor, env: &Environment, dir: &str) -> Vec<String> {
    let listing = d.vb.list_files(actor, env.id, dir).await.unwrap();
    listing.items.into_iter().map(|e| e.name).collect()
}

fn no_temp_files(names: &[String]) {
    assert!(
        !names.iter().any(|n| n.starts_with(".vibebox-upload.")),
        "a temporary file was left: {names:?}"
    );
}

/// What `sh -c script` prints in the environment (as its user, in its home), asserting it
/// succeeds.
async fn sh(d: &D, env: &Environment, script: &str) -> String {
    let (code, out) = d.exec(env, &format!("cd /home/vibebox && {script}")).await;
    assert_eq!(code, 0, "`{script}` failed: {out}");
    out
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    getrandom::fill(&mut data).unwrap();
    data
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_invalid_path(e: &vibebox::Error, needle: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.field(), Some("path"), "{e}");
    assert!(e.to_string().contains(needle), "{e} should say {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_file_round_trips_with_the_same_sha256_owned_by_the_user() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let data = random_bytes(50 * MB);
    let started = Instant::now();
    let entry = upload(&d, &alice, &env, "big.bin", &data).await;
    let up = started.elapsed();
    assert_eq!(entry.path, "/home/vibebox/big.bin");
    assert_eq!(
        (entry.kind, entry.size),
        (FileKind::File, data.len() as u64)
    );
    assert_eq!(entry.mode, 0o644, "a new file gets 0666 less the umask");
    assert_eq!(
        sh(&d, &env, "stat -c %u:%g big.bin").await.trim(),
        "1000:1000"
    );
    let inside = sh(&d, &env, "sha256sum big.bin").await;
    assert!(inside.starts_with(&hex_sha256(&data)), "{inside}");

    let started = Instant::now();
    let (got, bytes) = download(&d, &alice, &env, "/home/vibebox/big.bin").await;
    let down = started.elapsed();
    assert_eq!(got.size, data.len() as u64);
    assert_eq!(hex_sha256(&bytes), hex_sha256(&data));
    eprintln!(
        "50 MB: upload {:.0} MB/s, download {:.0} MB/s",
        50.0 / up.as_secs_f64(),
        50.0 / down.as_secs_f64()
    );

    let audit = d
        .store
        .list_audit(
            &AuditFilter::default(),
            &PageRequest {
                limit: PageRequest::MAX_LIMIT,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let uploaded = audit
        .items
        .iter()
        .find(|e| e.action == "environment.file_upload")
        .expect("the upload is audited");
    assert_eq!(uploaded.details["path"], "/home/vibebox/big.bin");
    assert_eq!(uploaded.details["size"], data.len() as u64);
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "environment.file_download"
                && e.details["size"] == data.len() as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_whose_body_fails_midway_changes_nothing_and_leaves_no_temp_file() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    upload(&d, &alice, &env, "keep.txt", b"old content").await;
    let first = Bytes::from(random_bytes(MB));
    let failing = futures::stream::iter(vec![
        Ok(first),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ]);
    let e =
        d.vb.upload_file(&alice, env.id, "keep.txt", 4 * MB as u64, failing, None)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("body"), "{e}");
    assert!(e.to_string().contains("client went away"), "{e}");

    // A body that simply ends short is refused the same way.
    let short = chunks(Bytes::from_static(b"only this"));
    let e =
        d.vb.upload_file(&alice, env.id, "keep.txt", 1000, short, None)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("body"), "{e}");
    // And so is one longer than announced.
    let long = chunks(Bytes::from_static(b"more than five"));
    let e =
        d.vb.upload_file(&alice, env.id, "keep.txt", 5, long, None)
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("body"), "{e}");

    assert_eq!(sh(&d, &env, "cat keep.txt").await, "old content");
    no_temp_files(&names(&d, &alice, &env, ".").await);
    assert_eq!(
        sh(&d, &env, "ls -A | grep -c vibebox-upload || true")
            .await
            .trim(),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_upload_removes_its_temp_file_and_leaves_the_target() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    upload(&d, &alice, &env, "keep.txt", b"old content").await;
    // A client that sends 1 MiB, then nothing, then goes away (its request is dropped).
    let (_hold, never) = tokio::sync::oneshot::channel::<()>();
    let body = futures::stream::iter(vec![Ok::<Bytes, io::Error>(Bytes::from(random_bytes(MB)))])
        .chain(futures::stream::once(async move {
            let _ = never.await;
            Ok(Bytes::new())
        }))
        .boxed();
    let vb = d.vb.clone();
    let (actor, id) = (alice.clone(), env.id);
    let uploading = tokio::spawn(async move {
        vb.upload_file(&actor, id, "keep.txt", 4 * MB as u64, body, None)
            .await
    });
    d.exec_until_ok(
        &env,
        "cd /home/vibebox && f=$(ls -A | grep vibebox-upload) && [ \"$(stat -c %s \"$f\")\" -ge 1048576 ]",
    )
    .await;
    uploading.abort();
    assert!(uploading.await.unwrap_err().is_cancelled());
    wait_until("the temporary file is removed", || async {
        d.exec(&env, "cd /home/vibebox && ! ls -A | grep -q vibebox-upload")
            .await
            .0
            == 0
    })
    .await;
    assert_eq!(sh(&d, &env, "cat keep.txt").await, "old content");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_file_keeps_its_old_content_and_mode_until_the_rename() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    upload(&d, &alice, &env, "conf", b"version one\n").await;
    sh(&d, &env, "chmod 600 conf").await;

    // The body stops halfway until the test lets it go on.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let half = Bytes::from(vec![b'2'; 3 * MB]);
    let body = futures::stream::iter(vec![Ok::<Bytes, io::Error>(half.clone())])
        .chain(futures::stream::once(async move {
            let _ = released.await;
            Ok(half)
        }))
        .boxed();
    let vb = d.vb.clone();
    let (actor, id) = (alice.clone(), env.id);
    let uploading = tokio::spawn(async move {
        vb.upload_file(&actor, id, "conf", 6 * MB as u64, body, None)
            .await
    });
    // Half the new content is in a temporary file beside the target, not in it.
    let temp = d
        .exec_until_ok(
            &env,
            "cd /home/vibebox && f=$(ls -A | grep vibebox-upload) && [ \"$(stat -c %s \"$f\")\" -ge 3145728 ] && echo \"$f\"",
        )
        .await;
    assert!(temp.trim().starts_with(".vibebox-upload."), "{temp}");
    assert_eq!(sh(&d, &env, "cat conf").await, "version one\n");
    release.send(()).unwrap();
    let entry = uploading.await.unwrap().unwrap();
    assert_eq!((entry.size, entry.mode), (6 * MB as u64, 0o600));
    assert_eq!(
        sh(&d, &env, "stat -c %s:%a conf").await.trim(),
        "6291456:600"
    );
    no_temp_files(&names(&d, &alice, &env, "/home/vibebox").await);
}

/// The entries of a tar archive: (type flag, name, link name).
fn tar_entries(tar: &[u8]) -> Vec<(char, String, String)> {
    let field = |block: &[u8], from: usize, len: usize| {
        let raw = &block[from..from + len];
        let end = raw.iter().position(|b| *b == 0).unwrap_or(len);
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() {
        let block = &tar[at..at + 512];
        if block.iter().all(|b| *b == 0) {
            break;
        }
        let size = usize::from_str_radix(field(block, 124, 12).trim(), 8).unwrap();
        let flag = block[156] as char;
        entries.push((flag, field(block, 0, 100), field(block, 157, 100)));
        at += 512 + size.div_ceil(512) * 512;
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_downloads_as_a_tar_with_its_entries_and_links_kept_as_links() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    sh(
        &d,
        &env,
        "mkdir -p proj/src && echo 'fn main() {}' > proj/src/main.rs && echo hi > 'proj/a b.txt' \
         && ln -s /etc/shadow proj/secret && ln -s proj linked",
    )
    .await;
    // Through a symlink at the top, which is followed.
    let mut download = d.vb.download(&alice, env.id, "linked").await.unwrap();
    assert!(download.is_archive());
    assert_eq!(download.entry.kind, FileKind::Directory);
    assert_eq!(download.entry.path, "/home/vibebox/proj");
    let mut tar = Vec::new();
    while let Some(chunk) = download.body.next().await {
        tar.extend_from_slice(&chunk.unwrap());
    }
    let mut entries = tar_entries(&tar);
    entries.sort();
    let expected = [
        ('0', "proj/a b.txt", ""),
        ('0', "proj/src/main.rs", ""),
        ('2', "proj/secret", "/etc/shadow"),
        ('5', "proj/", ""),
        ('5', "proj/src/", ""),
    ];
    let entries: Vec<(char, &str, &str)> = entries
        .iter()
        .map(|(f, n, l)| (*f, n.as_str(), l.as_str()))
        .collect();
    assert_eq!(entries, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_shows_name_size_mode_mtime_kind_and_odd_names() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    listing_checks(&d, &alice, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_on_busybox_shows_the_same() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let project = d.project(&alice, "busybox").await;
    let env =
        d.vb.create_environment(&alice, new_env(&project, "tiny", BUSYBOX_IMAGE))
            .await
            .unwrap();
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    listing_checks(&d, &alice, &env).await;
    // Uploads and downloads run the same scripts there.
    upload(&d, &alice, &env, "bb.txt", b"busybox").await;
    assert_eq!(download(&d, &alice, &env, "bb.txt").await.1, b"busybox");
}

async fn listing_checks(d: &D, alice: &Actor, env: &Environment) {
    sh(
        d,
        env,
        "mkdir -p l/sub && cd l && printf 12345 > 'with space' && printf x > \"$(printf 'new\\nline')\" \
         && printf y > 'ünïcode' && chmod 640 'with space' && ln -s '../t a r\nget' link && mkfifo pipe \
         && touch -d '2020-01-02 03:04:05' 'with space'",
    )
    .await;
    let listing = d.vb.list_files(alice, env.id, "l").await.unwrap();
    assert!(!listing.truncated);
    let by_name = |name: &str| {
        listing
            .items
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name:?} missing from {:?}", listing.items))
    };
    let names: Vec<&str> = listing.items.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["link", "new\nline", "pipe", "sub", "with space", "ünïcode"]
    );
    let spaced = by_name("with space");
    assert_eq!(spaced.path, "/home/vibebox/l/with space");
    assert_eq!(
        (spaced.kind, spaced.size, spaced.mode),
        (FileKind::File, 5, 0o640)
    );
    assert_eq!(
        spaced.mtime.timestamp(),
        sh(d, env, "stat -c %Y 'l/with space'")
            .await
            .trim()
            .parse::<i64>()
            .unwrap()
    );
    assert_eq!(by_name("new\nline").size, 1);
    assert_eq!(by_name("sub").kind, FileKind::Directory);
    assert_eq!(by_name("pipe").kind, FileKind::Other);
    let link = by_name("link");
    assert_eq!(link.kind, FileKind::Symlink);
    assert_eq!(link.link_target.as_deref(), Some("../t a r\nget"));
    assert_eq!(by_name("ünïcode").link_target, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_is_normalized_and_relative_paths_start_at_home() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    sh(&d, &env, "mkdir -p /home/vibebox/x").await;
    let entry = upload(&d, &alice, &env, "x/../../vibebox/./a.txt", b"a").await;
    assert_eq!(entry.path, "/home/vibebox/a.txt");
    assert_eq!(sh(&d, &env, "cat /home/vibebox/a.txt").await, "a");
    // `..` past the root stays at the root, where the user may not write.
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "../../../../escape",
            1,
            chunks(Bytes::from_static(b"z")),
            None,
        )
        .await
        .unwrap_err();
    assert_invalid_path(&e, "permission denied writing in \"/\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_to_etc_shadow_reads_nothing_under_the_strict_profile() {
    let d = D::with(|cfg| cfg.hardening = HardeningProfile::Strict).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    sh(&d, &env, "ln -s /etc/shadow shadow && ln -s /etc evil-dir").await;
    let cid = env.container_id.clone().unwrap();
    let root_view = docker(&["exec", "-u", "0", &cid, "sha256sum", "/etc/shadow"]);
    assert!(root_view.contains("/etc/shadow"), "{root_view}");

    let e = d.vb.download(&alice, env.id, "shadow").await.unwrap_err();
    assert_invalid_path(&e, "permission denied reading \"/home/vibebox/shadow\"");
    let e =
        d.vb.download(&alice, env.id, "/etc/shadow")
            .await
            .unwrap_err();
    assert_invalid_path(&e, "permission denied");
    // Writing through the link's directory is refused by the kernel; writing at the link
    // replaces the link, never the file it names.
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "evil-dir/shadow",
            1,
            chunks(Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert_invalid_path(
        &e,
        "permission denied writing in \"/home/vibebox/evil-dir\"",
    );
    let entry = upload(&d, &alice, &env, "shadow", b"mine").await;
    assert_eq!(entry.kind, FileKind::File);
    let after = docker(&["exec", "-u", "0", &cid, "sha256sum", "/etc/shadow"]);
    assert_eq!(after, root_view, "/etc/shadow is untouched");
    assert_eq!(sh(&d, &env, "cat shadow").await, "mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_into_proc_1_root_reads_the_containers_own_file() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    sh(&d, &env, "ln -s /proc/1/root/etc/hostname host").await;
    let (entry, bytes) = download(&d, &alice, &env, "host").await;
    let own = sh(&d, &env, "cat /etc/hostname").await;
    assert_eq!(entry.path, "/etc/hostname");
    assert_eq!(String::from_utf8(bytes).unwrap(), own);
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        assert_ne!(host, own, "the container has its own hostname file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_and_proc_oddities_are_refused_or_bounded_never_streamed_forever() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    sh(&d, &env, "ln -s /dev/zero zero && mkfifo fifo").await;
    for path in ["/dev/zero", "/dev/null", "zero", "fifo", "/proc/self/fd/0"] {
        let e = tokio::time::timeout(WAIT, d.vb.download(&alice, env.id, path))
            .await
            .unwrap_or_else(|_| panic!("downloading {path} hung"))
            .unwrap_err();
        assert_eq!(e.field(), Some("path"), "{path}: {e}");
    }
    for path in ["/dev/null", "fifo"] {
        let e =
            d.vb.upload_file(
                &alice,
                env.id,
                path,
                1,
                chunks(Bytes::from_static(b"x")),
                None,
            )
            .await
            .unwrap_err();
        assert_invalid_path(&e, "not a regular file");
    }
    // /proc's files report size 0, so they download empty; whatever they are, it ends.
    for path in [
        "/proc/self/environ",
        "/proc/1/environ",
        "/proc/self/mem",
        "/proc/self",
    ] {
        let done = tokio::time::timeout(WAIT, async {
            match d.vb.download(&alice, env.id, path).await {
                Ok(mut download) => {
                    let mut total = 0usize;
                    while let Some(Ok(chunk)) = download.body.next().await {
                        total += chunk.len();
                    }
                    Some(total)
                }
                Err(_) => None,
            }
        })
        .await;
        assert!(done.is_ok(), "downloading {path} hung");
    }
    let dev = d.vb.list_files(&alice, env.id, "/dev").await.unwrap();
    let null = dev.items.iter().find(|e| e.name == "null").unwrap();
    assert_eq!(null.kind, FileKind::Other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_paths_are_not_found_and_refusals_name_path() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let e = d.vb.download(&alice, env.id, "nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.to_string(), "file not found");
    let e = d.vb.list_files(&alice, env.id, "/root").await.unwrap_err();
    assert_invalid_path(&e, "permission denied reading \"/root\"");
    let e =
        d.vb.list_files(&alice, env.id, "/etc/hostname")
            .await
            .unwrap_err();
    assert_invalid_path(&e, "is not a directory");
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "no/such/dir/f",
            1,
            chunks(Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert_invalid_path(&e, "does not exist");
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "/home",
            1,
            chunks(Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert_invalid_path(&e, "is a directory");
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "/etc/passwd",
            1,
            chunks(Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert_invalid_path(&e, "permission denied writing in \"/etc\"");
    // Nothing was left behind by the refusals.
    no_temp_files(&names(&d, &alice, &env, "/home/vibebox").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_a_stopped_environment_are_a_conflict_saying_to_start_it() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let e = d.vb.list_files(&alice, env.id, ".").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.to_string().contains("start it"), "{e}");
    let e = d.vb.download(&alice, env.id, "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e =
        d.vb.upload_file(
            &alice,
            env.id,
            "x",
            1,
            chunks(Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_http_passes_the_body_limit_and_round_trips() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let (_, token, app) = serve_http(&d, &alice).await;
    let data = random_bytes(5 * MB);
    let uri = format!(
        "/api/v1/environments/{}/files?path=web.bin&mode=600",
        env.id
    );
    let put = Request::put(&uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/octet-stream")
        .header("content-length", data.len().to_string())
        .body(Body::from_stream(chunks(Bytes::from(data.clone()))))
        .unwrap();
    let response = app.clone().oneshot(put).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let entry: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(entry["size"], data.len() as u64);
    assert_eq!(entry["mode"], 0o600);

    let get = Request::get(&uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(get).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-length"],
        data.len().to_string().as_str()
    );
    let got = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(hex_sha256(&got), hex_sha256(&data));
}
