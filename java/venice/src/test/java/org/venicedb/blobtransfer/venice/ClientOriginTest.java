package org.venicedb.blobtransfer.venice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.venice.acl.AclException;
import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.DefaultIdentityParser;
import com.linkedin.venice.authorization.IdentityParser;
import com.linkedin.venice.exceptions.VenicePeersAllFailedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Venice server's origin rule (Venice PR #2869) through the manager: with a store access
 * controller and an identity parser, a same-issuer peer of another application (a CDC client)
 * is refused unless {@code server.blob.transfer.accept.client.request.enabled} is on and the
 * store's read ACL allows it; a peer of the server's own application is always served. Real
 * mutual TLS from JKS stores one CA signed, with a common name per application.
 */
class ClientOriginTest {
    @TempDir
    Path work;

    /** The application is the certificate's common name (a deployment's identity parser reads something like it). */
    static final IdentityParser BY_COMMON_NAME = cert -> {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    };

    /** A store ACL that allows the listed stores and records what it was asked. */
    static final class StoreAcl implements DynamicAccessController {
        final List<String> readable;
        final List<String> asked = new CopyOnWriteArrayList<>();

        StoreAcl(String... readable) {
            this.readable = List.of(readable);
        }

        @Override
        public boolean hasAccess(X509Certificate clientCert, String resource, String method) throws AclException {
            asked.add(resource + " " + method);
            return readable.contains(resource);
        }
    }

    @Test
    void clientOriginPeersNeedTheAcceptFlagAndTheStoreAcl() throws Exception {
        Path ca = Files.createDirectories(work.resolve("ca"));
        JksTlsTest.authority(ca, "CN=vbt-origin-ca");
        Properties server = JksTlsTest.tls(JksTlsTest.node(ca, work.resolve("server"), "CN=venice-server"));
        Properties cdc = JksTlsTest.tls(JksTlsTest.node(ca, work.resolve("cdc"), "CN=cdc-client"));
        int port = TestNode.freePort();

        StoreAcl acl = new StoreAcl(TestNode.STORE);
        Properties refusing = new Properties();
        refusing.putAll(server);
        TestNode sender = node("127.0.0.2", port, new Fakes.Finder(), refusing, acl);
        TestNode peerServer = new TestNode(work, "127.0.0.3", port, new Fakes.Finder("127.0.0.2"), server,
                BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
        TestNode client = new TestNode(work, "127.0.0.4", port, new Fakes.Finder("127.0.0.2"), cdc,
                BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
        try {
            sender.gen(work, 1, 0, 1);
            // Same application: served, and the store ACL is never asked.
            assertNull(VbtBlobTransferManagerTest.await(
                    peerServer.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
            peerServer.verify(1, 0);
            assertEquals(List.of(), acl.asked);
            // Another application, with client requests off (Venice's default): 403, the peer fails.
            assert403(client.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE));
            assertEquals(List.of(), acl.asked, "refused before the store ACL");
        } finally {
            client.close();
            peerServer.close();
            sender.close();
        }

        // A sender that accepts client requests: the store ACL decides.
        Properties accepting = new Properties();
        accepting.putAll(server);
        accepting.setProperty("server.blob.transfer.accept.client.request.enabled", "true");
        StoreAcl denying = new StoreAcl("someOtherStore");
        for (StoreAcl storeAcl : List.of(denying, acl)) {
            Path round = Files.createDirectories(work.resolve("round-" + storeAcl.readable.get(0)));
            sender = node(round, "127.0.0.2", port, new Fakes.Finder(), accepting, storeAcl);
            client = new TestNode(round, "127.0.0.4", port, new Fakes.Finder("127.0.0.2"), cdc,
                    BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
            try {
                sender.gen(round, 1, 0, 1);
                if (storeAcl == denying) {
                    assert403(client.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE));
                    assertEquals(0, sender.snapshots.requests.get(), "refused before any snapshot work");
                } else {
                    assertNull(VbtBlobTransferManagerTest.await(
                            client.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
                    client.verify(1, 0);
                }
                assertEquals(TestNode.STORE + " GET", storeAcl.asked.get(0));
            } finally {
                client.close();
                sender.close();
            }
        }
    }

    /** Fails as Venice's manager does, and the cause (vbt's, naming each peer) is the sender's 403. */
    private static void assert403(java.util.concurrent.CompletionStage<?> stage) throws Exception {
        Throwable c = VbtBlobTransferManagerTest.assertCause(VenicePeersAllFailedException.class, stage,
                "failed to connect to any peer");
        String cause = String.valueOf(c.getCause());
        org.junit.jupiter.api.Assertions.assertTrue(cause.contains("403 Forbidden"), cause);
    }

    @Test
    void aControllerNeedsAnIdentityParserThatIsNotVenicesDefault() throws Exception {
        Path ca = Files.createDirectories(work.resolve("ca"));
        JksTlsTest.authority(ca, "CN=vbt-origin-ca");
        Properties server = JksTlsTest.tls(JksTlsTest.node(ca, work.resolve("server"), "CN=venice-server"));
        int port = TestNode.freePort();
        StoreAcl acl = new StoreAcl(TestNode.STORE);
        // Venice refuses both at start-up (BlobTransferUtils.createAclHandler); so does the manager.
        for (IdentityParser parser : new IdentityParser[] {new DefaultIdentityParser(), null}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> new TestNode(work.resolve("refused"), "127.0.0.2", port, new Fakes.Finder(), server,
                            BlobTransferTableFormat.BLOCK_BASED_TABLE, null, true, Optional.of(acl), parser));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(parser == null ? "identity parser is required"
                    : "non-default identity.parser.class"), e.getMessage());
        }
        // The accept flag without a controller: refused as Venice refuses it.
        Properties accepting = new Properties();
        accepting.putAll(server);
        accepting.setProperty("server.blob.transfer.accept.client.request.enabled", "true");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new TestNode(work.resolve("no-controller"), "127.0.0.2", port, new Fakes.Finder(), accepting,
                        BlobTransferTableFormat.BLOCK_BASED_TABLE, null));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("needs the host's origin policy"), e.getMessage());
    }

    private TestNode node(String host, int port, Fakes.Finder finder, Properties tls, StoreAcl acl) throws Exception {
        return node(work, host, port, finder, tls, acl);
    }

    private static TestNode node(Path work, String host, int port, Fakes.Finder finder, Properties tls, StoreAcl acl)
            throws Exception {
        return new TestNode(work.resolve(host), host, port, finder, tls, BlobTransferTableFormat.BLOCK_BASED_TABLE, null,
                true, Optional.of(acl), BY_COMMON_NAME);
    }
}
