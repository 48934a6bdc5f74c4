//! [`Node`]: the one object every binding wraps. It owns a tokio runtime, the sender (listener,
//! admission, snapshots) and the receiver (peers, bootstraps). Its methods are synchronous and
//! callable from any host thread; a bootstrap runs in the background as an [`Operation`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::client::{BootstrapOutcome, BootstrapRequest, PeerDiscovery, Progress, Receiver, Recording};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metrics;
use crate::operation::completion::{Completion, Dispatcher, ProgressRelay, PROGRESS_EVERY};
use crate::operation::{lost, OpId, Operation, Ops};
use crate::protocol::PartitionId;
use crate::server::{self, Admission, OriginPolicy, ServerHandle};
use crate::snapshot::{CheckpointLeases, HostCreateFn, HostSnapshotSource, SnapshotInfo, SnapshotManager};
use crate::storage::landing::MetadataHook;
use crate::storage::layout::Layout;
use crate::storage::local::LocalStorage;
use crate::storage::source::SnapshotSource;
use crate::throttle::{Adaptive, RateLimiter, Signal};
use crate::tls::Tls;
use crate::transfers::{FileSentFn, TransferView, Transfers};

/// Builds a [`Node`]: a config and, optionally, the host's own snapshot source.
pub struct NodeBuilder {
    config: Config,
    source: Option<Arc<dyn SnapshotSource>>,
    host_snapshots: Option<Box<HostCreateFn>>,
    discovery: Option<Arc<dyn PeerDiscovery>>,
    metadata_hook: Option<MetadataHook>,
    leases: Option<Arc<dyn CheckpointLeases>>,
    file_sent: Option<FileSentFn>,
    origin: Option<Arc<dyn OriginPolicy>>,
}

impl NodeBuilder {
    /// Serve checkpoints the host hands out per transfer and takes back when it ends (a Venice
    /// node's `BlobSnapshotManager`, which keeps its own user count and retention). Wins over
    /// `snapshot_source` and `host_snapshots`.
    pub fn checkpoint_leases(mut self, leases: Arc<dyn CheckpointLeases>) -> Self {
        self.leases = Some(leases);
        self
    }

    /// Tell the host of every whole file a send wrote: `(partition, peer, bytes)`, on the node's
    /// callback thread (for a Venice host's bytes-sent stats, recorded per file as Venice does).
    pub fn file_sent_listener(mut self, listener: FileSentFn) -> Self {
        self.file_sent = Some(listener);
        self
    }

    /// Hand every received partition's metadata to the host before the partition is published
    /// (a Venice host stores the offset record and store-version state as Venice does before its
    /// rename). An error from the hook fails the attempt; nothing is published.
    pub fn metadata_hook(mut self, hook: MetadataHook) -> Self {
        self.metadata_hook = Some(hook);
        self
    }

    /// Classify each TLS peer the ACL admitted as Venice's servers do (a server with a per-store
    /// access controller): same application identity as ours → server origin; else client origin,
    /// served only with `server.blob.transfer.accept.client.request.enabled` and the store ACL's
    /// consent, within `server.blob.transfer.client.capacity.percent` of the admission limit.
    pub fn origin_policy(mut self, policy: Arc<dyn OriginPolicy>) -> Self {
        self.origin = Some(policy);
        self
    }

