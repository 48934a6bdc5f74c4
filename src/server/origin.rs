//! Where a request comes from, as a Venice server decides it (docs/venice-reference.md §3.2-3.3,
//! Venice PR #2869): after the same-issuer ACL, a host that brings an [`OriginPolicy`] (a Venice
//! server with a per-store access controller) has each peer classified by application identity.
//!
//! ```text
//! identity(peer cert) == identity(own cert)  → server origin: the usual admission
//! otherwise (or either unresolved)           → client origin (DaVinci/CDC fallback):
//!     server.blob.transfer.accept.client.request.enabled=false → 403, empty body, close
//!     may_read(peer cert, store of the URI) is false or fails   → 403, empty body, close
//!     else admitted against its own reservation, a share of
//!     blob.transfer.max.concurrent.snapshot.user (server.blob.transfer.client.capacity.percent)
//! ```
//! Without a policy (DaVinci peers, plaintext, `blob.transfer.acl.enabled=false`) every request
//! is of server origin, as in Venice.

use std::sync::Arc;

use crate::error::Result;

/// The host's part of Venice's origin rule: its identity parser and its per-store read ACL.
///
/// Both are called for each TLS request from a same-issuer peer, on a thread where they may
/// block (a Java host reaches its access controller). A panic or error denies the request: the
/// rule fails closed, as Venice's does.
pub trait OriginPolicy: Send + Sync + 'static {
    /// The application identity in a certificate (DER), as Venice's `IdentityParser` reads it;
    /// `None` when it cannot be resolved (then the peer is of client origin).
    fn identity(&self, cert_der: &[u8]) -> Result<Option<String>>;

    /// Venice's per-store read ACL (`hasAccess(cert, store, "GET")`) for a client-origin peer.
    fn may_read(&self, cert_der: &[u8], store: &str) -> Result<bool>;
}

/// Which admission budget a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Server,
    Client,
}

/// The client-origin reservation: none at 0 %, else at least one slot (Venice's
/// `BlobTransferAdmissionController`).
pub(crate) fn client_capacity(max_concurrent: usize, percent: u32) -> usize {
    if percent == 0 || max_concurrent == 0 {
        0
    } else {
        (max_concurrent * percent as usize / 100).max(1)
    }
}

/// Classifies a same-issuer peer and applies the client-origin gates. `Err` names why the request
/// is refused (403 with an empty body, then close).
/// How long the host's rule may take for one request before the request is refused.
pub(crate) const DECISION_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How many requests may wait on the host's rule at once: the rest wait for a turn (within the
/// limit above), so a slow access controller cannot take every blocking thread of the node.
pub(crate) const DECISIONS_AT_ONCE: usize = 8;

pub(crate) async fn classify(
    policy: Arc<dyn OriginPolicy>,
    turns: &tokio::sync::Semaphore,
    accept_clients: bool,
    peer_cert: Vec<u8>,
    own_cert: Vec<u8>,
    path: String,
) -> std::result::Result<Origin, String> {
    let decide = async {
        let _turn = turns.acquire().await.map_err(|_| "the server is stopping".to_string())?;
        decide(policy, accept_clients, peer_cert, own_cert, path).await
    };
    match tokio::time::timeout(DECISION_LIMIT, decide).await {
        Ok(decided) => decided,
        Err(_) => Err(format!("origin policy did not decide within {} s (the request is refused)", DECISION_LIMIT.as_secs())),
    }
}

async fn decide(
    policy: Arc<dyn OriginPolicy>,
    accept_clients: bool,
    peer_cert: Vec<u8>,
    own_cert: Vec<u8>,
    path: String,
) -> std::result::Result<Origin, String> {
    let decided = crate::runtime::blocking(move || {
        let caller = policy.identity(&peer_cert)?;
        let local = policy.identity(&own_cert)?;
        if local.is_some() && local == caller {
            return Ok(Ok(Origin::Server));
        }
        if !accept_clients {
            return Ok(Err(format!(
                "client-origin request (identity {}, ours {}): server.blob.transfer.accept.client.request.enabled is false",
                shown(&caller),
                shown(&local)
            )));
        }
        let Some(store) = store_of(&path) else {
            return Ok(Err(format!("client-origin request for {path:?}: no store name in the path")));
        };
        Ok(if policy.may_read(&peer_cert, store)? {
            Ok(Origin::Client)
        } else {
            Err(format!("client-origin request (identity {}): the store ACL denies reading {store}", shown(&caller)))
        })
    })
    .await;
    decided.unwrap_or_else(|e| Err(format!("origin policy failed (the request is refused): {e}")))
}

fn shown(identity: &Option<String>) -> String {
    identity.as_deref().map_or_else(|| "unresolved".to_string(), |i| format!("{i:?}"))
}

/// The store of `/<store>/<version>/<partition>/<format>`: the first path segment, if not empty,
/// cut exactly as the request's validation cuts it (so the ACL sees the store that is served).
fn store_of(path: &str) -> Option<&str> {
    path.strip_prefix('/')?.split('/').next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_capacity_is_venices() {
        assert_eq!(client_capacity(30, 0), 0);
        assert_eq!(client_capacity(30, 25), 7);
        assert_eq!(client_capacity(30, 50), 15);
        assert_eq!(client_capacity(2, 25), 1, "a positive share is at least one slot");
        assert_eq!(client_capacity(1, 1), 1);
        assert_eq!(client_capacity(0, 50), 0, "no budget at all: none for clients either");
    }

    #[test]
    fn store_is_the_first_segment() {
        assert_eq!(store_of("/myStore/1/0/BLOCK_BASED_TABLE"), Some("myStore"));
        assert_eq!(store_of("/myStore"), Some("myStore"));
        assert_eq!(store_of("/s/1/0/PLAIN_TABLE?x=1"), Some("s"));
        assert_eq!(store_of("/s?x/1/0/PLAIN_TABLE"), Some("s?x"), "what validation would serve (and refuse)");
        assert_eq!(store_of("//1/0/PLAIN_TABLE"), None);
        assert_eq!(store_of("myStore/1"), None);
        assert_eq!(store_of(""), None);
    }
}
