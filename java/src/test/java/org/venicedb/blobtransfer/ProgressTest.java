package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Progress listeners and the per-peer failure list, over real transfers between two nodes. */
class ProgressTest {
    static final String STORE = "progressStore";

    @TempDir
    static Path host;

    @BeforeAll
    static void generate() throws Exception {
        gen(host, STORE, 1, 0, 4);
    }

    private static BlobTransferNode sender() {
        return BlobTransferNode.open(config("vbt.base.dir", host.toString(),
                "davinci.p2p.blob.transfer.server.port", "0", "vbt.server.bind.address", "127.0.0.1"));
    }

    /** What one listener call saw. */
    private static final class Report {
        final BootstrapProgress progress;
        final String thread;
        final boolean futureDone;

        Report(BootstrapProgress progress, String thread, boolean futureDone) {
            this.progress = progress;
            this.thread = thread;
            this.futureDone = futureDone;
        }

        @Override
        public String toString() {
            return progress + " on " + thread + (futureDone ? " AFTER completion" : "");
        }
    }

    @Test
    void progressArrivesOnTheCallbackThreadAndEndsWithTheOutcome(@TempDir Path recv) throws Exception {
        List<Report> reports = new CopyOnWriteArrayList<>();
        AtomicReference<BootstrapFuture> future = new AtomicReference<>();
        try (BlobTransferNode sender = sender()) {
            String peer = "127.0.0.1:" + sender.startServer();
            int atCompletion;
            BootstrapResult r;
            try (BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
                BootstrapRequest req = BootstrapRequest.builder(STORE, 1, 0)
                        .peers(Arrays.asList(peer))
                        .progressListener(p -> {
                            BootstrapFuture f = future.get();
                            reports.add(new Report(p, Thread.currentThread().getName(), f != null && f.isDone()));
                        })
                        .build();
                BootstrapFuture f = receiver.bootstrapPartition(req);
                future.set(f);
                r = result(f);
                atCompletion = reports.size();
            } // closing drains the callback thread: a late report would have arrived by now
            assertEquals(atCompletion, reports.size(), "a report after the completion: " + reports);
            assertTrue(reports.size() >= 2, "a report while data arrives and the final one: " + reports);
            long finals = reports.stream().filter(x -> x.progress.isFinal()).count();
            assertEquals(1, finals, reports.toString());
            Report last = reports.get(reports.size() - 1);
            assertTrue(last.progress.isFinal(), reports.toString());
            assertEquals(0, r.resumedBytes(), r.toString());
            assertTrue(r.streams() >= 1, r.toString());
            assertEquals(r.bytes() + r.resumedBytes(), last.progress.bytesDone(), reports.toString());
            assertEquals(r.resumedBytes(), last.progress.bytesResumed(), reports.toString());
            assertEquals(r.files(), last.progress.filesDone(), reports.toString());
            long previous = -1;
            for (Report x : reports) {
                assertEquals("vbt-callbacks", x.thread, x.toString());
                assertFalse(x.futureDone, x.toString());
                assertEquals(peer, x.progress.peer(), x.toString());
                assertTrue(x.progress.bytesDone() >= previous, reports.toString());
                previous = x.progress.bytesDone();
                // Java senders never announce totals; vbt senders may: then they are the snapshot's.
                x.progress.bytesTotal().ifPresent(t -> assertEquals(r.bytes() + r.resumedBytes(), t, x.toString()));
            }
            verify(recv, STORE, 1, 0);
        }
    }

    @Test
    void aListenerThatThrowsIsLoggedAndTheBootstrapSucceeds(@TempDir Path recv) throws Exception {
        Logger logger = Logger.getLogger("org.venicedb.blobtransfer");
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(capture);
        // Kept off the console: the test script fails on any "WARNING" line (the JNI checker's).
        boolean parents = logger.getUseParentHandlers();
        logger.setUseParentHandlers(false);
        AtomicInteger calls = new AtomicInteger();
        try (BlobTransferNode sender = sender();
                BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            String peer = "127.0.0.1:" + sender.startServer();
            BootstrapResult r = result(receiver.bootstrapPartition(BootstrapRequest.builder(STORE, 1, 0)
                    .peers(Arrays.asList(peer))
                    .progressListener(p -> {
                        calls.incrementAndGet();
                        throw new IllegalStateException("listener bug " + p.bytesDone());
                    })
                    .build()));
            assertEquals(peer, r.peer());
            assertTrue(calls.get() >= 2, "the listener is still called after it threw: " + calls.get());
            verify(recv, STORE, 1, 0);
        } finally {
            logger.removeHandler(capture);
            logger.setUseParentHandlers(parents);
        }
        assertEquals(calls.get(), logged.stream()
                .filter(l -> l.getLevel() == Level.WARNING && l.getThrown() instanceof IllegalStateException)
                .count(), logged.toString());
    }

    @Test
    void everyFailedPeerIsListedWithItsCode(@TempDir Path recv) throws Exception {
        try (BlobTransferNode sender = sender();
                BlobTransferNode receiver = BlobTransferNode.open(receiverConfig(recv))) {
            String serving = "127.0.0.1:" + sender.startServer();
            String dead = deadPeer();
            // The sender has no partition 7 (it answers 404); nothing listens on the dead port.
            BlobTransferException e = failure(receiver.bootstrapPartition(BootstrapRequest.builder(STORE, 1, 7)
                    .peers(Arrays.asList(dead, serving))
                    .build()));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code(), e.toString());
            List<BootstrapResult.FailedPeer> failed = e.peerFailures();
            assertEquals(2, failed.size(), failed.toString());
            List<String> peers = new ArrayList<>();
            for (BootstrapResult.FailedPeer f : failed) {
                peers.add(f.peer());
                assertFalse(f.message().isEmpty(), f.toString());
                assertTrue(e.getMessage().contains(f.peer()), e.getMessage());
                if (f.peer().equals(dead)) {
                    assertEquals(BlobTransferException.Code.IO, f.code(), f.toString());
                } else {
                    assertEquals(BlobTransferException.Code.PEER_STATUS, f.code(), f.toString());
                }
            }
            assertTrue(peers.contains(dead) && peers.contains(serving), peers.toString());

            // A failure that is not about peers has no list.
            result(receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(serving)));
            BlobTransferException exists = failure(receiver.bootstrapPartition(STORE, 1, 0, null, Arrays.asList(serving)));
            assertEquals(BlobTransferException.Code.PARTITION_EXISTS, exists.code(), exists.toString());
            assertTrue(exists.peerFailures().isEmpty());
        }
    }
}
