//! `vbt`: generate, serve, fetch and verify Venice partitions, and the end-to-end demo.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::{Args, Parser, Subcommand};
use venice_blob_transfer::tools::{local, records, Layout};
use venice_blob_transfer::{
    BootstrapOutcome, BootstrapRequest, Config, DiscoveryKind, Error, FixedSnapshot, Node, PartitionId, PartitionMetadata, PeerFailure,
    Progress, Result, TableFormat,
};

#[derive(Parser)]
#[command(name = "vbt", version, about = "Peer-to-peer RocksDB partition bootstrap for Venice")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a partition of deterministic records (and its metadata) that `verify` can check.
    Gen {
        #[command(flatten)]
        part: PartArgs,
        /// About how many MiB of records to write.
        #[arg(long)]
        size_mib: u64,
    },
    /// Serve every partition under --base-dir, or one fixed --snapshot-dir, to peers.
    Serve {
        #[arg(long, required_unless_present = "snapshot_dir")]
        base_dir: Option<PathBuf>,
        /// Serve this directory as the snapshot of --store/--version/--partition.
        #[arg(long, requires_all = ["store", "version", "partition", "offset_record", "store_version_state"])]
        snapshot_dir: Option<PathBuf>,
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        version: Option<i32>,
        #[arg(long)]
        partition: Option<i32>,
        /// File holding the offset record bytes (magic 24, version, Avro record).
        #[arg(long)]
        offset_record: Option<PathBuf>,
        /// File holding the store-version state bytes (magic 25, version, Avro record).
        #[arg(long)]
        store_version_state: Option<PathBuf>,
        /// The table format served (default: from rocksdb.plain.table.format.enabled).
        #[arg(long)]
        table_format: Option<TableFormat>,
        #[command(flatten)]
        conf: ConfArgs,
    },
    /// Bootstrap a partition from peers into --base-dir; prints a one-line JSON result.
    /// With several partitions (`--partition 0-7`, or repeated), they are bootstrapped at once
    /// (within blob.transfer.max.concurrent.blob.receive.replicas): one JSON line each, then a
    /// summary line; exit 0 only if every one succeeded.
    Fetch {
        #[command(flatten)]
        at: StoreArgs,
        /// A partition, or a range `A-B`; repeat for more.
        #[arg(long = "partition", required = true)]
        partitions: Vec<String>,
        /// A peer as `HOST[:PORT]`; repeat for more. Tried one at a time, shuffled. Given, it
        /// wins over any discovery.
        #[arg(long = "peer")]
        peers: Vec<String>,
        #[command(flatten)]
        discovery: DiscoveryArgs,
        #[command(flatten)]
        conf: ConfArgs,
    },
    /// Open a partition written by `gen` (or fetched from one) and check every record.
    Verify {
        #[command(flatten)]
        part: PartArgs,
    },
    /// Write a CA and node certificates (PEM) for mutual TLS tests and benchmarks; prints the
    /// -D settings each node needs.
    GenCerts {
        #[arg(long)]
        dir: PathBuf,
        /// Node names; one certificate each, all from one CA.
        #[arg(long = "node", default_values_t = ["sender".to_string(), "receiver".to_string()])]
        nodes: Vec<String>,
    },
    /// Benchmark baseline: re-write every record of a partition into a fresh one with ordinary
    /// WAL-backed writes (what a Kafka replay amounts to); prints seconds.
    Reingest {
        #[command(flatten)]
        part: PartArgs,
        /// Base directory to write the fresh copy into.
        #[arg(long)]
        into: PathBuf,
    },
    /// Generate a partition, serve it, bootstrap it into a second directory over loopback,
    /// verify it, and report.
    Demo {
        #[arg(long, default_value_t = 256)]
        size_mib: u64,
        #[arg(long, default_value = "BLOCK_BASED_TABLE")]
        table_format: TableFormat,
        /// Keep the demo's files in this directory (default: a temporary one, removed after).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Run both nodes in mutual TLS with Venice's ACL, with certificates generated now.
        #[arg(long)]
        tls: bool,
        /// Settings for both nodes (e.g. limits); by default the demo lifts Venice's 150 MiB/s
        /// limits so it shows what the machine can do.
        #[command(flatten)]
        conf: ConfArgs,
    },
}

