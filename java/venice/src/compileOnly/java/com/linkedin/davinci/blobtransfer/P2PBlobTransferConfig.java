// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/P2PBlobTransferConfig.java at commit 77ea837f; constructor and getters.
package com.linkedin.davinci.blobtransfer;

public class P2PBlobTransferConfig {
  private final int p2pTransferServerPort;
  private final int p2pTransferClientPort;
  private final String baseDir;
  private final int maxConcurrentSnapshotUser;
  private final long maxChunkSizeBytes;
  private final int snapshotRetentionTimeInMin;
  private final int blobTransferMaxTimeoutInMin;
  private final int blobReceiveMaxTimeoutInMin;
  private final int blobReceiveReaderIdleTimeInSeconds;
  private final BlobTransferUtils.BlobTransferTableFormat transferSnapshotTableFormat;
  private final int peersConnectivityFreshnessInSeconds;
  private final long blobTransferClientReadLimitBytesPerSec;
  private final long blobTransferServiceWriteLimitBytesPerSec;
  private final int snapshotCleanupIntervalInMins;
  private final int maxConcurrentBlobReceiveReplicas;
  private final int p2pTransferClientNettyWorkerThreadCount;
  private final int clientCapacityPercent;
  private final boolean serverAcceptClientBlobRequestEnabled;

  public P2PBlobTransferConfig(
      int p2pTransferServerPort,
      int p2pTransferClientPort,
      String baseDir,
      int maxConcurrentSnapshotUser,
      long maxChunkSizeBytes,
      int snapshotRetentionTimeInMin,
      int blobTransferMaxTimeoutInMin,
      int blobReceiveMaxTimeoutInMin,
      int blobReceiveReaderIdleTimeInSeconds,
      BlobTransferUtils.BlobTransferTableFormat transferSnapshotTableFormat,
      int peersConnectivityFreshnessInSeconds,
      long blobTransferClientReadLimitBytesPerSec,
      long blobTransferServiceWriteLimitBytesPerSec,
      int snapshotCleanupIntervalInMins,
      int maxConcurrentBlobReceiveReplicas,
      int p2pTransferClientNettyWorkerThreadCount,
      int clientCapacityPercent,
      boolean serverAcceptClientBlobRequestEnabled) {
    this.p2pTransferServerPort = p2pTransferServerPort;
    this.p2pTransferClientPort = p2pTransferClientPort;
    this.baseDir = baseDir;
    this.maxConcurrentSnapshotUser = maxConcurrentSnapshotUser;
    this.maxChunkSizeBytes = maxChunkSizeBytes;
    this.snapshotRetentionTimeInMin = snapshotRetentionTimeInMin;
    this.blobTransferMaxTimeoutInMin = blobTransferMaxTimeoutInMin;
    this.blobReceiveMaxTimeoutInMin = blobReceiveMaxTimeoutInMin;
    this.blobReceiveReaderIdleTimeInSeconds = blobReceiveReaderIdleTimeInSeconds;
    this.transferSnapshotTableFormat = transferSnapshotTableFormat;
    this.peersConnectivityFreshnessInSeconds = peersConnectivityFreshnessInSeconds;
    this.blobTransferClientReadLimitBytesPerSec = blobTransferClientReadLimitBytesPerSec;
    this.blobTransferServiceWriteLimitBytesPerSec = blobTransferServiceWriteLimitBytesPerSec;
    this.snapshotCleanupIntervalInMins = snapshotCleanupIntervalInMins;
    this.maxConcurrentBlobReceiveReplicas = maxConcurrentBlobReceiveReplicas;
    this.p2pTransferClientNettyWorkerThreadCount = p2pTransferClientNettyWorkerThreadCount;
    this.clientCapacityPercent = clientCapacityPercent;
    this.serverAcceptClientBlobRequestEnabled = serverAcceptClientBlobRequestEnabled;
  }

  public int getP2pTransferServerPort() {
    return p2pTransferServerPort;
  }

  public int getP2pTransferClientPort() {
    return p2pTransferClientPort;
  }

  public String getBaseDir() {
    return baseDir;
  }

  public int getMaxConcurrentSnapshotUser() {
    return maxConcurrentSnapshotUser;
  }

  public long getMaxChunkSizeBytes() {
    return maxChunkSizeBytes;
  }

  public int getSnapshotRetentionTimeInMin() {
    return snapshotRetentionTimeInMin;
  }

  public int getBlobTransferMaxTimeoutInMin() {
    return blobTransferMaxTimeoutInMin;
  }

  public int getBlobReceiveTimeoutInMin() {
    return blobReceiveMaxTimeoutInMin;
  }

  public int getBlobReceiveReaderIdleTimeInSeconds() {
    return blobReceiveReaderIdleTimeInSeconds;
  }

  public BlobTransferUtils.BlobTransferTableFormat getTransferSnapshotTableFormat() {
    return transferSnapshotTableFormat;
  }

  public int getPeersConnectivityFreshnessInSeconds() {
    return peersConnectivityFreshnessInSeconds;
  }

  public long getBlobTransferClientReadLimitBytesPerSec() {
    return blobTransferClientReadLimitBytesPerSec;
  }

  public long getBlobTransferServiceWriteLimitBytesPerSec() {
    return blobTransferServiceWriteLimitBytesPerSec;
  }

  public int getSnapshotCleanupIntervalInMins() {
    return snapshotCleanupIntervalInMins;
  }

  public int getMaxConcurrentBlobReceiveReplicas() {
    return maxConcurrentBlobReceiveReplicas;
  }

  public int getP2pTransferClientNettyWorkerThreadCount() {
    return p2pTransferClientNettyWorkerThreadCount;
  }

  public int getClientCapacityPercent() {
    return clientCapacityPercent;
  }

  public boolean isServerAcceptClientBlobRequestEnabled() {
    return serverAcceptClientBlobRequestEnabled;
  }
}
