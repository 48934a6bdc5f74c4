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

/// What every connection of one server shares.
pub(crate) struct ServerShared {
    pub config: Arc<Config>,
    pub local: LocalProtocol,
    pub admission: Arc<Admission>,
    pub snapshots: Arc<SnapshotManager>,
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
                            _ = connection::handle(stream, peer, shared) => {}
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

