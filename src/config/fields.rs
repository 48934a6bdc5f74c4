//! The typed configuration: every setting vbt uses, with Venice's defaults. Which key sets which
//! field, and how its value is read, is the table in [`super::keys`].

use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::TableFormat;

/// Venice's Avro protocol versions at the reference commit (PARTITION_STATE, STORE_VERSION_STATE).
pub const DEFAULT_PARTITION_STATE_SCHEMA_VERSION: u8 = 24;
pub const DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION: u8 = 7;

/// Where the node's certificate and trusted CAs come from, and the ACL settings: PEM files
/// (`vbt.ssl.*`) and Venice's own Java stores (`ssl.*`, `CommonConfigKeys`, as every Venice node's
/// properties carry them). For each half (the node's certificate and key; the trusted CAs) a
/// `vbt.ssl.*` PEM file, when given, wins over the `ssl.*` store.
#[derive(Clone, Default)]
pub struct TlsFiles {
    /// `vbt.ssl.cert.chain.path` (PEM).
    pub cert_chain: Option<PathBuf>,
    /// `vbt.ssl.private.key.path` (PEM).
    pub private_key: Option<PathBuf>,
    /// `vbt.ssl.trust.ca.path` (PEM).
    pub trust_ca: Option<PathBuf>,
    /// `vbt.ssl.acl.allowed.subjects`: subject DNs (RFC 4514, `;`-separated) admitted besides the
    /// issuer rule; empty = issuer rule only.
    pub allowed_subjects: Vec<String>,
    /// `ssl.enabled`: the node's general SSL switch. Venice's blob transfer does not consult it (it
    /// builds its SSL factory from the stores below with SSL forced on whenever
    /// `blob.transfer.ssl.enabled=true`), and neither does vbt: it is read, checked and kept.
    pub node_ssl_enabled: Option<bool>,
    /// `ssl.keystore.location`: PKCS12 store with the node's private key and certificate chain.
    pub keystore: Option<PathBuf>,
    /// `ssl.keystore.password` (never shown by `Debug`).
    pub keystore_password: Option<String>,
    /// `ssl.keystore.type`: `PKCS12` or `JKS` (stored upper-case). As in Java, the file's own
    /// format decides how it is read; a JKS file gets the conversion command.
    pub keystore_type: Option<String>,
    /// `ssl.key.password`: tried when `ssl.keystore.password` does not open the keystore (PKCS12
    /// as keytool and openssl write it has one password).
    pub key_password: Option<String>,
    /// `ssl.truststore.location`: PKCS12 store whose trusted-certificate entries are the roots.
    pub truststore: Option<PathBuf>,
    /// `ssl.truststore.password` (never shown by `Debug`).
    pub truststore_password: Option<String>,
    /// `ssl.truststore.type`: as `keystore_type`.
    pub truststore_type: Option<String>,
    /// The node's key and certificates handed over by the host instead of files (a JVM reads
    /// whatever `KeyStore` type it supports, JKS included, and passes them): no key names them.
    /// When present they win over every file and store above.
    pub material: Option<TlsMaterial>,
}

/// A TLS identity in memory, DER-encoded: the private key (PKCS#8), the certificate chain (the
/// node's own first) and the trusted CAs.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    pub key_pkcs8: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    pub trusted: Vec<Vec<u8>>,
}

// By hand, so that no password reaches a log line or an error through `{:?}`.
impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hide = |p: &Option<String>| p.as_ref().map(|_| "***");
        f.debug_struct("TlsFiles")
            .field("cert_chain", &self.cert_chain)
            .field("private_key", &self.private_key)
            .field("trust_ca", &self.trust_ca)
            .field("allowed_subjects", &self.allowed_subjects)
            .field("node_ssl_enabled", &self.node_ssl_enabled)
            .field("keystore", &self.keystore)
            .field("keystore_password", &hide(&self.keystore_password))
            .field("keystore_type", &self.keystore_type)
            .field("key_password", &hide(&self.key_password))
            .field("truststore", &self.truststore)
            .field("truststore_password", &hide(&self.truststore_password))
            .field("truststore_type", &self.truststore_type)
            .field(
                "material",
                &self.material.as_ref().map(|m| format!("{} certificate(s), {} trusted, key ***", m.chain.len(), m.trusted.len())),
            )
            .finish()
    }
}

