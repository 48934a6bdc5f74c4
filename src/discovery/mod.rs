//! Built-in peer discovery, chosen by `vbt.discovery` (reference §4.3):
//!
//! - `router` ([`RouterDiscovery`]): DaVinci's way, a Venice router's `blob_discovery` endpoint;
//! - `helix` ([`HelixDiscovery`]): a Venice server's way, the Helix customized view in ZooKeeper.
//!
//! Both sit behind [`PeerDiscovery`], like the host's own callback, and return host names only:
//! the port dialled is `davinci.p2p.blob.transfer.client.port`, as in Venice. Neither filters
//! dead hosts; the receiver's connectivity check runs after discovery. Every failure is
//! [`ErrorKind::NoPeers`] (Venice's `VenicePeersNotFoundException`): the host falls back to Kafka
//! with the reason "no candidates".

mod helix;
mod router;

use std::future::Future;
use std::sync::Arc;

pub use helix::HelixDiscovery;
pub use router::RouterDiscovery;

use crate::config::{Config, DiscoveryKind};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::PartitionId;

/// Where peers come from when a request names none (the host's list or its discovery service).
/// Called off the async workers; it may block.
pub trait PeerDiscovery: Send + Sync + 'static {
    /// `host[:port]` values of peers that have the partition.
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>>;
}

/// The source `vbt.discovery` names, or `None` when it is left to the host.
pub(crate) fn from_config(cfg: &Config, tls: Option<Arc<crate::tls::Tls>>) -> Result<Option<Arc<dyn PeerDiscovery>>> {
    let d = &cfg.discovery;
    Ok(match d.kind {
        DiscoveryKind::Host => None,
        DiscoveryKind::Router => {
            let url = d.router_url.as_deref().ok_or_else(|| Error::config("vbt.discovery=router needs vbt.discovery.router.url"))?;
            Some(Arc::new(RouterDiscovery::new(url, d.router_timeout, tls)?))
        }
        DiscoveryKind::Helix => {
            let (Some(zk), Some(cluster)) = (d.zk_address.as_deref(), d.helix_cluster.as_deref()) else {
                return Err(Error::config("vbt.discovery=helix needs vbt.discovery.zookeeper.address and vbt.discovery.helix.cluster"));
            };
            Some(Arc::new(HelixDiscovery::new(zk, cluster, d.zk_timeout)))
        }
    })
}

/// A discovery failure: the host falls back to Kafka.
fn no_peers(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NoPeers, message)
}

/// Venice's normalisation of discovered names (`NettyP2PBlobTransferManager`): the text before
/// the first `_` (DaVinci names are `host_pid`, Helix ids `host_port`), empty ones dropped,
/// duplicates removed in order.
pub(crate) fn host_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let host = name.split('_').next().unwrap_or("").trim();
        if !host.is_empty() && !out.iter().any(|h| h == host) {
            out.push(host.to_string());
        }
    }
    out
}

/// Runs a source's async work to its end on the calling thread. `discover` is called off the
/// async workers (on a blocking thread of the node's runtime, whose timers and sockets the work
/// then uses); a caller outside any runtime gets a small one for the call.
fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(work),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("start a runtime for peer discovery", e))?
            .block_on(work),
    }
}

#[cfg(test)]
mod tests {
    use super::host_names;

    #[test]
    fn names_are_cut_at_the_first_underscore_and_deduplicated() {
        let got = host_names(["a.example_123", "b.example_7700", "a.example_456", "_x", "c", "10.0.0.1_1"]);
        assert_eq!(got, ["a.example", "b.example", "c", "10.0.0.1"]);
    }
}
