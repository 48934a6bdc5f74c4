//! One sender connection:
//! read head → validate (Venice's order) → admit → acquire snapshot → FILE* → METADATA → COMPLETE
//! → release → keep the connection until the peer closes it or it idles out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::ServerShared;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::checksum::Algorithm;
use crate::protocol::request::{parse_request_head, validate, RawRequest, Rejection};
use crate::protocol::response;
use crate::snapshot::{SnapshotFile, SnapshotLease};

/// How a request ended, for what happens to the connection afterwards.
enum Outcome {
    /// The stream (or a refusal that keeps the connection) was written.
    Done,
    /// Close now: a refusal Venice closes after, or a failure mid-stream.
    Close,
}

/// A sender connection: plaintext TCP (which can send file bytes straight from the page cache) or
/// TLS. Reading the request, writing the stream and lingering happen one after the other, so the
/// stream is never split.
pub(super) trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn plain_tcp(&self) -> Option<&tokio::net::TcpStream> {
        None
    }
}

impl Conn for tokio::net::TcpStream {
    fn plain_tcp(&self) -> Option<&tokio::net::TcpStream> {
        Some(self)
    }
}

impl Conn for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {}

/// A connection's place in the server's table, and the signals that close it while it is idle.
pub(super) struct Slot {
    pub slot: super::conns::Slot,
    pub evicted: super::conns::Evicted,
    pub drain: tokio::sync::watch::Receiver<bool>,
}

impl Slot {
    /// Resolves when this idle connection must close: the table needs room, or the server drains.
    pub async fn closed(&mut self) {
        tokio::select! {
            Ok(()) = &mut self.evicted => {}
            _ = crate::runtime::until_true(&mut self.drain) => {}
        }
    }
}

