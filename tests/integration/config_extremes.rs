//! Java's "unlimited" (`Long.MAX_VALUE`) in every limit-style key: real nodes, a real transfer on
//! loopback, and no panic anywhere, including in the nodes' background tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::MAX_DURATION;
use venice_blob_transfer::{PartitionId, Signal, TableFormat};

use crate::common::*;

const LONG_MAX: &str = "9223372036854775807";

/// Panics on vbt's own threads (runtime workers, blocking pool). A background task that panics
/// (the adaptive tick, the snapshot cleanup) dies without failing anything else, so count them.
/// The hook sees the whole test process: panics raised by this binary's own code (a host hook
/// another test makes panic on purpose, e.g. origin.rs's identity parser, running on a vbt
/// worker meanwhile) are not vbt's and are not counted.
static VBT_THREAD_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_vbt_thread_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info.location().is_some_and(|l| l.file().starts_with("tests/"));
            if !in_tests && std::thread::current().name().is_some_and(|n| n.starts_with("vbt-")) {
                VBT_THREAD_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

#[test]
fn java_unlimited_values_serve_and_receive() {
    count_vbt_thread_panics();
    let panics_before = VBT_THREAD_PANICS.load(Ordering::SeqCst);
    // Both nodes have both limiters; the sender uses the write one, the receiver the read one.
    let both = [
        ("blob.transfer.service.write.limit.bytes.per.sec", LONG_MAX),
        ("blob.transfer.client.read.limit.bytes.per.sec", LONG_MAX),
        ("server.adaptive.throttler.enabled", "true"),
        ("server.blob.transfer.adaptive.throttler.enabled", "true"),
        ("server.adaptive.throttler.signal.refresh.interval.in.seconds", LONG_MAX),
        ("server.blob.transfer.adaptive.throttler.update.percentage", LONG_MAX),
        ("server.adaptive.throttler.signal.idle.threshold", LONG_MAX),
    ];
    let a = tempdir();
    let ids: Vec<PartitionId> = (0..2).map(|p| PartitionId::new("unlimited", 1, p).unwrap()).collect();
    for id in &ids {
        gen_partition(a.path(), id, TableFormat::BlockBased, 2000);
    }
    let mut sender_keys = vec![
        ("blob.transfer.max.concurrent.snapshot.user", LONG_MAX),
        ("blob.transfer.snapshot.retention.time.in.min", LONG_MAX),
        ("blob.transfer.snapshot.cleanup.interval.in.mins", LONG_MAX),
        ("blob.transfer.max.timeout.in.min", LONG_MAX),
        ("vbt.server.idle.timeout.ms", LONG_MAX),
        ("vbt.server.request.head.timeout.ms", LONG_MAX),
        ("vbt.server.max.connections", LONG_MAX),
    ];
    sender_keys.extend(both);
    let (s, addr) = sender(a.path(), TableFormat::BlockBased, &sender_keys);
    let mut receiver_keys = vec![
        ("blob.transfer.max.concurrent.blob.receive.replicas", LONG_MAX),
        ("blob.receive.max.timeout.in.min", LONG_MAX),
        ("blob.receive.reader.idle.time.in.seconds", LONG_MAX),
        ("blob.transfer.peers.connectivity.freshness.in.seconds", LONG_MAX),
        ("vbt.peer.connect.timeout.ms", LONG_MAX),
        ("vbt.peer.probe.timeout.ms", LONG_MAX),
        ("vbt.peer.probe.total.timeout.ms", LONG_MAX),
    ];
    receiver_keys.extend(both);
    let b = tempdir();
    let r = receiver(b.path(), TableFormat::BlockBased, &receiver_keys);
    assert_eq!(r.config().adaptive_interval, MAX_DURATION);
    assert_eq!(r.config().receive_max_timeout, MAX_DURATION);

    // Unlimited before, and after, the adaptive factor moves; run-time limits follow the same rule.
    for node in [&s, &r] {
        assert_eq!(node.effective_limits(), (0, 0));
        node.set_throttle_signal(Signal::Limiter, true).unwrap();
        assert_eq!(node.throttle_tick().unwrap(), 20, "one step of Long.MAX_VALUE % goes to the minimum");
        node.set_throttle_signal(Signal::Limiter, false).unwrap();
        node.set_throttle_signal(Signal::Booster, true).unwrap();
        assert_eq!(node.throttle_tick().unwrap(), 200);
        node.set_write_limit(u64::MAX);
        node.set_read_limit(i64::MAX as u64);
        assert_eq!(node.effective_limits(), (0, 0));
    }

    // Both bootstraps at once, through the Long.MAX_VALUE receive and serve caps.
    let ops: Vec<_> = ids.iter().map(|id| r.bootstrap(request(id, &[addr.to_string()])).unwrap()).collect();
    for (id, op) in ids.iter().zip(ops) {
        let out = op.wait().unwrap();
        assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 2000, "{id}");
    }
    assert_eq!(s.cleanup_snapshots().unwrap(), 0, "a Long.MAX_VALUE retention keeps the snapshots");
    // Background tasks (adaptive tick, snapshot cleanup) have been polled by now.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(VBT_THREAD_PANICS.load(Ordering::SeqCst), panics_before, "a vbt thread panicked (see stderr)");
}
