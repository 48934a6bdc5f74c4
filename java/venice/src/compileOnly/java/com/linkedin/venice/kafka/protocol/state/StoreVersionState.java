// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's generated Avro record com.linkedin.venice.kafka.protocol.state.StoreVersionState (StoreVersionState.avsc v7) at commit 77ea837f; two of its public fields. The Avro payload is not modelled: see InternalAvroSpecificSerializer here.
package com.linkedin.venice.kafka.protocol.state;

import com.linkedin.venice.kafka.protocol.TopicSwitch;

public class StoreVersionState implements org.apache.avro.specific.SpecificRecord {
  public TopicSwitch topicSwitch;
  public java.nio.ByteBuffer compressionDictionary;

  public StoreVersionState() {
  }
}
