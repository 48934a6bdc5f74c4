package org.venicedb.blobtransfer.venice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferPartitionMetadata;
import com.linkedin.davinci.blobtransfer.BlobTransferStatusTrackingManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferStatus;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.venice.exceptions.VeniceBlobTransferCancelledException;
import com.linkedin.venice.exceptions.VenicePeersAllFailedException;
import com.linkedin.venice.exceptions.VenicePeersNotFoundException;
import com.linkedin.venice.kafka.protocol.TopicSwitch;
import com.linkedin.venice.kafka.protocol.state.IncrementalPushReplicaStatus;
import com.linkedin.venice.kafka.protocol.state.PartitionState;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import com.linkedin.venice.offsets.OffsetRecord;
import java.io.File;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.venicedb.blobtransfer.BlobTransferException;

/**
 * The manager as Venice's ingestion uses it, only through {@link BlobTransferManager}: two or more
 * vbt managers on loopback addresses, real RocksDB partitions from `vbt gen`, and the tests' own
 * Venice-side fakes (metadata service, snapshot manager, finder, notifier, stats).
 */
class VbtBlobTransferManagerTest {
    @TempDir
    Path work;

    private int port;
    private final List<TestNode> nodes = new java.util.ArrayList<>();

    @BeforeEach
    void pickPort() throws Exception {
        port = TestNode.freePort();
    }

    @AfterEach
    void closeNodes() throws Exception {
        Throwable first = null;
        for (TestNode n : nodes) {
            try {
                n.layout.close();
                n.close(); // also checks the layout once more after close()
            } catch (Throwable t) {
                if (first == null) {
                    first = t;
                }
            }
        }
        if (first instanceof Exception) {
            throw (Exception) first;
        } else if (first != null) {
            throw (Error) first;
        }
    }

    private TestNode node(String host, Fakes.Finder finder) throws Exception {
        TestNode n = new TestNode(work, host, port, finder);
        nodes.add(n);
        n.layout.watch();
        return n;
    }

    private TestNode node(String host, Fakes.Finder finder, Properties extra, BlobTransferTableFormat format) throws Exception {
        TestNode n = new TestNode(work, host, port, finder, extra, format, null);
        nodes.add(n);
        n.layout.watch();
        return n;
    }

