//! One attempt on one peer: connect, send the request exactly as Venice's Java receiver does,
//! decode the stream, write each file into the temp directory while hashing and counting, check
//! size and MD5 at each file's end, require METADATA before COMPLETE. Nothing is installed here.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::peers::{ConnectivityCache, Peer};
use super::reader::StreamReader;
use super::{Progress, ProgressFn};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::decoder::ResponseHead;
use crate::protocol::metadata::PartitionMetadata;
use super::sink::{Finished, Sink, BUFFER_SIZE};
use crate::protocol::checksum::{Algorithm, Announced};
use crate::protocol::request::encode_request_with;
use crate::protocol::{PartitionId, TableFormat};
use crate::throttle::RateLimiter;
use crate::tls::{Tls, HANDSHAKE_TIMEOUT};

/// The stream reader's own buffer: heads and small bodies (file bodies bypass it).
const PIECE: usize = 64 * 1024;
/// Longest refusal message we keep from a peer.
const MAX_REFUSAL_BODY: u64 = 64 * 1024;

/// What an attempt left in the temp directory.
pub(crate) struct Received {
    pub files: usize,
    pub bytes: u64,
    pub metadata: PartitionMetadata,
    /// From sending the request to the first byte of the first file.
    pub first_byte: std::time::Duration,
    /// The temp directory this attempt made, as a handle: every file was created through it.
    pub dir: std::sync::Arc<std::fs::File>,
    /// The checksum the peer sent (MD5 from Java peers, XXH3-128 from vbt peers when asked).
    pub checksum: Algorithm,
}

/// What every attempt of a node shares: TLS state and the global read limiter.
pub(crate) struct Transport {
    pub tls: Option<std::sync::Arc<Tls>>,
    pub read_limit: std::sync::Arc<RateLimiter>,
}

/// One attempt on one peer: everything it needs.
pub(crate) struct Attempt<'a> {
    pub peer: &'a Peer,
    pub id: &'a PartitionId,
    pub format: TableFormat,
    pub cfg: &'a Config,
    pub transport: &'a Transport,
    pub temp: &'a Path,
    pub progress: Option<&'a ProgressFn>,
    /// Peers that refuse connections are remembered here (Venice's unconnectable-host cache).
    pub cache: &'a ConnectivityCache,
}

impl Attempt<'_> {
    /// Connects (and shakes hands, with TLS), then runs the exchange. Dropping the stream at the
    /// end closes the connection, which is what frees a Java sender's slot.
    pub async fn fetch(&self) -> Result<Received> {
        let peer = self.peer;
        let stream = match timeout(self.cfg.connect_timeout, TcpStream::connect((peer.host.as_str(), peer.port))).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.cache.mark_bad(peer);
                return Err(Error::io(format!("connect to {peer}"), e));
            }
            Err(_) => {
                self.cache.mark_bad(peer);
                return Err(Error::new(ErrorKind::Timeout, format!("connect to {peer} timed out")));
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.transport.tls else {
            warn_plaintext(&stream);
            return self.exchange(stream).await;
        };
        let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
        match timeout(HANDSHAKE_TIMEOUT, connector.connect(Tls::server_name(&peer.host)?, stream)).await {
            Ok(Ok(s)) => self.exchange(s).await,
            Ok(Err(e)) => Err(Error::io(format!("TLS handshake with {peer} failed"), e)),
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("TLS handshake with {peer} did not finish in time"))),
        }
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) -> Result<Received> {
        let (rd, mut wr) = tokio::io::split(stream);
        let cfg = self.cfg;
        let request = encode_request_with(
            self.id,
            self.format,
            cfg.partition_state_schema_version,
            cfg.store_version_state_schema_version,
            cfg.fast_checksum,
        );
        wr.write_all(&request).await.map_err(|e| Error::io("sending request", e))?;
        wr.flush().await.map_err(|e| Error::io("sending request", e))?;
        let mut rx = StreamReader::new(rd, PIECE, cfg.receive_reader_idle);
        let sent = std::time::Instant::now();
        let mut sink = Sink::start();
        let result = receive_stream(&mut rx, &mut sink, self, sent).await;
        sink.shutdown().await;
        let _ = wr.shutdown().await;
        result
    }
}

/// Fetching in plaintext sends nothing secret, but off loopback the operator should know (once).
fn warn_plaintext(stream: &TcpStream) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Ok(addr) = stream.peer_addr() {
        if !addr.ip().is_loopback() && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            log::warn!(
                "fetching partitions in plaintext from {addr}, which is not on loopback; Venice runs blob \
                 transfer only with blob.transfer.ssl.enabled=true and blob.transfer.acl.enabled=true"
            );
        }
    }
}

/// A file whose checksum is still being computed.
type Pending = (String, u64, Announced, Finished);

async fn receive_stream<R: AsyncRead + Unpin>(
    rx: &mut StreamReader<R>,
    sink: &mut Sink,
    a: &Attempt<'_>,
    sent: std::time::Instant,
) -> Result<Received> {
    let mut finishing: Vec<Pending> = Vec::new();
    match stream_loop(rx, sink, a, sent, &mut finishing).await {
        Ok(r) => Ok(r),
        Err(e) => {
            // A bad checksum earlier in the stream is the root cause of what broke later (a wrong
            // content-length shows up as a garbled next head): report it first.
            for (name, len, announced, finished) in finishing {
                if let Ok(got) = finished.checksum().await {
                    check_checksum(&name, len, &announced, got)?;
                }
            }
            Err(e)
        }
    }
}