/// Every setting vbt uses, with Venice's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// `davinci.p2p.blob.transfer.server.port` (Venice default -1: unset). 0 picks a free port.
    pub server_port: Option<u16>,
    /// `vbt.server.bind.address` (0.0.0.0): the address the sender listens on.
    pub bind_address: std::net::IpAddr,
    /// `davinci.p2p.blob.transfer.client.port`: port dialled on peers given without one.
    pub client_port: Option<u16>,
    /// `vbt.base.dir`, else `<data.base.path>/rocksdb` (Venice's RocksDB base).
    pub base_dir: Option<PathBuf>,
    /// `vbt.snapshot.dir`: where a host snapshot source is asked to create checkpoints
    /// (default `<vbt.state.dir>/snapshots`).
    pub snapshot_root: Option<PathBuf>,
    /// `vbt.state.dir` (unset: `<base dir>.vbt` beside the base dir): vbt's own state (partition
    /// locks, host snapshots, files kept for resume); never inside the base dir.
    pub state_dir: Option<PathBuf>,
    /// `rocksdb.plain.table.format.enabled`: the format this node serves and requests.
    pub table_format: TableFormat,
    /// `blob.transfer.snapshot.retention.time.in.min` (60); `vbt.snapshot.retention.ms` overrides.
    pub snapshot_retention: Duration,
    /// `blob.transfer.snapshot.cleanup.interval.in.mins` (120); `vbt.snapshot.cleanup.interval.ms`.
    pub snapshot_cleanup_interval: Duration,
    /// `blob.transfer.max.concurrent.snapshot.user` (30): transfers served at once.
    pub max_concurrent_snapshot_users: usize,
    /// `server.blob.transfer.accept.client.request.enabled` (false): serve requests of client
    /// origin (DaVinci/CDC), as Venice's key does (docs/venice-reference.md §3.2-3.3).
    pub accept_client_requests: bool,
    /// `server.blob.transfer.client.capacity.percent` (25, 0–50): the share of
    /// `max_concurrent_snapshot_users` reserved for client-origin requests.
    pub client_capacity_percent: u32,
    /// `blob.transfer.max.chunk.size.bytes` (2 MiB, size units allowed): sender write size.
    pub max_chunk_size: usize,
    /// `blob.transfer.max.timeout.in.min` (60): sender limit for one transfer.
    pub sender_max_timeout: Duration,
    /// `vbt.server.idle.timeout.ms` (Venice's fixed 300 s): idle connection limit on the sender.
    pub server_idle_timeout: Duration,
    /// `blob.receive.max.timeout.in.min` (20): receiver limit for one attempt on one peer.
    pub receive_max_timeout: Duration,
    /// `blob.receive.reader.idle.time.in.seconds` (60): receiver gives up on a silent peer.
    pub receive_reader_idle: Duration,
    /// `blob.transfer.peers.connectivity.freshness.in.seconds` (30): good/bad peer cache TTL.
    pub connectivity_freshness: Duration,
    /// `vbt.peer.connect.timeout.ms` (Venice's fixed 30 s TCP connect).
    pub connect_timeout: Duration,
    /// `vbt.peer.busy.wait.ms` (30 s): the most a bootstrap waits on busy vbt senders' retry-after.
    pub busy_wait: Duration,
    /// `vbt.peer.probe.timeout.ms` (Venice's fixed 50 s per host).
    pub probe_timeout_per_host: Duration,
    /// `vbt.peer.probe.total.timeout.ms` (Venice's fixed 1 minute for the whole probe).
    pub probe_timeout_total: Duration,
    /// `vbt.peer.probe.concurrency` (64): connectivity probes in flight at once (Venice: all of
    /// them), so a long list of dead peers cannot exhaust the process's descriptors.
    pub probe_concurrency: usize,
    /// `blob.transfer.max.concurrent.blob.receive.replicas` (20): bootstraps run at once; more wait.
    pub max_concurrent_receives: usize,
    /// `vbt.receive.verify.rocksdb` (true): open an installed partition read-only to prove it.
    pub verify_rocksdb: bool,
    /// `vbt.receive.direct.io` (true): write received files with O_DIRECT where the file system
    /// allows it (client::direct), so a bootstrap neither copies through nor evicts the page cache.
    pub receive_direct_io: bool,
    /// `vbt.checksum.fast` (true): ask senders for XXH3-128 instead of MD5. A vbt sender answers
    /// with it; Java senders ignore the request header and send MD5, so it is safe in a mixed
    /// cluster. `false` makes the request byte for byte Venice's.
    pub fast_checksum: bool,
    /// `vbt.extensions.enabled` (true): ask vbt senders for the extensions of design.md §7
    /// (snapshot totals and identity, the knobs below, and the fast checksum). `false` makes the
    /// request byte for byte Venice's Java receiver's, whatever the other keys say.
    pub extensions: bool,
    /// `vbt.receive.streams` (2, 1–8): connections one partition may use to a vbt sender.
    pub receive_streams: usize,
    /// `vbt.receive.resume` (true): keep files verified before an interruption and continue
    /// from them on any vbt sender whose snapshot manifest lists them.
    pub receive_resume: bool,
    /// `vbt.zone`: this node's zone; peers in it are asked first (none: zones are not used).
    pub zone: Option<String>,
    /// `vbt.receive.md5.lanes` (true): hash every MD5 stream the node receives on one thread in
    /// SIMD lanes (where the CPU has AVX2) instead of a hasher thread per connection.
    pub receive_md5_lanes: bool,
    /// `vbt.partition.state.schema.version` (24): the PARTITION_STATE version this host writes.
    pub partition_state_schema_version: u8,
    /// `vbt.store.version.state.schema.version` (7): the STORE_VERSION_STATE version.
    pub store_version_state_schema_version: u8,
    /// `vbt.runtime.worker.threads` (min(cores, 4)): tokio worker threads.
    pub worker_threads: usize,
    /// `blob.transfer.ssl.enabled` (false): mutual TLS on both ends.
    pub ssl_enabled: bool,
    /// `blob.transfer.acl.enabled` (false): Venice's issuer-DN rule on the sender (needs TLS).
    pub acl_enabled: bool,
    /// `vbt.ssl.cert.chain.path`, `vbt.ssl.private.key.path`, `vbt.ssl.trust.ca.path` (PEM),
    /// `vbt.ssl.acl.allowed.subjects`, and Venice's `ssl.*` keystore keys.
    pub tls: TlsFiles,
    /// `blob.transfer.service.write.limit.bytes.per.sec` (150 MiB/s; 0 = unlimited).
    pub write_limit: u64,
    /// `blob.transfer.client.read.limit.bytes.per.sec` (150 MiB/s; 0 = unlimited).
    pub read_limit: u64,
    /// `server.adaptive.throttler.enabled` and `server.blob.transfer.adaptive.throttler.enabled`.
    pub adaptive_throttler: (bool, bool),
    /// `server.blob.transfer.adaptive.throttler.update.percentage` (20).
    pub adaptive_step_percent: u32,
    /// `server.adaptive.throttler.signal.idle.threshold` (10).
    pub adaptive_idle_threshold: u32,
    /// `server.adaptive.throttler.signal.refresh.interval.in.seconds` (30);
    /// `vbt.adaptive.throttler.interval.ms` overrides.
    pub adaptive_interval: Duration,
    /// `vbt.server.request.head.timeout.ms` (30 s): how long the sender waits for a request head
    /// after accepting a connection.
    pub request_head_timeout: Duration,
    /// `vbt.server.max.connections` (unset): connections the sender keeps open at once; `None`
    /// lets the server derive it from the open-file limit.
    pub max_connections: Option<usize>,
    /// `vbt.server.admission.queue` (64): requests of vbt receivers that asked to wait
    /// (`X-Vbt-Wait`) held in line per admission pool while every slot is taken; 0 = none.
    pub admission_queue: usize,
    /// `vbt.server.shutdown.grace.ms` (30 s): how long running transfers may finish when the
    /// node closes; 0 ends them at once.
    pub shutdown_grace: Duration,
    /// `vbt.allow.plaintext` (false): allow plaintext (no TLS, no ACL) beyond loopback.
    pub allow_plaintext: bool,
    /// `blob.transfer.manager.enabled` (true): Venice's switch for blob transfer as a whole.
    pub manager_enabled: bool,
    /// `cluster.name` (Venice's own key; unset): the `venice_cluster_name` label of the metrics.
    pub cluster_name: Option<String>,
    /// `vbt.node.role` (unset): what this node is, so what its peers are (Venice's blob transfer
    /// fetches between nodes of one kind): the `venice_blob_transfer_sender_source` label.
    pub node_role: Option<NodeRole>,
    /// `vbt.admin.port` (unset = no admin endpoint; 0 = any free port).
    pub admin_port: Option<u16>,
    /// `vbt.admin.bind.address` (127.0.0.1): where the admin endpoint listens.
    pub admin_bind_address: std::net::IpAddr,
    /// `vbt.admin.transfers.history` (100): finished transfers `/transfers` keeps.
    pub admin_history: usize,
    /// `vbt.discovery` and its `vbt.discovery.*` keys: where peers come from when a request names
    /// none and the host gave no discovery of its own.
    pub discovery: DiscoveryConfig,
}

