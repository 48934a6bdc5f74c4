//! Peers and the connectivity pre-check (reference §4.4): probe in parallel with a TCP connect,
//! cache good and bad hosts with timestamps, purge stale records, bound the whole probe.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
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

/// Good and bad peers seen recently.
pub(crate) struct ConnectivityCache {
    good: Mutex<HashMap<Peer, Instant>>,
    bad: Mutex<HashMap<Peer, Instant>>,
}

impl ConnectivityCache {
    pub fn new() -> Self {
        ConnectivityCache { good: Mutex::new(HashMap::new()), bad: Mutex::new(HashMap::new()) }
    }

    /// Splits `peers` (order kept) into those that accept a connection and those that don't,
    /// with the reason for each of the latter.
    pub async fn connectable(&self, peers: Vec<Peer>, cfg: &Config) -> (Vec<Peer>, Vec<(Peer, Error)>) {
        let fresh = cfg.connectivity_freshness;
        for map in [&self.good, &self.bad] {
            map.lock().unwrap().retain(|_, at| at.elapsed() < fresh);
        }
        let mut verdicts: HashMap<Peer, Option<Error>> = HashMap::new();
        let mut probes = tokio::task::JoinSet::new();
        for p in &peers {
            if verdicts.contains_key(p) {
                continue;
            }
            if self.bad.lock().unwrap().contains_key(p) {
                verdicts.insert(p.clone(), Some(Error::new(ErrorKind::Io, "could not connect recently (cached)")));
            } else if self.good.lock().unwrap().contains_key(p) {
                verdicts.insert(p.clone(), None);
            } else {
                let (p, connect, per_host) = (p.clone(), cfg.connect_timeout, cfg.probe_timeout_per_host);
                probes.spawn(async move {
                    let r = probe(&p, connect.min(per_host)).await;
                    (p, r)
                });
            }
        }
        let deadline = tokio::time::sleep(cfg.probe_timeout_total);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = probes.join_next() => match next {
                    Some(Ok((p, r))) => {
                        let map = if r.is_ok() { &self.good } else { &self.bad };
                        map.lock().unwrap().insert(p.clone(), Instant::now());
                        verdicts.insert(p, r.err());
                    }
                    Some(Err(_)) => {}
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for p in peers {
            match verdicts.get(&p) {
                Some(None) => ok.push(p),
                Some(Some(e)) => failed.push((p, e.clone())),
                None => failed.push((p, Error::new(ErrorKind::Timeout, "connectivity check did not finish in time"))),
            }
        }
        ok.dedup();
        (ok, failed)
    }

    /// Forgets that a peer was good (after a failed connect during an attempt).
    pub fn mark_bad(&self, p: &Peer) {
        self.good.lock().unwrap().remove(p);
        self.bad.lock().unwrap().insert(p.clone(), Instant::now());
    }
}

/// A TCP connect, closed at once (Venice's probe sends nothing either).
async fn probe(p: &Peer, limit: Duration) -> Result<()> {
    match timeout(limit, TcpStream::connect((p.host.as_str(), p.port))).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(Error::io("connect", e)),
        Err(_) => Err(Error::new(ErrorKind::Timeout, format!("connect did not finish within {}s", limit.as_secs_f64()))),
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
}