    /// Serve snapshots from the host instead of from partitions vbt opens under the base dir.
    pub fn snapshot_source(mut self, source: Arc<dyn SnapshotSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Serve snapshots the host creates itself (a JVM or C host that owns its RocksDB): vbt
    /// names a directory under `vbt.snapshot.dir` (default `<vbt.state.dir>/snapshots`) and
    /// `create` writes a checkpoint there and returns the metadata it captured first.
    pub fn host_snapshots(mut self, create: Box<HostCreateFn>) -> Self {
        self.host_snapshots = Some(create);
        self
    }

    /// Ask `discovery` for peers when a bootstrap request names none. It wins over a source
    /// chosen by `vbt.discovery`.
    pub fn peer_discovery(mut self, discovery: Arc<dyn PeerDiscovery>) -> Self {
        self.discovery = Some(discovery);
        self
    }

    pub fn build(mut self) -> Result<Node> {
        self.config.validate()?;
        // Venice's rule, fail closed (its createAclHandler refuses the same configurations).
        let c = &self.config;
        if self.origin.is_some() && !(c.ssl_enabled && c.acl_enabled) {
            return Err(Error::config(
                "an origin policy needs blob.transfer.ssl.enabled=true and blob.transfer.acl.enabled=true                  (peers are classified by their certificates)",
            ));
        }
        if c.accept_client_requests && self.origin.is_none() {
            return Err(Error::config(
                "server.blob.transfer.accept.client.request.enabled=true needs the host's origin policy                  (Venice: a store access controller and an identity parser); without one every peer is of server origin",
            ));
        }
        crate::fsutil::raise_nofile_limit();
        // vbt's own state (locks, landing, host snapshots) beside the base directory, never in it.
        let layout = match &self.config.base_dir {
            Some(b) => Some(Layout::with_state(b, self.config.state_dir.as_deref())?),
            None => None,
        };
        if let Some(create) = self.host_snapshots.take() {
            let root = match (&self.config.snapshot_root, &layout) {
                (Some(r), _) => r.clone(),
                (None, Some(l)) => l.host_snapshot_root(None),
                (None, None) => return Err(Error::config("no directory for host snapshots: set vbt.snapshot.dir or vbt.base.dir")),
            };
            self.source = Some(Arc::new(HostSnapshotSource::new(root, create)));
        }
        let config = Arc::new(self.config);
        let tls = Tls::from_config(&config)?;
        let write_limit = RateLimiter::new(config.write_limit);
        let read_limit = RateLimiter::new(config.read_limit);
        let adaptive = (config.adaptive_throttler == (true, true)).then(|| {
            Arc::new(Adaptive::new(
                vec![write_limit.clone(), read_limit.clone()],
                config.adaptive_step_percent,
                config.adaptive_idle_threshold,
            ))
        });
        let metrics = Metrics::new(&config);
        metrics.watch_limits(write_limit.clone(), read_limit.clone(), adaptive.clone());
        let dispatcher = Arc::new(Dispatcher::start("vbt-callbacks")?);
        // The host's listener runs on the callback thread, never on a sending worker.
        let file_sent = self.file_sent.map(|host| -> FileSentFn {
            let dispatcher = dispatcher.clone();
            Arc::new(move |id: &PartitionId, peer: &str, len: u64| {
                let (host, id, peer) = (host.clone(), id.clone(), peer.to_string());
                let _ = dispatcher.dispatch(Box::new(move || host(&id, &peer, len)));
            })
        });
        let transfers = Transfers::new(metrics.clone(), config.admin_history, file_sent);
        // vbt owns the base directory only when the host did not bring its own source.
        let owns_storage = self.source.is_none() && self.leases.is_none();
        let source: Option<Arc<dyn SnapshotSource>> = match (self.source, &layout) {
            (Some(s), _) => Some(s),
            (None, Some(l)) => Some(Arc::new(LocalStorage::new(l.clone(), config.table_format))),
            (None, None) => None,
        };
        let snapshots = match self.leases {
            Some(l) => Some(SnapshotManager::leased(l)),
            None => source.map(|s| SnapshotManager::new(s, config.snapshot_retention)),
        };
        let snapshots = snapshots.map(|m| match &layout {
            Some(l) => m.with_ledgers(l.clone()),
            None => m,
        });
        let snapshots = snapshots.map(|m| Arc::new(m.with_metrics(metrics.clone())));
        // The host's own discovery wins; otherwise the source `vbt.discovery` names, if any.
        let discovery = match self.discovery {
            Some(d) => Some(d),
            None => crate::discovery::from_config(&config, tls.clone())?,
        };
        let recording = Recording { beside: owns_storage, hook: self.metadata_hook };
        let receiver = layout
            .map(|l| Arc::new(Receiver::new(config.clone(), l, recording, discovery, tls.clone(), read_limit.clone(), transfers.clone())));
        if let Some(r) = &receiver {
            // Leftovers of a crash (ours or another process's) are repaired before anything runs.
            r.reconcile()?;
        }
        let runtime = crate::runtime::build(config.worker_threads)?;
        if let Some(a) = &adaptive {
            a.spawn_ticks(runtime.handle(), config.adaptive_interval);
        }
        let server: Arc<Mutex<Option<ServerHandle>>> = Arc::default();
        // On failure the runtime is dropped here, which stops what was spawned on it.
        let admin = crate::admin::start_for_node(runtime.handle(), &config, &metrics, &transfers, &server)?;
        Ok(Node {
            inner: Arc::new(Inner {
                admission: Admission::new(config.max_concurrent_snapshot_users, config.admission_queue),
                client_admission: Admission::new(
                    server::client_capacity(config.max_concurrent_snapshot_users, config.client_capacity_percent),
                    config.admission_queue,
                ),
                origin: self.origin,
                config,
                snapshots,
                receiver,
                server,
                admin: Mutex::new(admin),
                metrics,
                transfers,
                ops: Arc::new(Ops::default()),
                closed: AtomicBool::new(false),
                dispatcher,
                tls,
                write_limit,
                read_limit,
                adaptive,
            }),
            runtime: Mutex::new(Some(runtime)),
        })
    }
}

struct Inner {
    config: Arc<Config>,
    admission: Arc<Admission>,
    client_admission: Arc<Admission>,
    origin: Option<Arc<dyn OriginPolicy>>,
    snapshots: Option<Arc<SnapshotManager>>,
    receiver: Option<Arc<Receiver>>,
    server: Arc<Mutex<Option<ServerHandle>>>,
    /// The admin endpoint (`vbt.admin.port`), if configured.
    admin: Mutex<Option<crate::admin::AdminHandle>>,
    metrics: Arc<Metrics>,
    transfers: Arc<Transfers>,
    ops: Arc<Ops>,
    closed: AtomicBool,
    dispatcher: Arc<Dispatcher>,
    tls: Option<Arc<Tls>>,
    write_limit: Arc<RateLimiter>,
    read_limit: Arc<RateLimiter>,
    adaptive: Option<Arc<Adaptive>>,
}

/// A vbt node: sender and receiver of partitions.
pub struct Node {
    inner: Arc<Inner>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

/// Venice's application switch, `blob.transfer.manager.enabled`.
fn enabled(cfg: &Config) -> Result<()> {
    if cfg.manager_enabled {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Disabled, "blob transfer is disabled (blob.transfer.manager.enabled=false)"))
    }
}

