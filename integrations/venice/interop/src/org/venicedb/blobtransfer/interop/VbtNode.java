package org.venicedb.blobtransfer.interop;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import java.nio.file.Path;
import java.util.Properties;
import org.venicedb.blobtransfer.venice.VbtBlobTransferManager;

/**
 * A Venice node switched to vbt: {@link VbtBlobTransferManager} made as the patched
 * {@code BlobTransferManagerBuilder} makes it (its six-argument constructor), from the node's
 * properties, with the same TLS keys a Venice node carries. vbt's sender binds one loopback
 * address ({@code vbt.server.bind.address}), so that the Venice node's sender, which binds every
 * address, can use another port of the same machine.
 */
final class VbtNode implements AutoCloseable {
    final Path baseDir;
    final NodeParts.Metadata metadata = new NodeParts.Metadata();
    final BlobTransferManager<Void> manager;

    /**
     * @param tls null for plaintext
     */
    VbtNode(Path baseDir, String bindAddress, int serverPort, int clientPort, String peerHost, VeniceNode.Identity tls,
            BlobSnapshotManager snapshots) throws Exception {
        this.baseDir = baseDir;
        Properties p = tls != null ? VeniceNode.properties(baseDir.getParent(), serverPort, tls) : new Properties();
        p.setProperty("data.base.path", baseDir.getParent().toString());
        p.setProperty("davinci.p2p.blob.transfer.server.port", Integer.toString(serverPort));
        p.setProperty("davinci.p2p.blob.transfer.client.port", Integer.toString(clientPort));
        p.setProperty("vbt.server.bind.address", bindAddress);
        p.setProperty("blob.transfer.ssl.enabled", Boolean.toString(tls != null));
        p.setProperty("blob.transfer.acl.enabled", Boolean.toString(tls != null));
        // Venice's 150 MiB/s limits are lifted on both kinds of node, so that times compare.
        p.setProperty("blob.transfer.client.read.limit.bytes.per.sec", "0");
        p.setProperty("blob.transfer.service.write.limit.bytes.per.sec", "0");
        manager = new VbtBlobTransferManager(p, new NodeParts.OnePeer(peerHost), snapshots, metadata.service, () -> null,
                NodeParts.versionedStats());
        manager.start();
    }

    @Override
    public void close() throws Exception {
        manager.close();
    }
}
