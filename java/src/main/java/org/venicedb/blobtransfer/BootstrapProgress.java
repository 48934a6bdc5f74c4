package org.venicedb.blobtransfer;

import java.util.OptionalLong;

/**
 * How far a running bootstrap has got, as handed to a {@link ProgressListener}. The counts are of
 * the attempt on the current peer: they start again from zero when the library moves on to the
 * next peer. Totals are present only when the peer announced them (Java Venice senders never do).
 */
public final class BootstrapProgress {
    private final String peer;
    private final long filesDone;
    private final long bytesDone;
    private final long bytesResumed;
    private final long filesTotal;
    private final long bytesTotal;
    private final boolean last;

    BootstrapProgress(String peer, long filesDone, long bytesDone, long bytesResumed, long filesTotal, long bytesTotal,
            boolean last) {
        this.peer = peer;
        this.filesDone = filesDone;
        this.bytesDone = bytesDone;
        this.bytesResumed = bytesResumed;
        this.filesTotal = filesTotal;
        this.bytesTotal = bytesTotal;
        this.last = last;
    }

    /** The peer ({@code host:port}) the partition is coming from. */
    public String peer() {
        return peer;
    }

    /** Files received completely so far. */
    public long filesDone() {
        return filesDone;
    }

    /**
     * Bytes of the partition in place so far: kept from an interrupted attempt (see
     * {@link #bytesResumed()}) plus received in this one.
     */
    public long bytesDone() {
        return bytesDone;
    }

    /**
     * The part of {@link #bytesDone()} kept from an interrupted attempt (a resume between vbt
     * nodes), not received now: bytes received in this attempt are {@code bytesDone() - bytesResumed()}.
     */
    public long bytesResumed() {
        return bytesResumed;
    }

    /** Files in the peer's snapshot, if the peer announced it. */
    public OptionalLong filesTotal() {
        return filesTotal >= 0 ? OptionalLong.of(filesTotal) : OptionalLong.empty();
    }

    /** Bytes in the peer's snapshot, if the peer announced it. */
    public OptionalLong bytesTotal() {
        return bytesTotal >= 0 ? OptionalLong.of(bytesTotal) : OptionalLong.empty();
    }

    /**
     * True for the last report, given on success just before the future completes: {@link #filesDone()}
     * equals {@link BootstrapResult#files()} and {@link #bytesDone()} equals
     * {@link BootstrapResult#bytes()} plus {@link BootstrapResult#resumedBytes()}.
     */
    public boolean isFinal() {
        return last;
    }

    @Override
    public String toString() {
        return "BootstrapProgress[peer=" + peer + ", files=" + filesDone + "/" + (filesTotal >= 0 ? filesTotal : "?")
                + ", bytes=" + bytesDone + "/" + (bytesTotal >= 0 ? bytesTotal : "?")
                + (bytesResumed > 0 ? " (" + bytesResumed + " resumed)" : "") + (last ? ", final" : "") + "]";
    }
}
