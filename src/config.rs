//! One typed configuration, parsed from Venice's own key/value strings (so a JVM host can pass its
//! properties straight through). Keys Venice lacks are named `vbt.*`. Unknown keys are ignored;
//! a value that cannot be used is an error naming the key.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::TableFormat;

/// Venice's Avro protocol versions at the reference commit (PARTITION_STATE, STORE_VERSION_STATE).
pub const DEFAULT_PARTITION_STATE_SCHEMA_VERSION: u8 = 24;
pub const DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION: u8 = 7;

// Value ranges. Every integer is read as Java's `Long.parseLong` reads it (optional sign, decimal
// digits, -2^63..2^63-1); anything else is an error naming the key, the value and the range.

/// Longest duration any key holds: 10 years, i.e. no limit in practice. Larger values (Java's
/// `Long.MAX_VALUE` included) are clamped to it, so a consumer can add it to `Instant::now()`, even
/// twice, on every platform (tokio caps its own sleeps at 30 years: 100 overflowed on FreeBSD).
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Largest concurrency cap (snapshot users, receive replicas, connections); larger values mean
/// this many, which is unlimited in practice (each transfer holds a socket and open files).
pub const MAX_CONCURRENCY: usize = 1_000_000;

/// Byte rates at or above this mean unlimited, as 0 does (see [`crate::throttle::UNLIMITED_RATE`]).
pub const UNLIMITED_RATE: u64 = crate::throttle::UNLIMITED_RATE;

/// Most tokio worker threads (`vbt.runtime.worker.threads`).
pub const MAX_WORKER_THREADS: usize = 256;

/// Largest adaptive step: one step of 180 points already spans the whole 20–200 % range.
pub const MAX_ADAPTIVE_STEP_PERCENT: u32 = 180;

/// Java's `Integer.MAX_VALUE`: sizes above it are clamped to it, as Venice does.
const MAX_SIZE: u64 = i32::MAX as u64;

