package org.venicedb.blobtransfer.interop;

import com.linkedin.davinci.blobtransfer.BlobSnapshotManager;
import com.linkedin.davinci.blobtransfer.BlobTransferAclHandler;
import com.linkedin.davinci.blobtransfer.BlobTransferGlobalTrafficShapingHandlerHolder;
import com.linkedin.davinci.blobtransfer.BlobTransferManager;
import com.linkedin.davinci.blobtransfer.BlobTransferUtils;
import com.linkedin.davinci.blobtransfer.NettyP2PBlobTransferManager;
import com.linkedin.davinci.blobtransfer.client.NettyFileTransferClient;
import com.linkedin.davinci.blobtransfer.server.P2PBlobTransferService;
import com.linkedin.davinci.config.VeniceConfigLoader;
import com.linkedin.venice.security.SSLFactory;
import com.linkedin.venice.utils.LogContext;
import com.linkedin.venice.utils.VeniceProperties;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.traffic.GlobalChannelTrafficShapingHandler;
import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;

/**
 * A Venice node's blob transfer as Venice's {@code BlobTransferManagerBuilder} makes it: Venice's
 * {@link NettyP2PBlobTransferManager} over Venice's {@link P2PBlobTransferService} (the sender)
 * and {@link NettyFileTransferClient} (the receiver), with Venice's SSL factory and
 * {@link BlobTransferAclHandler} made from the node's {@code ssl.*} keys by
 * {@link BlobTransferUtils#createSSLFactoryForBlobTransferInDVC} and
 * {@link BlobTransferUtils#createAclHandler}, as {@code DaVinciBackend} does. Venice's settings
 * are its defaults, except that the global rate limits are lifted (0) so that times compare.
 *
 * <p>Two things are added around Venice's pipelines, neither changing them: each pipeline is
 * watched for the TLS session it negotiated (protocol, cipher suite, peer); and in plaintext, which
 * Venice's client does not support (its pipeline always starts with an SSL handler), the client's
 * {@code "ssl"} handler is removed from each new channel before it connects.
 */
final class VeniceNode implements AutoCloseable {
    static final String STORE_TYPE = "PKCS12";

    final Path baseDir;
    final NodeParts.Metadata metadata = new NodeParts.Metadata();
    /** "protocol cipher" of each TLS session this node saw, as its SSL engine reports it. */
    final List<String> tlsSessions = new CopyOnWriteArrayList<>();
    final BlobTransferManager<Void> manager;

    /**
     * @param tls null for plaintext
     */
    VeniceNode(Path baseDir, int serverPort, int clientPort, String peerHost, Identity tls, BlobSnapshotManager snapshots)
            throws Exception {
        this.baseDir = baseDir;
        Optional<SSLFactory> sslFactory = Optional.empty();
        Optional<BlobTransferAclHandler> acl = Optional.empty();
        if (tls != null) {
            VeniceConfigLoader config = new VeniceConfigLoader(new VeniceProperties(properties(baseDir.getParent(), serverPort, tls)));
            sslFactory = BlobTransferUtils.createSSLFactoryForBlobTransferInDVC(config);
            acl = BlobTransferUtils.createAclHandler(config, Optional.empty(), false);
        }
        GlobalChannelTrafficShapingHandler shaper =
                BlobTransferGlobalTrafficShapingHandlerHolder.getGlobalChannelTrafficShapingHandlerInstance(0, 0);
        P2PBlobTransferService service = new P2PBlobTransferService(serverPort, baseDir.toString(), 60, snapshots, shaper,
                NodeParts.stats(), sslFactory, acl, 30, 2L << 20, 25, false);
        NettyFileTransferClient client = new NettyFileTransferClient(clientPort, baseDir.toString(), metadata.service,
                30, 20, 60, 4, shaper, NodeParts.stats(), tls != null ? sslFactory : Optional.of(unusedSslFactory()),
                () -> null, LogContext.EMPTY);
        watchServer(service);
        watchClient(client, tls == null);
        manager = new NettyP2PBlobTransferManager(service, client, new NodeParts.OnePeer(peerHost), baseDir.toString(),
                NodeParts.versionedStats(), 20, LogContext.EMPTY);
        manager.start();
    }

