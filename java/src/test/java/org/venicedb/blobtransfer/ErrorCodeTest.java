package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.venicedb.blobtransfer.Fixtures.*;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every failure arrives as its code; the Java code table is the native one. */
class ErrorCodeTest {
    private static BlobTransferException.Code code(Runnable r) {
        return assertThrows(BlobTransferException.class, r::run).code();
    }

    @Test
    void codeEnumMirrorsTheNativeTable() {
        BlobTransferNode.libraryVersion(); // loads the library
        String[] nativeNames = NativeLibrary.nativeCodeNames();
        assertArrayEquals(NativeLibrary.javaCodeNames(), nativeNames);
        assertEquals(18, nativeNames.length);
        assertEquals("OK", nativeNames[0]);
        assertEquals("INVALID_ARGUMENT", nativeNames[1]);
        assertEquals("PARTITION_EXISTS", nativeNames[16]);
        assertEquals("DISABLED", nativeNames[17]);
        for (BlobTransferException.Code c : BlobTransferException.Code.values()) {
            assertEquals(c.name(), nativeNames[c.number()]);
            assertEquals(c, BlobTransferException.Code.fromNumber(c.number()));
            // The constructor the native library throws with maps every number to its code.
            BlobTransferException e = new BlobTransferException(c.number(), "m", -1);
            assertEquals(c, e.code());
            assertFalse(e.httpStatus().isPresent());
        }
        assertEquals(BlobTransferException.Code.INTERNAL, BlobTransferException.Code.fromNumber(999));
        assertEquals(404, new BlobTransferException(6, "m", 404).httpStatus().getAsInt());
        assertFalse(BlobTransferNode.libraryVersion().isEmpty());
    }

