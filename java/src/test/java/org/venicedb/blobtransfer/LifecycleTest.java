package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** close(): idempotent, racing transfers and every other call, never crashing the JVM. */
class LifecycleTest {
    static final String STORE = "lifeStore";

    @TempDir
    static Path host;

    @BeforeAll
    static void generate() throws Exception {
        gen(host, STORE, 1, 0, 8);
    }

    @Test
    void closeIsIdempotent(@TempDir Path recv) {
        BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv));
        assertFalse(node.isClosed());
        node.close();
        node.close();
        try (BlobTransferNode n = node) {
            assertTrue(n.isClosed());
        }
        // Several threads closing at once.
        BlobTransferNode shared = BlobTransferNode.open(receiverConfig(recv));
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(new Thread(shared::close));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            join(t);
        }
        assertTrue(shared.isClosed());
    }

    @Test
    void closeCompletesEveryRunningBootstrap(@TempDir Path recv) throws Exception {
        try (ServerSocket silent = silentPeer()) {
            BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv));
            List<BootstrapFuture> futures = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                futures.add(node.bootstrapPartition(STORE, 1, p, null, Arrays.asList(peer(silent))));
            }
            Thread.sleep(300);
            long start = System.nanoTime();
            node.close();
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "close took too long");
            for (BootstrapFuture f : futures) {
                assertEquals(BlobTransferException.Code.CANCELLED, failure(f).code());
            }
            for (int p = 0; p < 3; p++) {
                assertFalse(Files.exists(tempDir(recv, STORE, 1, p)));
                assertFalse(Files.exists(partitionDir(recv, STORE, 1, p)));
            }
        }
    }

    @Test
    void closeRacingRealTransfers(@TempDir Path snapshots, @TempDir Path recvRoot) throws Exception {
        Set<BlobTransferException.Code> allowed = EnumSet.of(BlobTransferException.Code.CANCELLED,
                BlobTransferException.Code.SHUTDOWN);
        try (BlobTransferNode sender = BlobTransferNode.open(config(
                "davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1",
                "vbt.snapshot.dir", snapshots.toString()), copyingSource(host, new CopyOnWriteArrayList<>()), null)) {
            String peer = "127.0.0.1:" + sender.startServer();
            int succeeded = 0;
            int stopped = 0;
            for (int i = 0; i < 6; i++) {
                Path recv = Files.createDirectory(recvRoot.resolve("r" + i));
                BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv));
                BootstrapFuture f = receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(peer));
                Thread.sleep(i * 15L);
                receiver.close();
                try {
                    BootstrapResult r = f.get(30, TimeUnit.SECONDS);
                    assertTrue(Files.isDirectory(r.partitionDirectory()));
                    verify(recv, STORE, 1, 0);
                    succeeded++;
                } catch (ExecutionException e) {
                    BlobTransferException b = (BlobTransferException) e.getCause();
                    assertTrue(allowed.contains(b.code()), b.toString());
                    assertFalse(Files.exists(partitionDir(recv, STORE, 1, 0)), "cancelled but installed");
                    stopped++;
                }
                // Only what resume may use stays: verified files with their journal.
                Path temp = tempDir(recv, STORE, 1, 0);
                assertTrue(!Files.exists(temp) || Files.isRegularFile(temp.resolve(".vbt-resume")), "temp dir left behind");
            }
            assertEquals(6, succeeded + stopped);
        }
    }

    @Test
    void senderClosingWhileTheHostCreatesASnapshot(@TempDir Path snapshots, @TempDir Path recv) throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        SnapshotSource copying = copyingSource(host, new CopyOnWriteArrayList<>());
        SnapshotSource slow = (store, version, partition, directory) -> {
            entered.countDown();
            release.await(30, TimeUnit.SECONDS);
            try {
                return copying.createSnapshot(store, version, partition, directory);
            } finally {
                finished.set(true);
            }
        };
        BlobTransferNode sender = BlobTransferNode.open(config(
                "davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1",
                "vbt.snapshot.dir", snapshots.toString()), slow, null);
        String peer = "127.0.0.1:" + sender.startServer();
        try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            BootstrapFuture f = receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(peer));
            assertTrue(entered.await(30, TimeUnit.SECONDS));
            long start = System.nanoTime();
            sender.close(); // the host's callback is still running on a vbt thread
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "close took too long");
            release.countDown(); // the callback returns into a closed node: nothing breaks
            eventually("the snapshot callback to return", finished::get);
            BlobTransferException e = failure(f);
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code(), e.toString());
            assertFalse(Files.exists(tempDir(recv, STORE, 1, 0)));
        } finally {
            release.countDown();
        }
    }

    @Test
    void callsRacingCloseNeverCrash(@TempDir Path recv) throws Exception {
        for (int round = 0; round < 5; round++) {
            BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv.resolve("r" + round),
                    "davinci.p2p.blob.transfer.server.port", "0", "vbt.server.bind.address", "127.0.0.1"));
            String dead = deadPeer();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger calls = new AtomicInteger();
            List<Throwable> unexpected = new CopyOnWriteArrayList<>();
            List<BootstrapFuture> futures = new CopyOnWriteArrayList<>();
            CountDownLatch running = new CountDownLatch(4);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int id = t;
                threads.add(new Thread(() -> {
                    running.countDown();
                    int i = 0;
                    while (!stop.get()) {
                        try {
                            switch ((id + i++) % 4) {
                                case 0:
                                    node.startServer();
                                    break;
                                case 1:
                                    futures.add(node.bootstrapPartition(STORE, 1, 100 * id + i, null, Arrays.asList(dead)));
                                    break;
                                case 2:
                                    node.cancel(ThreadLocalRandom.current().nextLong(1, 50));
                                    break;
                                default:
                                    if (!futures.isEmpty()) {
                                        futures.get(futures.size() - 1).cancel(true);
                                    }
                            }
                            calls.incrementAndGet();
                        } catch (BlobTransferException | IllegalStateException expected) {
                            calls.incrementAndGet();
                            if (expected instanceof IllegalStateException) {
                                try {
                                    Thread.sleep(1);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        } catch (Throwable other) {
                            unexpected.add(other);
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            running.await();
            Thread.sleep(50 + round * 20L);
            node.close();
            Thread.sleep(50);
            stop.set(true);
            for (Thread t : threads) {
                join(t);
            }
            assertTrue(unexpected.isEmpty(), unexpected.toString());
            assertTrue(calls.get() > 0);
            for (BootstrapFuture f : futures) {
                // Every future ends: success is impossible (dead peer), so a failure or a cancel.
                try {
                    f.get(30, TimeUnit.SECONDS);
                    fail("a bootstrap from a dead peer succeeded");
                } catch (ExecutionException | java.util.concurrent.CancellationException expected) {
                    // ok
                }
            }
        }
    }

    @Test
    void closeFromAContinuationAndFromInsideACallback(@TempDir Path recv) throws Exception {
        BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv));
        CountDownLatch closed = new CountDownLatch(1);
        node.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(deadPeer())).whenComplete((r, e) -> {
            node.close();
            closed.countDown();
        });
        assertTrue(closed.await(30, TimeUnit.SECONDS));
        assertTrue(node.isClosed());

        // Discovery (on a vbt thread) closes its own node: the bootstrap ends, nothing hangs.
        BlobTransferNode[] self = new BlobTransferNode[1];
        CountDownLatch asked = new CountDownLatch(1);
        self[0] = BlobTransferNode.open(receiverConfig(recv), null, (s, v, p) -> {
            self[0].close();
            asked.countDown();
            return Arrays.asList("127.0.0.1:1");
        });
        BootstrapFuture f = self[0].bootstrapPartition(STORE, 1, 1);
        assertTrue(asked.await(30, TimeUnit.SECONDS));
        BlobTransferException e = failure(f);
        assertTrue(EnumSet.of(BlobTransferException.Code.CANCELLED, BlobTransferException.Code.SHUTDOWN,
                BlobTransferException.Code.ALL_PEERS_FAILED).contains(e.code()), e.toString());
        assertTrue(self[0].isClosed());
    }

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertFalse(t.isAlive(), "thread did not finish");
    }
}