/// A store version under a base directory, and its table format.
#[derive(Args)]
struct StoreArgs {
    #[arg(long)]
    base_dir: PathBuf,
    #[arg(long)]
    store: String,
    #[arg(long)]
    version: i32,
    #[arg(long, default_value = "BLOCK_BASED_TABLE")]
    table_format: TableFormat,
}

/// One partition of a store version.
#[derive(Args)]
struct PartArgs {
    #[command(flatten)]
    at: StoreArgs,
    #[arg(long)]
    partition: i32,
}

impl PartArgs {
    fn id(&self) -> Result<PartitionId> {
        PartitionId::new(&self.at.store, self.at.version, self.partition)
    }
}

/// Where `fetch` finds peers when no `--peer` is given (the `vbt.discovery.*` keys).
#[derive(Args)]
struct DiscoveryArgs {
    /// `router` (a Venice router's blob_discovery, as DaVinci does) or `helix` (the Helix
    /// customized view in ZooKeeper, as a Venice server does). Peers are dialled on
    /// davinci.p2p.blob.transfer.client.port.
    #[arg(long, value_parser = ["router", "helix"])]
    discovery: Option<String>,
    /// The Venice router, e.g. http://router.example:7777 (vbt.discovery.router.url).
    #[arg(long, value_name = "URL")]
    router_url: Option<String>,
    /// ZooKeeper connect string, e.g. zk1:2181,zk2:2181 (vbt.discovery.zookeeper.address).
    #[arg(long, value_name = "HOST:PORT[,...]")]
    zk_address: Option<String>,
    /// The Venice cluster's Helix name (vbt.discovery.helix.cluster).
    #[arg(long, value_name = "NAME")]
    helix_cluster: Option<String>,
}

