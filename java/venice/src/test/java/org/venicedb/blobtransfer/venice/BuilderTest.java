package org.venicedb.blobtransfer.venice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.linkedin.davinci.blobtransfer.BlobTransferAclHandler;
import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.blobtransfer.P2PBlobTransferConfig;
import com.linkedin.davinci.blobtransfer.VeniceAdaptiveBlobTransferTrafficThrottler;
import com.linkedin.davinci.stats.AggBlobTransferStats;
import com.linkedin.davinci.storage.StorageEngineRepository;
import com.linkedin.venice.client.store.ClientConfig;
import com.linkedin.venice.exceptions.VenicePeersNotFoundException;
import com.linkedin.venice.meta.ReadOnlyStoreRepository;
import com.linkedin.venice.security.SSLConfig;
import com.linkedin.venice.security.SSLFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link VbtBlobTransferManagerBuilder}: Venice's builder's checks and contract. */
class BuilderTest {
    @TempDir
    Path work;

    static final SSLFactory SSL = new SSLFactory() {
        @Override
        public SSLConfig getSSLConfig() {
            return null;
        }

        @Override
        public SSLContext getSSLContext() {
            return null;
        }

        @Override
        public SSLParameters getSSLParameters() {
            return null;
        }

        @Override
        public boolean isSslEnabled() {
            return true;
        }
    };

    static final ReadOnlyStoreRepository STORES = new ReadOnlyStoreRepository() {};

    private VbtBlobTransferManagerBuilder builder(Path data, int port) {
        P2PBlobTransferConfig config = new P2PBlobTransferConfig(port, port, data.resolve("rocksdb").toString(), 30,
                2L << 20, 60, 60, 20, 60, BlobTransferTableFormat.BLOCK_BASED_TABLE, 30, 157286400L, 157286400L, 120, 20,
                4, 25, false);
        Properties node = TestNode.props(data, "127.0.0.6", port + 1); // the P2P config's port wins
        Fakes.MetadataService metadata = new Fakes.MetadataService(data.resolve("rocksdb"), null);
        return new VbtBlobTransferManagerBuilder().setBlobTransferConfig(config)
                .setClientConfig(new ClientConfig<>("myStore"))
                .setStorageMetadataService(metadata)
                .setReadOnlyStoreRepository(STORES)
                .setStorageEngineRepository(new StorageEngineRepository())
                .setAggBlobTransferStats(new AggBlobTransferStats(new Fakes.Stats(), null))
                .setBlobTransferSSLFactory(Optional.of(SSL))
                .setBlobTransferAclHandler(Optional.of(new BlobTransferAclHandler(Optional.empty(), null, false)))
                .setPushStatusNotifierSupplier(() -> null)
                .setNodeProperties(node);
    }

    @Test
    void returnsNullWhenVeniceWouldNotBuild() throws Exception {
        int port = TestNode.freePort();
        assertNull(builder(work.resolve("a"), port).setBlobTransferSSLFactory(Optional.empty()).build(), "no SSL factory");
        assertNull(builder(work.resolve("b"), port).setBlobTransferAclHandler(Optional.empty()).build(), "no ACL handler");
        assertNull(builder(work.resolve("c"), port).setBlobTransferSSLFactory(null).build(), "SSL factory never set");
        assertNull(builder(work.resolve("d"), port).setCustomizedViewFuture(new CompletableFuture<>()).build(),
                "both a client config and a customized view");
        assertNull(builder(work.resolve("e"), port).setClientConfig(null).build(), "neither");
        assertNull(builder(work.resolve("f"), port).setStorageMetadataService(null).build(), "no metadata service");
        Properties bad = TestNode.props(work.resolve("g"), "127.0.0.6", port);
        bad.setProperty("vbt.receive.streams", "99"); // 1..8; a key the P2P config does not carry
        assertNull(builder(work.resolve("g"), port).setNodeProperties(bad).build(), "a value vbt refuses");
    }

    @Test
    void buildsAStartedManagerOnTheConfiguredPort() throws Exception {
        int port = TestNode.freePort();
        Path data = work.resolve("node");
        BlobTransferManager<Void> m = builder(data, port).build();
        assertNotNull(m);
        try {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.6"), port), 3000);
            }
            // Venice's DaVinciBlobFinder here finds nobody (no router in a test).
            VbtBlobTransferManagerTest.assertCause(VenicePeersNotFoundException.class,
                    m.get("myStore", 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE), "are not found any peers");
            assertNotNull(m.getAggVersionedBlobTransferStats());
            assertNotNull(m.getTransferStatusTrackingManager());
        } finally {
            m.close();
        }
        TestNode.Layout layout = new TestNode.Layout(data.resolve("rocksdb"));
        layout.check();
        layout.assertClean();
        assertTrue(Files.isDirectory(data.resolve("rocksdb")) || !Files.exists(data.resolve("rocksdb")));
    }

    @Test
    void passesTheAdaptiveThrottlersSignalsOn() throws Exception {
        VeniceAdaptiveBlobTransferTrafficThrottler write = new VeniceAdaptiveBlobTransferTrafficThrottler(10, 100, 20, true);
        VeniceAdaptiveBlobTransferTrafficThrottler read = new VeniceAdaptiveBlobTransferTrafficThrottler(10, 100, 20, false);
        AtomicBoolean latency = new AtomicBoolean();
        write.registerLimiterSignal(latency::get);
        read.registerLimiterSignal(latency::get);
        read.registerLimiterSignal(() -> {
            throw new IllegalStateException("a broken signal counts as off");
        });
        List<String> seen = new CopyOnWriteArrayList<>();
        ThrottleSignals s = ThrottleSignals.start((signal, on) -> seen.add(signal + "=" + on), 5, write, read);
        assertNotNull(s);
        try {
            VbtBlobTransferManagerTest.eventually("the first poll", () -> seen.size() >= 2);
            assertEquals("LIMITER=false", seen.get(0));
            assertEquals("BOOSTER=false", seen.get(1));
            latency.set(true);
            VbtBlobTransferManagerTest.eventually("the limiter turns on", () -> seen.contains("LIMITER=true"));
            latency.set(false);
            VbtBlobTransferManagerTest.eventually("and off", () -> seen.lastIndexOf("LIMITER=false") > seen.indexOf("LIMITER=true"));
            write.registerBoosterSignal(() -> true); // registered after the bridge started
            VbtBlobTransferManagerTest.eventually("a later signal counts", () -> seen.contains("BOOSTER=true"));
        } finally {
            s.close();
        }
        assertNull(ThrottleSignals.start((signal, on) -> {}, 5, null, null), "nothing to pass on without throttlers");
    }

    @Test
    void aManagerWithAdaptiveThrottlingTakesTheSignals() throws Exception {
        int port = TestNode.freePort();
        Path data = work.resolve("adaptive");
        Properties p = TestNode.props(data, "127.0.0.6", port);
        p.setProperty("server.adaptive.throttler.enabled", "true");
        p.setProperty("server.blob.transfer.adaptive.throttler.enabled", "true");
        VeniceAdaptiveBlobTransferTrafficThrottler write = new VeniceAdaptiveBlobTransferTrafficThrottler(10, 100, 20, true);
        write.registerLimiterSignal(() -> true);
        BlobTransferManager<Void> m = builder(data, port).setNodeProperties(p)
                .setAdaptiveBlobTransferWriteTrafficThrottler(write)
                .build();
        assertNotNull(m, "built with adaptive throttling on");
        m.close();
    }
}
