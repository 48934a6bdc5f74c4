// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/offsets/OffsetManager.java at commit 77ea837f; the whole interface.
package com.linkedin.venice.offsets;

import com.linkedin.venice.exceptions.VeniceException;
import com.linkedin.venice.pubsub.PubSubContext;

public interface OffsetManager {
  void put(String topicName, int partitionId, OffsetRecord record) throws VeniceException;

  void clearOffset(String topicName, int partitionId);

  OffsetRecord getLastOffset(String topicName, int partitionId, PubSubContext pubSubContext) throws VeniceException;
}
