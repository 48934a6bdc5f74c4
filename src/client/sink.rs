//! Where received bytes go. Three stages run at once: the async side reads the socket into a
//! buffer, one thread hashes it, another writes it to the file. A buffer goes back to the pool
//! when both are done with it. The pool is the attempt's whole memory budget: when the disk (or
//! the hash) is slower than the network, reading waits for a free buffer.

use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::direct::{Out, Stage};
use crate::digest::{Hasher, LaneHasher, LaneStream};
use crate::error::{Error, Result};
use crate::failpoint::failpoint;
use crate::protocol::checksum::Algorithm;

/// Buffers in flight between the socket and the disk, and the size of each.
const BUFFERS: usize = 4;
pub(crate) const BUFFER_SIZE: usize = 1 << 20;

/// A pool buffer shared by the hasher and the writer; back to the pool on the last drop.
struct Shared {
    bytes: Vec<u8>,
    pool: mpsc::Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.pool.try_send(std::mem::take(&mut self.bytes));
    }
}

enum WriteCmd {
    /// A file in the directory the handle refers to: a new one, or (`Some(offset)`) a kept
    /// partial one, cut to `offset` bytes and written on from there. The path is for messages.
    Open(Arc<std::fs::File>, PathBuf, Option<u64>),
    Data(Arc<Shared>),
    Finish(oneshot::Sender<Result<()>>),
    /// Make every finished file durable (fdatasync the one still pending).
    SyncAll(oneshot::Sender<Result<()>>),
}

enum HashCmd {
    /// A new file; with a prefix, the first bytes of the file at that path are hashed first.
    Open(Algorithm, Option<(PathBuf, u64)>),
    Data(Arc<Shared>),
    Finish(oneshot::Sender<String>),
}

pub(crate) struct Sink {
    writes: mpsc::Sender<WriteCmd>,
    hashes: mpsc::Sender<HashCmd>,
    free: mpsc::Receiver<Vec<u8>>,
    pool: mpsc::Sender<Vec<u8>>,
    threads: [tokio::task::JoinHandle<()>; 2],
    /// The writer's first failure (e.g. a full disk): it stops there, and the attempt fails with
    /// this at its next step instead of downloading the rest of the partition.
    failure: Arc<OnceLock<Error>>,
    /// MD5 goes to the node's lane hasher when it has one (digest::lane_hasher)…
    lanes: Option<LaneStream>,
    /// …and the current file is hashed there.
    in_lanes: AtomicBool,
}

fn gone() -> Error {
    Error::internal("a file writer thread stopped")
}

impl Sink {
    /// `direct`: write files around the page cache where the file system allows (see `direct`).
    pub fn start(lanes: Option<&Arc<LaneHasher>>, direct: bool) -> Sink {
        let (writes, write_rx) = mpsc::channel(BUFFERS + 2);
        let (hashes, hash_rx) = mpsc::channel(BUFFERS + 2);
        let (pool, free) = mpsc::channel(BUFFERS);
        for _ in 0..BUFFERS {
            pool.try_send(Vec::with_capacity(BUFFER_SIZE)).expect("room for every buffer");
        }
        let failure = Arc::new(OnceLock::new());
        let wf = failure.clone();
        let threads =
            [tokio::task::spawn_blocking(move || writer(write_rx, &wf, direct)), tokio::task::spawn_blocking(move || hasher(hash_rx))];
        Sink { writes, hashes, free, pool, threads, failure, lanes: lanes.map(|l| l.stream()), in_lanes: AtomicBool::new(false) }
    }

    /// Why the writer stopped, if it did.
    fn stopped(&self) -> Error {
        self.failure.get().cloned().unwrap_or_else(gone)
    }

    /// Stops both threads and waits for them, so nothing touches the temp directory afterwards
    /// (its cleanup must not race with a file still being created).
    pub async fn shutdown(self) {
        let Sink { writes, hashes, threads, lanes, .. } = self;
        drop((writes, hashes, lanes));
        for t in threads {
            let _ = t.await;
        }
    }

