package org.venicedb.blobtransfer;

import java.util.logging.Level;
import java.util.logging.Logger;

/** Calls a {@link ProgressListener} from the library's callback thread; never lets it throw. */
final class ProgressListenerAdapter extends NativeCallback {
    private static final Logger LOG = Logger.getLogger("org.venicedb.blobtransfer");

    private final ProgressListener listener;

    ProgressListenerAdapter(ProgressListener listener) {
        this.listener = listener;
    }

    /** Called by the native library on its callback thread; totals are -1 when unknown. */
    @CalledFromNative
    void progress(String peer, long filesDone, long bytesDone, long bytesResumed, long filesTotal, long bytesTotal,
            boolean last) {
        try {
            listener.onProgress(new BootstrapProgress(peer, filesDone, bytesDone, bytesResumed, filesTotal, bytesTotal, last));
        } catch (Throwable t) {
            // The host's listener is advisory: its failure must not fail or stall the transfer.
            try {
                LOG.log(Level.WARNING, "a ProgressListener threw; the bootstrap continues", t);
            } catch (Throwable ignored) {
                // a broken logging setup: nothing more to do
            }
        }
    }
}
