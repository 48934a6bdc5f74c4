package org.venicedb.blobtransfer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * What {@link BlobTransferNode#bootstrapPartition(BootstrapRequest)} fetches, from whom, and who
 * hears of its progress. Immutable; made with {@link #builder(String, int, int)}.
 *
 * <pre>{@code
 * BootstrapRequest req = BootstrapRequest.builder("myStore", 1, 0)
 *         .peers(Arrays.asList("peer-a:7700", "peer-b:7700"))
 *         .progressListener(p -> log.info("{}", p))
 *         .build();
 * BootstrapResult r = node.bootstrapPartition(req).join();
 * }</pre>
 */
public final class BootstrapRequest {
    private final String store;
    private final int version;
    private final int partition;
    private final String tableFormat;
    private final List<String> peers;
    private final ProgressListener progressListener;
    private final boolean preservePeerOrder;

    private BootstrapRequest(Builder b) {
        this.store = b.store;
        this.version = b.version;
        this.partition = b.partition;
        this.tableFormat = b.tableFormat;
        this.peers = Collections.unmodifiableList(new ArrayList<>(b.peers));
        this.progressListener = b.progressListener;
        this.preservePeerOrder = b.preservePeerOrder;
    }

    /** A request for partition {@code partition} of version {@code version} of {@code store}. */
    public static Builder builder(String store, int version, int partition) {
        return new Builder(Objects.requireNonNull(store, "store"), version, partition);
    }

    public String store() {
        return store;
    }

    public int version() {
        return version;
    }

    public int partition() {
        return partition;
    }

    /** {@code BLOCK_BASED_TABLE}, {@code PLAIN_TABLE}, or null for the node's own format. */
    public String tableFormat() {
        return tableFormat;
    }

    /** Peers to try ({@code host[:port]}); empty to ask the node's {@link PeerDiscovery}. */
    public List<String> peers() {
        return peers;
    }

    /** The listener of this bootstrap's progress, or null. */
    public ProgressListener progressListener() {
        return progressListener;
    }

    /**
     * True: peers are tried in the given order (Venice's {@code BlobFinder.shouldPreservePeerOrder});
     * false (the default): in a random order, as Venice shuffles them.
     */
    public boolean preservePeerOrder() {
        return preservePeerOrder;
    }

    /** Builds a {@link BootstrapRequest}. */
    public static final class Builder {
        private final String store;
        private final int version;
        private final int partition;
        private String tableFormat;
        private List<String> peers = Collections.emptyList();
        private ProgressListener progressListener;
        private boolean preservePeerOrder;

        private Builder(String store, int version, int partition) {
            this.store = store;
            this.version = version;
            this.partition = partition;
        }

        /** {@code BLOCK_BASED_TABLE} or {@code PLAIN_TABLE}; null (the default) for the node's own. */
        public Builder tableFormat(String tableFormat) {
            this.tableFormat = tableFormat;
            return this;
        }

        /** Peers tried in turn until one succeeds; null or empty asks the node's discovery. */
        public Builder peers(List<String> peers) {
            List<String> copy = peers == null ? Collections.<String>emptyList() : new ArrayList<>(peers);
            for (String p : copy) {
                Objects.requireNonNull(p, "peers must not contain null");
            }
            this.peers = copy;
            return this;
        }

        /** Hears of the bootstrap's progress (see {@link ProgressListener}); null for none. */
        public Builder progressListener(ProgressListener listener) {
            this.progressListener = listener;
            return this;
        }

        /** Try peers in the given order instead of shuffling them (see {@link #preservePeerOrder()}). */
        public Builder preservePeerOrder(boolean preserve) {
            this.preservePeerOrder = preserve;
            return this;
        }

        public BootstrapRequest build() {
            return new BootstrapRequest(this);
        }
    }

    @Override
    public String toString() {
        return "BootstrapRequest[" + store + "_v" + version + "-" + partition + ", tableFormat=" + tableFormat
                + ", peers=" + peers + (progressListener != null ? ", with progress" : "") + "]";
    }
}
