import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.venicedb.blobtransfer.BlobTransferException;
import org.venicedb.blobtransfer.BlobTransferNode;
import org.venicedb.blobtransfer.BootstrapResult;
import org.venicedb.blobtransfer.SnapshotMetadata;
import org.venicedb.blobtransfer.SnapshotSource;

/**
 * What a Venice server or DaVinci client does around a blob-transfer bootstrap, with vbt in place
 * of Venice's Netty transfer path, in one file. Two "hosts" run in this JVM: a sender that has
 * partition 0 of myStore version 1, and a receiver that bootstraps it from a peer list.
 *
 * <pre>
 * Venice (com.linkedin.davinci.blobtransfer)            vbt (org.venicedb.blobtransfer)
 * --------------------------------------------------    -------------------------------------------
 * BlobTransferManagerBuilder / NettyP2PBlobTransfer-    BlobTransferNode.builder().config(props)
 *   Manager(P2PBlobTransferService, NettyFileTransfer-    (the server.properties keys as they are)
 *   Client, BlobFinder, baseDir, stats, ...)
 * manager.start() (P2PBlobTransferService.start())      node.startServer()
 * BlobSnapshotManager: metadata from the Storage-       a SnapshotSource (CheckpointSource below)
 *   MetadataService, then Checkpoint.createCheckpoint
 * manager.get(store, version, partition, tableFormat)   node.bootstrapPartition(store, version,
 *   -> CompletionStage&lt;InputStream&gt;                      partition, tableFormat, peers)
 *                                                          -> BootstrapFuture (a CompletableFuture)
 * BlobFinder.discoverBlobPeers(...)                     the peers argument, or a PeerDiscovery
 * P2PMetadataTransferHandler.updateStorePartition-      BootstrapResult.offsetRecord() /
 *   Metadata: OffsetRecord + StoreVersionState into       storeVersionState(): the host puts them
 *   the StorageMetadataService                            into its StorageMetadataService
 * VenicePeersNotFoundException / VenicePeersAll-        BlobTransferException, Code.NO_PEERS /
 *   FailedException (fall back to Kafka)                  ALL_PEERS_FAILED (fall back to Kafka)
 * manager.close()                                       node.close()
 * </pre>
 *
 * <p>Run with only the jar and this class on the class path (the native library comes out of the
 * jar): {@code java -cp venice-blob-transfer-<version>.jar:<dir of this class> VeniceStyleNode
 * --vbt <path to the vbt command> --work-dir <empty directory>}. The {@code vbt} command writes
 * the sender's partition ({@code vbt gen}); a Venice server would have ingested it from Kafka.
 */
public final class VeniceStyleNode {
    static final String STORE = "myStore";
    static final int VERSION = 1;
    static final int PARTITION = 0;