/// The built-in peer discovery sources (see `crate::discovery`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DiscoveryKind {
    /// Unset: the host's discovery callback, or the peers each request names.
    #[default]
    Host,
    /// `router`: a Venice router's `blob_discovery` endpoint (DaVinci's way).
    Router,
    /// `helix`: the Helix customized view in ZooKeeper (a Venice server's way).
    Helix,
}

/// `vbt.discovery.*` settings.
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    /// `vbt.discovery`: `router` or `helix`; unset = the host's.
    pub kind: DiscoveryKind,
    /// `vbt.discovery.router.url`: `http://host:port[/prefix]` (or `https://`, with the node's TLS).
    pub router_url: Option<String>,
    /// `vbt.discovery.router.timeout.ms` (3000, DaVinci's fixed 3 s): the whole request.
    pub router_timeout: Duration,
    /// `vbt.discovery.zookeeper.address`: a ZooKeeper connect string (`host:port[,host:port][/chroot]`).
    pub zk_address: Option<String>,
    /// `vbt.discovery.zookeeper.timeout.ms` (10000): connecting; a discovery gives up after twice this.
    pub zk_timeout: Duration,
    /// `vbt.discovery.helix.cluster`: the Venice cluster's Helix name.
    pub helix_cluster: Option<String>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            kind: DiscoveryKind::Host,
            router_url: None,
            router_timeout: Duration::from_secs(3),
            zk_address: None,
            zk_timeout: Duration::from_secs(10),
            helix_cluster: None,
        }
    }
}

