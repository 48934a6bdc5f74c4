package org.venicedb.blobtransfer.interop;

import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * vbt's Venice manager against Venice's own, both ways, through Venice's
 * {@code BlobTransferManager} interface only: one side calls {@code get()}, the other serves.
 * One JVM per mode; each case gets two fresh nodes (fresh ports and directories) and prints one
 * line {@code INTEROP <mode> <case> PASS|FAIL ...}; the last line is
 * {@code INTEROP <mode> summary passed=N failed=M}, and the exit status is 0 only if every case
 * passed.
 *
 * <pre>
 * Interop --mode plaintext|tls --work DIR --vbt-served DIR --venice-served DIR [--certs DIR]
 *         [--password PW] [--timeout-seconds S] [--rounds N]
 * </pre>
 *
 * A case that must transfer runs {@code --rounds} times (default 2), each between fresh nodes;
 * its line gives every round's time, the first including the JVM's warm-up.
 *
 * {@code --vbt-served} and {@code --venice-served} are closed RocksDB partitions written by
 * {@code vbt gen}, each with its {@code <dir>.metadata.json} (offset record and store-version
 * state), served by the vbt node and by the Venice node respectively, for any replica asked.
 * {@code --certs} (tls) holds PKCS12 stores: {@code venice.p12} and {@code vbt.p12} (issued by one
 * CA), {@code foreign.p12} (another CA), {@code truststore.p12} (the first CA) and
 * {@code truststore-both.p12} (both).
 */
public final class Interop {
    private static final String STORE = "myStore";
    private static final int VERSION = 1;
    private static final String TOPIC = STORE + "_v" + VERSION;
    private static final String VENICE_HOST = "127.0.0.1";
    private static final String VBT_HOST = "127.0.0.2";

    private final Map<String, String> options;
    private final String mode;
    private final Path work;
    private final Served vbtServed;
    private final Served veniceServed;
    private final Path certs;
    private final String password;
    private final long timeoutSeconds;
    private final int rounds;
    private final VbtLog vbtLog = new VbtLog();
    private int passed;
    private int failed;

