//! The sender: a listener that answers Venice's one GET with the FILE* → METADATA → COMPLETE
//! stream (see [`crate::protocol`] for the picture). One task per connection; admission and
//! snapshot uses are guards, so every path — error, broken connection, shutdown — releases them.

mod admission;
mod connection;

pub use admission::{Admission, AdmissionGuard};

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::protocol::request::LocalProtocol;
use crate::runtime::until_true;
use crate::snapshot::SnapshotManager;
use crate::throttle::RateLimiter;
use crate::tls::{Tls, HANDSHAKE_TIMEOUT};

/// What every connection of one server shares.
pub(crate) struct ServerShared {
    pub config: Arc<Config>,
    pub local: LocalProtocol,
    pub admission: Arc<Admission>,
    pub snapshots: Arc<SnapshotManager>,
    pub tls: Option<Arc<Tls>>,
    /// The node's global write limiter, shared by every connection.
    pub write_limit: Arc<RateLimiter>,
}

/// A running server; dropping it (or `stop`) stops accepting and closes its connections.
pub struct ServerHandle {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl ServerHandle {
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts accepting on `listener` (already bound) on the current runtime, and the periodic
/// cleanup of stale snapshots.
pub(crate) fn spawn(listener: TcpListener, shared: Arc<ServerShared>) -> ServerHandle {
    let addr = listener.local_addr().expect("bound listener has an address");
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(accept_loop(listener, shared.clone(), stopped.clone()));
    tokio::spawn(cleanup_loop(shared, stopped));
    log::info!("vbt sender listening on {addr}");
    ServerHandle { addr, stop }
}

async fn accept_loop(listener: TcpListener, shared: Arc<ServerShared>, stopped: watch::Receiver<bool>) {
    let mut stop = stopped.clone();
    loop {
        tokio::select! {
            _ = until_true(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    let mut stopped = stopped.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = until_true(&mut stopped) => {}
                            _ = accept_connection(stream, peer, shared) => {}
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
    log::info!("vbt sender stopped");
}

/// Plaintext, or a TLS handshake (bounded) and Venice's ACL, then the connection itself.
async fn accept_connection(stream: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<ServerShared>) {
    let _ = stream.set_nodelay(true);
    let Some(tls) = shared.tls.clone() else {
        return connection::handle(stream, peer, shared, Ok(())).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls_stream)) => {
            let acl = tls.check_peer(tls_stream.get_ref().1.peer_certificates());
            connection::handle(tls_stream, peer, shared, acl).await
        }
        // A plaintext request, a bad or missing certificate: closed without an answer, as Venice.
        Ok(Err(e)) => log::info!("{peer}: TLS handshake failed: {e}"),
        Err(_) => log::info!("{peer}: TLS handshake did not finish within {}s", HANDSHAKE_TIMEOUT.as_secs()),
    }
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

