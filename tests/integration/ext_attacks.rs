//! The vbt↔vbt wire extensions attacked as the world would: a lying sender (scripted on a raw
//! socket), a hostile receiver against a real vbt sender (raw requests), and kept resume state
//! that is torn, tampered with or pointing outside, with the receiving process killed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use venice_blob_transfer::tools::checksum::Algorithm;
use venice_blob_transfer::tools::decoder::{parse_response_head, ResponseHead};
use venice_blob_transfer::tools::ext::FileInfo;
use venice_blob_transfer::tools::request::encode_request;
use venice_blob_transfer::tools::response::{complete_response, file_head_ext, metadata_response};
use venice_blob_transfer::tools::Hasher;
use venice_blob_transfer::{ErrorKind, PartitionId, TableFormat};

const SNAP: &str = "5eed5eed5eed5eed5eed5eed5eed5eed";

fn md5(body: &[u8]) -> String {
    let mut h = Hasher::new(Algorithm::Md5);
    h.update(body);
    h.finish_hex()
}

/// One FILE response with the given `x-vbt-*` lines.
fn file(name: &str, body: &[u8], info: &str) -> Vec<u8> {
    let mut v = file_head_ext(name, body.len() as u64, Algorithm::Md5, &md5(body), info);
    v.extend_from_slice(body);
    v
}

fn info(index: usize, files: usize, bytes: u64, token: Option<&str>) -> String {
    FileInfo {
        snapshot: Some(SNAP.into()),
        index: Some(index),
        files_total: Some(files),
        bytes_total: Some(bytes),
        transfer: token.map(str::to_string),
        offset: None,
    }
    .header_lines()
}

fn ending(id: &PartitionId) -> Vec<u8> {
    let mut v = metadata_response(&vector_metadata(id).to_json());
    v.extend_from_slice(&complete_response());
    v
}

