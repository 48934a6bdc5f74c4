/**
 * Java surface of vbt, the Venice blob-transfer library: bootstraps RocksDB partitions peer to
 * peer over Venice's own protocol.
 *
 * <p>{@link org.venicedb.blobtransfer.BlobTransferNode} is the one object: open it with Venice's
 * configuration keys, {@code startServer()} to serve partitions, {@code bootstrapPartition(...)}
 * to fetch one, {@code close()} when done. A host that owns its RocksDB plugs in a
 * {@link org.venicedb.blobtransfer.SnapshotSource}; peers come from the request or from a
 * {@link org.venicedb.blobtransfer.PeerDiscovery}; log records go to a
 * {@link org.venicedb.blobtransfer.LogSink}. Every failure is a
 * {@link org.venicedb.blobtransfer.BlobTransferException} with a stable code.
 *
 * <p>Threads: the native library runs its own threads. Host callbacks (snapshot source, peer
 * discovery, log sink) run on them, attached to the JVM as daemon threads named after the native
 * thread ({@code vbt-worker-N}, {@code vbt-callbacks}). Bootstrap futures are completed on the
 * node's completion executor, never on a vbt thread.
 *
 * <p>Loading: the library {@code libvenice_blob_transfer} is loaded from the file named by the
 * system property {@code vbt.library.path}, else by name from {@code java.library.path}, else from
 * the copy inside the venice-blob-transfer jar ({@code native/<os>-<arch>/}), extracted to a
 * private temporary file that is checked and deleted once loaded. The classes are Java 8
 * bytecode.
 */
package org.venicedb.blobtransfer;
