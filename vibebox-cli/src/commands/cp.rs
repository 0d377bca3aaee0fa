//! `vibebox cp LOCAL ENV:PATH` and `vibebox cp ENV:PATH LOCAL`, files and directories, like
//! `cp -r`: a destination that is a directory receives the source under its own name.
//!
//! Uploads stream each file (the server writes it atomically, as the environment's user);
//! directories are made first with one `mkdir -p`. Downloads of a directory arrive as a tar
//! that is unpacked with `tar`'s own path checks (nothing lands outside the destination), and
//! a file is written beside its destination and renamed over it, so a failed copy leaves
//! nothing half-written. `-` as LOCAL is stdout.

use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;
use vibebox_client::ExecRequest;
use vibebox_core::id::EnvironmentId;

use crate::cli::{CpArgs, CpEnd};
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::resolve;

/// Copies one way or the other.
pub async fn run(ctx: &Context, args: CpArgs) -> Result<u8, CliError> {
    match (CpEnd::parse(&args.source), CpEnd::parse(&args.destination)) {
        (CpEnd::Local(from), CpEnd::Remote { env, path }) => {
            let id = resolve::environment_id(&ctx.client, &env).await?;
            upload(ctx, id, &from, &path).await?;
        }
        (CpEnd::Remote { env, path }, CpEnd::Local(to)) => {
            let id = resolve::environment_id(&ctx.client, &env).await?;
            download(ctx, id, &path, &to).await?;
        }
        _ => {
            return Err(CliError::usage(
                "one side must be local and the other ENV:PATH",
                "vibebox cp ./notes.txt web/dev:/home/dev/ or vibebox cp web/dev:/etc/hosts .",
            ));
        }
    }
    Ok(0)
}

/// The last component of a path, for `cp a dir/` → `dir/a`.
fn base_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// `a` joined to `b` with one slash.
fn join(a: &str, b: &str) -> String {
    format!("{}/{b}", a.trim_end_matches('/'))
}

async fn remote_is_dir(ctx: &Context, env: EnvironmentId, path: &str) -> bool {
    ctx.client.list_files(env, path).await.is_ok()
}

async fn upload(ctx: &Context, env: EnvironmentId, from: &Path, to: &str) -> Result<(), CliError> {
    let meta = tokio::fs::metadata(from)
        .await
        .map_err(|e| CliError::io(from, e))?;
    let name = from
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = if to.ends_with('/') || remote_is_dir(ctx, env, to).await {
        join(to, &name)
    } else {
        to.to_owned()
    };
    if meta.is_file() {
        return upload_file(ctx, env, from, &target).await;
    }
    if !meta.is_dir() {
        return Err(CliError::usage(
            format!("{} is neither a file nor a directory", from.display()),
            "",
        ));
    }
    let (dirs, files) = walk(from)?;
    let mut mkdir = vec![
        "mkdir".to_owned(),
        "-p".to_owned(),
        "--".to_owned(),
        target.clone(),
    ];
    mkdir.extend(dirs.iter().map(|d| join(&target, &relative(d))));
    let made = ctx.client.exec(env, &ExecRequest::new(mkdir)).await?;
    if made.exit_code != Some(0) {
        return Err(CliError::failed(format!(
            "cannot make the directories under {target}: {}",
            made.stderr_text().trim()
        )));
    }
    for (local, rel) in files {
        upload_file(ctx, env, &local, &join(&target, &rel)).await?;
    }
    Ok(())
}

/// A path relative to the walk's root, with `/` separators.
fn relative(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The directories and files under `root` (relative paths; symlinks are skipped with a
/// warning, as they may point anywhere on this machine).
#[allow(clippy::type_complexity)]
fn walk(root: &Path) -> Result<(Vec<PathBuf>, Vec<(PathBuf, String)>), CliError> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| CliError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| CliError::io(&dir, e))?;
            let kind = entry
                .file_type()
                .map_err(|e| CliError::io(&entry.path(), e))?;
            let rel = rel.join(entry.file_name());
            if kind.is_dir() {
                dirs.push(rel.clone());
                stack.push(rel);
            } else if kind.is_file() {
                let text = relative(&rel);
                files.push((entry.path(), text));
            } else {
                eprintln!(
                    "warning: skipped {} (not a regular file)",
                    entry.path().display()
                );
            }
        }
    }
    dirs.sort();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok((dirs, files))
}

