// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/security/SSLFactory.java at commit 77ea837f; the whole interface.
package com.linkedin.venice.security;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

public interface SSLFactory {
  SSLConfig getSSLConfig();

  SSLContext getSSLContext();

  SSLParameters getSSLParameters();

  boolean isSslEnabled();
}
