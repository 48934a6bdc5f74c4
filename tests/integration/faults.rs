//! A broken or hostile peer: every failure names its cause, leaves nothing behind, and the next
//! peer is tried.

use std::time::{Duration, Instant};

use venice_blob_transfer::tools::response::{complete_response, error_response, file_head, metadata_response};
use venice_blob_transfer::{ErrorKind, TableFormat};

use crate::common::*;

const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592";

fn file(name: &str, body: &[u8], md5: &str) -> Vec<u8> {
    let mut v = file_head(name, body.len() as u64, md5);
    v.extend_from_slice(body);
    v
}

fn good_metadata() -> Vec<u8> {
    metadata_response(&vector_metadata(&my_store()).to_json())
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Runs `stream` from a lone peer (must fail naming `cause`, leaving nothing), then from a peer
/// followed by a good one (must install from the good one, reporting the first failure).
fn assert_fails_cleanly(label: &str, stream: Vec<u8>, cause: &str) {
    let id = my_store();
    let no_verify = [("vbt.receive.verify.rocksdb", "false")];

    let bad = ScriptedPeer::start(stream.clone(), false);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &no_verify);
    let err = node.bootstrap_blocking(request(&id, &[bad.peer()])).expect_err(label);
    assert_eq!(err.kind(), ErrorKind::AllPeersFailed, "{label}: {err}");
    assert!(err.message().contains(cause), "{label}: {err:?} should name {cause:?}");
    assert!(err.message().contains(&bad.peer()), "{label}: names the peer: {err}");
    assert!(!Layout::new(base.path()).temp_dir(&id).exists(), "{label}: temp dir left");
    assert!(!Layout::new(base.path()).partition_dir(&id).exists(), "{label}: partition dir left");
    assert!(
        entries(&Layout::new(base.path()).version_dir(&id)).is_empty(),
        "{label}: files left: {:?}",
        entries(&Layout::new(base.path()).version_dir(&id))
    );

    let bad = ScriptedPeer::start(stream, false);
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &no_verify);
    let out = node.bootstrap_blocking(request(&id, &[bad.peer(), good.peer()])).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(out.peer, good.peer());
    assert_eq!(out.failed_peers.len(), 1, "{label}");
    assert!(out.failed_peers[0].error.message().contains(cause), "{label}: {:?}", out.failed_peers[0]);
    assert_eq!(entries(&Layout::new(base.path()).partition_dir(&id)), ["file1", "file2"]);
    assert_eq!(bad.served.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn wrong_md5() {
    let s = cat(&[&file("file1", b"hello", "00000000000000000000000000000000"), &good_metadata(), &complete_response()]);
    assert_fails_cleanly("wrong md5", s, "checksum mismatch");
}

#[test]
fn wrong_size() {
    // Announces 3 bytes with the MD5 of all 5: the 3 bytes do not hash to it.
    let mut s = file_head("file1", 3, HELLO_MD5);
    s.extend_from_slice(b"hello");
    s.extend_from_slice(&cat(&[&good_metadata(), &complete_response()]));
    assert_fails_cleanly("short size", s, "checksum mismatch");
    // Announces 3 with their MD5: the 2 extra bytes then break the next head.
    let mut s = file_head("file1", 3, "46356afe55fa3cea9cbe73ad442cad47");
    s.extend_from_slice(b"hello");
    s.extend_from_slice(&good_metadata());
    assert_fails_cleanly("long body", s, "malformed response head");
}

#[test]
fn truncated_body_and_cut_mid_file() {
    let mut s = file_head("file1", 5, HELLO_MD5);
    s.extend_from_slice(b"he");
    assert_fails_cleanly("truncated", s, "after 2 of 5 bytes");
    // A whole first file, then the connection dies inside the second: both are removed.
    let mut s = file("file1", b"hello", HELLO_MD5);
    s.extend_from_slice(&file_head("file2", 5, "7d793037a0760186574b0282f2f435e7"));
    s.extend_from_slice(b"wor");
    assert_fails_cleanly("cut mid-file", s, "closed the connection in the middle of a body");
}

#[test]
fn chunked_body() {
    let s = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-disposition: attachment; filename=\"file1\"\r\n\
content-md5: 5d41402abc4b2a76b9719d911017c592\r\nX-Blob-Transfer-Type: FILE\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        .to_vec();
    assert_fails_cleanly("chunked", s, "transfer-encoding");
}

#[test]
fn refusal_heads() {
    let busy = "The number of concurrent snapshot users exceeds the limit of 30, won't be able to process the request for myStore_v1-0";
    assert_fails_cleanly("429", error_response(429, busy), "429 Too Many Requests: The number of concurrent");
    assert_fails_cleanly("500", error_response(500, "boom"), "500 Internal Server Error: boom");
    // A refusal after some files: the files already written are removed too.
    let s = cat(&[&file("file1", b"hello", HELLO_MD5), &error_response(408, "Timeout for transferring blob")]);
    assert_fails_cleanly("408 mid-stream", s, "408");
}

#[test]
fn missing_or_bad_metadata() {
    let s = cat(&[&file("file1", b"hello", HELLO_MD5), &complete_response()]);
    assert_fails_cleanly("no metadata", s, "without a METADATA");
    let bad = br#"{"topicName":"myStore_v1","partitionId":0,"offsetRecord":"GRgBAgME","storeVersionState":"GQcFBgcI"}"#;
    let s = cat(&[&file("file1", b"hello", HELLO_MD5), &metadata_response(bad), &complete_response()]);
    assert_fails_cleanly("bad framing", s, "magic byte 25, expected 24");
    let s = cat(&[&file("file1", b"hello", HELLO_MD5), &metadata_response(b"{oops"), &complete_response()]);
    assert_fails_cleanly("bad json", s, "not valid JSON");
    assert_fails_cleanly("complete first", cat(&[&good_metadata(), &complete_response()]), "without any file");
}

#[test]
fn hostile_file_names() {
    for name in ["../x", "/etc/x", "a/b", ".."] {
        let s = cat(&[&file(name, b"hello", HELLO_MD5), &good_metadata(), &complete_response()]);
        assert_fails_cleanly(name, s, "unsafe file name");
    }
    assert!(!std::path::Path::new("/etc/x").exists());
}

#[test]
fn not_found_and_schema_mismatch_move_on() {
    let nf = error_response(
        404,
        "Table format mismatch for myStore_v1-0, current snapshot format is PLAIN_TABLE, requested format is BLOCK_BASED_TABLE",
    );
    assert_fails_cleanly("404", nf, "404 Not Found: Table format mismatch");
    assert_fails_cleanly("412", error_response(412, "Blob transfer schema version mismatch"), "412 Precondition Failed");
}

#[test]
fn connection_refused_moves_on() {
    let id = my_store();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let dead = dead_port();
    let out = node.bootstrap_blocking(request(&id, &[dead.clone(), good.peer()])).unwrap();
    assert_eq!(out.failed_peers.len(), 1);
    assert_eq!(out.failed_peers[0].peer, dead);
    let err = node.bootstrap_blocking(request(&PartitionIdExt::other(), &[dead.clone()])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllPeersFailed);
    assert!(err.message().contains(&dead), "{err}");
}

struct PartitionIdExt;
impl PartitionIdExt {
    fn other() -> venice_blob_transfer::PartitionId {
        venice_blob_transfer::PartitionId::new("myStore", 1, 7).unwrap()
    }
}

#[test]
fn silent_peer_hits_reader_idle_then_next_peer() {
    let id = my_store();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node =
        receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false"), ("vbt.receive.reader.idle.ms", "300")]);
    let started = Instant::now();
    let out = node.bootstrap_blocking(request(&id, &[silent_addr, good.peer()])).unwrap();
    assert!(out.failed_peers[0].error.message().contains("reader idle"), "{:?}", out.failed_peers);
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}

#[test]
fn second_bootstrap_of_same_partition_is_refused_and_cancel_ends_the_first() {
    let id = my_store();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.reader.idle.ms", "30000")]);
    let peer = silent.local_addr().unwrap().to_string();
    let first = node.bootstrap(request(&id, &[peer.clone()])).unwrap();
    let second = node.bootstrap(request(&id, &[peer])).err().expect("refused");
    assert_eq!(second.kind(), ErrorKind::AlreadyInProgress);
    assert!(second.message().contains("myStore_v1-0"), "{second}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(node.cancel(first.id()));
    let err = first.wait().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(!Layout::new(base.path()).temp_dir(&id).exists());
}

#[test]
fn existing_partition_data_is_never_replaced() {
    let id = my_store();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let dir = Layout::new(base.path()).partition_dir(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("precious"), b"data").unwrap();
    // Installed: the partition and its metadata (a directory without metadata was never
    // installed; start-up removes it, see crash.rs).
    venice_blob_transfer::tools::local::write_metadata(base.path(), &id, &vector_metadata(&id)).unwrap();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let err = node.bootstrap_blocking(request(&id, &[good.peer()])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PartitionExists, "{err}");
    assert_eq!(entries(&dir), ["precious"]);
    assert_eq!(good.served.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn received_files_that_are_not_a_database_are_not_installed() {
    // Verification on (the default): two plain files are no RocksDB partition.
    let id = my_store();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[]);
    let err = node.bootstrap_blocking(request(&id, &[good.peer()])).unwrap_err();
    assert!(err.message().contains("RocksDB check"), "{err}");
    assert!(!Layout::new(base.path()).partition_dir(&id).exists());
    assert!(!Layout::new(base.path()).temp_dir(&id).exists());
}
