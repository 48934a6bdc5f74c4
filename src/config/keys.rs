//! THE table: one row per key vbt reads. [`super::Config::set`] looks a key up here and calls its
//! row's parser and setter; [`super::Config::validate`] checks every row's range; the README's
//! configuration table is [`config_table_markdown`] (a test keeps it in step). A new key is one
//! row here and one field in [`super::Config`].

use super::fields::{DiscoveryKind, NodeRole};
use super::row::Value::*;
use super::row::{Field, Key, Num};
use super::values::Unit::{Millis, Minutes, Seconds};
use super::values::{
    bad, helix_cluster, router_url, store_type, MAX_ADAPTIVE_STEP_PERCENT, MAX_ADMIN_HISTORY, MAX_CONCURRENCY, MAX_WORKER_THREADS,
};
use crate::protocol::TableFormat;

/// A [`Num`] over an integer field (`num!(a.b)`), or over an optional one (`num!(Some a.b)`).
macro_rules! num {
    (Some $($f:ident).+) => {
        Num { get: |c| c.$($f).+.map(|n| n as u64), set: |c, n| c.$($f).+ = Some(n as _) }
    };
    ($($f:ident).+) => {
        Num { get: |c| Some(c.$($f).+ as u64), set: |c, n| c.$($f).+ = n as _ }
    };
}

/// A [`Field`] over a field of the family's own type.
macro_rules! field {
    ($($f:ident).+) => {
        Field { get: |c| c.$($f).+, set: |c, v| c.$($f).+ = v }
    };
}

/// Finds a key's row.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The README's configuration table (header and one row per key, in the table's order).
#[cfg_attr(not(feature = "cli"), allow(dead_code))] // read by the README test and `tools`
pub fn config_table_markdown() -> String {
    let mut out = String::from("| key | default | values | meaning |\n|---|---|---|---|\n");
    for key in KEYS {
        out += &key.markdown();
        out.push('\n');
    }
    out
}

