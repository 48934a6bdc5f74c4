package org.venicedb.blobtransfer;

/** Calls a {@link LogSink} with the native level number. */
final class LogSinkAdapter extends NativeCallback {
    private final LogSink sink;

    LogSinkAdapter(LogSink sink) {
        this.sink = sink;
    }

    /** Called by the native library on whichever thread logs. */
    @CalledFromNative
    void log(int level, String target, String message) {
        sink.log(LogSink.Level.fromNumber(level), target, message);
    }
}