/// Bootstraps `id` from a scripted sender answering `reply` on every connection; the error.
/// A bootstrap into `dst` from a scripted sender that answers `reply` (and reads on after it:
/// the request that follows a manifest is never left unread).
fn from_script(id: &PartitionId, reply: Vec<u8>, dst: &Path) -> (ScriptedPeer, venice_blob_transfer::BootstrapOutcome) {
    let peer = ScriptedPeer::start(reply, true);
    let node = receiver(dst, TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let out = node.bootstrap_blocking(request(id, &[peer.peer()])).unwrap();
    (peer, out)
}

fn from_liar(id: &PartitionId, reply: Vec<u8>, dst: &Path) -> String {
    let peer = ScriptedPeer::start(reply, false);
    let node = receiver(dst, TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let err = node.bootstrap_blocking(request(id, &[peer.peer()])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllPeersFailed, "{err}");
    // Nothing installed; at most the documented kept state (journal + verified files).
    let layout = Layout::new(dst);
    assert!(!layout.partition_dir(id).exists(), "installed: {:?}", tree(dst));
    let temp = layout.temp_dir(id);
    if temp.exists() {
        assert!(temp.join(".vbt-resume").is_file(), "left without a journal: {:?}", tree(dst));
    }
    err.to_string()
}

#[test]
fn a_sender_lying_about_totals_indices_or_snapshot_is_refused() {
    let id = PartitionId::new("liar", 1, 0).unwrap();
    let (a, b) = (vec![1u8; 1000], vec![2u8; 500]);
    let end = ending(&id);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("fewer files than announced", [file("a.sst", &a, &info(0, 2, 1500, None)), end.clone()].concat(), "announced"),
        ("fewer bytes than announced", [file("a.sst", &a, &info(0, 1, 1001, None)), end.clone()].concat(), "announced"),
        (
            "more files than announced",
            [file("a.sst", &a, &info(0, 1, 1000, None)), file("b.sst", &b, &info(1, 1, 1000, None)), end.clone()].concat(),
            "outside the files it announced",
        ),
        (
            "totals changing",
            [file("a.sst", &a, &info(0, 2, 1500, None)), file("b.sst", &b, &info(1, 3, 1500, None)), end.clone()].concat(),
            "changed its announced totals",
        ),
        ("index out of range", [file("a.sst", &a, &info(usize::MAX, 1, 1000, None)), end.clone()].concat(), "outside the files"),
        (
            "index repeated",
            [file("a.sst", &a, &info(0, 2, 1500, None)), file("b.sst", &b, &info(0, 2, 1500, None)), end.clone()].concat(),
            "index 0 twice",
        ),
        (
            "snapshot switched",
            [file("a.sst", &a, &info(0, 2, 1500, None)), file("b.sst", &b, &info(1, 2, 1500, None).replace(SNAP, "0ther")), end.clone()]
                .concat(),
            "switched snapshots",
        ),
        ("absurd total bytes", [file("a.sst", &a, &info(0, 1, u64::MAX, None)), end.clone()].concat(), "are free on the file system"),
        ("negative index", [file("a.sst", &a, "x-vbt-file-index: -1\r\n"), end.clone()].concat(), "x-vbt-file-index"),
        (
            "huge files total",
            [file("a.sst", &a, "x-vbt-files-total: 99999999999999999999999\r\n"), end.clone()].concat(),
            "x-vbt-files-total",
        ),
        ("snapshot not a token", [file("a.sst", &a, "x-vbt-snapshot: ../../etc\r\n"), end.clone()].concat(), "x-vbt-snapshot"),
        ("transfer not a token", [file("a.sst", &a, "x-vbt-transfer: a b\r\n"), end.clone()].concat(), "x-vbt-transfer"),
        (
            "a file from an offset not asked for",
            [file("a.sst", &a, &(info(0, 1, 1000, None) + "x-vbt-offset: 10\r\n")), end.clone()].concat(),
            "did not ask for",
        ),
        ("an offset that is not a number", [file("a.sst", &a, "x-vbt-offset: -1\r\n"), end.clone()].concat(), "x-vbt-offset"),
    ];
    for (what, reply, cause) in cases {
        let dst = tempdir();
        let err = from_liar(&id, reply, dst.path());
        assert!(err.contains(cause), "{what}: {err}");
        if what == "absurd total bytes" {
            // A full disk keeps nothing (the space goes back to the host).
            assert!(!Layout::new(dst.path()).temp_dir(&id).exists(), "{what}: {:?}", tree(dst.path()));
        }
    }
}

#[test]
fn a_sender_offering_streams_then_sending_one_file_on_two_connections_is_refused() {
    let id = PartitionId::new("twice", 1, 0).unwrap();
    let a = vec![3u8; 4000];
    let token = "00112233445566778899aabbccddeeff";
    // Every connection (the first and the joined one) gets the same file.
    let reply = [file("a.sst", &a, &info(0, 1, 4000, Some(token))), ending(&id)].concat();
    let peer = ScriptedPeer::start(reply, true);
    let dst = tempdir();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let err = node.bootstrap_blocking(request(&id, &[peer.peer()])).unwrap_err();
    assert!(err.to_string().contains("twice") || err.to_string().contains("said it holds"), "{err}");
    let joins = peer.requests.lock().unwrap().iter().filter(|r| String::from_utf8_lossy(r).contains(token)).count();
    assert!(joins >= 1, "the receiver joined with the offered token");
    assert!(!Layout::new(dst.path()).partition_dir(&id).exists());
}

// ---------------------------------------------------------------------------------------------
// A hostile receiver against a real vbt sender.

const FILES: usize = 24;
const FILE_SIZE: usize = 512 * 1024;

fn files_snapshot(dir: &Path) {
    crate::common::files_snapshot(dir, FILES, FILE_SIZE, 11);
}

#[derive(Debug)]
enum Resp {
    File {
        name: String,
        info: FileInfo,
        /// The body's length.
        len: u64,
    },
    Metadata,
    /// A manifest: its snapshot id.
    Manifest(String),
    Complete,
    /// A refusal: its status and body.
    Refused(u16, String),
}

/// A raw receiver connection: one request, then the responses one by one.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Venice's request for `id` plus the raw header `lines` (each ending in CRLF).
    fn get(addr: &str, id: &PartitionId, lines: &str) -> Raw {
        let mut req = encode_request(id, TableFormat::BlockBased, 24, 7);
        req.truncate(req.len() - 2);
        req.extend_from_slice(lines.as_bytes());
        req.extend_from_slice(b"\r\n");
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&req).unwrap();
        Raw { s, buf: Vec::new() }
    }

    /// As `get`, for a sender that admits one transfer at a time: a transfer that just ended
    /// (its COMPLETE read, or its receiver gone) may hold the admission a moment longer, so a
    /// 429 is retried for up to 10 s. The first response is left unread.
    fn admitted(addr: &str, id: &PartitionId, lines: &str) -> Raw {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let mut r = Raw::get(addr, id, lines);
            let head = loop {
                match parse_response_head(&r.buf).unwrap() {
                    Some((head, _)) => break Some(head),
                    None if r.fill() => {}
                    None => break None,
                }
            };
            match head {
                Some(ResponseHead::Refused { status: 429, .. }) if Instant::now() < end => std::thread::sleep(Duration::from_millis(50)),
                _ => return r,
            }
        }
    }

    fn fill(&mut self) -> bool {
        let mut b = [0u8; 65536];
        match self.s.read(&mut b) {
            Ok(n) if n > 0 => {
                self.buf.extend_from_slice(&b[..n]);
                true
            }
            _ => false,
        }
    }

    /// The next response's head alone (its body, if any, left unread); `None` at EOF.
    fn head(&mut self) -> Option<ResponseHead> {
        loop {
            if let Some((head, used)) = parse_response_head(&self.buf).unwrap() {
                self.buf.drain(..used);
                return Some(head);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn skip(&mut self, mut n: u64) -> bool {
        loop {
            let take = (n as usize).min(self.buf.len());
            self.buf.drain(..take);
            n -= take as u64;
            if n == 0 {
                return true;
            }
            if !self.fill() {
                return false;
            }
        }
    }

    /// The next response (its body read and dropped); `None` at EOF.
    fn next(&mut self) -> Option<Resp> {
        loop {
            if let Some((head, used)) = parse_response_head(&self.buf).unwrap() {
                self.buf.drain(..used);
                return Some(match head {
                    ResponseHead::File { name, len, info, .. } => {
                        self.skip(len).then_some(())?;
                        Resp::File { name, info, len }
                    }
                    ResponseHead::Metadata { len } => {
                        self.skip(len).then_some(())?;
                        Resp::Metadata
                    }
                    ResponseHead::Manifest { snapshot, len } => {
                        self.skip(len).then_some(())?;
                        Resp::Manifest(snapshot)
                    }
                    ResponseHead::Complete => Resp::Complete,
                    ResponseHead::Refused { status, body_len, .. } => {
                        let len = body_len.unwrap_or(0) as usize;
                        while self.buf.len() < len {
                            self.fill().then_some(())?;
                        }
                        Resp::Refused(status, String::from_utf8_lossy(&self.buf.drain(..len).collect::<Vec<_>>()).into_owned())
                    }
                });
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Every file name until COMPLETE (or a refusal / EOF), and how it ended.
    fn rest(&mut self) -> (Vec<String>, Option<Resp>) {
        let mut names = Vec::new();
        loop {
            match self.next() {
                Some(Resp::File { name, .. }) => names.push(name),
                Some(Resp::Metadata) => {}
                other => return (names, other),
            }
        }
    }
}

fn all_names() -> Vec<String> {
    (0..FILES).map(|i| format!("{i:06}.sst")).collect()
}

/// Starts a transfer asking for `streams`; returns the connection, its first file and the token.
fn start(addr: &str, id: &PartitionId, streams: usize) -> (Raw, String, String) {
    let mut main = Raw::admitted(addr, id, &format!("X-Vbt-Snapshot-Info: 1\r\nX-Vbt-Streams: {streams}\r\n"));
    match main.next() {
        Some(Resp::File { name, info, .. }) => (main, name, info.transfer.expect("a token offered")),
        other => panic!("no FILE first: {other:?}"),
    }
}

#[test]
fn joins_with_a_foreign_token_or_beyond_the_streams_asked_get_no_file() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("joins", 1, 0).unwrap();
    let other = PartitionId::new("joins", 1, 1).unwrap();
    // Paced: the 12 MiB take 3 s at least, so the transfer (and its token) is still on when the
    // last join comes. Unpaced, the connections' socket buffers could take every file and the
    // transfer end (a 404 for the joins still to come) before a slowed-down test made them.
    let (_s, addr) = snapshot_sender(src.path(), &id, &[("blob.transfer.service.write.limit.bytes.per.sec", "4194304")]);
    // A guessed token: refused.
    let mut guess = Raw::get(&addr, &id, "X-Vbt-Join: 00000000000000000000000000000000\r\n");
    assert!(matches!(guess.next(), Some(Resp::Refused(404, _))));
    // X-Vbt-Streams: 1000 is 8 at most: seven joins, then refusals. The first connection is not
    // read meanwhile, so the joins find files left.
    let (mut main, first, token) = start(&addr, &id, 1000);
    // A real token, but for another partition: refused, no file.
    let mut foreign = Raw::get(&addr, &other, &format!("X-Vbt-Join: {token}\r\n"));
    assert!(matches!(foreign.next(), Some(Resp::Refused(..))));
    // Each join is in (its first answer begun) before the next is made.
    let mut got = vec![first];
    let mut joined: Vec<(Raw, u64)> = Vec::new();
    for _ in 0..7 {
        let mut j = Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n"));
        match j.head() {
            Some(ResponseHead::File { name, len, .. }) => {
                got.push(name);
                joined.push((j, len));
            }
            Some(ResponseHead::Complete) => {}
            other => panic!("a join within the streams asked was refused: {other:?}"),
        }
    }
    let mut extra = Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n"));
    assert!(matches!(extra.next(), Some(Resp::Refused(404, _))), "an eighth connection joined");
    // Every file exactly once across the connections, each ending in COMPLETE.
    for (j, len) in joined.iter_mut() {
        assert!(j.skip(*len), "a join's first file was cut short");
        let (names, end) = j.rest();
        assert!(matches!(end, Some(Resp::Complete)), "{end:?}");
        got.extend(names);
    }
    let (names, end) = main.rest();
    assert!(matches!(end, Some(Resp::Complete)), "{end:?}");
    got.extend(names);
    got.sort();
    assert_eq!(got, all_names());
    // The token dies with its transfer.
    drop((main, joined));
    assert!(eventually(Duration::from_secs(10), || matches!(
        Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n")).next(),
        Some(Resp::Refused(404, _))
    )));
}

/// Issue #18: a join the sender cannot read is a 400 naming `X-Vbt-Join`, not an ordinary
/// (admitted) full transfer.
#[test]
fn malformed_join_tokens_get_a_400_naming_the_header() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("badjoin", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[("blob.transfer.max.concurrent.snapshot.user", "1")]);
    let long = "a".repeat(200);
    for token in ["tok!en", long.as_str(), "", "tok1 tok2", "../../etc"] {
        match Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n")).next() {
            Some(Resp::Refused(400, body)) => assert!(body.contains("X-Vbt-Join"), "{token:?}: {body}"),
            other => panic!("X-Vbt-Join {token:?}: {other:?}"),
        }
    }
    // None of them took the one admission: an ordinary request is served at once.
    assert!(served(&addr, &id));
}

#[test]
fn resume_asks_for_another_snapshot_get_the_full_transfer_and_malformed_ones_a_400() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("garbage", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let mut first = Raw::get(&addr, &id, "X-Vbt-Snapshot-Info: 1\r\n");
    let Some(Resp::File { info, .. }) = first.next() else { panic!() };
    let snap = info.snapshot.unwrap();
    drop(first);
    let full = |lines: String| {
        let mut r = Raw::get(&addr, &id, &lines);
        let (mut names, end) = r.rest();
        assert!(matches!(end, Some(Resp::Complete)), "{lines:.80}: {end:?}");
        names.sort();
        names
    };
    // Over the bitmap limit (but inside the 64 KiB head), or not base64url: a 400 naming the
    // header (issue #18: never a silent full transfer).
    for lines in [format!("X-Vbt-Resume: {snap} {}\r\n", "_".repeat(60 * 1024)), format!("X-Vbt-Resume: {snap} !!!\r\n")] {
        match Raw::get(&addr, &id, &lines).next() {
            Some(Resp::Refused(400, body)) => assert!(body.contains("X-Vbt-Resume"), "{body}"),
            other => panic!("{lines:.60}: {other:?}"),
        }
    }
    // Another snapshot's id: a full transfer (the snapshot changed; nothing is malformed).
    assert_eq!(full(format!("X-Vbt-Resume: 0123456789abcdef {}\r\n", "_".repeat(8))), all_names());
    // Indices beyond the snapshot: only the real ones count (files 0..8 held here).
    let mut held = vec![0xffu8; 1000];
    held[1..3].fill(0);
    let bits = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &held);
    assert_eq!(full(format!("X-Vbt-Resume: {snap} {bits}\r\n")), all_names()[8..].to_vec());
    // Partly held files (X-Vbt-Resume-From): each sent from its offset under x-vbt-offset, the
    // head's checksum still the whole file's; an offset past the end, or an index beyond the
    // snapshot, is not served: that file comes whole, without x-vbt-offset.
    let mut r =
        Raw::get(&addr, &id, &format!("X-Vbt-Resume: {snap} AA\r\nX-Vbt-Resume-From: 0:100,1:{},2:{FILE_SIZE},999:5\r\n", FILE_SIZE + 1));
    let mut seen = Vec::new();
    while let Some(Resp::File { name, info, len }) = r.next() {
        seen.push((name, info.offset, len));
    }
    let size = FILE_SIZE as u64;
    let mut want: Vec<(String, Option<u64>, u64)> = all_names().into_iter().map(|n| (n, None, size)).collect();
    want[0] = (want[0].0.clone(), Some(100), size - 100);
    want[2] = (want[2].0.clone(), Some(size), 0);
    seen.sort();
    assert_eq!(seen, want);
    // The largest bitmap accepted, all held: no file, METADATA and COMPLETE.
    let mut r = Raw::get(&addr, &id, &format!("X-Vbt-Resume: {snap} {}\r\n", "_".repeat(48 * 1024)));
    assert!(matches!(r.next(), Some(Resp::Metadata)));
    assert!(matches!(r.next(), Some(Resp::Complete)));
}

/// Issue #22: the second request after a manifest must ask for the same partition's files,
/// once; anything else is a 400 and the connection closes, and a receiver that goes quiet after
/// the manifest holds the admission no longer than the head timeout.
#[test]
fn after_a_manifest_only_one_request_for_the_same_partition_is_served() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("manifest", 1, 0).unwrap();
    // A head timeout of 3 s: the quiet receiver below must still hold the admission when the
    // next request comes, which on a loaded machine may take a second or more.
    let (_s, addr) = snapshot_sender(
        src.path(),
        &id,
        &[("blob.transfer.max.concurrent.snapshot.user", "1"), ("vbt.server.request.head.timeout.ms", "3000")],
    );
    let manifest = |r: &mut Raw| match r.next() {
        Some(Resp::Manifest(snapshot)) => snapshot,
        other => panic!("{other:?}"),
    };
    let second = |r: &mut Raw, id: &PartitionId, lines: &str| {
        let mut req = encode_request(id, TableFormat::BlockBased, 24, 7);
        req.truncate(req.len() - 2);
        req.extend_from_slice(lines.as_bytes());
        req.extend_from_slice(b"\r\n");
        r.s.write_all(&req).unwrap();
    };
    // The honest exchange: a manifest, then the files not held.
    let mut r = Raw::get(&addr, &id, "X-Vbt-Manifest: 1\r\nX-Vbt-Checksum: xxh3-128\r\n");
    let snap = manifest(&mut r);
    let six = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [0x3fu8]);
    second(&mut r, &id, &format!("X-Vbt-Resume: {snap} {six}\r\n"));
    let (names, end) = r.rest();
    assert!(matches!(end, Some(Resp::Complete)), "{end:?}");
    assert_eq!(names, all_names()[6..].to_vec());
    // Another partition, a second manifest, a join: 400, closed.
    let other = PartitionId::new("manifest", 1, 1).unwrap();
    for (target, lines, want) in [
        (&other, String::new(), "must ask for its files"),
        (&id, "X-Vbt-Manifest: 1\r\n".to_string(), "must ask for its files"),
        (&id, "X-Vbt-Join: abc\r\n".to_string(), "must ask for its files"),
        (&id, "X-Vbt-Resume: !!\r\n".to_string(), "X-Vbt-Resume"),
    ] {
        // The first follows the honest exchange, whose admission may outlast its COMPLETE.
        let mut r = Raw::admitted(&addr, &id, "X-Vbt-Manifest: 1\r\n");
        manifest(&mut r);
        second(&mut r, target, &lines);
        match r.next() {
            Some(Resp::Refused(400, body)) => assert!(body.contains(want), "{lines}: {body}"),
            other => panic!("{lines}: {other:?}"),
        }
        assert!(r.next().is_none(), "{lines}: not closed");
    }
    // Quiet after the manifest: closed after the head timeout, the admission back.
    let mut quiet = Raw::admitted(&addr, &id, "X-Vbt-Manifest: 1\r\n");
    manifest(&mut quiet);
    assert!(matches!(Raw::get(&addr, &id, "").next(), Some(Resp::Refused(429, _))));
    assert!(quiet.next().is_none(), "the quiet receiver was closed");
    assert!(eventually(Duration::from_secs(10), || served(&addr, &id)), "the admission was not released");
}

