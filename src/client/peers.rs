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

/// A peer to fetch from: a host name or address and the port of its vbt/Venice sender.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub host: String,
    pub port: u16,
}

impl Peer {
    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; a missing port is `default_port`.
    pub fn parse(s: &str, default_port: Option<u16>) -> Result<Peer> {
        let s = s.trim();
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
        Ok(Peer { host: host.to_string(), port })
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

/// Good and bad peers seen recently.
pub(crate) struct ConnectivityCache {
    good: Seen,
    bad: Seen,
}

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
        ConnectivityCache { good: Default::default(), bad: Default::default() }
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
            let good: Vec<&Peer> = open.filter(|p| usable(self.verdicts.get(*p))).collect();
            (!good.is_empty()).then(|| good[fastrand::usize(..good.len())].clone())
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
        assert_eq!(Peer::parse("h:1", None).unwrap(), Peer { host: "h".into(), port: 1 });
        assert_eq!(Peer::parse("h", Some(7)).unwrap().port, 7);
        assert_eq!(Peer::parse("[::1]:9", None).unwrap(), Peer { host: "::1".into(), port: 9 });
        assert_eq!(Peer::parse("my_host_12345", Some(3)).unwrap().host, "my_host_12345");
        assert!(Peer::parse("h", None).is_err());
        assert!(Peer::parse("h:x", None).is_err());
        assert!(Peer::parse(":1", None).is_err());
    }

    /// A verdict that arrives after the good peer was handed out still counts: the bootstrap
    /// that succeeded on the fast peer reports the dead one beside it.
    #[tokio::test]
    async fn late_failures_are_reported() {
        let (fast, dead) = (Peer::parse("fast:1", None).unwrap(), Peer::parse("dead:1", None).unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        let mut probes = Probes {
            order: vec![dead.clone(), fast.clone()],
            verdicts: HashMap::new(),
            taken: HashSet::new(),
            rx,
            driver: tokio::spawn(async {}),
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
            preserve_order: false,
            first: None,
        };
        tx.send((fast.clone(), Verdict::Good)).unwrap();
        assert_eq!(probes.next().await, Some(fast));
        assert!(probes.failures().is_empty());
        tx.send((dead.clone(), Verdict::Bad(Error::new(ErrorKind::Io, "refused")))).unwrap();
        let failed = probes.failures();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].0, dead);
    }
}
