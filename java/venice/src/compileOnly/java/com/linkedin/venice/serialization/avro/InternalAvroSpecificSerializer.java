// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/serialization/avro/InternalAvroSpecificSerializer.java at commit 77ea837f; the two methods vbt uses.
// Behaviour (vbt's own, for tests): Venice's framing (magic byte, protocol version 1..current), then
// NOT Avro but UTF-8 text lines standing in for the record: "incpush <version> <status>" fills
// PartitionState.trackingIncrementalPushStatus, "topicSwitch <topic>" fills StoreVersionState.topicSwitch;
// other text is ignored. serialize() writes the same form, so round trips are exact.
package com.linkedin.venice.serialization.avro;

import com.linkedin.venice.exceptions.VeniceException;
import com.linkedin.venice.kafka.protocol.TopicSwitch;
import com.linkedin.venice.kafka.protocol.state.IncrementalPushReplicaStatus;
import com.linkedin.venice.kafka.protocol.state.PartitionState;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

public class InternalAvroSpecificSerializer<SPECIFIC_RECORD extends SpecificRecord> {
  private final AvroProtocolDefinition protocol;

  InternalAvroSpecificSerializer(AvroProtocolDefinition protocol) {
    this.protocol = protocol;
  }

  @SuppressWarnings("unchecked")
  public SPECIFIC_RECORD deserialize(String topic, byte[] bytes) {
    if (bytes == null || bytes.length < 2) {
      throw new VeniceException("too few bytes for " + protocol + ": " + (bytes == null ? "null" : bytes.length));
    }
    if (bytes[0] != protocol.magicByte()) {
      throw new VeniceException(protocol + ": magic byte " + bytes[0] + ", expected " + protocol.magicByte());
    }
    if (bytes[1] < 1 || bytes[1] > protocol.getCurrentProtocolVersion()) {
      throw new VeniceException(protocol + ": unknown protocol version " + bytes[1]);
    }
    String text = new String(bytes, 2, bytes.length - 2, StandardCharsets.UTF_8);
    if (protocol == AvroProtocolDefinition.PARTITION_STATE) {
      PartitionState state = new PartitionState();
      state.trackingIncrementalPushStatus = new LinkedHashMap<>();
      for (String line: text.split("\n")) {
        String[] f = line.trim().split(" ");
        if (f.length == 3 && f[0].equals("incpush")) {
          IncrementalPushReplicaStatus s = new IncrementalPushReplicaStatus();
          s.status = Integer.parseInt(f[2]);
          state.trackingIncrementalPushStatus.put(f[1], s);
        }
      }
      return (SPECIFIC_RECORD) state;
    }
    StoreVersionState state = new StoreVersionState();
    for (String line: text.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f.length == 2 && f[0].equals("topicSwitch")) {
        state.topicSwitch = new TopicSwitch();
        state.topicSwitch.sourceTopicName = f[1];
      }
    }
    return (SPECIFIC_RECORD) state;
  }

  public byte[] serialize(String topic, SPECIFIC_RECORD object) {
    StringBuilder text = new StringBuilder();
    if (object instanceof PartitionState) {
      Map<String, IncrementalPushReplicaStatus> m = ((PartitionState) object).trackingIncrementalPushStatus;
      if (m != null) {
        for (Map.Entry<String, IncrementalPushReplicaStatus> e: m.entrySet()) {
          text.append("incpush ").append(e.getKey()).append(' ').append(e.getValue().status).append('\n');
        }
      }
    } else if (object instanceof StoreVersionState) {
      TopicSwitch ts = ((StoreVersionState) object).topicSwitch;
      if (ts != null) {
        text.append("topicSwitch ").append(ts.sourceTopicName).append('\n');
      }
    }
    byte[] body = text.toString().getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[body.length + 2];
    out[0] = protocol.magicByte();
    out[1] = (byte) protocol.getCurrentProtocolVersion();
    System.arraycopy(body, 0, out, 2, body.length);
    return out;
  }
}
