package org.venicedb.blobtransfer.venice;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * A Venice node's properties as vbt reads them. They go to vbt as they are (vbt ignores keys it
 * does not know), with two changes:
 *
 * <ul>
 *   <li>{@code rocksdb.plain.table.format.enabled} follows the {@code BlobSnapshotManager}'s table
 *       format, the one Venice's sender compares requests with (the same property in Venice);
 *   <li>with {@code blob.transfer.ssl.enabled=true}, the key stores named by Venice's
 *       {@code ssl.keystore.*}, {@code ssl.key.password} and {@code ssl.truststore.*} keys are read
 *       here with Java's {@link KeyStore} (any type this JVM reads: JKS, PKCS12, ...) and the key,
 *       its chain and the trusted certificates go to vbt directly; those keys are then not passed
 *       on, so vbt never reads the stores itself.
 * </ul>
 *
 * The RocksDB base directory is {@code <data.base.path>/rocksdb} (Venice's {@code rocksDBPath}),
 * or {@code vbt.base.dir} when that is set.
 */
final class NodeSettings {
    private static final Logger LOG = Logger.getLogger(NodeSettings.class.getName());

    static final String DATA_BASE_PATH = "data.base.path";
    static final String BASE_DIR = "vbt.base.dir";
    static final String PLAIN_TABLE = "rocksdb.plain.table.format.enabled";
    static final String SSL_ENABLED = "blob.transfer.ssl.enabled";
    static final String KEYSTORE_LOCATION = "ssl.keystore.location";
    static final String KEYSTORE_PASSWORD = "ssl.keystore.password";
    static final String KEYSTORE_TYPE = "ssl.keystore.type";
    static final String KEY_PASSWORD = "ssl.key.password";
    static final String TRUSTSTORE_LOCATION = "ssl.truststore.location";
    static final String TRUSTSTORE_PASSWORD = "ssl.truststore.password";
    static final String TRUSTSTORE_TYPE = "ssl.truststore.type";
    static final String MAX_RECEIVE_REPLICAS = "blob.transfer.max.concurrent.blob.receive.replicas";

    final Map<String, String> config;
    final String baseDir;
    final TlsIdentity tls;

    /** A key, its certificate chain and the certificates to trust, read from Java key stores. */
    static final class TlsIdentity {
        final PrivateKey key;
        final X509Certificate[] chain;
        final List<X509Certificate> trusted;

        TlsIdentity(PrivateKey key, X509Certificate[] chain, List<X509Certificate> trusted) {
            this.key = key;
            this.chain = chain;
            this.trusted = trusted;
        }
    }

    NodeSettings(Properties properties, boolean plainTable) {
        Map<String, String> c = new LinkedHashMap<>();
        for (String k : properties.stringPropertyNames()) {
            c.put(k, properties.getProperty(k));
        }
        String base = trimmed(c.get(BASE_DIR));
        if (base == null) {
            String data = trimmed(c.get(DATA_BASE_PATH));
            if (data == null) {
                throw new IllegalArgumentException(DATA_BASE_PATH + " is not set: the node's partitions live under "
                        + "<" + DATA_BASE_PATH + ">/rocksdb (or set " + BASE_DIR + ")");
            }
            base = Paths.get(data, "rocksdb").toString();
        }
        c.put(PLAIN_TABLE, Boolean.toString(plainTable));
        if (Boolean.parseBoolean(trimmed(c.get(SSL_ENABLED))) && trimmed(c.get(KEYSTORE_LOCATION)) != null) {
            tls = readIdentity(c);
            for (String k : new String[] {KEYSTORE_LOCATION, KEYSTORE_PASSWORD, KEYSTORE_TYPE, KEY_PASSWORD,
                    TRUSTSTORE_LOCATION, TRUSTSTORE_PASSWORD, TRUSTSTORE_TYPE}) {
                c.remove(k);
            }
        } else {
            tls = null;
        }
        this.config = Collections.unmodifiableMap(c);
        this.baseDir = base;
    }

    /** An integer property, or {@code dflt} when it is unset or not a number. */
    int intValue(String key, int dflt) {
        String v = trimmed(config.get(key));
        try {
            return v == null ? dflt : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    private static TlsIdentity readIdentity(Map<String, String> c) {
        KeyStore keys = load(c, KEYSTORE_LOCATION, KEYSTORE_PASSWORD, KEYSTORE_TYPE);
        String trustLocation = trimmed(c.get(TRUSTSTORE_LOCATION));
        if (trustLocation == null) {
            throw new IllegalArgumentException(SSL_ENABLED + "=true and " + KEYSTORE_LOCATION + " is set, but "
                    + TRUSTSTORE_LOCATION + " is not: blob transfer's mutual TLS needs the CAs to trust");
        }
        KeyStore trust = load(c, TRUSTSTORE_LOCATION, TRUSTSTORE_PASSWORD, TRUSTSTORE_TYPE);
        String storePassword = c.get(KEYSTORE_PASSWORD);
        String keyPassword = c.containsKey(KEY_PASSWORD) ? c.get(KEY_PASSWORD) : storePassword;
        String where = c.get(KEYSTORE_LOCATION);
        try {
            List<String> keyAliases = new ArrayList<>();
            for (Enumeration<String> e = keys.aliases(); e.hasMoreElements();) {
                String alias = e.nextElement();
                if (keys.isKeyEntry(alias)) {
                    keyAliases.add(alias);
                }
            }
            if (keyAliases.isEmpty()) {
                throw new IllegalArgumentException(KEYSTORE_LOCATION + "=" + where + " holds no private key");
            }
            Collections.sort(keyAliases);
            String alias = keyAliases.get(0);
            if (keyAliases.size() > 1) {
                LOG.warning(where + " holds " + keyAliases.size() + " keys " + keyAliases + "; blob transfer uses \""
                        + alias + "\"");
            }
            Key key = keys.getKey(alias, keyPassword == null ? new char[0] : keyPassword.toCharArray());
            if (!(key instanceof PrivateKey)) {
                throw new IllegalArgumentException(KEYSTORE_LOCATION + "=" + where + ": entry \"" + alias
                        + "\" is not a private key");
            }
            Certificate[] chain = keys.getCertificateChain(alias);
            if (chain == null || chain.length == 0) {
                throw new IllegalArgumentException(KEYSTORE_LOCATION + "=" + where + ": key \"" + alias
                        + "\" has no certificate chain");
            }
            X509Certificate[] x509 = new X509Certificate[chain.length];
            for (int i = 0; i < chain.length; i++) {
                x509[i] = (X509Certificate) chain[i];
            }
            List<X509Certificate> trusted = new ArrayList<>();
            for (Enumeration<String> e = trust.aliases(); e.hasMoreElements();) {
                String a = e.nextElement();
                Certificate cert = trust.getCertificate(a);
                if (cert instanceof X509Certificate) {
                    trusted.add((X509Certificate) cert);
                }
            }
            if (trusted.isEmpty()) {
                throw new IllegalArgumentException(TRUSTSTORE_LOCATION + "=" + c.get(TRUSTSTORE_LOCATION)
                        + " holds no certificate to trust");
            }
            return new TlsIdentity((PrivateKey) key, x509, Collections.unmodifiableList(trusted));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IllegalArgumentException("cannot read the key in " + KEYSTORE_LOCATION + "=" + where + " (check "
                    + KEY_PASSWORD + "): " + e, e);
        }
    }

    private static KeyStore load(Map<String, String> c, String locationKey, String passwordKey, String typeKey) {
        String location = trimmed(c.get(locationKey));
        String type = trimmed(c.get(typeKey));
        String password = c.get(passwordKey);
        Path path = Paths.get(location);
        try {
            KeyStore ks = KeyStore.getInstance(type == null ? KeyStore.getDefaultType() : type);
            try (InputStream in = Files.newInputStream(path)) {
                ks.load(in, password == null ? null : password.toCharArray());
            }
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read " + locationKey + "=" + location + " as a "
                    + (type == null ? KeyStore.getDefaultType() : type) + " key store (" + typeKey + ", " + passwordKey
                    + "): " + e, e);
        }
    }

    private static String trimmed(String v) {
        if (v == null) {
            return null;
        }
        String t = v.trim();
        return t.isEmpty() ? null : t;
    }
}
