package org.venicedb.blobtransfer;

import java.util.logging.Level;
import java.util.logging.Logger;

/** Calls a {@link SendListener} for the native library; a listener that throws is logged. */
final class SendListenerAdapter extends NativeCallback {
    private static final Logger LOG = Logger.getLogger("org.venicedb.blobtransfer");
    private final SendListener listener;

    SendListenerAdapter(SendListener listener) {
        this.listener = listener;
    }

    /** Called by the native library on the node's callback thread. */
    @CalledFromNative
    void onFileSent(String store, int version, int partition, String peer, long bytes) {
        try {
            listener.onFileSent(store, version, partition, peer, bytes);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "SendListener threw", t);
        }
    }
}
