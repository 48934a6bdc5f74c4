package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferStatusTrackingManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.blobtransfer.P2PBlobTransferManager;
import com.linkedin.davinci.blobtransfer.VeniceAdaptiveBlobTransferTrafficThrottler;
import com.linkedin.davinci.notifier.VeniceNotifier;
import com.linkedin.davinci.stats.AggVersionedBlobTransferStats;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.IdentityParser;
import com.linkedin.venice.blobtransfer.BlobFinder;
import com.linkedin.venice.blobtransfer.BlobPeersDiscoveryResponse;
import com.linkedin.venice.exceptions.VeniceBlobTransferCancelledException;
import com.linkedin.venice.exceptions.VenicePeersAllFailedException;
import com.linkedin.venice.exceptions.VenicePeersNotFoundException;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferFallbackReason;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferSource;
import com.linkedin.venice.stats.dimensions.VeniceResponseStatusCategory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.venicedb.blobtransfer.BlobTransferException;
import org.venicedb.blobtransfer.BlobTransferNode;
import org.venicedb.blobtransfer.BootstrapFuture;
import org.venicedb.blobtransfer.BootstrapProgress;
import org.venicedb.blobtransfer.BootstrapRequest;
import org.venicedb.blobtransfer.BootstrapResult;
import org.venicedb.blobtransfer.LogSink;

/**
 * Venice's {@code P2PBlobTransferManager} on vbt: what {@code NettyP2PBlobTransferManager} does
 * for a Venice server or DaVinci client, with vbt's sender and receiver in place of Venice's Netty
 * ones. Venice builds it in {@code BlobTransferManagerBuilder.build()} (see
 * {@code integrations/venice/} for the patch and {@link VbtBlobTransferManagerBuilder}); peers
 * running Venice's own Java transfer path and peers running vbt serve each other (vbt speaks
 * Venice's protocol byte for byte).
 *
 * <h2>Receiving: {@link #get}</h2>
 * As Venice's manager:
 * <ol>
 *   <li>asks the {@link BlobFinder} for the peers; no answer, an error, or no peer completes the
 *       future with {@link VenicePeersNotFoundException} (a source-aware finder's answer also
 *       records the {@code NO_CANDIDATES} fallback);
 *   <li>keeps the text of each peer id before its first {@code _} (a DaVinci instance
 *       {@code host_pid} or a Helix id {@code host_port} becomes {@code host}), drops duplicates,
 *       and dials every peer on {@code davinci.p2p.blob.transfer.client.port}; the finder's order
 *       is kept when it asks ({@code shouldPreservePeerOrder()}), otherwise peers are tried in a
 *       random order;
 *   <li>vbt checks which peers answer, then tries them one at a time until one serves the
 *       partition. Every byte is verified; the offset record and store-version state are then
 *       written through the {@link StorageMetadataService} exactly as
 *       {@code P2PMetadataTransferHandler.updateStorePartitionMetadata} writes them
 *       (incremental-push status to the push-status notifier too) <b>before</b> vbt publishes
 *       the partition directory by its rename, and the future completes with {@code null};
 *   <li>when no peer served it: {@link VenicePeersAllFailedException} (the {@code ALL_HOSTS_FAILED}
 *       fallback for a source-aware finder); after {@code cancelTransfer}:
 *       {@link VeniceBlobTransferCancelledException}. The cause is vbt's
 *       {@link BlobTransferException}, listing each failed peer.
 * </ol>
 * {@code get()} never throws; every failure goes through the future, which completes only once
 * vbt has stopped writing for that partition. Stats go where Venice's go: bytes received (as they
 * arrive) and sent (per file sent), transfer time and throughput on success, and, for a
 * source-aware finder, requests by source and status (a peer that only failed the connectivity
 * check was never asked and is not counted; a cancelled attempt is not counted as a failure) and
 * the fallback reasons.
 *
 * <h2>Serving</h2>
 * {@link #start()} listens on {@code davinci.p2p.blob.transfer.server.port} when it returns. Each
 * request is served from the checkpoint the node's {@link BlobSnapshotManager} makes or reuses
 * (its checks, per-snapshot user count, retention and cached metadata), at
 * {@code <data.base.path>/rocksdb/<store>_v<N>/<store>_v<N>_<P>/.snapshot_files}; the user count is
 * held until the send ends and given back on every path.
 *
 * <h2>Files</h2>
 * Inside {@code <data.base.path>/rocksdb} vbt creates nothing but the partition directories
 * {@code <store>_v<N>/<store>_v<N>_<P>} (and the sender's {@code .snapshot_files} inside one, made
 * by the {@code BlobSnapshotManager}). A receive lands in vbt's state directory
 * ({@code vbt.state.dir}, by default {@code <data.base.path>/rocksdb.vbt}, with its locks and resume
 * files) and is published into place by a rename.
 *
 * <h2>Configuration</h2>
 * The node's properties go to vbt as they are (see README, "Switching a Venice node to vbt"):
 * Venice's {@code data.base.path}, {@code davinci.p2p.blob.transfer.*}, {@code blob.transfer.*},
 * {@code blob.receive.*}, {@code ssl.*} keys and optional {@code vbt.*} keys. With
 * {@code blob.transfer.ssl.enabled=true} the key stores named by the {@code ssl.*} keys are read
 * with Java's {@code KeyStore} (JKS, PKCS12, ...) and handed to vbt.
 */