/// Serves one connection (plaintext or TLS). `acl` is Venice's verdict on the peer's certificate.
pub(super) async fn handle<S: Conn>(mut stream: S, peer: SocketAddr, shared: Arc<ServerShared>, acl: Result<(), String>, mut slot: Slot) {
    let idle = shared.config.server_idle_timeout;
    // The whole head must arrive within this; a connection that sends nothing (or dribbles)
    // does not hold its descriptor for Venice's 300 s idle limit.
    let head_deadline = tokio::time::Instant::now() + shared.config.request_head_timeout;
    let mut buf = Vec::with_capacity(4096);
    let raw = loop {
        match parse_request_head(&buf) {
            Ok(Some((raw, _))) => break raw,
            Ok(None) => {}
            Err(e) => {
                log::warn!("{peer}: {e}");
                let _ = stream.write_all(&response::error_response(400, "Request decoding failed")).await;
                linger(&mut stream, idle, &mut slot).await;
                return;
            }
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::select! {
            r = tokio::time::timeout_at(head_deadline, stream.read(&mut chunk)) => r,
            _ = slot.closed() => return,
        };
        match read {
            // A connectivity probe opens and closes without a word: nothing to do.
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    slot.slot.busy();
    if let Err(why) = acl {
        // Venice's ACL handler: 403 with an empty body, then close.
        log::warn!("{peer}: refused by the ACL: {why}");
        let _ = stream.write_all(&response::error_response(403, "")).await;
        let _ = stream.shutdown().await;
        return;
    }
    match serve_request(&raw, peer, &shared, &mut stream).await {
        Outcome::Done => linger(&mut stream, idle, &mut slot).await,
        Outcome::Close => {}
    }
    let _ = stream.shutdown().await;
}

/// Reads and discards until the peer closes, the connection idles out (Venice's 300 s), or the
/// server needs its descriptor (it counts as idle now) or drains.
async fn linger<R: AsyncRead + Unpin>(rd: &mut R, idle: std::time::Duration, slot: &mut Slot) {
    slot.evicted = slot.slot.idle();
    let mut sink = [0u8; 1024];
    loop {
        tokio::select! {
            r = timeout(idle, rd.read(&mut sink)) => match r {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            },
            _ = slot.closed() => return,
        }
    }
}

async fn reject<W: AsyncWrite + Unpin>(wr: &mut W, peer: SocketAddr, r: Rejection) -> Outcome {
    log::info!("{peer}: refused with {}: {}", r.status, r.body);
    let sent = wr.write_all(&response::error_response(r.status, &r.body)).await;
    if r.close || sent.is_err() {
        Outcome::Close
    } else {
        Outcome::Done
    }
}

async fn serve_request<S: Conn>(raw: &RawRequest, peer: SocketAddr, shared: &ServerShared, wr: &mut S) -> Outcome {
    let (id, _format) = match validate(raw, &shared.local) {
        Ok(v) => v,
        Err(r) => return reject(wr, peer, r).await,
    };
    let Some(_admitted) = shared.admission.try_acquire() else {
        shared.transfers.metrics().admission_refused();
        let limit = shared.admission.limit();
        let body = format!(
            "The number of concurrent snapshot users exceeds the limit of {limit}, won't be able to process the request for {}",
            id.replica()
        );
        return reject(wr, peer, Rejection::new(429, body)).await;
    };
    let lease = match shared.snapshots.acquire(&id).await {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::Internal => return reject(wr, peer, Rejection::closing(500, e.message())).await,
        Err(e) => return reject(wr, peer, Rejection::new(404, e.message())).await,
    };
    let started = Instant::now();
    log::info!("Start transferring {} files for replica {} to remote host {peer}", lease.files.len(), id.replica());
    let limit = shared.config.sender_max_timeout;
    let algorithm = raw.checksum();
    lease.warm_checksums(algorithm);
    let tracked = shared.transfers.begin_send(&id, peer, lease.files.len(), lease.total_bytes(), algorithm.name());
    match timeout(limit, send_stream(&lease, shared, algorithm, started, wr, &tracked)).await {
        Ok(Ok(())) => {
            tracked.finish(Ok(()));
            log::info!(
                "All files sent successfully for replica {} to {peer}: {} bytes in {:.3}s",
                id.replica(),
                lease.total_bytes(),
                started.elapsed().as_secs_f64()
            );
            Outcome::Done
        }
        Ok(Err(e)) => {
            log::warn!("transfer of {} to {peer} failed: {e}", id.replica());
            tracked.finish(Err(e.to_string()));
            Outcome::Close
        }
        Err(_) => {
            log::warn!("transfer of {} to {peer} exceeded {}s; closing", id.replica(), limit.as_secs());
            Outcome::Close
        }
    }
    // `lease` and `_admitted` drop here: the use ends as soon as the stream is written.
}

async fn send_stream<S: Conn>(
    lease: &SnapshotLease,
    shared: &ServerShared,
    algorithm: Algorithm,
    started: Instant,
    wr: &mut S,
    tracked: &crate::transfers::Tracked,
) -> Result<()> {
    let limit = shared.config.sender_max_timeout;
    let mut buf = vec![0u8; shared.config.max_chunk_size.clamp(16 * 1024, 1 << 20)];
    for file in &lease.files {
        if started.elapsed() > limit {
            // Venice's between-files check: a 408 in the middle of the stream.
            let body = format!("Timeout for transferring blob {} file {}", lease.id.replica(), file.name);
            let _ = wr.write_all(&response::error_response(408, &body)).await;
            return Err(Error::new(ErrorKind::Timeout, body));
        }
        send_file(file, algorithm, wr, &mut buf, &shared.write_limit).await?;
        tracked.file_sent(file.len);
    }
    let json = lease.metadata.to_json();
    wr.write_all(&response::metadata_response(&json)).await.map_err(|e| Error::io("send metadata", e))?;
    wr.write_all(&response::complete_response()).await.map_err(|e| Error::io("send COMPLETE", e))?;
    wr.flush().await.map_err(|e| Error::io("flush", e))
}

async fn send_file<S: Conn>(
    file: &SnapshotFile,
    algorithm: Algorithm,
    wr: &mut S,
    buf: &mut [u8],
    limit: &crate::throttle::RateLimiter,
) -> Result<()> {
    let sum = file.checksum(algorithm).await?;
    let f = tokio::fs::File::open(&file.path).await.map_err(|e| Error::io(format!("open {}", file.path.display()), e))?;
    let head = match algorithm {
        Algorithm::Md5 => response::file_head(&file.name, file.len, &sum),
        Algorithm::Xxh3_128 => response::file_head_fast(&file.name, file.len, &sum),
    };
    wr.write_all(&head)
        .await
        .map_err(|e| Error::io(format!("send head of {}", file.name), e))?;
    let sent = match wr.plain_tcp() {
        Some(tcp) => sendfile_all(tcp, &f.into_std().await, file.len, limit).await,
        None => copy_file(f, file.len, wr, buf, limit).await,
    };
    sent.map_err(|e| Error::io(format!("send {}", file.name), e))
}

/// Plaintext: the kernel moves file pages to the socket (no copies through user space). The
/// snapshot's files were just read for their checksums, so they are in the page cache and the
/// call does not wait for the disk.
async fn sendfile_all(
    tcp: &tokio::net::TcpStream,
    file: &std::fs::File,
    len: u64,
    limit: &crate::throttle::RateLimiter,
) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let mut offset: libc::off_t = 0;
    while (offset as u64) < len {
        let chunk = ((len - offset as u64) as usize).min(1 << 20);
        tcp.writable().await?;
        let sent = tcp.try_io(tokio::io::Interest::WRITABLE, || {
            // SAFETY: both descriptors are open for the call; `offset` is a valid in/out pointer.
            let n = unsafe { libc::sendfile(tcp.as_raw_fd(), file.as_raw_fd(), &mut offset, chunk) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match sent {
            Ok(0) => {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "snapshot file shrank while being sent"))
            }
            Ok(n) => limit.acquire(n).await,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// TLS: read the file in large pieces and hand each to rustls whole (large records, few writes).
async fn copy_file<W: AsyncWrite + Unpin>(
    mut f: tokio::fs::File,
    len: u64,
    wr: &mut W,
    buf: &mut [u8],
    limit: &crate::throttle::RateLimiter,
) -> std::io::Result<()> {
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = f.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "snapshot file shrank while being sent"));
        }
        wr.write_all(&buf[..n]).await?;
        limit.acquire(n).await;
        left -= n as u64;
    }
    Ok(())
}
