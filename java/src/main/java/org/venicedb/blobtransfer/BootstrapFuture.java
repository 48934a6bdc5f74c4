package org.venicedb.blobtransfer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * The result of {@link BlobTransferNode#bootstrapPartition}: completes with the installed
 * partition, or exceptionally with a {@link BlobTransferException}.
 *
 * <p>It is completed by the node's completion executor, never on the library's own callback
 * thread, so continuations may block or call back into the node. {@link #cancel(boolean)}
 * cancels the transfer itself: the library stops it, removes its temporary directory, and reports
 * {@link BlobTransferException.Code#CANCELLED} through {@link #nativeResult()}.
 */
public final class BootstrapFuture extends CompletableFuture<BootstrapResult> {
    private final BlobTransferNode node;
    private final Executor executor;
    private final CompletableFuture<BootstrapResult> nativeResult = new CompletableFuture<>();
    private volatile long opId;

    BootstrapFuture(BlobTransferNode node, Executor executor) {
        this.node = node;
        this.executor = executor;
    }

    void started(long opId) {
        this.opId = opId;
    }

    /** The library's id of this bootstrap (for {@link BlobTransferNode#cancel(long)}). */
    public long opId() {
        return opId;
    }

    /**
     * Completes when the transfer has really ended, with the library's own outcome, even if this
     * future was cancelled or completed by someone else first. After a cancel, wait on it before
     * bootstrapping the same partition again.
     */
    public CompletableFuture<BootstrapResult> nativeResult() {
        return nativeResult.thenApply(Function.identity());
    }

    /** Completes this future as cancelled and asks the library to stop the transfer. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            node.cancelQuietly(opId);
        }
        return cancelled;
    }

    /** Called by the native library, once, on its callback thread. */
    @CalledFromNative
    void onNativeSuccess(String peer, int files, long bytes, long resumedBytes, int streams, double seconds,
            String partitionDirectory, byte[] offsetRecord, byte[] storeVersionState, String[] failedNames,
            int[] failedCodes, String[] failedMessages, boolean[] failedProbeOnly, String[] reusedPeers,
            long[] reusedBytes) {
        BootstrapResult result;
        try {
            result = new BootstrapResult(peer, files, bytes, resumedBytes, streams, seconds, partitionDirectory,
                    offsetRecord, storeVersionState, failedNames, failedCodes, failedMessages, failedProbeOnly,
                    reusedPeers, reusedBytes);
        } catch (Throwable t) {
            hand(null, new BlobTransferException(BlobTransferException.Code.INTERNAL,
                    "could not build the bootstrap result: " + t, t));
            return;
        }
        hand(result, null);
    }

    /** Called by the native library, once, on its callback thread. */
    @CalledFromNative
    void onNativeFailure(int code, String message, int httpStatus, String[] failedNames, int[] failedCodes,
            String[] failedMessages, boolean[] failedProbeOnly) {
        BlobTransferException e;
        try {
            e = new BlobTransferException(code, message, httpStatus,
                    BootstrapResult.failedPeers(failedNames, failedCodes, failedMessages, failedProbeOnly));
        } catch (Throwable t) {
            e = new BlobTransferException(code, message, httpStatus);
        }
        hand(null, e);
    }

    /** Hands the outcome to the executor, so no user code runs on the library's thread. */
    private void hand(BootstrapResult result, Throwable failure) {
        Runnable task = () -> {
            if (failure == null) {
                nativeResult.complete(result);
                complete(result);
            } else {
                nativeResult.completeExceptionally(failure);
                completeExceptionally(failure);
            }
        };
        try {
            executor.execute(task);
        } catch (Throwable rejected) {
            // A host executor that is shut down or saturated: still complete, still off vbt's thread.
            Thread t = new Thread(task, "vbt-completion-fallback");
            t.setDaemon(true);
            t.start();
        }
    }
}