/// Where the node's certificate and trusted CAs come from, and the ACL settings: PEM files
/// (`vbt.ssl.*`) and Venice's own Java stores (`ssl.*`, `CommonConfigKeys`, as every Venice node's
/// properties carry them). For each half (the node's certificate and key; the trusted CAs) a
/// `vbt.ssl.*` PEM file, when given, wins over the `ssl.*` store.
#[derive(Clone, Default)]
pub struct TlsFiles {
    /// `vbt.ssl.cert.chain.path` (PEM).
    pub cert_chain: Option<std::path::PathBuf>,
    /// `vbt.ssl.private.key.path` (PEM).
    pub private_key: Option<std::path::PathBuf>,
    /// `vbt.ssl.trust.ca.path` (PEM).
    pub trust_ca: Option<std::path::PathBuf>,
    /// `vbt.ssl.acl.allowed.subjects`: subject DNs (RFC 4514, `;`-separated) admitted besides the
    /// issuer rule; empty = issuer rule only.
    pub allowed_subjects: Vec<String>,
    /// `ssl.enabled`: the node's general SSL switch. Venice's blob transfer does not consult it (it
    /// builds its SSL factory from the stores below with SSL forced on whenever
    /// `blob.transfer.ssl.enabled=true`), and neither does vbt: it is read, checked and kept.
    pub node_ssl_enabled: Option<bool>,
    /// `ssl.keystore.location`: PKCS12 store with the node's private key and certificate chain.
    pub keystore: Option<std::path::PathBuf>,
    /// `ssl.keystore.password` (never shown by `Debug`).
    pub keystore_password: Option<String>,
    /// `ssl.keystore.type`: `PKCS12` or `JKS` (stored upper-case). As in Java, the file's own
    /// format decides how it is read; a JKS file gets the conversion command.
    pub keystore_type: Option<String>,
    /// `ssl.key.password`: tried when `ssl.keystore.password` does not open the keystore (PKCS12
    /// as keytool and openssl write it has one password).
    pub key_password: Option<String>,
    /// `ssl.truststore.location`: PKCS12 store whose trusted-certificate entries are the roots.
    pub truststore: Option<std::path::PathBuf>,
    /// `ssl.truststore.password` (never shown by `Debug`).
    pub truststore_password: Option<String>,
    /// `ssl.truststore.type`: as `keystore_type`.
    pub truststore_type: Option<String>,
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
    /// `rocksdb.plain.table.format.enabled`: the format this node serves and requests.
    pub table_format: TableFormat,
    /// `blob.transfer.snapshot.retention.time.in.min` (60); `vbt.snapshot.retention.ms` overrides.
    pub snapshot_retention: Duration,
    /// `blob.transfer.snapshot.cleanup.interval.in.mins` (120); `vbt.snapshot.cleanup.interval.ms`.
    pub snapshot_cleanup_interval: Duration,
    /// `blob.transfer.max.concurrent.snapshot.user` (30): transfers served at once.
    pub max_concurrent_snapshot_users: usize,
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
    /// `vbt.peer.probe.timeout.ms` (Venice's fixed 50 s per host).
    pub probe_timeout_per_host: Duration,
    /// `vbt.peer.probe.total.timeout.ms` (Venice's fixed 1 minute for the whole probe).
    pub probe_timeout_total: Duration,
    /// `vbt.peer.probe.concurrency` (64): connectivity probes in flight at once (Venice: all of
    /// them), so a long list of dead peers cannot exhaust the process's descriptors.
    pub probe_concurrency: usize,
    /// `vbt.state.dir` (`<base>.vbt`): vbt's own state (locks, landing, host snapshots); never
    /// inside the base directory.
    pub state_dir: Option<PathBuf>,
    /// `blob.transfer.max.concurrent.blob.receive.replicas` (20): bootstraps run at once; more wait.
    pub max_concurrent_receives: usize,
    /// `vbt.receive.verify.rocksdb` (true): open an installed partition read-only to prove it.
    pub verify_rocksdb: bool,
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
    /// from them on the same sender's snapshot.
    pub receive_resume: bool,
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

/// The built-in peer discovery sources (see `crate::client::discovery`).
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

/// Most finished transfers `/transfers` keeps (`vbt.admin.transfers.history`).
pub const MAX_ADMIN_HISTORY: usize = 10_000;

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Config {
            server_port: None,
            bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            client_port: None,
            base_dir: None,
            snapshot_root: None,
            table_format: TableFormat::BlockBased,
            snapshot_retention: Duration::from_secs(60 * 60),
            snapshot_cleanup_interval: Duration::from_secs(120 * 60),
            max_concurrent_snapshot_users: 30,
            max_chunk_size: 2 * 1024 * 1024,
            sender_max_timeout: Duration::from_secs(60 * 60),
            server_idle_timeout: Duration::from_secs(300),
            receive_max_timeout: Duration::from_secs(20 * 60),
            receive_reader_idle: Duration::from_secs(60),
            connectivity_freshness: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            probe_timeout_per_host: Duration::from_secs(50),
            probe_timeout_total: Duration::from_secs(60),
            probe_concurrency: 64,
            state_dir: None,
            max_concurrent_receives: 20,
            verify_rocksdb: true,
            fast_checksum: true,
            extensions: true,
            receive_streams: 2,
            receive_resume: true,
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

impl Config {
    /// Builds a config from key/value pairs, applied in order (a later key wins).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Config> {
        let mut c = Config::default();
        let mut data_base_path = None;
        for (k, v) in pairs {
            let (k, v) = (k.as_ref().trim(), v.as_ref().trim());
            if k == "data.base.path" {
                data_base_path = Some(PathBuf::from(v));
            }
            c.set(k, v)?;
        }
        if c.base_dir.is_none() {
            c.base_dir = data_base_path.map(|p| p.join("rocksdb"));
        }
        c.validate()?;
        Ok(c)
    }

    /// Parses Java properties text (`key=value` or `key: value`, `#`/`!` comments).
    pub fn from_properties(text: &str) -> Result<Config> {
        Config::from_pairs(parse_properties(text)?)
    }

    /// Sets one key. Unknown keys are ignored (Venice hosts pass many); returns whether it was used.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        use Unit::{Millis, Minutes, Seconds};
        let v = value.trim();
        match key {
            "davinci.p2p.blob.transfer.server.port" => self.server_port = port(key, v, 0)?,
            // A port to dial: 0 would never connect.
            "davinci.p2p.blob.transfer.client.port" => self.client_port = port(key, v, 1)?,
            "vbt.server.bind.address" => self.bind_address = v.parse().map_err(|_| bad(key, v, "expected an IP address"))?,
            "vbt.base.dir" => self.base_dir = Some(PathBuf::from(nonempty(key, v)?)),
            "vbt.snapshot.dir" => self.snapshot_root = Some(PathBuf::from(nonempty(key, v)?)),
            "vbt.state.dir" => self.state_dir = Some(PathBuf::from(nonempty(key, v)?)),
            "data.base.path" => {
                nonempty(key, v)?;
            }
            "rocksdb.plain.table.format.enabled" => {
                self.table_format = if boolean(key, v)? { TableFormat::PlainTable } else { TableFormat::BlockBased }
            }
            "blob.transfer.snapshot.retention.time.in.min" => self.snapshot_retention = duration(key, v, Minutes, 0)?,
            "vbt.snapshot.retention.ms" => self.snapshot_retention = duration(key, v, Millis, 0)?,
            "blob.transfer.snapshot.cleanup.interval.in.mins" => self.snapshot_cleanup_interval = duration(key, v, Minutes, 1)?,
            "vbt.snapshot.cleanup.interval.ms" => self.snapshot_cleanup_interval = duration(key, v, Millis, 1)?,
            "blob.transfer.max.concurrent.snapshot.user" => {
                self.max_concurrent_snapshot_users = capped(key, v, 0, MAX_CONCURRENCY as u64)? as usize
            }
            "blob.transfer.max.chunk.size.bytes" => self.max_chunk_size = size_bytes(key, v)?,
            "blob.transfer.max.timeout.in.min" => self.sender_max_timeout = duration(key, v, Minutes, 1)?,
            "vbt.sender.max.timeout.ms" => self.sender_max_timeout = duration(key, v, Millis, 1)?,
            "vbt.server.idle.timeout.ms" => self.server_idle_timeout = duration(key, v, Millis, 1)?,
            "blob.receive.max.timeout.in.min" => self.receive_max_timeout = duration(key, v, Minutes, 1)?,
            "vbt.receive.max.timeout.ms" => self.receive_max_timeout = duration(key, v, Millis, 1)?,
            "blob.receive.reader.idle.time.in.seconds" => self.receive_reader_idle = duration(key, v, Seconds, 1)?,
            "vbt.receive.reader.idle.ms" => self.receive_reader_idle = duration(key, v, Millis, 1)?,
            "blob.transfer.peers.connectivity.freshness.in.seconds" => self.connectivity_freshness = duration(key, v, Seconds, 0)?,
            "vbt.peer.connect.timeout.ms" => self.connect_timeout = duration(key, v, Millis, 1)?,
            "vbt.peer.probe.timeout.ms" => self.probe_timeout_per_host = duration(key, v, Millis, 1)?,
            "vbt.peer.probe.total.timeout.ms" => self.probe_timeout_total = duration(key, v, Millis, 1)?,
            "vbt.peer.probe.concurrency" => self.probe_concurrency = capped(key, v, 1, MAX_CONCURRENCY as u64)? as usize,
            "blob.transfer.max.concurrent.blob.receive.replicas" => {
                self.max_concurrent_receives = capped(key, v, 1, MAX_CONCURRENCY as u64)? as usize
            }
            "vbt.receive.verify.rocksdb" => self.verify_rocksdb = boolean(key, v)?,
            "vbt.checksum.fast" => self.fast_checksum = boolean(key, v)?,
            "vbt.extensions.enabled" => self.extensions = boolean(key, v)?,
            "vbt.receive.streams" => self.receive_streams = ranged(key, v, 1, crate::protocol::ext::MAX_STREAMS as i64)? as usize,
            "vbt.receive.resume" => self.receive_resume = boolean(key, v)?,
            "vbt.receive.md5.lanes" => self.receive_md5_lanes = boolean(key, v)?,
            "vbt.partition.state.schema.version" => self.partition_state_schema_version = schema(key, v)?,
            "vbt.store.version.state.schema.version" => self.store_version_state_schema_version = schema(key, v)?,
            "vbt.runtime.worker.threads" => self.worker_threads = ranged(key, v, 1, MAX_WORKER_THREADS as i64)? as usize,
            "blob.transfer.ssl.enabled" => self.ssl_enabled = boolean(key, v)?,
            "blob.transfer.acl.enabled" => self.acl_enabled = boolean(key, v)?,
            "vbt.ssl.cert.chain.path" => self.tls.cert_chain = Some(PathBuf::from(nonempty(key, v)?)),
            "vbt.ssl.private.key.path" => self.tls.private_key = Some(PathBuf::from(nonempty(key, v)?)),
            "vbt.ssl.trust.ca.path" => self.tls.trust_ca = Some(PathBuf::from(nonempty(key, v)?)),
            "ssl.enabled" => self.tls.node_ssl_enabled = Some(boolean(key, v)?),
            "ssl.keystore.location" => self.tls.keystore = Some(PathBuf::from(nonempty(key, v)?)),
            "ssl.keystore.password" => self.tls.keystore_password = Some(v.to_string()),
            "ssl.keystore.type" => self.tls.keystore_type = Some(store_type(key, v)?),
            "ssl.key.password" => self.tls.key_password = Some(v.to_string()),
            "ssl.truststore.location" => self.tls.truststore = Some(PathBuf::from(nonempty(key, v)?)),
            "ssl.truststore.password" => self.tls.truststore_password = Some(v.to_string()),
            "ssl.truststore.type" => self.tls.truststore_type = Some(store_type(key, v)?),
            "vbt.ssl.acl.allowed.subjects" => {
                self.tls.allowed_subjects = v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
            }
            "blob.transfer.service.write.limit.bytes.per.sec" => self.write_limit = rate(key, v)?,
            "blob.transfer.client.read.limit.bytes.per.sec" => self.read_limit = rate(key, v)?,
            "server.adaptive.throttler.enabled" => self.adaptive_throttler.0 = boolean(key, v)?,
            "server.blob.transfer.adaptive.throttler.enabled" => self.adaptive_throttler.1 = boolean(key, v)?,
            "server.blob.transfer.adaptive.throttler.update.percentage" => {
                self.adaptive_step_percent = capped(key, v, 1, MAX_ADAPTIVE_STEP_PERCENT as u64)? as u32
            }
            "server.adaptive.throttler.signal.idle.threshold" => self.adaptive_idle_threshold = capped(key, v, 1, u32::MAX as u64)? as u32,
            "server.adaptive.throttler.signal.refresh.interval.in.seconds" => self.adaptive_interval = duration(key, v, Seconds, 1)?,
            "vbt.adaptive.throttler.interval.ms" => self.adaptive_interval = duration(key, v, Millis, 1)?,
            "vbt.server.request.head.timeout.ms" => self.request_head_timeout = duration(key, v, Millis, 1)?,
            "vbt.server.max.connections" => self.max_connections = Some(capped(key, v, 1, MAX_CONCURRENCY as u64)? as usize),
            "vbt.server.shutdown.grace.ms" => self.shutdown_grace = duration(key, v, Millis, 0)?,
            "vbt.allow.plaintext" => self.allow_plaintext = boolean(key, v)?,
            "blob.transfer.manager.enabled" => self.manager_enabled = boolean(key, v)?,
            "cluster.name" => self.cluster_name = Some(nonempty(key, v)?.to_string()),
            "vbt.node.role" => {
                self.node_role = match v.to_ascii_lowercase().as_str() {
                    "davinci" => Some(NodeRole::DaVinci),
                    "server" => Some(NodeRole::Server),
                    _ => return Err(bad(key, v, "expected davinci or server")),
                }
            }
            "vbt.admin.port" => self.admin_port = port(key, v, 0)?,
            "vbt.admin.bind.address" => self.admin_bind_address = v.parse().map_err(|_| bad(key, v, "expected an IP address"))?,
            "vbt.admin.transfers.history" => self.admin_history = capped(key, v, 0, MAX_ADMIN_HISTORY as u64)? as usize,
            "vbt.discovery" => {
                self.discovery.kind = match v.to_ascii_lowercase().as_str() {
                    "router" => DiscoveryKind::Router,
                    "helix" => DiscoveryKind::Helix,
                    "" | "host" => DiscoveryKind::Host,
                    _ => return Err(bad(key, v, "expected router, helix, or host (the host's own discovery; the default)")),
                }
            }
            "vbt.discovery.router.url" => {
                router_url(key, v)?;
                self.discovery.router_url = Some(v.to_string())
            }
            "vbt.discovery.router.timeout.ms" => self.discovery.router_timeout = duration(key, v, Millis, 1)?,
            "vbt.discovery.zookeeper.address" => self.discovery.zk_address = Some(nonempty(key, v)?.to_string()),
            "vbt.discovery.zookeeper.timeout.ms" => self.discovery.zk_timeout = duration(key, v, Millis, 1)?,
            "vbt.discovery.helix.cluster" => self.discovery.helix_cluster = Some(helix_cluster(key, v)?.to_string()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks rules across keys, and the ranges `set` enforces, for hosts that fill fields directly.
    pub fn validate(&self) -> Result<()> {
        if self.ssl_enabled != self.acl_enabled {
            return Err(Error::config(format!(
                "Blob transfer manager is not supported without SSL and ACL enabled (blob.transfer.ssl.enabled={}, \
                 blob.transfer.acl.enabled={}): set both blob.transfer.ssl.enabled=true and \
                 blob.transfer.acl.enabled=true (or neither, for plaintext on loopback or with vbt.allow.plaintext=true)",
                self.ssl_enabled, self.acl_enabled
            )));
        }
        for (key, t) in [("ssl.keystore.type", &self.tls.keystore_type), ("ssl.truststore.type", &self.tls.truststore_type)] {
            if let Some(t) = t {
                store_type(key, t)?;
            }
        }
        let durations = [
            ("blob.transfer.snapshot.retention.time.in.min", self.snapshot_retention, false),
            ("blob.transfer.snapshot.cleanup.interval.in.mins", self.snapshot_cleanup_interval, true),
            ("blob.transfer.max.timeout.in.min", self.sender_max_timeout, true),
            ("vbt.server.idle.timeout.ms", self.server_idle_timeout, true),
            ("blob.receive.max.timeout.in.min", self.receive_max_timeout, true),
            ("blob.receive.reader.idle.time.in.seconds", self.receive_reader_idle, true),
            ("blob.transfer.peers.connectivity.freshness.in.seconds", self.connectivity_freshness, false),
            ("vbt.peer.connect.timeout.ms", self.connect_timeout, true),
            ("vbt.peer.probe.timeout.ms", self.probe_timeout_per_host, true),
            ("vbt.peer.probe.total.timeout.ms", self.probe_timeout_total, true),
            ("server.adaptive.throttler.signal.refresh.interval.in.seconds", self.adaptive_interval, true),
            ("vbt.server.request.head.timeout.ms", self.request_head_timeout, true),
            ("vbt.server.shutdown.grace.ms", self.shutdown_grace, false),
            ("vbt.discovery.router.timeout.ms", self.discovery.router_timeout, true),
            ("vbt.discovery.zookeeper.timeout.ms", self.discovery.zk_timeout, true),
        ];
        for (key, d, positive) in durations {
            if d > MAX_DURATION || (positive && d.is_zero()) {
                let low = if positive { "greater than zero" } else { "from zero" };
                return Err(Error::config(format!("{key} is {d:?}: must be {low} up to {MAX_DURATION:?} (10 years)")));
            }
        }
        let step = MAX_ADAPTIVE_STEP_PERCENT as usize;
        let counts = [
            ("blob.transfer.max.concurrent.snapshot.user", self.max_concurrent_snapshot_users, 0, MAX_CONCURRENCY),
            ("blob.transfer.max.concurrent.blob.receive.replicas", self.max_concurrent_receives, 1, MAX_CONCURRENCY),
            ("vbt.server.max.connections", self.max_connections.unwrap_or(1), 1, MAX_CONCURRENCY),
            ("vbt.runtime.worker.threads", self.worker_threads, 1, MAX_WORKER_THREADS),
            ("vbt.receive.streams", self.receive_streams, 1, crate::protocol::ext::MAX_STREAMS),
            ("vbt.peer.probe.concurrency", self.probe_concurrency, 1, MAX_CONCURRENCY),
            ("blob.transfer.max.chunk.size.bytes", self.max_chunk_size, 1, MAX_SIZE as usize),
            ("server.blob.transfer.adaptive.throttler.update.percentage", self.adaptive_step_percent as usize, 1, step),
            ("server.adaptive.throttler.signal.idle.threshold", self.adaptive_idle_threshold as usize, 1, usize::MAX),
            ("vbt.partition.state.schema.version", self.partition_state_schema_version as usize, 0, 127),
            ("vbt.store.version.state.schema.version", self.store_version_state_schema_version as usize, 0, 127),
            ("davinci.p2p.blob.transfer.client.port", self.client_port.map_or(1, usize::from), 1, 65535),
            ("vbt.admin.transfers.history", self.admin_history, 0, MAX_ADMIN_HISTORY),
        ];
        for (key, n, lo, hi) in counts {
            if !(lo..=hi).contains(&n) {
                return Err(Error::config(format!("{key} is {n}: must be in {lo}..={hi}")));
            }
        }
        self.validate_discovery()
    }

    /// The chosen discovery source has what it needs (checked again for fields set directly).
    fn validate_discovery(&self) -> Result<()> {
        let d = &self.discovery;
        let missing = |key: &str, kind: &str| Error::config(format!("vbt.discovery={kind} needs {key}"));
        if d.kind != DiscoveryKind::Host && self.client_port.or(self.server_port).is_none() {
            return Err(Error::config(
                "vbt.discovery finds host names only (as Venice's discovery does): set davinci.p2p.blob.transfer.client.port \
                 (or the server port) to the port the peers' senders listen on",
            ));
        }
        match d.kind {
            DiscoveryKind::Host => {}
            DiscoveryKind::Router => {
                let url = d.router_url.as_deref().ok_or_else(|| missing("vbt.discovery.router.url", "router"))?;
                router_url("vbt.discovery.router.url", url)?;
            }
            DiscoveryKind::Helix => {
                let zk = d.zk_address.as_deref().ok_or_else(|| missing("vbt.discovery.zookeeper.address", "helix"))?;
                nonempty("vbt.discovery.zookeeper.address", zk)?;
                let cluster = d.helix_cluster.as_deref().ok_or_else(|| missing("vbt.discovery.helix.cluster", "helix"))?;
                helix_cluster("vbt.discovery.helix.cluster", cluster)?;
            }
        }
        Ok(())
    }
}

/// Java-properties parsing, enough for the files hosts write: one `key=value` (or `key: value`,
/// or `key value`) per line, `#`/`!` comments, backslash line continuations.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            logical.push_str(stripped);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']).unwrap_or(entry.len());
        let key = entry[..split].trim();
        let rest = entry[split..].trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
        if key.is_empty() {
            return Err(Error::config(format!("properties line has no key: {entry:?}")));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn bad(key: &str, value: &str, why: &str) -> Error {
    Error::config(format!("invalid value {value:?} for {key}: {why}"))
}

fn nonempty<'a>(key: &str, v: &'a str) -> Result<&'a str> {
    if v.is_empty() {
        Err(bad(key, v, "must not be empty"))
    } else {
        Ok(v)
    }
}

/// A Java long as `Long.parseLong` reads it (optional `+`/`-`, decimal digits); `expected`
/// describes the key's range for the error.
fn int(key: &str, v: &str, expected: &str) -> Result<i64> {
    v.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "beyond a Java long; ",
            _ => "",
        };
        bad(key, v, &format!("{why}expected {expected}"))
    })
}

