// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's generated Avro record com.linkedin.venice.kafka.protocol.TopicSwitch at commit 77ea837f; one of its public fields.
package com.linkedin.venice.kafka.protocol;

public class TopicSwitch implements org.apache.avro.specific.SpecificRecord {
  public CharSequence sourceTopicName;

  public TopicSwitch() {
  }
}
