//! Between vbt nodes: parallel streams for one partition, and resume of an interrupted bootstrap
//! (design.md §7). The snapshots here are many files (a host's fixed snapshot) so that an
//! interruption falls between files the way it does in a real partition of tens of SSTs.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use venice_blob_transfer::tools::Layout;
use venice_blob_transfer::{Node, PartitionId};

const FILES: usize = 80;
const FILE_SIZE: usize = 256 * 1024;
const TOTAL: u64 = (FILES * FILE_SIZE) as u64;

fn files_snapshot(dir: &Path) {
    crate::common::files_snapshot(dir, FILES, FILE_SIZE, 7);
}

fn files_receiver(base: &Path, extra: &[(&str, &str)]) -> Node {
    let mut pairs = vec![("vbt.receive.verify.rocksdb", "false")];
    pairs.extend_from_slice(extra);
    receiver(base, venice_blob_transfer::TableFormat::BlockBased, &pairs)
}

/// A TCP proxy in front of a sender. Phase `PASS` forwards; once `cut_at` bytes went from the
/// sender to the receiver it cuts every connection and turns to `REFUSE` (connections are
/// accepted and closed at once, as by a sender that is down) or, with `reopen`, straight back
/// to `PASS`.
pub(crate) struct Proxy {
    pub addr: String,
    pub phase: Arc<AtomicU8>,
    sent: Arc<AtomicU64>,
}

pub(crate) const PASS: u8 = 0;
const REFUSE: u8 = 1;

