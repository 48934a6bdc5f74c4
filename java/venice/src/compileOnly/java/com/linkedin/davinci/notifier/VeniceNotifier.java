// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/notifier/VeniceNotifier.java at commit 77ea837f; the incremental-push callbacks and close().
package com.linkedin.davinci.notifier;

import com.linkedin.venice.pubsub.api.PubSubPosition;
import java.io.Closeable;

public interface VeniceNotifier extends Closeable {
  default void startOfIncrementalPushReceived(String kafkaTopic, int partitionId, PubSubPosition position) {
    startOfIncrementalPushReceived(kafkaTopic, partitionId, position, "");
  }

  default void startOfIncrementalPushReceived(
      String kafkaTopic,
      int partitionId,
      PubSubPosition position,
      String message) {
  }

  default void endOfIncrementalPushReceived(String kafkaTopic, int partitionId, PubSubPosition position) {
    endOfIncrementalPushReceived(kafkaTopic, partitionId, position, "");
  }

  default void endOfIncrementalPushReceived(
      String kafkaTopic,
      int partitionId,
      PubSubPosition position,
      String message) {
  }

  @Override
  default void close() {
  }
}
