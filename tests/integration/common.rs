//! Shared test helpers: nodes, generated partitions, the Venice vectors, and scripted peers.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub use venice_blob_transfer::tools::Layout;
use venice_blob_transfer::tools::{local, records};
use venice_blob_transfer::{BootstrapRequest, Config, FixedSnapshot, Node, PartitionId, PartitionMetadata, TableFormat};

/// A Venice wire vector, from the repository's own copy (`tests/vectors/venice-wire`).
pub fn vector(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/venice-wire").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("vector {}: {e}", path.display()))
}

pub fn my_store() -> PartitionId {
    PartitionId::new("myStore", 1, 0).unwrap()
}

/// The vectors' metadata: offsetRecord 18 18 01 02 03 04, storeVersionState 19 07 05 06 07 08.
pub fn vector_metadata(id: &PartitionId) -> PartitionMetadata {
    PartitionMetadata::new(id, vec![24, 24, 1, 2, 3, 4], vec![25, 7, 5, 6, 7, 8]).unwrap()
}

pub fn config(pairs: &[(&str, &str)]) -> Config {
    let mut all: Vec<(&str, &str)> = vec![("vbt.server.bind.address", "127.0.0.1"), ("vbt.runtime.worker.threads", "2")];
    all.extend_from_slice(pairs);
    Config::from_pairs(all).unwrap()
}

pub fn format_pair(format: TableFormat) -> (&'static str, &'static str) {
    ("rocksdb.plain.table.format.enabled", if format == TableFormat::PlainTable { "true" } else { "false" })
}

/// A node serving `base` on a free loopback port.
pub fn sender(base: &Path, format: TableFormat, extra: &[(&str, &str)]) -> (Node, SocketAddr) {
    let b = base.display().to_string();
    let mut pairs = vec![("vbt.base.dir", b.as_str()), ("davinci.p2p.blob.transfer.server.port", "0"), format_pair(format)];
    pairs.extend_from_slice(extra);
    let node = Node::new(config(&pairs)).unwrap();
    let addr = node.start_server().unwrap();
    (node, addr)
}

/// A node that installs into `base`.
pub fn receiver(base: &Path, format: TableFormat, extra: &[(&str, &str)]) -> Node {
    let b = base.display().to_string();
    let mut pairs = vec![("vbt.base.dir", b.as_str()), format_pair(format)];
    pairs.extend_from_slice(extra);
    Node::new(config(&pairs)).unwrap()
}

/// Writes a `vbt gen` partition (with metadata) of `records` records under `base`.
pub fn gen_partition(base: &Path, id: &PartitionId, format: TableFormat, count: u64) {
    std::fs::create_dir_all(Layout::new(base).version_dir(id)).unwrap();
    records::generate(&Layout::new(base).partition_dir(id), format, count, |_| {}).unwrap();
    let (o, s) = records::gen_metadata_blobs(count, 24, 7);
    local::write_metadata(base, id, &PartitionMetadata::new(id, o, s).unwrap()).unwrap();
}

pub fn request(id: &PartitionId, peers: &[String]) -> BootstrapRequest {
    let mut r = BootstrapRequest::new(id.clone(), peers.to_vec());
    r.preserve_order = true;
    r
}

/// Names of the entries of a directory, sorted (empty if it does not exist).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Each of `names` in `dir` has the bytes of the file of that name in `src`.
pub fn assert_files_as_in(src: &Path, dir: &Path, names: &[String]) {
    for f in names {
        assert!(std::fs::read(src.join(f)).unwrap() == std::fs::read(dir.join(f)).unwrap(), "{f} differs");
    }
}

/// `dst` holds exactly the files of `src`, byte for byte.
pub fn assert_same_files(src: &Path, dst: &Path) {
    assert_eq!(entries(src), entries(dst));
    assert_files_as_in(src, dst, &entries(src));
}

/// Polls `f` until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Reads one request head (up to the blank line) from a connection.
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    head
}

/// A scripted peer: for every connection, reads the request head, records it, writes `reply`,
/// then closes (or keeps the connection open until the client closes, if `linger`).
pub struct ScriptedPeer {
    pub addr: SocketAddr,
    pub requests: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    pub served: Arc<AtomicUsize>,
}

