// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferPayload.java at commit 77ea837f; constructor and getters, with the directory layout of
// the reference (docs/venice-reference.md §3.4, §4.2) written out by vbt.
package com.linkedin.davinci.blobtransfer;

import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import java.io.File;

public class BlobTransferPayload {
  private final String baseDir;
  private final String storeName;
  private final String topicName;
  private final int partition;
  private final BlobTransferTableFormat requestTableFormat;

  public BlobTransferPayload(
      String baseDir,
      String storeName,
      int version,
      int partition,
      BlobTransferTableFormat requestTableFormat) {
    this.baseDir = baseDir;
    this.storeName = storeName;
    this.topicName = storeName + "_v" + version;
    this.partition = partition;
    this.requestTableFormat = requestTableFormat;
  }

  public String getBaseDir() {
    return baseDir;
  }

  public String getPartitionDir() {
    return baseDir + File.separator + topicName + File.separator + topicName + "_" + partition;
  }

  public String getTempPartitionDir() {
    return baseDir + File.separator + topicName + File.separator + "temp_transferred_" + topicName + "_" + partition;
  }

  public String getSnapshotDir() {
    return getPartitionDir() + File.separator + ".snapshot_files";
  }

  public String getFullResourceName() {
    return topicName + "-" + partition;
  }

  public String getTopicName() {
    return topicName;
  }

  public int getPartition() {
    return partition;
  }

  public String getStoreName() {
    return storeName;
  }

  public BlobTransferTableFormat getRequestTableFormat() {
    return requestTableFormat;
  }
}
