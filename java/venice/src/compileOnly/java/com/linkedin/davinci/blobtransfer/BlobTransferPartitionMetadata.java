// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferPartitionMetadata.java at commit 77ea837f; fields, constructors, getters (no JSON annotations).
package com.linkedin.davinci.blobtransfer;

import java.nio.ByteBuffer;

public class BlobTransferPartitionMetadata {
  public String topicName;
  public int partitionId;
  public ByteBuffer offsetRecord;
  public ByteBuffer storeVersionState;

  public BlobTransferPartitionMetadata() {
  }

  public BlobTransferPartitionMetadata(
      String topicName,
      int partitionId,
      ByteBuffer offsetRecord,
      ByteBuffer storeVersionState) {
    this.topicName = topicName;
    this.partitionId = partitionId;
    this.offsetRecord = offsetRecord;
    this.storeVersionState = storeVersionState;
  }

  public String getTopicName() {
    return topicName;
  }

  public int getPartitionId() {
    return partitionId;
  }

  public ByteBuffer getOffsetRecord() {
    return offsetRecord;
  }

  public ByteBuffer getStoreVersionState() {
    return storeVersionState;
  }
}
