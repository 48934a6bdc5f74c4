//! The admin endpoint (`vbt.admin.port`, off by default): plain HTTP/1.1 on its own listener,
//! served by hyper on the node's runtime, stopped with the node.
//!
//! - `GET /metrics`: Prometheus text 0.0.4, or OpenMetrics when the scraper asks for it (a
//!   Prometheus server does, in its Accept header).
//! - `GET /health`: 200 while the node runs; 503 from the moment it starts stopping.
//! - `GET /transfers`: JSON, every transfer in flight and the last finished ones.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::runtime::until_true;
use crate::server::ServerHandle;
use crate::transfers::Transfers;

const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the endpoint reads.
struct AdminState {
    metrics: Arc<Metrics>,
    transfers: Arc<Transfers>,
    /// The sender's address, if it is running (for `/health`).
    server_addr: Box<dyn Fn() -> Option<SocketAddr> + Send + Sync>,
}

/// The running endpoint; dropping it stops it.
pub(crate) struct AdminHandle {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Drop for AdminHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A node's endpoint, if `vbt.admin.port` is set: it reads the node's metrics and transfers, and
/// the sender's address from `server` while one is running.
pub(crate) fn start_for_node(
    runtime: &tokio::runtime::Handle,
    config: &Config,
    metrics: &Arc<Metrics>,
    transfers: &Arc<Transfers>,
    server: &Arc<Mutex<Option<ServerHandle>>>,
) -> Result<Option<AdminHandle>> {
    let Some(port) = config.admin_port else { return Ok(None) };
    let server = Arc::downgrade(server);
    let state = AdminState {
        metrics: metrics.clone(),
        transfers: transfers.clone(),
        server_addr: Box::new(move || server.upgrade()?.lock().unwrap().as_ref().map(|s| s.addr)),
    };
    start(runtime, config.admin_bind_address, port, state).map(Some)
}

/// Binds `vbt.admin.bind.address` : `port` and serves on `runtime`.
fn start(runtime: &tokio::runtime::Handle, bind: std::net::IpAddr, port: u16, state: AdminState) -> Result<AdminHandle> {
    let addr = SocketAddr::new(bind, port);
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| Error::io(format!("admin endpoint: listen on {addr} (vbt.admin.port)"), e))?;
    listener.set_nonblocking(true).map_err(|e| Error::io("admin listener", e))?;
    let _enter = runtime.enter();
    let listener = TcpListener::from_std(listener).map_err(|e| Error::io("admin listener", e))?;
    let addr = listener.local_addr().map_err(|e| Error::io("admin listener", e))?;
    let (stop, stopped) = watch::channel(false);
    runtime.spawn(accept_loop(listener, Arc::new(state), stopped));
    log::info!("vbt admin endpoint on http://{addr}/ (/metrics, /health, /transfers)");
    Ok(AdminHandle { addr, stop })
}

async fn accept_loop(listener: TcpListener, state: Arc<AdminState>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = until_true(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    let mut stop = stop.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let state = state.clone();
                            async move { Ok::<_, Infallible>(route(&state, &req)) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            // A scraper sends its head at once; a silent connection is dropped.
                            .header_read_timeout(Duration::from_secs(10))
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            _ = until_true(&mut stop) => {}
                        }
                    });
                }
                Err(e) => {
                    log::warn!("admin endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec_pretty(&value).unwrap_or_default();
    body.push(b'\n');
    reply(status, "application/json", body)
}

fn route(state: &AdminState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "only GET\n");
    }
    match req.uri().path() {
        "/metrics" => {
            let wants_openmetrics =
                req.headers().get_all(ACCEPT).iter().any(|v| v.to_str().is_ok_and(|s| s.contains("application/openmetrics-text")));
            if wants_openmetrics {
                reply(StatusCode::OK, OPENMETRICS, state.metrics.openmetrics())
            } else {
                reply(StatusCode::OK, TEXT_004, state.metrics.prometheus_text())
            }
        }
        "/health" => {
            let stopping = state.metrics.stopping();
            let status = if stopping { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            json(
                status,
                serde_json::json!({
                    "status": if stopping { "stopping" } else { "ok" },
                    "server": (state.server_addr)().map(|a| a.to_string()),
                    "transfers_in_flight": state.transfers.in_flight(),
                }),
            )
        }
        "/transfers" => {
            let (in_flight, finished) = state.transfers.list();
            json(StatusCode::OK, serde_json::json!({ "in_flight": in_flight, "finished": finished }))
        }
        "/" => reply(StatusCode::OK, "text/plain", "vbt admin: /metrics /health /transfers\n"),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found: try /metrics, /health or /transfers\n"),
    }
}
