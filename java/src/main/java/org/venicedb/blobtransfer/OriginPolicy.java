package org.venicedb.blobtransfer;

import java.security.cert.X509Certificate;

/**
 * Venice's origin rule for the requests this node serves (a Venice server with a per-store access
 * controller, Venice PR #2869): after the same-issuer ACL, a peer whose application identity
 * equals this node's is of server origin; any other peer is of client origin (DaVinci, CDC) and is
 * served only when {@code server.blob.transfer.accept.client.request.enabled=true} and
 * {@link #mayRead} allows the requested store, within its own reservation
 * ({@code server.blob.transfer.client.capacity.percent} of
 * {@code blob.transfer.max.concurrent.snapshot.user}). Refusals are Venice's: 403 with an empty
 * body, or 429 {@code Client-origin blob transfer rejected (client reservation full) for <replica>}.
 *
 * <p>Only TLS requests with {@code blob.transfer.acl.enabled=true} are classified. Both methods are
 * called on one of vbt's threads, for each such request, and may block. A method that throws
 * refuses the request (the rule fails closed). Set with {@link BlobTransferNode.Builder#originPolicy}.
 */
public interface OriginPolicy {
    /**
     * The application identity in {@code certificate} (Venice's {@code IdentityParser}), or null
     * when it cannot be resolved (the peer is then of client origin). Called for the peer's
     * certificate and for this node's own.
     */
    String identity(X509Certificate certificate) throws Exception;

    /**
     * Whether a client-origin peer may read {@code store} (Venice's
     * {@code DynamicAccessController.hasAccess(certificate, store, "GET")}).
     */
    boolean mayRead(X509Certificate certificate, String store) throws Exception;
}
