package org.venicedb.blobtransfer.venice;

import com.linkedin.venice.acl.AclException;
import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.IdentityParser;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * Venice's origin rule (its {@code BlobTransferAclHandler} on a server with a per-store access
 * controller) from the node's own parts: the {@code IdentityParser} names a certificate's
 * application, and the {@code DynamicAccessController} is the store's read ACL for client-origin
 * peers. vbt applies the rest: same identity as ours = server origin, the accept flag
 * ({@code server.blob.transfer.accept.client.request.enabled}), the client reservation
 * ({@code server.blob.transfer.client.capacity.percent}) and Venice's refusal texts.
 */
final class ClientOrigin {
    private final DynamicAccessController storeAccessController;
    private final IdentityParser identityParser;

    ClientOrigin(DynamicAccessController storeAccessController, IdentityParser identityParser) {
        this.storeAccessController = Objects.requireNonNull(storeAccessController, "storeAccessController");
        this.identityParser = Objects.requireNonNull(identityParser, "identityParser");
    }

    String identity(X509Certificate certificate) {
        return identityParser.parseIdentityFromCert(certificate);
    }

    /** Venice asks with the request's method, which is GET for every request vbt serves. */
    boolean mayRead(X509Certificate certificate, String store) throws AclException {
        return storeAccessController.hasAccess(certificate, store, "GET");
    }
}
