// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferManager.java at commit 77ea837f; the whole interface.
package com.linkedin.davinci.blobtransfer;

import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.davinci.stats.AggVersionedBlobTransferStats;
import com.linkedin.venice.exceptions.VenicePeersAllFailedException;
import com.linkedin.venice.exceptions.VenicePeersNotFoundException;
import java.io.InputStream;
import java.util.concurrent.CompletionStage;

public interface BlobTransferManager<T> extends AutoCloseable {
  void start() throws Exception;

  CompletionStage<? extends InputStream> get(
      String storeName,
      int version,
      int partition,
      BlobTransferTableFormat requestTableFormat) throws VenicePeersNotFoundException, VenicePeersAllFailedException;

  CompletionStage<T> put(String storeName, int version, int partition);

  void close() throws Exception;

  AggVersionedBlobTransferStats getAggVersionedBlobTransferStats();

  BlobTransferStatusTrackingManager getTransferStatusTrackingManager();
}
