package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process-wide log sink receives vbt's records, from vbt's own threads. */
class LogSinkTest {
    @AfterEach
    void removeSink() {
        BlobTransferNode.setLogSink(null, LogSink.Level.INFO);
    }

    private static BlobTransferNode serving(Path base) {
        return BlobTransferNode.open(receiverConfig(base, "davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1"));
    }

    /** A bootstrap that fails on its peer (logged as a warning): a silent peer, then a cancel. */
    private static void failedAttempt(BlobTransferNode node, int partition) throws Exception {
        try (ServerSocket silent = silentPeer()) {
            BootstrapFuture f = node.bootstrapPartition("logStore", 1, partition, null, Arrays.asList(peer(silent)));
            Thread.sleep(200);
            node.cancel(f.opId());
            assertEquals(BlobTransferException.Code.CANCELLED, failure(f).code());
        }
    }

    @Test
    void sinkReceivesRecords(@TempDir Path base) throws Exception {
        List<String> records = new CopyOnWriteArrayList<>();
        assertTrue(BlobTransferNode.setLogSink((level, target, message) ->
                records.add(level + " " + target + " | " + message + " @" + Thread.currentThread().getName()),
                LogSink.Level.DEBUG));
        try (BlobTransferNode node = serving(base)) {
            int port = node.startServer();
            eventually("the listening record", () -> records.stream().anyMatch(r -> r.contains("listening on 127.0.0.1:" + port)));
            failedAttempt(node, 0);
        }
        eventually("the failed attempt", () -> records.stream().anyMatch(r -> r.startsWith("WARN ") && r.contains("logStore_v1-0")));
        assertTrue(records.stream().allMatch(r -> r.contains(" venice_blob_transfer")), records.toString());
        assertTrue(records.stream().noneMatch(r -> r.contains(" jni")), records.toString());
        assertTrue(records.stream().anyMatch(r -> r.contains(" @vbt-")), "records from vbt's own threads: " + records);

        // Removed: nothing more arrives.
        BlobTransferNode.setLogSink(null, LogSink.Level.INFO);
        int before = records.size();
        try (BlobTransferNode node = serving(base)) {
            node.startServer();
            failedAttempt(node, 1);
        }
        assertEquals(before, records.size(), records.toString());
    }

    @Test
    void levelFiltersAndAThrowingSinkIsHarmless(@TempDir Path base) throws Exception {
        List<LogSink.Level> levels = new CopyOnWriteArrayList<>();
        BlobTransferNode.setLogSink((level, target, message) -> {
            levels.add(level);
            throw new RuntimeException("a broken host logger");
        }, LogSink.Level.WARN);
        try (BlobTransferNode node = serving(base)) {
            node.startServer(); // INFO only
            failedAttempt(node, 2); // a WARN
            failedAttempt(node, 3);
        }
        eventually("two warnings", () -> levels.size() >= 2);
        assertTrue(levels.stream().allMatch(l -> l == LogSink.Level.WARN || l == LogSink.Level.ERROR), levels.toString());

        // The builder installs a sink too (process-wide), replacing the throwing one.
        List<String> records = new CopyOnWriteArrayList<>();
        try (BlobTransferNode node = BlobTransferNode.builder().config(receiverConfig(base,
                "davinci.p2p.blob.transfer.server.port", "0", "vbt.server.bind.address", "127.0.0.1"))
                .logSink((level, target, message) -> records.add(message), LogSink.Level.TRACE).open()) {
            node.startServer();
        }
        eventually("a record from the builder's sink", () -> records.stream().anyMatch(r -> r.contains("listening")));
    }
}
