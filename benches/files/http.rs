//! Raw HTTP/1.1 over loopback TCP for the file bench: a PUT whose body is written in 64 KiB
//! pieces, and a GET whose body is read and dropped. No client library, so what is measured
//! is the server's side.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Reads a response's status and headers; returns the status and `Content-Length`.
async fn head(reader: &mut BufReader<TcpStream>) -> (u16, Option<usize>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            return (status, length);
        }
        if let Some((name, value)) = l.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
}

/// PUTs `len` bytes cut from `block` to `path`; returns the time to the response's headers.
pub async fn put(addr: SocketAddr, token: &str, path: &str, block: &Bytes, len: usize) -> Duration {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/octet-stream\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut sent = 0;
    while sent < len {
        let from = sent % block.len();
        let n = (64 * 1024).min(len - sent).min(block.len() - from);
        tcp.write_all(&block[from..from + n]).await.unwrap();
        sent += n;
    }
    let mut reader = BufReader::new(tcp);
    let (status, _) = head(&mut reader).await;
    assert_eq!(status, 201, "the upload was refused");
    started.elapsed()
}

/// GETs `path` and reads its body to the end; returns the time taken.
pub async fn get(addr: SocketAddr, token: &str, path: &str, len: usize) -> Duration {
    let started = Instant::now();
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut reader = BufReader::with_capacity(256 * 1024, tcp);
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .unwrap();
    let (status, length) = head(&mut reader).await;
    assert_eq!(
        (status, length),
        (200, Some(len)),
        "the download was refused"
    );
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < len {
        let n = reader.read(&mut buf).await.unwrap();
        assert!(n > 0, "the download ended after {got} of {len} bytes");
        got += n;
    }
    started.elapsed()
}
