package org.venicedb.blobtransfer;

/**
 * Receives vbt's log records (see {@link BlobTransferNode#setLogSink}). Process-wide: the native
 * library has one logger per process. Called on whichever thread logs, often one of vbt's own; it
 * must be quick, thread-safe, and must not call back into vbt. An exception it throws loses that
 * record and nothing else.
 */
@FunctionalInterface
public interface LogSink {
    /** Severity, most severe first. */
    enum Level {
        ERROR,
        WARN,
        INFO,
        DEBUG,
        TRACE;

        /** The native number: ERROR = 1 ... TRACE = 5. */
        int number() {
            return ordinal() + 1;
        }

        static Level fromNumber(int n) {
            Level[] all = values();
            return n >= 1 && n <= all.length ? all[n - 1] : TRACE;
        }
    }

    /**
     * @param target the Rust module that logged, e.g. {@code venice_blob_transfer::client}
     */
    void log(Level level, String target, String message);
}
