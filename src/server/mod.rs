//! The sender: a listener that answers Venice's one GET with the FILE* → METADATA → COMPLETE
//! stream (see [`crate::protocol`] for the picture). One task per connection; admission and
//! snapshot uses are guards, so every path — error, broken connection, shutdown — releases them.

mod admission;
mod connection;
mod conns;
mod origin;
mod transfer;

pub use admission::Admission;
pub(crate) use origin::client_capacity;
pub use origin::OriginPolicy;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::protocol::request::LocalProtocol;
use crate::runtime::until_true;
use crate::snapshot::SnapshotManager;
use crate::throttle::RateLimiter;
use crate::tls::{Tls, HANDSHAKE_TIMEOUT};
use conns::Connections;

/// What every connection of one server shares.
pub(crate) struct ServerShared {
    pub config: Arc<Config>,
    pub local: LocalProtocol,
    pub admission: Arc<Admission>,
    /// Client-origin requests' own reservation (origin.rs).
    pub client_admission: Arc<Admission>,
    /// The host's origin rule, if it brought one, and the turns to call it (origin.rs).
    pub origin: Option<Arc<dyn OriginPolicy>>,
    pub origin_turns: tokio::sync::Semaphore,
    pub snapshots: Arc<SnapshotManager>,
    pub tls: Option<Arc<Tls>>,
    /// The node's global write limiter, shared by every connection.
    pub write_limit: Arc<RateLimiter>,
    /// Transfers further connections of the same receiver may join (`X-Vbt-Join`).
    pub(super) joinable: transfer::Joinable,
    /// The node's transfers table and, through it, its metrics.
    pub transfers: Arc<crate::transfers::Transfers>,
}

/// Stop signals, in two steps: `drain` stops accepting and closes connections that are not
/// serving a transfer (waiting for a request, lingering after one); `abort` ends the rest.
#[derive(Clone)]
struct Stops {
    drain: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
}

/// A running server; dropping it (or `stop`) stops accepting and closes its connections.
pub struct ServerHandle {
    pub addr: SocketAddr,
    drain: watch::Sender<bool>,
    abort: watch::Sender<bool>,
    admissions: [Arc<Admission>; 2],
}

impl ServerHandle {
    /// Stops at once: no new connections, and every open one is closed.
    pub fn stop(&self) {
        let _ = self.drain.send(true);
        let _ = self.abort.send(true);
    }

    /// Stops gracefully (blocking the caller, at most `grace` plus a moment): stops accepting,
    /// closes idle connections, lets transfers in flight finish for up to `grace`, then ends the
    /// rest, so their receivers fail fast and move on. Returns how many were ended unfinished.
    pub fn stop_gracefully(&self, grace: Duration) -> usize {
        let _ = self.drain.send(true);
        let deadline = Instant::now() + grace;
        for a in &self.admissions {
            a.wait_idle(deadline.saturating_duration_since(Instant::now()));
        }
        // Counted once the grace is over: a transfer that ended meanwhile was not cut.
        let cut = self.admissions.iter().map(|a| a.active()).sum();
        let _ = self.abort.send(true);
        // Ended transfers drop their admission and snapshot uses as their tasks unwind.
        let settle = Instant::now() + Duration::from_secs(2);
        for a in &self.admissions {
            a.wait_idle(settle.saturating_duration_since(Instant::now()));
        }
        cut
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a server is made of, besides its config: the node's shared parts.
pub(crate) struct Deps {
    pub admission: Arc<Admission>,
    pub client_admission: Arc<Admission>,
    pub origin: Option<Arc<dyn OriginPolicy>>,
    pub snapshots: Arc<SnapshotManager>,
    pub tls: Option<Arc<Tls>>,
    pub write_limit: Arc<RateLimiter>,
    pub transfers: Arc<crate::transfers::Transfers>,
}

/// Binds `vbt.server.bind.address` : `port` and starts serving on `runtime`. Refuses plaintext
/// off loopback (Venice's rule) unless `vbt.allow.plaintext` says otherwise.
pub(crate) fn start(runtime: &tokio::runtime::Handle, config: Arc<Config>, port: u16, deps: Deps) -> crate::Result<ServerHandle> {
    use crate::Error;
    if !config.ssl_enabled && !config.bind_address.is_loopback() && !config.allow_plaintext {
        return Err(Error::config(format!(
            "refusing to serve partitions in plaintext on {} (not a loopback address): set \
             blob.transfer.ssl.enabled=true and blob.transfer.acl.enabled=true (with the vbt.ssl.* \
             files), or bind to loopback (vbt.server.bind.address=127.0.0.1), or allow it \
             deliberately with vbt.allow.plaintext=true (trusted networks and tests only)",
            config.bind_address
        )));
    }
    let addr = SocketAddr::new(config.bind_address, port);
    let listener = std::net::TcpListener::bind(addr).map_err(|e| Error::io(format!("listen on {addr}"), e))?;
    listener.set_nonblocking(true).map_err(|e| Error::io("listener", e))?;
    let _enter = runtime.enter();
    let listener = TcpListener::from_std(listener).map_err(|e| Error::io("listener", e))?;
    let shared = Arc::new(ServerShared {
        local: LocalProtocol {
            table_format: config.table_format,
            partition_state_version: config.partition_state_schema_version,
            store_version_state_version: config.store_version_state_schema_version,
        },
        config,
        admission: deps.admission,
        client_admission: deps.client_admission,
        origin: deps.origin,
        origin_turns: tokio::sync::Semaphore::new(origin::DECISIONS_AT_ONCE),
        snapshots: deps.snapshots,
        tls: deps.tls,
        write_limit: deps.write_limit,
        joinable: Default::default(),
        transfers: deps.transfers,
    });
    Ok(spawn(listener, shared))
}

/// Starts accepting on `listener` (already bound) on the current runtime, and the periodic
/// cleanup of stale snapshots.
fn spawn(listener: TcpListener, shared: Arc<ServerShared>) -> ServerHandle {
    let addr = listener.local_addr().expect("bound listener has an address");
    let (drain, drain_rx) = watch::channel(false);
    let (abort, abort_rx) = watch::channel(false);
    let stops = Stops { drain: drain_rx, abort: abort_rx };
    let table = Connections::new(conns::cap(shared.config.max_connections));
    log::info!("vbt sender listening on {addr} (at most {} connections)", table.cap());
    let admissions = [shared.admission.clone(), shared.client_admission.clone()];
    tokio::spawn(accept_loop(listener, shared.clone(), table, stops.clone()));
    tokio::spawn(cleanup_loop(shared, stops.abort));
    ServerHandle { addr, drain, abort, admissions }
}

async fn accept_loop(listener: TcpListener, shared: Arc<ServerShared>, table: Arc<Connections>, stops: Stops) {
    let mut drain = stops.drain.clone();
    let mut warned: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = until_true(&mut drain) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some((slot, evicted)) = table.admit() else {
                        log::debug!("{peer}: closed at once: all {} connections are serving transfers", table.cap());
                        continue;
                    };
                    let shared = shared.clone();
                    let mut abort = stops.abort.clone();
                    let drain = stops.drain.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = until_true(&mut abort) => {}
                            _ = accept_connection(stream, peer, shared, connection::Slot { slot, evicted, drain }) => {}
                        }
                    });
                }
                Err(e) => {
                    let out_of_files = matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE));
                    // Out of descriptors: make room by closing the oldest idle connection.
                    let evicted = out_of_files && table.evict_oldest();
                    if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        log::warn!("accept failed: {e} ({} connections open{})", table.open(),
                            if evicted { "; closed the oldest idle one" } else { "" });
                        warned = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(if evicted { 1 } else { 100 })).await;
                }
            }
        }
    }
    log::info!("vbt sender stopped accepting");
}

