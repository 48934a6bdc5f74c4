// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/exceptions/VeniceException.java at commit 77ea837f; only the constructors vbt uses.
package com.linkedin.venice.exceptions;

public class VeniceException extends RuntimeException {
  public VeniceException() {
    super();
  }

  public VeniceException(String s) {
    super(s);
  }

  public VeniceException(Throwable t) {
    super(t);
  }

  public VeniceException(String s, Throwable t) {
    super(s, t);
  }
}