    private Interop(Map<String, String> options) throws IOException {
        this.options = options;
        this.mode = require("--mode");
        if (!mode.equals("plaintext") && !mode.equals("tls")) {
            throw new IllegalArgumentException("--mode is plaintext or tls, not " + mode);
        }
        this.work = Paths.get(require("--work")).toAbsolutePath();
        this.vbtServed = new Served(Paths.get(require("--vbt-served")).toAbsolutePath());
        this.veniceServed = new Served(Paths.get(require("--venice-served")).toAbsolutePath());
        this.certs = mode.equals("tls") ? Paths.get(require("--certs")).toAbsolutePath() : null;
        this.password = options.getOrDefault("--password", "changeit");
        this.timeoutSeconds = Long.parseLong(options.getOrDefault("--timeout-seconds", "300"));
        this.rounds = Math.max(1, Integer.parseInt(options.getOrDefault("--rounds", "2")));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                System.err.println("usage: Interop --mode plaintext|tls --work DIR --vbt-served DIR --venice-served DIR "
                        + "[--certs DIR] [--password PW] [--timeout-seconds S] [--rounds N]");
                System.exit(2);
            }
            options.put(args[i], args[i + 1]);
        }
        Interop interop = new Interop(options);
        interop.vbtLog.install();
        if (interop.mode.equals("plaintext")) {
            interop.plaintext();
        } else {
            interop.tls();
        }
        System.out.printf("INTEROP %s summary passed=%d failed=%d%n", interop.mode, interop.passed, interop.failed);
        System.out.flush();
        // Venice's Netty threads and vbt's native threads are daemons, but some of Venice's
        // executors are not; the verdict is in, so leave at once.
        System.exit(interop.failed == 0 && interop.passed > 0 ? 0 : 1);
    }

    private void plaintext() {
        run(new Case("venice<-vbt", Receiver.VENICE).expectSuccess());
        run(new Case("vbt<-venice", Receiver.VBT).expectSuccess());
        // A table format the sender does not have: Venice's 404 and vbt's 404 look the same to the other side.
        run(new Case("vbt<-venice PLAIN_TABLE", Receiver.VBT).format(BlobTransferTableFormat.PLAIN_TABLE)
                .expectRefusal("404"));
        run(new Case("venice<-vbt PLAIN_TABLE", Receiver.VENICE).format(BlobTransferTableFormat.PLAIN_TABLE)
                .expectRefusal("404"));
    }

    private void tls() {
        VeniceNode.Identity venice = identity("venice.p12", "truststore.p12");
        VeniceNode.Identity vbt = identity("vbt.p12", "truststore.p12");
        run(new Case("venice<-vbt", Receiver.VENICE).identities(venice, vbt).expectSuccess());
        run(new Case("vbt<-venice", Receiver.VBT).identities(vbt, venice).expectSuccess());
        // The receiver's certificate comes from another CA that the sender trusts: TLS passes, the
        // sender's ACL (same issuer as its own certificate) refuses it with 403.
        VeniceNode.Identity foreignTrustingBoth = identity("foreign.p12", "truststore-both.p12");
        run(new Case("vbt(foreign CA)<-venice(trusts both CAs)", Receiver.VBT)
                .identities(foreignTrustingBoth, identity("venice.p12", "truststore-both.p12")).expectRefusal("403"));
        run(new Case("venice(foreign CA)<-vbt(trusts both CAs)", Receiver.VENICE)
                .identities(foreignTrustingBoth, identity("vbt.p12", "truststore-both.p12"))
                .expectRefusal("refused by the ACL"));
        // The sender does not trust the receiver's CA: refused in the TLS handshake.
        run(new Case("vbt(foreign CA)<-venice(trusts its CA only)", Receiver.VBT).identities(foreignTrustingBoth, venice)
                .expectRefusal("TLS handshake"));
        run(new Case("venice(foreign CA)<-vbt(trusts its CA only)", Receiver.VENICE).identities(foreignTrustingBoth, vbt)
                .expectRefusal("TLS handshake"));
    }

    private VeniceNode.Identity identity(String keyStore, String trustStore) {
        return new VeniceNode.Identity(certs.resolve(keyStore), certs.resolve(trustStore), password);
    }

    enum Receiver {
        VENICE,
        VBT
    }

    /** One get() between two fresh nodes. */
    private static final class Case {
        final String name;
        final Receiver receiver;
        BlobTransferTableFormat format = BlobTransferTableFormat.BLOCK_BASED_TABLE;
        VeniceNode.Identity receiverTls;
        VeniceNode.Identity senderTls;
        /** null: the transfer must succeed; otherwise what the refusal must mention (vbt's error or vbt's log). */
        String refusal;

        Case(String name, Receiver receiver) {
            this.name = name;
            this.receiver = receiver;
        }

        Case format(BlobTransferTableFormat f) {
            this.format = f;
            return this;
        }

        Case identities(VeniceNode.Identity receiverTls, VeniceNode.Identity senderTls) {
            this.receiverTls = receiverTls;
            this.senderTls = senderTls;
            return this;
        }

        Case expectSuccess() {
            this.refusal = null;
            return this;
        }

        Case expectRefusal(String mention) {
            this.refusal = mention;
            return this;
        }
    }

    private void run(Case c) {
        String verdict;
        boolean ok = true;
        try {
            // A transfer runs `rounds` times, each between fresh nodes: the first in a JVM pays
            // for its JIT warm-up (and for Jackson's and the SSL stack's first use).
            List<Outcome> outcomes = new ArrayList<>();
            for (int round = 0; round < (c.refusal == null ? rounds : 1) && ok; round++) {
                Outcome o = attempt(c);
                outcomes.add(o);
                ok = o.ok;
            }
            Outcome last = outcomes.get(outcomes.size() - 1);
            if (c.refusal != null || !ok) {
                verdict = last.text;
            } else {
                List<String> times = new ArrayList<>();
                for (Outcome o : outcomes) {
                    times.add(String.format("%.2f s (%.1f MB/s)", o.seconds, o.bytes / o.seconds / 1e6));
                }
                verdict = String.format("%,d bytes in %s; %s", last.bytes, String.join(", then ", times), last.text);
            }
        } catch (Exception | Error e) {
            ok = false;
            verdict = "driver error: " + e;
            e.printStackTrace();
        }
        if (ok) {
            passed++;
        } else {
            failed++;
        }
        System.out.printf("INTEROP %s %s %s %s%n", mode, c.name, ok ? "PASS" : "FAIL", verdict);
        System.out.flush();
    }

    private static final class Outcome {
        final boolean ok;
        final double seconds;
        final long bytes;
        final String text;

        Outcome(boolean ok, double seconds, long bytes, String text) {
            this.ok = ok;
            this.seconds = seconds;
            this.bytes = bytes;
            this.text = text;
        }
    }

    private Outcome attempt(Case c) throws Exception {
        Path dir = work.resolve(mode).resolve(c.name.replaceAll("[^A-Za-z0-9.-]+", "_"));
        deleteTree(dir);
        Path veniceBase = dir.resolve("venice/rocksdb");
        Path vbtBase = dir.resolve("vbt/rocksdb");
        Files.createDirectories(veniceBase);
        Files.createDirectories(vbtBase);
        int venicePort = freePort();
        int vbtPort = freePort();
        // The sender serves its partition as the snapshot of any replica asked for.
        Served served = c.receiver == Receiver.VENICE ? vbtServed : veniceServed;
        int partition = c.receiver == Receiver.VENICE ? 0 : 1;
        VeniceNode.Identity veniceTls = c.receiver == Receiver.VENICE ? c.receiverTls : c.senderTls;
        VeniceNode.Identity vbtTls = c.receiver == Receiver.VBT ? c.receiverTls : c.senderTls;

        vbtLog.clear();
        try (VeniceNode venice = new VeniceNode(veniceBase, venicePort, vbtPort, VBT_HOST, veniceTls,
                NodeParts.snapshotManager(veniceServed.dir, veniceServed.offsetRecord, veniceServed.storeVersionState));
                VbtNode vbt = new VbtNode(vbtBase, VBT_HOST, vbtPort, venicePort, VENICE_HOST, vbtTls,
                        NodeParts.snapshotManager(vbtServed.dir, vbtServed.offsetRecord, vbtServed.storeVersionState))) {
            BlobTransferManager<Void> receiver = c.receiver == Receiver.VENICE ? venice.manager : vbt.manager;
            NodeParts.Metadata metadata = c.receiver == Receiver.VENICE ? venice.metadata : vbt.metadata;
            Path partitionDir = (c.receiver == Receiver.VENICE ? veniceBase : vbtBase).resolve(TOPIC)
                    .resolve(TOPIC + "_" + partition);
            String who = c.receiver == Receiver.VENICE ? "Venice's client" : "Venice's server";

            long t0 = System.nanoTime();
            Throwable failure = null;
            try {
                receiver.get(STORE, VERSION, partition, c.format).toCompletableFuture().get(timeoutSeconds, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                failure = e.getCause();
            } catch (TimeoutException e) {
                failure = e;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            String tls = veniceTls == null ? "plaintext" : describeTls(venice.tlsSessions, who);

            if (c.refusal == null) {
                if (failure != null) {
                    return new Outcome(false, seconds, 0, "expected a transfer, got " + chain(failure) + vbtLog.relevant());
                }
                long bytes = size(partitionDir);
                String same = compare(served.dir, partitionDir);
                byte[] stored = metadata.offsetRecord(TOPIC, partition);
                boolean metadataOk = Arrays.equals(stored, served.offsetRecord) && metadata.storeVersionStates.containsKey(TOPIC);
                boolean ok = same == null && metadataOk && (veniceTls == null || !tls.startsWith("no TLS session"));
                return new Outcome(ok, seconds, bytes, String.format("%s; %s; %s",
                        same == null ? "files byte-identical to the sender's" : same,
                        metadataOk ? "offset record and store-version state stored" : "METADATA NOT STORED AS SENT", tls));
            }
            if (failure == null) {
                return new Outcome(false, seconds, 0, "expected a refusal (" + c.refusal + "), but the transfer succeeded");
            }
            String message = chain(failure);
            String log = vbtLog.mentioning(c.refusal);
            boolean mentioned = message.contains(c.refusal) || log != null;
            boolean leftNothing = !Files.exists(partitionDir) || size(partitionDir) == 0 && list(partitionDir).isEmpty();
            boolean ok = mentioned && (leftNothing || c.receiver == Receiver.VENICE);
            return new Outcome(ok, seconds, 0, String.format("refused after %.2f s: %s%s; %s", seconds, message,
                    log != null ? "; vbt logged: " + log : (mentioned ? "" : "; NOT MENTIONING " + c.refusal + vbtLog.relevant()),
                    leftNothing ? "nothing left in the receiver's partition directory"
                            : "the receiver left " + list(partitionDir)));
        }
    }

    private static String describeTls(List<String> sessions, String who) {
        Set<String> distinct = new LinkedHashSet<>(sessions);
        if (distinct.isEmpty()) {
            return "no TLS session seen by " + who;
        }
        return String.join(", ", distinct) + " (as " + who + " negotiated it)";
    }

    /** The exception and its causes' messages, without repeats. */
    private static String chain(Throwable t) {
        List<String> parts = new ArrayList<>();
        for (Throwable e = t; e != null && parts.size() < 4; e = e.getCause()) {
            String message = e.getMessage() == null ? "" : e.getMessage();
            if (!message.isEmpty() && parts.stream().anyMatch(p -> p.contains(message))) {
                continue;
            }
            parts.add(e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message));
        }
        return String.join(" <- ", parts).replace('\n', ' ');
    }

    /** null if both directories hold the same files with the same bytes. */
    private static String compare(Path expected, Path actual) throws IOException {
        if (!Files.isDirectory(actual)) {
            return "NO PARTITION DIRECTORY " + actual;
        }
        Map<String, Path> want = files(expected);
        Map<String, Path> got = files(actual);
        if (!want.keySet().equals(got.keySet())) {
            return "FILES DIFFER: sent " + want.keySet() + ", received " + got.keySet();
        }
        for (Map.Entry<String, Path> e : want.entrySet()) {
            if (Files.mismatch(e.getValue(), got.get(e.getKey())) != -1) {
                return "CONTENT DIFFERS in " + e.getKey();
            }
        }
        return null;
    }

    private static Map<String, Path> files(Path dir) throws IOException {
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(Files::isRegularFile).forEach(p -> out.put(p.getFileName().toString(), p));
        }
        return out;
    }

    private static List<String> list(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.forEach(p -> out.add(p.getFileName().toString()));
            }
        }
        return out;
    }

    private static long size(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        long total = 0;
        for (Path p : files(dir).values()) {
            total += Files.size(p);
        }
        return total;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(0));
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted((a, b) -> b.getNameCount() - a.getNameCount())::iterator) {
                Files.delete(p);
            }
        }
    }

    private String require(String option) {
        String v = options.get(option);
        if (v == null) {
            throw new IllegalArgumentException("missing " + option);
        }
        return v;
    }

    /** A partition written by {@code vbt gen} and the metadata beside it. */
    private static final class Served {
        final Path dir;
        final byte[] offsetRecord;
        final byte[] storeVersionState;

        Served(Path dir) throws IOException {
            this.dir = dir;
            String json = new String(Files.readAllBytes(Paths.get(dir + ".metadata.json")), StandardCharsets.UTF_8);
            this.offsetRecord = base64(json, "offsetRecord");
            this.storeVersionState = base64(json, "storeVersionState");
        }

        private static byte[] base64(String json, String key) {
            Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*\"([A-Za-z0-9+/=]*)\"").matcher(json);
            if (!m.find()) {
                throw new IllegalArgumentException("no " + key + " in the partition's metadata.json");
            }
            return Base64.getDecoder().decode(m.group(1));
        }
    }

    /** vbt's own log records (forwarded by the Venice module to java.util.logging), kept per case. */
    private static final class VbtLog extends Handler {
        private final List<String> lines = new CopyOnWriteArrayList<>();
        /** Held: java.util.logging keeps loggers weakly, and a collected one loses its handlers. */
        private Logger logger;

        void install() {
            logger = Logger.getLogger("org.venicedb.blobtransfer");
            logger.addHandler(this);
        }

        void clear() {
            lines.clear();
        }

        /** The first line of vbt's (native or module) log mentioning the text, or null. */
        String mentioning(String text) {
            return lines.stream().filter(l -> l.contains(text)).findFirst().orElse(null);
        }

        /** vbt's warnings of this case, for a failure's line. */
        String relevant() {
            List<String> w = new ArrayList<>();
            for (String l : lines) {
                if (l.startsWith("WARNING") || l.startsWith("SEVERE")) {
                    w.add(l);
                }
            }
            return w.isEmpty() ? "" : "; vbt logged: " + String.join(" | ", w);
        }

        @Override
        public void publish(LogRecord r) {
            String text = r.getMessage();
            if (r.getParameters() != null && text != null) {
                text = java.text.MessageFormat.format(text, r.getParameters());
            }
            lines.add(r.getLevel() + " " + (r.getSourceClassName() == null ? r.getLoggerName() : r.getSourceClassName())
                    + ": " + text);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
