//! Discovery through a Venice router, as DaVinci's `DaVinciBlobFinder` does it:
//! `GET <router>/blob_discovery?store_name=S&store_version=V&store_partition=P` within 3 s
//! (`vbt.discovery.router.timeout.ms`). The router answers 200 with Venice's
//! `BlobPeersDiscoveryResponse` JSON, whose `discoveryResult` lists `host_suffix` names, or an
//! error status with a text body: 400 (a parameter missing), 403 (blob transfer off for the
//! store, or a hybrid store), 404 (unknown store), 500 (push-status store unreadable).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::PeerDiscovery;
use super::{block_on, host_names, no_peers};
use crate::error::{Error, Result};
use crate::protocol::PartitionId;
use crate::tls::Tls;

/// More than any router's answer (a few hundred names); a larger body is refused, not buffered.
const MAX_BODY: usize = 1 << 20;

/// Venice's `BlobPeersDiscoveryResponse` as the router serializes it (Jackson): `error`,
/// `errorMessage`, `discoveryResult`; other fields (`serverHostNames`, `sourceAware`) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoveryResponse {
    #[serde(default)]
    error: bool,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    discovery_result: Option<Vec<String>>,
}

/// Asks a Venice router which hosts have a partition (`vbt.discovery=router`).
pub struct RouterDiscovery {
    base: Uri,
    timeout: Duration,
    /// The node's TLS client config, for an `https` router (its certificate must chain to the
    /// node's trusted CAs; the host name is not checked, as for blob-transfer peers).
    tls: Option<Arc<Tls>>,
}

impl RouterDiscovery {
    /// `url` is the router's base (`http://host:port`, optionally with a path prefix). `https`
    /// needs the node's TLS (`blob.transfer.ssl.enabled` with its certificates).
    pub fn new(url: &str, timeout: Duration, tls: Option<Arc<Tls>>) -> Result<RouterDiscovery> {
        let base: Uri = url.parse().map_err(|e| Error::config(format!("vbt.discovery.router.url {url:?}: {e}")))?;
        match (base.scheme_str(), &tls) {
            (Some("http"), _) | (Some("https"), Some(_)) => {}
            (Some("https"), None) => {
                return Err(Error::config(format!(
                    "vbt.discovery.router.url {url:?} is https, which uses the node's TLS: set blob.transfer.ssl.enabled=true \
                     (with blob.transfer.acl.enabled=true and the node's certificates), or use an http:// router URL"
                )))
            }
            _ => return Err(Error::config(format!("vbt.discovery.router.url {url:?}: expected http:// or https://"))),
        }
        if base.host().is_none_or(str::is_empty) {
            return Err(Error::config(format!("vbt.discovery.router.url {url:?} names no host")));
        }
        Ok(RouterDiscovery { base, timeout, tls })
    }

    /// The request target: the base's path prefix, then `blob_discovery` and the encoded query.
    fn target(&self, id: &PartitionId) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("store_name", &id.store)
            .append_pair("store_version", &id.version.to_string())
            .append_pair("store_partition", &id.partition.to_string())
            .finish();
        format!("{}/blob_discovery?{query}", self.base.path().trim_end_matches('/'))
    }

    /// One request, its status and (size-limited) body.
    async fn exchange(&self, id: &PartitionId) -> Result<(StatusCode, Bytes)> {
        let host = self.base.host().expect("checked in new");
        let https = self.base.scheme_str() == Some("https");
        let port = self.base.port_u16().unwrap_or(if https { 443 } else { 80 });
        // A bracketed IPv6 literal as the URI holds it is not a socket address host.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = TcpStream::connect((bare, port)).await.map_err(|e| Error::io("connect", e))?;
        let _ = tcp.set_nodelay(true);
        let request = Request::get(self.target(id))
            .header(hyper::header::HOST, self.base.authority().expect("has a host").as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| Error::internal(format!("router request: {e}")))?;
        match (&self.tls, https) {
            (Some(tls), true) => {
                let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
                let stream = connector.connect(Tls::server_name(bare)?, tcp).await.map_err(|e| Error::io("TLS handshake", e))?;
                send(stream, request).await
            }
            _ => send(tcp, request).await,
        }
    }

    async fn discover_async(&self, id: &PartitionId) -> Result<Vec<String>> {
        let router = &self.base;
        let replica = id.replica();
        let (status, body) = tokio::time::timeout(self.timeout, self.exchange(id))
            .await
            .map_err(|_| {
                no_peers(format!(
                    "Venice router {router} did not answer blob_discovery for {replica} within {} ms \
                     (vbt.discovery.router.timeout.ms)",
                    self.timeout.as_millis()
                ))
            })?
            .map_err(|e| no_peers(format!("Venice router {router}: blob_discovery for {replica}: {e}")))?;
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.trim().chars().take(300).collect();
            let why = match status.as_u16() {
                400 => " (a query parameter is missing)",
                403 => " (blob transfer is not enabled for the store, or it is not batch-only)",
                404 => " (the store is unknown to the router's cluster)",
                _ => "",
            };
            return Err(no_peers(format!("Venice router {router} answered {status}{why} to blob_discovery for {replica}: {text:?}")));
        }
        let response: DiscoveryResponse = serde_json::from_slice(&body).map_err(|e| {
            no_peers(format!("Venice router {router} sent a blob_discovery answer for {replica} that is not Venice's JSON: {e}"))
        })?;
        if response.error {
            let message = response.error_message.unwrap_or_default();
            return Err(no_peers(format!("Venice router {router} reported an error for {replica}: {message}")));
        }
        let hosts = host_names(response.discovery_result.iter().flatten().map(String::as_str));
        if hosts.is_empty() {
            return Err(no_peers(format!("Venice router {router} knows no host that has completed {replica}")));
        }
        Ok(hosts)
    }
}

/// HTTP/1.1 over an open stream: send `request`, read the answer, close.
async fn send<S>(stream: S, request: Request<Empty<Bytes>>) -> Result<(StatusCode, Bytes)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e: hyper::Error| Error::protocol(format!("HTTP: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
    let exchange = async move {
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| Error::protocol(format!("reading the answer: {e}")))?
            .to_bytes();
        // Dropping the sender lets the connection future below finish.
        drop(sender);
        Ok((status, body))
    };
    // The connection is driven here, beside the exchange: no task outlives the call.
    let (result, _closed) = tokio::join!(exchange, conn);
    result
}

impl PeerDiscovery for RouterDiscovery {
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>> {
        block_on(self.discover_async(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_url_encoded_after_the_path_prefix() {
        let d = RouterDiscovery::new("http://router.example:7777/venice/", Duration::from_secs(3), None).unwrap();
        // PartitionId::new refuses such a store name; the encoding must still hold for any text.
        let id = PartitionId { store: "a b&c=d/é".into(), version: 2, partition: 7 };
        assert_eq!(d.target(&id), "/venice/blob_discovery?store_name=a+b%26c%3Dd%2F%C3%A9&store_version=2&store_partition=7");
        let bare = RouterDiscovery::new("http://router.example", Duration::from_secs(3), None).unwrap();
        assert_eq!(bare.target(&id).split('?').next(), Some("/blob_discovery"));
    }
}
