//! What a Venice host plugs in (issue #20): vbt's state outside the base directory, the host's
//! metadata hook before the publishing rename, and checkpoints the host leases per transfer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use venice_blob_transfer::{
    CheckpointLeases, Config, ErrorKind, HostCheckpoint, Node, PartitionId, PartitionMetadata, Result, TableFormat,
};

use crate::common::*;

/// Only `<store>_v<N>/<store>_v<N>_<P>` folders (and vbt's metadata files when vbt owns the base)
/// may ever be inside a base directory.
fn only_partitions(base: &std::path::Path) -> Vec<String> {
    tree(base)
        .into_iter()
        .filter(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            match parts.as_slice() {
                [topic] => !topic.contains("_v"),
                [topic, name] => !(name.starts_with(&format!("{topic}_"))),
                _ => false, // files inside a partition
            }
        })
        .collect()
}

#[test]
fn the_metadata_hook_runs_before_the_publish_and_its_failure_publishes_nothing() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let id = PartitionId::new("hookStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 300);
    let (_sender, addr) = sender(a.path(), TableFormat::BlockBased, &[]);

    // The hook sees the partition's metadata while the partition is not yet published.
    let seen: Arc<Mutex<Vec<(PartitionId, bool, PartitionMetadata)>>> = Arc::default();
    let target = Layout::new(b.path()).partition_dir(&id);
    let hook = {
        let (seen, target) = (seen.clone(), target.clone());
        Arc::new(move |id: &PartitionId, m: &PartitionMetadata| -> Result<()> {
            seen.lock().unwrap().push((id.clone(), target.exists(), m.clone()));
            Ok(())
        })
    };
    let b_base = s(b.path());
    let node = Node::builder(config(&[("vbt.base.dir", &b_base)])).metadata_hook(hook).build().unwrap();
    let out = node.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, id);
    assert!(!seen[0].1, "the partition was published before the hook ran");
    assert_eq!(seen[0].2, out.metadata);
    assert!(target.join("CURRENT").is_file());
    assert!(only_partitions(b.path()).is_empty(), "{:?}", tree(b.path()));
    assert!(state_leftovers(b.path()).is_empty(), "state left: {:?}", tree(Layout::new(b.path()).state()));

    // A hook that fails: the attempt fails naming it, nothing is published or left.
    let failing = Arc::new(|_: &PartitionId, _: &PartitionMetadata| -> Result<()> {
        Err(venice_blob_transfer::Error::new(ErrorKind::Io, "metadata store is read-only"))
    });
    let c_base = s(c.path());
    let node = Node::builder(config(&[("vbt.base.dir", &c_base)])).metadata_hook(failing).build().unwrap();
    let e = node.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap_err();
    assert!(e.to_string().contains("metadata store is read-only") && e.to_string().contains("metadata hook"), "{e}");
    assert!(!Layout::new(c.path()).partition_dir(&id).exists(), "{:?}", tree(c.path()));
    assert!(only_partitions(c.path()).is_empty(), "{:?}", tree(c.path()));
}

/// A host that hands out one existing checkpoint per transfer and counts its users, as Venice's
/// BlobSnapshotManager does.
struct CountingLeases {
    dir: PathBuf,
    metadata: PartitionMetadata,
    acquired: AtomicUsize,
    released: Arc<AtomicUsize>,
    /// When set, acquire waits until it turns true (a host that is slow to hand out a checkpoint).
    gate: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl CheckpointLeases for CountingLeases {
    fn acquire(&self, id: &PartitionId) -> Result<HostCheckpoint> {
        if id.partition != 0 {
            return Err(venice_blob_transfer::Error::new(ErrorKind::NotFound, format!("no {}", id.replica())));
        }
        self.acquired.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            assert!(eventually(std::time::Duration::from_secs(30), || gate.load(Ordering::SeqCst)), "the test opens the gate");
        }
        let released = self.released.clone();
        Ok(HostCheckpoint {
            dir: self.dir.clone(),
            metadata: self.metadata.clone(),
            release: Box::new(move || {
                released.fetch_add(1, Ordering::SeqCst);
            }),
        })
    }
}