/// `vbt.node.role`: a DaVinci client (its peers are DaVinci peers) or a Venice server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    DaVinci,
    Server,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Config {
            server_port: None,
            bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            client_port: None,
            base_dir: None,
            snapshot_root: None,
            state_dir: None,
            table_format: TableFormat::BlockBased,
            snapshot_retention: Duration::from_secs(60 * 60),
            snapshot_cleanup_interval: Duration::from_secs(120 * 60),
            max_concurrent_snapshot_users: 30,
            accept_client_requests: false,
            client_capacity_percent: 25,
            max_chunk_size: 2 * 1024 * 1024,
            sender_max_timeout: Duration::from_secs(60 * 60),
            server_idle_timeout: Duration::from_secs(300),
            receive_max_timeout: Duration::from_secs(20 * 60),
            receive_reader_idle: Duration::from_secs(60),
            connectivity_freshness: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            busy_wait: Duration::from_secs(30),
            probe_timeout_per_host: Duration::from_secs(50),
            probe_timeout_total: Duration::from_secs(60),
            probe_concurrency: 64,
            max_concurrent_receives: 20,
            verify_rocksdb: true,
            receive_direct_io: true,
            fast_checksum: true,
            extensions: true,
            receive_streams: 2,
            receive_resume: true,
            zone: None,
            receive_md5_lanes: true,
            partition_state_schema_version: DEFAULT_PARTITION_STATE_SCHEMA_VERSION,
            store_version_state_schema_version: DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION,
            worker_threads: cores.clamp(1, 4),
            ssl_enabled: false,
            acl_enabled: false,
            tls: TlsFiles::default(),
            write_limit: 157_286_400,
            read_limit: 157_286_400,
            adaptive_throttler: (false, false),
            adaptive_step_percent: 20,
            adaptive_idle_threshold: 10,
            adaptive_interval: Duration::from_secs(30),
            request_head_timeout: Duration::from_secs(30),
            max_connections: None,
            admission_queue: 64,
            shutdown_grace: Duration::from_secs(30),
            allow_plaintext: false,
            manager_enabled: true,
            cluster_name: None,
            node_role: None,
            admin_port: None,
            admin_bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            admin_history: 100,
            discovery: DiscoveryConfig::default(),
        }
    }
}
