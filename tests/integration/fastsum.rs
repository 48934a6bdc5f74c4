//! The fast-checksum extension: used only when both ends are vbt and the receiver asked.

use std::io::{Read, Write};
use std::time::Duration;

use venice_blob_transfer::tools::checksum::HEADER_ASK;
use venice_blob_transfer::tools::ext::Asks;
use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::request::{encode_request, encode_request_with};
use venice_blob_transfer::tools::response::{complete_response, file_head_fast, metadata_response};
use venice_blob_transfer::{PartitionId, TableFormat};

use crate::common::*;

/// One whole response to `request`: read up to its COMPLETE message (the sender keeps the
/// connection open after it), or the end of the connection. Not "until 500 ms of silence": the
/// first request makes the snapshot and hashes it before a byte is sent, which on a loaded
/// machine takes longer than that (and a pause mid-stream would cut the response short).
fn raw_stream(addr: &str, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let complete = complete_response();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !got.ends_with(&complete) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the response: {e}; got {:?}", String::from_utf8_lossy(&got[..got.len().min(300)])),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The start of a response, for messages.
fn head(r: &str) -> &str {
    &r[..r.char_indices().nth(300).map_or(r.len(), |(i, _)| i)]
}

#[test]
fn vbt_to_vbt_uses_xxh3_and_java_receivers_never_see_it() {
    let a = tempdir();
    let id = PartitionId::new("fast", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 2000);
    let (_s, addr) = sender(a.path(), TableFormat::BlockBased, &[]);
    let addr = addr.to_string();
    // A Java receiver's request: MD5 only.
    let java = raw_stream(&addr, &encode_request(&id, TableFormat::BlockBased, 24, 7));
    assert!(java.contains("content-md5: ") && !java.contains("x-vbt-checksum"), "{}", head(&java));
    // A vbt receiver that asks: XXH3-128 only, no MD5 computed for it.
    let vbt =
        raw_stream(&addr, &encode_request_with(&id, TableFormat::BlockBased, 24, 7, &Asks { fast_checksum: true, ..Default::default() }));
    assert!(vbt.contains("x-vbt-checksum: xxh3-128 ") && !vbt.contains("content-md5"), "{}", head(&vbt));
    assert!(vbt.ends_with("X-Blob-Transfer-Status: Completed\r\n\r\n"), "{}", head(&vbt));
    // And a whole bootstrap with it verifies every record.
    let b = tempdir();
    let node = receiver(b.path(), TableFormat::BlockBased, &[("vbt.checksum.fast", "true")]);
    let out = node.bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 2000);
}

#[test]
fn asking_receiver_still_takes_md5_from_a_java_sender() {
    let peer = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.checksum.fast", "true"), ("vbt.receive.verify.rocksdb", "false")]);
    node.bootstrap_blocking(request(&my_store(), &[peer.peer()])).unwrap();
    // Its request is the Java one plus X-Vbt-* lines, among them the fast-checksum ask.
    let sent = String::from_utf8(peer.requests.lock().unwrap()[0].clone()).unwrap();
    let java = String::from_utf8(vector("java-receiver.request.bin")).unwrap();
    assert!(sent.contains(&format!("{HEADER_ASK}: xxh3-128\r\n")), "{sent}");
    let stripped: String = sent.split_inclusive("\r\n").filter(|l| !l.starts_with("X-Vbt-")).collect();
    assert_eq!(stripped, java);
}

#[test]
fn wrong_xxh3_is_a_checksum_mismatch() {
    let mut s = file_head_fast("file1", 5, "0123456789abcdef0123456789abcdef");
    s.extend_from_slice(b"hello");
    s.extend_from_slice(&metadata_response(&vector_metadata(&my_store()).to_json()));
    s.extend_from_slice(&complete_response());
    let peer = ScriptedPeer::start(s, true);
    let base = tempdir();
    let node = receiver(base.path(), TableFormat::BlockBased, &[("vbt.checksum.fast", "true"), ("vbt.receive.verify.rocksdb", "false")]);
    let err = node.bootstrap_blocking(request(&my_store(), &[peer.peer()])).unwrap_err();
    assert!(err.message().contains("checksum mismatch") && err.message().contains("XXH3-128"), "{err}");
    assert!(!Layout::new(base.path()).temp_dir(&my_store()).exists());
}

/// Java-compatible mode between vbt nodes, many partitions and streams at once: every MD5 stream
/// of the receiver goes through its one lane hasher, and every digest comes back (none lost when
/// a connection closes right after its last file), with the lanes and with a thread per stream.
#[test]
fn many_md5_streams_at_once_all_verify() {
    let a = tempdir();
    let ids: Vec<PartitionId> = (0..6).map(|p| PartitionId::new("lanes", 1, p).unwrap()).collect();
    for id in &ids {
        gen_partition(a.path(), id, TableFormat::BlockBased, 20_000);
    }
    let (_s, addr) = sender(a.path(), TableFormat::BlockBased, &[]);
    for lanes in ["true", "false"] {
        let b = tempdir();
        let node = receiver(b.path(), TableFormat::BlockBased, &[("vbt.checksum.fast", "false"), ("vbt.receive.md5.lanes", lanes)]);
        let ops: Vec<_> = ids.iter().map(|id| node.bootstrap(request(id, &[addr.to_string()])).unwrap()).collect();
        for op in ops {
            let out = op.wait().unwrap();
            assert_eq!(out.checksum, "MD5");
            assert!(out.failed_peers.is_empty(), "lanes={lanes}: {:?}", out.failed_peers);
            assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 20_000);
        }
    }
}
