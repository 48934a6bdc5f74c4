package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.notifier.VeniceNotifier;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.kafka.protocol.state.IncrementalPushReplicaStatus;
import com.linkedin.venice.kafka.protocol.state.PartitionState;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import com.linkedin.venice.offsets.OffsetRecord;
import com.linkedin.venice.pushmonitor.ExecutionStatus;
import com.linkedin.venice.serialization.avro.AvroProtocolDefinition;
import com.linkedin.venice.serialization.avro.InternalAvroSpecificSerializer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Writes a transferred partition's metadata into the node's {@link StorageMetadataService} the
 * way Venice's {@code P2PMetadataTransferHandler.updateStorePartitionMetadata} does, called by vbt
 * after every byte of the partition is verified and before vbt publishes it (its rename):
 *
 * <ol>
 *   <li>the offset record is read with the {@code PARTITION_STATE} serializer, and each entry of
 *       its {@code trackingIncrementalPushStatus} is reported to the push-status notifier
 *       ({@code startOfIncrementalPushReceived} / {@code endOfIncrementalPushReceived}, other
 *       statuses logged);
 *   <li>the offset record is stored with {@code storageMetadataService.put(topic, partition, record)};
 *   <li>the store-version state is read with the {@code STORE_VERSION_STATE} serializer and merged
 *       with {@code computeStoreVersionState}: a local state keeps everything and takes only the
 *       transferred {@code topicSwitch}; without one the transferred state is stored as it is.
 * </ol>
 *
 * <p>Where Venice differs: Venice applies the metadata when it arrives, before the checksums are
 * known, and swallows its errors, so a failed read or write still leaves a "successful" partition
 * without its offset record. Here a failure to read or store the offset record or the
 * store-version state throws, which fails that attempt: vbt publishes nothing and tries the next
 * peer. A failing notifier is logged and does not stop the write, as push-status reporting is
 * best effort in Venice too (a missing notifier is logged there as well).
 *
 * <p>When a bootstrap ends without publishing after this ran (a later step of the same attempt
 * failed, or it was cancelled in between), {@link #forget} clears the offset record again, so
 * Venice's fallback to Kafka starts from scratch instead of from an offset whose data is not on
 * disk.
 */
final class MetadataWriter {
    private static final Logger LOG = Logger.getLogger(MetadataWriter.class.getName());

    private final StorageMetadataService storageMetadataService;
    private final Supplier<VeniceNotifier> notifierSupplier;
    private final InternalAvroSpecificSerializer<PartitionState> partitionStateSerializer =
            AvroProtocolDefinition.PARTITION_STATE.getSerializer();
    private final InternalAvroSpecificSerializer<StoreVersionState> storeVersionStateSerializer =
            AvroProtocolDefinition.STORE_VERSION_STATE.getSerializer();
    /** Replicas whose offset record this writer stored in a bootstrap that has not ended yet. */
    private final Set<String> written = ConcurrentHashMap.newKeySet();

    MetadataWriter(StorageMetadataService storageMetadataService, Supplier<VeniceNotifier> notifierSupplier) {
        this.storageMetadataService = storageMetadataService;
        this.notifierSupplier = notifierSupplier;
    }

    /** vbt's metadata hook: runs on a vbt thread before the partition is published. */
    void beforePublish(String store, int version, int partition, byte[] offsetRecord, byte[] storeVersionState) {
        String topic = Names.topic(store, version);
        String replica = Names.replica(store, version, partition);
        if (offsetRecord == null || storeVersionState == null) {
            throw new IllegalArgumentException("peer sent no " + (offsetRecord == null ? "offset record" : "store-version state")
                    + " for " + replica);
        }
        OffsetRecord record = new OffsetRecord(offsetRecord, partitionStateSerializer, null);
        // Decode the store-version state before anything is written: a bad one fails the attempt
        // with nothing stored.
        StoreVersionState transferred = storeVersionStateSerializer.deserialize(topic, storeVersionState);

        reportIncrementalPushes(topic, partition, replica, record);
        written.add(replica);
        storageMetadataService.put(topic, partition, record);
        storageMetadataService.computeStoreVersionState(topic, previous -> {
            if (previous != null) {
                previous.topicSwitch = transferred.topicSwitch;
                return previous;
            }
            return transferred;
        });
        LOG.info(() -> "stored the offset record and store-version state of " + replica + " before publishing it");
    }

    /** The bootstrap of this replica ended; {@code published}: with the partition installed. */
    void ended(String store, int version, int partition, boolean published) {
        String replica = Names.replica(store, version, partition);
        if (written.remove(replica) && !published) {
            forget(store, version, partition);
        }
    }

    /** Clears an offset record stored for a partition that was then not published. */
    private void forget(String store, int version, int partition) {
        String replica = Names.replica(store, version, partition);
        try {
            storageMetadataService.clearOffset(Names.topic(store, version), partition);
            LOG.info(() -> "cleared the offset record of " + replica + ": its partition was not published");
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "could not clear the offset record of " + replica
                    + " after its bootstrap failed; Kafka ingestion would resume from it", e);
        }
    }

    private void reportIncrementalPushes(String topic, int partition, String replica, OffsetRecord record) {
        Map<String, IncrementalPushReplicaStatus> pushes = record.getTrackingIncrementalPushStatus();
        if (pushes == null || pushes.isEmpty()) {
            return;
        }
        VeniceNotifier notifier = null;
        try {
            notifier = notifierSupplier == null ? null : notifierSupplier.get();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the push-status notifier supplier failed", e);
        }
        if (notifier == null) {
            LOG.severe("no push-status notifier: cannot report the incremental-push status of " + replica);
            return;
        }
        for (Map.Entry<String, IncrementalPushReplicaStatus> e : pushes.entrySet()) {
            String pushVersion = e.getKey();
            try {
                ExecutionStatus status = ExecutionStatus.valueOf(e.getValue().status);
                if (status == ExecutionStatus.START_OF_INCREMENTAL_PUSH_RECEIVED) {
                    notifier.startOfIncrementalPushReceived(topic, partition, null, pushVersion);
                } else if (status == ExecutionStatus.END_OF_INCREMENTAL_PUSH_RECEIVED) {
                    notifier.endOfIncrementalPushReceived(topic, partition, null, pushVersion);
                } else {
                    LOG.warning("unexpected incremental-push status " + status + " for " + replica
                            + ", incremental push version " + pushVersion);
                }
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "could not report incremental push " + pushVersion + " of " + replica, ex);
            }
        }
    }
}
