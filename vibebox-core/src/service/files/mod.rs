//! Files inside environments (DESIGN.md §9): [`Vibebox::upload_file`], [`Vibebox::download`]
//! and [`Vibebox::list_files`].
//!
//! # Why through exec, as the environment's user
//!
//! Every operation runs a small shell script inside the container through exec, as the
//! environment's user ([`Config::container_user`](crate::Config::container_user), uid 1000 in
//! the images), never through the engine's archive API. Docker's archive API reads and writes
//! as root: it would let a user read `/etc/shadow`, or write where they cannot, and the
//! "strict" hardening profile would no longer hold. Through exec the kernel checks that user's
//! permissions on every file, and symlinks and `..` resolve in the container's own mount
//! namespace: a symlink to `/etc/shadow` is just a file the user cannot read, and
//! `/proc/1/root` is the container's own root. The price is that a stopped environment has no
//! process to run the script: files need a running environment (`Conflict` otherwise, saying
//! to start it).
//!
//! # Paths
//!
//! A path is required, at most 4096 bytes and free of NUL bytes; a relative one starts at the
//! user's home ([`Config::home_volume`](crate::Config::home_volume), else `/home/vibebox`). It
//! is normalized lexically (`.`, `..`, repeated slashes) and handed to the script as a
//! positional argument, never as part of its text. Symlinks on the way are followed by the
//! kernel, as the user.
//!
//! # Errors
//!
//! Refusals name the field `path` (`InvalidInput`, 422 over HTTP): a path that is not a
//! regular file (or directory, for downloads), a missing upload directory, and "permission
//! denied" when the user may not read or write there. (`PermissionDenied` is kept for the
//! actor's role; the kernel's refusal is about the path.) A missing file is `NotFound`
//! (`file`).

mod entry;
mod path;
mod scripts;
mod transfer;

use std::io;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;

pub use entry::{FileEntry, FileKind};
pub use path::FILE_PATH_MAX_BYTES;

use self::entry::Location;
use self::scripts::{Outcome, Script};
use self::transfer::{Fed, FeedEnd, KillOnDrop, Stderr};
use super::{AuditRecord, Vibebox};
use crate::domain::Environment;
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, TeamId};
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ExecSession};

/// Most entries [`Vibebox::list_files`] returns; a directory with more is `truncated`.
pub const FILE_LIST_MAX_ENTRIES: usize = 10_000;

/// Most bytes of listing read from the container (names and link targets are long at worst).
const FILE_LIST_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Most stdout kept from an upload script (one record).
const UPLOAD_OUTPUT_CAP: usize = 64 * 1024;

/// A directory's entries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileListing {
    /// The entries, by name (`.` and `..` left out). Symlinks are listed as such.
    pub items: Vec<FileEntry>,
    /// Whether the directory holds more than 10,000 entries (`FILE_LIST_MAX_ENTRIES`), and
    /// only that many of them, not necessarily the first by name, are listed.
    pub truncated: bool,
}

/// A download: what is sent, and its bytes.
pub struct Download {
    /// What the path named, after following symlinks: a [`FileKind::File`] or a
    /// [`FileKind::Directory`]. Its `path` is the real path.
    pub entry: FileEntry,
    /// A file's bytes (exactly `entry.size` of them, or an error at the end if the file
    /// shrank meanwhile), or a directory as a tar archive (ending with an error if tar could
    /// not archive everything, so an incomplete archive never looks complete). Memory stays
    /// bounded: chunks pass through as the engine sends them. Dropping it stops the process
    /// inside.
    pub body: BoxStream<'static, Result<Bytes>>,
}

