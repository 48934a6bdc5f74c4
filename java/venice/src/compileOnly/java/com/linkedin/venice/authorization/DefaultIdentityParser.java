// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/authorization/DefaultIdentityParser.java at commit 77ea837f; the subject DN, as Venice's.
package com.linkedin.venice.authorization;

import java.security.cert.X509Certificate;

public class DefaultIdentityParser implements IdentityParser {
  @Override
  public String parseIdentityFromCert(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().getName();
  }
}