public class VbtBlobTransferManager implements P2PBlobTransferManager<Void> {
    private static final Logger LOG = Logger.getLogger(VbtBlobTransferManager.class.getName());
    private static final Logger NATIVE_LOG = Logger.getLogger("org.venicedb.blobtransfer.native");

    // Venice's messages (NettyP2PBlobTransferManager), so logs and alerts read the same.
    static final String NO_PEERS_FOUND_ERROR_MSG_FORMAT = "Replica: %s are not found any peers for the requested blob.";
    static final String NO_VALID_PEERS_MSG_FORMAT =
            "Replica %s failed to connect to any peer, after trying all possible hosts.";
    static final String TRANSFER_CANCELLED_MSG_FORMAT =
            "Transfer for replica %s was canceled while in progress, aborting the entire partition-level transfer.";

    private final BlobFinder peerFinder;
    private final BlobSnapshotManager blobSnapshotManager;
    private final AggVersionedBlobTransferStats stats;
    private final String baseDir;
    private final MetadataWriter metadataWriter;
    private final SnapshotManagerCheckpoints checkpoints;
    private final VbtTransferStatusTracking tracking = new VbtTransferStatusTracking();
    private final ThreadPoolExecutor discoveryExecutor;
    private final BlobTransferNode node;
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile ThrottleSignals throttleSignals;
    private volatile int port = -1;

    /**
     * A manager for a Venice node; its server starts with {@link #start()}.
     *
     * @param nodeProperties the node's properties (Venice's keys, passed through; see the class docs)
     * @param blobFinder where peers come from (Venice's {@code ServerBlobFinder}, {@code DaVinciBlobFinder}, ...);
     *     closed by {@link #close()}
     * @param blobSnapshotManager the node's snapshot manager: what this node serves; shut down by {@link #close()}
     * @param storageMetadataService where a received partition's offset record and store-version state go
     * @param pushStatusNotifier the push-status notifier for incremental-push status (may be null, or supply null)
     * @param stats Venice's blob-transfer stats (may be null: nothing is recorded)
     * @throws IllegalArgumentException for a missing argument or a configuration vbt refuses (the
     *     message names the key)
     */
    public VbtBlobTransferManager(Properties nodeProperties, BlobFinder blobFinder,
            BlobSnapshotManager blobSnapshotManager, StorageMetadataService storageMetadataService,
            Supplier<VeniceNotifier> pushStatusNotifier, AggVersionedBlobTransferStats stats) {
        this(nodeProperties, blobFinder, blobSnapshotManager, storageMetadataService, pushStatusNotifier, stats,
                Optional.empty(), null);
    }