impl Download {
    /// Whether the body is a tar archive of a directory (rather than a file's bytes).
    pub fn is_archive(&self) -> bool {
        self.entry.kind == FileKind::Directory
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

/// Which operation refused, for its error message.
#[derive(Clone, Copy)]
enum Op<'a> {
    List,
    Download,
    Upload { dir: &'a str },
}

/// A running environment's container and a normalized path in it.
struct FileTarget {
    container: ContainerId,
    team: Option<TeamId>,
    path: String,
}

impl Vibebox {
    /// Writes a file inside a running environment, owned by the environment's user, from
    /// `body` (streamed into the container with backpressure, never held whole), which must
    /// yield exactly `content_length` bytes. The bytes go to a temporary file beside the
    /// target (`.vibebox-upload.XXXXXX`), which is renamed over the target only once all of
    /// them arrived: a failed upload (the body errs, ends short or runs long, the disk fills)
    /// leaves the target as it was and no temporary file. An existing file keeps its mode
    /// unless `mode` (permission bits, at most `0o7777`) is given; a new one gets `mode` or
    /// `0o666` less the umask. A symlink at the target is replaced by the file, never written
    /// through. Records `environment.file_upload` with the path and size (never the content).
    ///
    /// Errors: `InvalidInput` naming `path` (by the path rules of this module's documentation; also
    /// the root itself, a missing or non-directory parent, a target that is a directory or
    /// not a regular file, "permission denied"), `content_length` (more than
    /// [`Config::max_upload_bytes`](crate::Config::max_upload_bytes)), `mode`, or `body` (it
    /// failed, ended short or ran long); `Conflict` when the environment is not running, or
    /// writing failed inside (a full disk); `PermissionDenied`; `NotFound` (`environment`);
    /// `Unavailable`.
    #[instrument(skip_all, fields(environment.id = %env_id, size = content_length))]
    pub async fn upload_file<S>(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        path: &str,
        content_length: u64,
        body: S,
        mode: Option<u32>,
    ) -> Result<FileEntry>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        let path = path::normalize(self.files_home(), path)?;
        let Some((dir, _)) = path::split(&path) else {
            return Err(Error::invalid("path", "must name a file, not /"));
        };
        let max = self.config().max_upload_bytes;
        if content_length > max {
            return Err(Error::invalid(
                "content_length",
                format!("must be at most {max} bytes"),
            ));
        }
        if let Some(m) = mode
            && m > 0o7777
        {
            return Err(Error::invalid("mode", "must be at most 7777 (octal)"));
        }
        let container = self.files_container(&access.env).await?;
        let args = vec![
            dir.to_string(),
            path.clone(),
            content_length.to_string(),
            mode.map(|m| format!("{m:o}")).unwrap_or_default(),
        ];
        let ExecSession {
            id,
            mut output,
            input,
        } = self
            .start_script(&container, Script::Upload, args, true)
            .await?;
        let (fed, collected) = {
            let mut feeding = std::pin::pin!(transfer::feed(body, input, content_length));
            let mut reading = std::pin::pin!(transfer::collect(&mut output, UPLOAD_OUTPUT_CAP));
            tokio::select! {
                // The feed first: a script that counted the bytes ended after its stdin
                // closed, so the feed is done by then, and its account is wanted.
                biased;
                fed = &mut feeding => (Some(fed), reading.await),
                // The script ended before taking the whole body: it refused.
                collected = &mut reading => (None, collected),
            }
        };
        let (stdout, stderr) = collected?;
        let info = self.wait_for_exit(&id).await?;
        match Outcome::of(info.exit_code.unwrap_or(-1)) {
            Outcome::Done => {}
            Outcome::SizeMismatch => return Err(body_error(fed, content_length)),
            other => return Err(refusal(other, Op::Upload { dir }, &path, &stderr)),
        }
        let record = entry::records(&stdout)
            .next()
            .ok_or_else(|| Error::internal("the upload script printed no entry", None))?;
        let entry = entry::parse(record, Location::At(&path))?;
        self.audit(
            actor,
            AuditRecord::new("environment.file_upload", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "path": path, "size": content_length, "mode": entry.mode })),
        )
        .await;
        Ok(entry)
    }

    /// Reads a file, or a directory as a tar archive, from a running environment, as the
    /// environment's user. A symlink at `path` is followed (inside the container: a link out
    /// of it leads to the container's own files, which the kernel lets the user read or not);
    /// inside a directory, tar archives links as links. Devices, FIFOs and sockets are
    /// refused before anything is read (`/dev/zero` never streams forever). Records
    /// `environment.file_download` with the path, kind and size.
    ///
    /// Errors: `NotFound` (`file`) when nothing is there (or a symlink dangles);
    /// `InvalidInput` naming `path` (the rules, "not a regular file or directory",
    /// "permission denied reading …"); `Conflict` when the environment is not running;
    /// `Timeout` when the container did not start answering within
    /// [`Config::exec_default_timeout`](crate::Config::exec_default_timeout);
    /// `PermissionDenied`; `NotFound` (`environment`); `Unavailable`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn download(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        path: &str,
    ) -> Result<Download> {
        let target = self.file_target(actor, env_id, path).await?;
        let ExecSession { id, mut output, .. } = self
            .start_script(
                &target.container,
                Script::Download,
                vec![target.path.clone()],
                false,
            )
            .await?;
        let mut guard = KillOnDrop::new(self, &id);
        let mut stderr = Stderr::default();
        let header = tokio::time::timeout(
            self.config().exec_default_timeout,
            transfer::read_header(&mut output, &mut stderr),
        )
        .await
        .map_err(|_| Error::Timeout("opening the file".into()))??;
        let Some((header, rest)) = header else {
            let info = self.wait_for_exit(&id).await?;
            if !info.running {
                guard.disarm();
            }
            let outcome = Outcome::of(info.exit_code.unwrap_or(-1));
            return Err(refusal(outcome, Op::Download, &target.path, &stderr));
        };
        let (real, record) = split_first_nul(&header)
            .ok_or_else(|| Error::internal("a download began without its path", None))?;
        let real = String::from_utf8_lossy(real).into_owned();
        let record = entry::records(record)
            .next()
            .ok_or_else(|| Error::internal("a download began without its entry", None))?;
        let entry = entry::parse(record, Location::At(&real))?;
        let remaining = match entry.kind {
            FileKind::File => Some(entry.size),
            FileKind::Directory => None,
            _ => {
                return Err(Error::Conflict(
                    format!("{real:?} changed while it was opened").into(),
                ));
            }
        };
        self.audit(
            actor,
            AuditRecord::new("environment.file_download", "environment", env_id)
                .team(target.team)
                .details(json!({
                    "path": target.path,
                    "real_path": real,
                    "kind": entry.kind,
                    "size": remaining,
                })),
        )
        .await;
        let body = transfer::Body {
            output,
            pending: rest,
            remaining,
            stderr,
            guard,
            path: real,
            done: false,
        };
        Ok(Download {
            entry,
            body: body.into_stream(),
        })
    }

    /// Lists a directory of a running environment, as the environment's user: each entry's
    /// name, kind, size, mode, mtime and (for symlinks) target, sorted by name, at most
    /// [`FILE_LIST_MAX_ENTRIES`] (`truncated` says when there were more). A symlink at `path`
    /// is followed; symlinks inside are listed, not followed.
    ///
    /// Errors: `NotFound` (`file`); `InvalidInput` naming `path` (the rules, "not a
    /// directory", "permission denied reading …"); `Conflict` when the environment is not
    /// running; `Timeout` past
    /// [`Config::exec_default_timeout`](crate::Config::exec_default_timeout);
    /// `PermissionDenied`; `NotFound` (`environment`); `Unavailable`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn list_files(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        path: &str,
    ) -> Result<FileListing> {
        let target = self.file_target(actor, env_id, path).await?;
        let max = FILE_LIST_MAX_ENTRIES;
        let ExecSession { id, mut output, .. } = self
            .start_script(
                &target.container,
                Script::List,
                vec![target.path.clone(), max.to_string()],
                false,
            )
            .await?;
        let mut guard = KillOnDrop::new(self, &id);
        let listing = tokio::time::timeout(
            self.config().exec_default_timeout,
            transfer::read_listing(&mut output, max + 1, FILE_LIST_MAX_BYTES),
        )
        .await
        .map_err(|_| Error::Timeout("listing the directory".into()))??;
        if !listing.stopped {
            let info = self.wait_for_exit(&id).await?;
            if !info.running {
                guard.disarm();
            }
            match Outcome::of(info.exit_code.unwrap_or(-1)) {
                // GNU find exits 1 when an entry vanished before it could be looked at.
                Outcome::Done | Outcome::Other(1) => {}
                other => {
                    return Err(refusal(other, Op::List, &target.path, &listing.stderr));
                }
            }
        }
        let mut items = entry::records(&listing.stdout)
            .map(|record| entry::parse(record, Location::In(&target.path)))
            .collect::<Result<Vec<_>>>()?;
        items.sort_by(|a, b| a.name.cmp(&b.name));
        let truncated = listing.stopped || items.len() > max;
        items.truncate(max);
        Ok(FileListing { items, truncated })
    }

    /// Authorizes a file operation, checks and normalizes the path, and finds the running
    /// container (in that order).
    async fn file_target(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        raw: &str,
    ) -> Result<FileTarget> {
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        let path = path::normalize(self.files_home(), raw)?;
        Ok(FileTarget {
            container: self.files_container(&access.env).await?,
            team: access.project.owner.team_id(),
            path,
        })
    }

    /// Where relative paths start.
    fn files_home(&self) -> &str {
        self.config()
            .home_volume
            .as_deref()
            .unwrap_or(path::DEFAULT_HOME)
    }
}

