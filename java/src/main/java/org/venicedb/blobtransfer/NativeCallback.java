package org.venicedb.blobtransfer;

/**
 * Base of the adapters the native library calls host code through. When host code throws, the
 * library (on its own thread) clears the exception and asks the adapter for its code and text, so
 * it never needs to look classes up from a thread whose class loader may not see this package.
 */
abstract class NativeCallback {
    /** Called by the native library: the code of a {@link BlobTransferException}, else {@code dflt}. */
    @CalledFromNative
    final int errorCode(Throwable t, int dflt) {
        if (t instanceof BlobTransferException) {
            return ((BlobTransferException) t).code().number();
        }
        return dflt;
    }

    /** Called by the native library: the text vbt reports for an exception host code threw. */
    @CalledFromNative
    final String errorMessage(Throwable t) {
        try {
            if (t instanceof BlobTransferException) {
                String m = t.getMessage();
                return m != null ? m : t.getClass().getName();
            }
            return String.valueOf(t);
        } catch (Throwable ignored) {
            return t.getClass().getName();
        }
    }
}
