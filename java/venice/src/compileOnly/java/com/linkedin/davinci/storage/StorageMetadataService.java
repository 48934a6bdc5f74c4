// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/storage/StorageMetadataService.java at commit 77ea837f; the abstract methods.
package com.linkedin.davinci.storage;

import com.linkedin.venice.exceptions.VeniceException;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import com.linkedin.venice.offsets.OffsetManager;
import java.util.function.Function;

public interface StorageMetadataService extends OffsetManager {
  StoreVersionState computeStoreVersionState(
      String topicName,
      Function<StoreVersionState, StoreVersionState> mapFunction) throws VeniceException;

  void clearStoreVersionState(String topicName);

  StoreVersionState getStoreVersionState(String topicName) throws VeniceException;
}
