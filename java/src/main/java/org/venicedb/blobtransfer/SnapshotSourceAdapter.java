package org.venicedb.blobtransfer;

/** Calls a {@link SnapshotSource}: the native side gets the two metadata arrays. */
final class SnapshotSourceAdapter extends NativeCallback {
    private final SnapshotSource source;

    SnapshotSourceAdapter(SnapshotSource source) {
        this.source = source;
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    byte[][] createSnapshot(String store, int version, int partition, String directory) throws Exception {
        SnapshotMetadata m = source.createSnapshot(store, version, partition, java.nio.file.Paths.get(directory));
        if (m == null) {
            throw new BlobTransferException(BlobTransferException.Code.INVALID_ARGUMENT,
                    "SnapshotSource.createSnapshot returned null");
        }
        return m.toNative();
    }
}