fn served(addr: &str, id: &PartitionId) -> bool {
    matches!(Raw::get(addr, id, "").next(), Some(Resp::File { .. }))
}

#[test]
fn a_transfer_holds_one_admission_until_its_last_connection_lets_go() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("admit", 1, 0).unwrap();
    // No time limit here: the joined connection must get every file and COMPLETE, however slow
    // this machine is (a 3 s limit from the transfer's start could end it first).
    let (_s, addr) = snapshot_sender(src.path(), &id, &[("blob.transfer.max.concurrent.snapshot.user", "1")]);
    // The first connection ends (the receiver drops it) while the joined one is mid-transfer: the
    // joined one still gets files and COMPLETE, and another receiver is refused meanwhile.
    let (main, _, token) = start(&addr, &id, 2);
    let mut joined = Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n"));
    assert!(matches!(joined.next(), Some(Resp::File { .. })));
    assert!(matches!(Raw::get(&addr, &id, "").next(), Some(Resp::Refused(429, _))));
    drop(main);
    let (_, end) = joined.rest();
    assert!(matches!(end, Some(Resp::Complete)), "{end:?}");
    assert!(eventually(Duration::from_secs(10), || served(&addr, &id)), "the admission was not released");

    // A joined connection that stalls (never reads) with the first one done: the admission is
    // back once the sender's timeout ends it, though the stalled socket stays open.
    let (_s, addr) =
        snapshot_sender(src.path(), &id, &[("blob.transfer.max.concurrent.snapshot.user", "1"), ("vbt.sender.max.timeout.ms", "3000")]);
    let (mut main, _, token) = start(&addr, &id, 2);
    let stalled = Raw::get(&addr, &id, &format!("X-Vbt-Join: {token}\r\n"));
    let (_, end) = main.rest();
    assert!(matches!(end, Some(Resp::Complete) | None), "{end:?}");
    assert!(eventually(Duration::from_secs(30), || served(&addr, &id)), "a stalled join kept the admission");
    drop((main, stalled));
}