/// The bytes before the first NUL, and those after it.
fn split_first_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|b| *b == 0)?;
    Some((bytes.get(..at)?, bytes.get(at + 1..)?))
}

/// Why the uploaded file did not have the announced size.
fn body_error(fed: Option<Fed>, expected: u64) -> Error {
    match fed {
        Some(Fed {
            sent,
            end: FeedEnd::BodyFailed(e),
        }) => Error::invalid(
            "body",
            format!("reading it failed after {sent} of {expected} bytes: {e}"),
        ),
        Some(Fed {
            sent,
            end: FeedEnd::Short,
        }) => Error::invalid(
            "body",
            format!("it ended after {sent} of the {expected} bytes announced"),
        ),
        Some(Fed {
            end: FeedEnd::Long, ..
        }) => Error::invalid(
            "body",
            format!("it is longer than the {expected} bytes announced"),
        ),
        _ => Error::internal(
            "the uploaded file does not have the size that was sent",
            None,
        ),
    }
}

/// The error a script's refusal stands for.
fn refusal(outcome: Outcome, op: Op<'_>, path: &str, stderr: &Stderr) -> Error {
    let reason = |fallback: &str| stderr.last_line(fallback);
    match (outcome, op) {
        (Outcome::Missing, _) => Error::not_found("file"),
        (Outcome::NotRegular, Op::Upload { .. }) => {
            Error::invalid("path", format!("{path:?} exists and is not a regular file"))
        }
        (Outcome::NotRegular, _) => Error::invalid(
            "path",
            format!("{path:?} is not a regular file or a directory"),
        ),
        (Outcome::Denied, Op::Upload { dir }) => {
            Error::invalid("path", format!("permission denied writing in {dir:?}"))
        }
        (Outcome::Denied, _) => {
            Error::invalid("path", format!("permission denied reading {path:?}"))
        }
        (Outcome::NotDirectory, Op::Upload { dir }) => {
            Error::invalid("path", format!("{dir:?} is not a directory"))
        }
        (Outcome::NotDirectory, _) => {
            Error::invalid("path", format!("{path:?} is not a directory"))
        }
        (Outcome::IsDirectory, _) => Error::invalid("path", format!("{path:?} is a directory")),
        (Outcome::ParentMissing, Op::Upload { dir }) => {
            Error::invalid("path", format!("the directory {dir:?} does not exist"))
        }
        (Outcome::WriteFailed, _) => Error::Conflict(
            format!("could not write {path:?}: {}", reason("no reason given")).into(),
        ),
        (Outcome::ReplaceFailed, _) => Error::invalid(
            "path",
            format!("could not replace {path:?}: {}", reason("no reason given")),
        ),
        (Outcome::NoShell, _) => Error::Conflict(
            "reaching files needs /bin/sh with cat, stat, mktemp, mv, readlink and tar in the \
             environment's image"
                .into(),
        ),
        (outcome, op) => {
            let what = match op {
                Op::List => "listing",
                Op::Download => "download",
                Op::Upload { .. } => "upload",
            };
            Error::internal(
                format!(
                    "the {what} script ended unexpectedly ({outcome:?}): {}",
                    reason("no output")
                ),
                None,
            )
        }
    }
}

impl Vibebox {
    /// The running container (a suspended one is resumed), or a `Conflict` that says to
    /// start the environment: files are reached through a process of the environment's user,
    /// which a stopped container cannot run.
    async fn files_container(&self, env: &Environment) -> Result<ContainerId> {
        self.awake_container(env).await.map_err(|e| {
            if e.kind() == crate::error::ErrorKind::Conflict {
                Error::Conflict(
                    format!(
                        "the environment is {}; start it to reach its files",
                        env.status
                    )
                    .into(),
                )
            } else {
                e
            }
        })
    }
}
