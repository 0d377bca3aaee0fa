//! Files inside environments: `PUT /environments/{id}/files?path=&mode=` (upload, streamed),
//! `GET /environments/{id}/files?path=` (a file's bytes, or a directory as tar) and
//! `GET /environments/{id}/files/list?path=`.

use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use http_body_util::{BodyExt, StreamBody};
use hyper::Method;
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::{FileEntry, FileListing};

use crate::Client;
use crate::error::{ClientError, Result};
use crate::transport::{Call, body_stream, problem, read_json};

/// The most bytes read from an upload's reader per chunk.
const CHUNK: usize = 64 * 1024;

/// A download under way: what it is, and its bytes as they arrive.
pub struct Download {
    /// Whether the body is a tar archive of a directory (else a file's bytes).
    pub is_archive: bool,
    /// The file's size, when the server announced it (not for archives).
    pub length: Option<u64>,
    /// The bytes; a connection cut mid-way ends with a `Transport` error, never silently.
    pub body: BoxStream<'static, Result<Bytes>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("is_archive", &self.is_archive)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

fn upload_call(env: EnvironmentId, path: &str, mode: Option<u32>, length: u64) -> Call {
    let mut call = Call::api(Method::PUT, format!("/environments/{env}/files"))
        .query("path", path)
        .query_opt("mode", mode.map(|m| format!("{m:o}")));
    call.content_type = "application/octet-stream";
    call.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    call.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    call
}

impl Client {
    /// `PUT /environments/{id}/files?path=&mode=`: writes `length` bytes read from `reader`
    /// to `path` inside a running environment, atomically, streamed (never held in memory).
    /// `mode` is the permission bits (`0o644`). A streamed body cannot be sent twice, so the
    /// access token is refreshed first when it is about to expire.
    ///
    /// Errors: `Invalid` (the path, the mode, a reader shorter than `length`); `Conflict`
    /// when the environment is not running; `Invalid` (413) past the server's upload cap.
    pub async fn upload_file<R>(
        &self,
        env: EnvironmentId,
        path: &str,
        mode: Option<u32>,
        length: u64,
        reader: R,
    ) -> Result<FileEntry>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let call = upload_call(env, path, mode, length);
        let chunks = futures::stream::try_unfold(reader.take(length), |mut reader| async move {
            let mut buf = BytesMut::with_capacity(CHUNK);
            let n = reader.read_buf(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            Ok(Some((Frame::data(buf.freeze()), reader)))
        });
        let body = StreamBody::new(chunks).boxed_unsync();
        let response = self.transport.send_streaming(&call, body).await?;
        read_json(&call, response).await
    }

    /// `PUT /environments/{id}/files?path=&mode=` with bytes in memory (sent again after a
    /// transparent refresh, unlike [`Client::upload_file`]).
    pub async fn upload_bytes(
        &self,
        env: EnvironmentId,
        path: &str,
        mode: Option<u32>,
        bytes: Bytes,
    ) -> Result<FileEntry> {
        let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let call = upload_call(env, path, mode, length).bytes(bytes, "application/octet-stream");
        self.transport.json(call).await
    }

    /// `GET /environments/{id}/files?path=`: a file's bytes, or a directory as a tar archive,
    /// as a stream. Errors: `Invalid` naming `path`; `Conflict` when the environment is not
    /// running.
    pub async fn download_file(&self, env: EnvironmentId, path: &str) -> Result<Download> {
        let call = Call::api(Method::GET, format!("/environments/{env}/files")).query("path", path);
        let response = self.transport.send(&call).await?;
        if !response.status().is_success() {
            return Err(problem(&call, response).await);
        }
        let headers = response.headers();
        let is_archive = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-tar"));
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Download {
            is_archive,
            length,
            body: body_stream(format!("the download of {path}"), response),
        })
    }

    /// Downloads `path` into `writer` (flushed at the end); returns the bytes written.
    pub async fn download_to<W>(
        &self,
        env: EnvironmentId,
        path: &str,
        writer: &mut W,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut download = self.download_file(env, path).await?;
        let mut written: u64 = 0;
        while let Some(chunk) = download.body.try_next().await? {
            writer.write_all(&chunk).await.map_err(|e| {
                ClientError::transport(format!("writing the download of {path} failed"), e)
            })?;
            written += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        }
        writer.flush().await.map_err(|e| {
            ClientError::transport(format!("writing the download of {path} failed"), e)
        })?;
        Ok(written)
    }

    /// `GET /environments/{id}/files/list?path=`: a directory's entries.
    pub async fn list_files(&self, env: EnvironmentId, path: &str) -> Result<FileListing> {
        let call =
            Call::api(Method::GET, format!("/environments/{env}/files/list")).query("path", path);
        self.transport.json(call).await
    }
}