    /**
     * A manager for a Venice server that classifies its peers as Venice's {@code BlobTransferAclHandler}
     * does (Venice PR #2869): with a store access controller present, a same-issuer peer whose
     * application identity ({@code identityParser}) differs from this node's is of client origin,
     * served only with {@code server.blob.transfer.accept.client.request.enabled=true} and the
     * store's read ACL, within {@code server.blob.transfer.client.capacity.percent} of the
     * admission limit. With no controller (DaVinci), every same-issuer peer is served alike.
     *
     * @param storeAccessController the server's per-store access controller, or empty
     * @param identityParser the node's {@code identity.parser.class} instance; required with a controller
     */
    public VbtBlobTransferManager(Properties nodeProperties, BlobFinder blobFinder,
            BlobSnapshotManager blobSnapshotManager, StorageMetadataService storageMetadataService,
            Supplier<VeniceNotifier> pushStatusNotifier, AggVersionedBlobTransferStats stats,
            Optional<DynamicAccessController> storeAccessController, IdentityParser identityParser) {
        Objects.requireNonNull(nodeProperties, "nodeProperties");
        this.peerFinder = Objects.requireNonNull(blobFinder, "blobFinder");
        this.blobSnapshotManager = Objects.requireNonNull(blobSnapshotManager, "blobSnapshotManager");
        Objects.requireNonNull(storageMetadataService, "storageMetadataService");
        ClientOrigin origin = null;
        if (storeAccessController != null && storeAccessController.isPresent()) {
            if (identityParser == null) {
                throw new IllegalArgumentException("an identity parser is required with a store access controller");
            }
            // Venice refuses it too (BlobTransferUtils.createAclHandler): it reads the subject DN,
            // which would make same-application peers of client origin.
            for (Class<?> c = identityParser.getClass(); c != null; c = c.getSuperclass()) {
                if ("com.linkedin.venice.authorization.DefaultIdentityParser".equals(c.getName())) {
                    throw new IllegalArgumentException("a store access controller needs a non-default identity.parser.class "
                            + "(DefaultIdentityParser reads the subject DN and can misclassify same-issuer peers as client origin)");
                }
            }
            origin = new ClientOrigin(storeAccessController.get(), identityParser);
        }
        this.stats = stats;
        NodeSettings settings = new NodeSettings(nodeProperties,
                blobSnapshotManager.getBlobTransferTableFormat() == BlobTransferTableFormat.PLAIN_TABLE);
        this.baseDir = settings.baseDir;
        this.metadataWriter = new MetadataWriter(storageMetadataService, pushStatusNotifier);
        this.checkpoints = new SnapshotManagerCheckpoints(blobSnapshotManager, baseDir);

        // Discovery may block (a router call, a Helix read): it runs here, never on the caller's
        // (ingestion) thread. As many threads as replicas may be received at once, as Venice's
        // replica fetch executor; idle threads end.
        int threads = Math.max(1, Math.min(settings.intValue(NodeSettings.MAX_RECEIVE_REPLICAS, 20), 256));
        AtomicInteger seq = new AtomicInteger();
        this.discoveryExecutor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "vbt-venice-blob-fetch-" + seq.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.discoveryExecutor.allowCoreThreadTimeOut(true);

        BlobTransferNode.Builder b = BlobTransferNode.builder()
                .config(settings.config)
                .logSink(VbtBlobTransferManager::forwardLog, LogSink.Level.INFO);
        Core.metadataHook(b, metadataWriter);
        Core.checkpointSource(b, checkpoints);
        Core.sendListener(b, this::onFileSent);
        if (origin != null) {
            Core.originPolicy(b, origin);
        }
        if (settings.tls != null) {
            Core.tlsIdentity(b, settings.tls.key, settings.tls.chain, settings.tls.trusted);
        }
        try {
            this.node = b.open();
        } catch (RuntimeException | Error e) {
            discoveryExecutor.shutdown();
            if (e instanceof BlobTransferException) {
                throw new IllegalArgumentException("vbt refused the node's configuration: " + e.getMessage(), e);
            }
            throw e;
        }
    }

    /** Starts serving; the server is listening when this returns. Idempotent. */
    @Override
    public void start() {
        if (closed.get()) {
            throw new IllegalStateException("the vbt blob transfer manager is closed");
        }
        if (started.compareAndSet(false, true)) {
            try {
                port = node.startServer();
            } catch (RuntimeException e) {
                started.set(false); // e.g. the port is taken: start() may be called again
                throw e;
            }
            LOG.info("vbt blob transfer manager serving " + baseDir + " on port " + port + " (vbt "
                    + BlobTransferNode.libraryVersion() + ")");
        }
    }

    /**
     * Feeds the signals registered on Venice's adaptive blob-transfer throttlers to vbt's adaptive
     * throttler (see {@code ThrottleSignals}); either may be null. Needs
     * {@code server.adaptive.throttler.enabled} and {@code server.blob.transfer.adaptive.throttler.enabled}.
     */
    public void setAdaptiveThrottlers(VeniceAdaptiveBlobTransferTrafficThrottler writeThrottler,
            VeniceAdaptiveBlobTransferTrafficThrottler readThrottler) {
        ThrottleSignals old = throttleSignals;
        if (old != null) {
            old.close();
        }
        throttleSignals = ThrottleSignals.start((signal, on) -> Core.setThrottleSignal(node, signal, on), 1000,
                writeThrottler, readThrottler);
    }

