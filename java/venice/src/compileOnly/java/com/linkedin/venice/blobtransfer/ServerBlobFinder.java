// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/blobtransfer/ServerBlobFinder.java at commit 77ea837f; the constructor the builder calls. It finds no peers: there is no cluster in a test.
package com.linkedin.venice.blobtransfer;

public class ServerBlobFinder implements BlobFinder {
  public ServerBlobFinder(java.util.concurrent.CompletableFuture<com.linkedin.venice.helix.HelixCustomizedViewOfflinePushRepository> customizedViewRepository) {
  }

  @Override
  public BlobPeersDiscoveryResponse discoverBlobPeers(String storeName, int version, int partitionId) {
    BlobPeersDiscoveryResponse response = new BlobPeersDiscoveryResponse();
    response.setError(true);
    response.setErrorMessage("no cluster behind this compile-only declaration");
    return response;
  }

  @Override
  public void close() {
  }
}