    @Test
    void managerDisabledStartsNothing() {
        try (BlobTransferNode node = BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1", "blob.transfer.manager.enabled", "false",
                "vbt.base.dir", System.getProperty("java.io.tmpdir") + "/vbt-java-disabled"))) {
            BlobTransferException e = assertThrows(BlobTransferException.class, node::startServer);
            assertEquals(BlobTransferException.Code.DISABLED, e.code());
            assertTrue(e.getMessage().contains("blob.transfer.manager.enabled=false"), e.getMessage());
            e = assertThrows(BlobTransferException.class,
                    () -> node.bootstrapPartition("offStore", 1, 0, "BLOCK_BASED_TABLE", java.util.List.of("127.0.0.1:9")));
            assertEquals(BlobTransferException.Code.DISABLED, e.code());
        }
    }

    @Test
    void badConfigValueIsConfigNamingTheKey() {
        BlobTransferException e = assertThrows(BlobTransferException.class,
                () -> BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port", "70000")));
        assertEquals(BlobTransferException.Code.CONFIG, e.code());
        assertTrue(e.getMessage().contains("davinci.p2p.blob.transfer.server.port"), e.getMessage());
        e = assertThrows(BlobTransferException.class,
                () -> BlobTransferNode.open(config("blob.transfer.max.concurrent.snapshot.user", "many")));
        assertEquals(BlobTransferException.Code.CONFIG, e.code());
        assertTrue(e.getMessage().contains("blob.transfer.max.concurrent.snapshot.user"), e.getMessage());
        // A snapshot source needs a directory to create checkpoints in.
        e = assertThrows(BlobTransferException.class,
                () -> BlobTransferNode.open(config(), (s, v, p, d) -> null, null));
        assertEquals(BlobTransferException.Code.CONFIG, e.code());
        assertTrue(e.getMessage().contains("vbt.snapshot.dir"), e.getMessage());
    }

    @Test
    void misconfiguredCallsAreConfig() {
        try (BlobTransferNode node = BlobTransferNode.open(config())) {
            // No port to listen on, nothing to serve, nowhere to install.
            assertEquals(BlobTransferException.Code.CONFIG, code(node::startServer));
            assertEquals(BlobTransferException.Code.CONFIG,
                    code(() -> node.bootstrapPartition("s", 1, 0, null, Arrays.asList("127.0.0.1:1"))));
        }
    }

    @Test
    void badArgumentsAreInvalidArgument(@TempDir Path recv) throws Exception {
        try (BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv))) {
            java.util.List<String> peers = Arrays.asList("127.0.0.1:1");
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("s", 1, 0, "ROW_TABLE", peers)));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("../etc", 1, 0, null, peers)));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("", 1, 0, null, peers)));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("s", 1, -1, null, peers)));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("s", 1, 0, null, Arrays.asList("host:port"))));
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT,
                    code(() -> node.bootstrapPartition("s", 1, 0, null, Arrays.asList("nohostport"))));
            assertThrows(NullPointerException.class, () -> node.bootstrapPartition(null, 1, 0, null, peers));
            assertThrows(NullPointerException.class,
                    () -> node.bootstrapPartition("s", 1, 0, null, Collections.singletonList((String) null)));
            assertThrows(NullPointerException.class, () -> BlobTransferNode.open((java.util.Map<String, String>) null));
            // The node is still fine after all that.
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED,
                    failure(node.bootstrapPartition("s", 1, 0, null, peers)).code());
        }
    }

    @Test
    void serverErrors() {
        try (BlobTransferNode node = BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port", "0",
                "vbt.server.bind.address", "127.0.0.1", "vbt.base.dir", System.getProperty("java.io.tmpdir") + "/vbt-java-unused"))) {
            int port = node.startServer();
            assertTrue(port > 0);
            assertEquals(BlobTransferException.Code.INVALID_ARGUMENT, code(node::startServer));
            // The port is taken now.
            try (BlobTransferNode other = BlobTransferNode.open(config("davinci.p2p.blob.transfer.server.port",
                    Integer.toString(port), "vbt.server.bind.address", "127.0.0.1", "vbt.base.dir",
                    System.getProperty("java.io.tmpdir") + "/vbt-java-unused"))) {
                assertEquals(BlobTransferException.Code.IO, code(other::startServer));
            }
        }
    }

    @Test
    void deadPeerIsAllPeersFailed(@TempDir Path recv) throws Exception {
        String dead = deadPeer();
        try (BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv))) {
            BlobTransferException e = failure(node.bootstrapPartition("s", 1, 0, null, Arrays.asList(dead)));
            assertEquals(BlobTransferException.Code.ALL_PEERS_FAILED, e.code());
            assertTrue(e.getMessage().contains(dead), e.getMessage());
        }
    }

    @Test
    void duplicateInFlightBootstrapIsAlreadyInProgress(@TempDir Path recv) throws Exception {
        try (ServerSocket silent = silentPeer(); BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv))) {
            BootstrapFuture first = node.bootstrapPartition("s", 1, 0, null, Arrays.asList(peer(silent)));
            BlobTransferException e = assertThrows(BlobTransferException.class,
                    () -> node.bootstrapPartition("s", 1, 0, null, Arrays.asList(peer(silent))));
            assertEquals(BlobTransferException.Code.ALREADY_IN_PROGRESS, e.code());
            assertTrue(e.getMessage().contains("s_v1-0"), e.getMessage());
            assertFalse(first.isDone());
            // Another partition is fine.
            BootstrapFuture other = node.bootstrapPartition("s", 1, 1, null, Arrays.asList(peer(silent)));
            assertTrue(node.cancel(first.opId()));
            assertTrue(node.cancel(other.opId()));
            assertEquals(BlobTransferException.Code.CANCELLED, failure(first).code());
            assertEquals(BlobTransferException.Code.CANCELLED, failure(other).code());
            assertFalse(node.cancel(first.opId()));
        }
    }

    @Test
    void closedNodeThrowsIllegalState(@TempDir Path recv) {
        BlobTransferNode node = BlobTransferNode.open(receiverConfig(recv, "davinci.p2p.blob.transfer.server.port", "0"));
        node.close();
        assertTrue(node.isClosed());
        assertThrows(IllegalStateException.class, node::startServer);
        assertThrows(IllegalStateException.class, () -> node.bootstrapPartition("s", 1, 0, null, Arrays.asList("127.0.0.1:1")));
        assertThrows(IllegalStateException.class, () -> node.bootstrapPartition("s", 1, 0));
        assertThrows(IllegalStateException.class, () -> node.cancel(1));
        node.close();
    }

    @Test
    void panicBecomesInternal() {
        BlobTransferNode.libraryVersion();
        for (int i = 0; i < 3; i++) {
            BlobTransferException e = assertThrows(BlobTransferException.class, NativeLibrary::nativePanicForTest);
            assertEquals(BlobTransferException.Code.INTERNAL, e.code());
            assertTrue(e.getMessage().contains("deliberate panic"), e.getMessage());
        }
    }
}
