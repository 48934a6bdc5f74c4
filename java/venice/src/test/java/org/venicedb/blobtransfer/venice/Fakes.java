package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferPartitionMetadata;
import com.linkedin.davinci.blobtransfer.BlobTransferPayload;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.notifier.VeniceNotifier;
import com.linkedin.davinci.stats.AggVersionedBlobTransferStats;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.blobtransfer.BlobFinder;
import com.linkedin.venice.blobtransfer.BlobPeersDiscoveryResponse;
import com.linkedin.venice.exceptions.VeniceException;
import com.linkedin.venice.kafka.protocol.state.PartitionState;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import com.linkedin.venice.offsets.OffsetRecord;
import com.linkedin.venice.pubsub.PubSubContext;
import com.linkedin.venice.pubsub.api.PubSubPosition;
import com.linkedin.venice.serialization.avro.AvroProtocolDefinition;
import com.linkedin.venice.serialization.avro.InternalAvroSpecificSerializer;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferFallbackReason;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferSource;
import com.linkedin.venice.stats.dimensions.VeniceResponseStatusCategory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The parts of a Venice node around a blob transfer manager, written for these tests: a storage
 * metadata service, a snapshot manager with Venice's rules (the tests' own code, over closed
 * partitions that `vbt gen` wrote), a finder, a notifier, stats that remember what was recorded.
 */
final class Fakes {
    private Fakes() {}

    static final InternalAvroSpecificSerializer<PartitionState> PARTITION_STATE =
            AvroProtocolDefinition.PARTITION_STATE.getSerializer();
    static final InternalAvroSpecificSerializer<StoreVersionState> STORE_VERSION_STATE =
            AvroProtocolDefinition.STORE_VERSION_STATE.getSerializer();

    /** In memory, or also in files under {@code dir} (read back by a new instance, as after a restart). */
    static class MetadataService implements StorageMetadataService {
        final Map<String, byte[]> offsets = new ConcurrentHashMap<>();
        final Map<String, StoreVersionState> versionStates = new ConcurrentHashMap<>();
        /** For each put: whether the partition directory existed at that moment. */
        final List<String> putLog = new CopyOnWriteArrayList<>();
        /** Makes computeStoreVersionState fail (a metadata store that breaks mid-write). */
        volatile boolean failSvs;
        private final Path dir;
        private final Path rocksdb;

