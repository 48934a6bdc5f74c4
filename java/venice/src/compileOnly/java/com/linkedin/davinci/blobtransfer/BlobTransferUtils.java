// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferUtils.java at commit 77ea837f; the two nested enums vbt uses.
package com.linkedin.davinci.blobtransfer;

public class BlobTransferUtils {
  public enum BlobTransferTableFormat {
    PLAIN_TABLE, BLOCK_BASED_TABLE
  }

  public enum BlobTransferStatus {
    TRANSFER_NOT_STARTED, TRANSFER_STARTED, TRANSFER_CANCEL_REQUESTED, TRANSFER_CANCELLED, TRANSFER_COMPLETED
  }
}
