//! The Node contract the bindings rely on: completions exactly once on the callback thread,
//! close with work in flight, close from inside a callback, discovery and host snapshot sources.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use venice_blob_transfer::tools::{local, records};
use venice_blob_transfer::HostSnapshotSource;
use venice_blob_transfer::{ErrorKind, Node, PartitionId, PeerDiscovery, Result, TableFormat};

use crate::common::*;

#[test]
fn completion_runs_once_on_the_callback_thread() {
    let id = my_store();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let (tx, rx) = mpsc::channel();
    let caller = std::thread::current().id();
    node.bootstrap_with_callback(request(&id, &[good.peer()]), move |_op, r| {
        let t = std::thread::current();
        tx.send((r.map(|o| o.files), t.name().map(String::from), t.id() != caller)).unwrap();
    })
    .unwrap();
    let (files, thread, other_thread) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(files.unwrap(), 2);
    assert_eq!(thread.as_deref(), Some("vbt-callbacks"));
    assert!(other_thread);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "exactly once");
}

#[test]
fn a_blocking_bootstrap_inside_a_completion_does_not_deadlock() {
    // The Rust API's results do not go through the callback thread, so a completion callback
    // may wait for another bootstrap of the same node.
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = Arc::new(receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]));
    let (tx, rx) = mpsc::channel();
    let (inner_node, peer) = (node.clone(), good.peer());
    node.bootstrap_with_callback(request(&my_store(), &[good.peer()]), move |_op, r| {
        r.unwrap();
        let other = PartitionId::new("myStore", 1, 1).unwrap();
        // The scripted peer serves partition 0's metadata: the bootstrap fails, but it returns.
        let inner = inner_node.bootstrap_blocking(request(&other, &[peer]));
        tx.send(inner.err().map(|e| e.kind())).unwrap();
    })
    .unwrap();
    let got = rx.recv_timeout(Duration::from_secs(20)).expect("the inner bootstrap returned");
    assert_eq!(got, Some(ErrorKind::AllPeersFailed));
}

#[test]
fn close_with_work_in_flight_delivers_every_completion() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = silent.local_addr().unwrap().to_string();
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[]);
    let (tx, rx) = mpsc::channel();
    for p in 0..3 {
        let tx = tx.clone();
        let id = PartitionId::new("inFlight", 1, p).unwrap();
        node.bootstrap_with_callback(request(&id, &[peer.clone()]), move |_op, r| tx.send(r.unwrap_err().kind()).unwrap()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    node.close();
    node.close(); // idempotent
    let kinds: Vec<ErrorKind> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    assert!(kinds.iter().all(|k| *k == ErrorKind::Cancelled), "{kinds:?}");
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "exactly once each");
    let err = node.bootstrap(request(&my_store(), &[peer])).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Shutdown);
    assert!(entries(base.path()).iter().all(|e| entries(&base.path().join(e)).is_empty()), "nothing left behind");
}

#[test]
fn node_can_be_dropped_from_inside_its_callback() {
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = Arc::new(Mutex::new(Some(receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]))));
    let (tx, rx) = mpsc::channel();
    let holder = node.clone();
    let guard = node.lock().unwrap();
    guard
        .as_ref()
        .unwrap()
        .bootstrap_with_callback(request(&my_store(), &[good.peer()]), move |_op, r| {
            let n = holder.lock().unwrap().take();
            drop(n); // closes the node on its own callback thread
            tx.send(r.is_ok()).unwrap();
        })
        .unwrap();
    drop(guard);
    assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    assert!(node.lock().unwrap().is_none());
}

struct StaticPeers(Vec<String>, Arc<Mutex<Vec<PartitionId>>>);
impl PeerDiscovery for StaticPeers {
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>> {
        self.1.lock().unwrap().push(id.clone());
        Ok(self.0.clone())
    }
}

#[test]
fn discovery_and_host_snapshot_source() {
    // Sender: the host makes the checkpoint in the directory vbt names.
    let id = PartitionId::new("hostStore", 4, 2).unwrap();
    let host = tempdir();
    gen_partition(host.path(), &id, TableFormat::BlockBased, 500);
    let host_base = host.path().to_path_buf();
    let id2 = id.clone();
    let source = HostSnapshotSource::new(
        host.path().join("snaps"),
        Box::new(move |asked: &PartitionId, dir: &std::path::Path| {
            assert_eq!(*asked, id2);
            let m = local::read_metadata(&host_base, asked)?;
            let db = rocksdb::DB::open_for_read_only(
                &venice_blob_transfer::tools::db_options(TableFormat::BlockBased),
                Layout::new(&host_base).partition_dir(asked),
                false,
            )?;
            rocksdb::checkpoint::Checkpoint::new(&db)?.create_checkpoint(dir)?;
            Ok((m.offset_record, m.store_version_state))
        }),
    );
    let sender =
        Node::builder(config(&[("davinci.p2p.blob.transfer.server.port", "0")])).snapshot_source(Arc::new(source)).build().unwrap();
    let addr = sender.start_server().unwrap();
    // Receiver: no peers in the request, so discovery is asked.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let base = tempdir();
    let b = base.path().display().to_string();
    let node = Node::builder(config(&[("vbt.base.dir", &b)]))
        .peer_discovery(Arc::new(StaticPeers(vec![addr.to_string()], asked.clone())))
        .build()
        .unwrap();
    let out = node.bootstrap_blocking(request(&id, &[])).unwrap();
    assert_eq!(*asked.lock().unwrap(), vec![id.clone()]);
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 500);
}

#[test]
fn refused_bootstrap_never_calls_back() {
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[]);
    let (tx, rx) = mpsc::channel::<()>();
    let err = node.bootstrap_with_callback(request(&my_store(), &["no-port-here".to_string()]), move |_, _| tx.send(()).unwrap());
    assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "a refused call must not complete later");
}
