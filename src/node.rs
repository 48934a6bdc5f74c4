//! [`Node`]: the one object every binding wraps. It owns a tokio runtime, the sender (listener,
//! admission, snapshots) and the receiver (peers, bootstraps). Its methods are synchronous and
//! callable from any host thread; a bootstrap runs in the background as an [`Operation`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::callback::Dispatcher;
use crate::client::{BootstrapOutcome, BootstrapRequest, PeerDiscovery, Receiver};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::request::LocalProtocol;
use crate::protocol::PartitionId;
use crate::server::{self, Admission, ServerHandle, ServerShared};
use crate::snapshot::{HostCreateFn, HostSnapshotSource, SnapshotInfo, SnapshotManager, SnapshotSource};
use crate::storage::local::LocalStorage;
use crate::throttle::{Adaptive, RateLimiter, Signal};
use crate::tls::Tls;

/// Builds a [`Node`]: a config and, optionally, the host's own snapshot source.
pub struct NodeBuilder {
    config: Config,
    source: Option<Arc<dyn SnapshotSource>>,
    host_snapshots: Option<Box<HostCreateFn>>,
    discovery: Option<Arc<dyn PeerDiscovery>>,
}

impl NodeBuilder {
    /// Serve snapshots from the host instead of from partitions vbt opens under the base dir.
    pub fn snapshot_source(mut self, source: Arc<dyn SnapshotSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Serve snapshots the host creates itself (a JVM or C host that owns its RocksDB): vbt
    /// names a directory under `vbt.snapshot.dir` (default `<base>/.vbt_host_snapshots`) and
    /// `create` writes a checkpoint there and returns the metadata it captured first.
    pub fn host_snapshots(mut self, create: Box<HostCreateFn>) -> Self {
        self.host_snapshots = Some(create);
        self
    }

    /// Ask `discovery` for peers when a bootstrap request names none.
    pub fn peer_discovery(mut self, discovery: Arc<dyn PeerDiscovery>) -> Self {
        self.discovery = Some(discovery);
        self
    }

    pub fn build(mut self) -> Result<Node> {
        self.config.validate()?;
        if let Some(create) = self.host_snapshots.take() {
            let root = self.config.host_snapshot_root()?;
            self.source = Some(Arc::new(HostSnapshotSource::new(root, create)));
        }
        let config = Arc::new(self.config);
        let base = config.base_dir.clone();
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
        // vbt owns the base directory only when the host did not bring its own source.
        let owns_storage = self.source.is_none();
        let source: Option<Arc<dyn SnapshotSource>> = match (self.source, &base) {
            (Some(s), _) => Some(s),
            (None, Some(b)) => Some(Arc::new(LocalStorage::new(b.clone(), config.table_format))),
            (None, None) => None,
        };
        let snapshots = source.map(|s| Arc::new(SnapshotManager::new(s, config.snapshot_retention)));
        let receiver = base.map(|b| {
            Arc::new(Receiver::new(config.clone(), b, owns_storage, self.discovery, tls.clone(), read_limit.clone()))
        });
        if let Some(r) = &receiver {
            // Leftovers of a crash (ours or another process's) are repaired before anything runs.
            r.reconcile()?;
        }
        let runtime = crate::runtime::build(config.worker_threads)?;
        if let Some(a) = adaptive.clone() {
            // Venice's AdaptiveThrottlerSignalService tick.
            // Capped so `now + every` (and tokio's next `deadline + every`) cannot overflow.
            let every = config.adaptive_interval.min(crate::config::MAX_DURATION);
            runtime.spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    a.tick();
                }
            });
        }
        let dispatcher = Arc::new(Dispatcher::start("vbt-callbacks")?);
        Ok(Node {
            inner: Arc::new(Inner {
                admission: Admission::new(config.max_concurrent_snapshot_users),
                config,
                snapshots,
                receiver,
                server: Mutex::new(None),
                ops: Mutex::new(HashMap::new()),
                next_op: AtomicU64::new(1),
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
    snapshots: Option<Arc<SnapshotManager>>,
    receiver: Option<Arc<Receiver>>,
    server: Mutex<Option<ServerHandle>>,
    ops: Mutex<HashMap<u64, watch::Sender<bool>>>,
    next_op: AtomicU64,
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

/// A bootstrap running in the background. Its result is delivered exactly once.
pub struct Operation {
    id: u64,
    rx: oneshot::Receiver<Result<BootstrapOutcome>>,
}

impl Operation {
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Blocks the calling thread until the bootstrap ends. Not for use inside async code.
    pub fn wait(self) -> Result<BootstrapOutcome> {
        self.rx.blocking_recv().unwrap_or_else(|_| Err(lost()))
    }
    /// Awaits the end of the bootstrap, from any async runtime.
    pub async fn finish(self) -> Result<BootstrapOutcome> {
        self.rx.await.unwrap_or_else(|_| Err(lost()))
    }
}

fn lost() -> Error {
    Error::new(ErrorKind::Shutdown, "the node shut down before the bootstrap finished")
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
        NodeBuilder { config, source: None, host_snapshots: None, discovery: None }
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
        let port = cfg
            .server_port
            .ok_or_else(|| Error::config("davinci.p2p.blob.transfer.server.port is not set"))?;
        if !cfg.ssl_enabled && !cfg.bind_address.is_loopback() && !cfg.allow_plaintext {
            // Venice never serves partitions without TLS and its ACL; neither do we, off loopback.
            return Err(Error::config(format!(
                "refusing to serve partitions in plaintext on {} (not a loopback address): set \
                 blob.transfer.ssl.enabled=true and blob.transfer.acl.enabled=true (with the vbt.ssl.* \
                 files), or bind to loopback (vbt.server.bind.address=127.0.0.1), or allow it \
                 deliberately with vbt.allow.plaintext=true (trusted networks and tests only)",
                cfg.bind_address
            )));
        }
        let snapshots = self.inner.snapshots.clone().ok_or_else(|| {
            Error::config("nothing to serve: set vbt.base.dir (or data.base.path), or give the node a snapshot source")
        })?;
        let mut server = self.inner.server.lock().unwrap();
        if let Some(s) = server.as_ref() {
            return Err(Error::invalid(format!("the server is already listening on {}", s.addr)));
        }
        // As servers do: many peers, each connection a descriptor.
        crate::server::raise_nofile_limit();
        let addr = SocketAddr::new(cfg.bind_address, port);
        let std_listener = std::net::TcpListener::bind(addr).map_err(|e| Error::io(format!("listen on {addr}"), e))?;
        std_listener.set_nonblocking(true).map_err(|e| Error::io("listener", e))?;
        let _enter = handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(|e| Error::io("listener", e))?;
        let shared = Arc::new(ServerShared {
            config: cfg.clone(),
            local: LocalProtocol {
                table_format: cfg.table_format,
                partition_state_version: cfg.partition_state_schema_version,
                store_version_state_version: cfg.store_version_state_schema_version,
            },
            admission: self.inner.admission.clone(),
            snapshots,
            tls: self.inner.tls.clone(),
            write_limit: self.inner.write_limit.clone(),
        });
        let started = server::spawn(listener, shared);
        let bound = started.addr;
        *server = Some(started);
        Ok(bound)
    }

    /// Starts a bootstrap. Checks (closed node, no base dir, bad peers, partition already in
    /// flight) fail here, synchronously; after `Ok` the operation's result arrives exactly once.
    pub fn bootstrap(&self, req: BootstrapRequest) -> Result<Operation> {
        let accepted = self.accept(req)?;
        let (tx, rx) = oneshot::channel();
        let id = accepted.id;
        self.spawn_op(accepted, move |result| {
            let _ = tx.send(result);
        });
        Ok(Operation { id, rx })
    }

    /// Starts a bootstrap whose result is passed to `done` exactly once, on the node's callback
    /// thread (never inside this call, never on a runtime worker): on success, failure, cancel,
    /// or node shutdown. If this call returns an error, `done` is never called.
    /// Returns the operation id for [`Node::cancel`]; `done` gets it too, since it may run before
    /// this call returns.
    pub fn bootstrap_with_callback(
        &self,
        req: BootstrapRequest,
        done: impl FnOnce(u64, Result<BootstrapOutcome>) + Send + 'static,
    ) -> Result<u64> {
        // Every check first: the completion only exists once the operation is accepted.
        let accepted = self.accept(req)?;
        let id = accepted.id;
        let completion = Completion { id, done: Some(Box::new(done)), dispatcher: self.inner.dispatcher.clone() };
        self.spawn_op(accepted, move |result| completion.complete(result));
        Ok(id)
    }

    /// The synchronous checks of a bootstrap; what they produce is all `spawn_op` needs.
    fn accept(&self, req: BootstrapRequest) -> Result<Accepted> {
        let handle = self.handle()?;
        enabled(&self.inner.config)?;
        let receiver = self.inner.receiver.clone().ok_or_else(|| {
            Error::config("no base directory to install partitions into: set vbt.base.dir (or data.base.path)")
        })?;
        receiver.parse_peers(&req.peers)?;
        let claim = receiver.claim(&req.id)?;
        let id = self.inner.next_op.fetch_add(1, Ordering::SeqCst);
        Ok(Accepted { id, handle, receiver, claim, req })
    }

    fn spawn_op(&self, a: Accepted, finish: impl FnOnce(Result<BootstrapOutcome>) + Send + 'static) {
        let Accepted { id, handle, receiver, claim, req } = a;
        let (cancel_tx, cancel_rx) = watch::channel(false);
        self.inner.ops.lock().unwrap().insert(id, cancel_tx);
        let inner = self.inner.clone();
        let replica = req.id.replica();
        handle.spawn(async move {
            // Its own task, so a panic inside is caught here and reported as one (its guards have
            // cleaned up by then), instead of surfacing as a lost operation.
            let result = match tokio::spawn(async move { receiver.bootstrap(req, claim, cancel_rx).await }).await {
                Ok(r) => r,
                Err(e) if e.is_panic() => Err(Error::internal(format!(
                    "bootstrap of {replica} panicked: {}",
                    crate::runtime::panic_message(&*e.into_panic())
                ))),
                Err(_) => Err(lost()),
            };
            inner.ops.lock().unwrap().remove(&id);
            finish(result);
        });
    }

    /// Bootstraps and waits for the result (from a thread that is not running async code).
    pub fn bootstrap_blocking(&self, req: BootstrapRequest) -> Result<BootstrapOutcome> {
        self.bootstrap(req)?.wait()
    }

    /// Asks a running bootstrap to stop; returns false if no such operation is running.
    pub fn cancel(&self, op_id: u64) -> bool {
        match self.inner.ops.lock().unwrap().get(&op_id) {
            Some(tx) => tx.send(true).is_ok(),
            None => false,
        }
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

    /// The address the sender listens on, if started.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.inner.server.lock().unwrap().as_ref().map(|s| s.addr)
    }

    /// Transfers being served right now.
    pub fn active_transfers(&self) -> usize {
        self.inner.admission.active()
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
        let server = self.inner.server.lock().unwrap().take();
        server.map_or(0, |s| s.stop_gracefully(grace))
    }

    /// Cancels running bootstraps and waits (up to 30 s) for their results to be delivered,
    /// stops the server, shuts the runtime down. Idempotent; also done on drop.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        for tx in self.inner.ops.lock().unwrap().values() {
            let _ = tx.send(true);
        }
        let in_async = tokio::runtime::Handle::try_current().is_ok();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !in_async && !self.inner.ops.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(s) = self.inner.server.lock().unwrap().take() {
            s.stop();
        }
        if let Some(rt) = self.runtime.lock().unwrap().take() {
            // Tasks dropped here deliver their completions with a shutdown error (Completion's drop).
            crate::runtime::shutdown(rt);
        }
        self.inner.dispatcher.shutdown();
    }
}

/// A bootstrap that passed its synchronous checks.
struct Accepted {
    id: u64,
    handle: tokio::runtime::Handle,
    receiver: Arc<Receiver>,
    claim: crate::client::InFlight,
    req: BootstrapRequest,
}

type DoneFn = Box<dyn FnOnce(u64, Result<BootstrapOutcome>) + Send>;

/// A completion owed to the host: delivered once on the callback thread, with a shutdown error if
/// the operation is dropped before it finishes.
struct Completion {
    id: u64,
    done: Option<DoneFn>,
    dispatcher: Arc<Dispatcher>,
}

impl Completion {
    fn complete(mut self, result: Result<BootstrapOutcome>) {
        self.deliver(result);
    }

    fn deliver(&mut self, result: Result<BootstrapOutcome>) {
        let Some(done) = self.done.take() else { return };
        let id = self.id;
        if let Err(job) = self.dispatcher.dispatch(Box::new(move || done(id, result))) {
            // The dispatcher is gone (node closed from inside a callback): still exactly once,
            // still off the runtime.
            let _ = std::thread::Builder::new().name("vbt-callbacks-late".into()).spawn(job);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.deliver(Err(lost()));
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.close();
    }
}
