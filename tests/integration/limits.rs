//! Traffic shaping and time limits: lower bounds only (robust on a noisy machine), and peers that
//! never answer, stall mid-file or trickle bytes.

use std::io::Write;
use std::time::{Duration, Instant};

use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::response::file_head;
use venice_blob_transfer::{PartitionId, Signal, TableFormat};

use crate::common::*;

const RECORDS: u64 = 3000; // ≈ 3 MB

#[test]
fn write_limit_bounds_a_transfer_from_below() {
    let a = tempdir();
    let id = PartitionId::new("limited", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, RECORDS);
    let limit: u64 = 4 << 20;
    let (_s, addr) = sender(a.path(), TableFormat::BlockBased, &[("blob.transfer.service.write.limit.bytes.per.sec", &limit.to_string())]);
    let b = tempdir();
    let started = Instant::now();
    let out = receiver(b.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    let took = started.elapsed().as_secs_f64();
    let floor = (out.bytes.saturating_sub(1 << 20)) as f64 / limit as f64;
    assert!(took >= floor, "{} bytes at {limit} B/s took {took:.3}s, less than {floor:.3}s", out.bytes);
}

#[test]
fn two_transfers_share_one_read_limit() {
    let a = tempdir();
    let ids: Vec<PartitionId> = (0..2).map(|p| PartitionId::new("shared", 1, p).unwrap()).collect();
    for id in &ids {
        gen_partition(a.path(), id, TableFormat::BlockBased, RECORDS);
    }
    let (_s, addr) = sender(a.path(), TableFormat::BlockBased, &[("blob.transfer.service.write.limit.bytes.per.sec", "0")]);
    let b = tempdir();
    let limit: u64 = 6 << 20;
    let node = receiver(b.path(), TableFormat::BlockBased, &[("blob.transfer.client.read.limit.bytes.per.sec", &limit.to_string())]);
    let started = Instant::now();
    let ops: Vec<_> = ids.iter().map(|id| node.bootstrap(request(id, &[addr.to_string()])).unwrap()).collect();
    let bytes: u64 = ops.into_iter().map(|op| op.wait().unwrap().bytes).sum();
    let took = started.elapsed().as_secs_f64();
    let floor = (bytes.saturating_sub(2 << 20)) as f64 / limit as f64;
    assert!(took >= floor, "{bytes} bytes through one {limit} B/s limit took {took:.3}s < {floor:.3}s");
}

#[test]
fn limits_change_at_run_time_and_adaptive_factor_follows_signals() {
    let base = tempdir();
    let node = receiver(
        base.path(),
        TableFormat::BlockBased,
        &[
            ("blob.transfer.service.write.limit.bytes.per.sec", "1000"),
            ("blob.transfer.client.read.limit.bytes.per.sec", "2000"),
            ("server.adaptive.throttler.enabled", "true"),
            ("server.blob.transfer.adaptive.throttler.enabled", "true"),
            ("server.blob.transfer.adaptive.throttler.update.percentage", "20"),
            ("server.adaptive.throttler.signal.idle.threshold", "2"),
            ("vbt.adaptive.throttler.interval.ms", "3600000"),
        ],
    );
    assert_eq!(node.effective_limits(), (1000, 2000));
    node.set_throttle_signal(Signal::Limiter, true).unwrap();
    let script: Vec<u32> = (0..5).map(|_| node.throttle_tick().unwrap()).collect();
    assert_eq!(script, [80, 60, 40, 20, 20]);
    assert_eq!(node.effective_limits(), (200, 400));
    node.set_throttle_signal(Signal::Limiter, false).unwrap();
    node.set_throttle_signal(Signal::Booster, true).unwrap();
    assert_eq!(node.throttle_tick().unwrap(), 40);
    node.set_throttle_signal(Signal::Booster, false).unwrap();
    let quiet: Vec<u32> = (0..4).map(|_| node.throttle_tick().unwrap()).collect();
    assert_eq!(quiet, [40, 60, 60, 80], "every 2 quiet ticks raise one step");
    node.set_write_limit(5000);
    assert_eq!(node.effective_limits().0, 4000);
    // Off by default: a clear error.
    let base = tempdir(); // outlives the node (its state dir sits beside it)
    let plain = receiver(base.path(), TableFormat::BlockBased, &[]);
    assert!(plain.throttle_tick().unwrap_err().message().contains("server.adaptive.throttler.enabled"));
}

fn stalling_peer(after: &[u8], trickle: Option<Duration>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let after = after.to_vec();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let after = after.clone();
            std::thread::spawn(move || {
                if read_head(&mut s).is_empty() {
                    return;
                }
                let _ = s.write_all(&after);
                match trickle {
                    // One body byte at a time, forever (until the client gives up).
                    Some(every) => loop {
                        std::thread::sleep(every);
                        if s.write_all(b"x").is_err() {
                            return;
                        }
                    },
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    addr
}

#[test]
fn stalled_and_trickling_peers_end_within_their_limits() {
    let id = my_store();
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(
        base.path(),
        TableFormat::BlockBased,
        // The trickle's 50 ms between bytes far below the idle limit: a trickling thread held up
        // a few hundred ms on a loaded machine must not read as a stall.
        &[("vbt.receive.verify.rocksdb", "false"), ("vbt.receive.reader.idle.ms", "1000"), ("vbt.receive.max.timeout.ms", "2500")],
    );
    let mut head = file_head("big.sst", 1 << 30, "00000000000000000000000000000000");
    head.extend_from_slice(b"partial");
    let stall = stalling_peer(&head, None);
    let trickle = stalling_peer(&head, Some(Duration::from_millis(50)));
    let started = Instant::now();
    let out = node.bootstrap_blocking(request(&id, &[stall.clone(), trickle.clone(), good.peer()])).unwrap();
    let took = started.elapsed();
    assert_eq!(out.peer, good.peer());
    let why: Vec<String> = out.failed_peers.iter().map(|f| f.error.message().to_string()).collect();
    assert!(why[0].contains("reader idle"), "{why:?}");
    assert!(why[1].contains("did not finish within"), "{why:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!Layout::new(base.path()).temp_dir(&id).exists());
}

#[test]
fn bootstraps_beyond_the_receive_limit_wait_their_turn() {
    // The first bootstrap's peer takes the request and answers only when the test says so: the
    // first holds the one receive slot exactly until then, however slow this machine is.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held_addr = held.local_addr().unwrap().to_string();
    let (asked, asked_rx) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for conn in held.incoming() {
            let Ok(mut s) = conn else { continue };
            if read_head(&mut s).is_empty() {
                continue; // a connectivity probe
            }
            let _ = asked.send(());
            let _ = released.recv();
            return; // closes the connection (and the listener): the first bootstrap fails
        }
    });
    let good = ScriptedPeer::start(vector("java-sender-2files.response.bin"), true);
    let base = tempdir();
    let node = receiver(
        base.path(),
        TableFormat::BlockBased,
        &[("vbt.receive.verify.rocksdb", "false"), ("blob.transfer.max.concurrent.blob.receive.replicas", "1")],
    );
    let first = node.bootstrap(request(&PartitionId::new("myStore", 1, 5).unwrap(), &[held_addr])).unwrap();
    // The slot is taken before any peer is contacted: from here on the first holds it.
    asked_rx.recv_timeout(Duration::from_secs(30)).expect("the first bootstrap asked its peer");
    let second = node.bootstrap(request(&my_store(), &[good.peer()])).unwrap();
    // Were the limit not kept, the second would reach its peer now.
    std::thread::sleep(Duration::from_millis(300));
    assert!(good.requests.lock().unwrap().is_empty(), "the second bootstrap ran while the first held the only slot");
    release.send(()).unwrap();
    assert!(first.wait().is_err(), "its peer closed the connection without an answer");
    second.wait().expect("waited, not refused");
    assert_eq!(good.requests.lock().unwrap().len(), 1);
}

#[test]
fn sender_time_limit_ends_a_slow_transfer() {
    let a = tempdir();
    let id = PartitionId::new("slowSend", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, RECORDS);
    let (s, addr) = sender(
        a.path(),
        TableFormat::BlockBased,
        &[("blob.transfer.service.write.limit.bytes.per.sec", "500000"), ("vbt.sender.max.timeout.ms", "500")],
    );
    let b = tempdir();
    let err = receiver(b.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap_err();
    assert!(err.message().contains("closed the connection"), "{err}");
    assert!(eventually(Duration::from_secs(5), || s.active_transfers() == 0));
    assert!(!Layout::new(b.path()).partition_dir(&id).exists());
    let _ = records::VALUE_SIZE;
}
