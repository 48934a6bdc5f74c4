// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/authorization/IdentityParser.java at commit 77ea837f.
package com.linkedin.venice.authorization;

import java.security.cert.X509Certificate;

public interface IdentityParser {
  String parseIdentityFromCert(X509Certificate certificate);
}
