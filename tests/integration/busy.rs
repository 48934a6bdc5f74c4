//! A busy vbt sender (protocol::ext): its 429 to a vbt receiver says when to come back
//! (`retry-after`) and how loaded it is (`x-vbt-load`); the receiver waits that long, within
//! `vbt.peer.busy.wait.ms`, and asks again instead of falling back at once: the first time by
//! waiting in that sender's line (`X-Vbt-Wait`), first come first served. Venice's receivers
//! get Venice's 429, byte for byte. Among the peers that answer, a receiver asks those of its own
//! zone (`vbt.zone`, `host:port@zone`) first, then the least loaded by what their 429s said.

use std::io::{Read, Write};
use std::time::Duration;

use venice_blob_transfer::tools::{records, response};
use venice_blob_transfer::{ErrorKind, PartitionId, TableFormat};

use crate::common::*;

#[test]
fn a_busy_sender_is_asked_again_after_its_retry_after() {
    let (a, first, second, impatient) = (tempdir(), tempdir(), tempdir(), tempdir());
    let id = PartitionId::new("busyStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 600);
    // One slot, and sends slow enough that the first transfer holds it for seconds: about 6 s
    // (0.6 MB at 100 kB/s), room for the three refused requests below on a loaded machine (at
    // 2.4 s the slot could come free before the last of them). The retry-after the waiting
    // receiver gets is that transfer's remaining time, well inside vbt.peer.busy.wait.ms (30 s).
    let extra = [("blob.transfer.max.concurrent.snapshot.user", "1"), ("blob.transfer.service.write.limit.bytes.per.sec", "100000")];
    let (sender, addr) = sender(a.path(), TableFormat::BlockBased, &extra);
    let peer = addr.to_string();
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| receiver(first.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[peer.clone()])));
        assert!(eventually(Duration::from_secs(30), || sender.active_transfers() == 1), "the first transfer holds the slot");

        // Venice's receiver: Venice's 429, exactly.
        let mut java = std::net::TcpStream::connect(addr).unwrap();
        java.write_all(&venice_blob_transfer::tools::request::encode_request(&id, TableFormat::BlockBased, 24, 7)).unwrap();
        let want = response::error_response(
            429,
            "The number of concurrent snapshot users exceeds the limit of 1, won't be able to process the request for busyStore_v1-0",
        );
        let mut got = vec![0u8; want.len()];
        java.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
        drop(java);

        // A vbt receiver that may not wait falls back at once, as Venice does.
        let e = receiver(impatient.path(), TableFormat::BlockBased, &[("vbt.peer.busy.wait.ms", "0")])
            .bootstrap_blocking(request(&id, &[peer.clone()]))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AllPeersFailed, "{e}");
        assert!(e.message().contains("429"), "{e}");

        // The default: wait the retry-after and ask again; the partition arrives.
        let out = receiver(second.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[peer.clone()])).unwrap();
        assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 600);
        assert!(
            out.failed_peers.iter().any(|f| f.peer == peer && f.error.message().contains("429")),
            "the busy answer is on record: {:?}",
            out.failed_peers
        );
        let held = holder.join().unwrap().unwrap();
        assert_eq!(records::verify(&held.partition_dir, TableFormat::BlockBased).unwrap(), 600);
    });
}

/// The sender's `vbt_admissions_queued_total`.
fn queued(node: &venice_blob_transfer::Node) -> u64 {
    let text = node.metrics_text();
    let line = text.lines().find(|l| l.starts_with("vbt_admissions_queued_total ")).expect("the queue's counter is exported");
    line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap() as u64
}

