package org.venicedb.blobtransfer;

/**
 * Hears of every whole file a send wrote (Venice records bytes sent per file, after the file's
 * write completed). Set with {@link BlobTransferNode.Builder#sendListener}. Called on the node's
 * callback thread: it should return quickly; what it throws is logged and ignored.
 */
@FunctionalInterface
public interface SendListener {
    void onFileSent(String store, int version, int partition, String peer, long bytes);
}
