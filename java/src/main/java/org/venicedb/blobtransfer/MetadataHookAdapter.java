package org.venicedb.blobtransfer;

/** Calls a {@link MetadataHook} for the native library. */
final class MetadataHookAdapter extends NativeCallback {
    private final MetadataHook hook;

    MetadataHookAdapter(MetadataHook hook) {
        this.hook = hook;
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    void beforePublish(String store, int version, int partition, byte[] offsetRecord, byte[] storeVersionState)
            throws Exception {
        hook.beforePublish(store, version, partition, offsetRecord, storeVersionState);
    }
}
