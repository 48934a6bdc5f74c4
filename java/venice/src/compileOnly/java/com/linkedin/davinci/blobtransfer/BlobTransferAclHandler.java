// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/BlobTransferAclHandler.java at commit 77ea837f; its constructor (no Netty handler here).
package com.linkedin.davinci.blobtransfer;

import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.IdentityParser;
import java.util.Optional;

public class BlobTransferAclHandler {
  public BlobTransferAclHandler(
      Optional<DynamicAccessController> storeAccessController,
      IdentityParser identityParser,
      boolean serverAcceptClientBlobRequestEnabled) {
  }
}
