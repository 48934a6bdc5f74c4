package org.venicedb.blobtransfer;

/**
 * Receives a bootstrap's progress (given with {@link BootstrapRequest.Builder#progressListener}).
 *
 * <p>Threading: called on the library's callback thread ({@code vbt-callbacks}, the thread that
 * hands completions to the futures), one call at a time, at most about four times a second while
 * data arrives, and on success once more with {@link BootstrapProgress#isFinal()} set. Every call
 * happens before the bootstrap's future completes, and none after. It should return quickly:
 * other bootstraps' completions wait behind it. An exception it throws is logged (to
 * {@code java.util.logging} logger {@code org.venicedb.blobtransfer}) and does not affect the
 * bootstrap.
 */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(BootstrapProgress progress);
}
