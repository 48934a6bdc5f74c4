// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/blobtransfer/VeniceAdaptiveBlobTransferTrafficThrottler.java at commit 77ea837f; the constructor, the signal registration, and the two
// private lists of signals under Venice's field names (vbt's manager reads them).
package com.linkedin.davinci.blobtransfer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

public class VeniceAdaptiveBlobTransferTrafficThrottler {
  private final List<BooleanSupplier> limiterSuppliers = new ArrayList<>();
  private final List<BooleanSupplier> boosterSuppliers = new ArrayList<>();

  public VeniceAdaptiveBlobTransferTrafficThrottler(
      int singleIdleThreshold,
      long baseRate,
      int rateUpdatePercentage,
      boolean isWriteThrottler) {
  }

  public void registerLimiterSignal(BooleanSupplier supplier) {
    limiterSuppliers.add(supplier);
  }

  public void registerBoosterSignal(BooleanSupplier supplier) {
    boosterSuppliers.add(supplier);
  }
}
