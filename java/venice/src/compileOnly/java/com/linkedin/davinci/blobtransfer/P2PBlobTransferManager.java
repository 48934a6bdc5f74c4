// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/P2PBlobTransferManager.java at commit 77ea837f; the whole interface.
package com.linkedin.davinci.blobtransfer;

import com.linkedin.venice.exceptions.VeniceException;
import java.util.concurrent.CompletionStage;

public interface P2PBlobTransferManager<T> extends BlobTransferManager<T> {
  default CompletionStage<T> put(String storeName, int version, int partition) {
    throw new VeniceException("PUT is not supported for P2P blob transfer");
  }
}