impl ScriptedPeer {
    pub fn start(reply: Vec<u8>, linger: bool) -> ScriptedPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let served = Arc::new(AtomicUsize::new(0));
        let (req2, served2) = (requests.clone(), served.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                let (reply, req2, served2) = (reply.clone(), req2.clone(), served2.clone());
                thread::spawn(move || {
                    let head = read_head(&mut s);
                    if head.is_empty() {
                        return; // a connectivity probe
                    }
                    req2.lock().unwrap().push(head);
                    let _ = s.write_all(&reply);
                    served2.fetch_add(1, Ordering::SeqCst);
                    if linger {
                        let mut sink = [0u8; 64];
                        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                    }
                });
            }
        });
        ScriptedPeer { addr, requests, served }
    }

    pub fn peer(&self) -> String {
        self.addr.to_string()
    }
}

/// A loopback port with nothing listening on it.
/// An address that refuses connections for the rest of the test process: a socket bound there
/// and never listening answers every connect with a reset, and holds the port so no other test
/// (nor an outgoing connection's source port) can take it meanwhile.
pub fn dead_port() -> String {
    static HELD: std::sync::Mutex<Vec<tokio::net::TcpSocket>> = std::sync::Mutex::new(Vec::new());
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let a = s.local_addr().unwrap();
    HELD.lock().unwrap().push(s);
    a.to_string()
}

/// A directory for one test, removed on drop with everything beside it: it lives inside a
/// temporary folder of its own, so the state directory a node keeps next to its base directory
/// (`<base>.vbt`, the default `vbt.state.dir`) goes too.
pub struct TestDir {
    _outer: tempfile::TempDir,
    path: PathBuf,
}

impl TestDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub fn tempdir() -> TestDir {
    let outer = tempfile::tempdir().unwrap();
    let path = outer.path().join("d");
    std::fs::create_dir(&path).unwrap();
    TestDir { _outer: outer, path }
}

pub fn path_of(d: &TestDir) -> PathBuf {
    d.path().to_path_buf()
}

/// Runs the `vbt` command to its end.
pub fn vbt(args: &[&str]) -> std::process::Output {
    vbt_env(args, &[])
}

/// Runs the `vbt` command with extra environment (e.g. `FAILPOINTS`, `VBT_KILL_AT`).
pub fn vbt_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vbt")).args(args).envs(env.iter().copied()).output().expect("vbt runs")
}

/// Starts `vbt serve ...` on a free loopback port and returns it with the address it printed.
pub fn serve(args: &[&str]) -> (KillOnDrop, String) {
    serve_with(std::process::Command::new(env!("CARGO_BIN_EXE_vbt")), args)
}

/// `serve`, from a prepared command (e.g. with a resource limit set before exec).
pub fn serve_with(mut cmd: std::process::Command, args: &[&str]) -> (KillOnDrop, String) {
    use std::io::BufRead;
    let mut child = cmd
        .arg("serve")
        .args(args)
        .args(["-D", "davinci.p2p.blob.transfer.server.port=0", "-D", "vbt.server.bind.address=127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    (KillOnDrop(child), v["listening"].as_str().unwrap().to_string())
}

/// A child process killed (if still running) and reaped on drop.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Every path under `dir`, relative, sorted: what a test asserts is (not) left behind.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// What is left in the state directory of `base` beyond what is meant to stay: the digest
/// ledgers of partitions that are installed (`<state>/digests/<store>_v<N>_<P>`).
pub fn state_leftovers(base: &Path) -> Vec<String> {
    let layout = Layout::new(base);
    let installed = |name: &str| {
        let topic = name.rsplit_once('_').map_or(name, |(t, _)| t);
        base.join(topic).join(name).is_dir()
    };
    tree(layout.state()).into_iter().filter(|p| p != "digests" && !p.strip_prefix("digests/").is_some_and(installed)).collect()
}

/// A snapshot that is `files` files of `size` pseudo-random bytes (seeded), like a partition of
/// many SSTs, without RocksDB: receivers take it with `vbt.receive.verify.rocksdb=false`.
pub fn files_snapshot(dir: &Path, files: usize, size: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for i in 0..files {
        let mut body = vec![0u8; size];
        rng.fill(&mut body);
        std::fs::write(dir.join(format!("{i:06}.sst")), body).unwrap();
    }
}

/// A vbt sender serving `dir` as partition `id` (the host's fixed snapshot); its address.
pub fn snapshot_sender(dir: &Path, id: &PartitionId, extra: &[(&str, &str)]) -> (Node, String) {
    let source = FixedSnapshot { id: id.clone(), dir: dir.to_path_buf(), metadata: vector_metadata(id) };
    let mut pairs = vec![("davinci.p2p.blob.transfer.server.port", "0")];
    pairs.extend_from_slice(extra);
    let node = Node::builder(config(&pairs)).snapshot_source(Arc::new(source)).build().unwrap();
    let addr = node.start_server().unwrap().to_string();
    (node, addr)
}