impl Proxy {
    pub fn start(upstream: String, cut_at: u64, reopen: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (phase, sent) = (Arc::new(AtomicU8::new(PASS)), Arc::new(AtomicU64::new(0)));
        let (p, n) = (phase.clone(), sent.clone());
        std::thread::spawn(move || {
            let live: Arc<Mutex<Vec<TcpStream>>> = Default::default();
            let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
            for conn in listener.incoming() {
                let Ok(down) = conn else { return };
                if p.load(Ordering::SeqCst) == REFUSE {
                    drop(down);
                    continue;
                }
                let Ok(up) = TcpStream::connect(&upstream) else { continue };
                let counting = !cut.load(Ordering::SeqCst);
                if counting {
                    live.lock().unwrap().extend([down.try_clone().unwrap(), up.try_clone().unwrap()]);
                }
                let (d2, u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
                std::thread::spawn(move || copy(d2, u2, None::<fn(u64) -> bool>));
                let (n, p, live, cut) = (n.clone(), p.clone(), live.clone(), cut.clone());
                std::thread::spawn(move || {
                    let watch = counting.then_some({
                        move |bytes: u64| {
                            if n.fetch_add(bytes, Ordering::SeqCst) + bytes >= cut_at && !cut.swap(true, Ordering::SeqCst) {
                                p.store(if reopen { PASS } else { REFUSE }, Ordering::SeqCst);
                                for s in live.lock().unwrap().drain(..) {
                                    let _ = s.shutdown(Shutdown::Both);
                                }
                                return false;
                            }
                            true
                        }
                    });
                    copy(up, down, watch)
                });
            }
        });
        Proxy { addr, phase, sent }
    }
}

/// Copies until EOF or error; `watch` sees each piece first and may stop the copy.
fn copy(mut from: TcpStream, mut to: TcpStream, mut watch: Option<impl FnMut(u64) -> bool>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(w) = watch.as_mut() {
            if !w(n as u64) {
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn temp_of(base: &Path, id: &PartitionId) -> PathBuf {
    Layout::new(base).temp_dir(id)
}

#[test]
fn two_streams_carry_one_partition_as_one_admitted_transfer() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("streams", 1, 0).unwrap();
    // One admission only, and slow enough that the second connection joins while files remain:
    // 20 MiB at 10 MiB/s leaves it 2 s after the first file (a join after the last file has
    // left gets no file and does not count as a stream).
    let (_s, addr) = snapshot_sender(
        src.path(),
        &id,
        &[("blob.transfer.max.concurrent.snapshot.user", "1"), ("blob.transfer.service.write.limit.bytes.per.sec", "10485760")],
    );
    let dst = tempdir();
    let out = files_receiver(dst.path(), &[]).bootstrap_blocking(request(&id, &[addr.clone()])).unwrap();
    assert_eq!(out.streams, 2, "the second connection joined (and took no admission of its own)");
    assert_eq!((out.files, out.bytes, out.resumed_bytes), (FILES, TOTAL, 0));
    assert_same_files(src.path(), &out.partition_dir);
    // One stream when told so.
    let dst = tempdir();
    let out = files_receiver(dst.path(), &[("vbt.receive.streams", "1")]).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(out.streams, 1);
    assert_same_files(src.path(), &out.partition_dir);
}

#[test]
fn a_transfer_cut_at_90_percent_resumes_on_the_next_try() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("cut", 1, 0).unwrap();
    let (_s, addr) = snapshot_sender(src.path(), &id, &[]);
    let proxy = Proxy::start(addr, TOTAL * 9 / 10, true);
    let dst = tempdir();
    // One stream: what the cut attempt keeps is then all that crossed. On two, the first stream
    // to fail ends the other at once, and what it had not yet read of what crossed (megabytes, on
    // a slowed-down receiver) is fetched again.
    let node = files_receiver(dst.path(), &[("vbt.receive.streams", "1")]);
    let out = node.bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap();
    assert!(proxy.sent.load(Ordering::SeqCst) >= TOTAL * 9 / 10);
    // The metrics show it too.
    let metrics = node.metrics_text();
    let line = format!("vbt_bytes_resumed_total{{venice_store_name=\"cut\"}} {}", out.resumed_bytes);
    assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    // Bytes received count what crossed the network: the cut attempt's and the rest, never the
    // kept files a second time.
    let received: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ingestion_blob_transfer_bytes_received_total{venice_store_name=\"cut\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bytes received in:\n{metrics}"));
    assert!((TOTAL * 9 / 10..=TOTAL * 11 / 10).contains(&received), "{received} bytes received for {TOTAL}");
    assert_eq!(out.failed_peers.len(), 1, "the cut attempt, then the resumed one: {:?}", out.failed_peers);
    assert!(out.resumed_bytes > 0 && out.bytes + out.resumed_bytes == TOTAL, "{out:?}");
    assert!(out.bytes <= TOTAL * 15 / 100, "the second attempt moved {} of {TOTAL} bytes", out.bytes);
    assert_same_files(src.path(), &out.partition_dir);
    assert!(!temp_of(dst.path(), &id).exists());
    assert!(!out.partition_dir.join(".vbt-resume").exists());
}

/// Cuts a transfer through a proxy that then stays down: the bootstrap fails and keeps files.
fn cut_and_fail(src: &Path, id: &PartitionId, sender_extra: &[(&str, &str)], dst: &Path) -> (Node, Proxy) {
    cut_at_and_fail(src, id, sender_extra, dst, TOTAL / 2)
}

fn cut_at_and_fail(src: &Path, id: &PartitionId, sender_extra: &[(&str, &str)], dst: &Path, cut_at: u64) -> (Node, Proxy) {
    let (sender, addr) = snapshot_sender(src, id, sender_extra);
    let proxy = Proxy::start(addr, cut_at, false);
    // On one stream, so that what is kept is all that crossed (see the 90 % cut above).
    let err = files_receiver(dst, &[("vbt.receive.streams", "1")]).bootstrap_blocking(request(id, &[proxy.addr.clone()])).unwrap_err();
    assert_eq!(err.kind(), venice_blob_transfer::ErrorKind::AllPeersFailed, "{err}");
    let temp = temp_of(dst, id);
    assert!(temp.join(".vbt-resume").is_file(), "kept: {:?}", tree(dst));
    (sender, proxy)
}

/// A copy of `src` with `changed` rewritten (same size, other bytes): what another sender holds.
fn copy_with_changed(src: &Path, changed: &[&str]) -> TestDir {
    let other = tempdir();
    for f in entries(src) {
        std::fs::copy(src.join(&f), other.path().join(&f)).unwrap();
    }
    for f in changed {
        let mut body = std::fs::read(other.path().join(f)).unwrap();
        body.iter_mut().for_each(|b| *b = !*b);
        std::fs::write(other.path().join(f), body).unwrap();
    }
    other
}

#[test]
fn a_changed_kept_file_is_fetched_again_and_never_installed() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("tamper", 1, 0).unwrap();
    // A kept file altered on disk between attempts: dropped, fetched again.
    let dst = tempdir();
    let (_sender, proxy) = cut_and_fail(src.path(), &id, &[], dst.path());
    let temp = temp_of(dst.path(), &id);
    let victim = temp.join("000000.sst");
    assert!(victim.is_file(), "the first file was kept: {:?}", entries(&temp));
    let mut body = std::fs::read(&victim).unwrap();
    body[100] ^= 0xff;
    std::fs::write(&victim, body).unwrap();
    proxy.phase.store(PASS, Ordering::SeqCst);
    let out = files_receiver(dst.path(), &[]).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap();
    // Kept: at most what crossed before the cut (under load the cut lands a little past its
    // mark, and the files in flight are kept in part), less the altered file.
    let crossed = proxy.sent.load(Ordering::SeqCst);
    assert!(out.resumed_bytes > 0 && out.resumed_bytes <= crossed - FILE_SIZE as u64, "{crossed} crossed: {out:?}");
    assert_same_files(src.path(), &out.partition_dir);
}