/// Issue #22: receivers that every peer refused wait in the busy sender's line instead of
/// asking again and again. A freed slot goes to the oldest waiter, each waiter is refused only
/// by the first ask, and a full line (`vbt.server.admission.queue`) refuses at once.
#[test]
fn refused_receivers_wait_in_the_senders_line_first_come_first_served() {
    let (a, first, r1, r2, r3) = (tempdir(), tempdir(), tempdir(), tempdir(), tempdir());
    let (big, small) = (PartitionId::new("lineStore", 1, 0).unwrap(), PartitionId::new("lineStore", 1, 1).unwrap());
    gen_partition(a.path(), &big, TableFormat::BlockBased, 600);
    gen_partition(a.path(), &small, TableFormat::BlockBased, 50);
    // One slot held for about 6 s (as above), and a line of two.
    let extra = [
        ("blob.transfer.max.concurrent.snapshot.user", "1"),
        ("blob.transfer.service.write.limit.bytes.per.sec", "100000"),
        ("vbt.server.admission.queue", "2"),
    ];
    let (sender, addr) = sender(a.path(), TableFormat::BlockBased, &extra);
    let peer = addr.to_string();
    let fetch = |dir: &std::path::Path, cfg: &[(&str, &str)]| {
        let out = receiver(dir, TableFormat::BlockBased, cfg).bootstrap_blocking(request(&small, &[peer.clone()]));
        (out, std::time::Instant::now())
    };
    std::thread::scope(|scope| {
        let holder =
            scope.spawn(|| receiver(first.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&big, &[peer.clone()])));
        assert!(eventually(Duration::from_secs(30), || sender.active_transfers() == 1), "the first transfer holds the slot");
        let w1 = scope.spawn(|| fetch(r1.path(), &[]));
        assert!(eventually(Duration::from_secs(30), || queued(&sender) == 1), "the first receiver waits in line");
        let w2 = scope.spawn(|| fetch(r2.path(), &[]));
        assert!(eventually(Duration::from_secs(30), || queued(&sender) == 2), "the second receiver waits behind it");
        // The line is full: a third is refused at once, and with too little budget to wait in
        // line again, it falls back (two 429s on record, or three if the retry-after and its
        // jitter fit in what the refused line left of the 1.5 s).
        let (third, _) = fetch(r3.path(), &[("vbt.peer.busy.wait.ms", "1500")]);
        let e = third.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AllPeersFailed, "{e}");
        let refusals = e.peer_failures().iter().filter(|f| f.error.message().contains("429")).count();
        assert!((2..=3).contains(&refusals), "{e}");
        assert_eq!(sender.active_transfers(), 1, "the holder still held the slot while the third was refused");

        let ((o1, t1), (o2, t2)) = (w1.join().unwrap(), w2.join().unwrap());
        let (o1, o2) = (o1.unwrap(), o2.unwrap());
        // When each was served: its first file (not when it returned: the first one's install,
        // slow on a loaded disk, may outlast the second one's whole transfer).
        let served = |o: &venice_blob_transfer::BootstrapOutcome, end: std::time::Instant| end - o.elapsed + o.first_byte;
        assert!(served(&o1, t1) < served(&o2, t2), "the first in line is served first: {o1:?}\n{o2:?}");
        for o in [&o1, &o2] {
            assert_eq!(records::verify(&o.partition_dir, TableFormat::BlockBased).unwrap(), 50);
            assert_eq!(o.failed_peers.len(), 1, "refused only by its first ask: {:?}", o.failed_peers);
            assert!(o.failed_peers[0].error.message().contains("429"), "{:?}", o.failed_peers);
        }
        holder.join().unwrap().unwrap();
    });
}

/// Issue #22: with `vbt.zone` set, the peer of the same zone is asked first, whatever order
/// the peers come in; a receiver without a zone keeps Venice's random pick.
#[test]
fn the_peer_in_our_zone_is_asked_first() {
    let (near_dir, far_dir) = (tempdir(), tempdir());
    let id = PartitionId::new("zoneStore", 1, 0).unwrap();
    gen_partition(near_dir.path(), &id, TableFormat::BlockBased, 100);
    gen_partition(far_dir.path(), &id, TableFormat::BlockBased, 100);
    let (_near, near) = sender(near_dir.path(), TableFormat::BlockBased, &[]);
    let (_far, far) = sender(far_dir.path(), TableFormat::BlockBased, &[]);
    for order in [[format!("{far}@us-west-2b"), format!("{near}@us-east-1a")], [format!("{near}@us-east-1a"), format!("{far}@us-west-2b")]]
    {
        for _ in 0..3 {
            let dst = tempdir();
            let mut req = request(&id, &order);
            req.preserve_order = false;
            let out = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.zone", "us-east-1a")]).bootstrap_blocking(req).unwrap();
            assert_eq!(out.peer, near.to_string(), "{order:?}");
            assert!(out.failed_peers.is_empty(), "{:?}", out.failed_peers);
        }
    }
    let e = venice_blob_transfer::Config::from_pairs([("vbt.zone", "us east")]).expect_err("a bad zone is refused");
    assert!(e.message().contains("vbt.zone"), "{e}");
    let dst = tempdir();
    let e = receiver(dst.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[format!("{near}@bad zone")])).unwrap_err();
    assert!(e.message().contains("bad zone"), "{e}");
}