/// Plaintext, or a TLS handshake (bounded) and Venice's ACL, then the connection itself.
async fn accept_connection(stream: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<ServerShared>, slot: connection::Slot) {
    let _ = stream.set_nodelay(true);
    let Some(tls) = shared.tls.clone() else {
        return connection::handle(stream, peer, shared, Ok(None), slot).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
    let mut slot = slot;
    // The idle limit bounds the handshake too: a peer that connects and says nothing is idle.
    let limit = HANDSHAKE_TIMEOUT.min(shared.config.server_idle_timeout);
    let handshake = tokio::select! {
        h = tokio::time::timeout(limit, acceptor.accept(stream)) => h,
        _ = slot.closed() => return,
    };
    match handshake {
        Ok(Ok(tls_stream)) => {
            let acl = tls.check_peer(tls_stream.get_ref().1.peer_certificates());
            connection::handle(tls_stream, peer, shared, acl, slot).await
        }
        // A plaintext request, a bad or missing certificate: closed without an answer, as Venice.
        Ok(Err(e)) => handshake_failed(peer, &e),
        Err(_) => log::info!("{peer}: TLS handshake did not finish within {:.1}s", limit.as_secs_f64()),
    }
}

/// Logs why a handshake failed. A peer that closes before the handshake is done is a
/// connectivity check: Venice's receivers (`getConnectableHosts`) open a connection to each
/// candidate and close it at once, their TLS client having sent its hello and, from Java's
/// SSLEngine, a `user_canceled` alert and `close_notify` (which may or may not arrive before the
/// connection ends). Like a plaintext probe, it is not worth more than DEBUG.
fn handshake_failed(peer: SocketAddr, e: &std::io::Error) {
    use rustls::AlertDescription::{CloseNotify, UserCanceled};
    let tls = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    if e.kind() == std::io::ErrorKind::UnexpectedEof || matches!(tls, Some(rustls::Error::AlertReceived(CloseNotify | UserCanceled))) {
        log::debug!("{peer}: closed during the TLS handshake (a connectivity check): {e}");
        return;
    }
    let hint = match tls {
        // Java's client sends no certificate rather than one the server's CAs did not issue.
        Some(rustls::Error::NoCertificatesPresented) => {
            " (a Java peer sends none when it has no certificate issued by a CA this node trusts)"
        }
        _ => "",
    };
    log::info!("{peer}: TLS handshake failed: {e}{hint}");
}

/// Venice's cleanup scheduler: initial delay 0, then every cleanup interval.
async fn cleanup_loop(shared: Arc<ServerShared>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(shared.config.snapshot_cleanup_interval);
    loop {
        tokio::select! {
            _ = until_true(&mut stopped) => break,
            _ = tick.tick() => { shared.snapshots.cleanup().await; }
        }
    }
}
