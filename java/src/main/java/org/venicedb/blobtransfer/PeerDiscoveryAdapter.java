package org.venicedb.blobtransfer;

/** Calls a {@link PeerDiscovery}: the native side gets a plain array. */
final class PeerDiscoveryAdapter extends NativeCallback {
    private final PeerDiscovery discovery;

    PeerDiscoveryAdapter(PeerDiscovery discovery) {
        this.discovery = discovery;
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    String[] discover(String store, int version, int partition) throws Exception {
        java.util.List<String> peers = discovery.discoverPeers(store, version, partition);
        if (peers == null) {
            return new String[0];
        }
        String[] out = peers.toArray(new String[0]);
        for (String p : out) {
            if (p == null) {
                throw new BlobTransferException(BlobTransferException.Code.INVALID_ARGUMENT,
                        "PeerDiscovery returned a null peer");
            }
        }
        return out;
    }
}
