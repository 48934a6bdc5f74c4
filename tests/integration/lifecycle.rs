//! The sender's resources over time: admission slots and snapshot uses are taken and given back
//! on every path, snapshots are reused within the retention time, re-created after it, and
//! removed by the cleanup (on demand and periodically) only when nobody uses them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::sleep;
use std::time::Duration;

use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::request::encode_request;
use venice_blob_transfer::{Node, PartitionId, TableFormat};

use crate::common::*;

const BB: TableFormat = TableFormat::BlockBased;
/// ≈ 40 MB (records::VALUE_SIZE = 1000): far more than loopback socket buffers hold, so a client
/// that does not read stalls the sender mid-stream.
const BIG: u64 = 40_000;
const SMALL: u64 = 2_000;

/// A sender node serving a freshly generated partition `id` of `count` records.
fn serving(id: &PartitionId, count: u64, extra: &[(&str, &str)]) -> (TestDir, Node, SocketAddr) {
    let base = tempdir();
    gen_partition(base.path(), id, BB, count);
    let (node, addr) = sender(base.path(), BB, extra);
    (base, node, addr)
}

/// A raw client that sends the Java receiver's exact request and then reads nothing.
fn stalled_client(addr: SocketAddr, id: &PartitionId) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&encode_request(id, BB, 24, 7)).unwrap();
    s
}

/// Reads one response with a content-length: (head, body).
fn read_response(s: &mut TcpStream) -> (String, String) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = String::from_utf8(read_head(s)).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no response with a content-length, got head {head:?}"));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

/// Bootstraps `id` from `addr` into a new receiver base dir and checks every record arrived.
fn fetch(addr: SocketAddr, id: &PartitionId, count: u64) -> TestDir {
    let base = tempdir();
    let node = receiver(base.path(), BB, &[]);
    let out = node.bootstrap_blocking(request(id, &[addr.to_string()])).unwrap_or_else(|e| panic!("bootstrap of {id} from {addr}: {e}"));
    assert_eq!(records::verify(&out.partition_dir, BB).unwrap(), count);
    base
}

fn assert_settles(node: &Node, n: usize, when: &str) {
    let ok = eventually(Duration::from_secs(10), || node.active_transfers() == n && node.snapshot_users() == n);
    assert!(
        ok,
        "{when}: expected {n} active transfers and {n} snapshot users, found {} and {}",
        node.active_transfers(),
        node.snapshot_users()
    );
}

fn generation(node: &Node, id: &PartitionId) -> u64 {
    node.snapshot_info(id).unwrap_or_else(|| panic!("no snapshot of {id}")).generation
}

