// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/exceptions/VenicePeersNotFoundException.java at commit 77ea837f; its two constructors.
package com.linkedin.venice.exceptions;

public class VenicePeersNotFoundException extends VeniceException {
  public VenicePeersNotFoundException(String message) {
    super(message);
  }

  public VenicePeersNotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