// ---------------------------------------------------------------------------------------------
// Kept resume state that lies, and a receiving process killed.

/// The sender's snapshot id, as a raw vbt receiver sees it.
fn snapshot_id(addr: &str, id: &PartitionId) -> String {
    let mut r = Raw::get(addr, id, "X-Vbt-Snapshot-Info: 1\r\n");
    let Some(Resp::File { info, .. }) = r.next() else { panic!() };
    info.snapshot.unwrap()
}

fn xxh(path: &Path) -> String {
    let mut h = Hasher::new(Algorithm::Xxh3_128);
    h.update(&std::fs::read(path).unwrap());
    h.finish_hex()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn a_hostile_journal_never_reaches_outside_the_temp_dir_nor_into_the_partition() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("journal", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let snap = snapshot_id(&addr, &id);
    let outside = tempdir();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, b"not part of any partition").unwrap();
    let dst = tempdir();
    let temp = Layout::new(dst.path()).temp_dir(&id);
    std::fs::create_dir_all(&temp).unwrap();
    // One good kept file, a symlink out (with the outside file's own checksum), a directory,
    // an index that would size a huge bitmap, then names that must never be used.
    std::fs::copy(src.path().join("000000.sst"), temp.join("000000.sst")).unwrap();
    std::os::unix::fs::symlink(&secret, temp.join("000001.sst")).unwrap();
    std::fs::create_dir(temp.join("000002.sst")).unwrap();
    std::fs::copy(src.path().join("000003.sst"), temp.join("000003.sst")).unwrap();
    let line = |i: usize, name: &str, len: u64, sum: &str| {
        format!("{{\"index\":{i},\"name\":\"{name}\",\"len\":{len},\"algorithm\":\"XXH3-128\",\"sum\":\"{sum}\"}}\n")
    };
    let mut journal = format!("{{\"peer\":\"{addr}\",\"snapshot\":\"{snap}\",\"created_ms\":{}}}\n", now_ms());
    journal += &line(0, "000000.sst", FILE_SIZE as u64, &xxh(&temp.join("000000.sst")));
    journal += &line(1, "000001.sst", 25, &xxh(&secret));
    journal += &line(2, "000002.sst", 0, "00");
    journal += &line(1usize << 60, "000003.sst", FILE_SIZE as u64, &xxh(&temp.join("000003.sst")));
    journal += &line(4, "../escape", 1, "00");
    journal += &line(5, ".vbt-resume", 1, "00");
    journal += "{\"index\":6,\"na";
    std::fs::write(temp.join(".vbt-resume"), journal).unwrap();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let out = node.bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
    assert_eq!(out.resumed_bytes, FILE_SIZE as u64, "only the good kept file counts: {out:?}");
    assert_same_files(src.path(), &out.partition_dir);
    assert_eq!(std::fs::read(&secret).unwrap(), b"not part of any partition");
    assert!(!temp.exists());
    assert!(!dst.path().join("escape").exists() && !Layout::new(dst.path()).version_dir(&id).join("escape").exists());
}

/// `vbt serve` of the files snapshot, slowed so a fetch is in flight for a while.
fn serve_files(src: &Path, store: &str) -> (KillOnDrop, String) {
    let (o, v) = venice_blob_transfer::tools::records::gen_metadata_blobs(1, 24, 7);
    let (op, vp) = (src.join("..offset"), src.join("..svs"));
    std::fs::write(&op, o).unwrap();
    std::fs::write(&vp, v).unwrap();
    let snap = src.join("snap");
    std::fs::create_dir_all(&snap).unwrap();
    files_snapshot(&snap);
    serve(&[
        "--snapshot-dir",
        &s(&snap),
        "--store",
        store,
        "--version",
        "1",
        "--partition",
        "0",
        "--offset-record",
        &s(&op),
        "--store-version-state",
        &s(&vp),
        "-D",
        "blob.transfer.service.write.limit.bytes.per.sec=6291456",
    ])
}

/// Whether some process holds a flock on `path` (read from /proc/locks; taking it would race).
/// /proc/locks names the file as `major:minor:inode`, major and minor in hex.
fn flocked(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else { return false };
    let dev = m.dev();
    let (major, minor) = (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff), (dev & 0xff) | ((dev >> 12) & !0xff));
    let want = format!("{major:02x}:{minor:02x}:{}", m.ino());
    std::fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("FLOCK") && l.split_whitespace().any(|f| f == want))
}

