// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/acl/AclException.java at commit 77ea837f; the constructors vbt's tests use.
package com.linkedin.venice.acl;

public class AclException extends Exception {
  public AclException(String message) {
    super(message);
  }
}
