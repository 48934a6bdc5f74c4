//! A busy vbt sender (protocol::ext): its 429 to a vbt receiver says when to come back
//! (`retry-after`) and how loaded it is (`x-vbt-load`); the receiver waits that long, within
//! `vbt.peer.busy.wait.ms`, and asks again instead of falling back at once. Venice's receivers
//! get Venice's 429, byte for byte.

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
