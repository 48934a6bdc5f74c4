// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/serialization/avro/AvroProtocolDefinition.java at commit 77ea837f; the two protocols blob transfer carries, with Venice's magic bytes and current versions.
package com.linkedin.venice.serialization.avro;

import org.apache.avro.specific.SpecificRecord;

public enum AvroProtocolDefinition {
  PARTITION_STATE(24, 24), STORE_VERSION_STATE(25, 7);

  private final byte magicByte;
  private final int currentProtocolVersion;

  AvroProtocolDefinition(int magicByte, int currentProtocolVersion) {
    this.magicByte = (byte) magicByte;
    this.currentProtocolVersion = currentProtocolVersion;
  }

  public <T extends SpecificRecord> InternalAvroSpecificSerializer<T> getSerializer() {
    return new InternalAvroSpecificSerializer<>(this);
  }

  public int getCurrentProtocolVersion() {
    return currentProtocolVersion;
  }

  byte magicByte() {
    return magicByte;
  }
}
