//! One attempt on one peer: connect, send the request as Venice's Java receiver does (plus the
//! `X-Vbt-*` asks, which Java senders ignore), decode the stream, write each file into the temp
//! directory while hashing and counting, check each file's size and checksum, require METADATA
//! before COMPLETE. Nothing is installed here.
//!
//! ```text
//! connection 1: GET (+asks) ──► FILE(x-vbt-transfer: T) FILE … METADATA COMPLETE
//!   with kept files: GET + X-Vbt-Manifest ──► manifest; GET + X-Vbt-Resume (files matched) ──► …
//! connection 2…n (only if the sender offered T):  GET + X-Vbt-Join: T ──► FILE … COMPLETE
//! every connection: socket → buffer pool → hasher thread + writer thread (client::sink)
//! end: all connections done, every checksum matched, file count and bytes = the announced totals
//! ```
//! Any connection failing after its first file ends all of them (the attempt fails and the files
//! verified so far stay for resume, client::resume).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::timeout;

use super::peers::{ConnectivityCache, Peer};
use super::reader::StreamReader;
use super::sink::{receive_file, Finished, Sink};
use super::{Progress, ProgressFn};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::failpoint::failpoint;
use crate::protocol::checksum::{Algorithm, Announced};
use crate::protocol::decoder::ResponseHead;
use crate::protocol::ext::{Asks, FileInfo, Resume};
use crate::protocol::manifest::Manifest;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::request::encode_request_with;
use crate::protocol::{PartitionId, TableFormat};
use crate::runtime::blocking;
use crate::runtime::until_true;
use crate::storage::landing::resume::{Journal, Kept, KeptFile, Partial, Seal};
use crate::storage::landing::{check_free_space, Spot};
use crate::throttle::RateLimiter;
use crate::tls::{Tls, HANDSHAKE_TIMEOUT};

/// The stream reader's own buffer: heads and small bodies (file bodies bypass it).
const PIECE: usize = 64 * 1024;
/// Longest refusal message we keep from a peer.
const MAX_REFUSAL_BODY: u64 = 64 * 1024;

/// What an attempt left in the temp directory.
pub(crate) struct Received {
    /// Files in the partition (received now or kept from an earlier attempt).
    pub files: usize,
    /// Bytes that crossed the network in this attempt.
    pub bytes: u64,
    /// Bytes of kept files this attempt did not fetch again.
    pub resumed_bytes: u64,
    /// Those bytes by the peer that first sent them.
    pub reused_from: Vec<(String, u64)>,
    /// Connections that carried files.
    pub streams: usize,
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
    /// The node's MD5 lane hasher (None without AVX2, or with `vbt.receive.md5.lanes=false`).
    pub lanes: Option<std::sync::Arc<crate::digest::LaneHasher>>,
}

/// One attempt on one peer: everything it needs.
pub(crate) struct Attempt<'a> {
    pub peer: &'a Peer,
    pub id: &'a PartitionId,
    pub format: TableFormat,
    pub cfg: &'a Config,
    pub transport: &'a Transport,
    /// The partition's landing: where files go, and what resume kept.
    pub spot: &'a Arc<Spot>,
    pub progress: Option<&'a ProgressFn>,
    /// Peers that refuse connections are remembered here (Venice's unconnectable-host cache).
    pub cache: &'a ConnectivityCache,
    /// Files kept in the landing dir from an earlier attempt, on this peer or another (resume).
    pub kept: Option<&'a Kept>,
    /// Seconds to wait in line at a busy vbt sender (`X-Vbt-Wait`); 0 for a plain ask.
    pub wait_secs: u32,
}

/// A connection to the peer, plaintext or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What the connections of one attempt share (they run in one task, so locks are brief).
struct Run<'a> {
    a: &'a Attempt<'a>,
    sent: Instant,
    dir: tokio::sync::OnceCell<Arc<std::fs::File>>,
    state: Mutex<State>,
    /// Files whose checksum is still being computed; awaited before the attempt ends.
    verifying: Mutex<Vec<(String, tokio::task::JoinHandle<Result<()>>)>>,
    verify_error: Mutex<Option<Error>>,
    /// Set when one connection fails: the others stop too.
    abort: watch::Sender<bool>,
    /// Where verified files are recorded for resume (a vbt sender named its snapshot).
    journal: Mutex<Option<Arc<Mutex<Journal>>>>,
    /// The kept files this attempt may still use: the attempt's, then those matching the
    /// sender's manifest, relabelled with its snapshot and indices.
    kept: Mutex<Option<Kept>>,
}

