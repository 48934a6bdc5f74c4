// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/blobtransfer/BlobFinder.java at commit 77ea837f; the whole interface.
package com.linkedin.venice.blobtransfer;

public interface BlobFinder extends AutoCloseable {
  BlobPeersDiscoveryResponse discoverBlobPeers(String storeName, int version, int partitionId);

  default boolean shouldPreservePeerOrder() {
    return false;
  }
}