#[test]
fn a_fetch_killed_at_each_point_reruns_to_exactly_the_senders_files_and_holds_the_lock() {
    let src = tempdir();
    let (_server, addr) = serve_files(src.path(), "killed");
    let snap = src.path().join("snap");
    let id = PartitionId::new("killed", 1, 0).unwrap();
    let mut raced = 0;
    for point in ["recv-journal-started", "recv-mid-file", "recv-after-file", "recv-after-file-sync"] {
        let dst = tempdir();
        let base = s(dst.path());
        let args = [
            "fetch",
            "--base-dir",
            &base,
            "--peer",
            &addr,
            "--store",
            "killed",
            "--version",
            "1",
            "--partition",
            "0",
            "-D",
            "vbt.receive.verify.rocksdb=false",
        ];
        let out = vbt_env(&args, &[("VBT_KILL_AT", point)]);
        assert!(!out.status.success(), "{point}: the fetch was not killed");
        // Rerun while a second process tries the same partition. The lock is first taken by the
        // first process's start-up repair, then again by its bootstrap, so the second may slip in
        // between and win: either way exactly one installs, and the other is refused at once.
        let first = std::process::Command::new(env!("CARGO_BIN_EXE_vbt"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Held, as the kernel sees it (a killed process leaves the file, unlocked).
        let lock = Layout::new(dst.path()).lock_file(&id);
        let locked = eventually(Duration::from_secs(20), || flocked(&lock));
        let second = locked.then(|| vbt(&args));
        let first = first.wait_with_output().unwrap();
        let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
        match second {
            None => assert!(first.status.success(), "{point}: {}", text(&first)),
            Some(second) => {
                raced += 1;
                let (won, lost) = match (first.status.success(), second.status.success()) {
                    (true, false) => (&first, &second),
                    (false, true) => (&second, &first),
                    (a, b) => panic!("{point}: first ok {a}, second ok {b}: one must install\n{}\n{}", text(&first), text(&second)),
                };
                let msg = text(lost);
                // Racing the winner to its end is allowed (then the partition exists).
                assert!(msg.contains("another process") || msg.contains("already holds data"), "{point}: {msg}\n{}", text(won));
            }
        }
        assert_same_files(&snap, &Layout::new(dst.path()).partition_dir(&id));
        assert!(!Layout::new(dst.path()).temp_dir(&id).exists(), "{point}: {:?}", tree(dst.path()));
    }
    assert!(raced > 0, "the second process never ran while the first held the lock");
}

#[test]
fn every_file_kept_and_no_file_sent_installs_the_kept_partition() {
    // A receiver killed (or cut) after its last file verified, before METADATA: the sender's
    // manifest names every kept file, so it holds back every file on the next try. The kept
    // files, all of the snapshot by the manifest, are the partition, whatever totals (if any)
    // the journal recorded.
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("allkept", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let snap = snapshot_id(&addr, &id);
    for totals in [format!(",\"totals\":[{FILES},{}]", FILES * FILE_SIZE), String::new()] {
        let dst = tempdir();
        keep(dst.path(), src.path(), &id, &addr, &snap, &totals, FILES);
        let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
        let out = node.bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
        assert_eq!((out.bytes, out.resumed_bytes, out.files), (0, (FILES * FILE_SIZE) as u64, FILES));
        assert_same_files(src.path(), &out.partition_dir);
        assert!(!out.partition_dir.join(".vbt-resume").exists());
    }
}

/// Kept state as an earlier attempt leaves it: the first `n` files of `src` and their journal.
fn keep(dst: &Path, src: &Path, id: &PartitionId, peer: &str, snap: &str, totals: &str, n: usize) -> Vec<(String, String)> {
    let temp = Layout::new(dst).temp_dir(id);
    std::fs::create_dir_all(&temp).unwrap();
    let mut journal = format!("{{\"peer\":\"{peer}\",\"snapshot\":\"{snap}\",\"created_ms\":{}{totals}}}\n", now_ms());
    let mut kept = Vec::new();
    for (i, name) in all_names().iter().take(n).enumerate() {
        std::fs::copy(src.join(name), temp.join(name)).unwrap();
        let sum = xxh(&temp.join(name));
        journal += &format!("{{\"index\":{i},\"name\":\"{name}\",\"len\":{FILE_SIZE},\"algorithm\":\"XXH3-128\",\"sum\":\"{sum}\"}}\n");
        kept.push((name.clone(), sum));
    }
    std::fs::write(temp.join(".vbt-resume"), journal).unwrap();
    kept
}

/// A manifest response as a sender writes it, with `body` as its JSON.
fn manifest_reply(snapshot: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/json\r\nx-vbt-manifest: {snapshot}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A Java sender ignores `X-Vbt-Manifest` and streams every file (no `x-vbt-*` on its heads):
/// the kept files are dropped first and the partition is what it sent.
#[test]
fn kept_files_meet_a_java_sender_that_ignores_the_manifest_ask() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("javaPeer", 1, 0).unwrap();
    let names = all_names();
    let java: Vec<u8> =
        [names[..2].iter().map(|n| file(n, &std::fs::read(src.path().join(n)).unwrap(), "")).collect::<Vec<_>>().concat(), ending(&id)]
            .concat();
    let peer = ScriptedPeer::start(java, false);
    let dst = tempdir();
    keep(dst.path(), src.path(), &id, &peer.peer(), "1d1d", "", 3);
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let out = node.bootstrap_blocking(request(&id, &[peer.peer()])).unwrap();
    assert_eq!((out.files, out.resumed_bytes), (2, 0), "{out:?}");
    assert_eq!(entries(&out.partition_dir), names[..2].to_vec(), "the kept third file is not installed");
    assert!(!Layout::new(dst.path()).temp_dir(&id).exists());
    let asked = String::from_utf8_lossy(&peer.requests.lock().unwrap()[0]).to_string();
    assert!(asked.contains("X-Vbt-Manifest: 1"), "{asked}");
}

/// Issue #22: a manifest that lies, is malformed, or that the stream after it contradicts is
/// refused naming why; nothing is installed and no kept file is taken for one it is not.
#[test]
fn a_hostile_manifest_is_refused_and_installs_nothing() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("manifest", 1, 0).unwrap();
    let names = all_names();
    let file_json = |name: &str, len: u64, sum: &str| format!("{{\"name\":\"{name}\",\"len\":{len},\"sum\":\"{sum}\"}}");
    let body = |files: &[String]| format!("{{\"snapshot\":\"{SNAP}\",\"algorithm\":\"XXH3-128\",\"files\":[{}]}}", files.join(","));
    let sum_of = |name: &str| xxh(&src.path().join(name));
    // The sender's manifest: the first three files (which the receiver holds) and a fourth.
    let honest: Vec<String> = names[..4].iter().map(|n| file_json(n, FILE_SIZE as u64, &sum_of(n))).collect();
    let fourth = std::fs::read(src.path().join(&names[3])).unwrap();
    let total = 4 * FILE_SIZE as u64;
    let end = ending(&id);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a name outside the directory", manifest_reply(SNAP, &body(&[file_json("../000000.sst", 1, &"0".repeat(32))])), "file name"),
        ("a name twice", manifest_reply(SNAP, &body(&[honest[0].clone(), honest[0].clone()])), "listed twice"),
        ("a checksum that is not one", manifest_reply(SNAP, &body(&[file_json(&names[0], 1, "xyz")])), "lower-case hex"),
        ("not JSON", manifest_reply(SNAP, "{\"snapshot\":"), "JSON"),
        ("head and body disagree", manifest_reply("0ther", &body(&honest)), "its head"),
        ("over the size limit", b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999\r\nx-vbt-manifest: 0ther\r\n\r\n".to_vec(), "limit"),
        (
            "no file sent, though the manifest lists one not held",
            [manifest_reply(SNAP, &body(&honest)), end.clone()].concat(),
            "not all of its snapshot",
        ),
        (
            "the stream after it from another snapshot",
            [manifest_reply(SNAP, &body(&honest)), file(&names[3], &fourth, &info(3, 4, total, None).replace(SNAP, "0ther")), end.clone()]
                .concat(),
            "switched snapshots",
        ),
        (
            "the stream after it with other totals",
            [manifest_reply(SNAP, &body(&honest)), file(&names[3], &fourth, &info(3, 5, total + 1, None)), end.clone()].concat(),
            "changed its announced totals",
        ),
        (
            "a held file sent after all",
            [
                manifest_reply(SNAP, &body(&honest)),
                file(&names[0], &std::fs::read(src.path().join(&names[0])).unwrap(), &info(0, 4, total, None)),
            ]
            .concat(),
            "said it holds",
        ),
    ];
    for (what, reply, cause) in cases {
        let dst = tempdir();
        keep(dst.path(), src.path(), &id, "127.0.0.1:1", "1d1d", "", 3);
        let err = from_liar(&id, reply, dst.path());
        assert!(err.contains(cause), "{what}: {err}");
    }
    // A manifest the receiver did not ask for (it keeps nothing) is refused too.
    let dst = tempdir();
    let err = from_liar(&id, [manifest_reply(SNAP, &body(&honest)), end.clone()].concat(), dst.path());
    assert!(err.contains("did not ask for"), "{err}");
    // A size that lies about a held file: not the same file, so it is not kept (and the
    // sender, told nothing is held, sends every file it lists).
    let dst = tempdir();
    keep(dst.path(), src.path(), &id, "127.0.0.1:1", "1d1d", "", 1);
    let first = std::fs::read(src.path().join(&names[0])).unwrap();
    let lying = body(&[file_json(&names[0], FILE_SIZE as u64 + 1, &sum_of(&names[0]))]);
    let peer = ScriptedPeer::start(
        [manifest_reply(SNAP, &lying), file(&names[0], &first, &info(0, 1, FILE_SIZE as u64, None)), end].concat(),
        false,
    );
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let err = node.bootstrap_blocking(request(&id, &[peer.peer()])).unwrap_err();
    // Its FILE head then contradicts its manifest's totals: refused, nothing installed.
    assert!(err.to_string().contains("changed its announced totals"), "{err}");
    assert!(!Layout::new(dst.path()).partition_dir(&id).exists());
    let second = String::from_utf8_lossy(&peer.requests.lock().unwrap()[0]).to_string();
    assert!(second.contains("X-Vbt-Manifest: 1"), "{second}");
}

/// The manifest of a sender whose snapshot is the first four files of `src` (XXH3).
fn manifest_of_four(src: &Path) -> Vec<u8> {
    let listed: Vec<String> =
        all_names()[..4].iter().map(|n| format!("{{\"name\":\"{n}\",\"len\":{FILE_SIZE},\"sum\":\"{}\"}}", xxh(&src.join(n)))).collect();
    manifest_reply(SNAP, &format!("{{\"snapshot\":\"{SNAP}\",\"algorithm\":\"XXH3-128\",\"files\":[{}]}}", listed.join(",")))
}

/// Kept state: the first three files of `src` whole, and the first `have` bytes of the fourth
/// with its journal line "started" (the whole file's size and checksum).
fn keep_three_and_a_start(dst: &Path, src: &Path, id: &PartitionId, have: usize) {
    keep(dst, src, id, "127.0.0.1:1", "1d1d", "", 3);
    let name = &all_names()[3];
    let temp = Layout::new(dst).temp_dir(id);
    std::fs::write(temp.join(name), &std::fs::read(src.join(name)).unwrap()[..have]).unwrap();
    let line = format!(
        "{{\"index\":3,\"name\":\"{name}\",\"len\":{FILE_SIZE},\"algorithm\":\"XXH3-128\",\"sum\":\"{}\",\"started\":true}}\n",
        xxh(&src.join(name))
    );
    std::fs::OpenOptions::new().append(true).open(temp.join(".vbt-resume")).unwrap().write_all(line.as_bytes()).unwrap();
}

/// Issue #22: a partly received file kept from an earlier attempt (the first 1000 bytes of the
/// fourth file, its journal line "started") is asked for from there; a sender that continues it
/// as another file (other size, other checksum than its manifest said) or from an offset not
/// asked for is refused, and nothing is installed. The honest continuation installs exactly the
/// sender's file.
#[test]
fn a_kept_partial_file_is_continued_only_as_the_file_its_manifest_named() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("partial", 1, 0).unwrap();
    let names = all_names();
    let sum_of = |name: &str| xxh(&src.path().join(name));
    let manifest = manifest_of_four(src.path());
    let fourth = std::fs::read(src.path().join(&names[3])).unwrap();
    let total = 4 * FILE_SIZE as u64;
    // The fourth file from `offset`, with `extra` bytes after it, under `algorithm`'s checksum.
    let rest = |offset: usize, extra: usize, algorithm: Algorithm| {
        let mut body = fourth[offset..].to_vec();
        body.extend(std::iter::repeat_n(0u8, extra));
        let sum = if algorithm == Algorithm::Md5 { md5(&fourth) } else { sum_of(&names[3]) };
        let line = info(3, 4, total, None) + &format!("x-vbt-offset: {offset}\r\n");
        [file_head_ext(&names[3], body.len() as u64, algorithm, &sum, &line), body, ending(&id)].concat()
    };
    let setup_with = |dst: &Path, have: usize| keep_three_and_a_start(dst, src.path(), &id, have);
    let setup = |dst: &Path| setup_with(dst, 1000);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("continued longer than the manifest said", [manifest.clone(), rest(1000, 1, Algorithm::Xxh3_128)].concat(), "its manifest said"),
        ("continued under another checksum", [manifest.clone(), rest(1000, 0, Algorithm::Md5)].concat(), "its manifest said"),
        ("continued from another offset", [manifest.clone(), rest(999, 0, Algorithm::Xxh3_128)].concat(), "did not ask for"),
        (
            "continued with a length past any file",
            [
                manifest.clone(),
                file_head_ext(
                    &names[3],
                    u64::MAX - 10,
                    Algorithm::Xxh3_128,
                    &sum_of(&names[3]),
                    &(info(3, 4, total, None) + "x-vbt-offset: 1000\r\n"),
                ),
            ]
            .concat(),
            "its manifest said",
        ),
    ];
    for (what, reply, cause) in cases {
        let dst = tempdir();
        setup(dst.path());
        let err = from_liar(&id, reply, dst.path());
        assert!(err.contains(cause), "{what}: {err}");
    }
    // The honest continuation: asked for by index and offset, the rest installed after the kept start.
    let dst = tempdir();
    setup(dst.path());
    let (peer, out) = from_script(&id, [manifest.clone(), rest(1000, 0, Algorithm::Xxh3_128)].concat(), dst.path());
    assert_eq!((out.files, out.bytes, out.resumed_bytes), (4, FILE_SIZE as u64 - 1000, 3 * FILE_SIZE as u64 + 1000), "{out:?}");
    assert_files_as_in(src.path(), &out.partition_dir, &names[..4]);
    let asked = String::from_utf8_lossy(&peer.requests.lock().unwrap()[0]).to_string();
    assert!(asked.contains("X-Vbt-Manifest: 1"), "{asked}");
    // All of the file on disk, its checksum not yet recorded (a cut right after its last
    // write): asked from its end, an empty body, and the whole file checked.
    let dst = tempdir();
    setup_with(dst.path(), FILE_SIZE);
    let (_peer, out) = from_script(&id, [manifest, rest(FILE_SIZE, 0, Algorithm::Xxh3_128)].concat(), dst.path());
    assert_eq!((out.files, out.bytes, out.resumed_bytes), (4, 0, 4 * FILE_SIZE as u64), "{out:?}");
}