    @Override
    public CompletionStage<InputStream> get(String storeName, int version, int partition,
            BlobTransferTableFormat tableFormat) {
        CompletableFuture<InputStream> result = new CompletableFuture<>();
        Transfer t;
        try {
            t = new Transfer(storeName, version, partition, tableFormat, result);
            tracking.startedTransfer(t.replicaId);
            tracking.register(t.replicaId, t);
        } catch (Throwable e) {
            result.completeExceptionally(e);
            return result;
        }
        try {
            if (closed.get()) {
                throw new IllegalStateException("the vbt blob transfer manager is closed");
            }
            discoveryExecutor.execute(t::discoverAndStart);
        } catch (Throwable e) {
            t.finish(e);
        }
        return result;
    }

    /**
     * Stops serving (sends in flight end and their snapshot users are given back), cancels running
     * bootstraps (their futures fail once vbt has stopped), closes the finder and shuts the
     * snapshot manager down. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ThrottleSignals signals = throttleSignals;
        if (signals != null) {
            signals.close();
        }
        for (VbtTransferStatusTracking.Running r : tracking.allRunning()) {
            ((Transfer) r).closing();
        }
        node.close();
        discoveryExecutor.shutdown();
        try {
            peerFinder.close();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "closing the blob finder failed", e);
        }
        try {
            blobSnapshotManager.shutdown();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "shutting the blob snapshot manager down failed", e);
        }
        if (checkpoints.held() != 0) {
            LOG.warning(checkpoints.held() + " snapshot user(s) still held after close");
        }
    }

    @Override
    public AggVersionedBlobTransferStats getAggVersionedBlobTransferStats() {
        return stats;
    }

    @Override
    public BlobTransferStatusTrackingManager getTransferStatusTrackingManager() {
        return tracking;
    }

    /** The port the server listens on once started (useful with port 0), else -1. */
    public int getServerPort() {
        return port;
    }

    @Override
    public String toString() {
        return "VbtBlobTransferManager[" + baseDir + (port >= 0 ? ", port " + port : "") + (closed.get() ? ", closed" : "")
                + "]";
    }

    // ---- receiving --------------------------------------------------------------------------

    /** One {@code get()}: discovery, then one vbt bootstrap, then the Venice outcome. */
    private final class Transfer implements VbtTransferStatusTracking.Running {
        final String store;
        final int version;
        final int partition;
        final BlobTransferTableFormat tableFormat;
        final String replicaId;
        final CompletableFuture<InputStream> result;
        private final ReceivedBytes received;
        private BootstrapFuture op; // guarded by this
        private boolean cancelled; // guarded by this
        private volatile boolean sourceAware;
        private volatile Set<String> serverHosts = Collections.emptySet();
        private volatile long startNanos;

        Transfer(String store, int version, int partition, BlobTransferTableFormat tableFormat,
                CompletableFuture<InputStream> result) {
            this.store = store;
            this.version = version;
            this.partition = partition;
            this.tableFormat = tableFormat;
            this.replicaId = Names.replica(store, version, partition);
            this.result = result;
            this.received = new ReceivedBytes(store, version);
        }

        void discoverAndStart() {
            try {
                BlobPeersDiscoveryResponse response = peerFinder.discoverBlobPeers(store, version, partition);
                List<String> peers = response == null || response.isError() || response.getDiscoveryResult() == null
                        ? Collections.<String>emptyList()
                        : hosts(response.getDiscoveryResult());
                if (peers.isEmpty()) {
                    if (response != null && response.isSourceAware()) {
                        recordFallback(VeniceBlobTransferFallbackReason.NO_CANDIDATES);
                    }
                    String why = response == null ? "no answer from the blob finder"
                            : response.isError() ? "blob finder error: " + response.getErrorMessage() : "no peer";
                    LOG.info(() -> "no peers for " + replicaId + " (" + why + "); Kafka it is");
                    finish(new VenicePeersNotFoundException(String.format(NO_PEERS_FOUND_ERROR_MSG_FORMAT, replicaId)));
                    return;
                }
                sourceAware = response.isSourceAware();
                Set<String> servers = response.getServerHostNames();
                serverHosts = servers == null ? Collections.<String>emptySet() : servers;
                if (tracking.isBlobTransferCancelRequested(replicaId)) {
                    finish(cancelledException(null));
                    return;
                }
                BootstrapRequest.Builder rb = BootstrapRequest.builder(store, version, partition)
                        .tableFormat(tableFormat == null ? null : tableFormat.name())
                        .peers(peers)
                        .progressListener(received::onProgress);
                Core.preservePeerOrder(rb, peerFinder.shouldPreservePeerOrder());
                LOG.info(() -> "fetching " + replicaId + " in " + tableFormat + " from " + peers.size() + " peer(s) " + peers);
                startNanos = System.nanoTime();
                BootstrapFuture f = node.bootstrapPartition(rb.build());
                started(f);
                f.nativeResult().whenComplete(this::ended);
            } catch (Throwable e) {
                finish(closed.get() ? cancelledException(e) : e);
            }
        }