/// Issue #22: a sender that answered 429 with its load is asked after an idle one next time.
#[test]
fn a_sender_that_said_it_is_busy_is_asked_after_an_idle_one() {
    let (busy_dir, idle_dir, first, r) = (tempdir(), tempdir(), tempdir(), tempdir());
    let id = PartitionId::new("loadStore", 1, 0).unwrap();
    gen_partition(busy_dir.path(), &id, TableFormat::BlockBased, 600);
    gen_partition(idle_dir.path(), &id, TableFormat::BlockBased, 600);
    // About 6 s of holding: the first bootstrap below must meet the slot taken.
    let slow = [("blob.transfer.max.concurrent.snapshot.user", "1"), ("blob.transfer.service.write.limit.bytes.per.sec", "100000")];
    let (busy_node, busy) = sender(busy_dir.path(), TableFormat::BlockBased, &slow);
    let (_idle_node, idle) = sender(idle_dir.path(), TableFormat::BlockBased, &[]);
    let peers = [busy.to_string(), idle.to_string()];
    std::thread::scope(|scope| {
        let holder =
            scope.spawn(|| receiver(first.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[busy.to_string()])));
        assert!(eventually(Duration::from_secs(30), || busy_node.active_transfers() == 1), "the first transfer holds the slot");
        let node = receiver(r.path(), TableFormat::BlockBased, &[("vbt.peer.busy.wait.ms", "0")]);
        // In the given order: the busy one first, its 429 on record, then the idle one.
        let out = node.bootstrap_blocking(request(&id, &peers)).unwrap();
        assert_eq!(out.peer, idle.to_string());
        assert!(out.failed_peers.iter().any(|f| f.peer == busy.to_string() && f.error.message().contains("429")), "{:?}", out.failed_peers);
        // Another partition of the same node, Venice's random order: the idle one first, every time.
        for p in 1..=3 {
            let other = PartitionId::new("loadStore", 1, p).unwrap();
            gen_partition(idle_dir.path(), &other, TableFormat::BlockBased, 50);
            gen_partition(busy_dir.path(), &other, TableFormat::BlockBased, 50);
            let mut req = request(&other, &peers);
            req.preserve_order = false;
            let out = node.bootstrap_blocking(req).unwrap();
            assert_eq!(out.peer, idle.to_string());
            assert!(out.failed_peers.is_empty(), "{:?}", out.failed_peers);
        }
        holder.join().unwrap().unwrap();
    });
}

/// The request of a vbt receiver that asks to wait up to `secs` in line.
fn wait_ask(id: &PartitionId, secs: u32) -> Vec<u8> {
    let asks = venice_blob_transfer::tools::ext::Asks { wait_secs: secs, ..Default::default() };
    venice_blob_transfer::tools::request::encode_request_with(id, TableFormat::BlockBased, 24, 7, &asks)
}

/// The first line of what the sender answers on `s` ("" if it closed without a word).
fn status_line(s: &mut std::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        match s.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).trim_end().to_string()
}

