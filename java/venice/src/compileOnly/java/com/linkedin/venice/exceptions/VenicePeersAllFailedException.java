// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/exceptions/VenicePeersAllFailedException.java at commit 77ea837f; its two constructors.
package com.linkedin.venice.exceptions;

public class VenicePeersAllFailedException extends VeniceException {
  public VenicePeersAllFailedException(String message) {
    super(message);
  }

  public VenicePeersAllFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
