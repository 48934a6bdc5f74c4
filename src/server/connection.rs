//! One sender connection:
//! read head → validate (Venice's order) → admit → acquire snapshot → FILE* → METADATA → COMPLETE
//! → release → keep the connection until the peer closes it or it idles out.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::origin::{self, Origin};
use super::transfer::Transfer;
use super::ServerShared;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::checksum::Algorithm;
use crate::protocol::request::{parse_request_head, validate, RawRequest, Rejection};
use crate::protocol::response;
use crate::snapshot::SnapshotFile;

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

/// Serves one connection (plaintext or TLS). `acl` is Venice's verdict on the peer's certificate
/// (with the certificate of a peer it admitted).
pub(super) async fn handle<S: Conn>(
    mut stream: S,
    peer: SocketAddr,
    shared: Arc<ServerShared>,
    acl: Result<Option<Vec<u8>>, String>,
    mut slot: Slot,
) {
    let idle = shared.config.server_idle_timeout;
    // The whole head must arrive within this; a connection that sends nothing (or dribbles)
    // does not hold its descriptor for Venice's 300 s idle limit. The idle limit bounds each
    // wait as well, so a lower idle limit is never outlived by the head limit (also after a
    // TLS handshake that is followed by silence).
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
            r = tokio::time::timeout_at(head_deadline.min(tokio::time::Instant::now() + idle), stream.read(&mut chunk)) => r,
            _ = slot.closed() => return,
        };
        match read {
            // A connectivity probe opens and closes without a word: nothing to do.
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    slot.slot.busy();
    let origin = match acl {
        // The host's rule may be slow: a draining server does not wait for it.
        Ok(cert) => tokio::select! {
            o = origin_of(cert, &raw, &shared) => o,
            _ = crate::runtime::until_true(&mut slot.drain) => return,
        },
        Err(why) => Err(format!("refused by the ACL: {why}")),
    };
    let origin = match origin {
        Ok(o) => o,
        Err(why) => {
            // Venice's ACL handler: 403 with an empty body, then close.
            log::warn!("{peer}: {why}");
            let _ = stream.write_all(&response::error_response(403, "")).await;
            let _ = stream.shutdown().await;
            return;
        }
    };
    match serve_request(&raw, peer, &shared, origin, &mut stream, slot.drain.clone()).await {
        Outcome::Done => linger(&mut stream, idle, &mut slot).await,
        Outcome::Close => {}
    }
    let _ = stream.shutdown().await;
}