#[derive(Default)]
struct State {
    names: HashSet<String>,
    indices: HashSet<usize>,
    files: usize,
    bytes: u64,
    resumed_bytes: u64,
    totals: Option<(usize, u64)>,
    snapshot: Option<String>,
    first_byte: Option<Duration>,
    algorithm: Option<Algorithm>,
    metadata: Option<PartitionMetadata>,
    /// Connections that carried at least one file.
    streams: usize,
    /// A manifest arrived on the first connection.
    manifest_seen: bool,
    /// Kept bytes counted as received, by the peer that first sent them.
    reused_from: std::collections::BTreeMap<String, u64>,
    /// The sender was told which kept files of its snapshot we hold (it skips them).
    resume_asked: bool,
}

impl Attempt<'_> {
    /// Connects (and shakes hands, with TLS), then runs the exchange. Dropping the streams at the
    /// end closes the connections, which is what frees a Java sender's slot.
    pub async fn fetch(&self) -> Result<Received> {
        let main = self.connect().await?;
        let (abort, _) = watch::channel(false);
        let run = Run {
            a: self,
            sent: Instant::now(),
            dir: Default::default(),
            state: Default::default(),
            verifying: Default::default(),
            verify_error: Default::default(),
            abort,
            journal: Default::default(),
            kept: Mutex::new(self.kept.cloned()),
        };
        let (token_tx, token_rx) = oneshot::channel();
        let asks = self.asks(None);
        let (main, extra) = tokio::join!(run.stream(main, asks, Some(token_tx)), self.join_streams(&run, token_rx));
        // Every checksum is in before the attempt ends (and before anything is cleaned up).
        let verified = run.verified().await;
        // The root cause first: a bad checksum explains what broke after it (a wrong length
        // shows up as a garbled next head), and a connection stopped because another failed
        // is not the cause.
        let errors = [main, extra, verified].into_iter().filter_map(Result::err);
        if let Some(e) = errors.min_by_key(|e| match e.kind() {
            ErrorKind::Checksum => 0,
            ErrorKind::Cancelled => 2,
            _ => 1,
        }) {
            return Err(e);
        }
        run.finish()
    }

    fn asks(&self, join: Option<String>) -> Asks {
        let cfg = self.cfg;
        if !cfg.extensions {
            return Asks::default();
        }
        Asks {
            fast_checksum: cfg.fast_checksum,
            snapshot_info: true,
            streams: if join.is_none() { cfg.receive_streams } else { 1 },
            resume: None,
            // Kept files are matched to the sender's snapshot by its manifest, whatever
            // snapshot or peer they came from.
            manifest: join.is_none() && self.kept.is_some(),
            // Only the request that asks for admission waits in line.
            wait_secs: if join.is_none() { self.wait_secs } else { 0 },
            join,
        }
    }

    /// The request after the manifest: the same asks, and the kept files it matched.
    fn asks_after_manifest(&self, resume: Option<Resume>) -> Asks {
        Asks { manifest: false, resume, wait_secs: 0, ..self.asks(None) }
    }

    /// The further connections of a transfer the sender offered to share (`x-vbt-transfer`).
    /// One that cannot join (the transfer ended, the sender refused) is no loss: the others
    /// take its files from the same queue.
    async fn join_streams(&self, run: &Run<'_>, token: oneshot::Receiver<String>) -> Result<()> {
        let Ok(token) = token.await else { return Ok(()) };
        let extra = (1..self.cfg.receive_streams).map(|_| async {
            let io = match self.connect().await {
                Ok(io) => io,
                Err(e) => {
                    log::debug!("extra stream to {}: {e}", self.peer);
                    return Ok(());
                }
            };
            run.stream(io, self.asks(Some(token.clone())), None).await
        });
        futures_util::future::join_all(extra).await.into_iter().collect()
    }

    async fn connect(&self) -> Result<Box<dyn Io>> {
        let peer = self.peer;
        let stream = match timeout(self.cfg.connect_timeout, TcpStream::connect((peer.host.as_str(), peer.port))).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                // Out of descriptors here says nothing about the peer: not cached against it.
                if !super::peers::is_local_shortage(&e) {
                    self.cache.mark_bad(peer);
                }
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
            return Ok(Box::new(stream));
        };
        let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
        let stream = super::readahead::ReadAhead::new(stream);
        match timeout(HANDSHAKE_TIMEOUT, connector.connect(Tls::server_name(&peer.host)?, stream)).await {
            Ok(Ok(s)) => Ok(Box::new(s)),
            Ok(Err(e)) => Err(Error::io(format!("TLS handshake with {peer} failed"), e)),
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("TLS handshake with {peer} did not finish in time"))),
        }
    }
}

