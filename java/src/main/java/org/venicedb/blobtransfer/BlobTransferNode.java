package org.venicedb.blobtransfer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A vbt node: serves partitions to peers and bootstraps partitions from them, over Venice's own
 * blob-transfer protocol. It runs on the native library's own threads; every method may be called
 * from any thread.
 *
 * <pre>{@code
 * Map<String, String> config = new HashMap<>();
 * config.put("vbt.base.dir", "/data/rocksdb");
 * config.put("davinci.p2p.blob.transfer.server.port", "7700");
 * try (BlobTransferNode node = BlobTransferNode.open(config)) {
 *     node.startServer();
 *     BootstrapResult r = node.bootstrapPartition("myStore", 1, 0, null, Arrays.asList("peer-a:7700")).join();
 *     // resume Kafka from r.offsetRecord()
 * }
 * }</pre>
 *
 * <p>Configuration uses Venice's own keys (a Venice host can pass its properties straight
 * through; unknown keys are ignored) and {@code vbt.*} keys for the rest; a bad value throws
 * {@link BlobTransferException} with {@link BlobTransferException.Code#CONFIG} naming the key.
 * A node with a {@link SnapshotSource} serves the host's checkpoints, created under
 * {@code vbt.snapshot.dir} (default {@code <vbt.base.dir>/.vbt_host_snapshots}).
 *
 * <p>{@link #close()} cancels running bootstraps (their futures complete with
 * {@link BlobTransferException.Code#CANCELLED}), stops the server and frees the native node. It is
 * idempotent, may race any other call, and every call after it throws
 * {@link IllegalStateException}. A node that is never closed is closed the same way once it is
 * unreachable (a cleaner, see {@link NativeCleaner}): a safety net for a host's bug, not a
 * substitute for {@code close()}, since it runs whenever the garbage collector gets to it and not
 * at all while a running bootstrap, or a callback the node holds, still references the node.
 */
public final class BlobTransferNode implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    private static final class DefaultExecutorHolder {
        static final Executor INSTANCE = defaultExecutor();
    }

    /** A small pool of daemon threads that complete bootstrap futures. */
    private static Executor defaultExecutor() {
        AtomicInteger seq = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "vbt-completion-" + seq.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), factory);
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /**
     * The native node's handle and everything that guards it, apart from the Java object so the
     * cleaner can free it without referencing the node.
     *
     * <p>Lifetime: every native call holds the read lock (taken with tryLock, so no call ever
     * waits); {@link #close()} marks the handle closing, takes the write lock (waiting only for
     * calls already inside native code, which are all short), zeroes the handle, releases, then
     * frees the native node. No native call can therefore use a freed node, and a callback that
     * calls the node while it closes gets IllegalStateException instead of a deadlock. The same
     * lock makes the cleaner safe without Java 9's reachabilityFence: the JIT may treat a node as
     * unreachable while one of its methods is still inside native code, but the cleaner's close
     * then waits for that call's read lock (at worst a call that starts on a node nothing else
     * references sees IllegalStateException).
     */
    private static final class Handle {
        private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        private final AtomicBoolean closing = new AtomicBoolean();
        private long value; // guarded by lock

        Handle(long value) {
            this.value = value;
        }

        long enter() {
            if (closing.get() || !lock.readLock().tryLock()) {
                throw closed();
            }
            if (value == 0) {
                lock.readLock().unlock();
                throw closed();
            }
            return value;
        }

        void exit() {
            lock.readLock().unlock();
        }

        boolean cancelQuietly(long opId) {
            if (opId <= 0 || closing.get() || !lock.readLock().tryLock()) {
                return false;
            }
            try {
                return value != 0 && nativeCancel(value, opId);
            } finally {
                lock.readLock().unlock();
            }
        }

        /** The one release of the native node, for close() and the cleaner alike; idempotent. */
        void close() {
            if (!closing.compareAndSet(false, true)) {
                return;
            }
            if (lock.getReadHoldCount() > 0) {
                // This thread is inside a native call of this node (a log record forwarded to the
                // host): waiting for the write lock here would wait for ourselves.
                Thread t = new Thread(this::release, "vbt-close");
                t.setDaemon(true);
                t.start();
                return;
            }
            release();
        }

        private void release() {
            long h;
            lock.writeLock().lock();
            try {
                h = value;
                value = 0;
            } finally {
                lock.writeLock().unlock();
            }
            if (h != 0) {
                nativeClose(h);
            }
        }
    }

    private final Handle handle;
    private final Executor completionExecutor;
    // Safety net for a node that is never closed: frees the native node (server, threads, memory)
    // once the node is unreachable. Its action is handle::close, which holds no reference to the node.
    private final NativeCleaner.Cleanable cleanable;

    private BlobTransferNode(long handle, Executor completionExecutor) {
        this.handle = new Handle(handle);
        this.completionExecutor = completionExecutor;
        this.cleanable = NativeCleaner.register(this, this.handle::close);
    }

    /** A node configured by {@code config} (see the class docs). */
    public static BlobTransferNode open(Map<String, String> config) {
        return builder().config(config).open();
    }

    /** A node configured by {@code config}; property defaults are included. */
    public static BlobTransferNode open(Properties config) {
        return builder().config(config).open();
    }

    /**
     * A node that serves the host's checkpoints through {@code source} and finds peers through
     * {@code discovery} when a bootstrap names none; either may be null.
     */
    public static BlobTransferNode open(Map<String, String> config, SnapshotSource source, PeerDiscovery discovery) {
        return builder().config(config).snapshotSource(source).peerDiscovery(discovery).open();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link BlobTransferNode}. */
    public static final class Builder {
        private final Map<String, String> config = new LinkedHashMap<>();
        private SnapshotSource source;
        private CheckpointSource checkpoints;
        private MetadataHook metadataHook;
        private SendListener sendListener;
        private OriginPolicy originPolicy;
        private byte[] tlsKey;
        private byte[][] tlsChain;
        private byte[][] tlsTrusted;
        private PeerDiscovery discovery;
        private LogSink logSink;
        private LogSink.Level logLevel = LogSink.Level.INFO;
        private Executor executor;

        private Builder() {}

        /** Adds every entry (later entries win). */
        public Builder config(Map<String, String> entries) {
            Objects.requireNonNull(entries, "config");
            for (Map.Entry<String, String> e : entries.entrySet()) {
                set(e.getKey(), e.getValue());
            }
            return this;
        }

        /** Adds every property, defaults included. */
        public Builder config(Properties properties) {
            Objects.requireNonNull(properties, "config");
            for (String key : properties.stringPropertyNames()) {
                set(key, properties.getProperty(key));
            }
            return this;
        }

        public Builder set(String key, String value) {
            config.put(Objects.requireNonNull(key, "config key"),
                    Objects.requireNonNull(value, () -> "value of config key " + key));
            return this;
        }

        /** Serve the host's checkpoints instead of partitions under the base directory. */
        public Builder snapshotSource(SnapshotSource source) {
            this.source = source;
            return this;
        }

        /**
         * Serve checkpoints the host hands out per transfer and takes back when the send ends (see
         * {@link CheckpointSource}); wins over {@link #snapshotSource}.
         */
        public Builder checkpointSource(CheckpointSource source) {
            this.checkpoints = source;
            return this;
        }

        /** Give each received partition's metadata to {@code hook} before it is published. */
        public Builder metadataHook(MetadataHook hook) {
            this.metadataHook = hook;
            return this;
        }

        /**
         * The node's TLS identity from the host's own key material instead of files: a JVM reads
         * whatever {@link java.security.KeyStore} type it supports (Venice's test stores are JKS)
         * and hands over the private key, its certificate chain (the node's own certificate
         * first) and the trusted CAs. Wins over {@code vbt.ssl.*} files and {@code ssl.keystore.*}
         * / {@code ssl.truststore.*} stores; TLS itself is still switched on by
         * {@code blob.transfer.ssl.enabled=true} (with {@code blob.transfer.acl.enabled=true}).
         *
         * @throws IllegalArgumentException if the key cannot be encoded as PKCS#8, a certificate
         *     cannot be encoded, or the chain or the trusted set is empty
         */
        public Builder tlsIdentity(java.security.PrivateKey key, java.security.cert.X509Certificate[] chain,
                java.util.Collection<java.security.cert.X509Certificate> trusted) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(chain, "chain");
            Objects.requireNonNull(trusted, "trusted");
            if (!"PKCS#8".equals(key.getFormat()) || key.getEncoded() == null) {
                throw new IllegalArgumentException("the private key must encode as PKCS#8, not " + key.getFormat());
            }
            if (chain.length == 0 || trusted.isEmpty()) {
                throw new IllegalArgumentException("tlsIdentity needs a certificate chain and at least one trusted CA");
            }
            this.tlsKey = key.getEncoded();
            this.tlsChain = encode(java.util.Arrays.asList(chain));
            this.tlsTrusted = encode(trusted);
            return this;
        }

        private static byte[][] encode(java.util.Collection<java.security.cert.X509Certificate> certs) {
            byte[][] out = new byte[certs.size()][];
            int i = 0;
            for (java.security.cert.X509Certificate c : certs) {
                try {
                    out[i++] = Objects.requireNonNull(c, "certificate").getEncoded();
                } catch (java.security.cert.CertificateEncodingException e) {
                    throw new IllegalArgumentException("cannot encode certificate " + c.getSubjectX500Principal(), e);
                }
            }
            return out;
        }

        /** Tell {@code listener} of every whole file a send wrote. */
        public Builder sendListener(SendListener listener) {
            this.sendListener = listener;
            return this;
        }

        /**
         * Classify each peer this node serves over TLS as Venice's servers do, with the host's
         * identity parser and store ACL (see {@link OriginPolicy}). Without one, every peer the
         * same-issuer ACL admits is served alike (Venice's DaVinci behaviour).
         */
        public Builder originPolicy(OriginPolicy policy) {
            this.originPolicy = policy;
            return this;
        }

        /** Ask {@code discovery} for peers when a bootstrap names none. */
        public Builder peerDiscovery(PeerDiscovery discovery) {
            this.discovery = discovery;
            return this;
        }

        /**
         * Installs {@code sink} as the process-wide log sink when the node opens (see
         * {@link BlobTransferNode#setLogSink}); it stays installed after the node closes.
         */
        public Builder logSink(LogSink sink, LogSink.Level level) {
            this.logSink = sink;
            this.logLevel = Objects.requireNonNull(level, "level");
            return this;
        }

        /**
         * Where bootstrap futures are completed (default: a small pool of daemon threads named
         * {@code vbt-completion-N}). It should hand tasks to other threads: an executor that runs
         * them inline runs user continuations on vbt's callback thread, delaying other completions.
         */
        public Builder completionExecutor(Executor executor) {
            this.executor = executor;
            return this;
        }

        public BlobTransferNode open() {
            if (logSink != null) {
                setLogSink(logSink, logLevel);
            }
            String[] keys = config.keySet().toArray(new String[0]);
            String[] values = config.values().toArray(new String[0]);
            long handle = nativeOpen(keys, values,
                    source == null ? null : new SnapshotSourceAdapter(source),
                    discovery == null ? null : new PeerDiscoveryAdapter(discovery),
                    checkpoints == null ? null : new CheckpointSourceAdapter(checkpoints),
                    metadataHook == null ? null : new MetadataHookAdapter(metadataHook),
                    sendListener == null ? null : new SendListenerAdapter(sendListener),
                    originPolicy == null ? null : new OriginPolicyAdapter(originPolicy),
                    tlsKey, tlsChain, tlsTrusted);
            try {
                return new BlobTransferNode(handle, executor != null ? executor : DefaultExecutorHolder.INSTANCE);
            } catch (Throwable t) { // e.g. no thread for the cleaner: do not leak the native node
                nativeClose(handle);
                throw t;
            }
        }
    }

    /**
     * Starts serving on {@code davinci.p2p.blob.transfer.server.port} ({@code 0} picks a free port)
     * and returns the port it is bound to.
     */
    public int startServer() {
        long h = handle.enter();
        try {
            return nativeStartServer(h);
        } finally {
            handle.exit();
        }
    }

    /**
     * Bootstraps one partition from peers into the base directory.
     *
     * @param tableFormat {@code BLOCK_BASED_TABLE} or {@code PLAIN_TABLE}; null for the node's own
     *     ({@code rocksdb.plain.table.format.enabled})
     * @param peers {@code host[:port]} values tried in turn until one succeeds; null or empty to ask
     *     the node's {@link PeerDiscovery}
     * @return completes with the installed partition, or exceptionally with a
     *     {@link BlobTransferException} (every peer failed, cancelled, node closed, ...)
     * @throws BlobTransferException at once for a bad argument ({@code INVALID_ARGUMENT}), a node
     *     without a base directory ({@code CONFIG}), or a bootstrap of the same partition already in
     *     flight on this node ({@code ALREADY_IN_PROGRESS})
     * @throws IllegalStateException if the node is closed
     */
    public BootstrapFuture bootstrapPartition(String store, int version, int partition, String tableFormat,
            List<String> peers) {
        return bootstrapPartition(BootstrapRequest.builder(store, version, partition).tableFormat(tableFormat)
                .peers(peers).build());
    }

    /**
     * Bootstraps the partition {@code request} names, as
     * {@link #bootstrapPartition(String, int, int, String, List)} does, reporting progress to the
     * request's {@link ProgressListener} if it has one.
     */
    public BootstrapFuture bootstrapPartition(BootstrapRequest request) {
        Objects.requireNonNull(request, "request");
        String[] peerArray = request.peers().toArray(new String[0]);
        ProgressListener listener = request.progressListener();
        BootstrapFuture future = new BootstrapFuture(this, completionExecutor);
        long h = handle.enter();
        try {
            future.started(nativeBootstrap(h, request.store(), request.version(), request.partition(),
                    request.tableFormat(), peerArray, request.preservePeerOrder(), future,
                    listener == null ? null : new ProgressListenerAdapter(listener)));
        } finally {
            handle.exit();
        }
        return future;
    }

    /** Bootstraps in the node's own table format from the peers {@link PeerDiscovery} names. */
    public BootstrapFuture bootstrapPartition(String store, int version, int partition) {
        return bootstrapPartition(store, version, partition, null, Collections.<String>emptyList());
    }

    /**
     * Asks a running bootstrap to stop (its future then completes with
     * {@link BlobTransferException.Code#CANCELLED}); false if it is not running.
     */
    public boolean cancel(long opId) {
        long h = handle.enter();
        try {
            return nativeCancel(h, opId);
        } finally {
            handle.exit();
        }
    }

    /**
     * Sets one of the adaptive throttler's signals (Venice's {@code AdaptiveThrottlerSignalService}):
     * {@code "LIMITER"} (read latency or heartbeat lag too high: slow blob traffic down) or
     * {@code "BOOSTER"} (speed it up). Each refresh tick applies Venice's rule to the factor
     * (20–200 %) of the read and write limits.
     *
     * @throws BlobTransferException {@code CONFIG} when the adaptive throttler is off
     *     ({@code server.adaptive.throttler.enabled} and
     *     {@code server.blob.transfer.adaptive.throttler.enabled} must both be true);
     *     {@code INVALID_ARGUMENT} for another signal name
     */
    public void setThrottleSignal(String signal, boolean on) {
        Objects.requireNonNull(signal, "signal");
        long h = handle.enter();
        try {
            nativeSetThrottleSignal(h, signal, on);
        } finally {
            handle.exit();
        }
    }

    /** Like {@link #cancel(long)}, but false instead of an exception when the node is closed. */
    boolean cancelQuietly(long opId) {
        return handle.cancelQuietly(opId);
    }

    public boolean isClosed() {
        return handle.closing.get();
    }

    /**
     * Cancels running bootstraps and completes their futures, stops the server, frees the native
     * node. Idempotent: a second call (or one racing the first) returns at once. Called from
     * inside a call on this node (a log sink), the close finishes on another thread.
     */
    @Override
    public void close() {
        cleanable.clean(); // runs handle.close() unless it already ran (here or in the cleaner)
    }

    /**
     * Forwards the native library's log records at {@code level} and above to {@code sink}
     * (process-wide, replacing any earlier sink); null stops forwarding.
     *
     * @return false if another Rust logger already owns this process's log records
     */
    public static boolean setLogSink(LogSink sink, LogSink.Level level) {
        Objects.requireNonNull(level, "level");
        return nativeSetLogSink(sink == null ? null : new LogSinkAdapter(sink), sink == null ? 0 : level.number());
    }

    /** The version of the loaded native library. */
    public static String libraryVersion() {
        return NativeLibrary.nativeVersion();
    }

    /**
     * Where the native library was loaded from, for a host's startup log: the file
     * {@code -Dvbt.library.path} names, {@code java.library.path}, or the jar's own copy
     * ({@code jar:file:…!/native/<os>-<arch>/… extracted to …}).
     */
    public static String librarySource() {
        return NativeLibrary.loadedFrom();
    }

    private static IllegalStateException closed() {
        return new IllegalStateException("the BlobTransferNode is closed");
    }

    @Override
    public String toString() {
        return "BlobTransferNode[" + (isClosed() ? "closed" : "open") + "]";
    }

    private static native long nativeOpen(String[] keys, String[] values, SnapshotSourceAdapter source,
            PeerDiscoveryAdapter discovery, CheckpointSourceAdapter checkpoints, MetadataHookAdapter metadataHook,
            SendListenerAdapter sendListener, OriginPolicyAdapter originPolicy, byte[] tlsKey, byte[][] tlsChain, byte[][] tlsTrusted);

    private static native int nativeStartServer(long handle);

    private static native long nativeBootstrap(long handle, String store, int version, int partition,
            String tableFormat, String[] peers, boolean preservePeerOrder, BootstrapFuture future,
            ProgressListenerAdapter progress);

    private static native void nativeSetThrottleSignal(long handle, String signal, boolean on);

    private static native boolean nativeCancel(long handle, long opId);

    private static native void nativeClose(long handle);

    private static native boolean nativeSetLogSink(LogSinkAdapter sink, int level);
}
