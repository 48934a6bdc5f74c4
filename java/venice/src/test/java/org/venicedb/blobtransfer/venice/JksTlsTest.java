package org.venicedb.blobtransfer.venice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.venice.exceptions.VenicePeersAllFailedException;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS from Venice's own {@code ssl.*} keys with JKS stores (Venice's test stores are JKS;
 * vbt's Rust side reads PKCS12 only): the manager reads them with Java's KeyStore and hands the
 * key and certificates to vbt. The stores are made with the JDK's keytool: a CA, and a node key
 * signed by it.
 */
class JksTlsTest {
    @TempDir
    Path work;

    @Test
    void managersBootstrapOverMutualTlsFromJksStores() throws Exception {
        Path ours = stores(work.resolve("ca"), "CN=vbt-test-ca");
        Path foreign = stores(work.resolve("other-ca"), "CN=another-ca");
        int port = TestNode.freePort();
        TestNode sender = new TestNode(work, "127.0.0.2", port, new Fakes.Finder(), tls(ours),
                BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
        TestNode receiver = new TestNode(work, "127.0.0.3", port, new Fakes.Finder("127.0.0.2"), tls(ours),
                BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
        // A node whose certificate another CA signed: refused (TLS or Venice's ACL).
        TestNode stranger = new TestNode(work, "127.0.0.4", port, new Fakes.Finder("127.0.0.2"), tls(foreign),
                BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
        try {
            sender.gen(work, 1, 0, 2);
            assertNull(VbtBlobTransferManagerTest.await(
                    receiver.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE)));
            receiver.verify(1, 0);
            VbtBlobTransferManagerTest.assertCause(VenicePeersAllFailedException.class,
                    stranger.manager.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE),
                    "failed to connect to any peer");
            assertEquals(1, sender.snapshots.requests.get(), "the stranger never got to the snapshot manager");
        } finally {
            stranger.close();
            receiver.close();
            sender.close();
        }
    }

    /** Venice's TLS keys for blob transfer, naming JKS stores. */
    static Properties tls(Path dir) {
        Properties p = new Properties();
        p.setProperty("blob.transfer.ssl.enabled", "true");
        p.setProperty("blob.transfer.acl.enabled", "true");
        p.setProperty("ssl.enabled", "true");
        p.setProperty("ssl.keystore.location", dir.resolve("node.jks").toString());
        p.setProperty("ssl.keystore.password", "changeit");
        p.setProperty("ssl.keystore.type", "JKS");
        p.setProperty("ssl.key.password", "changeit");
        p.setProperty("ssl.truststore.location", dir.resolve("trust.jks").toString());
        p.setProperty("ssl.truststore.password", "changeit");
        p.setProperty("ssl.truststore.type", "JKS");
        return p;
    }

    /** A CA, a node key it signed (node.jks, with the chain), and a trust store with the CA (trust.jks). */
    static Path stores(Path dir, String caName) throws Exception {
        authority(dir, caName);
        return node(dir, dir, "CN=node");
    }

    /** A CA in {@code dir} (ca.jks, ca.crt) and a trust store holding it (trust.jks). */
    static void authority(Path dir, String caName) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        String ca = dir.resolve("ca.jks").toString();
        String caCrt = dir.resolve("ca.crt").toString();
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname", caName, "-ext", "bc:c",
                "-validity", "3650", "-keystore", ca, "-storetype", "JKS", "-storepass", "changeit", "-keypass", "changeit");
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", "changeit", "-file", caCrt);
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCrt, "-keystore", dir.resolve("trust.jks").toString(),
                "-storetype", "JKS", "-storepass", "changeit");
    }

    /** A node key the CA of {@code caDir} signed for {@code dname}: {@code dir}/node.jks, and the CA's trust.jks beside it. */
    static Path node(Path caDir, Path dir, String dname) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        String ca = caDir.resolve("ca.jks").toString();
        String caCrt = caDir.resolve("ca.crt").toString();
        String node = dir.resolve("node.jks").toString();
        String csr = dir.resolve("node.csr").toString();
        String crt = dir.resolve("node.crt").toString();
        keytool("-genkeypair", "-alias", "node", "-keyalg", "RSA", "-keysize", "2048", "-dname", dname, "-validity",
                "365", "-keystore", node, "-storetype", "JKS", "-storepass", "changeit", "-keypass", "changeit");
        keytool("-certreq", "-alias", "node", "-keystore", node, "-storepass", "changeit", "-file", csr);
        keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", "changeit", "-infile", csr, "-outfile",
                crt, "-validity", "365", "-ext", "ku:c=digitalSignature,keyEncipherment",
                "-ext", "eku=serverAuth,clientAuth", "-ext", "san=ip:127.0.0.2,ip:127.0.0.3,ip:127.0.0.4,dns:localhost");
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caCrt, "-keystore", node, "-storepass", "changeit");
        keytool("-importcert", "-alias", "node", "-file", crt, "-keystore", node, "-storepass", "changeit");
        if (!caDir.equals(dir)) {
            java.nio.file.Files.copy(caDir.resolve("trust.jks"), dir.resolve("trust.jks"));
        }
        return dir;
    }

    static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "keytool");
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = TestNode.readAll(p.getInputStream());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool did not finish");
        assertEquals(0, p.exitValue(), "keytool " + String.join(" ", args) + ": " + out);
    }
}