#[test]
fn leased_checkpoints_are_handed_back_when_each_send_ends() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let id = PartitionId::new("leaseStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 300);
    let metadata = venice_blob_transfer::tools::local::read_metadata(a.path(), &id).unwrap();
    let leases = Arc::new(CountingLeases {
        dir: Layout::new(a.path()).partition_dir(&id),
        metadata,
        acquired: AtomicUsize::new(0),
        released: Arc::default(),
        gate: None,
    });
    let node = Node::builder(config(&[("davinci.p2p.blob.transfer.server.port", "0")])).checkpoint_leases(leases.clone()).build().unwrap();
    let addr = node.start_server().unwrap().to_string();
    let rx = receiver(b.path(), TableFormat::BlockBased, &[]);
    rx.bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
    assert!(eventually(std::time::Duration::from_secs(10), || leases.released.load(Ordering::SeqCst) == 1));
    assert_eq!(leases.acquired.load(Ordering::SeqCst), 1);
    // A second transfer takes (and hands back) its own lease; an absent partition takes none.
    receiver(c.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
    let missing = PartitionId::new("leaseStore", 1, 3).unwrap();
    let e = rx.bootstrap_blocking(request(&missing, &[addr])).unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
    assert!(eventually(std::time::Duration::from_secs(10), || leases.released.load(Ordering::SeqCst) == 2));
    assert_eq!(leases.acquired.load(Ordering::SeqCst), 2);
}

#[test]
fn a_checkpoint_acquired_for_a_request_that_went_away_is_handed_back() {
    use std::io::Write;
    let a = tempdir();
    let id = PartitionId::new("leaseStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 50);
    let metadata = venice_blob_transfer::tools::local::read_metadata(a.path(), &id).unwrap();
    let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let leases = Arc::new(CountingLeases {
        dir: Layout::new(a.path()).partition_dir(&id),
        metadata,
        acquired: AtomicUsize::new(0),
        released: Arc::default(),
        gate: Some(gate.clone()),
    });
    let node = Node::builder(config(&[("davinci.p2p.blob.transfer.server.port", "0")])).checkpoint_leases(leases.clone()).build().unwrap();
    let addr = node.start_server().unwrap();
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    peer.write_all(&venice_blob_transfer::tools::request::encode_request(&id, TableFormat::BlockBased, 24, 7)).unwrap();
    assert!(eventually(std::time::Duration::from_secs(10), || leases.acquired.load(Ordering::SeqCst) == 1));
    // The server stops while the host is still acquiring: the request is gone, the lease is not.
    node.stop_server(std::time::Duration::ZERO);
    drop(peer);
    // Only now does the host hand the checkpoint out: nobody is there to send it.
    gate.store(true, Ordering::SeqCst);
    assert!(
        eventually(std::time::Duration::from_secs(10), || leases.released.load(Ordering::SeqCst) == 1),
        "a checkpoint nobody will send must still go back to the host"
    );
}

#[test]
fn the_state_dir_is_never_inside_the_base_dir() {
    let d = tempdir();
    let base = d.path().join("rocksdb");
    let b = s(&base);
    for inside in [format!("{b}/.vbt"), b.clone(), format!("{b}/x/..")] {
        let e = Config::from_pairs([("vbt.base.dir", b.as_str()), ("vbt.state.dir", inside.as_str())]).and_then(Node::new).err();
        let e = e.unwrap_or_else(|| panic!("vbt.state.dir={inside} was accepted"));
        assert!(e.to_string().contains("vbt.state.dir") && e.to_string().contains("inside the base directory"), "{e}");
    }
    let elsewhere = s(&d.path().join("state"));
    Node::new(Config::from_pairs([("vbt.base.dir", b.as_str()), ("vbt.state.dir", elsewhere.as_str())]).unwrap()).unwrap();
}

#[test]
fn files_sent_are_told_to_the_host_on_the_callback_thread() {
    let (a, b) = (tempdir(), tempdir());
    let id = PartitionId::new("sentStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 300);
    type Sent = Vec<(PartitionId, String, u64, Option<String>)>;
    let sent: Arc<Mutex<Sent>> = Arc::default();
    let listener = {
        let sent = sent.clone();
        Arc::new(move |id: &PartitionId, peer: &str, len: u64| {
            sent.lock().unwrap().push((id.clone(), peer.to_string(), len, std::thread::current().name().map(String::from)));
        })
    };
    let a_base = s(a.path());
    let node = Node::builder(config(&[("vbt.base.dir", &a_base), ("davinci.p2p.blob.transfer.server.port", "0")]))
        .file_sent_listener(listener)
        .build()
        .unwrap();
    let addr = node.start_server().unwrap().to_string();
    let out = receiver(b.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert!(eventually(std::time::Duration::from_secs(10), || sent.lock().unwrap().len() == out.files));
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.iter().map(|s| s.2).sum::<u64>(), out.bytes, "{sent:?}");
    assert!(sent.iter().all(|s| s.0 == id && s.1.starts_with("127.0.0.1:") && s.3.as_deref() == Some("vbt-callbacks")), "{sent:?}");
}
