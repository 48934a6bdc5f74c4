package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two nodes in one JVM move a real RocksDB partition; the sender's checkpoints come from Java. */
class TransferTest {
    static final String STORE = "javaStore";

    @TempDir
    static Path host; // the "host-owned" RocksDB data: partitions written by `vbt gen`

    @BeforeAll
    static void generate() throws Exception {
        gen(host, STORE, 1, 0, 2);
        gen(host, STORE, 1, 1, 1);
    }

    private static BlobTransferNode sender(Path snapshots, SnapshotSource source) {
        return BlobTransferNode.open(config(
                "davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1",
                "vbt.snapshot.dir", snapshots.toString()), source, null);
    }

    @Test
    void bootstrapsARealPartitionThroughJavaSnapshotSourceAndDiscovery(@TempDir Path snapshots, @TempDir Path recv)
            throws Exception {
        List<String> created = new CopyOnWriteArrayList<>();
        List<String> asked = new CopyOnWriteArrayList<>();
        try (BlobTransferNode sender = sender(snapshots, copyingSource(host, created))) {
            int port = sender.startServer();
            assertTrue(port > 0);
            String self = "127.0.0.1:" + port;
            PeerDiscovery discovery = (store, version, partition) -> {
                asked.add(store + "/" + version + "/" + partition + " on " + Thread.currentThread().getName());
                return Arrays.asList(self);
            };
            try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv), null, discovery)) {
                BootstrapResult r = result(receiver.bootstrapPartition(STORE, 1, 0));
                assertEquals(self, r.peer());
                assertTrue(r.files() >= 3, r.toString());
                assertTrue(r.bytes() > 2_000_000, r.toString());
                // A fresh transfer between two vbt nodes: nothing kept from before, and at least
                // one connection carried the files.
                assertEquals(0, r.resumedBytes(), r.toString());
                assertTrue(r.reusedFrom().isEmpty(), r.toString());
                assertThrows(UnsupportedOperationException.class, () -> r.reusedFrom().clear());
                assertTrue(r.streams() >= 1, r.toString());
                assertTrue(r.seconds() >= 0);
                assertEquals(partitionDir(recv, STORE, 1, 0), r.partitionDirectory());
                assertTrue(r.failedPeers().isEmpty());
                assertEquals("", r.failedPeersSummary());
                SnapshotMetadata expected = metadata(host, STORE, 1, 0);
                assertArrayEquals(expected.offsetRecord(), r.offsetRecord());
                assertArrayEquals(expected.storeVersionState(), r.storeVersionState());
                verify(recv, STORE, 1, 0); // every record, read back with RocksDB
                assertFalse(Files.exists(tempDir(recv, STORE, 1, 0)));
                // This receiver owns its base directory, so it records the metadata beside the
                // partition and could serve it in turn.
                assertTrue(Files.exists(recv.resolve(STORE + "_v1").resolve(STORE + "_v1_0.metadata.json")));
            }
            assertEquals(1, created.size(), created.toString());
            assertTrue(created.get(0).startsWith(STORE + "/1/0 -> " + snapshots), created.toString());
            assertEquals(1, asked.size(), asked.toString());
            assertTrue(asked.get(0).startsWith(STORE + "/1/0 on vbt-"), "discovery runs on a vbt thread: " + asked);
        }
    }

    @Test
    void explicitPeersFormatAndPropertiesConfig(@TempDir Path snapshots, @TempDir Path recv) throws Exception {
        List<String> created = new CopyOnWriteArrayList<>();
        try (BlobTransferNode sender = sender(snapshots, copyingSource(host, created))) {
            String peer = "127.0.0.1:" + sender.startServer();
            Properties props = new Properties();
            props.setProperty("vbt.base.dir", recv.toString());
            // A Venice host passes hundreds of its own properties straight through.
            for (int i = 0; i < 300; i++) {
                props.setProperty("some.unrelated.venice.key." + i, "ignored " + i);
            }
            // Many dead peers before the good one: each is reported with its cause.
            List<String> peers = new java.util.ArrayList<>();
            for (int i = 0; i < 40; i++) {
                peers.add(deadPeer());
            }
            peers.add(peer);
            try (BlobTransferNode receiver = BlobTransferNode.open(props)) {
                BootstrapFuture f = receiver.bootstrapPartition(STORE, 1, 1, "BLOCK_BASED_TABLE", peers);
                assertTrue(f.opId() > 0);
                BootstrapResult r = result(f);
                assertEquals(peer, r.peer());
                // The bootstrap starts on the first peer that answers its probe; dead peers whose
                // probes failed by then are reported, each with its cause, as probe-only.
                assertTrue(peers.subList(0, 40).containsAll(
                        r.failedPeers().stream().map(BootstrapResult.FailedPeer::peer).collect(java.util.stream.Collectors.toSet())),
                        r.failedPeersSummary());
                assertTrue(r.failedPeers().stream().allMatch(p -> p.code() == BlobTransferException.Code.IO
                        && !p.message().isEmpty() && p.probeOnly()), r.failedPeersSummary());
                if (!r.failedPeers().isEmpty()) {
                    String dead = r.failedPeers().get(0).peer();
                    assertTrue(r.failedPeersSummary().startsWith(dead + ": IO "), r.failedPeersSummary());
                }
                verify(recv, STORE, 1, 1);
                assertArrayEquals(metadata(host, STORE, 1, 1).offsetRecord(), r.offsetRecord());
                assertArrayEquals(r.offsetRecord(), result(f.nativeResult()).offsetRecord());

                // The partition is there now: a second bootstrap is refused before any transfer.
                BlobTransferException e = failure(receiver.bootstrapPartition(STORE, 1, 1, null, Arrays.asList(peer)));
                assertEquals(BlobTransferException.Code.PARTITION_EXISTS, e.code(), e.toString());
            }
        }
    }

    @Test
    void snapshotSourceFailuresReachTheReceiver(@TempDir Path snapshots, @TempDir Path recv) throws Exception {
        SnapshotSource failing = (store, version, partition, directory) -> {
            if (partition == 0) {
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND, "host has no " + store + " p0");
            }
            throw new IOException("disk on fire");
        };
        try (BlobTransferNode sender = sender(snapshots, failing);
                BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            String peer = "127.0.0.1:" + sender.startServer();
            BlobTransferException e = failure(receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(peer)));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code());
            assertTrue(e.getMessage().contains("404") && e.getMessage().contains("host has no javaStore p0"), e.getMessage());
            e = failure(receiver.bootstrapPartition(STORE, 1, 1, null, Arrays.asList(peer)));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code());
            assertTrue(e.getMessage().contains("java.io.IOException: disk on fire"), e.getMessage());
            assertFalse(Files.exists(partitionDir(recv, STORE, 1, 0)));
            assertFalse(Files.exists(tempDir(recv, STORE, 1, 1)));
        }
    }

    @Test
    void discoveryFailuresFailTheBootstrap(@TempDir Path recv) throws Exception {
        PeerDiscovery discovery = (store, version, partition) -> {
            switch (partition) {
                case 0:
                    throw new IllegalStateException("router down");
                case 1:
                    throw new BlobTransferException(BlobTransferException.Code.TIMEOUT, "router too slow");
                case 2:
                    return null;
                default:
                    return Collections.emptyList();
            }
        };
        try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv), null, discovery)) {
            BlobTransferException e = failure(receiver.bootstrapPartition(STORE, 1, 0));
            assertEquals(BlobTransferException.Code.NO_PEERS, e.code());
            assertTrue(e.getMessage().contains("java.lang.IllegalStateException: router down"), e.getMessage());
            e = failure(receiver.bootstrapPartition(STORE, 1, 1));
            assertEquals(BlobTransferException.Code.TIMEOUT, e.code());
            assertTrue(e.getMessage().contains("router too slow"), e.getMessage());
            assertEquals(BlobTransferException.Code.NO_PEERS, failure(receiver.bootstrapPartition(STORE, 1, 2)).code());
            assertEquals(BlobTransferException.Code.NO_PEERS, failure(receiver.bootstrapPartition(STORE, 1, 3)).code());
        }
        // No discovery and no peers.
        try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            assertEquals(BlobTransferException.Code.NO_PEERS, failure(receiver.bootstrapPartition(STORE, 1, 0, null, null)).code());
        }
    }

    @Test
    void futuresCompleteOnTheHostExecutorNotOnVbtThreads(@TempDir Path recv) throws Exception {
        List<String> submittedFrom = new CopyOnWriteArrayList<>();
        List<String> ranOn = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "host-pool"));
        try (BlobTransferNode receiver = BlobTransferNode.builder()
                .config(receiverConfig(recv))
                .completionExecutor(task -> {
                    submittedFrom.add(Thread.currentThread().getName());
                    pool.execute(() -> {
                        ranOn.add(Thread.currentThread().getName());
                        task.run();
                    });
                })
                .open()) {
            BootstrapFuture f = receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(deadPeer()));
            List<String> continuation = new CopyOnWriteArrayList<>();
            f.whenComplete((r, e) -> continuation.add(Thread.currentThread().getName()));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, failure(f).code());
            assertEquals(Arrays.asList("vbt-callbacks"), submittedFrom);
            assertEquals(Arrays.asList("host-pool"), ranOn);
            eventually("continuation", () -> !continuation.isEmpty());
            assertFalse(continuation.get(0).startsWith("vbt-"), continuation.toString());
        } finally {
            pool.shutdown();
        }
        // The default executor: vbt's own daemon completion threads, not its callback thread.
        try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            BootstrapFuture f = receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(deadPeer()));
            String[] thread = new String[1];
            f.nativeResult().whenComplete((r, e) -> thread[0] = Thread.currentThread().getName());
            failure(f);
            eventually("completion thread", () -> thread[0] != null);
            assertFalse(thread[0].equals("vbt-callbacks"), thread[0]);
        }
    }
}