/// Every key, in the README's order. Venice's names first where Venice has the key; `vbt.*` keys
/// are vbt's own. A `.ms` key right after a Venice key sets the same field in milliseconds (the
/// later of the two in a config wins, as for any key).
pub static KEYS: &[Key] = &[
    Key {
        name: "davinci.p2p.blob.transfer.server.port",
        value: Port { min: 0, field: field!(server_port) },
        default: "unset (-1)",
        doc: "sender port; `0` = any free port",
    },
    Key {
        name: "davinci.p2p.blob.transfer.client.port",
        // A port to dial: 0 would never connect.
        value: Port { min: 1, field: field!(client_port) },
        default: "server port",
        doc: "port dialled on peers given without one",
    },
    Key {
        name: "rocksdb.plain.table.format.enabled",
        value: Bool(|c, v| c.table_format = if v { TableFormat::PlainTable } else { TableFormat::BlockBased }),
        default: "false",
        doc: "format served and requested (`PLAIN_TABLE` if true)",
    },
    Key {
        name: "blob.transfer.max.concurrent.snapshot.user",
        value: Count { min: 0, cap: MAX_CONCURRENCY, field: num!(max_concurrent_snapshot_users) },
        default: "30",
        doc: "transfers served at once (exactly; more get 429); 0 = serve none",
    },
    Key {
        name: "server.blob.transfer.accept.client.request.enabled",
        value: Bool(|c, v| c.accept_client_requests = v),
        default: "false",
        doc: "Venice's key: serve requests of client origin (DaVinci/CDC) when the host gave an origin policy (README, client-origin requests)",
    },
    Key {
        name: "server.blob.transfer.client.capacity.percent",
        value: Int { lo: 0, hi: 50, field: num!(client_capacity_percent) },
        default: "25",
        doc: "Venice's key: share of `blob.transfer.max.concurrent.snapshot.user` reserved for client-origin requests",
    },
    Key {
        name: "blob.transfer.snapshot.retention.time.in.min",
        value: Duration { unit: Minutes, min: 0, field: field!(snapshot_retention) },
        default: "60",
        doc: "snapshot reuse window; 0 = a new snapshot for every request",
    },
    Key {
        name: "vbt.snapshot.retention.ms",
        value: Duration { unit: Millis, min: 0, field: field!(snapshot_retention) },
        default: "—",
        doc: "`blob.transfer.snapshot.retention.time.in.min` in milliseconds",
    },
    Key {
        name: "blob.transfer.snapshot.cleanup.interval.in.mins",
        value: Duration { unit: Minutes, min: 1, field: field!(snapshot_cleanup_interval) },
        default: "120",
        doc: "stale-snapshot cleanup period",
    },
    Key {
        name: "vbt.snapshot.cleanup.interval.ms",
        value: Duration { unit: Millis, min: 1, field: field!(snapshot_cleanup_interval) },
        default: "—",
        doc: "`blob.transfer.snapshot.cleanup.interval.in.mins` in milliseconds",
    },
    Key {
        name: "blob.transfer.max.chunk.size.bytes",
        value: Size(num!(max_chunk_size)),
        default: "2097152",
        doc: "sender read/write size (capped at 1 MiB of buffer)",
    },
    Key {
        name: "blob.transfer.max.timeout.in.min",
        value: Duration { unit: Minutes, min: 1, field: field!(sender_max_timeout) },
        default: "60",
        doc: "sender limit per transfer",
    },
    Key {
        name: "vbt.sender.max.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(sender_max_timeout) },
        default: "—",
        doc: "`blob.transfer.max.timeout.in.min` in milliseconds",
    },
    Key {
        name: "vbt.server.idle.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(server_idle_timeout) },
        default: "300000",
        doc: "the sender closes a connection idle this long (Venice's fixed 300 s)",
    },
    Key {
        name: "blob.receive.max.timeout.in.min",
        value: Duration { unit: Minutes, min: 1, field: field!(receive_max_timeout) },
        default: "20",
        doc: "receiver limit per peer attempt",
    },
    Key {
        name: "vbt.receive.max.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(receive_max_timeout) },
        default: "—",
        doc: "`blob.receive.max.timeout.in.min` in milliseconds",
    },
    Key {
        name: "blob.receive.reader.idle.time.in.seconds",
        value: Duration { unit: Seconds, min: 1, field: field!(receive_reader_idle) },
        default: "60",
        doc: "receiver gives up on a silent peer",
    },
    Key {
        name: "vbt.receive.reader.idle.ms",
        value: Duration { unit: Millis, min: 1, field: field!(receive_reader_idle) },
        default: "—",
        doc: "`blob.receive.reader.idle.time.in.seconds` in milliseconds",
    },
    Key {
        name: "blob.transfer.peers.connectivity.freshness.in.seconds",
        value: Duration { unit: Seconds, min: 0, field: field!(connectivity_freshness) },
        default: "30",
        doc: "good/bad peer cache lifetime; 0 = no cache",
    },
    Key {
        name: "vbt.peer.connect.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(connect_timeout) },
        default: "30000",
        doc: "TCP connect to a peer (Venice's fixed 30 s)",
    },
    Key {
        name: "vbt.peer.busy.wait.ms",
        value: Duration { unit: Millis, min: 0, field: field!(busy_wait) },
        default: "30000",
        doc: "when every peer failed and vbt senders among them answered 429 with a retry-after, wait for it and ask them again, up to this long in all; 0 = fall back at once as Venice does",
    },
    Key {
        name: "vbt.peer.probe.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(probe_timeout_per_host) },
        default: "50000",
        doc: "connectivity probe of one peer (Venice's fixed 50 s)",
    },
    Key {
        name: "vbt.peer.probe.total.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(probe_timeout_total) },
        default: "60000",
        doc: "the whole connectivity probe (Venice's fixed 1 minute)",
    },
    Key {
        name: "vbt.peer.probe.concurrency",
        value: Count { min: 1, cap: MAX_CONCURRENCY, field: num!(probe_concurrency) },
        default: "64",
        doc: "connectivity probes in flight at once (Venice probes every peer at once); the bootstrap starts on the first peer that answers",
    },
    Key {
        name: "blob.transfer.max.concurrent.blob.receive.replicas",
        value: Count { min: 1, cap: MAX_CONCURRENCY, field: num!(max_concurrent_receives) },
        default: "20",
        doc: "bootstraps run at once; more wait",
    },
    Key {
        name: "data.base.path",
        // `Config::from_pairs` derives the base dir from it when `vbt.base.dir` is not given.
        value: Path(|_, _| {}),
        default: "—",
        doc: "base directory is `<data.base.path>/rocksdb`, as in Venice",
    },
    Key {
        name: "vbt.base.dir",
        value: Path(|c, v| c.base_dir = Some(v)),
        default: "—",
        doc: "base directory (overrides `data.base.path`)",
    },
    Key {
        name: "vbt.snapshot.dir",
        value: Path(|c, v| c.snapshot_root = Some(v)),
        default: "`<vbt.state.dir>/snapshots`",
        doc: "where a host snapshot source is asked to create its checkpoints",
    },
    Key {
        name: "vbt.state.dir",
        value: Path(|c, v| c.state_dir = Some(v)),
        default: "`<base dir>.vbt` beside the base dir",
        doc: "vbt's own state (partition locks, host snapshots, files kept for resume); never inside the base dir",
    },
    Key {
        name: "blob.transfer.manager.enabled",
        value: Bool(|c, v| c.manager_enabled = v),
        default: "true",
        doc: "Venice's switch for blob transfer as a whole",
    },
    Key {
        name: "blob.transfer.ssl.enabled",
        value: Bool(|c, v| c.ssl_enabled = v),
        default: "false",
        doc: "mutual TLS on both ends (needs a certificate and trusted CAs: the `ssl.*` stores or the `vbt.ssl.*` PEM files); must equal `blob.transfer.acl.enabled`, as Venice requires",
    },
    Key {
        name: "blob.transfer.acl.enabled",
        value: Bool(|c, v| c.acl_enabled = v),
        default: "false",
        doc: "Venice's ACL on the sender: peer certificate issuer DN must equal ours; must equal `blob.transfer.ssl.enabled`",
    },
    Key {
        name: "vbt.allow.plaintext",
        value: Bool(|c, v| c.allow_plaintext = v),
        default: "false",
        doc: "allow plaintext (no TLS, no ACL) beyond loopback",
    },
    Key {
        name: "ssl.enabled",
        value: Bool(|c, v| c.tls.node_ssl_enabled = Some(v)),
        default: "unset",
        doc: "the node's general SSL switch; read and checked, but blob transfer's TLS is switched by `blob.transfer.ssl.enabled` alone, as in Venice (TLS section)",
    },
    Key {
        name: "ssl.keystore.location",
        value: Path(|c, v| c.tls.keystore = Some(v)),
        default: "—",
        doc: "PKCS12 keystore: the private key entry and its chain are the certificate this node presents",
    },
    Key {
        name: "ssl.keystore.password",
        value: Text { values: "any", empty_ok: true, set: |c, v| c.tls.keystore_password = Some(v) },
        default: "empty",
        doc: "opens the keystore",
    },
    Key {
        name: "ssl.keystore.type",
        value: Other {
            values: "PKCS12, JKS (any case)",
            set: |c, key, v| {
                c.tls.keystore_type = Some(store_type(key, v)?);
                Ok(())
            },
            check: Some(|c, key| c.tls.keystore_type.as_deref().map_or(Ok(()), |t| store_type(key, t).map(drop))),
        },
        default: "unset",
        doc: "as in Java, the file's own format decides; a JKS file gets the conversion command",
    },
    Key {
        name: "ssl.key.password",
        value: Text { values: "any", empty_ok: true, set: |c, v| c.tls.key_password = Some(v) },
        default: "—",
        doc: "tried when `ssl.keystore.password` does not open the keystore (PKCS12 has one password)",
    },
    Key {
        name: "ssl.truststore.location",
        value: Path(|c, v| c.tls.truststore = Some(v)),
        default: "—",
        doc: "PKCS12 truststore: its trusted-certificate entries are the trusted CAs",
    },
    Key {
        name: "ssl.truststore.password",
        value: Text { values: "any", empty_ok: true, set: |c, v| c.tls.truststore_password = Some(v) },
        default: "empty",
        doc: "opens the truststore",
    },
    Key {
        name: "ssl.truststore.type",
        value: Other {
            values: "PKCS12, JKS (any case)",
            set: |c, key, v| {
                c.tls.truststore_type = Some(store_type(key, v)?);
                Ok(())
            },
            check: Some(|c, key| c.tls.truststore_type.as_deref().map_or(Ok(()), |t| store_type(key, t).map(drop))),
        },
        default: "unset",
        doc: "as `ssl.keystore.type`",
    },
    Key {
        name: "vbt.ssl.cert.chain.path",
        value: Path(|c, v| c.tls.cert_chain = Some(v)),
        default: "—",
        doc: "PEM certificate chain this node presents (as server and as client); with the next key, wins over `ssl.keystore.*`",
    },
    Key {
        name: "vbt.ssl.private.key.path",
        value: Path(|c, v| c.tls.private_key = Some(v)),
        default: "—",
        doc: "PEM private key (PKCS#8, PKCS#1 or SEC1)",
    },
    Key {
        name: "vbt.ssl.trust.ca.path",
        value: Path(|c, v| c.tls.trust_ca = Some(v)),
        default: "—",
        doc: "PEM file of trusted CA certificates; wins over `ssl.truststore.*`",
    },
    Key {
        name: "vbt.ssl.acl.allowed.subjects",
        value: Other {
            values: "`;`-separated subject DNs (RFC 4514)",
            set: |c, _, v| {
                c.tls.allowed_subjects = v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                Ok(())
            },
            check: None,
        },
        default: "—",
        doc: "optional: also required by the ACL",
    },
    Key {
        name: "blob.transfer.service.write.limit.bytes.per.sec",
        value: Rate(num!(write_limit)),
        default: "157286400",
        doc: "global send limit shared by all connections",
    },
    Key {
        name: "blob.transfer.client.read.limit.bytes.per.sec",
        value: Rate(num!(read_limit)),
        default: "157286400",
        doc: "global receive limit",
    },
    Key {
        name: "server.adaptive.throttler.enabled",
        value: Bool(|c, v| c.adaptive_throttler.0 = v),
        default: "false",
        doc: "with the next key: adaptive factor 20–200 % on both limits (both must be true)",
    },
    Key {
        name: "server.blob.transfer.adaptive.throttler.enabled",
        value: Bool(|c, v| c.adaptive_throttler.1 = v),
        default: "false",
        doc: "with the key before: adaptive factor 20–200 % on both limits (both must be true)",
    },
    Key {
        name: "server.blob.transfer.adaptive.throttler.update.percentage",
        value: Count { min: 1, cap: MAX_ADAPTIVE_STEP_PERCENT, field: num!(adaptive_step_percent) },
        default: "20",
        doc: "factor step (one step of 180 already spans 20–200 %)",
    },
    Key {
        name: "server.adaptive.throttler.signal.idle.threshold",
        value: Count { min: 1, cap: u32::MAX as u64, field: num!(adaptive_idle_threshold) },
        default: "10",
        doc: "quiet ticks before a step up",
    },
    Key {
        name: "server.adaptive.throttler.signal.refresh.interval.in.seconds",
        value: Duration { unit: Seconds, min: 1, field: field!(adaptive_interval) },
        default: "30",
        doc: "tick period",
    },
    Key {
        name: "vbt.adaptive.throttler.interval.ms",
        value: Duration { unit: Millis, min: 1, field: field!(adaptive_interval) },
        default: "—",
        doc: "`server.adaptive.throttler.signal.refresh.interval.in.seconds` in milliseconds",
    },
    Key {
        name: "vbt.server.bind.address",
        value: Ip(|c, v| c.bind_address = v),
        default: "0.0.0.0",
        doc: "sender listen address",
    },
    Key {
        name: "vbt.server.request.head.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(request_head_timeout) },
        default: "30000",
        doc: "sender waits this long for a request head after accept",
    },
    Key {
        name: "vbt.server.max.connections",
        value: Count { min: 1, cap: MAX_CONCURRENCY, field: num!(Some max_connections) },
        default: "unset",
        doc: "connections the sender keeps open at once; unset = derived from the open-file limit",
    },
    Key {
        name: "vbt.server.admission.queue",
        value: Count { min: 0, cap: MAX_CONCURRENCY, field: num!(admission_queue) },
        default: "64",
        doc: "vbt receivers that every peer refused may ask to wait (X-Vbt-Wait): this many wait in line for a slot, first come first served, instead of a 429; 0 = refuse at once as Venice does",
    },
    Key {
        name: "vbt.server.shutdown.grace.ms",
        value: Duration { unit: Millis, min: 0, field: field!(shutdown_grace) },
        default: "30000",
        doc: "running transfers may finish this long when the node closes; 0 = end them at once",
    },
    Key {
        name: "vbt.receive.verify.rocksdb",
        value: Bool(|c, v| c.verify_rocksdb = v),
        default: "true",
        doc: "open each installed partition read-only with RocksDB",
    },
    Key {
        name: "vbt.receive.direct.io",
        value: Bool(|c, v| c.receive_direct_io = v),
        default: "true",
        doc: "write received files with O_DIRECT (around the page cache), falling back to buffered writes where the file system refuses it; every file is still fdatasync'ed",
    },
    Key {
        name: "vbt.extensions.enabled",
        value: Bool(|c, v| c.extensions = v),
        default: "true",
        doc: "ask vbt senders for the extensions below (*Between vbt nodes*); `false`: the request is Java's byte for byte, whatever the next keys say",
    },
    Key {
        name: "vbt.checksum.fast",
        value: Bool(|c, v| c.fast_checksum = v),
        default: "true",
        doc: "ask for XXH3-128 instead of MD5",
    },
    Key {
        name: "vbt.receive.streams",
        value: Int { lo: 1, hi: crate::protocol::ext::MAX_STREAMS as u64, field: num!(receive_streams) },
        default: "2",
        doc: "connections one partition may use to a vbt sender",
    },
    Key {
        name: "vbt.receive.md5.lanes",
        value: Bool(|c, v| c.receive_md5_lanes = v),
        default: "true",
        doc: "hash every MD5 stream the node receives on one thread in SIMD lanes (AVX2/AVX-512; ignored elsewhere) instead of a thread per connection",
    },
    Key {
        name: "vbt.receive.resume",
        value: Bool(|c, v| c.receive_resume = v),
        default: "true",
        doc: "keep files verified before an interruption and continue from them (kept until `blob.transfer.snapshot.retention.time.in.min` passes without a file added)",
    },
    Key {
        name: "vbt.zone",
        value: Other {
            values: "a zone name (letters, digits, `-`, `_`, `.`)",
            set: |c, key, v| {
                c.zone = Some(super::values::zone(key, v)?.to_string());
                Ok(())
            },
            check: None,
        },
        default: "—",
        doc: "this node's zone: among the peers that answer, those in the same zone (`host:port@zone`, or Helix's `DOMAIN`) are asked first",
    },
    Key {
        name: "vbt.partition.state.schema.version",
        value: Int { lo: 0, hi: 127, field: num!(partition_state_schema_version) },
        default: "24",
        doc: "Avro protocol version of PARTITION_STATE this host writes (schema headers, 412 rule)",
    },
    Key {
        name: "vbt.store.version.state.schema.version",
        value: Int { lo: 0, hi: 127, field: num!(store_version_state_schema_version) },
        default: "7",
        doc: "Avro protocol version of STORE_VERSION_STATE this host writes (schema headers, 412 rule)",
    },
    Key {
        name: "vbt.runtime.worker.threads",
        value: Int { lo: 1, hi: MAX_WORKER_THREADS, field: num!(worker_threads) },
        default: "min(cores, 4)",
        doc: "tokio workers",
    },
    Key {
        name: "vbt.admin.port",
        value: Port { min: 0, field: field!(admin_port) },
        default: "unset (-1) = off",
        doc: "admin endpoint (`/metrics`, `/health`, `/transfers`); `0` = any free port",
    },
    Key {
        name: "vbt.admin.bind.address",
        value: Ip(|c, v| c.admin_bind_address = v),
        default: "127.0.0.1",
        doc: "admin endpoint listen address (it has no TLS or ACL: keep it on loopback or a management network)",
    },
    Key {
        name: "vbt.admin.transfers.history",
        value: Count { min: 0, cap: MAX_ADMIN_HISTORY, field: num!(admin_history) },
        default: "100",
        doc: "finished transfers `/transfers` keeps",
    },
    Key {
        name: "cluster.name",
        value: Text { values: "non-empty", empty_ok: false, set: |c, v| c.cluster_name = Some(v) },
        default: "unset",
        doc: "Venice's key: the `venice_cluster_name` label of every Venice-named metric (omitted when unset)",
    },
    Key {
        name: "vbt.node.role",
        value: Other {
            values: "`davinci`, `server`",
            set: |c, key, v| {
                c.node_role = Some(match v.to_ascii_lowercase().as_str() {
                    "davinci" => NodeRole::DaVinci,
                    "server" => NodeRole::Server,
                    _ => return Err(bad(key, v, "expected davinci or server")),
                });
                Ok(())
            },
            check: None,
        },
        default: "unset",
        doc: "what this node is, hence what its peers are: the `venice_blob_transfer_sender_source` label (`davinci_peer` / `venice_server`; omitted when unset)",
    },
    Key {
        name: "vbt.discovery",
        value: Other {
            values: "`router`, `helix`, `host` (= unset)",
            set: |c, key, v| {
                c.discovery.kind = match v.to_ascii_lowercase().as_str() {
                    "router" => DiscoveryKind::Router,
                    "helix" => DiscoveryKind::Helix,
                    "" | "host" => DiscoveryKind::Host,
                    _ => return Err(bad(key, v, "expected router, helix, or host (the host's own discovery; the default)")),
                };
                Ok(())
            },
            check: None,
        },
        default: "unset",
        doc: "built-in peer discovery for requests that name no peers (see *Peer discovery*); unset: the host's discovery",
    },
    Key {
        name: "vbt.discovery.router.url",
        value: Other {
            values: "`http://HOST[:PORT][/PATH]` or `https://…` (no query)",
            set: |c, key, v| {
                router_url(key, v)?;
                c.discovery.router_url = Some(v.to_string());
                Ok(())
            },
            check: None,
        },
        default: "—",
        doc: "the Venice router asked for `blob_discovery`",
    },
    Key {
        name: "vbt.discovery.router.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(discovery.router_timeout) },
        default: "3000",
        doc: "the whole router request (DaVinci's fixed 3 s)",
    },
    Key {
        name: "vbt.discovery.zookeeper.address",
        value: Text {
            values: "non-empty ZooKeeper connect string (`host:port[,host:port][/chroot]`)",
            empty_ok: false,
            set: |c, v| c.discovery.zk_address = Some(v),
        },
        default: "—",
        doc: "where Helix keeps the cluster",
    },
    Key {
        name: "vbt.discovery.zookeeper.timeout.ms",
        value: Duration { unit: Millis, min: 1, field: field!(discovery.zk_timeout) },
        default: "10000",
        doc: "connecting to ZooKeeper; a discovery gives up after twice this (connect and reads)",
    },
    Key {
        name: "vbt.discovery.helix.cluster",
        value: Other {
            values: "a cluster name (no `/`)",
            set: |c, key, v| {
                c.discovery.helix_cluster = Some(helix_cluster(key, v)?.to_string());
                Ok(())
            },
            check: None,
        },
        default: "—",
        doc: "the Venice cluster's Helix name",
    },
];