impl DiscoveryArgs {
    /// The settings these flags stand for, applied after --config and -D.
    fn pairs(&self) -> Vec<(String, String)> {
        [
            ("vbt.discovery", &self.discovery),
            ("vbt.discovery.router.url", &self.router_url),
            ("vbt.discovery.zookeeper.address", &self.zk_address),
            ("vbt.discovery.helix.cluster", &self.helix_cluster),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

#[derive(Args)]
struct ConfArgs {
    /// A Java properties file with Venice (and vbt.*) settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// One setting, KEY=VALUE; repeat for more. Applied after --config.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    defines: Vec<String>,
    /// Serve /metrics, /health and /transfers on this port (vbt.admin.port; 0 = any free port;
    /// bound to vbt.admin.bind.address, loopback by default). `demo` gives it to the receiver.
    #[arg(long)]
    admin_port: Option<u16>,
}

impl ConfArgs {
    fn pairs(&self) -> Result<Vec<(String, String)>> {
        let mut pairs = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
                venice_blob_transfer::tools::parse_properties(&text)?
            }
            None => Vec::new(),
        };
        for d in &self.defines {
            let (k, v) = d.split_once('=').ok_or_else(|| Error::invalid(format!("-D {d:?}: expected KEY=VALUE")))?;
            pairs.push((k.trim().to_string(), v.trim().to_string()));
        }
        if let Some(p) = self.admin_port {
            pairs.push(("vbt.admin.port".into(), p.to_string()));
        }
        Ok(pairs)
    }
}

fn main() -> ExitCode {
    StderrLogger::install();
    #[cfg(feature = "failpoints")]
    let _failpoints = failpoints::setup();
    match run(Cli::parse().cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vbt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Gen { part, size_mib } => {
            let (count, secs) = gen(&part.at.base_dir, &part.id()?, part.at.table_format, size_mib)?;
            println!("{}", serde_json::json!({"partition": part.id()?.replica(), "records": count, "seconds": round3(secs)}));
            Ok(())
        }
        Cmd::Verify { part } => {
            let dir = Layout::new(&part.at.base_dir).partition_dir(&part.id()?);
            let n = records::verify(&dir, part.at.table_format)?;
            println!("{}", serde_json::json!({"partition": part.id()?.replica(), "records": n, "ok": true}));
            Ok(())
        }
        Cmd::Serve { base_dir, snapshot_dir, store, version, partition, offset_record, store_version_state, table_format, conf } => {
            let mut pairs = conf.pairs()?;
            if let Some(b) = &base_dir {
                pairs.push(("vbt.base.dir".into(), b.display().to_string()));
            }
            if let Some(f) = table_format {
                pairs.push(("rocksdb.plain.table.format.enabled".into(), (f == TableFormat::PlainTable).to_string()));
            }
            let config = Config::from_pairs(pairs)?;
            let node = match snapshot_dir {
                Some(dir) => {
                    let id = PartitionId::new(store.unwrap_or_default(), version.unwrap_or(-1), partition.unwrap_or(-1))?;
                    let read = |p: Option<PathBuf>| {
                        let p = p.expect("required by clap");
                        std::fs::read(&p).map_err(|e| Error::io(format!("read {}", p.display()), e))
                    };
                    let metadata = PartitionMetadata::new(&id, read(offset_record)?, read(store_version_state)?)?;
                    Node::builder(config).snapshot_source(Arc::new(FixedSnapshot { id, dir, metadata })).build()?
                }
                None => Node::new(config)?,
            };
            // Registered before the port opens: from then on a signal means a graceful stop.
            let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
                .map_err(|e| Error::io("installing SIGTERM/SIGINT handlers", e))?;
            let addr = node.start_server()?;
            let cfg = node.config();
            // What is exposed, at a glance: address, TLS and ACL.
            println!(
                "{}",
                serde_json::json!({"listening": addr.to_string(), "tls": cfg.ssl_enabled, "acl": cfg.acl_enabled,
                    "loopback_only": addr.ip().is_loopback(), "admin": node.admin_addr().map(|a| a.to_string())})
            );
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let signal = signals.forever().next().unwrap_or(signal_hook::consts::SIGTERM);
            let grace = cfg.shutdown_grace;
            eprintln!(
                "vbt serve: signal {signal}: stopping; transfers in flight may finish for {:.1}s (vbt.server.shutdown.grace.ms)",
                grace.as_secs_f64()
            );
            // A second signal during the grace period ends the transfers in flight at once.
            let stopped = signals.handle();
            let cut = std::thread::scope(|scope| {
                let stopping = scope.spawn(|| {
                    let cut = node.stop_server(grace);
                    stopped.close();
                    cut
                });
                if let Some(again) = signals.forever().next() {
                    eprintln!("vbt serve: signal {again} again: ending transfers in flight now");
                    node.close();
                }
                stopping.join().expect("the stopping thread")
            });
            if cut > 0 {
                eprintln!("vbt serve: ended {cut} unfinished transfer(s) after the grace period");
            }
            node.close();
            eprintln!("vbt serve: stopped");
            Ok(())
        }
        Cmd::Fetch { at: StoreArgs { base_dir, store, version, table_format }, partitions, peers, discovery, conf } => {
            let mut pairs = conf.pairs()?;
            pairs.extend(discovery.pairs());
            pairs.push(("vbt.base.dir".into(), base_dir.display().to_string()));
            let config = Config::from_pairs(pairs)?;
            if peers.is_empty() && config.discovery.kind == DiscoveryKind::Host {
                return Err(Error::invalid(
                    "fetch needs peers: --peer HOST[:PORT], or --discovery router --router-url URL, or \
                     --discovery helix --zk-address HOST:PORT --helix-cluster NAME (or vbt.discovery in --config)",
                ));
            }
            let node = Node::new(config)?;
            if let Some(a) = node.admin_addr() {
                eprintln!("vbt fetch: admin endpoint on http://{a}/ (/metrics, /health, /transfers)");
            }
            let ids = partition_list(&partitions)?.into_iter().map(|p| PartitionId::new(&store, version, p)).collect::<Result<Vec<_>>>()?;
            if ids.len() == 1 {
                let mut req = BootstrapRequest::new(ids[0].clone(), peers);
                req.table_format = Some(table_format);
                let meter = Meter::start("fetch");
                req.progress = meter.callback();
                let out = node.bootstrap_blocking(req);
                meter.finish();
                match out {
                    Ok(out) => println!("{}", result_json(&out)),
                    Err(e) => {
                        // The same JSON a failed partition of `fetch_many` gets; the message also
                        // goes to stderr with exit status 1.
                        println!("{}", error_json(&ids[0], &e));
                        return Err(e);
                    }
                }
                return Ok(());
            }
            fetch_many(&node, ids, peers, table_format)
        }
        Cmd::GenCerts { dir, nodes } => {
            use venice_blob_transfer::tools::testcerts::{write_node, Ca};
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
            let ca = Ca::new("vbt CA")?;
            let trust = dir.join("ca.pem");
            std::fs::write(&trust, &ca.pem).map_err(|e| Error::io(format!("write {}", trust.display()), e))?;
            let mut out = serde_json::Map::new();
            for n in &nodes {
                let pairs = write_node(&dir, n, &ca.issue(n, false)?, &trust)?;
                out.insert(n.clone(), pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect());
            }
            println!("{}", serde_json::Value::Object(out));
            Ok(())
        }
        Cmd::Reingest { part, into } => {
            let id = part.id()?;
            std::fs::create_dir_all(Layout::new(&into).version_dir(&id)).map_err(|e| Error::io(format!("create {}", into.display()), e))?;
            let started = Instant::now();
            let n = records::reingest(
                &Layout::new(&part.at.base_dir).partition_dir(&id),
                &Layout::new(&into).partition_dir(&id),
                part.at.table_format,
            )?;
            println!(
                "{}",
                serde_json::json!({"partition": id.replica(), "records": n, "seconds": round3(started.elapsed().as_secs_f64())})
            );
            Ok(())
        }
        Cmd::Demo { size_mib, table_format, work_dir, tls, conf } => demo(size_mib, table_format, work_dir, tls, conf),
    }
}

/// `--partition` values: numbers and ranges `A-B`, in order, each once.
fn partition_list(values: &[String]) -> Result<Vec<i32>> {
    let mut out: Vec<i32> = Vec::new();
    for v in values {
        let bad = || Error::invalid(format!("--partition {v:?}: expected a partition number or a range such as 0-7"));
        let (a, b) = match v.split_once('-') {
            Some((a, b)) => (a.trim().parse::<i32>().map_err(|_| bad())?, b.trim().parse::<i32>().map_err(|_| bad())?),
            None => {
                let n = v.trim().parse::<i32>().map_err(|_| bad())?;
                (n, n)
            }
        };
        if a > b || b - a >= 100_000 {
            return Err(bad());
        }
        out.extend((a..=b).filter(|p| !out.contains(p)).collect::<Vec<_>>());
    }
    Ok(out)
}

/// Several partitions at once in one node: a JSON line per partition as each ends (in the order
/// given), then a summary. Every bootstrap is started first; the node's receive slots bound how
/// many run together.
fn fetch_many(node: &Node, ids: Vec<PartitionId>, peers: Vec<String>, format: TableFormat) -> Result<()> {
    let started = Instant::now();
    let mut ops = Vec::new();
    for id in &ids {
        let mut req = BootstrapRequest::new(id.clone(), peers.clone());
        req.table_format = Some(format);
        ops.push((id.clone(), node.bootstrap(req)));
    }
    let (mut bytes, mut failed) = (0u64, 0usize);
    for (id, op) in ops {
        match op.and_then(|op| op.wait()) {
            Ok(out) => {
                bytes += out.bytes;
                println!("{}", result_json(&out));
            }
            Err(e) => {
                failed += 1;
                println!("{}", error_json(&id, &e));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"summary": true, "partitions": ids.len(), "failed": failed, "bytes": bytes,
            "seconds": round3(secs), "mb_per_s": mb_per_s(bytes, secs)})
    );
    if failed > 0 {
        return Err(Error::new(venice_blob_transfer::ErrorKind::AllPeersFailed, format!("{failed} of {} partitions failed", ids.len())));
    }
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    round3(bytes as f64 / 1e6 / secs.max(1e-9))
}

fn result_json(o: &BootstrapOutcome) -> serde_json::Value {
    serde_json::json!({
        "partition": o.id.replica(),
        "peer": o.peer,
        "files": o.files,
        "bytes": o.bytes,
        "resumed_bytes": o.resumed_bytes,
        "streams": o.streams,
        "seconds": round3(o.elapsed.as_secs_f64()),
        "first_byte_seconds": (o.first_byte.as_secs_f64() * 1e6).round() / 1e6,
        "mb_per_s": mb_per_s(o.bytes, o.elapsed.as_secs_f64()),
        "checksum": o.checksum,
        "partition_dir": o.partition_dir.display().to_string(),
        "offset_record": STANDARD.encode(&o.metadata.offset_record),
        "store_version_state": STANDARD.encode(&o.metadata.store_version_state),
        "failed_peers": failed_peers_json(&o.failed_peers),
    })
}

/// Each failed peer: `peer`, `code` (the error kind's name, as C's `VBT_<code>` and Java's
/// `Code`), `code_number`, `error` (the message) and `probe_only` (it failed the connectivity
/// check, so no transfer was attempted from it).
fn failed_peers_json(failed: &[PeerFailure]) -> Vec<serde_json::Value> {
    failed
        .iter()
        .map(|f| {
            serde_json::json!({"peer": f.peer, "code": f.error.kind().constant_name(), "code_number": f.error.kind().code(),
                "error": f.error.message(), "probe_only": f.probe_only})
        })
        .collect()
}

/// A failed bootstrap: the error's code and message, the failed peers, and Venice's
/// `fallback_reason` (`no_candidates` or `all_hosts_failed`; null for failures that are not a
/// fallback to Kafka, such as a partition that already exists).
fn error_json(id: &PartitionId, e: &Error) -> serde_json::Value {
    serde_json::json!({
        "partition": id.replica(),
        "error": e.message(),
        "code": e.kind().constant_name(),
        "code_number": e.kind().code(),
        "fallback_reason": e.fallback_reason(),
        "failed_peers": failed_peers_json(e.peer_failures()),
    })
}

/// Writes a `gen` partition and its metadata; returns (records, seconds).
fn gen(base: &Path, id: &PartitionId, format: TableFormat, size_mib: u64) -> Result<(u64, f64)> {
    let count = records::records_for_size(size_mib);
    let dir = Layout::new(base).partition_dir(&id);
    std::fs::create_dir_all(Layout::new(base).version_dir(&id)).map_err(|e| Error::io(format!("create {}", base.display()), e))?;
    let started = Instant::now();
    let meter = Meter::start("gen");
    let cb = meter.callback();
    records::generate(&dir, format, count, |done| {
        if let Some(cb) = &cb {
            cb(&Progress {
                peer: String::new(),
                file: String::new(),
                files_done: 0,
                bytes_done: done * (records::VALUE_SIZE as u64 + 16),
                bytes_resumed: 0,
                files_total: None,
                bytes_total: None,
            });
        }
    })?;
    meter.finish();
    let (offset, svs) = records::gen_metadata_blobs(
        count,
        venice_blob_transfer::tools::DEFAULT_PARTITION_STATE_SCHEMA_VERSION,
        venice_blob_transfer::tools::DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION,
    );
    local::write_metadata(base, id, &PartitionMetadata::new(id, offset, svs)?)?;
    Ok((count, started.elapsed().as_secs_f64()))
}

fn demo(size_mib: u64, format: TableFormat, work_dir: Option<PathBuf>, tls: bool, conf: ConfArgs) -> Result<()> {
    let temp;
    let root = match work_dir {
        Some(d) => d,
        None => {
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    let (sender_base, receiver_base) = (root.join("sender"), root.join("receiver"));
    let id = PartitionId::new("demoStore", 1, 0)?;
    let mode = if tls { "mutual TLS" } else { "plaintext" };
    println!("vbt demo: {size_mib} MiB {format} partition {} over {mode}, in {}", id.replica(), root.display());

    let (count, gen_secs) = gen(&sender_base, &id, format, size_mib)?;
    println!("  1. generated {count} records with RocksDB in {gen_secs:.2}s");

    // Both nodes: the demo's defaults, then TLS material, then the user's settings (which win).
    let common: Vec<(String, String)> = vec![
        ("rocksdb.plain.table.format.enabled".into(), (format == TableFormat::PlainTable).to_string()),
        ("vbt.server.bind.address".into(), "127.0.0.1".into()),
        ("blob.transfer.service.write.limit.bytes.per.sec".into(), "0".into()),
        ("blob.transfer.client.read.limit.bytes.per.sec".into(), "0".into()),
    ];
    let mut per_node: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
    if tls {
        use venice_blob_transfer::tools::testcerts::{write_node, Ca};
        let pki = root.join("pki");
        std::fs::create_dir_all(&pki).map_err(|e| Error::io(format!("create {}", pki.display()), e))?;
        let ca = Ca::new("vbt demo CA")?;
        let trust = pki.join("ca.pem");
        std::fs::write(&trust, &ca.pem).map_err(|e| Error::io(format!("write {}", trust.display()), e))?;
        for (i, name) in ["sender", "receiver"].iter().enumerate() {
            per_node[i] = write_node(&pki, name, &ca.issue(&format!("vbt demo {name}"), false)?, &trust)?;
        }
        println!("     generated a CA and a certificate for each node in {}", pki.display());
    }
    // --admin-port is the receiver's (two nodes cannot share one port); -D applies to both.
    let admin_port = conf.admin_port;
    let user = ConfArgs { admin_port: None, config: conf.config, defines: conf.defines }.pairs()?;
    let node_config = |i: usize, extra: Vec<(String, String)>| -> Result<Config> {
        let all = common.iter().cloned().chain(per_node[i].iter().cloned()).chain(extra).chain(user.iter().cloned());
        Config::from_pairs(all.collect::<Vec<_>>())
    };
    let sender = Node::new(node_config(
        0,
        vec![("vbt.base.dir".into(), sender_base.display().to_string()), ("davinci.p2p.blob.transfer.server.port".into(), "0".into())],
    )?)?;
    let addr = sender.start_server()?;
    println!("  2. sender listening on {addr}");

    let mut receiver_pairs = vec![("vbt.base.dir".into(), receiver_base.display().to_string())];
    if let Some(p) = admin_port {
        receiver_pairs.push(("vbt.admin.port".into(), p.to_string()));
    }
    let receiver = Node::new(node_config(1, receiver_pairs)?)?;
    if let Some(a) = receiver.admin_addr() {
        println!("     receiver's admin endpoint on http://{a}/ (/metrics, /health, /transfers)");
    }
    let mut req = BootstrapRequest::new(id.clone(), vec![addr.to_string()]);
    let meter = Meter::start("bootstrap");
    req.progress = meter.callback();
    let out = receiver.bootstrap_blocking(req);
    meter.finish();
    let out = out?;
    println!(
        "  3. bootstrapped {} files, {} bytes from {} in {:.2}s: {:.1} MB/s, every byte {}-checked, installed atomically",
        out.files,
        out.bytes,
        out.peer,
        out.elapsed.as_secs_f64(),
        mb_per_s(out.bytes, out.elapsed.as_secs_f64()),
        out.checksum
    );
    let started = Instant::now();
    let verified = records::verify(&out.partition_dir, format)?;
    println!("  4. verified all {verified} records in the received partition in {:.2}s", started.elapsed().as_secs_f64());
    println!(
        "  5. offset record ({} bytes) and store-version state ({} bytes) delivered with the partition",
        out.metadata.offset_record.len(),
        out.metadata.store_version_state.len()
    );
    println!("demo ok");
    println!("{}", result_json(&out));
    Ok(())
}

/// Test builds only: `FAILPOINTS=name=action;...` (fail-rs actions, e.g. `panic`, `sleep(100)`)
/// and `VBT_KILL_AT=name[,name]`, which SIGKILLs the process at that point: a crash at exactly
/// that instruction, with no destructor or cleanup running.
#[cfg(feature = "failpoints")]
mod failpoints {
    pub fn setup() -> fail::FailScenario<'static> {
        let scenario = fail::FailScenario::setup();
        for name in std::env::var("VBT_KILL_AT").unwrap_or_default().split(',').filter(|n| !n.is_empty()) {
            fail::cfg_callback(name, || {
                // SAFETY: kill(2) on our own pid; nothing after it runs.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            })
            .expect("a valid fail point name");
        }
        scenario
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("vbt-demo-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Progress on a terminal (files, bytes, rate), nothing when stderr is not one.
struct Meter {
    label: &'static str,
    started: Instant,
    last: Arc<Mutex<Instant>>,
    tty: bool,
}

impl Meter {
    fn start(label: &'static str) -> Meter {
        let tty = std::io::stderr().is_terminal();
        Meter { label, started: Instant::now(), last: Arc::new(Mutex::new(Instant::now())), tty }
    }

    fn callback(&self) -> Option<venice_blob_transfer::ProgressFn> {
        if !self.tty {
            return None;
        }
        let (label, started, last) = (self.label, self.started, self.last.clone());
        Some(Arc::new(move |p: &Progress| {
            let mut last = last.lock().unwrap();
            if last.elapsed() < Duration::from_millis(200) {
                return;
            }
            *last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let rate = p.bytes_done as f64 / secs.max(1e-9);
            let files = match p.files_total {
                Some(t) => format!("{}/{t} files", p.files_done),
                None => format!("{} files", p.files_done),
            };
            // With the snapshot's size announced: percent, and the time left at the rate so far.
            let share = match p.bytes_total {
                Some(t) if t > 0 => {
                    let left = t.saturating_sub(p.bytes_done) as f64 / rate.max(1.0);
                    format!(" of {:.1} MiB ({:.0}%, ETA {})", t as f64 / 1048576.0, 100.0 * p.bytes_done as f64 / t as f64, eta(left))
                }
                _ => String::new(),
            };
            eprint!("\r  {label}: {files}, {:.1} MiB{share}, {:.1} MB/s {:<40}", p.bytes_done as f64 / 1048576.0, rate / 1e6, p.file);
        }))
    }

    fn finish(&self) {
        if self.tty {
            eprint!("\r{:100}\r", "");
        }
    }
}

/// Seconds as `1h02m`, `3m05s` or `7s`.
fn eta(secs: f64) -> String {
    let s = secs.max(0.0).min(360_000.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// `log` to stderr; level from VBT_LOG (error, warn, info, debug; default warn).
struct StderrLogger(log::LevelFilter);

impl StderrLogger {
    fn install() {
        let level = std::env::var("VBT_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(log::LevelFilter::Warn);
        if log::set_boxed_logger(Box::new(StderrLogger(level))).is_ok() {
            log::set_max_level(level);
        }
    }
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.0
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            eprintln!("[{} {}] {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}
