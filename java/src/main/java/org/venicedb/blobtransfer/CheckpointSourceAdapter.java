package org.venicedb.blobtransfer;

/** Calls a {@link CheckpointSource} for the native library. */
final class CheckpointSourceAdapter extends NativeCallback {
    private final CheckpointSource source;

    CheckpointSourceAdapter(CheckpointSource source) {
        this.source = source;
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    Checkpoint acquire(String store, int version, int partition) throws Exception {
        Checkpoint c = source.acquire(store, version, partition);
        if (c == null) {
            throw new BlobTransferException(BlobTransferException.Code.INVALID_ARGUMENT,
                    "CheckpointSource.acquire returned null");
        }
        return c;
    }
}