    public static void main(String[] args) throws Exception {
        Path vbt = null;
        Path work = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--vbt")) {
                vbt = Paths.get(args[i + 1]);
            } else if (args[i].equals("--work-dir")) {
                work = Paths.get(args[i + 1]);
            }
        }
        if (vbt == null || work == null || args.length != 4) {
            System.err.println("usage: VeniceStyleNode --vbt <path to vbt> --work-dir <directory>");
            System.exit(2);
        }

        // 1. Each host's server.properties, with Venice's keys. vbt reads Venice's keys as they
        //    are and ignores the hundreds it has no use for, so a host hands over its whole file.
        Path senderData = work.resolve("sender");
        Path receiverData = work.resolve("receiver");
        Path senderProps = writeServerProperties(work.resolve("sender.properties"), senderData);
        Path receiverProps = writeServerProperties(work.resolve("receiver.properties"), receiverData);

        // 2. The partition the sender already has. Venice keeps RocksDB under
        //    <data.base.path>/rocksdb/<store>_v<version>/<store>_v<version>_<partition>; vbt uses
        //    the same layout. `vbt gen` writes a real RocksDB partition there and records its
        //    offset record and store-version state beside it (see CheckpointSource).
        Path senderRocksdb = senderData.resolve("rocksdb");
        run(vbt, "gen", "--base-dir", senderRocksdb.toString(), "--store", STORE, "--version",
                Integer.toString(VERSION), "--partition", Integer.toString(PARTITION), "--size-mib", "4");

        CheckpointSource source = new CheckpointSource(senderRocksdb);
        // 3. The sender: replaces NettyP2PBlobTransferManager's P2PBlobTransferService (the
        //    Netty server) and BlobSnapshotManager (snapshots, their retention and the
        //    concurrent-user limit, now blob.transfer.* keys the node reads itself).
        try (BlobTransferNode sender = BlobTransferNode.builder()
                .config(load(senderProps))
                .snapshotSource(source)
                .open()) {
            System.out.println("native library: " + BlobTransferNode.librarySource() + " (version "
                    + BlobTransferNode.libraryVersion() + ")");
            int port = sender.startServer(); // manager.start()
            String self = "127.0.0.1:" + port;
            System.out.println("sender: serving " + STORE + "-v" + VERSION + " partition " + PARTITION + " on " + self
                    + " (data.base.path=" + senderData + ")");

            // 4. The receiver: replaces NettyP2PBlobTransferManager.get(...). In Venice the peer
            //    list comes from BlobFinder.discoverBlobPeers (DaVinci: the router's
            //    blob_discovery; a server: the Helix view); here it is written out, with a peer
            //    that is down first, to show peers tried in turn and the one that failed reported.
            List<String> peers = Arrays.asList(deadPeer(), self);
            try (BlobTransferNode receiver = BlobTransferNode.open(load(receiverProps))) {
                BootstrapResult r;
                try {
                    // Venice: BlobTransferTableFormat.BLOCK_BASED_TABLE unless
                    // rocksdb.plain.table.format.enabled (null here means "the node's own").
                    r = receiver.bootstrapPartition(STORE, VERSION, PARTITION, "BLOCK_BASED_TABLE", peers)
                            .get(120, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    // Venice falls back to Kafka on VenicePeersNotFoundException /
                    // VenicePeersAllFailedException; a vbt host does the same on these codes.
                    System.out.println("bootstrap failed: " + e.getCause()
                            + "; a Venice host would now ingest the partition from Kafka");
                    throw e;
                }
                System.out.printf("bootstrap: %s-v%d partition %d from %s in %.2f s: %d files, %d bytes"
                        + " (%d more kept from an earlier attempt) over %d connection(s) into %s%n",
                        STORE, VERSION, PARTITION, r.peer(), r.seconds(), r.files(), r.bytes(),
                        r.resumedBytes(), r.streams(), r.partitionDirectory());
                for (BootstrapResult.FailedPeer f : r.failedPeers()) {
                    System.out.println("  failed peer " + f.peer() + ": " + f.code() + " " + f.message());
                }
                System.out.println("snapshot source: " + source.checkpoints.get() + " checkpoint(s) made on the sender");

                // 5. What the receiver resumes Kafka from. Venice's P2PMetadataTransferHandler does,
                //    with these two arrays:
                //      OffsetRecord rec = new OffsetRecord(offsetRecord, partitionStateSerializer, null);
                //      storageMetadataService.put(topic, partition, rec);
                //      storageMetadataService.computeStoreVersionState(topic, old -> storeVersionStateSerializer
                //          .deserialize(topic, storeVersionState));
                //    and ingestion then consumes the version topic from rec's checkpointed offset.
                //    (`vbt gen` writes Venice's two-byte framing around a stand-in payload, not an
                //    Avro PartitionState; a real sender's bytes are Venice's own.)
                System.out.println("offset record: " + describe(r.offsetRecord(), "PartitionState"));
                System.out.println("store-version state: " + describe(r.storeVersionState(), "StoreVersionState"));
                SnapshotMetadata sent = source.lastMetadata;
                boolean same = Arrays.equals(sent.offsetRecord(), r.offsetRecord())
                        && Arrays.equals(sent.storeVersionState(), r.storeVersionState());
                System.out.println("metadata round trip: " + (same ? "identical" : "DIFFERENT")
                        + " to what the sender's snapshot source captured");
                System.out.println("resume: topic " + STORE + "_v" + VERSION + " partition " + PARTITION
                        + " from the offset in the offset record, partition already in "
                        + receiverData.resolve("rocksdb"));
                if (!same) {
                    System.exit(1);
                }
            }
        }
        System.out.println("example: ok");
    }

    /**
     * Venice's BlobSnapshotManager, reduced to what vbt asks of a host: when a peer asks for a
     * partition, capture its metadata, then write a consistent checkpoint of it into the
     * directory vbt names. vbt serves those files and that metadata, and removes the directory
     * once blob.transfer.snapshot.retention.time.in.min has passed.
     */
    static final class CheckpointSource implements SnapshotSource {
        private final Path rocksdb;
        final AtomicInteger checkpoints = new AtomicInteger();
        volatile SnapshotMetadata lastMetadata;

        CheckpointSource(Path rocksdb) {
            this.rocksdb = rocksdb;
        }

        @Override
        public SnapshotMetadata createSnapshot(String store, int version, int partition, Path directory)
                throws IOException {
            Path db = rocksdb.resolve(store + "_v" + version).resolve(store + "_v" + version + "_" + partition);
            if (!Files.isDirectory(db)) {
                // The requester gets 404 and moves on to its next peer, as with Venice's sender.
                throw new BlobTransferException(BlobTransferException.Code.NOT_FOUND, "no partition " + db);
            }
            // Metadata first, so the checkpoint holds at least everything up to the recorded
            // offset. Venice: storageMetadataService.getLastOffset(topic, partition).toBytes() and
            // the serialized StoreVersionState. Here: what `vbt gen` recorded beside the partition.
            SnapshotMetadata m = readGenMetadata(db.resolveSibling(db.getFileName() + ".metadata.json"));

            // The checkpoint. Venice, on its open database:
            //     Checkpoint.create(rocksDB).createCheckpoint(directory.toString());
            // RocksJava is not packaged for Debian 12 (`apt-cache search rocksdb` lists the C++
            // library and tools, no JNI), and this example has no open database: `vbt gen` wrote
            // the partition and closed it. A closed RocksDB directory is already consistent, so
            // this does what Checkpoint does for one: hard-link the immutable SST files and copy
            // the rest (MANIFEST, CURRENT, OPTIONS), leaving out the LOCK file and info logs.
            // With an open database, only RocksDB's own Checkpoint is safe.
            Files.createDirectory(directory);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(db)) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    if (name.equals("LOCK") || name.startsWith("LOG")) {
                        continue;
                    }
                    if (name.endsWith(".sst")) {
                        Files.createLink(directory.resolve(name), f);
                    } else {
                        Files.copy(f, directory.resolve(name));
                    }
                }
            }
            checkpoints.incrementAndGet();
            lastMetadata = m;
            return m;
        }
    }

    /** A node's server.properties: Venice's keys, plus the one vbt key plaintext needs. */
    static Path writeServerProperties(Path file, Path dataBasePath) throws IOException {
        String text = String.join("\n",
                "# Blob transfer as a Venice server or DaVinci client configures it (Venice's own keys).",
                "data.base.path=" + dataBasePath,
                "# Venice's default is a fixed port; 0 lets the example pick a free one.",
                "davinci.p2p.blob.transfer.server.port=0",
                "blob.transfer.manager.enabled=true",
                "rocksdb.plain.table.format.enabled=false",
                "blob.transfer.snapshot.retention.time.in.min=30",
                "blob.transfer.max.concurrent.snapshot.user=5",
                "blob.transfer.max.timeout.in.min=60",
                "blob.receive.max.timeout.in.min=60",
                "blob.transfer.max.concurrent.blob.receive.replicas=2",
                "blob.transfer.service.write.limit.bytes.per.sec=157286400",
                "blob.transfer.client.read.limit.bytes.per.sec=157286400",
                "# A key vbt has no use for, as a Venice file has hundreds: ignored.",
                "kafka.bootstrap.servers=localhost:9092",
                "",
                "# ---- TLS: Venice's ssl.* keys go here --------------------------------------------",
                "# blob.transfer.ssl.enabled=true and blob.transfer.acl.enabled=true, with ssl.enabled,",
                "# ssl.keystore.location/.password/.type, ssl.key.password and",
                "# ssl.truststore.location/.password/.type as the node already has them (PKCS12 stores,",
                "# read directly; see the README's TLS section). This example runs in plaintext:",
                "blob.transfer.ssl.enabled=false",
                "blob.transfer.acl.enabled=false",
                "# vbt's only key here: plaintext is allowed on loopback only, so bind there.",
                "vbt.server.bind.address=127.0.0.1",
                "");
        Files.createDirectories(file.getParent());
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(text);
        }
        return file;
    }

    static Properties load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }

    /** The sidecar `vbt gen` writes: Venice's BlobTransferPartitionMetadata JSON (base64 arrays). */
    static SnapshotMetadata readGenMetadata(Path sidecar) throws IOException {
        String json = new String(Files.readAllBytes(sidecar), StandardCharsets.UTF_8);
        return new SnapshotMetadata(base64Field(json, "offsetRecord"), base64Field(json, "storeVersionState"));
    }

    private static byte[] base64Field(String json, String name) throws IOException {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([A-Za-z0-9+/=]*)\"").matcher(json);
        if (!m.find()) {
            throw new IOException(name + " missing in " + json);
        }
        return Base64.getDecoder().decode(m.group(1));
    }

    /** Venice's framing: magic byte (24 offset record, 25 store-version state), protocol version, payload. */
    static String describe(byte[] b, String avroRecord) {
        if (b.length < 2) {
            return b.length + " bytes (too short for Venice's framing)";
        }
        byte[] payload = Arrays.copyOfRange(b, 2, b.length);
        boolean text = true;
        for (byte x : payload) {
            text &= x >= 0x20 && x < 0x7f;
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(payload.length, 32); i++) {
            hex.append(String.format("%02x", payload[i] & 0xff));
        }
        return b.length + " bytes, magic " + b[0] + ", " + avroRecord + " protocol version " + b[1] + ", payload "
                + (text ? "\"" + new String(payload, StandardCharsets.US_ASCII) + "\"" : hex + (payload.length > 32 ? "..." : ""));
    }

    /** A loopback port nothing listens on. */
    static String deadPeer() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + s.getLocalPort();
        }
    }

    static void run(Path vbt, String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = vbt.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.toString("UTF-8"));
        }
    }
}