/// Venice's origin rule for a peer the ACL admitted, when the host brought one (origin.rs).
async fn origin_of(cert: Option<Vec<u8>>, raw: &RawRequest, shared: &ServerShared) -> std::result::Result<Origin, String> {
    match (cert, &shared.origin, &shared.tls) {
        (Some(cert), Some(policy), Some(tls)) => {
            let accept = shared.config.accept_client_requests;
            origin::classify(policy.clone(), &shared.origin_turns, accept, cert, tls.own_cert().to_vec(), raw.target.clone()).await
        }
        _ => Ok(Origin::Server),
    }
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

async fn serve_request<S: Conn>(
    raw: &RawRequest,
    peer: SocketAddr,
    shared: &ServerShared,
    origin: Origin,
    wr: &mut S,
    drain: tokio::sync::watch::Receiver<bool>,
) -> Outcome {
    let (id, _format) = match validate(raw, &shared.local) {
        Ok(v) => v,
        Err(r) => return reject(wr, peer, r).await,
    };
    let asks = match raw.asks() {
        Ok(a) => a,
        Err(why) => return reject(wr, peer, Rejection::new(400, why)).await,
    };
    if let Some(token) = &asks.join {
        // A further connection of a transfer already admitted: no admission, no new lease.
        return match shared.joinable.join(token, &id) {
            Some(t) => run(&t, false, peer, shared, wr).await,
            None => reject(wr, peer, Rejection::new(404, format!("no transfer {token} of {} to join", id.replica()))).await,
        };
    }
    let admission = match origin {
        Origin::Server => &shared.admission,
        Origin::Client => &shared.client_admission,
    };
    let admitted = match admission.try_acquire() {
        Some(a) => Some(a),
        // A vbt receiver that every peer refused waits in line (admission.rs), unless the
        // server drains meanwhile: it is refused then, and goes elsewhere.
        None if asks.wait_secs > 0 => {
            shared.transfers.metrics().admission_queued();
            let wait = std::time::Duration::from_secs(asks.wait_secs.into());
            let mut drain = drain;
            let mut more = [0u8; 1];
            tokio::select! {
                // A draining server starts nothing new, even with a slot handed over.
                biased;
                _ = crate::runtime::until_true(&mut drain) => None,
                a = admission.acquire_within(wait) => match a {
                    Ok(a) => Some(a),
                    Err(why) => {
                        log::info!("{peer}: not admitted after asking to wait {} s: {why:?}", asks.wait_secs);
                        None
                    }
                },
                // A receiver that hangs up (its attempt gave up) leaves the line at once: its
                // place, its connection and the slot it would get are the next one's. One that
                // says more before its answer (or half-closes) breaks the protocol: closed too.
                r = wr.read(&mut more) => {
                    log::info!("{peer}: left the line ({})", match r {
                        Ok(0) => "closed".to_string(),
                        Ok(_) => "sent more before its answer".to_string(),
                        Err(e) => e.to_string(),
                    });
                    return Outcome::Close;
                }
            }
        }
        None => None,
    };
    let Some(admitted) = admitted else {
        shared.transfers.metrics().admission_refused();
        let body = match origin {
            Origin::Server => format!(
                "The number of concurrent snapshot users exceeds the limit of {}, won't be able to process the request for {}",
                admission.limit(),
                id.replica()
            ),
            Origin::Client => format!("Client-origin blob transfer rejected (client reservation full) for {}", id.replica()),
        };
        // Venice's receivers get Venice's 429; so does everyone when no slot can ever free.
        if !asks.from_vbt() || admission.limit() == 0 {
            return reject(wr, peer, Rejection::new(429, body)).await;
        }
        // A vbt receiver also hears when to come back and how loaded we are (protocol::ext).
        let retry_after = retry_after_secs(shared.transfers.soonest_send_end());
        log::info!("{peer}: refused with 429 (retry after {retry_after} s, {} waiting in line): {body}", admission.waiting());
        let busy = response::busy_response(&body, retry_after, admission.active(), admission.limit());
        return match wr.write_all(&busy).await {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::Close,
        };
    };
    if origin == Origin::Client {
        log::info!(
            "{peer}: admitted a client-origin request for {}; client in flight {}/{}",
            id.replica(),
            admission.active(),
            admission.limit()
        );
    }
    let lease = match shared.snapshots.acquire(&id).await {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::Internal => return reject(wr, peer, Rejection::closing(500, e.message())).await,
        // Venice closes a client-origin connection on this failure, so its slot is free at once.
        Err(e) if origin == Origin::Client => return reject(wr, peer, Rejection::closing(404, e.message())).await,
        Err(e) => return reject(wr, peer, Rejection::new(404, e.message())).await,
    };
    let algorithm = raw.checksum();
    lease.warm_checksums(algorithm);
    // A manifest first, then the receiver's request for what it lacks (protocol::manifest),
    // served under the same admission and lease: the snapshot cannot change in between. Within
    // the sender's per-transfer limit, as every file is: a receiver that never reads a manifest
    // larger than the socket buffers must not hold the admission and the lease for good.
    let (asks, algorithm) = if asks.manifest {
        let limit = shared.config.sender_max_timeout;
        match timeout(limit, manifest_then_request(&lease, algorithm, &id, peer, shared, wr)).await {
            Ok(Ok(next)) => next,
            Ok(Err(outcome)) => return outcome,
            Err(_) => {
                log::warn!("manifest of {} to {peer} not taken within {}s; closing", id.replica(), limit.as_secs());
                return Outcome::Close;
            }
        }
    } else {
        (asks, algorithm)
    };
    let transfer = Arc::new(Transfer::start(lease, &asks, algorithm, admitted, |files, bytes| {
        shared.transfers.begin_send(&id, peer, files, bytes, algorithm.name())
    }));
    shared.joinable.register(&transfer);
    log::info!(
        "Start transferring {} files for replica {} to remote host {peer}{}",
        transfer.lease.files.len() - transfer.skipped,
        id.replica(),
        if transfer.skipped > 0 { format!(" ({} held by the receiver, resumed)", transfer.skipped) } else { String::new() }
    );
    run(&transfer, true, peer, shared, wr).await
    // The admission and the snapshot use end when the last connection drops the transfer.
}

/// Sends the snapshot's manifest (every file's checksum, from the snapshot's cache), then reads
/// the receiver's second request on this connection: the same partition, asking for no second
/// manifest and joining nothing. Its asks (resume, streams, checksum) shape the transfer.
async fn manifest_then_request<S: Conn>(
    lease: &crate::snapshot::SnapshotLease,
    algorithm: Algorithm,
    id: &crate::protocol::PartitionId,
    peer: SocketAddr,
    shared: &ServerShared,
    wr: &mut S,
) -> std::result::Result<(crate::protocol::ext::Asks, Algorithm), Outcome> {
    let mut files = Vec::with_capacity(lease.files.len());
    for f in &lease.files {
        match f.checksum(algorithm).await {
            Ok(sum) => files.push(crate::protocol::manifest::ManifestFile { name: f.name.clone(), len: f.len, sum }),
            Err(e) => return Err(reject(wr, peer, Rejection::closing(500, format!("manifest of {}: {e}", id.replica()))).await),
        }
    }
    let manifest = crate::protocol::manifest::Manifest { snapshot: lease.identity.clone(), algorithm, files };
    if wr.write_all(&manifest.response()).await.is_err() {
        return Err(Outcome::Close);
    }
    let deadline = tokio::time::Instant::now() + shared.config.request_head_timeout;
    let mut buf = Vec::with_capacity(4096);
    let raw = loop {
        match parse_request_head(&buf) {
            Ok(Some((raw, _))) => break raw,
            Ok(None) => {}
            Err(e) => return Err(reject(wr, peer, Rejection::closing(400, e.to_string())).await),
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, wr.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            // The receiver went away (it may have found nothing to ask), or said nothing in time.
            _ => return Err(Outcome::Close),
        }
    };
    let second = match validate(&raw, &shared.local) {
        Ok((second, _)) => second,
        Err(r) => return Err(reject(wr, peer, r).await),
    };
    let asks = match raw.asks() {
        Ok(a) if second == *id && !a.manifest && a.join.is_none() => a,
        Ok(_) => {
            let why = format!("the request after the manifest of {} must ask for its files, once", id.replica());
            return Err(reject(wr, peer, Rejection::closing(400, why)).await);
        }
        Err(why) => return Err(reject(wr, peer, Rejection::closing(400, why)).await),
    };
    Ok((asks, raw.checksum()))
}

/// When a busy sender's slot is likely free: the soonest end of a send in flight at its rate so
/// far, within 1..=MAX_RETRY_AFTER_SECS; 2 s when no send has an estimate yet.
fn retry_after_secs(soonest_end: Option<f64>) -> u32 {
    let max = crate::protocol::ext::MAX_RETRY_AFTER_SECS;
    soonest_end.map_or(2, |s| (s.ceil() as u32).clamp(1, max))
}

/// Sends this connection's share of the transfer, within `blob.transfer.max.timeout.in.min` of
/// the transfer's start.
async fn run<S: Conn>(t: &Transfer, first: bool, peer: SocketAddr, shared: &ServerShared, wr: &mut S) -> Outcome {
    let replica = t.lease.id.replica();
    let limit = shared.config.sender_max_timeout;
    let left = limit.saturating_sub(t.started.elapsed());
    match timeout(left, send_stream(t, first, shared, wr)).await {
        Ok(Ok(sent)) => {
            if first {
                t.tracked.finish(Ok(()));
            }
            log::info!(
                "All files sent successfully for replica {replica} to {peer}: {sent} bytes in {:.3}s{}",
                t.started.elapsed().as_secs_f64(),
                if first { "" } else { " (joined stream)" }
            );
            Outcome::Done
        }
        Ok(Err(e)) => {
            log::warn!("transfer of {replica} to {peer} failed: {e}");
            t.tracked.finish(Err(e.to_string()));
            Outcome::Close
        }
        Err(_) => {
            log::warn!("transfer of {replica} to {peer} exceeded {}s; closing", limit.as_secs());
            Outcome::Close
        }
    }
}

/// FILE* from the transfer's queue; then METADATA and COMPLETE on the first connection, COMPLETE
/// alone on a joined one. Returns the bytes of file bodies sent.
async fn send_stream<S: Conn>(t: &Transfer, first: bool, shared: &ServerShared, wr: &mut S) -> Result<u64> {
    let limit = shared.config.sender_max_timeout;
    let mut pieces = Pieces { size: shared.config.max_chunk_size.clamp(16 * 1024, 1 << 20), free: Vec::new() };
    let mut sent = 0;
    while let Some((index, file, offset)) = t.next_file() {
        if t.started.elapsed() > limit {
            // Venice's between-files check: a 408 in the middle of the stream.
            let body = format!("Timeout for transferring blob {} file {}", t.lease.id.replica(), file.name);
            let _ = wr.write_all(&response::error_response(408, &body)).await;
            return Err(Error::new(ErrorKind::Timeout, body));
        }
        let paced = Paced { limit: &shared.write_limit, tracked: &t.tracked };
        send_file(file, offset, t.algorithm, &t.file_info(index), wr, &mut pieces, &paced).await?;
        t.tracked.file_sent(file.len - offset);
        sent += file.len - offset;
    }
    if first {
        let json = t.lease.metadata.to_json();
        wr.write_all(&response::metadata_response(&json)).await.map_err(|e| Error::io("send metadata", e))?;
    }
    wr.write_all(&response::complete_response()).await.map_err(|e| Error::io("send COMPLETE", e))?;
    wr.flush().await.map_err(|e| Error::io("flush", e))?;
    Ok(sent)
}

/// Every piece sent: the write limiter, and the transfer's row in /transfers.
struct Paced<'a> {
    limit: &'a crate::throttle::RateLimiter,
    tracked: &'a crate::transfers::Tracked,
}