    @Test
    void bootstrapsFromAnotherManagerWithMetadataStoredBeforePublishing() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 4);
        // A DaVinci finder names instances host_pid: the manager dials the host on the client port.
        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2_4711", "127.0.0.2_4712"));
        BlobTransferStatusTrackingManager tracking = receiver.manager.getTransferStatusTrackingManager();
        String replica = receiver.replica(1, 0);

        tracking.initialTransfer(replica); // what ingestion does before get()
        CompletionStage<? extends InputStream> stage =
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        assertNull(await(stage), "completes with null: the files are already in place");
        tracking.markTransferCompleted(replica); // what ingestion does when the future completes
        assertTrue(tracking.isTransferInFinalState(replica));
        assertEquals(BlobTransferStatus.TRANSFER_COMPLETED, tracking.getTransferStatus(replica));

        receiver.verify(1, 0);
        receiver.layout.assertNoTempDir();

        // The metadata the sender's snapshot manager served is what the receiver stored, and it
        // was stored while the partition was not yet published.
        BlobTransferPartitionMetadata served = sender.snapshots.lastServed;
        assertNotNull(served);
        assertArrayEquals(bytes(served.offsetRecord), receiver.metadata.offsets.get("myStore_v1-0"));
        assertNotNull(receiver.metadata.getStoreVersionState("myStore_v1"));
        assertEquals(Collections.singletonList("myStore_v1-0 unpublished"), receiver.metadata.putLog);

        // Sender: one snapshot, in Venice's place, its user given back.
        assertEquals(1, sender.snapshots.snapshotsMade.get());
        assertTrue(Files.isDirectory(sender.partitionDir(1, 0).resolve(".snapshot_files")));
        eventually("the sender gives its snapshot user back", () -> sender.snapshots.users("myStore_v1-0") == 0);
        assertEquals(0, sender.snapshots.underflows.get());
        assertEquals(1, receiver.finder.calls.get());

        // Stats, where Venice records them.
        long installed = receiver.installedBytes(1, 0);
        eventually("bytes sent are recorded", () -> sender.stats.bytesSent.get() == installed);
        assertEquals(installed, receiver.stats.bytesReceived.get(), "bytes received");
        assertEquals(1, receiver.stats.times.size());
        assertEquals(1, receiver.stats.throughputs.size());
        assertTrue(receiver.stats.events.isEmpty(), "a finder that is not source-aware gets no source stats: "
                + receiver.stats.events);

        // A second receiver reuses the fresh snapshot (Venice's retention), and source-aware stats
        // name the source the finder said.
        Fakes.Finder aware = new Fakes.Finder("127.0.0.2").servers("127.0.0.2");
        aware.sourceAware = true;
        TestNode second = node("127.0.0.4", aware);
        assertNull(await(second.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
        assertEquals(1, sender.snapshots.snapshotsMade.get());
        assertEquals(Collections.singletonList("request VENICE_SERVER SUCCESS"), second.stats.events);
        second.verify(1, 0);
    }

    @Test
    void noPeersIsVenicePeersNotFound() throws Exception {
        Fakes.Finder finder = new Fakes.Finder();
        TestNode receiver = node("127.0.0.3", finder);
        assertCause(VenicePeersNotFoundException.class, receiver.manager.get(TestNode.STORE, 1, 0,
                BlobTransferTableFormat.BLOCK_BASED_TABLE), "Replica: myStore_v1-0 are not found any peers");
        finder.nullResponse = true;
        assertCause(VenicePeersNotFoundException.class, receiver.manager.get(TestNode.STORE, 1, 0,
                BlobTransferTableFormat.BLOCK_BASED_TABLE), "are not found any peers");
        finder.nullResponse = false;
        finder.error = true;
        finder.peers = Arrays.asList("127.0.0.2");
        assertCause(VenicePeersNotFoundException.class, receiver.manager.get(TestNode.STORE, 1, 0,
                BlobTransferTableFormat.BLOCK_BASED_TABLE), "are not found any peers");
        assertTrue(receiver.stats.events.isEmpty(), "no fallback stat without a source-aware finder");

        finder.error = false;
        finder.peers = Collections.emptyList();
        finder.sourceAware = true;
        assertCause(VenicePeersNotFoundException.class, receiver.manager.get(TestNode.STORE, 1, 0,
                BlobTransferTableFormat.BLOCK_BASED_TABLE), "are not found any peers");
        assertEquals(Collections.singletonList("fallback NO_CANDIDATES"), receiver.stats.events);
        assertFalse(Files.exists(receiver.rocksdb.resolve("myStore_v1")), "nothing was created");
    }

    @Test
    void everyPeerFailingIsVenicePeersAllFailed() throws Exception {
        // 127.0.0.9: nothing listens (fails the connectivity check, never asked);
        // 127.0.0.5: a Venice server that is up but does not have the partition (404).
        TestNode without = node("127.0.0.5", new Fakes.Finder());
        Fakes.Finder finder = new Fakes.Finder("127.0.0.9_1", "127.0.0.5_7000").servers("127.0.0.5");
        finder.sourceAware = true;
        finder.preserveOrder = true;
        TestNode receiver = node("127.0.0.3", finder);
        Throwable e = assertCause(VenicePeersAllFailedException.class, receiver.manager.get(TestNode.STORE, 1, 0,
                BlobTransferTableFormat.BLOCK_BASED_TABLE),
                "Replica myStore_v1-0 failed to connect to any peer, after trying all possible hosts.");
        BlobTransferException vbt = (BlobTransferException) e.getCause();
        assertEquals(2, vbt.peerFailures().size(), vbt.peerFailures().toString());
        // Venice counts attempted requests only: the dead peer was never asked.
        assertEquals(Arrays.asList("request VENICE_SERVER FAIL", "fallback ALL_HOSTS_FAILED"), receiver.stats.events);
        assertTrue(without.snapshots.requests.get() >= 1, "the live peer was asked");
        eventually("a refused request holds no snapshot user", () -> without.snapshots.users("myStore_v1-0") == 0);
        assertFalse(Files.exists(receiver.partitionDir(1, 0)));
        receiver.layout.assertNoTempDir();
        assertTrue(receiver.metadata.offsets.isEmpty());
    }

    @Test
    void aRequestRefusedAfterItWasCountedGivesItsSnapshotUserBack() throws Exception {
        // The sender has the partition but no metadata for it: its snapshot manager counts the
        // user, then fails to prepare the metadata (Venice's server-origin path leaks that count).
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 2);
        sender.metadata.clearOffset("myStore_v1", 0);
        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2"));
        Throwable e = assertCause(VenicePeersAllFailedException.class,
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE), "failed to connect to any peer");
        assertTrue(e.getCause().getMessage().contains("Cannot get store version state or offset record"), e.getCause().getMessage());
        assertEquals(1, sender.snapshots.requests.get());
        assertEquals(1, sender.snapshots.maxUsers.get(), "the request was counted");
        eventually("the counted user is given back", () -> sender.snapshots.users("myStore_v1-0") == 0);
        assertEquals(0, sender.snapshots.underflows.get(), "and only once");
        assertFalse(Files.exists(receiver.partitionDir(1, 0)));
    }

    @Test
    void wrongTableFormatFailsBeforeTheSenderSnapshots() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 2);
        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2"));
        Throwable e = assertCause(VenicePeersAllFailedException.class,
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.PLAIN_TABLE), "failed to connect to any peer");
        BlobTransferException vbt = (BlobTransferException) e.getCause();
        assertTrue(vbt.getMessage().contains("Table format mismatch"), vbt.getMessage());
        assertEquals(0, sender.snapshots.requests.get(), "Venice checks the format before any snapshot work");
        assertEquals(0, sender.snapshots.snapshotsMade.get());
        assertFalse(Files.exists(receiver.partitionDir(1, 0)));
        receiver.layout.assertNoTempDir();
        assertTrue(receiver.metadata.offsets.isEmpty());
    }

    @Test
    void cancelStopsTheTransferAndIsFinalOnlyOnceVbtStopped() throws Exception {
        Properties slow = new Properties();
        slow.setProperty("blob.transfer.service.write.limit.bytes.per.sec", Long.toString(2L << 20));
        TestNode sender = node("127.0.0.2", new Fakes.Finder(), slow, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        sender.gen(work, 1, 0, 24);
        Fakes.Finder finder = new Fakes.Finder("127.0.0.2");
        finder.sourceAware = true;
        TestNode receiver = node("127.0.0.3", finder);
        BlobTransferStatusTrackingManager tracking = receiver.manager.getTransferStatusTrackingManager();
        String replica = receiver.replica(1, 0);

        tracking.initialTransfer(replica);
        CompletableFuture<? extends InputStream> f =
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE).toCompletableFuture();
        eventually("bytes arrive", () -> receiver.stats.bytesReceived.get() > 0);
        long checked = receiver.layout.checks();
        eventually("the layout is checked while the transfer runs", () -> receiver.layout.checks() > checked + 20);
        assertFalse(f.isDone());
        assertEquals(1, sender.snapshots.users("myStore_v1-0"), "the sender holds its snapshot user while it sends");
        assertFalse(tracking.isTransferInFinalState(replica));
        assertTrue(tracking.isBlobTransferInProgress(replica));

        tracking.cancelTransfer(replica);
        assertTrue(tracking.isBlobTransferCancelRequested(replica));
        tracking.cancelTransfer(replica); // a second request is a no-op
        // Even marked cancelled (as ingestion does once the future completes; here too early), the
        // state is not final while vbt still runs.
        tracking.markTransferCancelled(replica);
        // Venice's DROP_PARTITION polls for a final state before deleting files: it must not see
        // one while vbt may still write.
        // The state turns final when vbt has stopped, just before the future completes: a final
        // state seen before the future is done must be followed by its completion at once.
        while (!f.isDone()) {
            if (tracking.isTransferInFinalState(replica)) {
                f.handle((v, e) -> null).get(5, TimeUnit.SECONDS);
                break;
            }
            Thread.sleep(1);
        }
        assertCause(VeniceBlobTransferCancelledException.class, f,
                "Transfer for replica myStore_v1-0 was canceled while in progress");
        tracking.markTransferCancelled(replica); // what ingestion does when the future completes
        assertEquals(BlobTransferStatus.TRANSFER_CANCELLED, tracking.getTransferStatus(replica));
        assertTrue(tracking.isTransferInFinalState(replica));

        assertFalse(Files.exists(receiver.partitionDir(1, 0)), "nothing published");
        receiver.layout.assertNoTempDir();
        assertTrue(receiver.metadata.offsets.isEmpty(), "no offset record for a cancelled transfer");
        assertTrue(receiver.stats.events.isEmpty(), "a cancel is not a failed request: " + receiver.stats.events);
        eventually("the sender gives its snapshot user back", () -> sender.snapshots.users("myStore_v1-0") == 0);

        // The partition can be fetched again afterwards (the sender lifted to full speed is not
        // needed: the snapshot is reused).
        tracking.clearTransferStatusEnum(replica);
        assertTrue(tracking.isTransferInFinalState(replica));
    }

    @Test
    void cancelBeforeDiscoveryAnswersNeverStartsVbt() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 2);
        java.util.concurrent.CountDownLatch inFinder = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Fakes.Finder finder = new Fakes.Finder("127.0.0.2") {
            @Override
            public com.linkedin.venice.blobtransfer.BlobPeersDiscoveryResponse discoverBlobPeers(String s, int v, int p) {
                inFinder.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.discoverBlobPeers(s, v, p);
            }
        };
        TestNode receiver = node("127.0.0.3", finder);
        BlobTransferStatusTrackingManager tracking = receiver.manager.getTransferStatusTrackingManager();
        CompletionStage<? extends InputStream> f =
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        assertTrue(inFinder.await(30, TimeUnit.SECONDS));
        tracking.cancelTransfer(receiver.replica(1, 0));
        assertFalse(tracking.isTransferInFinalState(receiver.replica(1, 0)));
        release.countDown();
        assertCause(VeniceBlobTransferCancelledException.class, f, "was canceled while in progress");
        assertEquals(0, sender.snapshots.requests.get(), "no peer was asked");
        assertFalse(Files.exists(receiver.rocksdb.resolve("myStore_v1")));
    }

    @Test
    void keepsTheFindersOrderWhenItAsks() throws Exception {
        TestNode a = node("127.0.0.2", new Fakes.Finder());
        a.gen(work, 1, 0, 2);
        TestNode b = node("127.0.0.4", new Fakes.Finder());
        b.gen(work, 1, 0, 2);
        String[] firsts = {"127.0.0.4", "127.0.0.2", "127.0.0.4"};
        for (int round = 0; round < firsts.length; round++) {
            String first = firsts[round];
            String second = first.equals("127.0.0.2") ? "127.0.0.4" : "127.0.0.2";
            Fakes.Finder finder = new Fakes.Finder(first + "_1", second + "_1", first + "_2");
            finder.preserveOrder = true;
            finder.sourceAware = true;
            finder.servers(second);
            TestNode receiver = new TestNode(work.resolve("receiver-" + round), "127.0.0.3", port, finder);
            try {
                long aBefore = a.snapshots.requests.get();
                long bBefore = b.snapshots.requests.get();
                assertNull(await(receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
                TestNode firstNode = first.equals("127.0.0.2") ? a : b;
                TestNode secondNode = firstNode == a ? b : a;
                assertEquals(1, firstNode.snapshots.requests.get() - (firstNode == a ? aBefore : bBefore),
                        "the finder's first peer served");
                assertEquals(0, secondNode.snapshots.requests.get() - (secondNode == a ? aBefore : bBefore),
                        "the second peer was not asked");
                assertEquals(Collections.singletonList("request DAVINCI_PEER SUCCESS"), receiver.stats.events);
            } finally {
                receiver.close();
            }
        }
    }

    @Test
    void writesIncrementalPushStatusAndMergesTopicSwitchAsVenice() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 2);
        // The sender's offset record tracks three incremental pushes; its store-version state
        // carries a topic switch.
        PartitionState ps = new PartitionState();
        ps.trackingIncrementalPushStatus = new LinkedHashMap<>();
        ps.trackingIncrementalPushStatus.put("inc-1", status(7)); // START_OF_INCREMENTAL_PUSH_RECEIVED
        ps.trackingIncrementalPushStatus.put("inc-2", status(8)); // END_OF_INCREMENTAL_PUSH_RECEIVED
        ps.trackingIncrementalPushStatus.put("inc-3", status(10)); // COMPLETED: logged only
        byte[] offset = Fakes.PARTITION_STATE.serialize("myStore_v1", ps);
        sender.metadata.put("myStore_v1", 0, new OffsetRecord(offset, Fakes.PARTITION_STATE, null));
        StoreVersionState senderSvs = new StoreVersionState();
        senderSvs.topicSwitch = new TopicSwitch();
        senderSvs.topicSwitch.sourceTopicName = "myStore_rt";
        sender.metadata.computeStoreVersionState("myStore_v1", old -> senderSvs);

        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2"));
        StoreVersionState local = new StoreVersionState(); // the receiver already has the version's state
        receiver.metadata.versionStates.put("myStore_v1", local);
        assertNull(await(receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));

        assertArrayEquals(offset, receiver.metadata.offsets.get("myStore_v1-0"));
        StoreVersionState merged = receiver.metadata.getStoreVersionState("myStore_v1");
        assertSame(local, merged, "a local store-version state is kept");
        assertEquals("myStore_rt", String.valueOf(merged.topicSwitch.sourceTopicName), "and takes the topic switch");
        assertEquals(Arrays.asList("start myStore_v1 0 inc-1", "end myStore_v1 0 inc-2"), receiver.notifier.calls);

        // Without a local state the transferred one is stored as it is.
        TestNode fresh = node("127.0.0.4", new Fakes.Finder("127.0.0.2"));
        assertNull(await(fresh.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
        assertEquals("myStore_rt", String.valueOf(fresh.metadata.getStoreVersionState("myStore_v1").topicSwitch.sourceTopicName));
    }

    @Test
    void aFailingMetadataWritePublishesNothingAndClearsTheOffset() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 2);
        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2"));
        // The store-version state write fails after the offset record was stored.
        receiver.metadata.versionStates.clear();
        Fakes.MetadataService failing = receiver.metadata;
        failing.failSvs = true;
        assertCause(VenicePeersAllFailedException.class,
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE), "failed to connect to any peer");
        assertFalse(Files.exists(receiver.partitionDir(1, 0)), "not published");
        receiver.layout.assertNoTempDir();
        assertNull(receiver.metadata.offsets.get("myStore_v1-0"),
                "the offset record of a partition that was not published is cleared (Kafka starts from scratch)");
        failing.failSvs = false;
        assertNull(await(receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
        receiver.verify(1, 0);
    }

    @Test
    void aCrashBetweenTheMetadataWriteAndThePublishLeavesNoPartition() throws Exception {
        TestNode sender = node("127.0.0.2", new Fakes.Finder());
        sender.gen(work, 1, 0, 4);
        Path data = work.resolve("crashing");
        Path metadataDir = work.resolve("crashing-metadata");

        // A receiver in its own JVM that dies (Runtime.halt) inside the metadata write, right after
        // the store-version state is stored: after the offset record, before vbt's rename.
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                CrashingReceiver.class.getName(), data.toString(), metadataDir.toString(), "127.0.0.3",
                Integer.toString(port), "127.0.0.2").redirectErrorStream(true).start();
        String out = TestNode.readAll(p.getInputStream());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(CrashingReceiver.HALTED, p.exitValue(), "the receiver died in the metadata write: " + out);

        TestNode.Layout after = new TestNode.Layout(data.resolve("rocksdb"));
        after.check();
        after.assertClean();
        Path partition = data.resolve("rocksdb/myStore_v1/myStore_v1_0");
        assertFalse(Files.exists(partition), "the partition was not published");
        assertTrue(Files.exists(metadataDir.resolve("myStore_v1-0.offset")), "its offset record was stored");

        // The node restarts on the same directories and bootstraps again.
        Fakes.Finder finder = new Fakes.Finder("127.0.0.2");
        TestNode restarted = new TestNode(data, "127.0.0.3", port, finder, null, BlobTransferTableFormat.BLOCK_BASED_TABLE,
                metadataDir, true);
        try {
            assertNotNull(restarted.metadata.offsets.get("myStore_v1-0"), "restart sees the stale offset record");
            restarted.layout.watch();
            assertNull(await(restarted.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
            restarted.verify(1, 0);
            restarted.layout.assertNoTempDir();
            assertArrayEquals(bytes(sender.snapshots.lastServed.offsetRecord), restarted.metadata.offsets.get("myStore_v1-0"));
            assertEquals(Collections.singletonList("myStore_v1-0 unpublished"), restarted.metadata.putLog);
        } finally {
            restarted.layout.close();
            restarted.close();
        }
    }

    @Test
    void getNeverThrowsAndCloseIsIdempotent() throws Exception {
        Fakes.Finder finder = new Fakes.Finder() {
            @Override
            public com.linkedin.venice.blobtransfer.BlobPeersDiscoveryResponse discoverBlobPeers(String s, int v, int p) {
                throw new IllegalStateException("router down");
            }
        };
        TestNode receiver = node("127.0.0.3", finder);
        assertCause(IllegalStateException.class,
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE), "router down");
        assertCause(Exception.class, receiver.manager.get(null, -1, -1, null), "");

        receiver.manager.close();
        receiver.manager.close();
        assertEquals(1, finder.closes.get(), "the finder is closed once");
        assertTrue(receiver.snapshots.shutDown.get(), "the snapshot manager is shut down");
        CompletionStage<? extends InputStream> after =
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        assertCause(IllegalStateException.class, after, "closed");
        try {
            receiver.manager.start();
            fail("start() after close()");
        } catch (IllegalStateException expected) {
            // as documented
        }
    }

    @Test
    void closeWithATransferRunningEndsItWithNothingLeftBehind() throws Exception {
        Properties slow = new Properties();
        slow.setProperty("blob.transfer.service.write.limit.bytes.per.sec", Long.toString(2L << 20));
        TestNode sender = node("127.0.0.2", new Fakes.Finder(), slow, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        sender.gen(work, 1, 0, 16);
        TestNode receiver = node("127.0.0.3", new Fakes.Finder("127.0.0.2"));
        CompletableFuture<? extends InputStream> f =
                receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE).toCompletableFuture();
        eventually("bytes arrive", () -> receiver.stats.bytesReceived.get() > 0);
        receiver.manager.close();
        try {
            f.get(60, TimeUnit.SECONDS);
            fail("a transfer interrupted by close() cannot succeed");
        } catch (ExecutionException expected) {
            assertTrue(expected.getCause() instanceof VeniceBlobTransferCancelledException, String.valueOf(expected.getCause()));
        }
        assertFalse(Files.exists(receiver.partitionDir(1, 0)));
        receiver.layout.assertNoTempDir();
        eventually("the sender gives its snapshot user back", () -> sender.snapshots.users("myStore_v1-0") == 0);
    }

    // ---- helpers ----

    static IncrementalPushReplicaStatus status(int s) {
        IncrementalPushReplicaStatus r = new IncrementalPushReplicaStatus();
        r.status = s;
        return r;
    }

    static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("get() failed: " + e.getCause(), e.getCause());
        }
    }

    /** Waits for the stage to fail with {@code type} (as ingestion sees it) whose message contains {@code text}. */
    static Throwable assertCause(Class<? extends Throwable> type, CompletionStage<?> stage, String text) throws Exception {
        try {
            Object v = stage.toCompletableFuture().get(120, TimeUnit.SECONDS);
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + v);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            assertTrue(type.isInstance(c), "expected " + type.getName() + ", got " + c);
            assertTrue(String.valueOf(c.getMessage()).contains(text), "message: " + c.getMessage());
            return c;
        }
    }

    static void eventually(String what, BooleanSupplier check) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }
}
