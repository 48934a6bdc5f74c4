// Compile-only declaration for vbt's Venice module tests (never shipped, never on a Venice node).
// Written for vbt: same package, name and signatures as Venice's internal/venice-common/src/main/java/com/linkedin/venice/blobtransfer/BlobPeersDiscoveryResponse.java at commit 77ea837f; accessors only (no JSON annotations); plain fields.
package com.linkedin.venice.blobtransfer;

import java.util.Collections;
import java.util.List;
import java.util.Set;

public class BlobPeersDiscoveryResponse {
  private boolean error;
  private String errorMessage;
  private List<String> discoveryResult;
  private Set<String> serverHostNames = Collections.emptySet();
  private boolean sourceAware;

  public void setError(boolean error) {
    this.error = error;
  }

  public boolean isError() {
    return error;
  }

  public void setErrorMessage(String message) {
    this.errorMessage = message;
  }

  public String getErrorMessage() {
    return errorMessage;
  }

  public void setDiscoveryResult(List<String> hostNames) {
    this.discoveryResult = hostNames;
  }

  public List<String> getDiscoveryResult() {
    return discoveryResult;
  }

  public void setServerHostNames(Set<String> serverHostNames) {
    this.serverHostNames = serverHostNames == null ? Collections.<String>emptySet() : serverHostNames;
  }

  public Set<String> getServerHostNames() {
    return serverHostNames;
  }

  public void setSourceAware(boolean sourceAware) {
    this.sourceAware = sourceAware;
  }

  public boolean isSourceAware() {
    return sourceAware;
  }
}
