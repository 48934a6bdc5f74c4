// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's generated Avro record com.linkedin.venice.kafka.protocol.state.IncrementalPushReplicaStatus at commit 77ea837f; its public fields.
package com.linkedin.venice.kafka.protocol.state;

public class IncrementalPushReplicaStatus implements org.apache.avro.specific.SpecificRecord {
  public int status;
  public long timestamp;

  public IncrementalPushReplicaStatus() {
  }
}