/// Issue #22: a transfer cut at 90 % continues on a re-created snapshot of the same sender, and
/// on another sender holding the same files, moving only what is missing; a file that changed
/// under the same name and size is fetched again, never taken from the kept ones.
#[test]
fn a_cut_transfer_continues_across_a_recreated_snapshot_and_another_sender() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("identity", 1, 0).unwrap();

    // The sender's snapshot re-created in between (its retention expired).
    let dst = tempdir();
    let (_sender, proxy) = cut_at_and_fail(src.path(), &id, &[("vbt.snapshot.retention.ms", "300")], dst.path(), TOTAL * 9 / 10);
    std::thread::sleep(Duration::from_millis(600));
    proxy.phase.store(PASS, Ordering::SeqCst);
    let out = files_receiver(dst.path(), &[]).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap();
    assert_eq!(out.bytes + out.resumed_bytes, TOTAL, "{out:?}");
    assert!(out.bytes <= TOTAL * 15 / 100, "the retry moved {} of {TOTAL} bytes", out.bytes);
    assert_same_files(src.path(), &out.partition_dir);

    // Another sender with the same files (as one that received the partition from the first).
    let dst = tempdir();
    let (_sender, proxy) = cut_at_and_fail(src.path(), &id, &[], dst.path(), TOTAL * 9 / 10);
    let copy = copy_with_changed(src.path(), &[]);
    let (_other, other) = snapshot_sender(copy.path(), &id, &[]);
    let node = files_receiver(dst.path(), &[("vbt.zone", "z1")]);
    let out = node.bootstrap_blocking(request(&id, &[format!("{other}@z2")])).unwrap();
    assert_eq!(out.bytes + out.resumed_bytes, TOTAL, "{out:?}");
    // Where the bytes came from: the kept ones from the first sender, the rest from this one.
    assert_eq!((out.reused_from.clone(), out.peer.clone()), (vec![(proxy.addr.clone(), out.resumed_bytes)], other.clone()));
    // The same in /transfers and the metrics.
    let (_, done) = node.transfers();
    let row = done.iter().find(|r| r.state == "done").expect("the attempt's row");
    let reused = vec![venice_blob_transfer::ReusedFrom { peer: proxy.addr.clone(), bytes: out.resumed_bytes }];
    assert_eq!((row.bytes_reused, &row.reused_from, row.peer_zone.as_deref()), (out.resumed_bytes, &reused, Some("z2")));
    let metrics = node.metrics_text();
    let want = format!("vbt_bytes_received_by_zone_total{{peer_zone=\"z2\",same_zone=\"false\"}} {}", out.bytes);
    assert!(metrics.contains(&want), "{want} in\n{metrics}");
    assert!(out.bytes <= TOTAL * 15 / 100, "the other sender moved {} of {TOTAL} bytes", out.bytes);
    assert_same_files(src.path(), &out.partition_dir);

    // Another sender whose first two files differ (same names, same sizes): those two come
    // again from it, the rest of the kept ones stay.
    let dst = tempdir();
    let (_sender, _proxy) = cut_and_fail(src.path(), &id, &[], dst.path());
    let kept: Vec<String> = entries(&temp_of(dst.path(), &id)).into_iter().filter(|n| n.ends_with(".sst")).collect();
    let changed_names = ["000000.sst", "000001.sst"];
    let stale = changed_names.iter().filter(|n| kept.iter().any(|k| k == *n)).count();
    assert!(stale > 0, "a changed file was kept: {kept:?}");
    let changed = copy_with_changed(src.path(), &changed_names);
    let (_other, other) = snapshot_sender(changed.path(), &id, &[]);
    // Every byte kept of an unchanged file counts (a file in flight at the cut is kept in part).
    let temp = temp_of(dst.path(), &id);
    let sizes: std::collections::HashMap<String, u64> =
        kept.iter().map(|n| (n.clone(), std::fs::metadata(temp.join(n)).map_or(0, |m| m.len()))).collect();
    let good: u64 = sizes.iter().filter(|(n, _)| !changed_names.contains(&n.as_str())).map(|(_, l)| l).sum();
    let out = files_receiver(dst.path(), &[]).bootstrap_blocking(request(&id, &[other])).unwrap();
    assert_eq!(out.resumed_bytes, good, "{out:?}");
    assert_same_files(changed.path(), &out.partition_dir);

    // A sender of other files altogether: nothing kept matches, the transfer starts clean.
    let dst = tempdir();
    let (_sender, _proxy) = cut_and_fail(src.path(), &id, &[], dst.path());
    let foreign = tempdir();
    crate::common::files_snapshot(foreign.path(), FILES, FILE_SIZE, 8);
    let (_other, other) = snapshot_sender(foreign.path(), &id, &[]);
    let out = files_receiver(dst.path(), &[]).bootstrap_blocking(request(&id, &[other])).unwrap();
    assert_eq!((out.resumed_bytes, out.bytes), (0, TOTAL));
    assert_same_files(foreign.path(), &out.partition_dir);
}

