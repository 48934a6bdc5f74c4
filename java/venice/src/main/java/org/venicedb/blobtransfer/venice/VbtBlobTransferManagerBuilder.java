package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferAclHandler;
import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.blobtransfer.P2PBlobTransferConfig;
import com.linkedin.davinci.blobtransfer.VeniceAdaptiveBlobTransferTrafficThrottler;
import com.linkedin.davinci.notifier.VeniceNotifier;
import com.linkedin.davinci.stats.AggBlobTransferStats;
import com.linkedin.davinci.storage.StorageEngineRepository;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.IdentityParser;
import com.linkedin.venice.blobtransfer.BlobFinder;
import com.linkedin.venice.blobtransfer.DaVinciBlobFinder;
import com.linkedin.venice.blobtransfer.ServerAndDaVinciBlobFinder;
import com.linkedin.venice.blobtransfer.ServerBlobFinder;
import com.linkedin.venice.client.store.ClientConfig;
import com.linkedin.venice.helix.HelixCustomizedViewOfflinePushRepository;
import com.linkedin.venice.meta.ReadOnlyStoreRepository;
import com.linkedin.venice.security.SSLFactory;
import com.linkedin.venice.utils.LogContext;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Venice's {@code BlobTransferManagerBuilder} for a {@link VbtBlobTransferManager}: the same
 * setters, the same validation, and the same contract for {@link #build()}, which returns a
 * started manager, or {@code null} (with a warning logged) when it cannot, so the node
 * bootstraps from Kafka as it does without blob transfer.
 *
 * <p>One setter is added, {@link #setNodeProperties(Properties)}: the node's properties (Venice
 * passes {@code configLoader.getCombinedProperties().toProperties()}), for the keys vbt reads that
 * {@code P2PBlobTransferConfig} does not carry ({@code ssl.*}, {@code vbt.*}, the adaptive
 * throttler's). The values the {@code P2PBlobTransferConfig} holds (ports, base directory, limits,
 * timeouts, table format) override the same keys of those properties, since Venice derived them.
 *
 * <p>The SSL factory is required, as Venice requires it, but vbt does its own TLS from the
 * {@code ssl.*} keys; the ACL handler likewise (vbt applies Venice's ACL rule itself). A Venice
 * server's origin rule needs the two parts its ACL handler was made from, which that handler does
 * not expose: {@link #setClientOrigin} takes them.
 */
public class VbtBlobTransferManagerBuilder {
    private static final Logger LOG = Logger.getLogger(VbtBlobTransferManagerBuilder.class.getName());

    private P2PBlobTransferConfig blobTransferConfig;
    @SuppressWarnings("rawtypes") // as Venice's builder
    private ClientConfig clientConfig;
    private CompletableFuture<HelixCustomizedViewOfflinePushRepository> customizedViewFuture;
    private StorageMetadataService storageMetadataService;
    private ReadOnlyStoreRepository readOnlyStoreRepository;
    private StorageEngineRepository storageEngineRepository;
    private AggBlobTransferStats aggBlobTransferStats;
    private Optional<SSLFactory> sslFactory;
    private Optional<BlobTransferAclHandler> aclHandler;
    private VeniceAdaptiveBlobTransferTrafficThrottler writeThrottler;
    private VeniceAdaptiveBlobTransferTrafficThrottler readThrottler;
    private Supplier<VeniceNotifier> veniceNotifier;
    private LogContext logContext;
    private boolean serverFallbackEnabled;
    private Properties nodeProperties;
    private Optional<DynamicAccessController> storeAccessController = Optional.empty();
    private IdentityParser identityParser;

    public VbtBlobTransferManagerBuilder() {}

    public VbtBlobTransferManagerBuilder setBlobTransferConfig(P2PBlobTransferConfig blobTransferConfig) {
        this.blobTransferConfig = blobTransferConfig;
        return this;
    }

    public VbtBlobTransferManagerBuilder setClientConfig(@SuppressWarnings("rawtypes") ClientConfig clientConfig) {
        this.clientConfig = clientConfig;
        return this;
    }

    public VbtBlobTransferManagerBuilder setCustomizedViewFuture(
            CompletableFuture<HelixCustomizedViewOfflinePushRepository> customizedViewFuture) {
        this.customizedViewFuture = customizedViewFuture;
        return this;
    }

    public VbtBlobTransferManagerBuilder setStorageMetadataService(StorageMetadataService storageMetadataService) {
        this.storageMetadataService = storageMetadataService;
        return this;
    }

    public VbtBlobTransferManagerBuilder setReadOnlyStoreRepository(ReadOnlyStoreRepository readOnlyStoreRepository) {
        this.readOnlyStoreRepository = readOnlyStoreRepository;
        return this;
    }

    public VbtBlobTransferManagerBuilder setStorageEngineRepository(StorageEngineRepository storageEngineRepository) {
        this.storageEngineRepository = storageEngineRepository;
        return this;
    }

    public VbtBlobTransferManagerBuilder setAggBlobTransferStats(AggBlobTransferStats aggBlobTransferStats) {
        this.aggBlobTransferStats = aggBlobTransferStats;
        return this;
    }

    public VbtBlobTransferManagerBuilder setBlobTransferSSLFactory(Optional<SSLFactory> sslFactory) {
        this.sslFactory = sslFactory;
        return this;
    }

    public VbtBlobTransferManagerBuilder setBlobTransferAclHandler(Optional<BlobTransferAclHandler> blobTransferAclHandler) {
        this.aclHandler = blobTransferAclHandler;
        return this;
    }

    /**
     * The server's per-store access controller and its {@code identity.parser.class} instance (what
     * Venice's {@code BlobTransferUtils.createAclHandler} makes its handler from): peers of another
     * application are then of client origin (see {@link VbtBlobTransferManager}). Not set, or an
     * empty controller (DaVinci): every same-issuer peer is served alike.
     */
    public VbtBlobTransferManagerBuilder setClientOrigin(Optional<DynamicAccessController> storeAccessController,
            IdentityParser identityParser) {
        this.storeAccessController = storeAccessController == null ? Optional.empty() : storeAccessController;
        this.identityParser = identityParser;
        return this;
    }

    public VbtBlobTransferManagerBuilder setAdaptiveBlobTransferWriteTrafficThrottler(
            VeniceAdaptiveBlobTransferTrafficThrottler adaptiveBlobTransferWriteTrafficThrottler) {
        this.writeThrottler = adaptiveBlobTransferWriteTrafficThrottler;
        return this;
    }

    public VbtBlobTransferManagerBuilder setAdaptiveBlobTransferReadTrafficThrottler(
            VeniceAdaptiveBlobTransferTrafficThrottler adaptiveBlobTransferReadTrafficThrottler) {
        this.readThrottler = adaptiveBlobTransferReadTrafficThrottler;
        return this;
    }

    public VbtBlobTransferManagerBuilder setPushStatusNotifierSupplier(Supplier<VeniceNotifier> veniceNotifier) {
        this.veniceNotifier = veniceNotifier;
        return this;
    }

    public VbtBlobTransferManagerBuilder setLogContext(LogContext logContext) {
        this.logContext = logContext;
        return this;
    }

    public AggBlobTransferStats getAggBlobTransferStats() {
        return aggBlobTransferStats;
    }

    /** Include Venice servers after DaVinci peers (DaVinci's server fallback), as Venice's builder. */
    public VbtBlobTransferManagerBuilder setServerFallbackEnabled(boolean serverFallbackEnabled) {
        this.serverFallbackEnabled = serverFallbackEnabled;
        return this;
    }

    /** The node's properties (see the class docs). */
    public VbtBlobTransferManagerBuilder setNodeProperties(Properties nodeProperties) {
        this.nodeProperties = nodeProperties;
        return this;
    }

    /**
     * Builds and starts the manager; {@code null} when that fails (the reason is logged at
     * WARNING), so the node bootstraps from Kafka.
     */
    public BlobTransferManager<Void> build() {
        BlobFinder finder = null;
        BlobSnapshotManager snapshots = null;
        VbtBlobTransferManager manager = null;
        try {
            validateFields();
            if (customizedViewFuture != null) {
                finder = new ServerBlobFinder(customizedViewFuture);
            } else if (serverFallbackEnabled) {
                finder = new ServerAndDaVinciBlobFinder(clientConfig);
            } else {
                finder = new DaVinciBlobFinder(clientConfig);
            }
            snapshots = new BlobSnapshotManager(storageEngineRepository, storageMetadataService,
                    blobTransferConfig.getSnapshotRetentionTimeInMin(), blobTransferConfig.getTransferSnapshotTableFormat(),
                    blobTransferConfig.getSnapshotCleanupIntervalInMins(), logContext);
            manager = new VbtBlobTransferManager(properties(), finder, snapshots, storageMetadataService, veniceNotifier,
                    aggBlobTransferStats.getAggVersionedBlobTransferStats(), storeAccessController, identityParser);
            finder = null; // the manager owns them now
            snapshots = null;
            if (writeThrottler != null || readThrottler != null) {
                manager.setAdaptiveThrottlers(writeThrottler, readThrottler);
            }
            manager.start();
            return manager;
        } catch (Exception e) {
            LOG.log(Level.WARNING, "Failed to start up the vbt blob transfer manager; bootstrapping from Kafka", e);
            if (manager != null) {
                manager.close();
            }
            closeQuietly(finder);
            if (snapshots != null) {
                snapshots.shutdown();
            }
            return null;
        }
    }

    /** The node's properties, with the values Venice put into the P2PBlobTransferConfig. */
    Properties properties() {
        Properties p = new Properties();
        if (nodeProperties != null) {
            for (String k : nodeProperties.stringPropertyNames()) {
                p.setProperty(k, nodeProperties.getProperty(k));
            }
        }
        P2PBlobTransferConfig c = blobTransferConfig;
        p.setProperty("davinci.p2p.blob.transfer.server.port", Integer.toString(c.getP2pTransferServerPort()));
        p.setProperty("davinci.p2p.blob.transfer.client.port", Integer.toString(c.getP2pTransferClientPort()));
        p.setProperty(NodeSettings.BASE_DIR, c.getBaseDir());
        p.setProperty("blob.transfer.max.concurrent.snapshot.user", Integer.toString(c.getMaxConcurrentSnapshotUser()));
        p.setProperty("blob.transfer.max.chunk.size.bytes", Long.toString(c.getMaxChunkSizeBytes()));
        p.setProperty("blob.transfer.snapshot.retention.time.in.min", Integer.toString(c.getSnapshotRetentionTimeInMin()));
        p.setProperty("blob.transfer.max.timeout.in.min", Integer.toString(c.getBlobTransferMaxTimeoutInMin()));
        p.setProperty("blob.receive.max.timeout.in.min", Integer.toString(c.getBlobReceiveTimeoutInMin()));
        p.setProperty("blob.receive.reader.idle.time.in.seconds", Integer.toString(c.getBlobReceiveReaderIdleTimeInSeconds()));
        p.setProperty(NodeSettings.PLAIN_TABLE,
                Boolean.toString(c.getTransferSnapshotTableFormat() == BlobTransferTableFormat.PLAIN_TABLE));
        p.setProperty("blob.transfer.peers.connectivity.freshness.in.seconds",
                Integer.toString(c.getPeersConnectivityFreshnessInSeconds()));
        p.setProperty("blob.transfer.client.read.limit.bytes.per.sec", Long.toString(c.getBlobTransferClientReadLimitBytesPerSec()));
        p.setProperty("blob.transfer.service.write.limit.bytes.per.sec",
                Long.toString(c.getBlobTransferServiceWriteLimitBytesPerSec()));
        p.setProperty("blob.transfer.snapshot.cleanup.interval.in.mins", Integer.toString(c.getSnapshotCleanupIntervalInMins()));
        p.setProperty(NodeSettings.MAX_RECEIVE_REPLICAS, Integer.toString(c.getMaxConcurrentBlobReceiveReplicas()));
        p.setProperty("server.blob.transfer.client.capacity.percent", Integer.toString(c.getClientCapacityPercent()));
        p.setProperty("server.blob.transfer.accept.client.request.enabled",
                Boolean.toString(c.isServerAcceptClientBlobRequestEnabled()));
        return p;
    }

    /** Venice's checks, with Venice's messages. */
    private void validateFields() {
        if (clientConfig == null && customizedViewFuture == null) {
            throw new IllegalArgumentException("The client config and customized view future must one of them be null");
        }
        if (clientConfig != null && customizedViewFuture != null) {
            throw new IllegalArgumentException("The client config and customized view future must one of them be null");
        }
        if (blobTransferConfig == null || storageMetadataService == null || readOnlyStoreRepository == null
                || storageEngineRepository == null || aggBlobTransferStats == null) {
            throw new IllegalArgumentException(
                    "The blob transfer config, storage metadata service, read only store repository, storage engine "
                            + "repository, and agg versioned blob transfer stats must not be null");
        }
        if (sslFactory == null || aclHandler == null || !sslFactory.isPresent() || !aclHandler.isPresent()) {
            throw new IllegalArgumentException("The ssl factory and acl handler must not be null and must be present");
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(Level.FINE, "closing after a failed build", e);
        }
    }
}
