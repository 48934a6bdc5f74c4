package org.venicedb.blobtransfer.interop;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.stats.AggBlobTransferStats;
import com.linkedin.davinci.stats.AggVersionedBlobTransferStats;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.blobtransfer.BlobFinder;
import com.linkedin.venice.blobtransfer.BlobPeersDiscoveryResponse;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The parts of a Venice node that are not blob transfer: the snapshot manager, the stats, the
 * storage metadata service and the peer finder. Venice's own versions need a whole node (a
 * storage engine repository with RocksDB partitions, a metrics repository, a store repository,
 * a server config), so the interop driver needs a class path on which they can be made without
 * one. The class path's versions are taken through reflection, so this file compiles against
 * Venice's real signatures as well as against a reduced build's:
 *
 * <ul>
 *   <li>{@link BlobSnapshotManager}: a constructor {@code (Path servedDir, byte[] offsetRecord,
 *       byte[] storeVersionState, BlobTransferTableFormat)} that serves one directory, with that
 *       metadata, as the snapshot of every replica asked for;
 *   <li>{@link AggBlobTransferStats} and {@link AggVersionedBlobTransferStats}: a no-argument
 *       constructor;
 *   <li>{@link StorageMetadataService} and {@link BlobFinder} are interfaces: made here, on any
 *       class path.
 * </ul>
 */
final class NodeParts {
    private NodeParts() {
    }

    static BlobSnapshotManager snapshotManager(Path servedDir, byte[] offsetRecord, byte[] storeVersionState) {
        try {
            Constructor<BlobSnapshotManager> c = BlobSnapshotManager.class.getConstructor(Path.class, byte[].class,
                    byte[].class, BlobTransferTableFormat.class);
            return c.newInstance(servedDir, offsetRecord, storeVersionState, BlobTransferTableFormat.BLOCK_BASED_TABLE);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("this class path's BlobSnapshotManager has no constructor (Path servedDir, "
                    + "byte[] offsetRecord, byte[] storeVersionState, BlobTransferTableFormat); Venice's own needs a "
                    + "storage engine repository, which the interop driver does not build (see integrations/venice/README.md)");
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("BlobSnapshotManager: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("BlobSnapshotManager: " + e, e);
        }
    }

    static AggVersionedBlobTransferStats versionedStats() {
        return noArguments(AggVersionedBlobTransferStats.class);
    }

    static AggBlobTransferStats stats() {
        return noArguments(AggBlobTransferStats.class);
    }

    private static <T> T noArguments(Class<T> type) {
        try {
            return type.getConstructor().newInstance();
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("this class path's " + type.getName() + " has no no-argument constructor; "
                    + "Venice's own needs a metrics repository and a server config, which the interop driver does not "
                    + "build (see integrations/venice/README.md)");
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type.getName() + ": " + e, e);
        }
    }

    /** What a node's storage metadata service was given: offset records (as bytes) and store-version states. */
    static final class Metadata {
        final Map<String, byte[]> offsetRecords = new ConcurrentHashMap<>();
        final Map<String, Object> storeVersionStates = new ConcurrentHashMap<>();
        final StorageMetadataService service;

        Metadata() {
            service = (StorageMetadataService) Proxy.newProxyInstance(NodeParts.class.getClassLoader(),
                    new Class<?>[] {StorageMetadataService.class}, (proxy, m, args) -> call(m, args));
        }

        byte[] offsetRecord(String topic, int partition) {
            return offsetRecords.get(topic + "-" + partition);
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private Object call(Method m, Object[] args) throws ReflectiveOperationException {
            switch (m.getName()) {
                case "put":
                    if (args.length == 3 && args[1] instanceof Integer) {
                        Method toBytes = args[2].getClass().getMethod("toBytes");
                        offsetRecords.put(args[0] + "-" + args[1], (byte[]) toBytes.invoke(args[2]));
                        return null;
                    }
                    break;
                case "computeStoreVersionState":
                    return storeVersionStates.compute((String) args[0], (k, v) -> ((Function) args[1]).apply(v));
                case "getStoreVersionState":
                    return storeVersionStates.get((String) args[0]);
                case "clearOffset":
                    offsetRecords.remove(args[0] + "-" + args[1]);
                    return null;
                case "toString":
                    return "interop storage metadata";
                case "hashCode":
                    return System.identityHashCode(this);
                case "equals":
                    return args[0] == service;
                default:
                    break;
            }
            throw new UnsupportedOperationException("the interop driver's storage metadata service has no " + m);
        }
    }

    /** Always the one peer host (Venice's ids are {@code host_port}; both managers cut at '_'). */
    static final class OnePeer implements BlobFinder {
        private final String host;

        OnePeer(String host) {
            this.host = host;
        }

        @Override
        public BlobPeersDiscoveryResponse discoverBlobPeers(String storeName, int version, int partitionId) {
            BlobPeersDiscoveryResponse r = new BlobPeersDiscoveryResponse();
            r.setDiscoveryResult(new ArrayList<>(Collections.singletonList(host + "_0")));
            return r;
        }

        @Override
        public void close() {
        }
    }
}
