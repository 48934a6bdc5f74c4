// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/stats/AggBlobTransferStats.java at commit 77ea837f; the constructor and the getter the builder uses.
package com.linkedin.davinci.stats;

public class AggBlobTransferStats {
  private final AggVersionedBlobTransferStats versioned;

  public AggBlobTransferStats(
      AggVersionedBlobTransferStats aggVersionedBlobTransferStats,
      AggHostLevelIngestionStats aggHostLevelIngestionStats) {
    this.versioned = aggVersionedBlobTransferStats;
  }

  public AggVersionedBlobTransferStats getAggVersionedBlobTransferStats() {
    return versioned;
  }
}