async fn upload_file(
    ctx: &Context,
    env: EnvironmentId,
    from: &Path,
    to: &str,
) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let file = tokio::fs::File::open(from)
        .await
        .map_err(|e| CliError::io(from, e))?;
    let meta = file.metadata().await.map_err(|e| CliError::io(from, e))?;
    let mode = meta.permissions().mode() & 0o777;
    ctx.client
        .upload_file(env, to, Some(mode), meta.len(), file)
        .await?;
    Ok(())
}

async fn download(
    ctx: &Context,
    env: EnvironmentId,
    from: &str,
    to: &Path,
) -> Result<(), CliError> {
    let mut download = ctx.client.download_file(env, from).await?;
    if to == Path::new("-") {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = download.body.try_next().await? {
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        return Ok(());
    }
    let into_dir = tokio::fs::metadata(to).await.is_ok_and(|m| m.is_dir());
    let target = if into_dir {
        to.join(base_name(from))
    } else {
        to.to_path_buf()
    };
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    let partial = parent.join(format!(".{name}.vibebox-partial"));
    let result = async {
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| CliError::io(&partial, e))?;
        while let Some(chunk) = download.body.try_next().await? {
            file.write_all(&chunk)
                .await
                .map_err(|e| CliError::io(&partial, e))?;
        }
        file.sync_all()
            .await
            .map_err(|e| CliError::io(&partial, e))?;
        Ok::<(), CliError>(())
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    if download.is_archive {
        let unpacked = unpack(&partial, &target).await;
        let _ = tokio::fs::remove_file(&partial).await;
        return unpacked;
    }
    tokio::fs::rename(&partial, &target)
        .await
        .map_err(|e| CliError::io(&target, e))
}

/// Unpacks the tar of a directory (whose entries start with the directory's own name) so
/// that the directory becomes `target`. It is unpacked beside `target` first, with `tar`'s
/// checks (no entry lands outside, even through a link in the archive), then renamed.
async fn unpack(archive: &Path, target: &Path) -> Result<(), CliError> {
    let archive = archive.to_path_buf();
    let target = target.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if target.exists() {
            return Err(CliError::new(
                Kind::Conflict,
                format!("{} already exists", target.display()),
                "copy into a new name, or remove it first",
            ));
        }
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staging = parent.join(format!(".vibebox-cp-{}", std::process::id()));
        let result = unpack_into(&archive, &staging).and_then(|top| {
            std::fs::rename(staging.join(&top), &target).map_err(|e| CliError::io(&target, e))
        });
        let _ = std::fs::remove_dir_all(&staging);
        result
    })
    .await
    .map_err(|e| CliError::new(Kind::Failed, format!("unpacking failed: {e}"), ""))?
}

/// Unpacks every entry into `staging` and returns the archive's top-level name.
fn unpack_into(archive: &Path, staging: &Path) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(staging).map_err(|e| CliError::io(staging, e))?;
    let file = std::fs::File::open(archive).map_err(|e| CliError::io(archive, e))?;
    let mut tar = tar::Archive::new(file);
    tar.set_preserve_permissions(true);
    let mut top: Option<PathBuf> = None;
    for entry in tar.entries().map_err(|e| CliError::io(archive, e))? {
        let mut entry = entry.map_err(|e| CliError::io(archive, e))?;
        if top.is_none() {
            let path = entry.path().map_err(|e| CliError::io(archive, e))?;
            top = path
                .components()
                .find(|c| matches!(c, std::path::Component::Normal(_)))
                .map(|c| PathBuf::from(c.as_os_str()));
        }
        // `unpack_in` refuses entries that would leave `staging` (`..`, absolute paths,
        // links followed out of it).
        entry
            .unpack_in(staging)
            .map_err(|e| CliError::io(staging, e))?;
    }
    Ok(top.unwrap_or_else(|| PathBuf::from(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_ignore_trailing_slashes() {
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("b"), "b");
        assert_eq!(join("/a/", "b"), "/a/b");
    }
}