fn closed() -> Error {
    Error::new(ErrorKind::Shutdown, "the node is closed")
}

impl Node {
    pub fn builder(config: Config) -> NodeBuilder {
        NodeBuilder {
            config,
            source: None,
            host_snapshots: None,
            discovery: None,
            metadata_hook: None,
            leases: None,
            file_sent: None,
            origin: None,
        }
    }

    /// A node serving and receiving partitions under the config's base directory.
    pub fn new(config: Config) -> Result<Node> {
        Node::builder(config).build()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn handle(&self) -> Result<tokio::runtime::Handle> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        self.runtime.lock().unwrap().as_ref().map(|r| r.handle().clone()).ok_or_else(closed)
    }

    /// Starts the sender on `davinci.p2p.blob.transfer.server.port` (0 picks a free port) and
    /// returns the address it is bound to.
    pub fn start_server(&self) -> Result<SocketAddr> {
        let handle = self.handle()?;
        let cfg = &self.inner.config;
        enabled(cfg)?;
        let port = cfg.server_port.ok_or_else(|| Error::config("davinci.p2p.blob.transfer.server.port is not set"))?;
        let snapshots =
            self.inner.snapshots.clone().ok_or_else(|| {
                Error::config("nothing to serve: set vbt.base.dir (or data.base.path), or give the node a snapshot source")
            })?;
        let mut server = self.inner.server.lock().unwrap();
        if let Some(s) = server.as_ref() {
            return Err(Error::invalid(format!("the server is already listening on {}", s.addr)));
        }
        let deps = server::Deps {
            admission: self.inner.admission.clone(),
            client_admission: self.inner.client_admission.clone(),
            origin: self.inner.origin.clone(),
            snapshots,
            tls: self.inner.tls.clone(),
            write_limit: self.inner.write_limit.clone(),
            transfers: self.inner.transfers.clone(),
        };
        let started = server::start(&handle, cfg.clone(), port, deps)?;
        let bound = started.addr;
        *server = Some(started);
        self.inner.metrics.set_stopping(false);
        Ok(bound)
    }

    /// Starts a bootstrap. Checks (closed node, disabled, no base dir, bad peers, partition
    /// already in flight here or in another process) fail here, synchronously; after `Ok` the
    /// operation's result arrives exactly once.
    pub fn bootstrap(&self, req: BootstrapRequest) -> Result<Operation> {
        let (tx, rx) = oneshot::channel();
        // Sent from the runtime task itself: a dropped task drops `tx`, which `wait` reports.
        let id = self.spawn_op(req, |_| {
            move |result| {
                let _ = tx.send(result);
            }
        })?;
        Ok(Operation::new(id, rx, Arc::downgrade(&self.inner.ops)))
    }

