package org.venicedb.blobtransfer.venice;

/** Venice's names: version topic {@code <store>_v<N>}, replica id {@code <store>_v<N>-<P>}. */
final class Names {
    private Names() {}

    static String topic(String store, int version) {
        return store + "_v" + version;
    }

    static String replica(String store, int version, int partition) {
        return topic(store, version) + "-" + partition;
    }
}