        private void started(BootstrapFuture f) {
            boolean cancelNow;
            synchronized (this) {
                op = f;
                cancelNow = cancelled;
            }
            if (cancelNow) {
                cancelOp(f);
            }
        }

        @Override
        public void cancel() {
            BootstrapFuture f;
            synchronized (this) {
                cancelled = true;
                f = op;
            }
            if (f != null) {
                cancelOp(f);
            }
        }

        /** The manager is closing: vbt's close cancels the bootstrap; this marks why. */
        void closing() {
            synchronized (this) {
                cancelled = true;
            }
        }

        private void cancelOp(BootstrapFuture f) {
            try {
                node.cancel(f.opId());
            } catch (IllegalStateException closedNode) {
                // close() cancels every bootstrap itself
            }
        }

        /** vbt has stopped: nothing more is written for this partition. */
        private void ended(BootstrapResult r, Throwable e) {
            boolean cancelRequested;
            synchronized (this) {
                cancelRequested = cancelled;
            }
            cancelRequested |= tracking.isBlobTransferCancelRequested(replicaId);
            try {
                metadataWriter.ended(store, version, partition, e == null);
                if (e == null) {
                    succeeded(r, cancelRequested);
                    finish(null);
                } else {
                    BlobTransferException cause = unwrap(e);
                    recordFailedPeers(cause.peerFailures(), cancelRequested);
                    if (cancelRequested) {
                        LOG.info(() -> "transfer of " + replicaId + " cancelled: " + cause.getMessage());
                        finish(cancelledException(cause));
                    } else {
                        LOG.warning("no peer served " + replicaId + ": " + cause.getMessage());
                        if (sourceAware) {
                            recordFallback(VeniceBlobTransferFallbackReason.ALL_HOSTS_FAILED);
                        }
                        finish(new VenicePeersAllFailedException(String.format(NO_VALID_PEERS_MSG_FORMAT, replicaId),
                                cause));
                    }
                }
            } catch (Throwable t) {
                finish(t);
            }
        }

        private void succeeded(BootstrapResult r, boolean cancelRequested) {
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
            LOG.info(() -> String.format("Replica %s successfully fetched blob from peer %s in %d seconds (%d files, "
                    + "%d bytes, %d kept from an earlier attempt)", replicaId, r.peer(), seconds, r.files(), r.bytes(),
                    r.resumedBytes()));
            recordFailedPeers(r.failedPeers(), cancelRequested);
            if (sourceAware) {
                recordRequest(source(r.peer()), VeniceResponseStatusCategory.SUCCESS);
            }
            received.settle(r);
            if (stats != null) {
                try {
                    // As Venice: whole seconds; throughput in MB/s (10^6) of the installed files.
                    double throughput = sizeOf(Paths.get(baseDir, Names.topic(store, version),
                            Names.topic(store, version) + "_" + partition)) / (1000.0 * 1000.0) / seconds;
                    stats.recordBlobTransferTimeInSec(store, version, seconds);
                    stats.recordBlobTransferFileReceiveThroughput(store, version, throughput);
                } catch (RuntimeException | IOException ex) {
                    LOG.log(Level.WARNING, "could not record the receive stats of " + replicaId, ex);
                }
            }
        }

        private void recordFailedPeers(List<BootstrapResult.FailedPeer> failed, boolean cancelRequested) {
            if (!sourceAware || cancelRequested) {
                return;
            }
            for (BootstrapResult.FailedPeer f : failed) {
                if (!Core.probeOnly(f)) {
                    recordRequest(source(f.peer()), VeniceResponseStatusCategory.FAIL);
                }
            }
        }

        private VeniceBlobTransferSource source(String peer) {
            return serverHosts.contains(hostOf(peer)) ? VeniceBlobTransferSource.VENICE_SERVER
                    : VeniceBlobTransferSource.DAVINCI_PEER;
        }

