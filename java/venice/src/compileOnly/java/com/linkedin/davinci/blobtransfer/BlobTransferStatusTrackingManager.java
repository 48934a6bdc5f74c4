// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferStatusTrackingManager.java at commit 77ea837f; the constructor and the public methods, which throw here:
// vbt's manager overrides every one of them.
package com.linkedin.davinci.blobtransfer;

import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferStatus;
import com.linkedin.davinci.blobtransfer.client.NettyFileTransferClient;

public class BlobTransferStatusTrackingManager {
  public BlobTransferStatusTrackingManager(NettyFileTransferClient nettyClient) {
  }

  public void initialTransfer(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void startedTransfer(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public BlobTransferStatus getTransferStatus(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void clearTransferStatusEnum(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public boolean isBlobTransferInProgress(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public boolean isBlobTransferCancelRequested(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public boolean isBlobTransferCancelRequestSentBefore(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void markTransferCancelled(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void markTransferCompleted(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public boolean isTransferInFinalState(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }

  public void cancelTransfer(String replicaId) {
    throw new UnsupportedOperationException("compile-only declaration: a test overrides this");
  }
}
