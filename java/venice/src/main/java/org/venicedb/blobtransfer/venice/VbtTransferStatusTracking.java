package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobTransferStatusTrackingManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferStatus;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Venice's transfer-status state machine ({@code TRANSFER_NOT_STARTED → TRANSFER_STARTED →
 * TRANSFER_COMPLETED}, or {@code → TRANSFER_CANCEL_REQUESTED → TRANSFER_CANCELLED}) with the same
 * transitions as Venice's {@link BlobTransferStatusTrackingManager}, which ingestion drives: it
 * calls {@code initialTransfer} before {@code get()}, the manager calls {@code startedTransfer},
 * ingestion marks the outcome when {@code get()}'s future completes, and UNSUBSCRIBE, KILL and
 * DROP_PARTITION call {@link #cancelTransfer}. Every public method of Venice's class is
 * overridden; the superclass's own state and Netty client are never used.
 *
 * <p>Two differences make it safe over vbt:
 * <ul>
 *   <li>{@link #cancelTransfer} cancels the vbt bootstrap itself (Venice closes its Netty
 *       channel); the bootstrap then ends with nothing published and its temporary directory
 *       removed;
 *   <li>{@link #isTransferInFinalState} and {@link #isBlobTransferInProgress} also look at vbt:
 *       while a bootstrap of the replica is still running in vbt (its files may still be
 *       written), the state is not final, whatever was marked. Venice's DROP_PARTITION waits for
 *       a final state before it deletes the partition's files, so it never races vbt's writes.
 * </ul>
 */
final class VbtTransferStatusTracking extends BlobTransferStatusTrackingManager {
    private static final Logger LOG = Logger.getLogger(VbtTransferStatusTracking.class.getName());

    private final Map<String, AtomicReference<BlobTransferStatus>> statuses = new ConcurrentHashMap<>();
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private final Object lock = new Object();

    /** One {@code get()} of a replica, from its start until vbt has really stopped. */
    interface Running {
        /** Asks vbt to stop; may be called more than once, and before vbt has started. */
        void cancel();
    }

    VbtTransferStatusTracking() {
        super(null);
    }

    /** A {@code get()} of {@code replicaId} began; cancels it at once if a cancel came first. */
    void register(String replicaId, Running r) {
        boolean cancelNow;
        synchronized (lock) {
            running.put(replicaId, r);
            cancelNow = isBlobTransferCancelRequested(replicaId);
        }
        if (cancelNow) {
            r.cancel();
        }
    }

    /** The {@code get()} has ended and vbt writes nothing more for it. */
    void unregister(String replicaId, Running r) {
        running.remove(replicaId, r);
    }

    /** Running {@code get()}s (for close). */
    Iterable<Running> allRunning() {
        return running.values();
    }

    @Override
    public void initialTransfer(String replicaId) {
        statuses.put(replicaId, new AtomicReference<>(BlobTransferStatus.TRANSFER_NOT_STARTED));
    }

    @Override
    public void startedTransfer(String replicaId) {
        statuses.put(replicaId, new AtomicReference<>(BlobTransferStatus.TRANSFER_STARTED));
    }

    @Override
    public BlobTransferStatus getTransferStatus(String replicaId) {
        AtomicReference<BlobTransferStatus> s = statuses.get(replicaId);
        return s == null ? null : s.get();
    }

    @Override
    public void clearTransferStatusEnum(String replicaId) {
        statuses.remove(replicaId);
    }

    @Override
    public boolean isBlobTransferInProgress(String replicaId) {
        if (running.containsKey(replicaId)) {
            return true;
        }
        BlobTransferStatus s = getTransferStatus(replicaId);
        return s == BlobTransferStatus.TRANSFER_NOT_STARTED || s == BlobTransferStatus.TRANSFER_STARTED
                || s == BlobTransferStatus.TRANSFER_CANCEL_REQUESTED;
    }

    @Override
    public boolean isBlobTransferCancelRequested(String replicaId) {
        return getTransferStatus(replicaId) == BlobTransferStatus.TRANSFER_CANCEL_REQUESTED;
    }

    @Override
    public boolean isBlobTransferCancelRequestSentBefore(String replicaId) {
        BlobTransferStatus s = getTransferStatus(replicaId);
        return s == BlobTransferStatus.TRANSFER_CANCELLED || s == BlobTransferStatus.TRANSFER_CANCEL_REQUESTED;
    }

    @Override
    public void markTransferCancelled(String replicaId) {
        AtomicReference<BlobTransferStatus> s = statuses.get(replicaId);
        if (s != null && s.compareAndSet(BlobTransferStatus.TRANSFER_CANCEL_REQUESTED, BlobTransferStatus.TRANSFER_CANCELLED)) {
            LOG.info(() -> "transfer of " + replicaId + " is cancelled");
        }
    }

    @Override
    public void markTransferCompleted(String replicaId) {
        AtomicReference<BlobTransferStatus> s = statuses.get(replicaId);
        if (s != null && (s.compareAndSet(BlobTransferStatus.TRANSFER_STARTED, BlobTransferStatus.TRANSFER_COMPLETED)
                || s.compareAndSet(BlobTransferStatus.TRANSFER_NOT_STARTED, BlobTransferStatus.TRANSFER_COMPLETED))) {
            LOG.info(() -> "transfer of " + replicaId + " is completed");
        }
    }

    @Override
    public boolean isTransferInFinalState(String replicaId) {
        if (running.containsKey(replicaId)) {
            return false;
        }
        BlobTransferStatus s = getTransferStatus(replicaId);
        return s == null || s == BlobTransferStatus.TRANSFER_COMPLETED || s == BlobTransferStatus.TRANSFER_CANCELLED;
    }

    @Override
    public void cancelTransfer(String replicaId) {
        Running r;
        synchronized (lock) {
            if (isBlobTransferCancelRequestSentBefore(replicaId)) {
                LOG.info(() -> "cancel of " + replicaId + " was already requested");
                return;
            }
            if (isTransferInFinalState(replicaId)) {
                LOG.info(() -> "transfer of " + replicaId + " is already in a final state; nothing to cancel");
                return;
            }
            statuses.computeIfAbsent(replicaId, k -> new AtomicReference<>(BlobTransferStatus.TRANSFER_NOT_STARTED))
                    .set(BlobTransferStatus.TRANSFER_CANCEL_REQUESTED);
            r = running.get(replicaId);
        }
        LOG.info(() -> "cancelling the transfer of " + replicaId);
        if (r != null) {
            r.cancel();
        }
    }
}
