// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/acl/DynamicAccessController.java at commit 77ea837f; only the method vbt calls (Venice's interface has more, inherited from AccessController).
package com.linkedin.venice.acl;

import java.security.cert.X509Certificate;

public interface DynamicAccessController {
  boolean hasAccess(X509Certificate clientCert, String resource, String method) throws AclException;
}
