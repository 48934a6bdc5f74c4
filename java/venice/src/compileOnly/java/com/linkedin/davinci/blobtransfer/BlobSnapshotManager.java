// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobSnapshotManager.java at commit 77ea837f; the constructor and the methods vbt calls.
// Only the table format is kept here; the tests' snapshot manager overrides the rest.
package com.linkedin.davinci.blobtransfer;

import com.linkedin.davinci.storage.StorageEngineRepository;
import com.linkedin.davinci.storage.StorageMetadataService;
import com.linkedin.venice.exceptions.VeniceException;
import com.linkedin.venice.utils.LogContext;
import java.util.concurrent.atomic.AtomicBoolean;

public class BlobSnapshotManager {
  private final BlobTransferUtils.BlobTransferTableFormat blobTransferTableFormat;

  public BlobSnapshotManager(
      StorageEngineRepository storageEngineRepository,
      StorageMetadataService storageMetadataService,
      int snapshotRetentionTimeInMin,
      BlobTransferUtils.BlobTransferTableFormat transferTableFormat,
      int snapshotCleanupIntervalInMins,
      LogContext logContext) {
    this.blobTransferTableFormat = transferTableFormat;
  }

  public BlobTransferPartitionMetadata getTransferMetadata(
      BlobTransferPayload payload,
      AtomicBoolean successCountedAsActiveCurrentUser) throws VeniceException {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void decreaseConcurrentUserCount(BlobTransferPayload blobTransferRequest) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public BlobTransferUtils.BlobTransferTableFormat getBlobTransferTableFormat() {
    return blobTransferTableFormat;
  }

  public void shutdown() {
  }
}
