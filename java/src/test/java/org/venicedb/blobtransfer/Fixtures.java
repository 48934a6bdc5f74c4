package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Shared helpers: the real `vbt` binary, generated partitions, nodes, silent peers. */
final class Fixtures {
    private Fixtures() {}

    /** The `vbt` command built with the library (system property vbt.test.bin). */
    static Path vbt() {
        String bin = System.getProperty("vbt.test.bin");
        if (bin == null) {
            String target = System.getenv().getOrDefault("CARGO_TARGET_DIR", "/var/tmp/vbt-target");
            bin = target + "/debug/vbt";
        }
        Path p = Paths.get(bin);
        assertTrue(Files.isExecutable(p), "vbt binary not found at " + p + " (set -Dvbt.test.bin)");
        return p;
    }

    /** Runs `vbt args...`, fails the test unless it exits 0; returns its stdout. */
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

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        int n;
        while ((n = in.read(b)) > 0) {
            buf.write(b, 0, n);
        }
        return new String(buf.toByteArray(), StandardCharsets.UTF_8);
    }

    /** Writes a real RocksDB partition with `vbt gen` (closed when this returns). */
    static void gen(Path base, String store, int version, int partition, int sizeMiB) throws Exception {
        run("gen", "--base-dir", base.toString(), "--store", store, "--version", Integer.toString(version),
                "--partition", Integer.toString(partition), "--size-mib", Integer.toString(sizeMiB));
    }

    /** Checks every record of a partition with `vbt verify`. */
    static void verify(Path base, String store, int version, int partition) throws Exception {
        String out = run("verify", "--base-dir", base.toString(), "--store", store, "--version",
                Integer.toString(version), "--partition", Integer.toString(partition));
        assertTrue(out.contains("\"ok\":true"), out);
    }

    /** `<base>/<store>_v<N>/<store>_v<N>_<P>`. */
    static Path partitionDir(Path base, String store, int version, int partition) {
        return base.resolve(store + "_v" + version).resolve(store + "_v" + version + "_" + partition);
    }

    /** Where a receive lands: `<base>.vbt/landing/<store>_v<N>_<P>` (vbt's state, beside the base). */
    static Path tempDir(Path base, String store, int version, int partition) {
        return stateDir(base).resolve("landing").resolve(store + "_v" + version + "_" + partition);
    }

    /** vbt's default state directory: `<base>.vbt`, beside the base directory. */
    static Path stateDir(Path base) {
        return base.resolveSibling(base.getFileName() + ".vbt");
    }

    /** The metadata `vbt gen` recorded beside the partition (base64 fields of the sidecar JSON). */
    static SnapshotMetadata metadata(Path base, String store, int version, int partition) throws IOException {
        Path sidecar = base.resolve(store + "_v" + version).resolve(store + "_v" + version + "_" + partition + ".metadata.json");
        String json = new String(Files.readAllBytes(sidecar), StandardCharsets.UTF_8);
        return new SnapshotMetadata(base64Field(json, "offsetRecord"), base64Field(json, "storeVersionState"));
    }

    private static byte[] base64Field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([A-Za-z0-9+/=]*)\"").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return Base64.getDecoder().decode(m.group(1));
    }

    /**
     * A host snapshot source over partitions `vbt gen` wrote under `base`: metadata first, then a
     * copy of the closed partition's files (a consistent database) into the directory vbt names.
     */
    static SnapshotSource copyingSource(Path base, List<String> calls) {
        return (store, version, partition, directory) -> {
            calls.add(store + "/" + version + "/" + partition + " -> " + directory);
            Path from = partitionDir(base, store, version, partition);
            if (!Files.isDirectory(from)) {
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND, "no partition " + from);
            }
            SnapshotMetadata m = metadata(base, store, version, partition);
            Files.createDirectory(directory);
            try (Stream<Path> files = Files.list(from)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    String name = f.getFileName().toString();
                    if (name.equals("LOCK") || name.startsWith("LOG")) {
                        continue;
                    }
                    Files.copy(f, directory.resolve(name));
                }
            }
            return m;
        };
    }

    /** Config from key, value, key, value... */
    static Map<String, String> config(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /** A receiver that installs under `base`, failing fast on dead peers. */
    static Map<String, String> receiverConfig(Path base, String... more) {
        Map<String, String> m = config("vbt.base.dir", base.toString(), "vbt.peer.connect.timeout.ms", "3000");
        m.putAll(config(more));
        return m;
    }

    /** A peer that accepts connections (in the kernel backlog) and never answers. */
    static ServerSocket silentPeer() throws IOException {
        return new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    static String peer(ServerSocket s) {
        return "127.0.0.1:" + s.getLocalPort();
    }

    /** Held for the whole run: see {@link #deadPeer()}. */
    private static final List<java.net.Socket> HELD = new ArrayList<>();

    /**
     * A port that refuses connections for the rest of the run: a socket bound there and never
     * listening answers every connect with a reset, and holds the port so nothing else takes it.
     */
    static synchronized String deadPeer() throws IOException {
        java.net.Socket s = new java.net.Socket();
        s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        HELD.add(s);
        return "127.0.0.1:" + s.getLocalPort();
    }

    /** Waits for a future to fail and returns its BlobTransferException. */
    static BlobTransferException failure(CompletableFuture<?> f) throws InterruptedException, TimeoutException {
        try {
            Object v = f.get(60, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure, got " + v);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof BlobTransferException) {
                return (BlobTransferException) c;
            }
            throw new AssertionError("expected a BlobTransferException", c);
        }
    }

    static <T> T result(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("bootstrap failed: " + e.getCause(), e.getCause());
        }
    }

    /** Polls until `check` holds (at most 10 s). */
    static void eventually(String what, java.util.function.BooleanSupplier check) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
