// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/offsets/OffsetRecord.java at commit 77ea837f; the bytes constructor and two methods.
package com.linkedin.venice.offsets;

import com.linkedin.venice.kafka.protocol.state.IncrementalPushReplicaStatus;
import com.linkedin.venice.kafka.protocol.state.PartitionState;
import com.linkedin.venice.pubsub.PubSubContext;
import com.linkedin.venice.serialization.avro.InternalAvroSpecificSerializer;
import java.util.Map;

public class OffsetRecord {
  private final PartitionState partitionState;
  private final InternalAvroSpecificSerializer<PartitionState> serializer;

  public OffsetRecord(
      byte[] bytes,
      InternalAvroSpecificSerializer<PartitionState> serializer,
      PubSubContext pubSubContext) {
    this.serializer = serializer;
    this.partitionState = serializer.deserialize("PartitionState", bytes);
  }

  public Map<String, IncrementalPushReplicaStatus> getTrackingIncrementalPushStatus() {
    return partitionState.trackingIncrementalPushStatus;
  }

  public byte[] toBytes() {
    return serializer.serialize("PartitionState", partitionState);
  }
}