/// A receiver that asked to wait and went away (its attempt timed out, it was killed) leaves the
/// line: it holds neither a place in it, nor a connection of `vbt.server.max.connections`, nor
/// the next slot that frees, which goes to the live receiver behind it.
#[test]
fn a_waiter_that_hangs_up_leaves_the_line() {
    let a = tempdir();
    let (big, small) = (PartitionId::new("hangupStore", 1, 0).unwrap(), PartitionId::new("hangupStore", 1, 1).unwrap());
    // About 10 MB: more than the socket buffers of a holder that does not read hold.
    gen_partition(a.path(), &big, TableFormat::BlockBased, 10_000);
    gen_partition(a.path(), &small, TableFormat::BlockBased, 50);
    // One slot, a line of one, and room for two connections.
    let extra =
        [("blob.transfer.max.concurrent.snapshot.user", "1"), ("vbt.server.admission.queue", "1"), ("vbt.server.max.connections", "2")];
    let (sender, addr) = sender(a.path(), TableFormat::BlockBased, &extra);
    // The holder reads nothing, into a small buffer: the sender blocks on it, holding the slot,
    // until it hangs up.
    let mut holder = std::net::TcpStream::connect(addr).unwrap();
    {
        use std::os::fd::AsRawFd;
        let size: libc::c_int = 64 * 1024;
        // SAFETY: a valid socket and a c_int option value of the size given.
        let rc = unsafe {
            libc::setsockopt(
                holder.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &size as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
    }
    holder.write_all(&venice_blob_transfer::tools::request::encode_request(&big, TableFormat::BlockBased, 24, 7)).unwrap();
    assert!(eventually(Duration::from_secs(30), || sender.active_transfers() == 1), "the holder holds the slot");

    let mut gone = std::net::TcpStream::connect(addr).unwrap();
    gone.write_all(&wait_ask(&small, 60)).unwrap();
    assert!(eventually(Duration::from_secs(30), || queued(&sender) == 1), "it waits in line");
    drop(gone);

    // Its connection is closed: a plain request is served (a 429, the slot is held) rather than
    // closed at once for a table full of connections that serve.
    let answered = eventually(Duration::from_secs(30), || {
        let mut probe = std::net::TcpStream::connect(addr).unwrap();
        probe.write_all(&venice_blob_transfer::tools::request::encode_request(&small, TableFormat::BlockBased, 24, 7)).unwrap();
        status_line(&mut probe).starts_with("HTTP/1.1 429")
    });
    assert!(answered, "the departed waiter still pins a connection of vbt.server.max.connections");
    assert_eq!(sender.active_transfers(), 1, "the holder still holds the slot");

    // Its place in the line is free too, and the slot goes to the live waiter.
    let mut live = std::net::TcpStream::connect(addr).unwrap();
    live.write_all(&wait_ask(&small, 60)).unwrap();
    assert!(eventually(Duration::from_secs(30), || queued(&sender) == 2), "the live receiver asked to wait");
    drop(holder);
    assert_eq!(status_line(&mut live), "HTTP/1.1 200 OK", "the freed slot is the live waiter's");
}

/// A sender that refuses the ask to wait at once (its line is full, or it is a vbt sender of
/// before the line, which ignores `X-Vbt-Wait`; `vbt.server.admission.queue=0` stands for both)
/// does not use up the receiver's `vbt.peer.busy.wait.ms`: the receiver waits its retry-after
/// and asks again, as it did before the line existed, and the partition arrives.
#[test]
fn a_line_refused_at_once_leaves_the_budget_for_the_retry_after() {
    let (a, first, r) = (tempdir(), tempdir(), tempdir());
    let (big, small) = (PartitionId::new("noLineStore", 1, 0).unwrap(), PartitionId::new("noLineStore", 1, 1).unwrap());
    gen_partition(a.path(), &big, TableFormat::BlockBased, 600);
    gen_partition(a.path(), &small, TableFormat::BlockBased, 50);
    // One slot held for about 6 s (as above), and no line.
    let extra = [
        ("blob.transfer.max.concurrent.snapshot.user", "1"),
        ("blob.transfer.service.write.limit.bytes.per.sec", "100000"),
        ("vbt.server.admission.queue", "0"),
    ];
    let (sender, addr) = sender(a.path(), TableFormat::BlockBased, &extra);
    let peer = addr.to_string();
    std::thread::scope(|scope| {
        let holder =
            scope.spawn(|| receiver(first.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&big, &[peer.clone()])));
        assert!(eventually(Duration::from_secs(30), || sender.active_transfers() == 1), "the first transfer holds the slot");
        // The default budget, 30 s: room for the retry-after of a 6 s transfer.
        let out = receiver(r.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&small, &[peer.clone()]));
        let out = out.expect("asked again after the retry-after, within vbt.peer.busy.wait.ms");
        assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 50);
        assert!(out.failed_peers.len() >= 2, "refused at first and when it asked to wait: {:?}", out.failed_peers);
        holder.join().unwrap().unwrap();
    });
}