    /// Starts a file. `from`: a kept partial file of that name goes on from this offset (its
    /// bytes on disk before it are hashed first); `Some(0)` replaces it.
    pub async fn open(&self, dir: Arc<std::fs::File>, path: PathBuf, algorithm: Algorithm, from: Option<u64>) -> Result<()> {
        self.writes.send(WriteCmd::Open(dir, path.clone(), from)).await.map_err(|_| self.stopped())?;
        let prefix = from.filter(|&o| o > 0).map(|o| (path, o));
        match (&self.lanes, algorithm) {
            // The lanes hash streams from their start: a file that has a prefix goes to the thread.
            (Some(l), Algorithm::Md5) if prefix.is_none() => {
                self.in_lanes.store(true, Ordering::Relaxed);
                l.open();
                Ok(())
            }
            _ => {
                self.in_lanes.store(false, Ordering::Relaxed);
                self.hashes.send(HashCmd::Open(algorithm, prefix)).await.map_err(|_| gone())
            }
        }
    }

    /// An empty buffer; waits while every buffer is still being hashed or written (back-pressure).
    pub async fn buffer(&mut self) -> Result<Vec<u8>> {
        if let Some(e) = self.failure.get() {
            return Err(e.clone());
        }
        let mut b = self.free.recv().await.ok_or_else(gone)?;
        b.clear();
        Ok(b)
    }

    pub async fn write(&self, bytes: Vec<u8>) -> Result<()> {
        let shared = Arc::new(Shared { bytes, pool: self.pool.clone() });
        match self.lane() {
            Some(l) => l.data(shared.clone()),
            None => self.hashes.send(HashCmd::Data(shared.clone())).await.map_err(|_| gone())?,
        }
        self.writes.send(WriteCmd::Data(shared)).await.map_err(|_| self.stopped())
    }

    /// Ends the current file. Does not wait: the returned [`Finished`] resolves to the file's
    /// checksum once it is hashed and written, while the caller goes on with the next file.
    pub async fn finish(&self) -> Result<Finished> {
        let (wtx, written) = oneshot::channel();
        self.writes.send(WriteCmd::Finish(wtx)).await.map_err(|_| self.stopped())?;
        let hashed = match self.lane() {
            Some(l) => l.finish(),
            None => {
                let (htx, hashed) = oneshot::channel();
                self.hashes.send(HashCmd::Finish(htx)).await.map_err(|_| gone())?;
                hashed
            }
        };
        Ok(Finished { written, hashed })
    }

    fn lane(&self) -> Option<&LaneStream> {
        self.lanes.as_ref().filter(|_| self.in_lanes.load(Ordering::Relaxed))
    }

    /// Waits until every finished file is on stable storage.
    pub async fn sync_all(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.writes.send(WriteCmd::SyncAll(tx)).await.map_err(|_| self.stopped())?;
        rx.await.map_err(|_| self.stopped())?
    }
}

/// A file being finished: its checksum, and whether it was written.
pub(crate) struct Finished {
    written: oneshot::Receiver<Result<()>>,
    hashed: oneshot::Receiver<String>,
}

impl Finished {
    pub async fn checksum(self) -> Result<String> {
        self.written.await.map_err(|_| gone())??;
        self.hashed.await.map_err(|_| gone())
    }
}

/// fdatasync of a finished file, lagging one file behind: by the time the next file ends, this
/// one's writeback (started when it ended) is done and the call returns at once.
fn sync_pending(pending: &mut Option<(std::fs::File, PathBuf)>) -> Result<()> {
    match pending.take() {
        Some((f, path)) => {
            f.sync_data().map_err(|e| Error::io(format!("fsync {}", path.display()), e))?;
            failpoint!("recv-after-file-sync");
            Ok(())
        }
        None => Ok(()),
    }
}