        MetadataService(Path rocksdb, Path dir) {
            this.rocksdb = rocksdb;
            this.dir = dir;
            if (dir != null && Files.isDirectory(dir)) {
                try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.offset")) {
                    for (Path p : s) {
                        String name = p.getFileName().toString();
                        offsets.put(name.substring(0, name.length() - ".offset".length()), Files.readAllBytes(p));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }

        static String key(String topic, int partition) {
            return topic + "-" + partition;
        }

        @Override
        public void put(String topicName, int partitionId, OffsetRecord record) {
            Path published = rocksdb == null ? null : rocksdb.resolve(topicName).resolve(topicName + "_" + partitionId);
            putLog.add(key(topicName, partitionId) + (published != null && Files.exists(published) ? " published" : " unpublished"));
            byte[] bytes = record.toBytes();
            offsets.put(key(topicName, partitionId), bytes);
            persist(key(topicName, partitionId) + ".offset", bytes);
        }

        @Override
        public void clearOffset(String topicName, int partitionId) {
            offsets.remove(key(topicName, partitionId));
            if (dir != null) {
                try {
                    Files.deleteIfExists(dir.resolve(key(topicName, partitionId) + ".offset"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }

        @Override
        public OffsetRecord getLastOffset(String topicName, int partitionId, PubSubContext pubSubContext) {
            byte[] b = offsets.get(key(topicName, partitionId));
            return b == null ? null : new OffsetRecord(b, PARTITION_STATE, null);
        }

        @Override
        public synchronized StoreVersionState computeStoreVersionState(String topicName,
                Function<StoreVersionState, StoreVersionState> mapFunction) {
            if (failSvs) {
                throw new VeniceException("metadata partition of " + topicName + " is not writable");
            }
            StoreVersionState s = mapFunction.apply(versionStates.get(topicName));
            versionStates.put(topicName, s);
            persist(topicName + ".svs", STORE_VERSION_STATE.serialize(topicName, s));
            return s;
        }

        @Override
        public void clearStoreVersionState(String topicName) {
            versionStates.remove(topicName);
        }

        @Override
        public StoreVersionState getStoreVersionState(String topicName) {
            return versionStates.get(topicName);
        }

        void persist(String name, byte[] bytes) {
            if (dir == null) {
                return;
            }
            try {
                Files.createDirectories(dir);
                Path tmp = dir.resolve(name + ".tmp");
                Files.write(tmp, bytes);
                Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * A snapshot manager with the rules of Venice's {@code BlobSnapshotManager}
     * (docs/venice-reference.md §3.4), over closed partitions: the partition must exist; a
     * stale or missing snapshot is re-created (metadata first, then the checkpoint) only when
     * nobody uses it; users are counted per snapshot. The checkpoint of a closed RocksDB
     * directory is its files (SSTs hard-linked, the rest copied), as RocksDB's Checkpoint makes
     * it of an open one.
     */
    static class SnapshotManager extends BlobSnapshotManager {
        final Path rocksdb;
        final MetadataService metadata;
        final long retentionMillis;
        final Map<String, AtomicInteger> users = new ConcurrentHashMap<>();
        final Map<String, Long> createdAt = new ConcurrentHashMap<>();
        final Map<String, BlobTransferPartitionMetadata> cached = new ConcurrentHashMap<>();
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger snapshotsMade = new AtomicInteger();
        final AtomicInteger underflows = new AtomicInteger();
        final AtomicInteger maxUsers = new AtomicInteger();
        final AtomicBoolean shutDown = new AtomicBoolean();
        volatile BlobTransferPartitionMetadata lastServed;

        SnapshotManager(Path rocksdb, MetadataService metadata, BlobTransferTableFormat format, long retentionMillis) {
            super(null, metadata, 60, format, 120, null);
            this.rocksdb = rocksdb;
            this.metadata = metadata;
            this.retentionMillis = retentionMillis;
        }

        @Override
        public BlobTransferPartitionMetadata getTransferMetadata(BlobTransferPayload payload, AtomicBoolean counted) {
            requests.incrementAndGet();
            String replica = payload.getFullResourceName();
            Path partitionDir = Paths.get(payload.getPartitionDir());
            if (!Files.isDirectory(partitionDir) || !Files.exists(partitionDir.resolve("CURRENT"))) {
                throw new VeniceException("No storage engine found for replica " + replica);
            }
            synchronized (this) {
                AtomicInteger u = users.computeIfAbsent(replica, k -> new AtomicInteger());
                boolean active = u.get() > 0;
                Long at = createdAt.get(replica);
                boolean stale = at == null || System.currentTimeMillis() - at > retentionMillis;
                maxUsers.accumulateAndGet(u.incrementAndGet(), Math::max);
                counted.set(true);
                if (stale) {
                    if (active) {
                        throw new VeniceException("Snapshot for topic " + payload.getTopicName() + " partition "
                                + payload.getPartition() + " is still in use by others, can not recreate snapshot for new transfer request.");
                    }
                    BlobTransferPartitionMetadata m = prepareMetadata(payload);
                    checkpoint(partitionDir, Paths.get(payload.getSnapshotDir()));
                    snapshotsMade.incrementAndGet();
                    createdAt.put(replica, System.currentTimeMillis());
                    cached.put(replica, m);
                }
                lastServed = cached.get(replica);
                return lastServed;
            }
        }

        BlobTransferPartitionMetadata prepareMetadata(BlobTransferPayload payload) {
            StoreVersionState svs = metadata.getStoreVersionState(payload.getTopicName());
            OffsetRecord offset = metadata.getLastOffset(payload.getTopicName(), payload.getPartition(), null);
            if (svs == null || offset == null) {
                throw new VeniceException("Cannot get store version state or offset record from storage metadata service.");
            }
            return new BlobTransferPartitionMetadata(payload.getTopicName(), payload.getPartition(),
                    ByteBuffer.wrap(offset.toBytes()), ByteBuffer.wrap(STORE_VERSION_STATE.serialize(payload.getTopicName(), svs)));
        }

        static void checkpoint(Path partitionDir, Path snapshotDir) {
            try {
                deleteTree(snapshotDir);
                Files.createDirectory(snapshotDir);
                try (DirectoryStream<Path> files = Files.newDirectoryStream(partitionDir)) {
                    for (Path f : files) {
                        String name = f.getFileName().toString();
                        if (name.equals("LOCK") || name.startsWith("LOG") || Files.isDirectory(f)) {
                            continue;
                        }
                        if (name.endsWith(".sst")) {
                            Files.createLink(snapshotDir.resolve(name), f);
                        } else {
                            Files.copy(f, snapshotDir.resolve(name));
                        }
                    }
                }
            } catch (IOException e) {
                throw new VeniceException("Failed to create snapshot at " + snapshotDir, e);
            }
        }

        @Override
        public void decreaseConcurrentUserCount(BlobTransferPayload payload) {
            AtomicInteger u = users.get(payload.getFullResourceName());
            if (u == null) {
                throw new VeniceException("No topic found: " + payload.getTopicName());
            }
            if (u.decrementAndGet() < 0) {
                underflows.incrementAndGet();
                u.set(0);
            }
        }

        int users(String replica) {
            AtomicInteger u = users.get(replica);
            return u == null ? 0 : u.get();
        }

        @Override
        public void shutdown() {
            shutDown.set(true);
        }
    }

    /** A finder with a fixed answer. */
    static class Finder implements BlobFinder {
        volatile List<String> peers;
        volatile boolean preserveOrder;
        volatile boolean sourceAware;
        volatile boolean error;
        volatile boolean nullResponse;
        volatile java.util.Set<String> serverHosts = Collections.emptySet();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();

        Finder(String... peers) {
            this.peers = new ArrayList<>(Arrays.asList(peers));
        }

        Finder servers(String... hosts) {
            this.serverHosts = new HashSet<>(Arrays.asList(hosts));
            return this;
        }

        @Override
        public BlobPeersDiscoveryResponse discoverBlobPeers(String storeName, int version, int partitionId) {
            calls.incrementAndGet();
            if (nullResponse) {
                return null;
            }
            BlobPeersDiscoveryResponse r = new BlobPeersDiscoveryResponse();
            r.setError(error);
            if (error) {
                r.setErrorMessage("router said 500");
            }
            r.setDiscoveryResult(peers == null ? null : new ArrayList<>(peers));
            r.setSourceAware(sourceAware);
            r.setServerHostNames(serverHosts);
            return r;
        }

        @Override
        public boolean shouldPreservePeerOrder() {
            return preserveOrder;
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    /** Remembers every incremental-push report. */
    static class Notifier implements VeniceNotifier {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public void startOfIncrementalPushReceived(String topic, int partition, PubSubPosition position, String message) {
            calls.add("start " + topic + " " + partition + " " + message);
        }

        @Override
        public void endOfIncrementalPushReceived(String topic, int partition, PubSubPosition position, String message) {
            calls.add("end " + topic + " " + partition + " " + message);
        }
    }

    /** Venice's stats, remembering what was recorded. */
    static class Stats extends AggVersionedBlobTransferStats {
        final List<String> events = new CopyOnWriteArrayList<>();
        final AtomicLong bytesReceived = new AtomicLong();
        final AtomicLong bytesSent = new AtomicLong();
        final List<Double> times = new CopyOnWriteArrayList<>();
        final List<Double> throughputs = new CopyOnWriteArrayList<>();

        Stats() {
            super(null, null, null);
        }

        @Override
        public void recordBlobTransferRequest(String store, int version, VeniceBlobTransferSource source,
                VeniceResponseStatusCategory status) {
            events.add("request " + source + " " + status);
        }

        @Override
        public void recordBlobTransferVersionTopicFallback(String store, int version, VeniceBlobTransferFallbackReason reason) {
            events.add("fallback " + reason);
        }

        @Override
        public void recordBlobTransferFileReceiveThroughput(String store, int version, double throughput) {
            throughputs.add(throughput);
        }

        @Override
        public void recordBlobTransferTimeInSec(String store, int version, double timeInSec) {
            times.add(timeInSec);
        }

        @Override
        public void recordBlobTransferBytesReceived(String store, int version, long value) {
            bytesReceived.addAndGet(value);
        }

        @Override
        public void recordBlobTransferBytesSent(String store, int version, long value) {
            bytesSent.addAndGet(value);
        }

        List<String> events(String prefix) {
            List<String> out = new ArrayList<>();
            for (String e : events) {
                if (e.startsWith(prefix)) {
                    out.add(e);
                }
            }
            return out;
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(p)) {
                for (Path c : s) {
                    deleteTree(c);
                }
            }
        }
        Files.delete(p);
    }
}