/// A kept file named like the journal's scratch file (`.vbt-resume.new`) was overwritten by the
/// journal rewrite after a failed attempt (and again when a manifest matched it) and renamed
/// away, yet still counted as held: the next sender skipped it and a partition without it was
/// installed. Names the landing uses for itself are refused wherever a sender names them.
#[test]
fn a_file_named_like_the_journals_scratch_file_is_never_installed_missing() {
    let id = PartitionId::new("scratchName", 1, 0).unwrap();
    let (odd, sst) = (".vbt-resume.new", "000001.sst");
    let (odd_body, sst_body) = (vec![7u8; 1000], vec![9u8; 2000]);
    // The first sender sends the odd file and is cut (it is kept, journaled, then "reloaded").
    let cut = ScriptedPeer::start(file(odd, &odd_body, &info(0, 2, 3000, None)), false);
    // The next one's manifest lists both; it sends the one not held.
    let manifest = format!(
        "{{\"snapshot\":\"{SNAP}\",\"algorithm\":\"MD5\",\"files\":[\
         {{\"name\":\"{odd}\",\"len\":1000,\"sum\":\"{}\"}},{{\"name\":\"{sst}\",\"len\":2000,\"sum\":\"{}\"}}]}}",
        md5(&odd_body),
        md5(&sst_body)
    );
    let rest = [manifest_reply(SNAP, &manifest), file(sst, &sst_body, &info(1, 2, 3000, None)), ending(&id)].concat();
    let next = ScriptedPeer::start(rest, false);
    let dst = tempdir();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let out = node.bootstrap_blocking(request(&id, &[cut.peer(), next.peer()])).unwrap();
    assert_eq!((out.files, out.resumed_bytes), (2, 1000), "{out:?}");
    // Every file it counts is there, with the sender's bytes.
    assert_eq!(entries(&out.partition_dir), vec![odd.to_string(), sst.to_string()], "{out:?}");
    assert!(std::fs::read(out.partition_dir.join(odd)).unwrap() == odd_body);
    // A file named as the journal itself (a Java sender, which keeps no journal here): it would
    // be removed as the journal at install, so it is refused and nothing is installed.
    let id = PartitionId::new("journalName", 1, 0).unwrap();
    let java = [file(".vbt-resume", &odd_body, ""), file(sst, &sst_body, ""), ending(&id)].concat();
    let err = from_liar(&id, java, tempdir().path());
    assert!(err.contains("resume journal"), "{err}");
}

