package org.venicedb.blobtransfer;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;

/**
 * Every failure vbt reports: a stable {@link Code} and a message naming the cause.
 *
 * <p>Unchecked, so it travels naturally through {@link java.util.concurrent.CompletableFuture}
 * (where it arrives wrapped in a {@code CompletionException} or {@code ExecutionException}). It is
 * thrown synchronously by a call that fails its checks (bad configuration, bad argument, a
 * bootstrap of the same partition already in flight), and completes a bootstrap's future
 * exceptionally when the transfer itself fails.
 *
 * <p>Host callbacks ({@link SnapshotSource}, {@link PeerDiscovery}) may throw one to choose the
 * code vbt reports, e.g. {@link Code#NOT_FOUND} from a snapshot source for a partition the host
 * does not have (the requester then gets 404).
 */
public class BlobTransferException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Stable result codes. Names and numbers mirror the native library's error kinds (Rust
     * {@code ErrorKind}, C {@code vbt_result}) exactly; numbers are never reused. The library
     * checks this enum against its own table when it is loaded.
     */
    public enum Code {
        OK(0),
        INVALID_ARGUMENT(1),
        CONFIG(2),
        IO(3),
        PROTOCOL(4),
        CHECKSUM(5),
        PEER_STATUS(6),
        TIMEOUT(7),
        CANCELLED(8),
        NO_PEERS(9),
        ALL_PEERS_FAILED(10),
        ALREADY_IN_PROGRESS(11),
        STORAGE(12),
        SHUTDOWN(13),
        INTERNAL(14),
        NOT_FOUND(15),
        PARTITION_EXISTS(16),
        DISABLED(17);

        private final int number;

        Code(int number) {
            this.number = number;
        }

        /** The stable number of this code. */
        public int number() {
            return number;
        }

        /** The code with this number; {@link #INTERNAL} for a number this version does not know. */
        public static Code fromNumber(int number) {
            for (Code c : values()) {
                if (c.number == number) {
                    return c;
                }
            }
            return INTERNAL;
        }
    }

    private final Code code;
    private final int httpStatus;
    private final BootstrapResult.FailedPeer[] peerFailures;

    public BlobTransferException(Code code, String message) {
        this(code, message, (Throwable) null);
    }

    public BlobTransferException(Code code, String message, Throwable cause) {
        super(message, cause);
        if (code == null) {
            throw new NullPointerException("code");
        }
        this.code = code;
        this.httpStatus = -1;
        this.peerFailures = new BootstrapResult.FailedPeer[0];
    }

    /** Built by the native library (see src/jni/exceptions.rs). */
    @CalledFromNative
    BlobTransferException(int code, String message, int httpStatus) {
        this(code, message, httpStatus, new BootstrapResult.FailedPeer[0]);
    }

    /** A bootstrap's failure, with each failed peer (see {@link #peerFailures()}). */
    BlobTransferException(int code, String message, int httpStatus, BootstrapResult.FailedPeer[] peerFailures) {
        super(message);
        this.code = Code.fromNumber(code);
        this.httpStatus = httpStatus;
        this.peerFailures = peerFailures.clone();
    }

    public Code code() {
        return code;
    }

    /** For {@link Code#PEER_STATUS}: the HTTP status the peer answered with. */
    public OptionalInt httpStatus() {
        return httpStatus >= 0 ? OptionalInt.of(httpStatus) : OptionalInt.empty();
    }

    /**
     * For {@link Code#ALL_PEERS_FAILED}: every peer that was tried (or failed its connectivity
     * check), each with its own code and message, in the order they failed (the message joins the
     * same causes into one line). Empty for other failures.
     */
    public List<BootstrapResult.FailedPeer> peerFailures() {
        return Collections.unmodifiableList(Arrays.asList(peerFailures.clone()));
    }

    @Override
    public String toString() {
        String m = getLocalizedMessage();
        return getClass().getName() + "[" + code + "]" + (m != null ? ": " + m : "");
    }
}
