//! Two nodes on loopback bootstrap real RocksDB partitions; the copies open in RocksDB 11 (ours)
//! and in an independent RocksDB 9 (what Venice's RocksJava 9.11 nodes run).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use venice_blob_transfer::tools::{local, open_read_only, records};
use venice_blob_transfer::{FixedSnapshot, Node, PartitionId, TableFormat};

use crate::common::*;

const RECORDS: u64 = 3000;

fn bootstrap_between_two_nodes(format: TableFormat) -> (TestDir, PartitionId) {
    let id = PartitionId::new("twoNodes", 3, 5).unwrap();
    let sender_base = tempdir();
    gen_partition(sender_base.path(), &id, format, RECORDS);
    let (sender_node, addr) = sender(sender_base.path(), format, &[]);
    let receiver_base = tempdir();
    let node = receiver(receiver_base.path(), format, &[]);
    let out = node.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    assert_eq!(out.peer, addr.to_string());
    assert!(out.files >= 4, "CURRENT, MANIFEST, OPTIONS and SSTs: {}", out.files);
    assert_eq!(out.partition_dir, Layout::new(receiver_base.path()).partition_dir(&id));
    // Every record, byte for byte, in the received copy.
    assert_eq!(records::verify(&out.partition_dir, format).unwrap(), RECORDS);
    // The metadata reached the host with the partition, and was recorded beside it.
    let sent = local::read_metadata(sender_base.path(), &id).unwrap();
    assert_eq!(out.metadata, sent);
    assert_eq!(local::read_metadata(receiver_base.path(), &id).unwrap(), sent);
    assert!(!Layout::new(receiver_base.path()).temp_dir(&id).exists());
    assert!(eventually(Duration::from_secs(5), || sender_node.active_transfers() == 0 && sender_node.snapshot_users() == 0));
    (receiver_base, id)
}

#[test]
fn block_based_partition_between_two_nodes() {
    bootstrap_between_two_nodes(TableFormat::BlockBased);
}

#[test]
fn plain_table_partition_between_two_nodes() {
    bootstrap_between_two_nodes(TableFormat::PlainTable);
}

#[test]
fn received_partition_is_served_again() {
    // A → B, then B serves C: the received partition and its metadata are a full partition.
    let (b_base, id) = bootstrap_between_two_nodes(TableFormat::BlockBased);
    let (_b, addr) = sender(b_base.path(), TableFormat::BlockBased, &[]);
    let c_base = tempdir();
    let c = receiver(c_base.path(), TableFormat::BlockBased, &[]);
    let out = c.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), RECORDS);
}

#[test]
fn host_provided_snapshot_source() {
    // The seam a JVM host uses: it owns RocksDB, makes the checkpoint, and hands over a directory.
    let id = PartitionId::new("hostOwned", 1, 2).unwrap();
    let host = tempdir();
    gen_partition(host.path(), &id, TableFormat::BlockBased, RECORDS);
    let ckpt = host.path().join("checkpoint");
    {
        let db = rocksdb::DB::open(
            &venice_blob_transfer::tools::db_options(TableFormat::BlockBased),
            Layout::new(host.path()).partition_dir(&id),
        )
        .unwrap();
        rocksdb::checkpoint::Checkpoint::new(&db).unwrap().create_checkpoint(&ckpt).unwrap();
    }
    let metadata = local::read_metadata(host.path(), &id).unwrap();
    let source = FixedSnapshot { id: id.clone(), dir: ckpt.clone(), metadata: metadata.clone() };
    let node = Node::builder(config(&[("davinci.p2p.blob.transfer.server.port", "0")])).snapshot_source(Arc::new(source)).build().unwrap();
    let addr = node.start_server().unwrap();
    let recv_base = tempdir();
    let out = receiver(recv_base.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    assert_eq!(out.metadata, metadata);
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), RECORDS);
    assert!(ckpt.join("CURRENT").exists(), "vbt never deletes the host's directory");
}

/// count and MD5 over (len, key, len, value) of the default column family, as the script does.
fn digest(dir: &Path, format: TableFormat) -> (u64, String) {
    let db = open_read_only(dir, format).unwrap();
    let mut h = Md5::new();
    let mut n = 0;
    for item in db.iterator(rocksdb::IteratorMode::Start) {
        let (k, v) = item.unwrap();
        h.update((k.len() as u64).to_be_bytes());
        h.update(&k);
        h.update((v.len() as u64).to_be_bytes());
        h.update(&v);
        n += 1;
    }
    (n, venice_blob_transfer::tools::hex(&h.finalize()))
}

fn opens_in_rocksdb9(format: TableFormat) {
    let (base, id) = bootstrap_between_two_nodes(format);
    let dir = Layout::new(base.path()).partition_dir(&id);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rocksdb9/open_partition.py");
    let out = Command::new(std::env::var("VBT_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(&script)
        .arg(&dir)
        .arg(format.as_str())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "RocksDB 9 could not open a vbt-written {format} partition (pip install -r tests/rocksdb9/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (count, md5) = digest(&dir, format);
    assert_eq!(got["count"].as_u64(), Some(count));
    assert_eq!(got["digest"].as_str(), Some(md5.as_str()));
    assert_eq!(count, RECORDS + 1, "records plus the gen manifest record");
}

#[test]
fn block_based_partition_opens_in_rocksdb_9() {
    opens_in_rocksdb9(TableFormat::BlockBased);
}

#[test]
fn plain_table_partition_opens_in_rocksdb_9() {
    opens_in_rocksdb9(TableFormat::PlainTable);
}
