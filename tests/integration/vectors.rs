//! Wire compatibility against the bytes Venice's Java code exchanged (tests/vectors/venice-wire).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use venice_blob_transfer::tools::decoder::{parse_response_head, ResponseHead};
use venice_blob_transfer::{FixedSnapshot, Node, TableFormat};

use crate::common::*;

/// One response of a stream: its bytes, and the file name if it is a FILE.
struct Message {
    bytes: Vec<u8>,
    file: Option<(String, Vec<u8>)>,
}

/// Splits a response stream into messages (the last may be a refusal with its body).
fn split(mut stream: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while !stream.is_empty() {
        let (head, used) = parse_response_head(stream).unwrap().expect("a whole head");
        let body_len = match &head {
            ResponseHead::File { len, .. } | ResponseHead::Metadata { len } | ResponseHead::Manifest { len, .. } => *len as usize,
            ResponseHead::Complete => 0,
            ResponseHead::Refused { body_len, .. } => body_len.unwrap_or(0) as usize,
        };
        let end = used + body_len;
        let file = match head {
            ResponseHead::File { name, .. } => Some((name, stream[used..end].to_vec())),
            _ => None,
        };
        out.push(Message { bytes: stream[..end].to_vec(), file });
        stream = &stream[end..];
    }
    out
}

/// The stream with its FILE messages in name order (Java sends them in listing order).
pub(crate) fn files_sorted(stream: &[u8]) -> Vec<u8> {
    let mut msgs = split(stream);
    let n = msgs.iter().take_while(|m| m.file.is_some()).count();
    msgs[..n].sort_by(|a, b| a.file.as_ref().unwrap().0.cmp(&b.file.as_ref().unwrap().0));
    msgs.into_iter().flat_map(|m| m.bytes).collect()
}

/// A sender serving the vectors' two-file snapshot (file1 = hello, file2 = world).
fn two_file_sender(dir: &Path) -> (Node, SocketAddr) {
    std::fs::write(dir.join("file1"), b"hello").unwrap();
    std::fs::write(dir.join("file2"), b"world").unwrap();
    let id = my_store();
    let source = FixedSnapshot { id: id.clone(), dir: dir.to_path_buf(), metadata: vector_metadata(&id) };
    let node = Node::builder(config(&[("davinci.p2p.blob.transfer.server.port", "0")])).snapshot_source(Arc::new(source)).build().unwrap();
    let addr = node.start_server().unwrap();
    (node, addr)
}

/// Sends `request` and reads the answer: `len` bytes of it (or, if `None`, all until the sender
/// closes), then whether the sender closes within 700 ms (it keeps the connection open after
/// COMPLETE, as Venice does). Returns the bytes and whether it closed. The answer itself is
/// waited for up to 30 s: a sender slowed down by a loaded machine is not a sender gone quiet.
fn exchange(addr: SocketAddr, request: &[u8], len: Option<usize>) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if len.is_some_and(|n| got.len() >= n) {
            s.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
        }
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => return (got, false),
            Err(_) => return (got, true),
        }
    }
}

#[test]
fn sender_produces_java_bytes_for_two_files() {
    let dir = tempdir();
    let (_node, addr) = two_file_sender(dir.path());
    let want = files_sorted(&vector("java-sender-2files.response.bin"));
    let (got, closed) = exchange(addr, &vector("java-receiver.request.bin"), Some(want.len()));
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
    assert!(!closed, "a Venice sender keeps the connection open after COMPLETE");
}

