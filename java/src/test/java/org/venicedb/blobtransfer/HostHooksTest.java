package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a Venice host plugs in (issue #20): checkpoints leased per transfer, the metadata hook
 * before the publish, files-sent events, the finder's peer order, probe-only failures and the
 * adaptive throttler's signal.
 */
class HostHooksTest {
    static final String STORE = "hookStore";

    @TempDir
    static Path host;

    @BeforeAll
    static void generate() throws Exception {
        gen(host, STORE, 1, 0, 1);
    }

    @Test
    void leasedCheckpointHookAndSendEventsAcrossOneTransfer(@TempDir Path recv) throws Exception {
        AtomicInteger acquired = new AtomicInteger();
        AtomicInteger released = new AtomicInteger();
        CheckpointSource leases = (store, version, partition) -> {
            if (partition != 0) {
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND, "no partition " + partition);
            }
            acquired.incrementAndGet();
            return new Checkpoint(partitionDir(host, store, version, partition), metadata(host, store, version, partition),
                    released::incrementAndGet);
        };
        AtomicLong sentBytes = new AtomicLong();
        List<String> sentThreads = new CopyOnWriteArrayList<>();
        SendListener sent = (store, version, partition, peer, bytes) -> {
            sentBytes.addAndGet(bytes);
            sentThreads.add(Thread.currentThread().getName());
        };
        List<String> hooked = new CopyOnWriteArrayList<>();
        MetadataHook hook = (store, version, partition, offsetRecord, svs) -> {
            // Before the publish: the partition is not there yet.
            hooked.add(store + "/" + version + "/" + partition + " published=" + Files.exists(partitionDir(recv, store, version, partition)));
            assertArrayEquals(metadata(host, store, version, partition).offsetRecord(), offsetRecord);
        };
        try (BlobTransferNode sender = BlobTransferNode.builder()
                .config(config("davinci.p2p.blob.transfer.server.port", "0", "vbt.server.bind.address", "127.0.0.1"))
                .checkpointSource(leases)
                .sendListener(sent)
                .open();
                BlobTransferNode receiver = BlobTransferNode.builder().config(receiverConfig(recv)).metadataHook(hook).open()) {
            String self = "127.0.0.1:" + sender.startServer();
            BootstrapResult r = result(receiver.bootstrapPartition(
                    BootstrapRequest.builder(STORE, 1, 0).peers(Arrays.asList(self)).preservePeerOrder(true).build()));
            assertEquals(Arrays.asList(STORE + "/1/0 published=false"), hooked);
            verify(recv, STORE, 1, 0);
            eventually("the checkpoint is handed back", () -> released.get() == 1);
            assertEquals(1, acquired.get());
            eventually("every file sent is told", () -> sentBytes.get() == r.bytes());
            assertTrue(sentThreads.stream().allMatch("vbt-callbacks"::equals), sentThreads.toString());
            // Only partitions inside the base directory: vbt's state lives beside it.
            try (java.util.stream.Stream<Path> s = Files.list(recv)) {
                assertEquals(Arrays.asList(STORE + "_v1"), s.map(p -> p.getFileName().toString()).sorted()
                        .collect(java.util.stream.Collectors.toList()));
            }
            // A partition the host does not have: 404, nothing leased.
            BlobTransferException e = failure(receiver.bootstrapPartition(STORE, 1, 5, null, Arrays.asList(self)));
            assertTrue(e.getMessage().contains("404"), e.toString());
            assertEquals(1, acquired.get());
        }
    }

    @Test
    void aFailingHookPublishesNothingAndPeersKeepTheirOrder(@TempDir Path snapshots, @TempDir Path recv)
            throws Exception {
        MetadataHook failing = (store, version, partition, o, s) -> {
            throw new IllegalStateException("metadata service is down");
        };
        try (BlobTransferNode sender = BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1", "vbt.snapshot.dir", snapshots.toString()),
                copyingSource(host, new CopyOnWriteArrayList<>()), null);
                BlobTransferNode receiver = BlobTransferNode.builder().config(receiverConfig(recv)).metadataHook(failing).open()) {
            String self = "127.0.0.1:" + sender.startServer();
            String dead = deadPeer();
            BlobTransferException e = failure(receiver.bootstrapPartition(BootstrapRequest.builder(STORE, 1, 0)
                    .peers(Arrays.asList(dead, self)).preservePeerOrder(true).build()));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code(), e.toString());
            assertEquals(2, e.peerFailures().size(), e.peerFailures().toString());
            assertEquals(dead, e.peerFailures().get(0).peer());
            assertTrue(e.peerFailures().get(0).probeOnly(), e.peerFailures().toString());
            assertEquals(self, e.peerFailures().get(1).peer());
            assertFalse(e.peerFailures().get(1).probeOnly(), e.peerFailures().toString());
            assertTrue(e.peerFailures().get(1).message().contains("metadata service is down"), e.toString());
            assertFalse(Files.exists(partitionDir(recv, STORE, 1, 0)));
            // Only what resume may use stays beside the base: verified files with their journal.
            Path temp = tempDir(recv, STORE, 1, 0);
            assertTrue(!Files.exists(temp) || Files.isRegularFile(temp.resolve(".vbt-resume")), "landing dir left behind");
        }
    }

    @Test
    void throttleSignalsNeedTheAdaptiveThrottler(@TempDir Path base) {
        try (BlobTransferNode plain = BlobTransferNode.open(receiverConfig(base))) {
            BlobTransferException e = assertThrows(BlobTransferException.class, () -> plain.setThrottleSignal("LIMITER", true));
            assertEquals(BlobTransferException.Code.CONFIG, e.code(), e.toString());
        }
        try (BlobTransferNode adaptive = BlobTransferNode.open(receiverConfig(base, "server.adaptive.throttler.enabled", "true",
                "server.blob.transfer.adaptive.throttler.enabled", "true"))) {
            adaptive.setThrottleSignal("LIMITER", true);
            adaptive.setThrottleSignal("BOOSTER", false);
            BlobTransferException e = assertThrows(BlobTransferException.class, () -> adaptive.setThrottleSignal("FASTER", true));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT, e.code(), e.toString());
            assertTrue(e.getMessage().contains("FASTER"), e.toString());
        }
    }
}
