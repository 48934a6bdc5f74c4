// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/stats/dimensions/VeniceBlobTransferFallbackReason.java at commit 77ea837f; the constants only.
package com.linkedin.venice.stats.dimensions;

public enum VeniceBlobTransferFallbackReason {
  NO_CANDIDATES, ALL_HOSTS_FAILED
}
