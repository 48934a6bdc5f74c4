package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils.BlobTransferTableFormat;
import com.linkedin.venice.kafka.protocol.state.StoreVersionState;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A receiving Venice node in its own JVM that dies inside the metadata write: right after it
 * stored the store-version state (the offset record is stored before it), before vbt could
 * publish the partition. Exits with {@link #HALTED} when it died there, 1 otherwise.
 *
 * <p>Arguments: data.base.path, metadata directory, own address, port, the peer's address.
 */
public final class CrashingReceiver {
    static final int HALTED = 77;

    private CrashingReceiver() {}

    public static void main(String[] args) throws Exception {
        Path data = Paths.get(args[0]);
        Path metadataDir = Paths.get(args[1]);
        String host = args[2];
        int port = Integer.parseInt(args[3]);
        Fakes.MetadataService metadata = new Fakes.MetadataService(data.resolve("rocksdb"), metadataDir) {
            @Override
            public synchronized StoreVersionState computeStoreVersionState(String topic,
                    Function<StoreVersionState, StoreVersionState> f) {
                StoreVersionState s = super.computeStoreVersionState(topic, f);
                System.out.println("metadata stored; halting before the publish");
                System.out.flush();
                Runtime.getRuntime().halt(HALTED);
                return s;
            }
        };
        java.nio.file.Files.createDirectories(data.resolve("rocksdb"));
        Fakes.SnapshotManager snapshots = new Fakes.SnapshotManager(data.resolve("rocksdb"), metadata,
                BlobTransferTableFormat.BLOCK_BASED_TABLE, TimeUnit.MINUTES.toMillis(60));
        BlobTransferManager<Void> m = new VbtBlobTransferManager(TestNode.props(data, host, port),
                new Fakes.Finder(args[4]), snapshots, metadata, () -> null, new Fakes.Stats());
        try {
            m.start();
            m.get(TestNode.STORE, 1, 0, BlobTransferTableFormat.BLOCK_BASED_TABLE).toCompletableFuture().get(120,
                    TimeUnit.SECONDS);
            System.out.println("the bootstrap completed: the receiver did not die in the metadata write");
        } catch (Exception e) {
            System.out.println("the bootstrap failed: " + e);
        } finally {
            m.close();
        }
        System.exit(1);
    }
}
