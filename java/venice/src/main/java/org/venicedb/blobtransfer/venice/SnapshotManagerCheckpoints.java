package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferPartitionMetadata;
import com.linkedin.davinci.blobtransfer.BlobTransferPayload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.venicedb.blobtransfer.BlobTransferException;
import org.venicedb.blobtransfer.SnapshotMetadata;

/**
 * The sender side: what vbt serves for a request is what Venice's own sender would serve, taken
 * through the node's {@link BlobSnapshotManager}. Per request, {@link #acquire} does what
 * {@code P2PFileTransferServerHandler} does before its first file:
 *
 * <ul>
 *   <li>{@code getTransferMetadata(payload, counted)}: the manager's checks (storage engine and
 *       partition present, partition not itself being received), its per-snapshot user count,
 *       its retention (a stale snapshot is re-created, metadata first, when nobody uses it), and
 *       the metadata captured before the checkpoint. A failure is Venice's 404 with the
 *       exception's message;
 *   <li>the checkpoint is {@code payload.getSnapshotDir()} =
 *       {@code <base>/<store>_v<N>/<store>_v<N>_<P>/.snapshot_files}; missing, it is Venice's 404
 *       {@code Snapshot for <replica> doesn't exist}; empty, it is refused with Venice's text
 *       {@code Failed to access files at <dir>} (Venice answers that one with 500, vbt refuses
 *       every request its checkpoint source refuses with 404; a requester moves to its next
 *       peer either way).
 * </ul>
 *
 * The user count taken by {@code getTransferMetadata} is given back
 * ({@code decreaseConcurrentUserCount}) exactly once on every path: by vbt when the send ends
 * (complete, failed, or the connection broke), or here at once when the request is refused after
 * the count was taken. (Venice's own server-origin path leaks that count when
 * {@code getTransferMetadata} throws after counting; this does not.)
 */
final class SnapshotManagerCheckpoints {
    private static final Logger LOG = Logger.getLogger(SnapshotManagerCheckpoints.class.getName());

    private final BlobSnapshotManager snapshots;
    private final String baseDir;
    private final AtomicInteger held = new AtomicInteger();

    SnapshotManagerCheckpoints(BlobSnapshotManager snapshots, String baseDir) {
        this.snapshots = snapshots;
        this.baseDir = baseDir;
    }

    /** A checkpoint to serve and what to run, once, when its send ends. */
    static final class Acquired {
        final Path directory;
        final SnapshotMetadata metadata;
        final Runnable release;

        Acquired(Path directory, SnapshotMetadata metadata, Runnable release) {
            this.directory = directory;
            this.metadata = metadata;
            this.release = release;
        }
    }

    /** Snapshot users taken through this source and not yet given back. */
    int held() {
        return held.get();
    }

    Acquired acquire(String store, int version, int partition) {
        BlobTransferPayload payload =
                new BlobTransferPayload(baseDir, store, version, partition, snapshots.getBlobTransferTableFormat());
        AtomicBoolean counted = new AtomicBoolean(false);
        BlobTransferPartitionMetadata m;
        try {
            m = snapshots.getTransferMetadata(payload, counted);
        } catch (RuntimeException e) {
            if (counted.get()) {
                held.incrementAndGet();
                release(payload).run();
            }
            String message = e.getMessage() == null ? "Failed to fetch transfer metadata" : e.getMessage();
            throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND, message, e);
        }
        Runnable release = counted.get() ? counting(release(payload)) : () -> {};
        try {
            if (m == null || m.offsetRecord == null || m.storeVersionState == null) {
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND,
                        "No transfer metadata for " + payload.getFullResourceName());
            }
            Path dir = Paths.get(payload.getSnapshotDir());
            if (!Files.isDirectory(dir)) {
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND,
                        "Snapshot for " + payload.getFullResourceName() + " doesn't exist");
            }
            if (isEmpty(dir)) {
                throw new BlobTransferException(BlobTransferException.Code.IO, "Failed to access files at " + dir);
            }
            return new Acquired(dir, new SnapshotMetadata(bytes(m.offsetRecord), bytes(m.storeVersionState)), release);
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    private Runnable counting(Runnable release) {
        held.incrementAndGet();
        return release;
    }

    /** Gives the user count back, at most once, never throwing (vbt calls it on its own thread). */
    private Runnable release(BlobTransferPayload payload) {
        AtomicBoolean done = new AtomicBoolean();
        return () -> {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            held.decrementAndGet();
            try {
                snapshots.decreaseConcurrentUserCount(payload);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "could not give back the snapshot user of " + payload.getFullResourceName(), e);
            }
        };
    }

    private static boolean isEmpty(Path dir) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        } catch (IOException e) {
            return true;
        }
    }

    /** The remaining bytes of a buffer, without moving its position (the manager keeps it). */
    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }
}