        private void recordRequest(VeniceBlobTransferSource source, VeniceResponseStatusCategory status) {
            if (stats == null) {
                return;
            }
            try {
                stats.recordBlobTransferRequest(store, version, source, status);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "could not record a blob transfer request of " + replicaId, e);
            }
        }

        private void recordFallback(VeniceBlobTransferFallbackReason reason) {
            if (stats == null) {
                return;
            }
            try {
                stats.recordBlobTransferVersionTopicFallback(store, version, reason);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "could not record the version-topic fallback of " + replicaId, e);
            }
        }

        private VeniceBlobTransferCancelledException cancelledException(Throwable cause) {
            return new VeniceBlobTransferCancelledException(String.format(TRANSFER_CANCELLED_MSG_FORMAT, replicaId), cause);
        }

        /** Completes the future (null: success) after vbt has stopped, and forgets the transfer. */
        void finish(Throwable failure) {
            tracking.unregister(replicaId, this);
            if (failure == null) {
                result.complete(null);
            } else {
                result.completeExceptionally(failure);
            }
        }
    }

    /**
     * Bytes received, recorded as vbt reports progress (Venice records each piece as it arrives),
     * then settled on success to exactly what the successful attempt installed.
     */
    private final class ReceivedBytes {
        private final String store;
        private final int version;
        private String peer; // only touched on vbt's callback thread, then read at completion
        private long seen;
        private long resumed;

        ReceivedBytes(String store, int version) {
            this.store = store;
            this.version = version;
        }

        synchronized void onProgress(BootstrapProgress p) {
            // Only bytes that crossed the network now: kept ones were counted by the attempt that got them.
            long received = p.bytesDone() - p.bytesResumed();
            // A new attempt (another peer, or the same one again to resume) counts from zero.
            if (!p.peer().equals(peer) || p.bytesResumed() != resumed || received < seen) {
                peer = p.peer();
                resumed = p.bytesResumed();
                seen = 0;
            }
            if (p.isFinal()) {
                return; // settle() records the rest
            }
            record(received - seen);
            seen = Math.max(seen, received);
        }

        /** The tail after the last report: the successful attempt's received bytes not recorded yet. */
        synchronized void settle(BootstrapResult r) {
            long attempt = r.peer().equals(peer) ? seen : 0;
            record(r.bytes() - attempt);
        }

        private void record(long bytes) {
            if (bytes <= 0 || stats == null) {
                return;
            }
            try {
                stats.recordBlobTransferBytesReceived(store, version, bytes);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "could not record bytes received", e);
            }
        }
    }

    // ---- serving ----------------------------------------------------------------------------

    private void onFileSent(String store, int version, int partition, String peer, long bytes) {
        if (stats == null) {
            return;
        }
        try {
            stats.recordBlobTransferBytesSent(store, version, bytes);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "could not record bytes sent", e);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    /**
     * Venice's peer normalisation: the text before the first {@code _} of each id, duplicates
     * dropped, order kept. An IPv6 literal is bracketed so vbt does not read a port into it.
     */
    static List<String> hosts(List<String> discovered) {
        Set<String> unique = new LinkedHashSet<>();
        for (String id : discovered) {
            if (id == null) {
                continue;
            }
            String host = id.split("_")[0].trim();
            if (host.isEmpty()) {
                continue;
            }
            unique.add(host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host);
        }
        return new ArrayList<>(unique);
    }

    /** The host part of vbt's {@code host:port} / {@code [v6]:port}, as the finder named it. */
    static String hostOf(String peer) {
        if (peer == null) {
            return "";
        }
        if (peer.startsWith("[")) {
            int end = peer.indexOf(']');
            return end > 0 ? peer.substring(1, end) : peer;
        }
        int colon = peer.lastIndexOf(':');
        return colon > 0 && peer.indexOf(':') == colon ? peer.substring(0, colon) : peer;
    }

    private static BlobTransferException unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof BlobTransferException) {
            return (BlobTransferException) t;
        }
        return new BlobTransferException(BlobTransferException.Code.INTERNAL, String.valueOf(t), t);
    }

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            long total = 0;
            for (Path p : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(p)) {
                    total += Files.size(p);
                }
            }
            return total;
        }
    }

    private static void forwardLog(LogSink.Level level, String target, String message) {
        Level l;
        switch (level) {
            case ERROR:
                l = Level.SEVERE;
                break;
            case WARN:
                l = Level.WARNING;
                break;
            case INFO:
                l = Level.INFO;
                break;
            default:
                l = Level.FINE;
        }
        NATIVE_LOG.logp(l, target, null, message);
    }
}
