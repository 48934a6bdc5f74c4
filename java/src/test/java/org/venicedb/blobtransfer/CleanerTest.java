package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.venicedb.blobtransfer.Fixtures.config;
import static org.venicedb.blobtransfer.Fixtures.eventually;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safety net for a node that is never closed: once unreachable, the cleaner frees the native
 * node (its server stops, the native count of live nodes drops), and it never frees one twice.
 * The native count is a test-only export of the failpoints build.
 */
class CleanerTest {
    private static int liveNativeNodes() {
        NativeLibrary.ensureLoaded(); // BlobTransferNode's initializer loads it; this test may run first
        return NativeLibrary.nativeLiveNodesForTest();
    }

    private static BlobTransferNode serving(Path base) {
        return BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1", "vbt.base.dir", base.toString()));
    }

    /** Opens a serving node and drops it without closing; returns its port. Nothing keeps the node. */
    private static int openServeAndForget(Path base) {
        return serving(base).startServer();
    }

    private static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aNodeThatIsNeverClosedIsFreedOnceUnreachable(@TempDir Path base) throws Exception {
        int before = liveNativeNodes();
        int port = openServeAndForget(base);
        assertEquals(before + 1, liveNativeNodes());
        assertFalse(portFree(port), "the forgotten node serves on " + port);
        // Other tests' nodes may still be finishing an asynchronous close, so "at most before":
        // this node's own server stopping is what shows it was the one freed.
        eventually("the cleaner to free the unreachable node", () -> {
            System.gc();
            return portFree(port) && liveNativeNodes() <= before;
        });
    }

    @Test
    void aClosedNodeIsNotFreedAgainWhenCollected(@TempDir Path base) throws Exception {
        int before = liveNativeNodes();
        int pending = NativeCleaner.pending();
        BlobTransferNode node = serving(base);
        assertEquals(pending + 1, NativeCleaner.pending());
        node.close();
        node.close();
        assertEquals(before, liveNativeNodes());
        assertEquals(pending, NativeCleaner.pending(), "close() unregisters the node from the cleaner");
        node = null;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(before, liveNativeNodes());
    }

    @Test
    void cleanRunsItsActionExactlyOnceWhoeverCallsIt() throws Exception {
        for (int round = 0; round < 200; round++) {
            AtomicInteger runs = new AtomicInteger();
            Object owner = new Object();
            NativeCleaner.Cleanable c = NativeCleaner.register(owner, runs::incrementAndGet);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    c.clean();
                });
                th.start();
                threads.add(th);
            }
            go.countDown();
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(1, runs.get(), owner.toString()); // (owner stays reachable: only clean() runs it)
        }
    }

    @Test
    void theCleanerRunsTheActionOfAnUnreachableOwner() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        NativeCleaner.register(new Object(), runs::incrementAndGet);
        eventually("the cleaner thread to run the action", () -> {
            System.gc();
            return runs.get() == 1;
        });
    }
}
