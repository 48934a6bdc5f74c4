// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/utils/LogContext.java at commit 77ea837f; the constant EMPTY only.
package com.linkedin.venice.utils;

public class LogContext {
  public static final LogContext EMPTY = new LogContext();

  private LogContext() {
  }
}
