//! MD5 of every stream a node receives, on one thread, in SIMD lanes. A node receives up to
//! `blob.transfer.max.concurrent.blob.receive.replicas` partitions at once (from Java peers always
//! in MD5), and one MD5 stream is bound to one core; but independent streams can share the lanes
//! of one core ([`super::lanes`]). So every receiving connection hands its MD5 buffers here instead
//! of to a hasher thread of its own:
//!
//! ```text
//! connection A: Open Data Data Finish Open Data …  ┐
//! connection B: Open Data Finish …                 ├─► one thread: per round, the front buffer
//! connection C: …                                  ┘   of up to 16 streams → update_many
//! ```
//! Each stream's commands are applied in order; a round takes the streams whose next command is
//! data. Alone, a stream hashes about as fast as on a thread of its own. Where the CPU lacks AVX2
//! there is no lane hasher and each connection keeps its own hasher thread (`client::sink`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::hex;
use super::lanes::{Md5Lanes, MultiBuffer, MAX_LANES};

/// Bytes a stream hands over; dropped (returned to its pool) once hashed.
pub(crate) type Piece = Arc<dyn AsRef<[u8]> + Send + Sync>;

enum Cmd {
    Open(u64),
    Data(u64, Piece),
    Finish(u64, oneshot::Sender<String>),
    Close(u64),
}

/// The node's lane hasher; its thread starts with the first stream and ends with the node.
pub(crate) struct LaneHasher {
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    next_id: AtomicU64,
}

impl LaneHasher {
    /// `None` where the CPU has no multi-buffer MD5 worth using.
    pub fn detect() -> Option<Arc<LaneHasher>> {
        MultiBuffer::detect()?;
        Some(Arc::new(LaneHasher { tx: Mutex::new(None), next_id: AtomicU64::new(1) }))
    }

    fn sender(&self) -> mpsc::Sender<Cmd> {
        let mut tx = self.tx.lock().unwrap();
        tx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            let engine = MultiBuffer::detect().expect("checked in detect()");
            std::thread::Builder::new().name("vbt-md5-lanes".into()).spawn(move || run(rx, engine)).expect("spawn the MD5 lane thread");
            tx
        })
        .clone()
    }

    /// A stream of files to hash, one after another.
    pub fn stream(&self) -> LaneStream {
        LaneStream { id: self.next_id.fetch_add(1, Ordering::Relaxed), tx: self.sender() }
    }
}

/// One connection's files in the lane hasher. Sends never block: the connection's buffer pool
/// bounds what is queued.
pub(crate) struct LaneStream {
    id: u64,
    tx: mpsc::Sender<Cmd>,
}

impl LaneStream {
    pub fn open(&self) {
        let _ = self.tx.send(Cmd::Open(self.id));
    }
    pub fn data(&self, piece: Piece) {
        let _ = self.tx.send(Cmd::Data(self.id, piece));
    }
    /// The current file's MD5 in hex, once every piece before it is hashed.
    pub fn finish(&self) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Finish(self.id, tx));
        rx
    }
}

impl Drop for LaneStream {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Close(self.id));
    }
}

enum Op {
    Open,
    Data(Piece),
    Finish(oneshot::Sender<String>),
    /// The connection is gone; its files before this still finish.
    Close,
}

struct Stream<S> {
    state: S,
    ops: VecDeque<Op>,
}

