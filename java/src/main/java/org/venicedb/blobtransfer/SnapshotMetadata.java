package org.venicedb.blobtransfer;

import java.util.Arrays;

/**
 * What a {@link SnapshotSource} captured about a partition before checkpointing it: Venice's
 * serialised offset record ({@code OffsetRecord.toBytes()}: magic 24, protocol version, Avro
 * record) and store-version state (magic 25, protocol version, Avro record). vbt sends both to
 * the receiver with the files, exactly as Venice does.
 */
public final class SnapshotMetadata {
    private final byte[] offsetRecord;
    private final byte[] storeVersionState;

    public SnapshotMetadata(byte[] offsetRecord, byte[] storeVersionState) {
        if (offsetRecord == null || storeVersionState == null) {
            throw new NullPointerException("offsetRecord and storeVersionState must not be null");
        }
        this.offsetRecord = offsetRecord.clone();
        this.storeVersionState = storeVersionState.clone();
    }

    public byte[] offsetRecord() {
        return offsetRecord.clone();
    }

    public byte[] storeVersionState() {
        return storeVersionState.clone();
    }

    byte[][] toNative() {
        return new byte[][] {offsetRecord, storeVersionState};
    }

    @Override
    public String toString() {
        return "SnapshotMetadata[offsetRecord=" + offsetRecord.length + " bytes, storeVersionState="
                + storeVersionState.length + " bytes]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SnapshotMetadata
                && Arrays.equals(offsetRecord, ((SnapshotMetadata) o).offsetRecord)
                && Arrays.equals(storeVersionState, ((SnapshotMetadata) o).storeVersionState);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(offsetRecord) + Arrays.hashCode(storeVersionState);
    }
}
