package org.venicedb.blobtransfer;

import java.util.List;

/**
 * Where peers come from when a bootstrap names none (a Venice host asks its router or its
 * cluster metadata). Called on one of vbt's threads; it may block.
 */
@FunctionalInterface
public interface PeerDiscovery {
    /**
     * @return {@code host[:port]} values of peers that have the partition (a missing port is the
     *     configured client port); empty or null when none is known, which fails the bootstrap
     *     with {@link BlobTransferException.Code#NO_PEERS}
     * @throws Exception fails the bootstrap, with the code of a {@link BlobTransferException} or
     *     else {@link BlobTransferException.Code#NO_PEERS}
     */
    List<String> discoverPeers(String store, int version, int partition) throws Exception;
}
