// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's clients/da-vinci-client/src/main/java/com/linkedin/davinci/config/VeniceServerConfig.java at commit 77ea837f; the type only.
package com.linkedin.davinci.config;

public class VeniceServerConfig {
  private VeniceServerConfig() {
  }
}
