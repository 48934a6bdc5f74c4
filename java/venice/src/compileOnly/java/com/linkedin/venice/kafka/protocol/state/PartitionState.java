// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's generated Avro record com.linkedin.venice.kafka.protocol.state.PartitionState (PartitionState.avsc v24) at commit 77ea837f; one public field. The Avro payload is not modelled: see InternalAvroSpecificSerializer here.
package com.linkedin.venice.kafka.protocol.state;

import java.util.Map;

public class PartitionState implements org.apache.avro.specific.SpecificRecord {
  public Map<String, IncrementalPushReplicaStatus> trackingIncrementalPushStatus;

  public PartitionState() {
  }
}
