//! Discovery from Helix in ZooKeeper, as a Venice server's `ServerBlobFinder` does it
//! (`HelixCustomizedViewOfflinePushRepository.getReadyToServeInstances`): the customized view
//! `/<cluster>/CUSTOMIZEDVIEW/OFFLINE_PUSH/<store>_v<V>` is a Helix ZNRecord whose map field
//! `<store>_v<V>_<P>` maps instance ids (`host_port`) to push states. The instances whose state is
//! `COMPLETED` and that are live (children of `/<cluster>/LIVEINSTANCES`) have the partition. The
//! port in the instance id is Venice's listener, not the blob-transfer port: only the host is kept.
//!
//! Zones, as Venice's `HelixInstanceConfigRepository` groups instances: the cluster config
//! (`/<cluster>/CONFIGS/CLUSTER/<cluster>`) names the fault-zone type (`FAULT_ZONE_TYPE`), and
//! each instance's config (`/<cluster>/CONFIGS/PARTICIPANT/<instance>`) holds `DOMAIN`, e.g.
//! `zone=us-east-1a,instance=host_7000`; the value of that type is the instance's zone, returned
//! as `host@zone` (client::peers). Zones only order peers: one that cannot be read is left out.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use zookeeper_client as zk;

use super::PeerDiscovery;
use super::{block_on, host_names, no_peers};
use crate::error::{Error, Result};
use crate::protocol::PartitionId;

/// The ZooKeeper session's timeout: within the server's default bounds (4–40 s); the session is
/// kept between discoveries and re-established when it is lost.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// The part of a Helix ZNRecord read here (`id` and `listFields` are not needed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZnRecord {
    #[serde(default)]
    map_fields: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    simple_fields: BTreeMap<String, String>,
}

/// Reads which live instances have completed a partition (`vbt.discovery=helix`).
pub struct HelixDiscovery {
    address: String,
    cluster: String,
    timeout: Duration,
    /// One session, opened at the first discovery and kept; dropped after a failure so the next
    /// discovery connects afresh.
    client: Mutex<Option<zk::Client>>,
}

/// Why a discovery found nothing, before the source's name is put in front.
enum Failure {
    /// ZooKeeper answered; the partition has no usable instance (no retry helps).
    Answer(String),
    /// The session or a request failed (a fresh session may help).
    Session(String),
}

impl HelixDiscovery {
    /// `address` is a ZooKeeper connect string (`host:port[,host:port][/chroot]`), `cluster` the
    /// Helix cluster; `timeout` bounds connecting and each discovery.
    pub fn new(address: &str, cluster: &str, timeout: Duration) -> HelixDiscovery {
        HelixDiscovery { address: address.to_string(), cluster: cluster.to_string(), timeout, client: Mutex::new(None) }
    }

    async fn connect(&self) -> std::result::Result<zk::Client, Failure> {
        zk::Client::connector()
            .with_session_timeout(SESSION_TIMEOUT)
            .with_connection_timeout(self.timeout)
            .with_fail_eagerly()
            .connect(&self.address)
            .await
            .map_err(|e| Failure::Session(format!("cannot connect: {e}")))
    }