#[test]
fn sender_answers_each_request_case_like_java() {
    let dir = tempdir();
    let (_node, addr) = two_file_sender(dir.path());
    let cases = [
        "err-400-bad-format",
        "err-400-extra-segment",
        "err-400-nonnumeric-version",
        "err-404-format-mismatch",
        "err-405-post",
        "err-412-schema-mismatch",
        "err-500-short-path",
        "ok-no-schema-headers",
        "ok-unparseable-schema-headers",
    ];
    for case in cases {
        let want = vector(&format!("case-{case}.response.bin"));
        let want = if case.starts_with("ok-") { files_sorted(&want) } else { want };
        // Java's 500 body is not ours: read until the sender closes.
        let len = (case != "err-500-short-path").then_some(want.len());
        let (got, closed) = exchange(addr, &vector(&format!("requests/{case}.bin")), len);
        if case.starts_with("ok-") {
            assert_eq!(got, want, "{case}");
            continue;
        }
        if case == "err-500-short-path" {
            // Java's body is an exception text; ours names the problem. Same status and headers.
            let text = String::from_utf8_lossy(&got).into_owned();
            assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: "), "{text}");
            assert!(text.contains("/test"), "{text}");
            assert!(closed, "Venice closes the connection after a 500");
            continue;
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{case}");
        assert!(!closed, "{case}: Venice keeps the connection open after this refusal");
    }
}

/// A receiver fed a successful Java stream installs exactly the files in it: in the default
/// configuration (it asks for the vbt extensions, which a Java sender ignores), with
/// `vbt.checksum.fast=false` (no fast-checksum ask) and with `vbt.extensions.enabled=false` (then
/// its request is the Java receiver's, byte for byte).
fn receive_vector(stream: &str, verify: bool) {
    for mode in ["default", "md5", "java"] {
        let peer = ScriptedPeer::start(vector(stream), true);
        let base = tempdir();
        let verify_s = verify.to_string();
        let mut extra = vec![("vbt.receive.verify.rocksdb", verify_s.as_str())];
        match mode {
            "md5" => extra.push(("vbt.checksum.fast", "false")),
            "java" => extra.push(("vbt.extensions.enabled", "false")),
            _ => {}
        }
        let node = receiver(base.path(), TableFormat::BlockBased, &extra);
        let id = my_store();
        let out = node.bootstrap_blocking(request(&id, &[peer.peer()])).unwrap_or_else(|e| panic!("{stream} {mode}: {e}"));
        let files: Vec<(String, Vec<u8>)> = split(&vector(stream)).into_iter().filter_map(|m| m.file).collect();
        let dir = Layout::new(base.path()).partition_dir(&id);
        let mut names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
        names.sort();
        assert_eq!(entries(&dir), names, "{stream}");
        for (name, body) in &files {
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), body, "{stream}: {name}");
        }
        assert_eq!(out.files, files.len());
        assert_eq!(out.metadata, vector_metadata(&id));
        assert!(!Layout::new(base.path()).temp_dir(&id).exists());
        // One connection: a Java sender never offers to share a transfer.
        assert_eq!(peer.requests.lock().unwrap().len(), 1, "{stream} {mode}");
        let sent = peer.requests.lock().unwrap()[0].clone();
        let java = vector("java-receiver.request.bin");
        if mode == "java" {
            assert_eq!(sent, java, "{stream}: the Java receiver's request, byte for byte");
            continue;
        }
        // Java's request with more header lines, all X-Vbt-*, which Venice's handler never reads.
        let head = &java[..java.len() - 2];
        assert_eq!(&sent[..head.len()], head, "{stream}");
        let added = String::from_utf8_lossy(&sent[head.len()..]).into_owned();
        assert!(added.ends_with("\r\n\r\n"), "{added}");
        let lines: Vec<&str> = added.trim_end().split("\r\n").collect();
        assert!(lines.iter().all(|l| l.starts_with("X-Vbt-")), "{mode}: {lines:?}");
        assert_eq!(lines.contains(&"X-Vbt-Checksum: xxh3-128"), mode == "default", "{mode}: {lines:?}");
    }
}

#[test]
fn receiver_accepts_java_two_file_streams() {
    receive_vector("java-sender-2files.response.bin", false);
    receive_vector("java-to-java-2files.response.bin", false);
    receive_vector("case-ok-no-schema-headers.response.bin", false);
}

#[test]
fn receiver_accepts_java_empty_file_stream() {
    receive_vector("java-to-java-emptyfile.response.bin", false);
}

#[test]
fn receiver_installs_and_opens_java_rocksdb_checkpoint() {
    receive_vector("java-to-java-small-ckpt.response.bin", true);
}