/// An integer in `lo..=hi`; anything else is an error.
fn ranged(key: &str, v: &str, lo: i64, hi: i64) -> Result<i64> {
    let expected = format!("an integer in {lo}..={hi}");
    match int(key, v, &expected)? {
        n if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// An integer of at least `lo`; `expected` names the key's range in the error.
fn at_least(key: &str, v: &str, lo: u64, expected: &str) -> Result<u64> {
    match int(key, v, expected)? {
        n if n >= 0 && n as u64 >= lo => Ok(n as u64),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// A limit: an integer of at least `lo`; values above `cap` mean `cap`.
fn capped(key: &str, v: &str, lo: u64, cap: u64) -> Result<u64> {
    let expected = format!("an integer of at least {lo} (values above {cap} mean {cap})");
    Ok(at_least(key, v, lo, &expected)?.min(cap))
}

/// A port `min..=65535`, or -1 for unset (Venice's default).
fn port(key: &str, v: &str, min: i64) -> Result<Option<u16>> {
    let expected = format!("a port {min}..=65535, or -1 for unset");
    match int(key, v, &expected)? {
        -1 => Ok(None),
        n if (min..=65535).contains(&n) => Ok(Some(n as u16)),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// Bytes per second: 0 and anything from [`UNLIMITED_RATE`] up mean unlimited (stored as 0).
fn rate(key: &str, v: &str) -> Result<u64> {
    let n = at_least(key, v, 0, "bytes per second from 0 (0, or 2^53 and up, mean unlimited)")?;
    Ok(if n >= UNLIMITED_RATE { 0 } else { n })
}

#[derive(Clone, Copy)]
enum Unit {
    Millis,
    Seconds,
    Minutes,
}

/// A duration in whole `unit`s, at least `min`; anything above [`MAX_DURATION`] means it.
fn duration(key: &str, v: &str, unit: Unit, min: u64) -> Result<Duration> {
    let name = match unit {
        Unit::Millis => "milliseconds",
        Unit::Seconds => "seconds",
        Unit::Minutes => "minutes",
    };
    let n = at_least(key, v, min, &format!("whole {name} from {min} (values above 10 years mean 10 years)"))?;
    let d = match unit {
        Unit::Millis => Duration::from_millis(n),
        Unit::Seconds => Duration::from_secs(n),
        Unit::Minutes => Duration::from_secs(n.saturating_mul(60)),
    };
    Ok(d.min(MAX_DURATION))
}

/// A Java keystore type name, compared as Java's `KeyStore.getInstance` does (case-insensitive);
/// the two Venice's `DefaultSSLFactory` accepts. Returned upper-case.
fn store_type(key: &str, v: &str) -> Result<String> {
    match v.to_ascii_uppercase().as_str() {
        t @ ("PKCS12" | "JKS") => Ok(t.to_string()),
        _ => Err(bad(key, v, "expected PKCS12 or JKS (vbt reads PKCS12; a JKS store must be converted)")),
    }
}

/// A router URL: `http://` or `https://`, a host, optionally a port and a path prefix; no query.
fn router_url(key: &str, v: &str) -> Result<hyper::Uri> {
    let expected = "expected http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH] (a Venice router)";
    let uri: hyper::Uri = v.parse().map_err(|e| bad(key, v, &format!("{e}; {expected}")))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri.host().is_some_and(|h| !h.is_empty());
    if !scheme_ok || !host_ok || uri.query().is_some() {
        return Err(bad(key, v, expected));
    }
    Ok(uri)
}

/// A Helix cluster name: one ZooKeeper path segment.
fn helix_cluster<'a>(key: &str, v: &'a str) -> Result<&'a str> {
    if v.is_empty() || v.contains('/') || v == "." || v == ".." {
        return Err(bad(key, v, "expected a Helix cluster name (one ZooKeeper path segment, no '/')"));
    }
    Ok(v)
}

fn boolean(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, v, "expected true or false")),
    }
}

/// An Avro protocol version, as the schema headers carry it (0..=127).
fn schema(key: &str, v: &str) -> Result<u8> {
    Ok(ranged(key, v, 0, 127)? as u8)
}

/// Venice's size syntax: a number with an optional `B`, `KB`, `MB`, `GB` suffix (powers of 1024),
/// at least 1 byte; sizes above Java's `Integer.MAX_VALUE` are clamped to it, as Venice does.
fn size_bytes(key: &str, v: &str) -> Result<usize> {
    let expected = "expected a size of at least 1 byte, such as 2097152 or 2MB (above 2147483647 means 2147483647)";
    let upper = v.to_ascii_uppercase();
    let (digits, mult) = [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        .iter()
        .find_map(|(suffix, m)| upper.strip_suffix(suffix).map(|d| (d.trim(), *m)))
        .unwrap_or((upper.as_str(), 1));
    match digits.parse::<i64>() {
        Ok(n) if n >= 1 => Ok((n as u64).saturating_mul(mult).min(MAX_SIZE) as usize),
        _ => Err(bad(key, v, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_venice() {
        let c = Config::default();
        assert_eq!(c.max_concurrent_snapshot_users, 30);
        assert_eq!(c.snapshot_retention, Duration::from_secs(3600));
        assert_eq!(c.receive_max_timeout, Duration::from_secs(1200));
        assert_eq!(c.max_chunk_size, 2 << 20);
        assert_eq!(c.server_port, None);
    }

    #[test]
    fn parses_venice_keys_and_ignores_unknown() {
        let c = Config::from_pairs([
            ("davinci.p2p.blob.transfer.server.port", "7000"),
            ("blob.transfer.max.chunk.size.bytes", "512KB"),
            ("rocksdb.plain.table.format.enabled", "true"),
            ("some.unrelated.venice.key", "whatever"),
            ("data.base.path", "/data"),
        ])
        .unwrap();
        assert_eq!(c.server_port, Some(7000));
        assert_eq!(c.max_chunk_size, 512 * 1024);
        assert_eq!(c.table_format, TableFormat::PlainTable);
        assert_eq!(c.base_dir, Some(PathBuf::from("/data/rocksdb")));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            ("davinci.p2p.blob.transfer.server.port", "70000"),
            ("blob.transfer.max.concurrent.snapshot.user", "-3"),
            ("rocksdb.plain.table.format.enabled", "yes"),
            ("blob.receive.max.timeout.in.min", "0"),
            ("blob.transfer.max.chunk.size.bytes", "lots"),
            ("blob.transfer.acl.enabled", "true"),
            ("blob.transfer.client.read.limit.bytes.per.sec", "-1"),
        ] {
            let e = Config::from_pairs([(k, v)]).unwrap_err();
            assert!(e.message().contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn server_and_switch_keys() {
        let d = Config::default();
        assert_eq!(d.request_head_timeout, Duration::from_secs(30));
        assert_eq!(d.max_connections, None);
        assert_eq!(d.shutdown_grace, Duration::from_secs(30));
        assert!(!d.allow_plaintext && d.manager_enabled);
        let c = Config::from_pairs([
            ("vbt.server.request.head.timeout.ms", "1500"),
            ("vbt.server.max.connections", "64"),
            ("vbt.server.shutdown.grace.ms", "0"),
            ("vbt.allow.plaintext", "true"),
            ("blob.transfer.manager.enabled", "false"),
        ])
        .unwrap();
        assert_eq!(c.request_head_timeout, Duration::from_millis(1500));
        assert_eq!(c.max_connections, Some(64));
        assert_eq!(c.shutdown_grace, Duration::ZERO);
        assert!(c.allow_plaintext && !c.manager_enabled);
        for (k, v) in [("vbt.server.request.head.timeout.ms", "0"), ("vbt.server.max.connections", "0")] {
            let e = Config::from_pairs([(k, v)]).unwrap_err();
            assert!(e.message().contains(k), "{k}: {e}");
        }
    }

    /// How a numeric key reads a value, computed here independently of the parser.
    #[derive(Clone, Copy)]
    enum Family {
        /// `min..=65535`, -1 = unset.
        Port(i128),
        /// At least `min`; above `cap` means `cap`.
        Limit(i128, i128),
        /// `lo..=hi`, else an error.
        Strict(i128, i128),
        /// Bytes/s; 0 and 2^53 up mean unlimited (0).
        Rate,
        /// Venice's size syntax, 1.., clamped to i32::MAX.
        Size,
        /// Whole units (ms per unit), at least `min`, clamped to 10 years.
        Millis(i128, i128),
    }
    use Family::*;

    const MS: i128 = 1;
    const S: i128 = 1000;
    const MIN: i128 = 60_000;

    /// Every numeric key, and how its value is read back from the config (`None` = unset).
    #[allow(clippy::type_complexity)]
    fn numeric_keys() -> Vec<(&'static str, Family, fn(&Config) -> Option<i128>)> {
        fn ms(d: Duration) -> Option<i128> {
            Some(d.as_millis() as i128)
        }
        vec![
            ("davinci.p2p.blob.transfer.server.port", Port(0), |c| c.server_port.map(i128::from)),
            ("davinci.p2p.blob.transfer.client.port", Port(1), |c| c.client_port.map(i128::from)),
            ("blob.transfer.snapshot.retention.time.in.min", Millis(MIN, 0), |c| ms(c.snapshot_retention)),
            ("vbt.snapshot.retention.ms", Millis(MS, 0), |c| ms(c.snapshot_retention)),
            ("blob.transfer.snapshot.cleanup.interval.in.mins", Millis(MIN, 1), |c| ms(c.snapshot_cleanup_interval)),
            ("vbt.snapshot.cleanup.interval.ms", Millis(MS, 1), |c| ms(c.snapshot_cleanup_interval)),
            ("blob.transfer.max.concurrent.snapshot.user", Limit(0, 1_000_000), |c| Some(c.max_concurrent_snapshot_users as i128)),
            ("blob.transfer.max.chunk.size.bytes", Size, |c| Some(c.max_chunk_size as i128)),
            ("blob.transfer.max.timeout.in.min", Millis(MIN, 1), |c| ms(c.sender_max_timeout)),
            ("vbt.sender.max.timeout.ms", Millis(MS, 1), |c| ms(c.sender_max_timeout)),
            ("vbt.server.idle.timeout.ms", Millis(MS, 1), |c| ms(c.server_idle_timeout)),
            ("blob.receive.max.timeout.in.min", Millis(MIN, 1), |c| ms(c.receive_max_timeout)),
            ("vbt.receive.max.timeout.ms", Millis(MS, 1), |c| ms(c.receive_max_timeout)),
            ("blob.receive.reader.idle.time.in.seconds", Millis(S, 1), |c| ms(c.receive_reader_idle)),
            ("vbt.receive.reader.idle.ms", Millis(MS, 1), |c| ms(c.receive_reader_idle)),
            ("blob.transfer.peers.connectivity.freshness.in.seconds", Millis(S, 0), |c| ms(c.connectivity_freshness)),
            ("vbt.peer.connect.timeout.ms", Millis(MS, 1), |c| ms(c.connect_timeout)),
            ("vbt.peer.probe.timeout.ms", Millis(MS, 1), |c| ms(c.probe_timeout_per_host)),
            ("vbt.peer.probe.total.timeout.ms", Millis(MS, 1), |c| ms(c.probe_timeout_total)),
            ("vbt.peer.probe.concurrency", Limit(1, 1_000_000), |c| Some(c.probe_concurrency as i128)),
            ("blob.transfer.max.concurrent.blob.receive.replicas", Limit(1, 1_000_000), |c| Some(c.max_concurrent_receives as i128)),
            ("vbt.partition.state.schema.version", Strict(0, 127), |c| Some(c.partition_state_schema_version as i128)),
            ("vbt.store.version.state.schema.version", Strict(0, 127), |c| Some(c.store_version_state_schema_version as i128)),
            ("vbt.runtime.worker.threads", Strict(1, 256), |c| Some(c.worker_threads as i128)),
            ("vbt.receive.streams", Strict(1, 8), |c| Some(c.receive_streams as i128)),
            ("blob.transfer.service.write.limit.bytes.per.sec", Rate, |c| Some(c.write_limit as i128)),
            ("blob.transfer.client.read.limit.bytes.per.sec", Rate, |c| Some(c.read_limit as i128)),
            ("server.blob.transfer.adaptive.throttler.update.percentage", Limit(1, 180), |c| Some(c.adaptive_step_percent as i128)),
            ("server.adaptive.throttler.signal.idle.threshold", Limit(1, u32::MAX as i128), |c| Some(c.adaptive_idle_threshold as i128)),
            ("server.adaptive.throttler.signal.refresh.interval.in.seconds", Millis(S, 1), |c| ms(c.adaptive_interval)),
            ("vbt.adaptive.throttler.interval.ms", Millis(MS, 1), |c| ms(c.adaptive_interval)),
            ("vbt.server.request.head.timeout.ms", Millis(MS, 1), |c| ms(c.request_head_timeout)),
            ("vbt.server.max.connections", Limit(1, 1_000_000), |c| c.max_connections.map(|n| n as i128)),
            ("vbt.server.shutdown.grace.ms", Millis(MS, 0), |c| ms(c.shutdown_grace)),
            ("vbt.admin.port", Port(0), |c| c.admin_port.map(i128::from)),
            ("vbt.admin.transfers.history", Limit(0, 10_000), |c| Some(c.admin_history as i128)),
            ("vbt.discovery.router.timeout.ms", Millis(MS, 1), |c| ms(c.discovery.router_timeout)),
            ("vbt.discovery.zookeeper.timeout.ms", Millis(MS, 1), |c| ms(c.discovery.zk_timeout)),
        ]
    }

    /// What `value` must mean for `family`: `Err(())` for an error naming the key.
    fn expected(family: Family, value: &str) -> std::result::Result<Option<i128>, ()> {
        const TEN_YEARS_MS: i128 = 10 * 365 * 24 * 3600 * 1000;
        let (value, mult) = match (family, value.strip_suffix("KB")) {
            (Size, Some(n)) => (n, 1024),
            _ => (value, 1),
        };
        // Java's Long.parseLong: anything else, or beyond a long, is refused.
        let n = value.parse::<i64>().map_err(|_| ())? as i128;
        match family {
            Port(_) if n == -1 => Ok(None),
            Port(min) => (min..=65535).contains(&n).then_some(Some(n)).ok_or(()),
            Limit(min, cap) => (n >= min).then_some(Some(n.min(cap))).ok_or(()),
            Strict(lo, hi) => (lo..=hi).contains(&n).then_some(Some(n)).ok_or(()),
            Rate if n >= 1 << 53 => Ok(Some(0)),
            Rate => (n >= 0).then_some(Some(n)).ok_or(()),
            Size => (n >= 1).then_some(Some((n * mult).min(i32::MAX as i128))).ok_or(()),
            Millis(unit, min) => (n >= min).then_some(Some((n * unit).min(TEN_YEARS_MS))).ok_or(()),
        }
    }

    #[test]
    fn every_numeric_key_has_a_range_and_never_panics() {
        let values = [
            "9223372036854775807",
            "-1",
            "abc",
            "12345678901234567890",
            "70000",
            "0",
            "512KB",
            "",
            "+5",
            " 7 ",
            "1 000",
            "0x10",
            "2.5",
            "-9223372036854775808",
            "9007199254740992",
            "9007199254740991",
            "300",
        ];
        for (key, family, get) in numeric_keys() {
            for value in values {
                let got = Config::from_pairs([(key, value)]);
                match (expected(family, value.trim()), got) {
                    (Ok(want), Ok(c)) => assert_eq!(get(&c), want, "{key}={value:?}"),
                    (Err(()), Err(e)) => {
                        let m = e.message();
                        assert!(m.contains(key), "{key}={value:?}: {m}");
                        assert!(m.contains(&format!("{:?}", value.trim())), "{key}={value:?}: {m}");
                        assert!(m.contains("expected"), "{key}={value:?}: names no range: {m}");
                    }
                    (want, got) => panic!("{key}={value:?}: expected {want:?}, got {got:?}"),
                }
            }
        }
    }

    /// Reads `set`'s own source so a numeric key added later cannot miss the table above.
    #[test]
    fn every_settable_numeric_key_is_in_the_table() {
        let table: Vec<&str> = numeric_keys().iter().map(|k| k.0).collect();
        let source = include_str!("config.rs");
        let setter = &source[source.find("pub fn set(").unwrap()..source.find("pub fn validate(").unwrap()];
        let parsers = ["duration(", "capped(", "ranged(", "port(", "rate(", "size_bytes(", "schema("];
        let mut numeric = 0;
        for arm in setter.split("\n            \"").skip(1) {
            let key = arm.split('"').next().unwrap();
            if parsers.iter().any(|p| arm.contains(p)) {
                numeric += 1;
                assert!(table.contains(&key), "{key} is missing from numeric_keys()");
            }
        }
        assert_eq!(numeric, table.len());
    }

    #[test]
    fn validate_checks_fields_set_directly() {
        let c = Config { adaptive_interval: Duration::MAX, ..Config::default() };
        assert!(c.validate().unwrap_err().message().contains("refresh.interval"));
        let c = Config { worker_threads: 0, ..Config::default() };
        assert!(c.validate().unwrap_err().message().contains("vbt.runtime.worker.threads"));
        let c = Config { max_concurrent_receives: usize::MAX, ..Config::default() };
        assert!(c.validate().unwrap_err().message().contains("receive.replicas"));
        Config::default().validate().unwrap();
    }

    #[test]
    fn ssl_and_acl_go_together() {
        let cases = [("true", "true", true), ("false", "false", true), ("true", "false", false), ("false", "true", false)];
        for (ssl, acl, ok) in cases {
            let got = Config::from_pairs([("blob.transfer.ssl.enabled", ssl), ("blob.transfer.acl.enabled", acl)]);
            match got {
                Ok(_) => assert!(ok, "ssl={ssl} acl={acl} must be refused"),
                Err(e) => {
                    assert!(!ok, "ssl={ssl} acl={acl}: {e}");
                    assert!(e.message().contains("not supported without SSL and ACL"), "{e}");
                    assert!(e.message().contains("vbt.allow.plaintext"), "{e}");
                }
            }
        }
    }

    #[test]
    fn venice_ssl_keys() {
        let c = Config::from_pairs([
            ("ssl.enabled", "false"),
            ("ssl.keystore.location", "/etc/venice/node.p12"),
            ("ssl.keystore.password", "ks-secret"),
            ("ssl.keystore.type", "pkcs12"),
            ("ssl.key.password", "key-secret"),
            ("ssl.truststore.location", "/etc/venice/trust.p12"),
            ("ssl.truststore.password", "ts-secret"),
            ("ssl.truststore.type", "jks"),
            ("ssl.keymanager.algorithm", "SunX509"),
        ])
        .unwrap();
        let t = &c.tls;
        assert_eq!(t.node_ssl_enabled, Some(false));
        assert!(!c.ssl_enabled, "ssl.enabled does not switch blob transfer's TLS");
        assert_eq!(t.keystore, Some(PathBuf::from("/etc/venice/node.p12")));
        assert_eq!(t.truststore, Some(PathBuf::from("/etc/venice/trust.p12")));
        assert_eq!((t.keystore_type.as_deref(), t.truststore_type.as_deref()), (Some("PKCS12"), Some("JKS")));
        assert_eq!(t.keystore_password.as_deref(), Some("ks-secret"));
        assert_eq!(t.key_password.as_deref(), Some("key-secret"));
        assert_eq!(t.truststore_password.as_deref(), Some("ts-secret"));
        // No password reaches Debug output (configs are logged; errors may show them).
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret") && shown.contains("node.p12"), "{shown}");
        // An empty password is a password; an empty location is not a file.
        assert_eq!(Config::from_pairs([("ssl.keystore.password", "")]).unwrap().tls.keystore_password.as_deref(), Some(""));
        for (k, v) in [
            ("ssl.enabled", "yes"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.truststore.type", "PKCS#12"),
            ("ssl.keystore.location", ""),
            ("ssl.truststore.location", " "),
        ] {
            let e = Config::from_pairs([(k, v)]).unwrap_err();
            assert!(e.message().contains(k), "{k}={v:?}: {e}");
        }
        let mut c = Config::default();
        c.tls.truststore_type = Some("BKS".into());
        assert!(c.validate().unwrap_err().message().contains("ssl.truststore.type"));
    }

    #[test]
    fn operator_keys() {
        let d = Config::default();
        assert_eq!((d.admin_port, d.cluster_name.as_deref(), d.node_role), (None, None, None), "admin endpoint off by default");
        assert!(d.admin_bind_address.is_loopback());
        let c = Config::from_pairs([
            ("cluster.name", "venice-cluster0"),
            ("vbt.node.role", "DaVinci"),
            ("vbt.admin.port", "9100"),
            ("vbt.admin.bind.address", "::1"),
        ])
        .unwrap();
        assert_eq!(c.cluster_name.as_deref(), Some("venice-cluster0"));
        assert_eq!(c.node_role, Some(NodeRole::DaVinci));
        assert_eq!(c.admin_port, Some(9100));
        assert_eq!(c.admin_bind_address.to_string(), "::1");
        for (k, v) in [("vbt.node.role", "router"), ("vbt.admin.bind.address", "localhost"), ("cluster.name", " ")] {
            let e = Config::from_pairs([(k, v)]).unwrap_err();
            assert!(e.message().contains(k), "{k}={v:?}: {e}");
        }
    }

    #[test]
    fn properties_text() {
        let c = Config::from_properties("# comment\nvbt.base.dir = /x\n! other\nblob.transfer.max.concurrent.snapshot.user: 4\n").unwrap();
        assert_eq!(c.base_dir, Some(PathBuf::from("/x")));
        assert_eq!(c.max_concurrent_snapshot_users, 4);
    }
}