impl Paced<'_> {
    async fn sent(&self, n: usize) {
        self.tracked.sending(n as u64);
        self.limit.acquire(n).await;
    }
}

/// Sends `file` from `offset` (0 but for a resuming receiver's partly received file); the
/// checksum on the head is always the whole file's.
async fn send_file<S: Conn>(
    file: &SnapshotFile,
    offset: u64,
    algorithm: Algorithm,
    info: &str,
    wr: &mut S,
    pieces: &mut Pieces,
    limit: &Paced<'_>,
) -> Result<()> {
    let sum = file.checksum(algorithm).await?;
    let path = file.path.clone();
    let f =
        crate::runtime::blocking(move || std::fs::File::open(&path).map_err(|e| Error::io(format!("open {}", path.display()), e))).await?;
    let head = response::file_head_ext(&file.name, file.len - offset, algorithm, &sum, info);
    wr.write_all(&head).await.map_err(|e| Error::io(format!("send head of {}", file.name), e))?;
    let sent = match wr.plain_tcp() {
        Some(tcp) => sendfile_all(tcp, &f, offset, file.len, limit).await,
        None => copy_file(f, offset, file.len, wr, pieces, limit).await,
    };
    sent.map_err(|e| Error::io(format!("send {}", file.name), e))
}

/// Plaintext: the kernel moves file pages to the socket (no copies through user space). The
/// snapshot's files were just read for their checksums, so they are in the page cache and the
/// call does not wait for the disk.
async fn sendfile_all(tcp: &tokio::net::TcpStream, file: &std::fs::File, from: u64, len: u64, limit: &Paced<'_>) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let mut offset = from as libc::off_t;
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
            Ok(0) => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "snapshot file shrank while being sent")),
            Ok(n) => limit.sent(n).await,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The TLS sender's read buffers (two, allocated on first use), and their size.