    /** The keys a Venice node carries for blob transfer in TLS (Venice's names); partitions are in {@code <data.base.path>/rocksdb}. */
    static Properties properties(Path dataBasePath, int port, Identity tls) {
        Properties p = new Properties();
        p.setProperty("data.base.path", dataBasePath.toString());
        p.setProperty("davinci.p2p.blob.transfer.server.port", Integer.toString(port));
        p.setProperty("davinci.p2p.blob.transfer.client.port", Integer.toString(port));
        p.setProperty("blob.transfer.manager.enabled", "true");
        p.setProperty("blob.transfer.ssl.enabled", "true");
        p.setProperty("blob.transfer.acl.enabled", "true");
        p.setProperty("ssl.enabled", "true");
        p.setProperty("ssl.keystore.location", tls.keyStore.toString());
        p.setProperty("ssl.keystore.password", tls.password);
        p.setProperty("ssl.keystore.type", STORE_TYPE);
        p.setProperty("ssl.key.password", tls.password);
        p.setProperty("ssl.truststore.location", tls.trustStore.toString());
        p.setProperty("ssl.truststore.password", tls.password);
        p.setProperty("ssl.truststore.type", STORE_TYPE);
        p.setProperty("ssl.keymanager.algorithm", "SunX509");
        p.setProperty("ssl.trustmanager.algorithm", "SunX509");
        p.setProperty("ssl.secure.random.implementation", "SHA1PRNG");
        // What Venice's server config requires of any node; unused by blob transfer.
        p.setProperty("cluster.name", "interop");
        p.setProperty("zookeeper.address", "127.0.0.1:2181");
        p.setProperty("kafka.bootstrap.servers", "127.0.0.1:9092");
        p.setProperty("listener.port", "0");
        return p;
    }

    /** Venice's client asks its SSL factory for an engine even in plaintext; this one is never used. */
    private static SSLFactory unusedSslFactory() {
        return (SSLFactory) Proxy.newProxyInstance(VeniceNode.class.getClassLoader(), new Class<?>[] {SSLFactory.class},
                (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "getSSLContext":
                            try {
                                return SSLContext.getDefault();
                            } catch (NoSuchAlgorithmException e) {
                                throw new IllegalStateException(e);
                            }
                        case "isSslEnabled":
                            return false;
                        case "hashCode":
                            return 0;
                        case "equals":
                            return proxy == args[0];
                        case "toString":
                            return "plaintext";
                        default:
                            return null;
                    }
                });
    }

    private void watchClient(NettyFileTransferClient client, boolean plaintext) throws ReflectiveOperationException {
        Bootstrap bootstrap = (Bootstrap) field(NettyFileTransferClient.class, "clientBootstrap").get(client);
        ChannelHandler venice = bootstrap.config().handler();
        bootstrap.handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(venice); // Venice's initializer runs here, on the registered channel
                SslHandler ssl = (SslHandler) ch.pipeline().get("ssl");
                if (plaintext) {
                    ch.pipeline().remove("ssl");
                } else if (ssl != null) {
                    ssl.handshakeFuture().addListener(f -> {
                        if (f.isSuccess()) {
                            record(ssl.engine().getSession());
                        }
                    });
                }
            }
        });
    }

    private void watchServer(P2PBlobTransferService service) throws ReflectiveOperationException {
        ServerBootstrap bootstrap = (ServerBootstrap) field(P2PBlobTransferService.class, "serverBootstrap").get(service);
        ChannelHandler venice = bootstrap.config().childHandler();
        bootstrap.childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(venice); // Venice's initializer runs here, on the registered channel
                // The first request that reaches the file handler has passed TLS and the ACL.
                ch.pipeline().addBefore("p2pFileTransferHandler", "interopTlsWatch", new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        for (Map.Entry<String, ChannelHandler> e : ctx.pipeline()) {
                            if (e.getValue() instanceof SslHandler) {
                                record(((SslHandler) e.getValue()).engine().getSession());
                                break;
                            }
                        }
                        ctx.pipeline().remove(this);
                        ctx.fireChannelRead(msg);
                    }
                });
            }
        });
    }

    private void record(SSLSession s) {
        tlsSessions.add(s.getProtocol() + " " + s.getCipherSuite());
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    @Override
    public void close() throws Exception {
        manager.close();
    }

    /** A node's key store and trust store (PKCS12, one password). */
    static final class Identity {
        final Path keyStore;
        final Path trustStore;
        final String password;

        Identity(Path keyStore, Path trustStore, String password) {
            this.keyStore = keyStore;
            this.trustStore = trustStore;
            this.password = password;
        }

        @Override
        public String toString() {
            return keyStore.getFileName() + " trusting " + trustStore.getFileName();
        }
    }
}
