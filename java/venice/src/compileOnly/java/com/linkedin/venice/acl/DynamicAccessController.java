// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/acl/DynamicAccessController.java at commit 77ea837f; the type only.
package com.linkedin.venice.acl;

public interface DynamicAccessController {
}
