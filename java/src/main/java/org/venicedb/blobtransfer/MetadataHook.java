package org.venicedb.blobtransfer;

/**
 * Receives a bootstrapped partition's metadata before the partition is published: a Venice host
 * stores the offset record and the store-version state here (as Venice's
 * {@code P2PMetadataTransferHandler} does before its rename), so a published partition always has
 * them. Set with {@link BlobTransferNode.Builder#metadataHook}.
 *
 * <p>Called on one of vbt's threads, once per successful attempt, after every byte of the
 * partition is verified (and RocksDB opened it, unless {@code vbt.receive.verify.rocksdb=false})
 * and before vbt renames it into place. It may block. Throwing fails the attempt: nothing is
 * published, the bootstrap moves to its next peer, and the exception's text is part of the error.
 */
@FunctionalInterface
public interface MetadataHook {
    void beforePublish(String store, int version, int partition, byte[] offsetRecord, byte[] storeVersionState)
            throws Exception;
}
