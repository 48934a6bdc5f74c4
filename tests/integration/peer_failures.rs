//! Every peer failing: each one is reported with its own kind (not only in the joined message),
//! Venice's fallback reason follows from whether a transfer was attempted, and `vbt fetch` says
//! both in its JSON. Also progress delivered on the callback thread.

use std::sync::{Arc, Mutex};

use crate::common::*;
use venice_blob_transfer::{ErrorKind, PartitionId, TableFormat};

#[test]
fn two_bad_peers_are_both_listed_with_their_kinds() {
    let (a, b) = (tempdir(), tempdir());
    let served = PartitionId::new("failStore", 1, 0).unwrap();
    gen_partition(a.path(), &served, TableFormat::BlockBased, 200);
    let (_sender, addr) = sender(a.path(), TableFormat::BlockBased, &[]);
    let rx = receiver(b.path(), TableFormat::BlockBased, &[]);
    let dead = dead_port();

    // Partition 3 is not served (the sender answers 404); nothing listens on the dead port.
    let missing = PartitionId::new("failStore", 1, 3).unwrap();
    let e = rx.bootstrap_blocking(request(&missing, &[dead.clone(), addr.to_string()])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AllPeersFailed, "{e}");
    let failed = e.peer_failures();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let of = |peer: &str| failed.iter().find(|f| f.peer == peer).unwrap_or_else(|| panic!("{peer} not in {failed:?}"));
    assert_eq!(of(&dead).error.kind(), ErrorKind::Io, "{failed:?}");
    assert!(of(&dead).probe_only, "the dead peer failed the connectivity check: {failed:?}");
    assert_eq!(of(&addr.to_string()).error.kind(), ErrorKind::PeerStatus, "{failed:?}");
    assert_eq!(of(&addr.to_string()).error.status(), Some(404));
    assert!(!of(&addr.to_string()).probe_only);
    for f in failed {
        assert!(e.message().contains(&f.peer) && e.message().contains(f.error.message()), "{e}");
    }
    // A transfer was attempted and failed.
    assert_eq!(e.fallback_reason(), Some("all_hosts_failed"));

    // Only peers that fail the connectivity check: no candidate was ever asked.
    let e = rx.bootstrap_blocking(request(&missing, &[dead.clone(), dead_port()])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AllPeersFailed, "{e}");
    assert_eq!(e.peer_failures().len(), 2);
    assert!(e.peer_failures().iter().all(|f| f.probe_only && f.error.kind() == ErrorKind::Io));
    assert_eq!(e.fallback_reason(), Some("no_candidates"));

    // No peer at all.
    let e = rx.bootstrap_blocking(request(&missing, &[])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoPeers, "{e}");
    assert!(e.peer_failures().is_empty());
    assert_eq!(e.fallback_reason(), Some("no_candidates"));

    // Not a fallback: the partition is installed already.
    rx.bootstrap_blocking(request(&served, &[addr.to_string()])).unwrap();
    let e = rx.bootstrap_blocking(request(&served, &[addr.to_string()])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PartitionExists, "{e}");
    assert_eq!(e.fallback_reason(), None);
}

#[test]
fn fetch_json_lists_failed_peers_and_the_fallback_reason() {
    let (a, b) = (tempdir(), tempdir());
    gen_partition(a.path(), &PartitionId::new("cliFail", 1, 0).unwrap(), TableFormat::BlockBased, 200);
    let (_server, addr) = serve(&["--base-dir", &s(a.path())]);
    let dead = dead_port();
    let fetch = |partition: &str, peers: &[&str], extra: &[&str]| {
        let mut args =
            vec!["fetch", "--base-dir", b.path().to_str().unwrap(), "--store", "cliFail", "--version", "1", "--partition", partition];
        for p in peers {
            args.extend(["--peer", p]);
        }
        args.extend(extra);
        let out = vbt(&args);
        let line: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), line)
    };

    let (code, r) = fetch("5", &[&dead, &addr], &[]);
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(r["code"], "ALL_PEERS_FAILED", "{r}");
    assert_eq!(r["code_number"], 10, "{r}");
    assert_eq!(r["fallback_reason"], "all_hosts_failed", "{r}");
    let failed = r["failed_peers"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{r}");
    let of = |peer: &str| failed.iter().find(|f| f["peer"] == peer).unwrap_or_else(|| panic!("{peer} not in {r}"));
    assert_eq!(of(&dead)["code"], "IO");
    assert_eq!(of(&dead)["code_number"], 3);
    assert_eq!(of(&dead)["probe_only"], true);
    assert_eq!(of(&addr)["code"], "PEER_STATUS");
    assert_eq!(of(&addr)["code_number"], 6);
    assert!(of(&addr)["error"].as_str().unwrap().contains("404"), "{r}");

    let (code, r) = fetch("5", &[&dead], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(r["fallback_reason"], "no_candidates", "{r}");

    // Success: the peers that failed first are listed the same way. `vbt fetch` shuffles, so
    // the transfer could end before the dead peer's probe even ran: one probe at a time, in the
    // order given, has its verdict in before the live peer is probed.
    let (code, r) = fetch("0", &[&dead, &addr], &["-D", "vbt.peer.probe.concurrency=1"]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["failed_peers"][0]["peer"], dead.as_str(), "{r}");
    assert_eq!(r["failed_peers"][0]["code"], "IO", "{r}");
    assert!(r.get("fallback_reason").is_none(), "{r}");
}

#[test]
fn progress_runs_on_the_callback_thread_and_ends_with_the_outcome() {
    let (a, b) = (tempdir(), tempdir());
    let id = PartitionId::new("progStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 3000);
    let (_sender, addr) = sender(a.path(), TableFormat::BlockBased, &[]);
    let rx = receiver(b.path(), TableFormat::BlockBased, &[]);
    // (bytes, files, last, thread name, completed already)
    type Seen = Vec<(u64, usize, bool, String, bool)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let completed = Arc::new(Mutex::new(None));
    let (tx, done) = std::sync::mpsc::channel();
    let (s2, c2) = (seen.clone(), completed.clone());
    let c3 = completed.clone();
    rx.bootstrap_with_progress(
        request(&id, &[addr.to_string()]),
        move |p, last| {
            let thread = std::thread::current().name().unwrap_or("").to_string();
            let after = c2.lock().unwrap().is_some();
            s2.lock().unwrap().push((p.bytes_done, p.files_done, last, thread, after));
        },
        move |_, result| {
            *c3.lock().unwrap() = Some(std::thread::current().name().unwrap_or("").to_string());
            tx.send(result).unwrap();
        },
    )
    .unwrap();
    let out = done.recv_timeout(std::time::Duration::from_secs(60)).unwrap().unwrap();
    drop(rx); // drains the callback thread: a late report would be recorded by now
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    let last = seen.last().unwrap();
    assert_eq!((last.0, last.1, last.2), (out.bytes, out.files, true), "{seen:?}");
    assert_eq!(seen.iter().filter(|s| s.2).count(), 1, "{seen:?}");
    let completion_thread = completed.lock().unwrap().clone().unwrap();
    assert!(seen.iter().all(|s| s.3 == completion_thread && !s.4), "{seen:?} vs {completion_thread}");
}
