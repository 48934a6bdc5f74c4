package org.venicedb.blobtransfer;

/**
 * Checkpoints the host manages itself, handed to vbt one per transfer: a Venice node's
 * {@code BlobSnapshotManager} keeps its own checks, user count and retention, and checkpoints
 * into {@code <partition>/.snapshot_files}. vbt calls {@link #acquire} for each request it admits,
 * serves the checkpoint's files and metadata, and runs the checkpoint's release exactly once when
 * that send ends (success, failure or a broken connection). Set with
 * {@link BlobTransferNode.Builder#checkpointSource}; it wins over a {@link SnapshotSource}.
 *
 * <p>Called on one of vbt's threads; it may block. It must not call back into the node that
 * serves it.
 */
@FunctionalInterface
public interface CheckpointSource {
    /**
     * The checkpoint of a partition: an existing, complete directory and the metadata captured
     * before it.
     *
     * @throws BlobTransferException with {@link BlobTransferException.Code#NOT_FOUND} if the host
     *     does not have the partition; any exception refuses the request (the peer gets 404 with
     *     its text)
     */
    Checkpoint acquire(String store, int version, int partition) throws Exception;
}
