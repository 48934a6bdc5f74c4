// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's (Apache Avro) org/apache/avro/specific/SpecificRecord at commit 77ea837f; the type only, for the generic bounds of Venice's declarations.
package org.apache.avro.specific;

public interface SpecificRecord {
}
