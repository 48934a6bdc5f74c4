package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cancelling the future cancels the transfer itself. */
class CancelTest {
    @Test
    void cancellingTheFutureCancelsTheTransfer(@TempDir Path recv) throws Exception {
        try (ServerSocket silent = silentPeer(); BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv))) {
            BootstrapFuture f = node.bootstrapPartition("cancelStore", 3, 7, null, Arrays.asList(peer(silent)));
            // Wait until the transfer is really under way: its request has reached the peer.
            silent.setSoTimeout(20_000);
            try (Socket s = silent.accept()) {
                s.setSoTimeout(20_000);
                // The receiver's probe connects and closes; the attempt sends a GET. Read its first byte.
                int first = s.getInputStream().read();
                if (first < 0) {
                    try (Socket attempt = silent.accept()) {
                        attempt.setSoTimeout(20_000);
                        assertEquals('G', attempt.getInputStream().read());
                        cancelAndCheck(node, f, recv);
                    }
                } else {
                    assertEquals('G', first);
                    cancelAndCheck(node, f, recv);
                }
            }
            // The partition is free again: a new bootstrap is accepted and can be cancelled by id.
            BootstrapFuture again = node.bootstrapPartition("cancelStore", 3, 7, null, Arrays.asList(peer(silent)));
            assertTrue(node.cancel(again.opId()));
            assertEquals(BlobTransferException.Code.CANCELLED, failure(again).code());
            assertFalse(again.isCancelled());
        }
    }

    private static void cancelAndCheck(BlobTransferNode node, BootstrapFuture f, Path recv) throws Exception {
        assertFalse(f.isDone());
        assertTrue(f.cancel(true));
        assertTrue(f.isCancelled());
        assertThrows(CancellationException.class, () -> f.get(1, TimeUnit.SECONDS));
        BlobTransferException e = failure(f.nativeResult());
        assertEquals(BlobTransferException.Code.CANCELLED, e.code(), e.toString());
        assertFalse(Files.exists(tempDir(recv, "cancelStore", 3, 7)), "temp dir left behind");
        assertFalse(Files.exists(partitionDir(recv, "cancelStore", 3, 7)));
        assertTrue(f.cancel(true)); // still cancelled (CompletableFuture's contract); nothing else happens
        assertFalse(node.cancel(f.opId()), "the operation is gone");
    }

    @Test
    void cancelAfterCompletionIsHarmless(@TempDir Path recv) throws Exception {
        try (BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv))) {
            BootstrapFuture f = node.bootstrapPartition("s", 1, 0, null, Arrays.asList(deadPeer()));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, failure(f).code());
            assertFalse(f.cancel(true));
            assertFalse(node.cancel(f.opId()));
        }
        // Cancelling a future after its node closed is harmless too.
        BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv));
        try (ServerSocket silent = silentPeer()) {
            BootstrapFuture f = node.bootstrapPartition("s", 1, 1, null, Arrays.asList(peer(silent)));
            node.close();
            assertEquals(BlobTransferException.Code.CANCELLED, failure(f.nativeResult()).code());
            assertFalse(f.cancel(true)); // already completed by the close
        }
    }
}
