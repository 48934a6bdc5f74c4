// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-client-common/src/main/java/com/linkedin/venice/pushmonitor/ExecutionStatus.java at commit 77ea837f; the statuses up to 12 with Venice's numbers, and valueOf(int).
package com.linkedin.venice.pushmonitor;

import com.linkedin.venice.exceptions.VeniceException;

public enum ExecutionStatus {
  NOT_CREATED(0), NEW(1), STARTED(2), PROGRESS(3), END_OF_PUSH_RECEIVED(4), START_OF_BUFFER_REPLAY_RECEIVED(5),
  TOPIC_SWITCH_RECEIVED(6), START_OF_INCREMENTAL_PUSH_RECEIVED(7), END_OF_INCREMENTAL_PUSH_RECEIVED(8), DROPPED(9),
  COMPLETED(10), WARNING(11), ERROR(12);

  private final int value;

  ExecutionStatus(int value) {
    this.value = value;
  }

  public int getValue() {
    return value;
  }

  public static ExecutionStatus valueOf(int value) {
    for (ExecutionStatus s: values()) {
      if (s.value == value) {
        return s;
      }
    }
    throw new VeniceException("Invalid ExecutionStatus value: " + value);
  }
}