#[test]
fn kept_files_go_when_stale_or_with_resume_off() {
    let src = tempdir();
    files_snapshot(src.path());
    let id = PartitionId::new("stale", 1, 0).unwrap();
    // Older than the retention: removed when the node starts.
    let dst = tempdir();
    let (_sender, _proxy) = cut_and_fail(src.path(), &id, &[], dst.path());
    std::thread::sleep(Duration::from_millis(20));
    let _node = files_receiver(dst.path(), &[("vbt.snapshot.retention.ms", "10")]);
    assert!(!temp_of(dst.path(), &id).exists(), "left: {:?}", tree(dst.path()));
    // And with resume off, a failed bootstrap keeps nothing.
    let dst = tempdir();
    let (_sender, addr) = snapshot_sender(src.path(), &id, &[]);
    let proxy = Proxy::start(addr, TOTAL / 2, false);
    files_receiver(dst.path(), &[("vbt.receive.resume", "false")]).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap_err();
    assert!(tree(dst.path()).is_empty(), "left: {:?}", tree(dst.path()));
}

#[test]
fn a_killed_fetch_resumes_when_run_again() {
    let src = tempdir();
    files_snapshot(src.path());
    let (o, v) = venice_blob_transfer::tools::records::gen_metadata_blobs(1, 24, 7);
    let blobs = tempdir();
    let (op, vp) = (blobs.path().join("offset"), blobs.path().join("svs"));
    std::fs::write(&op, o).unwrap();
    std::fs::write(&vp, v).unwrap();
    let (o, v) = (s(&op), s(&vp));
    let (_server, addr) = serve(&[
        "--snapshot-dir",
        &s(src.path()),
        "--store",
        "killed",
        "--version",
        "1",
        "--partition",
        "0",
        "--offset-record",
        &o,
        "--store-version-state",
        &v,
        "-D",
        "blob.transfer.service.write.limit.bytes.per.sec=8388608",
    ]);
    let id = PartitionId::new("killed", 1, 0).unwrap();
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
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vbt")).args(args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let temp = temp_of(dst.path(), &id);
    let started = Instant::now();
    let size = |t: &Path| -> u64 {
        std::fs::read_dir(t).map(|r| r.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
    };
    while size(&temp) < TOTAL / 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "the fetch never got half way");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let out = vbt(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (bytes, resumed) = (line["bytes"].as_u64().unwrap(), line["resumed_bytes"].as_u64().unwrap());
    assert_eq!(bytes + resumed, TOTAL);
    assert_eq!(line["reused_from"], serde_json::json!([{ "peer": addr, "bytes": resumed }]), "{line}");
    assert!(bytes <= TOTAL * 55 / 100, "the rerun moved {bytes} of {TOTAL} bytes");
    assert_same_files(src.path(), &Layout::new(dst.path()).partition_dir(&id));
    assert!(!temp.exists());
}

/// A real RocksDB partition of about `mib` MiB, compacted into files of about 512 KiB (so no
/// node that opens it compacts it again: the files stay as written), and its metadata beside it.
fn many_sst_partition(base: &Path, id: &PartitionId, mib: u64) {
    use venice_blob_transfer::tools::{db_options, local, records};
    let layout = Layout::new(base);
    std::fs::create_dir_all(layout.version_dir(id)).unwrap();
    let mut opts = db_options(venice_blob_transfer::TableFormat::BlockBased);
    opts.create_if_missing(true);
    opts.set_target_file_size_base(512 * 1024);
    let db = rocksdb::DB::open(&opts, layout.partition_dir(id)).unwrap();
    let mut rng = fastrand::Rng::with_seed(22);
    let mut value = vec![0u8; 1000];
    for i in 0..mib * 1000 {
        rng.fill(&mut value);
        db.put(format!("key-{i:08}"), &value).unwrap();
    }
    db.flush().unwrap();
    let mut compact = rocksdb::CompactOptions::default();
    compact.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
    db.compact_range_opt(None::<&[u8]>, None::<&[u8]>, &compact);
    drop(db);
    let (o, s) = records::gen_metadata_blobs(mib * 1000, 24, 7);
    local::write_metadata(base, id, &venice_blob_transfer::PartitionMetadata::new(id, o, s).unwrap()).unwrap();
}

/// Issue #22, with real RocksDB on both senders: a bootstrap from A cut at 90 % continues from
/// B, a node that received the partition from A earlier and serves its own checkpoint of it
/// (its SSTs under the same names, its own MANIFEST and OPTIONS). Only what differs moves.
#[test]
fn a_cut_rocksdb_bootstrap_continues_from_a_node_that_received_it_earlier() {
    use venice_blob_transfer::TableFormat::BlockBased;
    let id = PartitionId::new("lineage", 1, 0).unwrap();
    let (a_dir, b_dir, c_dir) = (tempdir(), tempdir(), tempdir());
    many_sst_partition(a_dir.path(), &id, 24);
    let ssts = entries(&Layout::new(a_dir.path()).partition_dir(&id)).iter().filter(|n| n.ends_with(".sst")).count();
    assert!(ssts >= 40, "{ssts} SST files");
    let (_a, a_addr) = sender(a_dir.path(), BlockBased, &[]);
    // B received the partition from A and serves it now.
    let b = receiver(b_dir.path(), BlockBased, &[("davinci.p2p.blob.transfer.server.port", "0")]);
    let whole = b.bootstrap_blocking(request(&id, &[a_addr.to_string()])).unwrap();
    let total = whole.bytes;
    let b_addr = b.start_server().unwrap().to_string();
    // C's bootstrap from A is cut at 90 % and A is gone.
    let proxy = Proxy::start(a_addr.to_string(), total * 9 / 10, false);
    // One stream, so the cut loses one file in flight, not one per stream.
    let c = receiver(c_dir.path(), BlockBased, &[("vbt.receive.streams", "1")]);
    c.bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap_err();
    let out = c.bootstrap_blocking(request(&id, &[b_addr])).unwrap();
    assert!(out.resumed_bytes >= total * 8 / 10, "{} of {total} bytes kept: {out:?}", out.resumed_bytes);
    assert!(out.bytes <= total * 15 / 100, "B moved {} of {total} bytes", out.bytes);
    // What C installed is B's checkpoint, file for file, and RocksDB opens it (the receiver's
    // check ran before the publish).
    let installed = entries(&out.partition_dir).iter().filter(|n| n.ends_with(".sst")).count();
    assert_eq!(installed, ssts);
    assert!(!temp_of(c_dir.path(), &id).exists());
}

/// Issue #22: a cut inside files loses none of their bytes that reached the disk. Each partly
/// received file goes on from where it stopped (`X-Vbt-Resume-From`, `x-vbt-offset`) and the
/// whole file's checksum decides; a kept start altered in between fails that check, is removed,
/// and the next try fetches that file whole. Nothing wrong is installed either way.
#[test]
fn a_cut_inside_files_continues_each_from_where_it_stopped() {
    const BIG: usize = 4 << 20;
    const N: usize = 8;
    let total = (N * BIG) as u64;
    let src = tempdir();
    crate::common::files_snapshot(src.path(), N, BIG, 9);
    let id = PartitionId::new("infile", 1, 0).unwrap();
    let (_sender, addr) = snapshot_sender(src.path(), &id, &[]);
    // MD5 as Venice checks it (the kept start is hashed on the sink's thread, not in lanes).
    let md5 = [("vbt.checksum.fast", "false")];
    for (altered, extra) in [(false, &[][..]), (true, &[][..]), (false, &md5[..])] {
        let dst = tempdir();
        let proxy = Proxy::start(addr.clone(), total / 2, false);
        // The cut on one stream: it then falls inside a file for sure (the 4th, whose head crossed
        // long before). On two, one stream may end at a file's end and its failure end the
        // attempt before a slowed-down receiver read the other's head: no file started at all.
        let one = [extra, &[("vbt.receive.streams", "1")]].concat();
        files_receiver(dst.path(), &one).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap_err();
        // The journal names the whole files and the started ones; a started one holds what
        // reached the disk.
        let temp = temp_of(dst.path(), &id);
        let journal = std::fs::read_to_string(temp.join(".vbt-resume")).unwrap();
        let lines: Vec<serde_json::Value> = journal.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
        let name_of = |l: &serde_json::Value| l["name"].as_str().unwrap().to_string();
        let whole: Vec<String> = lines.iter().filter(|l| l.get("started").is_none()).map(name_of).collect();
        let started: Vec<String> =
            lines.iter().filter(|l| l.get("started").is_some()).map(name_of).filter(|n| !whole.contains(n)).collect();
        let have = |n: &String| std::fs::metadata(temp.join(n)).map_or(0, |m| m.len());
        let mut partial: Vec<(u64, String)> = started.iter().map(|n| (have(n), n.clone())).filter(|(h, _)| *h > 0).collect();
        partial.sort();
        assert!(!partial.is_empty(), "the cut fell inside a file: {journal}");
        // All of a file may be on disk before its checksum was recorded: it is still partial
        // (asked from its end, an empty body, and checked whole).
        assert!(partial.iter().all(|(h, _)| *h <= BIG as u64), "{partial:?}");
        let kept = whole.len() as u64 * BIG as u64 + partial.iter().map(|(h, _)| h).sum::<u64>();
        if altered {
            let (_, victim) = partial.last().unwrap();
            let mut f = std::fs::OpenOptions::new().write(true).open(temp.join(victim)).unwrap();
            f.write_all(b"\xff\xfe").unwrap();
        }
        proxy.phase.store(PASS, Ordering::SeqCst);
        let out = files_receiver(dst.path(), extra).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap();
        assert_eq!(out.bytes + out.resumed_bytes, total, "{out:?}");
        assert_eq!(out.checksum, if extra.is_empty() { "XXH3-128" } else { "MD5" });
        if altered {
            let failed: Vec<String> = out.failed_peers.iter().map(|f| f.error.to_string()).collect();
            assert!(
                failed.len() == 1 && failed[0].contains("kept from an earlier attempt") && failed[0].contains(&partial.last().unwrap().1),
                "{failed:?}"
            );
            assert_eq!(out.bytes, BIG as u64, "only the altered file came again, whole: {out:?}");
        } else {
            assert!(out.failed_peers.is_empty(), "{:?}", out.failed_peers);
            assert_eq!(out.resumed_bytes, kept, "every kept byte counted, none fetched again: {out:?}");
        }
        assert_same_files(src.path(), &out.partition_dir);
        assert!(!temp.exists());
    }
}