async fn stream_loop<R: AsyncRead + Unpin>(
    rx: &mut StreamReader<R>,
    sink: &mut Sink,
    a: &Attempt<'_>,
    sent: std::time::Instant,
    finishing: &mut Vec<Pending>,
) -> Result<Received> {
    let (peer, id, temp, read_limit, progress) = (a.peer, a.id, a.temp, &*a.transport.read_limit, a.progress);
    let mut first_byte = None;
    let mut dir: Option<std::sync::Arc<std::fs::File>> = None;
    let mut names: Vec<String> = Vec::new();
    let mut bytes = 0u64;
    let mut algorithm = Algorithm::Md5;
    let mut metadata = None;
    loop {
        let head = rx
            .next_head()
            .await?
            .ok_or_else(|| Error::protocol("peer closed the connection before COMPLETE"))?;
        match head {
            ResponseHead::Refused { status, reason, body_len } => {
                // Keep the peer's message when it comes with the refusal; never wait long for it.
                let body = match body_len {
                    Some(n) if n <= MAX_REFUSAL_BODY => rx.body(n).await.ok(),
                    _ => None,
                };
                let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                return Err(Error::peer_status(status, format!("peer answered {status} {reason}: {body}")));
            }
            ResponseHead::File { name, len, checksum } => {
                if metadata.is_some() {
                    return Err(Error::protocol(format!("peer sent file {name:?} after METADATA")));
                }
                if names.contains(&name) {
                    return Err(Error::protocol(format!("peer sent file {name:?} twice")));
                }
                first_byte.get_or_insert_with(|| sent.elapsed());
                let handle = match &dir {
                    Some(d) => d.clone(),
                    None => {
                        let temp = temp.to_path_buf();
                        let made = tokio::task::spawn_blocking(move || make_temp_dir(&temp))
                            .await
                            .map_err(|e| Error::internal(format!("creating the temp directory: {e}")))??;
                        dir.insert(std::sync::Arc::new(made)).clone()
                    }
                };
                let finished = receive_file(rx, sink, (handle, temp.join(&name)), len, checksum.algorithm, read_limit, |done| {
                    if let Some(p) = progress {
                        p(&Progress { peer: peer.to_string(), file: name.clone(), files_done: names.len(), bytes_done: bytes + done, files_total: None, bytes_total: None });
                    }
                })
                .await
                .map_err(|e| e.context(format!("file {name:?}")))?;
                crate::failpoint!("recv-after-file");
                algorithm = checksum.algorithm;
                finishing.push((name.clone(), len, checksum, finished));
                bytes += len;
                names.push(name);
            }
            ResponseHead::Metadata { len } => {
                if metadata.is_some() {
                    return Err(Error::protocol("peer sent METADATA twice"));
                }
                let body = rx.body(len).await.map_err(|e| e.context("receiving METADATA"))?;
                metadata = Some(PartitionMetadata::from_json(&body, id)?);
            }
            ResponseHead::Complete => {
                let metadata =
                    metadata.ok_or_else(|| Error::protocol("peer sent COMPLETE without a METADATA response"))?;
                if names.is_empty() {
                    return Err(Error::protocol("peer sent COMPLETE without any file"));
                }
                // Every checksum is checked before COMPLETE counts.
                for (name, len, announced, finished) in finishing.drain(..) {
                    check_checksum(&name, len, &announced, finished.checksum().await?)?;
                }
                sink.sync_all().await?;
                let first_byte = first_byte.unwrap_or_default();
                let dir = dir.expect("a file arrived, so the temp directory exists");
                return Ok(Received { files: names.len(), bytes, metadata, first_byte, dir, checksum: algorithm });
            }
        }
    }
}

/// Streams one file body to `path`: the socket is read here; the writer threads hash and write
/// (no second read of the file). Returns without waiting for the checksum.
#[allow(clippy::too_many_arguments)]
async fn receive_file<R: AsyncRead + Unpin>(
    rx: &mut StreamReader<R>,
    sink: &mut Sink,
    file: (std::sync::Arc<std::fs::File>, PathBuf),
    len: u64,
    algorithm: Algorithm,
    read_limit: &RateLimiter,
    mut on_progress: impl FnMut(u64),
) -> Result<Finished> {
    sink.open(file.0, file.1, algorithm).await?;
    let mut done = 0u64;
    while done < len {
        let mut buf = sink.buffer().await?;
        let want = (len - done).min(BUFFER_SIZE as u64) as usize;
        let read = rx.read_into(&mut buf, want).await;
        let n = buf.len();
        if n > 0 {
            sink.write(buf).await?;
        }
        read.map_err(|e| e.context(format!("after {} of {len} bytes", done + n as u64)))?;
        read_limit.acquire(n).await;
        done += n as u64;
        on_progress(done);
    }
    sink.finish().await
}

/// Creates this attempt's temp directory (and the version directory above it) and opens it. The
/// version directory may be removed by a failing bootstrap of a sibling partition between the
/// two steps (it removes it only when empty), so that race is retried.
fn make_temp_dir(temp: &Path) -> Result<std::fs::File> {
    let parent = temp.parent().expect("temp dir has a parent");
    let mut tries = 0;
    loop {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        match std::fs::create_dir(temp) {
            Ok(()) => return crate::fsutil::open_dir(temp),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            Err(e) => return Err(Error::io(format!("create {}", temp.display()), e)),
        }
    }
}

fn check_checksum(name: &str, len: u64, announced: &Announced, got: String) -> Result<()> {
    if got != announced.hex {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "File checksum mismatch for file: {name}: peer announced {} {}, the {len} bytes received hash to {got}",
                announced.algorithm.name(),
                announced.hex
            ),
        ));
    }
    Ok(())
}
