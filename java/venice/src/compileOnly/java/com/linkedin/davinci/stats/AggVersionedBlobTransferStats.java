// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/stats/AggVersionedBlobTransferStats.java at commit 77ea837f; the constructor and the recorders; they record nothing here (tests override them).
package com.linkedin.davinci.stats;

import com.linkedin.davinci.config.VeniceServerConfig;
import com.linkedin.venice.meta.ReadOnlyStoreRepository;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferFallbackReason;
import com.linkedin.venice.stats.dimensions.VeniceBlobTransferSource;
import com.linkedin.venice.stats.dimensions.VeniceResponseStatusCategory;
import io.tehuti.metrics.MetricsRepository;

public class AggVersionedBlobTransferStats {
  public AggVersionedBlobTransferStats(
      MetricsRepository metricsRepository,
      ReadOnlyStoreRepository metadataRepository,
      VeniceServerConfig serverConfig) {
  }

  public void recordBlobTransferResponsesCount(String storeName, int version) {
  }

  public void recordBlobTransferResponsesBasedOnBoostrapStatus(
      String storeName,
      int version,
      boolean isBlobTransferSuccess) {
  }

  public void recordBlobTransferRequest(
      String storeName,
      int version,
      VeniceBlobTransferSource source,
      VeniceResponseStatusCategory status) {
  }

  public void recordBlobTransferVersionTopicFallback(
      String storeName,
      int version,
      VeniceBlobTransferFallbackReason reason) {
  }

  public void recordBlobTransferFileReceiveThroughput(String storeName, int version, double throughput) {
  }

  public void recordBlobTransferTimeInSec(String storeName, int version, double timeInSec) {
  }

  public void recordBlobTransferBytesReceived(String storeName, int version, long value) {
  }

  public void recordBlobTransferBytesSent(String storeName, int version, long value) {
  }
}