    /// Starts a bootstrap whose result is passed to `done` exactly once, on the node's callback
    /// thread (never inside this call, never on a runtime worker): on success, failure, cancel,
    /// or node shutdown. If this call returns an error, `done` is never called.
    /// Returns the operation id for [`Node::cancel`]; `done` gets it too, since it may run before
    /// this call returns.
    pub fn bootstrap_with_callback(
        &self,
        req: BootstrapRequest,
        done: impl FnOnce(OpId, Result<BootstrapOutcome>) + Send + 'static,
    ) -> Result<OpId> {
        let dispatcher = self.inner.dispatcher.clone();
        self.spawn_op(req, move |id| {
            // Owed from here on: if the runtime drops the task, the Completion's drop says so.
            let completion = Completion::new(id, Box::new(done), dispatcher, lost);
            move |result| completion.complete(result)
        })
    }

    /// [`Node::bootstrap_with_callback`] with progress: `progress` runs on the same callback
    /// thread as `done`, at most every 250 ms while data arrives, once more on success with the
    /// outcome's files and bytes and `true` (just before `done`), and never after `done`. It replaces
    /// `req.progress` (which is called on the thread that moves data, for every piece).
    pub fn bootstrap_with_progress(
        &self,
        mut req: BootstrapRequest,
        progress: impl Fn(&Progress, bool) + Send + Sync + 'static,
        done: impl FnOnce(OpId, Result<BootstrapOutcome>) + Send + 'static,
    ) -> Result<OpId> {
        let relay = ProgressRelay::new(Box::new(progress), self.inner.dispatcher.clone(), PROGRESS_EVERY);
        let hook = relay.clone();
        req.progress = Some(Arc::new(move |p: &Progress| hook.report(p)));
        self.bootstrap_with_callback(req, move |id, result| {
            relay.finish(&result);
            done(id, result)
        })
    }

    /// The synchronous checks, then the bootstrap on the runtime; `finish` (made once the
    /// operation has its id) gets its result. A panic inside is caught (its guards have cleaned up
    /// by then) and reported as one.
    fn spawn_op<F>(&self, req: BootstrapRequest, finish: impl FnOnce(OpId) -> F) -> Result<OpId>
    where
        F: FnOnce(Result<BootstrapOutcome>) + Send + 'static,
    {
        let handle = self.handle()?;
        enabled(&self.inner.config)?;
        let receiver = self
            .inner
            .receiver
            .clone()
            .ok_or_else(|| Error::config("no base directory to install partitions into: set vbt.base.dir (or data.base.path)"))?;
        let accepted = receiver.accept(req)?;
        let replica = accepted.req.id.replica();
        let (id, cancel) = self.inner.ops.register();
        let finish = finish(id);
        let ops = self.inner.ops.clone();
        handle.spawn(async move {
            let result = match tokio::spawn(async move { receiver.bootstrap(accepted, cancel).await }).await {
                Ok(r) => r,
                Err(e) if e.is_panic() => {
                    Err(Error::internal(format!("bootstrap of {replica} panicked: {}", crate::runtime::panic_message(&*e.into_panic()))))
                }
                Err(_) => Err(lost()),
            };
            ops.finished(id);
            finish(result);
        });
        Ok(id)
    }

    /// Bootstraps and waits for the result (from a thread that is not running async code).
    pub fn bootstrap_blocking(&self, req: BootstrapRequest) -> Result<BootstrapOutcome> {
        self.bootstrap(req)?.wait()
    }

    /// Asks a running bootstrap to stop; returns false if no such operation is running.
    pub fn cancel(&self, op: OpId) -> bool {
        self.inner.ops.cancel(op)
    }

    /// Changes the global send limit (bytes/s, 0 = unlimited) for every connection, now.
    pub fn set_write_limit(&self, bytes_per_sec: u64) {
        self.inner.write_limit.set_base(bytes_per_sec);
    }

    /// Changes the global receive limit (bytes/s, 0 = unlimited) for every connection, now.
    pub fn set_read_limit(&self, bytes_per_sec: u64) {
        self.inner.read_limit.set_base(bytes_per_sec);
    }

