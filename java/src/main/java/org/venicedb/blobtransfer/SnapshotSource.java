package org.venicedb.blobtransfer;

import java.nio.file.Path;

/**
 * The host's own checkpoints, for a host that opens RocksDB itself (a Venice server or DaVinci
 * client on RocksJava): when a peer asks for a partition, vbt names a directory and the host
 * captures the partition's metadata, then writes a consistent checkpoint into that directory
 * (RocksJava's {@code Checkpoint.createCheckpoint(directory)} does exactly that). vbt then serves
 * the directory's files and the metadata, and later removes the directory when the snapshot is
 * stale.
 *
 * <p>Called on one of vbt's threads (never a host thread), at most once at a time per partition;
 * it may block. It must not call back into the {@link BlobTransferNode} that serves it.
 */
@FunctionalInterface
public interface SnapshotSource {
    /**
     * Captures metadata, then creates the checkpoint of {@code store}'s version {@code version},
     * partition {@code partition} in {@code directory}, which does not exist yet (its parent
     * does). Metadata first: the checkpoint then holds at least everything up to the recorded
     * offset.
     *
     * @return the offset record and store-version state captured before the checkpoint
     * @throws BlobTransferException with {@link BlobTransferException.Code#NOT_FOUND} if the host
     *     does not have the partition; any exception fails this request (the peer gets 404 with
     *     the exception's text)
     */
    SnapshotMetadata createSnapshot(String store, int version, int partition, Path directory) throws Exception;
}
