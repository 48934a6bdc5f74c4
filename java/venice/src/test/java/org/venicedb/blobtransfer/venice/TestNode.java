package org.venicedb.blobtransfer.venice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.venice.acl.DynamicAccessController;
import com.linkedin.venice.authorization.IdentityParser;
import com.linkedin.venice.offsets.OffsetRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One Venice node for the tests: its {@code data.base.path}, the fakes around the manager, and the
 * manager itself, used only as a {@link BlobTransferManager}. Every node listens on the same port
 * on its own loopback address (127.0.0.x), as every Venice node of a cluster listens on the same
 * port on its own host; peers are named by address only, and dialled on the client port.
 */
final class TestNode {
    static final String STORE = "myStore";

    final String host;
    final int port;
    final Path data;
    final Path rocksdb;
    final Fakes.MetadataService metadata;
    final Fakes.SnapshotManager snapshots;
    final Fakes.Finder finder;
    final Fakes.Notifier notifier = new Fakes.Notifier();
    final Fakes.Stats stats = new Fakes.Stats();
    final BlobTransferManager<Void> manager;
    final Layout layout;

    TestNode(Path work, String host, int port, Fakes.Finder finder, Properties extra, BlobTransferTableFormat format,
            Path metadataDir) throws Exception {
        this(work.resolve(host), host, port, finder, extra, format, metadataDir, true);
    }

    /** A node whose {@code data.base.path} is {@code data}. */
    TestNode(Path data, String host, int port, Fakes.Finder finder, Properties extra, BlobTransferTableFormat format,
            Path metadataDir, boolean start) throws Exception {
        this(data, host, port, finder, extra, format, metadataDir, start, Optional.empty(), null);
    }

    /** A node with a Venice server's origin rule (a store access controller and an identity parser). */
    TestNode(Path data, String host, int port, Fakes.Finder finder, Properties extra, BlobTransferTableFormat format,
            Path metadataDir, boolean start, Optional<DynamicAccessController> acl, IdentityParser identities)
            throws Exception {
        this.host = host;
        this.port = port;
        this.data = data;
        this.rocksdb = data.resolve("rocksdb");
        Files.createDirectories(rocksdb);
        this.layout = new Layout(rocksdb);
        this.metadata = new Fakes.MetadataService(rocksdb, metadataDir);
        this.snapshots = new Fakes.SnapshotManager(rocksdb, metadata, format, TimeUnit.MINUTES.toMillis(60));
        this.finder = finder;
        Properties p = props(data, host, port);
        if (extra != null) {
            p.putAll(extra);
        }
        this.manager = new VbtBlobTransferManager(p, finder, snapshots, metadata, () -> notifier, stats, acl, identities);
        if (start) {
            manager.start();
        }
    }

    TestNode(Path work, String host, int port, Fakes.Finder finder) throws Exception {
        this(work, host, port, finder, null, BlobTransferTableFormat.BLOCK_BASED_TABLE, null);
    }

    /** A Venice node's blob-transfer properties, plus keys vbt does not know (as a real file has hundreds). */
    static Properties props(Path data, String host, int port) {
        Properties p = new Properties();
        p.setProperty("data.base.path", data.toString());
        p.setProperty("davinci.p2p.blob.transfer.server.port", Integer.toString(port));
        p.setProperty("davinci.p2p.blob.transfer.client.port", Integer.toString(port));
        p.setProperty("blob.transfer.manager.enabled", "true");
        p.setProperty("blob.transfer.ssl.enabled", "false");
        p.setProperty("blob.transfer.acl.enabled", "false");
        p.setProperty("blob.transfer.max.concurrent.snapshot.user", "5");
        p.setProperty("rocksdb.plain.table.format.enabled", "false");
        p.setProperty("kafka.bootstrap.servers", "localhost:9092");
        p.setProperty("server.ingestion.mode", "ISOLATED");
        // vbt's own keys: plaintext on a loopback address, and fail fast on dead peers.
        p.setProperty("vbt.server.bind.address", host);
        p.setProperty("vbt.peer.connect.timeout.ms", "3000");
        p.setProperty("vbt.peer.probe.timeout.ms", "3000");
        p.setProperty("vbt.peer.probe.total.timeout.ms", "5000");
        return p;
    }

    String replica(int version, int partition) {
        return STORE + "_v" + version + "-" + partition;
    }

    Path partitionDir(int version, int partition) {
        return rocksdb.resolve(STORE + "_v" + version).resolve(STORE + "_v" + version + "_" + partition);
    }

    /**
     * Gives this node a partition, as ingestion would have: a real RocksDB partition `vbt gen`
     * writes (elsewhere, then moved into place), and its offset record and store-version state in
     * the node's metadata service.
     */
    void gen(Path work, int version, int partition, int sizeMiB) throws Exception {
        Path scratch = Files.createTempDirectory(work, "gen");
        run("gen", "--base-dir", scratch.toString(), "--store", STORE, "--version", Integer.toString(version),
                "--partition", Integer.toString(partition), "--size-mib", Integer.toString(sizeMiB));
        String topic = STORE + "_v" + version;
        Path generated = scratch.resolve(topic).resolve(topic + "_" + partition);
        Files.createDirectories(partitionDir(version, partition).getParent());
        Files.move(generated, partitionDir(version, partition));
        String json = new String(Files.readAllBytes(scratch.resolve(topic).resolve(topic + "_" + partition + ".metadata.json")),
                StandardCharsets.UTF_8);
        metadata.put(topic, partition, new OffsetRecord(base64Field(json, "offsetRecord"), Fakes.PARTITION_STATE, null));
        byte[] svs = base64Field(json, "storeVersionState");
        metadata.computeStoreVersionState(topic, old -> Fakes.STORE_VERSION_STATE.deserialize(topic, svs));
        metadata.putLog.clear();
        Fakes.deleteTree(scratch);
    }

