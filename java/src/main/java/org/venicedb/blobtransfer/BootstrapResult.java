package org.venicedb.blobtransfer;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A partition installed and verified, with what the host needs to resume from Kafka: the offset
 * record and the store-version state that arrived with it (Venice's serialised forms).
 */
public final class BootstrapResult {
    /** A peer that was tried (or probed) and failed before the one that served the partition. */
    public static final class FailedPeer implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        private final String peer;
        private final BlobTransferException.Code code;
        private final String message;
        private final boolean probeOnly;

        FailedPeer(String peer, BlobTransferException.Code code, String message, boolean probeOnly) {
            this.peer = peer;
            this.code = code;
            this.message = message;
            this.probeOnly = probeOnly;
        }

        public String peer() {
            return peer;
        }

        public BlobTransferException.Code code() {
            return code;
        }

        public String message() {
            return message;
        }

        /**
         * True when the peer failed the connectivity check, so no transfer was asked of it (Venice's
         * stats leave such peers out).
         */
        public boolean probeOnly() {
            return probeOnly;
        }

        @Override
        public String toString() {
            return peer + ": " + code + " " + message;
        }
    }

    /**
     * A peer that first sent files kept from an earlier interrupted attempt and reused here, with
     * those files' bytes (see {@link #resumedBytes()}).
     */
    public static final class ReusedFrom {
        private final String peer;
        private final long bytes;

        ReusedFrom(String peer, long bytes) {
            this.peer = peer;
            this.bytes = bytes;
        }

        public String peer() {
            return peer;
        }

        public long bytes() {
            return bytes;
        }

        @Override
        public String toString() {
            return peer + ": " + bytes + " bytes";
        }
    }

    private final String peer;
    private final int files;
    private final long bytes;
    private final long resumedBytes;
    private final int streams;
    private final double seconds;
    private final Path partitionDirectory;
    private final byte[] offsetRecord;
    private final byte[] storeVersionState;
    private final List<FailedPeer> failedPeers;
    private final List<ReusedFrom> reusedFrom;

    BootstrapResult(String peer, int files, long bytes, long resumedBytes, int streams, double seconds,
            String partitionDirectory, byte[] offsetRecord, byte[] storeVersionState, String[] failedNames,
            int[] failedCodes, String[] failedMessages, boolean[] failedProbeOnly, String[] reusedPeers,
            long[] reusedBytes) {
        this.peer = peer;
        this.files = files;
        this.bytes = bytes;
        this.resumedBytes = resumedBytes;
        this.streams = streams;
        this.seconds = seconds;
        this.partitionDirectory = Paths.get(partitionDirectory);
        this.offsetRecord = offsetRecord;
        this.storeVersionState = storeVersionState;
        this.failedPeers = Collections.unmodifiableList(Arrays.asList(failedPeers(failedNames, failedCodes,
                failedMessages, failedProbeOnly)));
        ReusedFrom[] reused = new ReusedFrom[reusedPeers.length];
        for (int i = 0; i < reusedPeers.length; i++) {
            reused[i] = new ReusedFrom(reusedPeers[i], reusedBytes[i]);
        }
        this.reusedFrom = Collections.unmodifiableList(Arrays.asList(reused));
    }

    /** The failed peers the native library passes as four parallel arrays. */
    static FailedPeer[] failedPeers(String[] names, int[] codes, String[] messages, boolean[] probeOnly) {
        FailedPeer[] failed = new FailedPeer[names.length];
        for (int i = 0; i < names.length; i++) {
            failed[i] = new FailedPeer(names[i], BlobTransferException.Code.fromNumber(codes[i]), messages[i],
                    probeOnly[i]);
        }
        return failed;
    }

    /** The peer ({@code host:port}) that served the partition. */
    public String peer() {
        return peer;
    }

    /** Files installed (counting any kept from an earlier attempt, see {@link #resumedBytes()}). */
    public int files() {
        return files;
    }

    /** Bytes of file contents received in the successful attempt. */
    public long bytes() {
        return bytes;
    }

    /**
     * Bytes of files not sent again because they were kept from an earlier interrupted attempt, on
     * any vbt sender whose manifest lists them (resume): whole files verified, and the start of
     * files that were in flight (verified with the rest of their file); 0 on a fresh transfer. {@link #bytes()}
     * plus this is the size of the installed files; {@link #reusedFrom()} says which peers first sent
     * them.
     */
    public long resumedBytes() {
        return resumedBytes;
    }

    /**
     * Connections that carried the partition's files in the successful attempt: more than 1 only
     * between vbt nodes (up to {@code vbt.receive.streams}).
     */
    public int streams() {
        return streams;
    }

    /** Time spent on the successful peer. */
    public double seconds() {
        return seconds;
    }

    /** Where the partition was installed ({@code <base>/<store>_v<N>/<store>_v<N>_<P>}). */
    public Path partitionDirectory() {
        return partitionDirectory;
    }

    /** The partition's offset record ({@code OffsetRecord.toBytes()}: resume Kafka from here). */
    public byte[] offsetRecord() {
        return offsetRecord.clone();
    }

    /** The store-version state that came with the partition. */
    public byte[] storeVersionState() {
        return storeVersionState.clone();
    }

    /**
     * The peers that first sent the files kept from earlier interrupted attempts, one entry each, with
     * those files' bytes (they add up to {@link #resumedBytes()}); empty on a fresh transfer.
     */
    public List<ReusedFrom> reusedFrom() {
        return reusedFrom;
    }

    /** Peers that failed before the one that served it, each with its cause. */
    public List<FailedPeer> failedPeers() {
        return failedPeers;
    }

    /** One line naming each failed peer and its cause; empty when none failed. */
    public String failedPeersSummary() {
        StringBuilder sb = new StringBuilder();
        for (FailedPeer f : failedPeers) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append(f);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "BootstrapResult[peer=" + peer + ", files=" + files + ", bytes=" + bytes + ", resumedBytes=" + resumedBytes
                + ", reusedFrom=" + reusedFrom + ", streams=" + streams + ", seconds=" + seconds
                + ", partitionDirectory=" + partitionDirectory + ", offsetRecord=" + offsetRecord.length
                + " bytes, storeVersionState=" + storeVersionState.length + " bytes, failedPeers=" + failedPeers
                + "]";
    }
}