    /// The instances of `id`'s partition that are `COMPLETED` and live, as host names.
    async fn read(&self, client: &zk::Client, id: &PartitionId) -> std::result::Result<Vec<String>, Failure> {
        let resource = format!("{}_v{}", id.store, id.version);
        let partition = format!("{resource}_{}", id.partition);
        let view_path = format!("/{}/CUSTOMIZEDVIEW/OFFLINE_PUSH/{resource}", self.cluster);
        let live_path = format!("/{}/LIVEINSTANCES", self.cluster);
        let (data, _) = match client.get_data(&view_path).await {
            Ok(d) => d,
            Err(zk::Error::NoNode) => {
                return Err(Failure::Answer(format!(
                    "no customized view {view_path} (the store version is unknown to cluster {:?}, or no push reported it)",
                    self.cluster
                )))
            }
            Err(e) => return Err(Failure::Session(format!("reading {view_path}: {e}"))),
        };
        let record: ZnRecord =
            serde_json::from_slice(&data).map_err(|e| Failure::Answer(format!("{view_path} is not a Helix ZNRecord: {e}")))?;
        let states = record
            .map_fields
            .get(&partition)
            .ok_or_else(|| Failure::Answer(format!("{view_path} has no entry for partition {partition}")))?;
        let live: HashSet<String> = match client.list_children(&live_path).await {
            Ok(children) => children.into_iter().collect(),
            Err(zk::Error::NoNode) => HashSet::new(),
            Err(e) => return Err(Failure::Session(format!("listing {live_path}: {e}"))),
        };
        let ready: Vec<&str> =
            states.iter().filter(|(instance, state)| *state == "COMPLETED" && live.contains(*instance)).map(|(i, _)| i.as_str()).collect();
        let hosts = host_names(ready.iter().copied());
        if hosts.is_empty() {
            let seen: Vec<String> =
                states.iter().map(|(i, s)| format!("{i}={s}{}", if live.contains(i) { "" } else { " (not live)" })).collect();
            return Err(Failure::Answer(format!(
                "no instance of {partition} is both COMPLETED and live (customized view: {})",
                if seen.is_empty() { "empty".to_string() } else { seen.join(", ") }
            )));
        }
        Ok(self.with_zones(client, &ready, hosts).await)
    }

    /// `host@zone` for each host whose instance config gives a zone of the cluster's fault-zone
    /// type; the others as they are.
    async fn with_zones(&self, client: &zk::Client, instances: &[&str], hosts: Vec<String>) -> Vec<String> {
        let record = |path: String| async move {
            let (data, _) = client.get_data(&path).await.ok()?;
            serde_json::from_slice::<ZnRecord>(&data).ok()
        };
        let cluster = record(format!("/{0}/CONFIGS/CLUSTER/{0}", self.cluster)).await;
        let Some(kind) = cluster.and_then(|c| c.simple_fields.get("FAULT_ZONE_TYPE").cloned()) else { return hosts };
        let mut zones = std::collections::HashMap::new();
        for instance in instances {
            let config = record(format!("/{}/CONFIGS/PARTICIPANT/{instance}", self.cluster)).await;
            let domain = config.and_then(|c| c.simple_fields.get("DOMAIN").cloned()).unwrap_or_default();
            let zone = domain.split(',').filter_map(|kv| kv.split_once('=')).find(|(k, _)| k.trim() == kind).map(|(_, v)| v.trim());
            if let (Some(host), Some(zone)) = (host_names([*instance]).pop(), zone.filter(|z| crate::client::peers::zone_ok(z))) {
                zones.entry(host).or_insert_with(|| zone.to_string());
            }
        }
        hosts
            .into_iter()
            .map(|h| match zones.get(&h) {
                Some(z) => format!("{h}@{z}"),
                None => h,
            })
            .collect()
    }

    /// With the kept session, or a new one; a session failure is retried once on a new session.
    async fn discover_async(&self, id: &PartitionId) -> Result<Vec<String>> {
        let mut kept = self.client.lock().await;
        let mut last = String::new();
        for _ in 0..2 {
            let client = match kept.take() {
                Some(c) => c,
                None => match self.connect().await {
                    Ok(c) => c,
                    Err(Failure::Session(m) | Failure::Answer(m)) => {
                        last = m;
                        continue;
                    }
                },
            };
            match self.read(&client, id).await {
                Ok(hosts) => {
                    *kept = Some(client);
                    return Ok(hosts);
                }
                Err(Failure::Answer(m)) => {
                    *kept = Some(client);
                    return Err(self.failed(id, &m));
                }
                Err(Failure::Session(m)) => last = m,
            }
        }
        Err(self.failed(id, &last))
    }

    fn failed(&self, id: &PartitionId, why: &str) -> Error {
        no_peers(format!("Helix discovery of {} (ZooKeeper {}, cluster {}): {why}", id.replica(), self.address, self.cluster))
    }
}

impl PeerDiscovery for HelixDiscovery {
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>> {
        let limit = self.timeout.saturating_mul(2);
        block_on(async {
            tokio::time::timeout(limit, self.discover_async(id)).await.unwrap_or_else(|_| {
                Err(self.failed(
                    id,
                    &format!("no answer within {} ms (vbt.discovery.zookeeper.timeout.ms, twice: connect and read)", limit.as_millis()),
                ))
            })
        })
    }
}
