//! Peers and the connectivity pre-check (reference §4.4): probe in parallel with a TCP connect
//! (a bounded number at once), cache good and bad hosts with timestamps, purge stale records,
//! bound the whole probe, and hand out each peer as soon as it answers.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::timeout;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// A peer to fetch from: a host name or address and the port of its vbt/Venice sender, and the
/// zone it is in when the peer list or discovery said (`@zone`). A peer is its host and port:
/// the zone is what we know about it, not part of its identity (equality, caches).
#[derive(Clone, Debug)]
pub struct Peer {
    pub host: String,
    pub port: u16,
    pub zone: Option<String>,
}

impl PartialEq for Peer {
    fn eq(&self, other: &Peer) -> bool {
        (&self.host, self.port) == (&other.host, other.port)
    }
}

impl Eq for Peer {}

impl std::hash::Hash for Peer {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (&self.host, self.port).hash(h);
    }
}

/// A zone name: 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn zone_ok(z: &str) -> bool {
    !z.is_empty() && z.len() <= 64 && z.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Peer {
    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`, each optionally followed by `@zone`
    /// (no host name holds an `@`); a missing port is `default_port`.
    pub fn parse(s: &str, default_port: Option<u16>) -> Result<Peer> {
        let s = s.trim();
        let (s, zone) = match s.rsplit_once('@') {
            Some((p, z)) if zone_ok(z) => (p, Some(z.to_string())),
            Some((_, z)) => return Err(Error::invalid(format!("peer {s:?}: bad zone {z:?} (1 to 64 letters, digits, '-', '_' or '.')"))),
            None => (s, None),
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| Error::invalid(format!("peer {s:?}: missing ']'")))?;
            (h, after.strip_prefix(':'))
        } else if s.matches(':').count() == 1 {
            let (h, p) = s.split_once(':').expect("one colon");
            (h, Some(p))
        } else {
            (s, None)
        };
        if host.is_empty() {
            return Err(Error::invalid(format!("peer {s:?} has no host")));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| Error::invalid(format!("peer {s:?}: bad port {p:?}")))?,
            None => default_port.ok_or_else(|| {
                Error::invalid(format!(
                    "peer {s:?} has no port and neither davinci.p2p.blob.transfer.client.port nor the server port is set"
                ))
            })?,
        };
        Ok(Peer { host: host.to_string(), port, zone })
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

type Seen = Arc<Mutex<HashMap<Peer, Instant>>>;

/// Good and bad peers seen recently, and the load busy vbt senders reported.
pub(crate) struct ConnectivityCache {
    good: Seen,
    bad: Seen,
    /// Per peer: its last `x-vbt-load` (in thousandths of its admission limit) and when.
    load: Arc<Mutex<HashMap<Peer, (u32, Instant)>>>,
}

/// How long a sender's reported load counts when choosing among peers.
const LOAD_FRESHNESS: Duration = Duration::from_secs(60);

/// What a probe found out about a peer.
#[derive(Clone, Debug)]
enum Verdict {
    Good,
    Bad(Error),
    /// This process could not even try (out of descriptors, memory or buffers): says nothing
    /// about the peer, so it is neither cached nor held against it; the attempt tries it.
    Inconclusive(Error),
}

impl ConnectivityCache {
    pub fn new() -> Self {
        ConnectivityCache { good: Default::default(), bad: Default::default(), load: Default::default() }
    }

    /// Records the load a busy vbt sender reported on its 429 (`x-vbt-load: active/limit`).
    pub fn record_load(&self, p: &Peer, active: u32, limit: u32) {
        let permille = (u64::from(active) * 1000 / u64::from(limit.max(1))).min(u64::from(u32::MAX)) as u32;
        self.load.lock().unwrap().insert(p.clone(), (permille, Instant::now()));
    }

    /// The load of each peer heard from lately, in thousandths of its admission limit.
    fn loads(&self) -> HashMap<Peer, u32> {
        let mut map = self.load.lock().unwrap();
        map.retain(|_, (_, at)| at.elapsed() < LOAD_FRESHNESS);
        map.iter().map(|(p, (l, _))| (p.clone(), *l)).collect()
    }

    /// Starts the connectivity check of `peers` (reference §4.4): cached verdicts at once, the
    /// rest probed with at most `vbt.peer.probe.concurrency` connects in flight, the whole check
    /// bounded by `vbt.peer.probe.total.timeout.ms`. Peers come out of [`Probes::next`] as soon as
    /// they answer, so a bootstrap starts on the first good peer instead of waiting for all.
    pub fn probe(&self, peers: Vec<Peer>, cfg: &Config, preserve_order: bool) -> Probes {
        let fresh = cfg.connectivity_freshness;
        for map in [&self.good, &self.bad] {
            map.lock().unwrap().retain(|_, at| at.elapsed() < fresh);
        }
        let mut order: Vec<Peer> = Vec::with_capacity(peers.len());
        let mut verdicts = HashMap::new();
        let mut to_probe = Vec::new();
        for p in peers {
            if order.contains(&p) {
                continue;
            }
            if self.bad.lock().unwrap().contains_key(&p) {
                verdicts.insert(p.clone(), Verdict::Bad(Error::new(ErrorKind::Io, "could not connect recently (cached)")));
            } else if self.good.lock().unwrap().contains_key(&p) {
                verdicts.insert(p.clone(), Verdict::Good);
            } else {
                to_probe.push(p.clone());
            }
            order.push(p);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (good, bad, limit) = (self.good.clone(), self.bad.clone(), cfg.connect_timeout.min(cfg.probe_timeout_per_host));
        // Never more probes at once than a quarter of the open-file limit: the rest is for the
        // transfers, the files and RocksDB.
        let budget = (crate::fsutil::nofile_limit().0 / 4).max(1).min(Semaphore::MAX_PERMITS as u64) as usize;
        let concurrency = Arc::new(Semaphore::new(cfg.probe_concurrency.clamp(1, budget)));
        // The probes outlive no bootstrap: dropping `Probes` aborts the driver and its probes.
        let driver = tokio::spawn(async move {
            let mut running = tokio::task::JoinSet::new();
            for p in to_probe {
                let Ok(permit) = concurrency.clone().acquire_owned().await else { break };
                let (tx, good, bad) = (tx.clone(), good.clone(), bad.clone());
                running.spawn(async move {
                    let verdict = probe(&p, limit).await;
                    match &verdict {
                        Verdict::Good => good.lock().unwrap().insert(p.clone(), Instant::now()),
                        Verdict::Bad(_) => bad.lock().unwrap().insert(p.clone(), Instant::now()),
                        Verdict::Inconclusive(_) => None,
                    };
                    // The verdict goes out before the next probe may start: with one probe at a
                    // time, verdicts arrive in the order given.
                    let _ = tx.send((p, verdict));
                    drop(permit);
                });
                // Reap finished probes as we go, so a long list does not pile up handles.
                while running.try_join_next().is_some() {}
            }
            while running.join_next().await.is_some() {}
        });
        Probes {
            rank: Rank { zone: cfg.zone.clone(), loads: self.loads() },
            order,
            verdicts,
            taken: HashSet::new(),
            rx,
            driver,
            deadline: tokio::time::Instant::now() + cfg.probe_timeout_total,
            preserve_order,
            first: None,
        }
    }

    /// Forgets that a peer was good (after a failed connect during an attempt).
    pub fn mark_bad(&self, p: &Peer) {
        self.good.lock().unwrap().remove(p);
        self.bad.lock().unwrap().insert(p.clone(), Instant::now());
    }
}

/// A connectivity check in progress: hands out the peers to try, one at a time.
pub(crate) struct Probes {
    /// The peers, duplicates dropped, in the order given.
    order: Vec<Peer>,
    verdicts: HashMap<Peer, Verdict>,
    /// Handed out (or skipped as bad) already.
    taken: HashSet<Peer>,
    rx: mpsc::UnboundedReceiver<(Peer, Verdict)>,
    driver: tokio::task::JoinHandle<()>,
    deadline: tokio::time::Instant,
    preserve_order: bool,
    /// A peer to hand out first if it is good (the one kept files came from).
    first: Option<Peer>,
    /// How good peers are ordered without `preserve_order`.
    rank: Rank,
}

/// The order among peers known good: same zone first, then least loaded (a load none reported
/// counts as idle), then Venice's random pick among equals.
#[derive(Default)]
pub(crate) struct Rank {
    zone: Option<String>,
    loads: HashMap<Peer, u32>,
}

impl Rank {
    fn of(&self, p: &Peer) -> (bool, u32) {
        let other_zone = self.zone.as_ref().is_some_and(|z| p.zone.as_ref() != Some(z));
        (other_zone, self.loads.get(p).copied().unwrap_or(0))
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Probes {
    /// Hands out `p` first if it turns out good (waiting for its verdict).
    pub fn prefer(&mut self, p: Peer) {
        if self.order.contains(&p) {
            self.first = Some(p);
        }
    }

    /// The next peer to try, as soon as it is known to accept connections; `None` when no peer
    /// is left (all handed out, failed, or the check's time is up). Without `preserve_order` it
    /// is a random one of those known good (Venice shuffles); with it, the first in the given
    /// order that is good.
    pub async fn next(&mut self) -> Option<Peer> {
        loop {
            if let Some(p) = self.pick() {
                self.taken.insert(p.clone());
                return Some(p);
            }
            if !self.order.iter().any(|p| !self.taken.contains(p) && !self.verdicts.contains_key(p)) {
                return None;
            }
            tokio::select! {
                got = self.rx.recv() => match got {
                    Some((p, v)) => {
                        if let Verdict::Inconclusive(e) = &v {
                            log::warn!("connectivity check of {p} inconclusive ({e}): trying it anyway");
                        }
                        self.verdicts.insert(p, v);
                    }
                    None => self.give_up("the connectivity check ended without a verdict"),
                },
                _ = tokio::time::sleep_until(self.deadline) => self.give_up("connectivity check did not finish in time"),
            }
        }
    }

    /// A peer that can be handed out now, if any.
    fn pick(&mut self) -> Option<Peer> {
        let usable = |v: Option<&Verdict>| matches!(v, Some(Verdict::Good | Verdict::Inconclusive(_)));
        if let Some(p) = self.first.clone() {
            match self.verdicts.get(&p) {
                None => return None,
                Some(v) => {
                    self.first = None;
                    if usable(Some(v)) {
                        return Some(p);
                    }
                }
            }
        }
        let open = self.order.iter().filter(|p| !self.taken.contains(*p));
        if self.preserve_order {
            for p in open {
                match self.verdicts.get(p) {
                    None => return None,
                    v if usable(v) => return Some(p.clone()),
                    _ => {}
                }
            }
            None
        } else {
            let (good, pending): (Vec<&Peer>, Vec<&Peer>) =
                open.filter(|p| !matches!(self.verdicts.get(*p), Some(Verdict::Bad(_)))).partition(|p| usable(self.verdicts.get(*p)));
            // A peer of our zone still being checked goes before any other zone's that answered.
            let ours = |p: &&Peer| self.rank.zone.is_some() && p.zone == self.rank.zone;
            if pending.iter().any(ours) && !good.iter().any(ours) {
                return None;
            }
            let best = good.iter().map(|p| self.rank.of(p)).min()?;
            let tied: Vec<&Peer> = good.into_iter().filter(|p| self.rank.of(p) == best).collect();
            Some(tied[fastrand::usize(..tied.len())].clone())
        }
    }

    /// Every peer still without a verdict failed the check with `why`.
    fn give_up(&mut self, why: &str) {
        for p in &self.order {
            self.verdicts.entry(p.clone()).or_insert_with(|| Verdict::Bad(Error::new(ErrorKind::Timeout, why)));
        }
    }

    /// The peers that failed the check so far, in the order given, with the reason for each.
    /// Verdicts that arrived after the last [`Probes::next`] count too: a bootstrap that ended
    /// on a fast peer still names the dead one probed beside it.
    pub fn failures(&mut self) -> Vec<(Peer, Error)> {
        while let Ok((p, v)) = self.rx.try_recv() {
            self.verdicts.insert(p, v);
        }
        self.order
            .iter()
            .filter_map(|p| match self.verdicts.get(p) {
                Some(Verdict::Bad(e)) => Some((p.clone(), e.clone())),
                _ => None,
            })
            .collect()
    }
}

/// True when an I/O error is this process's own shortage, not something the peer did.
pub(crate) fn is_local_shortage(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// A TCP connect, closed at once (Venice's probe sends nothing either).
async fn probe(p: &Peer, limit: Duration) -> Verdict {
    match timeout(limit, TcpStream::connect((p.host.as_str(), p.port))).await {
        Ok(Ok(_stream)) => Verdict::Good,
        Ok(Err(e)) if is_local_shortage(&e) => {
            Verdict::Inconclusive(Error::io(format!("connectivity check of {p}: this process could not open a socket"), e))
        }
        Ok(Err(e)) => Verdict::Bad(Error::io("connect", e)),
        Err(_) => Verdict::Bad(Error::new(ErrorKind::Timeout, format!("connect did not finish within {}s", limit.as_secs_f64()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_peers() {
        let peer = |host: &str, port| Peer { host: host.into(), port, zone: None };
        assert_eq!(Peer::parse("h:1", None).unwrap(), peer("h", 1));
        assert_eq!(Peer::parse("h", Some(7)).unwrap().port, 7);
        assert_eq!(Peer::parse("[::1]:9", None).unwrap(), peer("::1", 9));
        let zoned = Peer::parse("[::1]:9@us-east-1a", None).unwrap();
        assert_eq!((zoned.zone.as_deref(), zoned.to_string()), (Some("us-east-1a"), "[::1]:9".to_string()));
        assert_eq!(Peer::parse("h@z.1", Some(3)).unwrap().zone.as_deref(), Some("z.1"));
        assert!(Peer::parse("h:1@", None).is_err());
        assert!(Peer::parse("h:1@a b", None).is_err());
        assert_eq!(Peer::parse("my_host_12345", Some(3)).unwrap().host, "my_host_12345");
        assert!(Peer::parse("h", None).is_err());
        assert!(Peer::parse("h:x", None).is_err());
        assert!(Peer::parse(":1", None).is_err());
    }

    /// A check of `order` whose verdicts the test sends itself.
    fn checking(order: &[&Peer], zone: Option<&str>, loads: &[(&Peer, u32)]) -> (Probes, mpsc::UnboundedSender<(Peer, Verdict)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let probes = Probes {
            order: order.iter().map(|p| (*p).clone()).collect(),
            verdicts: HashMap::new(),
            taken: HashSet::new(),
            rx,
            driver: tokio::spawn(async {}),
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
            preserve_order: false,
            first: None,
            rank: Rank { zone: zone.map(str::to_string), loads: loads.iter().map(|(p, l)| ((*p).clone(), *l)).collect() },
        };
        (probes, tx)
    }

    /// Issue #22: same zone first (waiting for its check), then least loaded, then any.
    #[tokio::test]
    async fn same_zone_first_then_least_loaded() {
        let p = |s: &str| Peer::parse(s, None).unwrap();
        let (far_busy, near, far_idle, unknown) = (p("a:1@far"), p("b:1@near"), p("c:1@far"), p("d:1"));
        let (mut probes, tx) = checking(&[&far_busy, &near, &far_idle, &unknown], Some("near"), &[(&far_busy, 900), (&far_idle, 100)]);
        // Other zones answer first: nothing is handed out while our zone's peer is unchecked.
        for q in [&far_busy, &far_idle, &unknown] {
            tx.send((q.clone(), Verdict::Good)).unwrap();
        }
        let early = tokio::time::timeout(Duration::from_millis(100), probes.next()).await;
        assert!(early.is_err(), "handed out {early:?} before the same-zone peer answered");
        tx.send((near.clone(), Verdict::Good)).unwrap();
        assert_eq!(probes.next().await, Some(near));
        // Then the idle ones (reported 10 %, or nothing reported), the busy one last.
        let mut next_two = vec![probes.next().await.unwrap(), probes.next().await.unwrap()];
        next_two.sort_by_key(|p| p.host.clone());
        assert_eq!(next_two, vec![far_idle, unknown]);
        assert_eq!(probes.next().await, Some(far_busy));
        assert_eq!(probes.next().await, None);
        // A same-zone peer that fails its check does not hold the others back.
        let (x, y) = (p("x:1@far"), p("y:1@near"));
        let (mut probes, tx) = checking(&[&x, &y], Some("near"), &[]);
        tx.send((p("x:1@far"), Verdict::Good)).unwrap();
        tx.send((p("y:1@near"), Verdict::Bad(Error::new(ErrorKind::Io, "refused")))).unwrap();
        assert_eq!(probes.next().await.map(|p| p.host), Some("x".to_string()));
    }

    /// A verdict that arrives after the good peer was handed out still counts: the bootstrap
    /// that succeeded on the fast peer reports the dead one beside it.
    #[tokio::test]
    async fn late_failures_are_reported() {
        let (fast, dead) = (Peer::parse("fast:1", None).unwrap(), Peer::parse("dead:1", None).unwrap());
        let (mut probes, tx) = checking(&[&dead, &fast], None, &[]);
        tx.send((fast.clone(), Verdict::Good)).unwrap();
        assert_eq!(probes.next().await, Some(fast));
        assert!(probes.failures().is_empty());
        tx.send((dead.clone(), Verdict::Bad(Error::new(ErrorKind::Io, "refused")))).unwrap();
        let failed = probes.failures();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].0, dead);
    }
}