struct Pieces {
    size: usize,
    free: Vec<Vec<u8>>,
}

/// TLS: the file is read in large pieces straight into our buffers on a blocking thread (not
/// through tokio's file, which reads into a buffer of its own and copies again), the next piece
/// while rustls encrypts and writes this one; each piece goes to rustls whole (large records,
/// few writes).
async fn copy_file<W: AsyncWrite + Unpin>(
    f: std::fs::File,
    from: u64,
    len: u64,
    wr: &mut W,
    pieces: &mut Pieces,
    limit: &Paced<'_>,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let f = Arc::new(f);
    let size = pieces.size;
    let read = |mut buf: Vec<u8>, at: u64| {
        let f = f.clone();
        tokio::task::spawn_blocking(move || {
            buf.resize(size, 0); // once per buffer: it keeps its length afterwards
            let n = size.min((len - at) as usize);
            let r = f.read_exact_at(&mut buf[..n], at).map(|()| n).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => std::io::Error::new(e.kind(), "snapshot file shrank while being sent"),
                _ => e,
            });
            (buf, r)
        })
    };
    while pieces.free.len() < 2 {
        pieces.free.push(Vec::new());
    }
    let mut at = from;
    let mut next = (len > from).then(|| read(pieces.free.pop().expect("two buffers"), from));
    while let Some(task) = next.take() {
        let (buf, n) = task.await.map_err(std::io::Error::other)?;
        let n = n?;
        at += n as u64;
        if at < len {
            next = Some(read(pieces.free.pop().expect("a spare buffer"), at));
        }
        let written = wr.write_all(&buf[..n]).await;
        pieces.free.push(buf);
        written?;
        limit.sent(n).await;
    }
    Ok(())
}
