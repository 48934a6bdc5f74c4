package org.venicedb.blobtransfer.venice;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Collection;
import org.venicedb.blobtransfer.BlobTransferNode;
import org.venicedb.blobtransfer.BootstrapRequest;
import org.venicedb.blobtransfer.BootstrapResult;
import org.venicedb.blobtransfer.Checkpoint;
import org.venicedb.blobtransfer.CheckpointSource;
import org.venicedb.blobtransfer.MetadataHook;
import org.venicedb.blobtransfer.OriginPolicy;
import org.venicedb.blobtransfer.SendListener;

/**
 * Every call this module makes into the parts of vbt's Java API that exist for it (metadata hook,
 * checkpoint source, send listener, throttle signal, TLS identity, peer order, probe-only
 * failures), in one place, so a change of those names touches only this file.
 */
final class Core {
    private Core() {}

    /** The adaptive throttler's signals, as the C API names them. */
    static final String LIMITER = "LIMITER";
    static final String BOOSTER = "BOOSTER";

    static BootstrapRequest.Builder preservePeerOrder(BootstrapRequest.Builder b, boolean preserve) {
        return b.preservePeerOrder(preserve);
    }

    /** True when the peer only failed the connectivity check (nothing was asked of it). */
    static boolean probeOnly(BootstrapResult.FailedPeer f) {
        return f.probeOnly();
    }

    static BlobTransferNode.Builder metadataHook(BlobTransferNode.Builder b, MetadataWriter writer) {
        MetadataHook hook = writer::beforePublish;
        return b.metadataHook(hook);
    }

    static BlobTransferNode.Builder checkpointSource(BlobTransferNode.Builder b, SnapshotManagerCheckpoints source) {
        CheckpointSource s = (store, version, partition) -> {
            SnapshotManagerCheckpoints.Acquired a = source.acquire(store, version, partition);
            return new Checkpoint(a.directory, a.metadata, a.release);
        };
        return b.checkpointSource(s);
    }

    static BlobTransferNode.Builder sendListener(BlobTransferNode.Builder b, FileSentListener listener) {
        SendListener l = listener::onFileSent;
        return b.sendListener(l);
    }

    /** Venice's origin rule with the node's identity parser and store access controller. */
    static BlobTransferNode.Builder originPolicy(BlobTransferNode.Builder b, ClientOrigin origin) {
        OriginPolicy p = new OriginPolicy() {
            @Override
            public String identity(X509Certificate certificate) {
                return origin.identity(certificate);
            }

            @Override
            public boolean mayRead(X509Certificate certificate, String store) throws Exception {
                return origin.mayRead(certificate, store);
            }
        };
        return b.originPolicy(p);
    }

    static BlobTransferNode.Builder tlsIdentity(BlobTransferNode.Builder b, PrivateKey key, X509Certificate[] chain,
            Collection<X509Certificate> trusted) {
        return b.tlsIdentity(key, chain, trusted);
    }

    static void setThrottleSignal(BlobTransferNode node, String signal, boolean on) {
        node.setThrottleSignal(signal, on);
    }

    /** What {@link SendListener} hands over, without naming vbt's interface elsewhere. */
    interface FileSentListener {
        void onFileSent(String store, int version, int partition, String peer, long bytes);
    }
}