fn writer(mut cmds: mpsc::Receiver<WriteCmd>, failure: &OnceLock<Error>, direct: bool) {
    // Its memory is touched only by direct writes.
    let mut stage = Stage::new();
    let mut file: Option<(Out, PathBuf)> = None;
    let mut pending: Option<(std::fs::File, PathBuf)> = None;
    while let Some(cmd) = cmds.blocking_recv() {
        if cmds.is_closed() {
            // The attempt is over (failed or cancelled): create and write nothing more.
            break;
        }
        let step = match cmd {
            WriteCmd::Open(dir, path, from) => {
                if let Some((out, _)) = file.take() {
                    out.abandon(&mut stage);
                }
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let opened = match from {
                    None => crate::fsutil::create_file_in(&dir, &name),
                    Some(offset) => crate::fsutil::continue_file_in(&dir, &name, offset),
                };
                opened
                    .map(|f| file = Some((Out::new(f, direct, from.unwrap_or(0)), path.clone())))
                    .map_err(|e| Error::io(format!("create {}", path.display()), e))
            }
            WriteCmd::Data(buf) => match file.as_mut() {
                Some((f, path)) => {
                    let r = f.write(&mut stage, &buf.bytes).map_err(|e| Error::io(format!("write {}", path.display()), e));
                    failpoint!("recv-mid-file"); // a crash with a file partly written (resume goes on from it)
                    r
                }
                None => Err(Error::internal("data without an open file")),
            },
            WriteCmd::Finish(reply) => {
                let result = match file.take() {
                    Some((out, path)) => match out.finish(&mut stage) {
                        Err(e) => Err(Error::io(format!("write {}", path.display()), e)),
                        Ok(f) => {
                            // Start this file's writeback now, and make the previous one durable.
                            // SAFETY: a valid open descriptor; the call only schedules writeback.
                            unsafe { libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
                            let synced = sync_pending(&mut pending);
                            pending = Some((f, path));
                            synced
                        }
                    },
                    None => Err(Error::internal("finish without an open file")),
                };
                let _ = reply.send(result.clone());
                result
            }
            WriteCmd::SyncAll(reply) => {
                let result = sync_pending(&mut pending);
                let _ = reply.send(result.clone());
                result
            }
        };
        if let Err(e) = step {
            // Stop at the first failure; dropping `cmds` makes the attempt's next send fail, and
            // it reports this error.
            let _ = failure.set(e);
            break;
        }
    }
}

fn hasher(mut cmds: mpsc::Receiver<HashCmd>) {
    let mut current: Option<Hasher> = None;
    while let Some(cmd) = cmds.blocking_recv() {
        match cmd {
            HashCmd::Open(a, prefix) => {
                let mut h = Hasher::new(a);
                if let Some((path, len)) = prefix {
                    // A prefix that cannot be read hashes short: the whole-file check then fails
                    // and the file is fetched whole next time.
                    if let Err(e) = hash_prefix(&mut h, &path, len) {
                        log::warn!("reading the kept start of {}: {e}", path.display());
                    }
                }
                current = Some(h);
            }
            HashCmd::Data(buf) => {
                if let Some(h) = current.as_mut() {
                    h.update(&buf.bytes);
                }
            }
            HashCmd::Finish(reply) => {
                let _ = reply.send(current.take().map(Hasher::finish_hex).unwrap_or_default());
            }
        }
    }
}

/// Feeds the first `len` bytes of the file at `path` to `h`.
fn hash_prefix(h: &mut Hasher, path: &std::path::Path, len: u64) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?.take(len);
    let mut buf = vec![0u8; BUFFER_SIZE];
    let mut done = 0;
    loop {
        match f.read(&mut buf)? {
            0 if done == len => return Ok(()),
            0 => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("{done} of {len} bytes there"))),
            n => {
                h.update(&buf[..n]);
                done += n as u64;
            }
        }
    }
}

/// Streams one file body to `path`: the socket is read here; the writer threads hash and write
/// (no second read of the file). `from`: see [`Sink::open`]; `len` is the body's length.
/// Returns without waiting for the checksum.
#[allow(clippy::too_many_arguments)]
pub(super) async fn receive_file<R: tokio::io::AsyncRead + Unpin>(
    rx: &mut super::reader::StreamReader<R>,
    sink: &mut Sink,
    file: (std::sync::Arc<std::fs::File>, PathBuf, Option<u64>),
    len: u64,
    algorithm: Algorithm,
    read_limit: &crate::throttle::RateLimiter,
    mut on_progress: impl FnMut(u64),
) -> Result<Finished> {
    sink.open(file.0, file.1, algorithm, file.2).await?;
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
