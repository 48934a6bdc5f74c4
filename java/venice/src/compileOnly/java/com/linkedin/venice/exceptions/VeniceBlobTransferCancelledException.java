// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/exceptions/VeniceBlobTransferCancelledException.java at commit 77ea837f; its two constructors.
package com.linkedin.venice.exceptions;

public class VeniceBlobTransferCancelledException extends VeniceException {
  public VeniceBlobTransferCancelledException(String message) {
    super(message);
  }

  public VeniceBlobTransferCancelledException(String message, Throwable cause) {
    super(message, cause);
  }
}
