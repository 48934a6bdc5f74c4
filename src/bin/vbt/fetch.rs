//! `vbt fetch`: bootstrap one partition, or several at once, from peers (given, or found by
//! discovery) into a base directory; one JSON line per partition, and a summary for several.

use std::time::Instant;

use clap::Args;
use venice_blob_transfer::{BootstrapRequest, Config, DiscoveryKind, Error, Node, PartitionId, Result, TableFormat};

use crate::args::{ConfArgs, StoreArgs};
use crate::meter::Meter;
use crate::report::{error_json, mb_per_s, result_json, round3};

#[derive(Args)]
pub struct FetchArgs {
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
}

pub fn run(args: FetchArgs) -> Result<()> {
    let FetchArgs { at: StoreArgs { base_dir, store, version, table_format }, partitions, peers, discovery, conf } = args;
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
