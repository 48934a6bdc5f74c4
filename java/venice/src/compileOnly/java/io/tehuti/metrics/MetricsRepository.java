// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's (Tehuti) io/tehuti/metrics/MetricsRepository at commit 77ea837f; the type only.
package io.tehuti.metrics;

public class MetricsRepository {
  public MetricsRepository() {
  }
}