fn run<E: Md5Lanes>(rx: mpsc::Receiver<Cmd>, engine: E) {
    let mut streams: HashMap<u64, Stream<E::State>> = HashMap::new();
    let mut last_served = 0u64;
    let take = |streams: &mut HashMap<u64, Stream<E::State>>, cmd: Cmd, engine: &E| match cmd {
        Cmd::Open(id) => {
            streams.entry(id).or_insert_with(|| Stream { state: engine.start(), ops: VecDeque::new() }).ops.push_back(Op::Open)
        }
        Cmd::Data(id, p) => {
            if let Some(s) = streams.get_mut(&id) {
                s.ops.push_back(Op::Data(p));
            }
        }
        Cmd::Finish(id, tx) => {
            if let Some(s) = streams.get_mut(&id) {
                s.ops.push_back(Op::Finish(tx));
            }
        }
        Cmd::Close(id) => {
            if let Some(s) = streams.get_mut(&id) {
                s.ops.push_back(Op::Close);
            }
        }
    };
    loop {
        // Apply what needs no hashing; see which streams have data next.
        let mut ready: Vec<u64> = Vec::new();
        let mut closed: Vec<u64> = Vec::new();
        for (id, s) in streams.iter_mut() {
            loop {
                match s.ops.front() {
                    Some(Op::Open) => {
                        s.ops.pop_front();
                        s.state = engine.start();
                    }
                    Some(Op::Finish(_)) => {
                        let Some(Op::Finish(tx)) = s.ops.pop_front() else { unreachable!() };
                        let _ = tx.send(hex(&engine.finish(&s.state)));
                    }
                    Some(Op::Data(_)) => {
                        ready.push(*id);
                        break;
                    }
                    Some(Op::Close) => {
                        closed.push(*id);
                        break;
                    }
                    None => break,
                }
            }
        }
        for id in closed {
            streams.remove(&id);
        }
        if ready.is_empty() {
            // Idle: wait for work (the channel closes when the node and its streams are gone).
            match rx.recv() {
                Ok(cmd) => take(&mut streams, cmd, &engine),
                Err(_) => return,
            }
        }
        while let Ok(cmd) = rx.try_recv() {
            take(&mut streams, cmd, &engine);
        }
        // More streams than lanes (20 partitions × 2 streams): take them round-robin, from the
        // one after the last served, so a busy low-numbered stream cannot starve the others.
        ready.sort_unstable();
        let after = ready.partition_point(|&id| id <= last_served);
        ready.rotate_left(after);
        ready.truncate(MAX_LANES);
        if let Some(&id) = ready.last() {
            last_served = id;
        }
        ready.retain(|id| streams.get(id).is_some_and(|s| matches!(s.ops.front(), Some(Op::Data(_)))));
        if ready.is_empty() {
            continue;
        }
        let mut states: Vec<E::State> = Vec::with_capacity(ready.len());
        let mut pieces: Vec<Piece> = Vec::with_capacity(ready.len());
        for id in &ready {
            let s = streams.get_mut(id).expect("ready streams exist");
            let Some(Op::Data(p)) = s.ops.pop_front() else { unreachable!() };
            states.push(std::mem::replace(&mut s.state, engine.start()));
            pieces.push(p);
        }
        {
            let inputs: Vec<&[u8]> = pieces.iter().map(|p| (**p).as_ref()).collect();
            engine.update(&mut states, &inputs);
        }
        for (id, state) in ready.iter().zip(states) {
            if let Some(s) = streams.get_mut(id) {
                s.state = state;
            }
        }
        drop(pieces); // back to their pools
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;

    struct Bytes(Vec<u8>);
    impl AsRef<[u8]> for Bytes {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    /// Many streams, each several files cut into uneven pieces, interleaved: every digest is
    /// md-5's of the same bytes.
    #[test]
    fn interleaved_streams_match_md5() {
        let Some(h) = LaneHasher::detect() else { return };
        let mut rng = fastrand::Rng::with_seed(11);
        let streams: Vec<LaneStream> = (0..20).map(|_| h.stream()).collect();
        let mut expected = Vec::new();
        let mut pending = Vec::new();
        for round in 0..3 {
            for (i, s) in streams.iter().enumerate() {
                s.open();
                let len = [0, 1, 55, 56, 63, 64, 65, 4096, 1 << 20, rng.usize(0..3 << 20)][(i + round) % 10];
                let mut body = vec![0u8; len];
                rng.fill(&mut body);
                let mut at = 0;
                while at < len {
                    let n = rng.usize(1..=(len - at).min(300_000));
                    s.data(Arc::new(Bytes(body[at..at + n].to_vec())));
                    at += n;
                }
                expected.push(hex(&md5::Md5::digest(&body)));
                pending.push(s.finish());
            }
        }
        // A connection that goes away right after its last file still gets that file's digest.
        drop(streams);
        let got: Vec<String> = pending.into_iter().map(|rx| rx.blocking_recv().unwrap()).collect();
        assert_eq!(got, expected);
    }
}