// Exactly N transfers run at once; the N+1th gets Venice's 429 and holds nothing; closing frees all.
#[test]
fn admits_exactly_the_limit_and_a_refusal_holds_nothing() {
    let id = PartitionId::new("admission", 1, 3).unwrap();
    let (_base, node, addr) = serving(&id, BIG, &[("blob.transfer.max.concurrent.snapshot.user", "2")]);
    let stalled: Vec<TcpStream> = (0..2).map(|_| stalled_client(addr, &id)).collect();
    assert_settles(&node, 2, "two stalled clients");

    let mut refused = stalled_client(addr, &id);
    let (head, body) = read_response(&mut refused);
    assert!(head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"), "{head}");
    assert_eq!(
        body,
        "The number of concurrent snapshot users exceeds the limit of 2, won't be able to process the request for admission_v1-3"
    );
    // The refused connection is still open: it must hold neither a slot nor a snapshot use.
    assert_eq!((node.active_transfers(), node.snapshot_users()), (2, 2), "the refused request took something");

    drop(stalled);
    assert_settles(&node, 0, "after the stalled clients closed");
    let _copy = fetch(addr, &id, BIG);
    assert_settles(&node, 0, "after a full transfer");
    drop(refused);
}

// A receiver that reads part of the stream and then drops the connection gives back its slot and use.
#[test]
fn broken_connection_releases_slot_and_snapshot_use() {
    let id = PartitionId::new("broken", 1, 0).unwrap();
    let (_base, node, addr) = serving(&id, BIG, &[]);
    let mut client = stalled_client(addr, &id);
    client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut part = vec![0u8; 1 << 20];
    client.read_exact(&mut part).unwrap();
    assert!(part.starts_with(b"HTTP/1.1 200 OK\r\n"), "{:?}", String::from_utf8_lossy(&part[..64]));
    assert_settles(&node, 1, "mid-stream");
    assert_eq!(node.snapshot_info(&id).unwrap().users, 1);

    drop(client);
    assert_settles(&node, 0, "after the connection broke");
    assert_eq!(node.snapshot_info(&id).unwrap().users, 0);
}

// Within the retention time every transfer of a partition is served from the same snapshot.
#[test]
fn snapshot_is_reused_within_retention() {
    let id = PartitionId::new("reuse", 2, 1).unwrap();
    let (base, node, addr) = serving(&id, SMALL, &[]);
    assert!(node.snapshot_info(&id).is_none(), "snapshots are created lazily, on request");
    let _a = fetch(addr, &id, SMALL);
    let first = generation(&node, &id);
    let _b = fetch(addr, &id, SMALL);
    assert_eq!(generation(&node, &id), first, "the second transfer re-created the snapshot");
    assert_settles(&node, 0, "after both transfers");
    assert_eq!(node.cleanup_snapshots().unwrap(), 0, "a fresh snapshot is not stale");
    assert!(Layout::new(base.path()).snapshot_dir(&id).join("CURRENT").is_file());
}

// Once the retention time has passed, an unused snapshot is re-created for the next transfer.
#[test]
fn snapshot_is_recreated_after_retention() {
    let id = PartitionId::new("recreate", 1, 0).unwrap();
    let (_base, node, addr) = serving(&id, SMALL, &[("vbt.snapshot.retention.ms", "300")]);
    let _a = fetch(addr, &id, SMALL);
    let first = generation(&node, &id);
    assert_settles(&node, 0, "after the first transfer");
    sleep(Duration::from_millis(400));
    let _b = fetch(addr, &id, SMALL);
    assert!(generation(&node, &id) > first, "a stale snapshot was served again");
}

// Cleanup removes a stale snapshot nobody uses (directory and tracking), and only that.
#[test]
fn cleanup_removes_stale_unused_snapshot() {
    let id = PartitionId::new("cleanup", 1, 0).unwrap();
    let (base, node, addr) = serving(&id, SMALL, &[("vbt.snapshot.retention.ms", "300")]);
    let _a = fetch(addr, &id, SMALL);
    let snap_dir = Layout::new(base.path()).snapshot_dir(&id);
    assert!(snap_dir.is_dir());
    let first = generation(&node, &id);
    assert_settles(&node, 0, "after the transfer");
    sleep(Duration::from_millis(400));

    assert_eq!(node.cleanup_snapshots().unwrap(), 1);
    assert!(!snap_dir.exists(), "{} is still there: {:?}", snap_dir.display(), entries(&snap_dir));
    assert!(node.snapshot_info(&id).is_none());
    assert!(Layout::new(base.path()).partition_dir(&id).join("CURRENT").is_file(), "the partition itself must stay");
    assert_eq!(node.cleanup_snapshots().unwrap(), 0, "nothing left to remove");
    // The next transfer creates a new snapshot.
    let _b = fetch(addr, &id, SMALL);
    assert!(generation(&node, &id) > first);
}

// A stale snapshot still in use is neither removed nor re-created; a new request gets Venice's 404.
#[test]
fn stale_snapshot_in_use_is_kept_and_new_requests_are_refused() {
    let id = PartitionId::new("inUse", 4, 2).unwrap();
    let (base, node, addr) = serving(&id, BIG, &[("vbt.snapshot.retention.ms", "300")]);
    let snap_dir = Layout::new(base.path()).snapshot_dir(&id);
    let stalled = stalled_client(addr, &id);
    assert_settles(&node, 1, "a stalled client");
    let first = generation(&node, &id);
    sleep(Duration::from_millis(400));

    assert_eq!(node.cleanup_snapshots().unwrap(), 0, "removed a snapshot in use");
    assert!(snap_dir.is_dir());
    assert_eq!(generation(&node, &id), first);

    let mut late = stalled_client(addr, &id);
    let (head, body) = read_response(&mut late);
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
    assert_eq!(
        body,
        "Snapshot for topic inUse_v4 partition 2 is still in use by others, can not recreate snapshot for new transfer request."
    );
    assert_settles(&node, 1, "after the 404 (it must give its slot back)");
    assert_eq!(generation(&node, &id), first);

    drop(stalled);
    assert_settles(&node, 0, "after the stalled client closed");
    assert_eq!(node.cleanup_snapshots().unwrap(), 1);
    assert!(!snap_dir.exists());
    drop(late);
}

// The periodic cleanup task removes a stale unused snapshot by itself.
#[test]
fn periodic_cleanup_removes_stale_snapshot() {
    let id = PartitionId::new("periodic", 1, 0).unwrap();
    let (base, node, addr) = serving(&id, SMALL, &[("vbt.snapshot.retention.ms", "200"), ("vbt.snapshot.cleanup.interval.ms", "100")]);
    let _a = fetch(addr, &id, SMALL); // served from <partition>/.snapshot_files, so it existed
    let snap_dir = Layout::new(base.path()).snapshot_dir(&id);
    let gone = eventually(Duration::from_secs(10), || !snap_dir.exists() && node.snapshot_info(&id).is_none());
    assert!(gone, "stale snapshot not removed by the periodic cleanup: {:?}", entries(&snap_dir));
    assert!(Layout::new(base.path()).partition_dir(&id).join("CURRENT").is_file(), "the partition itself must stay");
}