    /** Total size of the files of an installed partition. */
    long installedBytes(int version, int partition) throws IOException {
        long total = 0;
        try (Stream<Path> s = Files.walk(partitionDir(version, partition))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    total += Files.size(p);
                }
            }
        }
        return total;
    }

    void verify(int version, int partition) throws Exception {
        String out = run("verify", "--base-dir", rocksdb.toString(), "--store", STORE, "--version",
                Integer.toString(version), "--partition", Integer.toString(partition));
        assertTrue(out.contains("\"ok\":true"), out);
    }

    /** Closes the manager, then checks that nothing is left in rocksdb. */
    void close() throws Exception {
        manager.close();
        layout.check();
        layout.assertClean();
    }

    // ---- helpers ----

    /** A port free on every test address (each node binds its own 127.0.0.x). */
    static int freePort() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                port = s.getLocalPort();
            }
            boolean free = true;
            for (int i = 2; i <= 12 && free; i++) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0." + i), port));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return port;
            }
        }
        throw new IOException("no port free on 127.0.0.2-12");
    }

    static Path vbt() {
        String bin = System.getProperty("vbt.test.bin");
        if (bin == null) {
            bin = System.getenv().getOrDefault("CARGO_TARGET_DIR", "/var/tmp/vbt-target") + "/debug/vbt";
        }
        Path p = Paths.get(bin);
        assertTrue(Files.isExecutable(p), "vbt binary not found at " + p + " (set -Dvbt.test.bin)");
        return p;
    }

    static String run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(vbt().toString());
        for (String a : args) {
            cmd.add(a);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = readAll(p.getInputStream());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("vbt " + String.join(" ", args) + " did not finish");
        }
        assertEquals(0, p.exitValue(), "vbt " + String.join(" ", args) + " failed: " + out);
        return out;
    }

    static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        int n;
        while ((n = in.read(b)) > 0) {
            buf.write(b, 0, n);
        }
        return new String(buf.toByteArray(), StandardCharsets.UTF_8);
    }

    static byte[] base64Field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([A-Za-z0-9+/=]*)\"").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return Base64.getDecoder().decode(m.group(1));
    }

    /**
     * Watches {@code <data.base.path>/rocksdb}: only {@code <store>_v<N>} directories, holding only
     * {@code <store>_v<N>_<P>} directories (and Venice's own {@code temp_transferred_<store>_v<N>_<P>},
     * which Venice's own receiver uses; vbt lands a receive in its state directory instead). Anything else (a lock file, a snapshot directory,
     * a metadata file, vbt's state) is a violation, since Venice's StorageService would take it
     * for a store or a partition when it restarts.
     */
    static final class Layout implements AutoCloseable {
        private static final Pattern VERSION = Pattern.compile("(.+_v\\d+)");
        private final Path rocksdb;
        private final Set<String> violations = new ConcurrentSkipListSet<>();
        private final java.util.concurrent.atomic.AtomicLong checks = new java.util.concurrent.atomic.AtomicLong();
        private volatile Thread watcher;

        Layout(Path rocksdb) {
            this.rocksdb = rocksdb;
        }

        /** Checks every few milliseconds until closed (to see the layout during a transfer). */
        Layout watch() {
            Thread t = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    check();
                    try {
                        Thread.sleep(3);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "layout-watch");
            t.setDaemon(true);
            t.start();
            watcher = t;
            return this;
        }

        void check() {
            checks.incrementAndGet();
            try (DirectoryStream<Path> versions = Files.newDirectoryStream(rocksdb)) {
                for (Path v : versions) {
                    String name = v.getFileName().toString();
                    Matcher m = VERSION.matcher(name);
                    if (!m.matches() || !Files.isDirectory(v)) {
                        violations.add(rocksdb.relativize(v).toString());
                        continue;
                    }
                    Pattern partition = Pattern.compile("(temp_transferred_)?" + Pattern.quote(name) + "_\\d+");
                    try (DirectoryStream<Path> parts = Files.newDirectoryStream(v)) {
                        for (Path p : parts) {
                            String pn = p.getFileName().toString();
                            if (!partition.matcher(pn).matches() || !Files.isDirectory(p)) {
                                violations.add(rocksdb.relativize(p).toString());
                            }
                        }
                    } catch (NoSuchFileException gone) {
                        // removed while we looked
                    }
                }
            } catch (NoSuchFileException gone) {
                // not there (yet)
            } catch (IOException e) {
                violations.add("cannot list " + rocksdb + ": " + e);
            }
        }

        void assertClean() {
            assertTrue(violations.isEmpty(), "vbt left entries in " + rocksdb
                    + " that Venice would take for stores or partitions: " + new TreeSet<>(violations));
        }

        /** How many times the layout was checked so far. */
        long checks() {
            return checks.get();
        }

        /** No temp dir now. */
        void assertNoTempDir() throws IOException {
            try (Stream<Path> s = Files.walk(rocksdb, 2)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    assertTrue(!p.getFileName().toString().startsWith("temp_transferred_"), "left behind: " + p);
                }
            }
        }

        @Override
        public void close() {
            Thread t = watcher;
            if (t != null) {
                t.interrupt();
                try {
                    t.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