    /// The limits in force (write, read), after the adaptive factor.
    pub fn effective_limits(&self) -> (u64, u64) {
        (self.inner.write_limit.effective(), self.inner.read_limit.effective())
    }

    /// Raises or clears an adaptive-throttling signal from the host (read latency or lag too high
    /// → `Limiter`; room to go faster → `Booster`). Read at each tick. Errors if adaptive
    /// throttling is off.
    pub fn set_throttle_signal(&self, signal: Signal, on: bool) -> Result<()> {
        self.adaptive()?.set_signal(signal, on);
        Ok(())
    }

    /// Runs one adaptive tick now (they also run every refresh interval); returns the factor (%).
    pub fn throttle_tick(&self) -> Result<u32> {
        Ok(self.adaptive()?.tick())
    }

    fn adaptive(&self) -> Result<&Arc<Adaptive>> {
        self.inner.adaptive.as_ref().ok_or_else(|| {
            Error::config(
                "adaptive throttling is off: set server.adaptive.throttler.enabled and \
                 server.blob.transfer.adaptive.throttler.enabled to true",
            )
        })
    }

    /// The address of the admin endpoint (`vbt.admin.port`), if configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.inner.admin.lock().unwrap().as_ref().map(|a| a.addr)
    }

    /// The node's metrics in Prometheus text format 0.0.4 (what `GET /metrics` serves), for hosts
    /// that expose them their own way.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.prometheus_text()
    }

    /// Transfers in flight (oldest first) and the last finished ones (newest first), as
    /// `GET /transfers` shows them.
    pub fn transfers(&self) -> (Vec<TransferView>, Vec<TransferView>) {
        self.inner.transfers.list()
    }

    /// The address the sender listens on, if started.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.inner.server.lock().unwrap().as_ref().map(|s| s.addr)
    }

    /// Transfers being served right now (of server and client origin).
    pub fn active_transfers(&self) -> usize {
        self.inner.admission.active() + self.inner.client_admission.active()
    }

    /// Uses of all snapshots right now (0 when nothing is being served).
    pub fn snapshot_users(&self) -> usize {
        self.inner.snapshots.as_ref().map_or(0, |s| s.total_users())
    }

    pub fn snapshot_info(&self, id: &PartitionId) -> Option<SnapshotInfo> {
        self.inner.snapshots.as_ref()?.info(id)
    }

    /// Runs the stale-snapshot cleanup now; returns how many snapshots it removed.
    pub fn cleanup_snapshots(&self) -> Result<usize> {
        let handle = self.handle()?;
        let snapshots = self.inner.snapshots.clone().ok_or_else(|| Error::config("this node serves no snapshots"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            let _ = tx.send(snapshots.cleanup().await);
        });
        rx.recv().map_err(|_| closed())
    }

    /// Stops the sender gracefully: no new connections, idle ones closed, transfers in flight may
    /// finish for up to `grace`, then the rest are ended (their receivers fail fast and move on)
    /// and every snapshot use is released. Blocks the caller for at most `grace` and a moment.
    /// Returns how many transfers were ended unfinished. A node without a server returns 0.
    pub fn stop_server(&self, grace: Duration) -> usize {
        // /health answers 503 from here on (a load balancer or supervisor sees the stop begin).
        self.inner.metrics.set_stopping(true);
        let server = self.inner.server.lock().unwrap().take();
        server.map_or(0, |s| s.stop_gracefully(grace))
    }

    /// Cancels running bootstraps and waits (up to 30 s) for their results to be delivered,
    /// stops the server, shuts the runtime down. Idempotent; also done on drop.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.metrics.set_stopping(true);
        self.inner.ops.cancel_all();
        if tokio::runtime::Handle::try_current().is_err() {
            // Cancelled bootstraps clean up and deliver their results; inside async code (a host
            // calling from its own runtime) blocking is not allowed, and the runtime's shutdown
            // delivers them instead.
            self.inner.ops.wait_empty(Duration::from_secs(30));
        }
        if let Some(s) = self.inner.server.lock().unwrap().take() {
            s.stop();
        }
        drop(self.inner.admin.lock().unwrap().take());
        if let Some(rt) = self.runtime.lock().unwrap().take() {
            // Tasks dropped here deliver their completions with a shutdown error (Completion's drop).
            crate::runtime::shutdown(rt);
        }
        self.inner.dispatcher.shutdown();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.close();
    }
}
