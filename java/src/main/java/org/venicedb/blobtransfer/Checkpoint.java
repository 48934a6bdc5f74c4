package org.venicedb.blobtransfer;

import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One transfer's use of a host checkpoint (see {@link CheckpointSource}): its directory, the
 * metadata captured before it, and what to run when the transfer no longer needs it.
 */
public final class Checkpoint {
    private final Path directory;
    private final SnapshotMetadata metadata;
    private final Runnable release;
    private final AtomicBoolean released = new AtomicBoolean();

    /**
     * @param release run exactly once when the send ends, on one of vbt's threads; what it throws
     *     is logged
     */
    public Checkpoint(Path directory, SnapshotMetadata metadata, Runnable release) {
        this.directory = Objects.requireNonNull(directory, "directory");
        this.metadata = Objects.requireNonNull(metadata, "metadata");
        this.release = Objects.requireNonNull(release, "release");
    }

    public Path directory() {
        return directory;
    }

    public SnapshotMetadata metadata() {
        return metadata;
    }

    /** Called by the native library: the directory as a string. */
    @CalledFromNative
    String nativeDirectory() {
        return directory.toString();
    }

    /** Called by the native library: the offset record and the store-version state. */
    @CalledFromNative
    byte[][] nativeMetadata() {
        return metadata.toNative();
    }

    /** Called by the native library, once, when the send ends. */
    @CalledFromNative
    void nativeRelease() {
        if (released.compareAndSet(false, true)) {
            release.run();
        }
    }
}