impl Run<'_> {
    /// One connection: send the request, receive its part of the stream, stop its writer.
    /// `token`: this is the first connection; the sender's offer to share goes there.
    async fn stream(&self, io: Box<dyn Io>, asks: Asks, token: Option<oneshot::Sender<String>>) -> Result<()> {
        let cfg = self.a.cfg;
        let joined = asks.join.is_some();
        let (rd, mut wr) = tokio::io::split(io);
        let request = encode_request_with(
            self.a.id,
            self.a.format,
            cfg.partition_state_schema_version,
            cfg.store_version_state_schema_version,
            &asks,
        );
        let sent = async {
            wr.write_all(&request).await?;
            wr.flush().await
        };
        if let Err(e) = sent.await {
            return self.fail(Error::io("sending request", e), joined, false);
        }
        let mut rx = StreamReader::new(rd, PIECE, cfg.receive_reader_idle);
        let mut sink = Sink::start(self.a.transport.lanes.as_ref(), cfg.receive_direct_io);
        let mut abort = self.abort.subscribe();
        let mut got_file = false;
        let result = tokio::select! {
            r = self.stream_loop(&mut rx, &mut wr, &mut sink, token, joined, &mut got_file) => r,
            _ = until_true(&mut abort) => Err(Error::new(ErrorKind::Cancelled, "another connection of this transfer failed")),
        };
        if result.is_err() {
            // Let this connection's writer finish the files it has, so their checksums are
            // known (a mismatch is the root cause) before it stops.
            let _ = self.verified().await;
        }
        sink.shutdown().await;
        let _ = wr.shutdown().await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e, joined, got_file),
        }
    }

    /// A joined connection that failed before its first file cost nothing; anything else ends
    /// the attempt (a file it was sent is lost with it).
    fn fail(&self, e: Error, joined: bool, got_file: bool) -> Result<()> {
        if joined && !got_file {
            log::debug!("an extra stream from {} did not join: {e}", self.a.peer);
            return Ok(());
        }
        let _ = self.abort.send(true);
        Err(e)
    }

    async fn stream_loop<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
        &self,
        rx: &mut StreamReader<R>,
        wr: &mut W,
        sink: &mut Sink,
        mut token: Option<oneshot::Sender<String>>,
        joined: bool,
        got_file: &mut bool,
    ) -> Result<()> {
        let a = self.a;
        let mut metadata_seen = false;
        loop {
            let head = rx.next_head().await?.ok_or_else(|| Error::protocol("peer closed the connection before COMPLETE"))?;
            match head {
                ResponseHead::Refused { status, reason, body_len, busy } => {
                    // Keep the peer's message when it comes with the refusal; never wait long for it.
                    let body = match body_len {
                        Some(n) if n <= MAX_REFUSAL_BODY => rx.body(n).await.ok(),
                        _ => None,
                    };
                    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                    return Err(Error::peer_status(status, refusal_message(status, &reason, &body)).with_busy(busy));
                }
                ResponseHead::Manifest { snapshot, len } => {
                    let asked = !joined && self.a.asks(None).manifest; // what the first request asked
                    let again = std::mem::replace(&mut self.state.lock().unwrap().manifest_seen, true);
                    if !asked || again || *got_file || metadata_seen {
                        return Err(Error::protocol("peer sent a manifest this receiver did not ask for"));
                    }
                    let body = rx.body(len).await.map_err(|e| e.context("receiving the manifest"))?;
                    let resume = self.adopt(Manifest::parse(&body, &snapshot)?).await?;
                    let a = self.a;
                    let request = encode_request_with(
                        a.id,
                        a.format,
                        a.cfg.partition_state_schema_version,
                        a.cfg.store_version_state_schema_version,
                        &a.asks_after_manifest(resume),
                    );
                    wr.write_all(&request).await.map_err(|e| Error::io("sending the request after the manifest", e))?;
                    wr.flush().await.map_err(|e| Error::io("sending the request after the manifest", e))?;
                }
                ResponseHead::File { name, len, checksum, info } => {
                    if metadata_seen {
                        return Err(Error::protocol(format!("peer sent file {name:?} after METADATA")));
                    }
                    if !*got_file {
                        self.state.lock().unwrap().streams += 1;
                    }
                    *got_file = true;
                    self.admit_file(&name, &checksum, &info, joined).await?;
                    if let (Some(tx), Some(t)) = (token.take(), info.transfer.clone()) {
                        let _ = tx.send(t);
                    }
                    let from = self.continue_from(&name, len, &checksum, &info)?;
                    let kept_start = from.unwrap_or(0);
                    self.journal_started(&name, kept_start + len, &checksum, info.index).await?;
                    let handle = self.dir().await?;
                    let st = &self.state;
                    let finished = receive_file(
                        rx,
                        sink,
                        (handle, a.spot.temp().join(&name), from),
                        len,
                        checksum.algorithm,
                        &a.transport.read_limit,
                        |done| {
                            if let Some(p) = a.progress {
                                let s = st.lock().unwrap();
                                p(&Progress {
                                    peer: a.peer.to_string(),
                                    file: name.clone(),
                                    files_done: s.files,
                                    bytes_done: s.resumed_bytes + s.bytes + done,
                                    bytes_resumed: s.resumed_bytes,
                                    files_total: s.totals.map(|t| t.0),
                                    bytes_total: s.totals.map(|t| t.1),
                                });
                            }
                        },
                    )
                    .await
                    .map_err(|e| e.context(format!("file {name:?}")))?;
                    failpoint!("recv-after-file");
                    {
                        let mut s = self.state.lock().unwrap();
                        s.files += 1;
                        s.bytes += len;
                    }
                    self.verify_later(name, (kept_start, len), checksum, info.index, finished);
                }
                ResponseHead::Metadata { len } => {
                    if metadata_seen || joined {
                        return Err(Error::protocol("peer sent METADATA twice"));
                    }
                    let body = rx.body(len).await.map_err(|e| e.context("receiving METADATA"))?;
                    let held_all = {
                        let s = self.state.lock().unwrap();
                        (s.first_byte.is_none() && s.resume_asked).then(|| self.kept.lock().unwrap().clone()).flatten()
                    };
                    if let Some(k) = held_all {
                        // A vbt sender held back every file: the kept ones are the partition
                        // only if they are all the files it announced when they were sent.
                        if k.header.totals != Some((k.files.len(), k.bytes())) {
                            // Dropped, so the next attempt does not ask the same again.
                            let spot = a.spot.clone();
                            blocking(move || spot.discard_kept()).await?;
                            return Err(Error::protocol(format!(
                                "peer sent no file, but the {} files kept are not all of its snapshot (discarded)",
                                k.files.len()
                            )));
                        }
                        {
                            let mut s = self.state.lock().unwrap();
                            s.snapshot = Some(k.header.snapshot.clone());
                            s.totals = k.header.totals;
                        }
                        self.settle_resume(&FileInfo { snapshot: Some(k.header.snapshot.clone()), ..Default::default() }).await?;
                        self.dir().await?;
                    }
                    self.state.lock().unwrap().metadata = Some(PartitionMetadata::from_json(&body, a.id)?);
                    metadata_seen = true;
                }
                ResponseHead::Complete => {
                    if !joined && !metadata_seen {
                        return Err(Error::protocol("peer sent COMPLETE without a METADATA response"));
                    }
                    // What this connection wrote is durable before it counts.
                    return sink.sync_all().await;
                }
            }
        }
    }

    /// Checks a FILE head against the transfer so far; the first one also settles resume: kept
    /// files of the snapshot the sender still serves count as received, any others are dropped.
    async fn admit_file(&self, name: &str, checksum: &Announced, info: &FileInfo, joined: bool) -> Result<()> {
        if crate::storage::landing::resume::reserved(name) {
            // The landing's own journal: received, it would be removed at install (or clash).
            return Err(Error::protocol(format!("peer sent a file named {name:?}, which this receiver keeps its resume journal in")));
        }
        let first = {
            let mut s = self.state.lock().unwrap();
            if s.names.contains(name) {
                return Err(Error::protocol(format!("peer sent file {name:?} twice")));
            }
            if s.snapshot.is_some() && info.snapshot.is_some() && s.snapshot != info.snapshot {
                return Err(Error::protocol(format!("peer switched snapshots in the middle of a transfer (file {name:?})")));
            }
            if let Some(t) = info.files_total.zip(info.bytes_total) {
                if s.totals.is_some_and(|old| old != t) {
                    return Err(Error::protocol(format!("peer changed its announced totals in the middle of a transfer (file {name:?})")));
                }
                s.totals = Some(t);
            }
            // The index goes into the resume journal and the next request's bitmap: a lying
            // sender must not make it huge (an allocation of its size) or repeat one.
            if let Some(i) = info.index {
                match s.totals {
                    Some((files, _)) if i < files => {}
                    _ => {
                        return Err(Error::protocol(format!(
                            "peer sent file {name:?} with x-vbt-file-index {i}, outside the files it announced"
                        )))
                    }
                }
                if !s.indices.insert(i) {
                    return Err(Error::protocol(format!("peer sent file index {i} twice (file {name:?})")));
                }
            }
            s.algorithm.get_or_insert(checksum.algorithm);
            let first = s.first_byte.is_none();
            if first {
                s.first_byte = Some(self.sent.elapsed());
                s.snapshot = info.snapshot.clone();
            }
            s.names.insert(name.to_string());
            first
        };
        if first && !joined {
            self.settle_resume(info).await?;
            if let Some(total) = info.bytes_total {
                let need = total.saturating_sub(self.state.lock().unwrap().resumed_bytes);
                let dir = self.dir().await?;
                check_free_space(&dir, &self.a.spot.temp(), need)?;
            }
        }
        Ok(())
    }

    /// Where a file goes on from: `None` for a new file; `Some(offset)` for a partial one kept
    /// from an earlier attempt, whose first `offset` bytes the sender skipped (`x-vbt-offset`,
    /// as asked) or did not (0: it sends the whole file, which replaces them). `len`: the body.
    fn continue_from(&self, name: &str, len: u64, announced: &Announced, info: &FileInfo) -> Result<Option<u64>> {
        let kept = self.kept.lock().unwrap();
        let partial = kept.as_ref().and_then(|k| Some((k, k.partial.iter().find(|p| p.file.name == name)?)));
        match (info.offset, partial) {
            (Some(o), Some((k, p))) if info.index == Some(p.file.index) && o == p.have => {
                // The kept start belongs to the file the manifest named: the rest must be of it.
                // The body's length is the peer's word: it may be anything up to u64::MAX.
                if o.checked_add(len) != Some(p.file.len) || announced.hex != p.file.sum {
                    return Err(Error::protocol(format!(
                        "peer sent file {name:?} from offset {o} as {} bytes with checksum {}, but its manifest said {} bytes with {}",
                        u128::from(o) + u128::from(len),
                        announced.hex,
                        p.file.len,
                        p.file.sum
                    )));
                }
                let mut s = self.state.lock().unwrap();
                s.resumed_bytes += o;
                *s.reused_from.entry(p.file.from.clone().unwrap_or_else(|| k.header.peer.clone())).or_default() += o;
                Ok(Some(o))
            }
            (Some(o), _) => Err(Error::protocol(format!("peer sent file {name:?} from offset {o}, which this receiver did not ask for"))),
            (None, Some(_)) => Ok(Some(0)),
            (None, None) => Ok(None),
        }
    }

    /// Records that `name` started (whole length `len`, checksum as announced): if the attempt
    /// ends before the file does, what reached the disk is kept for the next one.
    async fn journal_started(&self, name: &str, len: u64, announced: &Announced, index: Option<usize>) -> Result<()> {
        let journal = self.journal.lock().unwrap().clone();
        let (Some(j), Some(index)) = (journal, index) else { return Ok(()) };
        let entry = KeptFile {
            index,
            name: name.to_string(),
            len,
            algorithm: announced.algorithm.name().to_string(),
            sum: announced.hex.clone(),
            from: Some(self.a.peer.to_string()),
            seal: None,
        };
        blocking(move || j.lock().unwrap().append_started(&entry)).await
    }

    async fn settle_resume(&self, info: &FileInfo) -> Result<()> {
        let a = self.a;
        let spot = a.spot.clone();
        let kept = self.kept.lock().unwrap().clone();
        let asked = self.state.lock().unwrap().resume_asked;
        match (kept, &info.snapshot) {
            (Some(k), Some(id)) if asked && *id == k.header.snapshot => {
                {
                    let mut s = self.state.lock().unwrap();
                    for f in &k.files {
                        if !s.names.insert(f.name.clone()) || !s.indices.insert(f.index) {
                            return Err(Error::protocol(format!("peer sent file {:?}, which this receiver said it holds", f.name)));
                        }
                        s.files += 1;
                        s.resumed_bytes += f.len;
                        *s.reused_from.entry(f.from.clone().unwrap_or_else(|| k.header.peer.clone())).or_default() += f.len;
                    }
                }
                log::info!("resuming {} from {}: {} files ({} bytes) kept", a.id.replica(), a.peer, k.files.len(), k.bytes());
                let j = blocking(move || spot.journal(None)).await?;
                *self.journal.lock().unwrap() = Some(Arc::new(Mutex::new(j)));
            }
            (kept, id) => {
                if kept.is_some() {
                    log::info!("{} sends every file of {} (no manifest matched the kept ones): starting clean", a.peer, a.id.replica());
                    let spot = spot.clone();
                    blocking(move || spot.discard_kept()).await?;
                    *self.kept.lock().unwrap() = None;
                }
                if let (Some(id), true) = (id, spot.records_kept()) {
                    let header = Journal::new_header(&a.peer.to_string(), id, info.files_total.zip(info.bytes_total));
                    self.dir().await?; // the journal goes inside it
                    let j = blocking(move || spot.journal(Some(&header))).await?;
                    *self.journal.lock().unwrap() = Some(Arc::new(Mutex::new(j)));
                    failpoint!("recv-journal-started");
                }
            }
        }
        Ok(())
    }

    /// Keeps the kept files whose identity (name, size, checksum) is in the sender's manifest,
    /// relabelled with its snapshot and their indices in it, and drops the others. What is kept
    /// was re-hashed before this bootstrap (or verified by this process moments ago). Returns
    /// what to tell the sender it may skip.
    async fn adopt(&self, m: Manifest) -> Result<Option<Resume>> {
        let a = self.a;
        let old = self.kept.lock().unwrap().take();
        let by_name: std::collections::HashMap<&str, (usize, &crate::protocol::manifest::ManifestFile)> =
            m.files.iter().enumerate().map(|(i, f)| (f.name.as_str(), (i, f))).collect();
        // A kept entry (whole or partial) by the same identity, relabelled with its index in the
        // manifest; a partial one's start is then the start of the file the sender has.
        let relabel = |f: &KeptFile| {
            let (index, want) = by_name.get(f.name.as_str())?;
            let same = want.len == f.len && f.algorithm == m.algorithm.name() && want.sum == f.sum;
            let from = f.from.clone().or_else(|| old.as_ref().map(|k| k.header.peer.clone()));
            same.then(|| KeptFile { index: *index, from, ..f.clone() })
        };
        let files: Vec<KeptFile> = old.iter().flat_map(|k| &k.files).filter_map(relabel).collect();
        let partial: Vec<Partial> =
            old.iter().flat_map(|k| &k.partial).filter_map(|p| Some(Partial { file: relabel(&p.file)?, have: p.have })).collect();
        let totals = (m.files.len(), m.total_bytes());
        {
            let mut s = self.state.lock().unwrap();
            s.manifest_seen = true;
            s.snapshot = Some(m.snapshot.clone());
            s.totals = Some(totals);
            s.resume_asked = !files.is_empty() || !partial.is_empty();
        }
        let dropped = old.as_ref().map_or(0, |k| k.files.len() + k.partial.len()) - files.len() - partial.len();
        let spot = a.spot.clone();
        if files.is_empty() && partial.is_empty() {
            log::info!("none of the files kept for {} is in the snapshot {} serves: starting clean", a.id.replica(), a.peer);
            blocking(move || spot.discard_kept()).await?;
            return Ok(None);
        }
        let mut header = Journal::new_header(&a.peer.to_string(), &m.snapshot, Some(totals));
        // Relabelling keeps no new file: the kept files age as before.
        if let Some(old) = &old {
            header.created_ms = old.header.created_ms;
        }
        let kept = Kept { header, files, partial };
        log::info!(
            "{} keeps {} files ({} bytes) and the start of {} more ({} bytes) by the manifest of {}{}",
            a.id.replica(),
            kept.files.len(),
            kept.bytes(),
            kept.partial.len(),
            kept.partial_bytes(),
            a.peer,
            if dropped > 0 { format!("; {dropped} kept files are not in it (removed)") } else { String::new() }
        );
        let from = kept.partial.iter().map(|p| (p.file.index, p.have)).collect();
        let resume = Resume { snapshot: m.snapshot, held: kept.indices(), from };
        let relabelled = kept.clone();
        blocking(move || spot.relabel_kept(&relabelled)).await?;
        *self.kept.lock().unwrap() = Some(kept);
        Ok(Some(resume))
    }

    /// The temp directory, made by the first file (or the kept one, reopened).
    async fn dir(&self) -> Result<Arc<std::fs::File>> {
        self.dir
            .get_or_try_init(|| async {
                let spot = self.a.spot.clone();
                blocking(move || spot.make_dir()).await.map(Arc::new)
            })
            .await
            .cloned()
    }

    /// Checks the file's checksum once its writer is done, off this loop; a match is recorded
    /// for resume.
    /// `(kept, received)`: the bytes of the file kept from an earlier attempt, and those received.
    fn verify_later(&self, name: String, (kept, received): (u64, u64), announced: Announced, index: Option<usize>, finished: Finished) {
        let journal = self.journal.lock().unwrap().clone();
        let task_name = name.clone();
        let peer = self.a.peer.to_string();
        let path = self.a.spot.temp().join(&name);
        let len = kept + received;
        let task = tokio::spawn(async move {
            let got = finished.checksum().await?;
            if let Err(e) = check_checksum(&name, (kept, received), &announced, got.clone()) {
                // Its journal line says "started": kept, the next attempt would go on from its
                // end. Removed, it is fetched whole (the kept start may be what was wrong).
                let _ = blocking(move || std::fs::remove_file(&path).map_err(|e| Error::io("remove", e))).await;
                return Err(e);
            }
            let algorithm = announced.algorithm;
            let entry = journal.zip(index).map(|(j, index)| {
                (j, KeptFile { index, name, len, algorithm: algorithm.name().to_string(), sum: got.clone(), from: Some(peer), seal: None })
            });
            if entry.is_some() {
                // Sealed once the tick of its last write is past (resume::Seal).
                tokio::time::sleep(crate::storage::landing::resume::RACY).await;
            }
            blocking(move || {
                // Written in full and verified: a sender on this node answers from it, and a
                // resume trusts it while its seal holds (resume::Seal).
                crate::digest::cache::remember(&path, algorithm, &got);
                match entry {
                    Some((j, e)) => j.lock().unwrap().append(&KeptFile { seal: Seal::of(&path), ..e }),
                    None => Ok(()),
                }
            })
            .await
        });
        self.verifying.lock().unwrap().push((task_name, task));
    }

    /// Waits for every checksum so far; the first mismatch (else the first failure) is the
    /// error, and stays the error for later calls.
    async fn verified(&self) -> Result<()> {
        loop {
            let tasks = std::mem::take(&mut *self.verifying.lock().unwrap());
            if tasks.is_empty() {
                break;
            }
            for (name, t) in tasks {
                let r = t.await.map_err(|e| Error::internal(format!("verifying {name:?}: {e}"))).and_then(|r| r);
                if let Err(e) = r {
                    let mut first = self.verify_error.lock().unwrap();
                    if first.is_none()
                        || (e.kind() == ErrorKind::Checksum && first.as_ref().is_some_and(|f| f.kind() != ErrorKind::Checksum))
                    {
                        *first = Some(e);
                    }
                }
            }
        }
        self.verify_error.lock().unwrap().clone().map_or(Ok(()), Err)
    }

    /// Every connection ended well: the partition is whole only if the sender's totals (when it
    /// announced them) match what is in the temp directory.
    fn finish(self) -> Result<Received> {
        let s = self.state.into_inner().unwrap();
        let metadata = s.metadata.ok_or_else(|| Error::protocol("peer sent COMPLETE without a METADATA response"))?;
        if s.files == 0 {
            return Err(Error::protocol("peer sent COMPLETE without any file"));
        }
        // A kept start is verified only with the rest of its file: one the sender left out (the
        // counts may add up all the same) would be installed cut short.
        if let Some(p) = self.kept.into_inner().unwrap().iter().flat_map(|k| &k.partial).find(|p| !s.names.contains(&p.file.name)) {
            return Err(Error::protocol(format!(
                "peer never sent file {:?}, which this receiver holds the first {} bytes of (asked from there)",
                p.file.name, p.have
            )));
        }
        if let Some((files, bytes)) = s.totals {
            if s.files != files || s.bytes + s.resumed_bytes != bytes {
                return Err(Error::protocol(format!(
                    "transfer ended with {} files and {} bytes of the {files} files and {bytes} bytes the peer announced",
                    s.files,
                    s.bytes + s.resumed_bytes
                )));
            }
        }
        let dir = self.dir.into_inner().expect("a file arrived, so the temp directory exists");
        Ok(Received {
            files: s.files,
            bytes: s.bytes,
            resumed_bytes: s.resumed_bytes,
            reused_from: s.reused_from.into_iter().collect(),
            streams: s.streams,
            metadata,
            first_byte: s.first_byte.unwrap_or_default(),
            dir,
            checksum: s.algorithm.unwrap_or(Algorithm::Md5),
        })
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

fn check_checksum(name: &str, (kept, received): (u64, u64), announced: &Announced, got: String) -> Result<()> {
    if got != announced.hex {
        let bytes = match kept {
            0 => format!("the {received} bytes received"),
            _ => format!(
                "the {kept} bytes kept from an earlier attempt and the {received} received after them (removed: fetched whole next time)"
            ),
        };
        let e = Error::new(
            ErrorKind::Checksum,
            format!(
                "File checksum mismatch for file: {name}: peer announced {} {}, {bytes} hash to {got}",
                announced.algorithm.name(),
                announced.hex
            ),
        );
        return Err(if kept > 0 { e.of_kept_start() } else { e });
    }
    Ok(())
}

/// A sender's refusal as the bootstrap error says it: status, reason and the sender's message if
/// it sent one. A 403 comes with none (Venice's ACL handler answers with an empty body, and so
/// does vbt's), so the message says what refused.
fn refusal_message(status: u16, reason: &str, body: &str) -> String {
    let body = body.trim();
    let mut m = format!("peer answered {status} {reason}");
    if !body.is_empty() {
        m.push_str(": ");
        m.push_str(body);
    } else if status == 403 {
        m.push_str(": refused by its ACL (a Venice sender admits only certificates from the issuer of its own; a Venice server may also refuse peers of another application, client origin)");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::refusal_message;

    #[test]
    fn a_refusal_keeps_the_senders_message_and_an_empty_403_names_the_acl() {
        assert_eq!(
            refusal_message(404, "Not Found", "Snapshot for s_v1-0 doesn't exist"),
            "peer answered 404 Not Found: Snapshot for s_v1-0 doesn't exist"
        );
        assert_eq!(
            refusal_message(403, "Forbidden", ""),
            "peer answered 403 Forbidden: refused by its ACL (a Venice sender admits only certificates from the issuer of its own; a Venice server may also refuse peers of another application, client origin)"
        );
        assert_eq!(refusal_message(429, "Too Many Requests", ""), "peer answered 429 Too Many Requests");
        assert_eq!(refusal_message(500, "Internal Server Error", "\n"), "peer answered 500 Internal Server Error");
    }
}