/// A receiver that asks for a manifest and then never reads: a manifest larger than the socket
/// buffers blocked the sender's write with no limit, holding the admission and the snapshot
/// lease for as long as the socket stayed open. The manifest is sent within the sender's
/// per-transfer limit like every file.
#[test]
fn a_receiver_that_never_reads_its_manifest_does_not_hold_the_admission() {
    let src = tempdir();
    // A manifest of about 9 MB: long names, tiny files.
    for i in 0..30_000 {
        std::fs::write(src.path().join(format!("{i:06}{}.sst", "x".repeat(230))), [1u8]).unwrap();
    }
    let id = PartitionId::new("stallManifest", 1, 0).unwrap();
    let (_s, addr) =
        snapshot_sender(src.path(), &id, &[("blob.transfer.max.concurrent.snapshot.user", "1"), ("vbt.sender.max.timeout.ms", "2000")]);
    let stalled = Raw::get(&addr, &id, "X-Vbt-Manifest: 1\r\n");
    std::thread::sleep(Duration::from_millis(500));
    assert!(eventually(Duration::from_secs(20), || served(&addr, &id)), "a receiver not reading its manifest kept the admission");
    drop(stalled);
}

/// Kept state of a started file: the first bytes `start` of file `index` (`name`), its journal
/// line "started" with the whole file's `len` and `sum` under `algorithm`; nothing else kept.
fn keep_start(
    dst: &Path,
    id: &PartitionId,
    peer: &str,
    (index, name): (usize, &str),
    start: &[u8],
    (len, algorithm, sum): (u64, &str, &str),
) {
    let temp = Layout::new(dst).temp_dir(id);
    std::fs::create_dir_all(&temp).unwrap();
    std::fs::write(temp.join(name), start).unwrap();
    let journal = format!(
        "{{\"peer\":\"{peer}\",\"snapshot\":\"1d1d\",\"created_ms\":{}}}\n\
         {{\"index\":{index},\"name\":\"{name}\",\"len\":{len},\"algorithm\":\"{algorithm}\",\"sum\":\"{sum}\",\"started\":true}}\n",
        now_ms()
    );
    std::fs::write(temp.join(".vbt-resume"), journal).unwrap();
}

