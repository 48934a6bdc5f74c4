// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/venice-thin-client/src/main/java/com/linkedin/venice/client/store/ClientConfig.java at commit 77ea837f; one constructor.
package com.linkedin.venice.client.store;

public class ClientConfig<T extends org.apache.avro.specific.SpecificRecord> {
  public ClientConfig(String storeName) {
  }
}