/// A kept start that fails the whole file's checksum (the disk lost or garbled it: a power cut
/// before its writeback, a bad sector) is the receiver's fault, not the sender's: the file was
/// removed so the next try fetches it whole, but when it was all that was kept, no next try on
/// that peer was made, and a bootstrap from one healthy sender failed (back to Kafka for a
/// Venice host).
#[test]
fn a_garbled_kept_start_alone_is_fetched_whole_from_the_same_peer() {
    // One file: with more, the others arrive and verify in the same attempt, and being kept
    // they bring the retry on that peer anyway.
    let src = tempdir();
    crate::common::files_snapshot(src.path(), 1, FILE_SIZE, 11);
    let id = PartitionId::new("badStart", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let name = all_names()[0].clone();
    let body = std::fs::read(src.path().join(&name)).unwrap();
    let mut start = body[..100_000].to_vec();
    start[5] ^= 0xff;
    for (algorithm, sum, extra) in
        [("XXH3-128", xxh(&src.path().join(&name)), None), ("MD5", md5(&body), Some(("vbt.checksum.fast", "false")))]
    {
        let dst = tempdir();
        keep_start(dst.path(), &id, &addr, (0, &name), &start, (FILE_SIZE as u64, algorithm, &sum));
        let mut cfg = vec![("vbt.receive.verify.rocksdb", "false")];
        cfg.extend(extra);
        let out = receiver(dst.path(), TableFormat::BlockBased, &cfg).bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
        let failed: Vec<String> = out.failed_peers.iter().map(|f| f.error.to_string()).collect();
        assert!(failed.len() == 1 && failed[0].contains("kept from an earlier attempt"), "{algorithm}: {failed:?}");
        assert_eq!((out.bytes, out.resumed_bytes), (FILE_SIZE as u64, 0), "{algorithm}: fetched whole: {out:?}");
        assert_same_files(src.path(), &out.partition_dir);
        assert!(!Layout::new(dst.path()).temp_dir(&id).exists());
    }
}

/// A sender that leaves out the file the receiver holds the start of, and sends in its place
/// (its index, its size) one its manifest does not name: the counts add up, so the kept start,
/// never verified, was installed as that file, cut short.
#[test]
fn a_kept_start_the_sender_leaves_out_is_never_installed() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("leftOut", 1, 0).unwrap();
    let names = all_names();
    let sum_of = |name: &str| xxh(&src.path().join(name));
    let manifest = manifest_of_four(src.path());
    let total = 4 * FILE_SIZE as u64;
    let other = std::fs::read(src.path().join(&names[5])).unwrap();
    let stand_in = file_head_ext(&names[5], FILE_SIZE as u64, Algorithm::Xxh3_128, &sum_of(&names[5]), &info(3, 4, total, None));
    let dst = tempdir();
    keep_three_and_a_start(dst.path(), src.path(), &id, 1000);
    let (_peer, out) = from_script(&id, [manifest, stand_in, other, ending(&id)].concat(), dst.path());
    // Refused; its retry (the kept start gone with the stand-in's index, which the journal now
    // gives that file) installs what the liar sent, every file of it verified.
    let failed: Vec<String> = out.failed_peers.iter().map(|f| f.error.to_string()).collect();
    assert!(failed.len() == 1 && failed[0].contains("never sent") && failed[0].contains(&names[3]), "{failed:?}");
    assert_files_as_in(src.path(), &out.partition_dir, &entries(&out.partition_dir));
}

/// Kills inside files, one after another (each run goes on from the last one's
/// bytes), at 1 and 8 streams, XXH3 and MD5; then a clean run installs exactly the sender's files.
#[test]
fn fetches_killed_again_and_again_inside_files_converge() {
    let src = tempdir();
    let (_server, addr) = serve_files(src.path(), "rekilled");
    let snap = src.path().join("snap");
    let id = PartitionId::new("rekilled", 1, 0).unwrap();
    let configs: [&[&str]; 3] = [
        &["vbt.receive.streams=8"],
        &["vbt.receive.streams=1", "vbt.checksum.fast=false"],
        &["vbt.receive.streams=8", "vbt.checksum.fast=false"],
    ];
    for extra in configs {
        let dst = tempdir();
        let base = s(dst.path());
        let mut args = vec![
            "fetch",
            "--base-dir",
            &base,
            "--peer",
            &addr,
            "--store",
            "rekilled",
            "--version",
            "1",
            "--partition",
            "0",
            "-D",
            "vbt.receive.verify.rocksdb=false",
        ];
        for e in extra {
            args.extend(["-D", e]);
        }
        for point in ["recv-mid-file", "recv-mid-file", "recv-after-file", "recv-mid-file", "recv-mid-file"] {
            let out = vbt_env(&args, &[("VBT_KILL_AT", point)]);
            assert!(!out.status.success(), "{extra:?} {point}: not killed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let out = vbt(&args);
        assert!(out.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_same_files(&snap, &Layout::new(dst.path()).partition_dir(&id));
        assert!(!Layout::new(dst.path()).temp_dir(&id).exists(), "{extra:?}: {:?}", tree(dst.path()));
    }
}

/// Started lines that lie (a start as long as the file, longer, a symlink out, a
/// directory, a name both whole and started, an absurd length, an index twice).
#[test]
fn hostile_started_lines_never_reach_outside_nor_into_the_partition() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("startedLines", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let names = all_names();
    let body = |i: usize| std::fs::read(src.path().join(&names[i])).unwrap();
    let sum = |i: usize| xxh(&src.path().join(&names[i]));
    let outside = tempdir();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, body(1)).unwrap();
    let dst = tempdir();
    let temp = Layout::new(dst.path()).temp_dir(&id);
    std::fs::create_dir_all(&temp).unwrap();
    std::fs::write(temp.join(&names[0]), body(0)).unwrap();
    std::os::unix::fs::symlink(&secret, temp.join(&names[1])).unwrap();
    std::fs::create_dir(temp.join(&names[2])).unwrap();
    std::fs::write(temp.join(&names[3]), [body(3), vec![1; 10]].concat()).unwrap();
    std::fs::write(temp.join(&names[4]), &body(4)[..500]).unwrap();
    std::fs::write(temp.join(&names[5]), &body(5)[..500]).unwrap();
    std::fs::write(temp.join(&names[6]), &body(6)[..300]).unwrap();
    let line = |i: usize, name: &str, len: u64, sum: &str, started: bool| {
        let s = if started { ",\"started\":true" } else { "" };
        format!("{{\"index\":{i},\"name\":\"{name}\",\"len\":{len},\"algorithm\":\"XXH3-128\",\"sum\":\"{sum}\"{s}}}\n")
    };
    let f = FILE_SIZE as u64;
    let mut journal = format!("{{\"peer\":\"{addr}\",\"snapshot\":\"1d1d\",\"created_ms\":{}}}\n", now_ms());
    journal += &line(0, &names[0], f, &sum(0), true);
    journal += &line(1, &names[1], f, &sum(1), true);
    journal += &line(2, &names[2], f, &sum(2), true);
    journal += &line(3, &names[3], f, &sum(3), true);
    journal += &line(4, &names[4], f, &sum(4), false);
    journal += &line(4, &names[4], f, &sum(4), true);
    journal += &line(5, &names[5], u64::MAX, &sum(5), true);
    journal += &line(9, &names[6], f, &sum(6), true);
    journal += &line(6, &names[6], f, &sum(6), true);
    std::fs::write(temp.join(".vbt-resume"), journal).unwrap();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.verify.rocksdb", "false")]);
    let out = node.bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
    assert!(out.failed_peers.is_empty(), "{:?}", out.failed_peers);
    assert_eq!(out.resumed_bytes, f + 500 + 300, "{out:?}");
    assert_same_files(src.path(), &out.partition_dir);
    assert_eq!(std::fs::read(&secret).unwrap(), body(1));
    assert!(!temp.exists());
}
