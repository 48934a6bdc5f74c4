//! `vbt_config`: Venice-style key/value settings plus the host's callbacks, from which nodes are
//! made.

use std::ffi::{c_char, c_void};

use super::callbacks::{vbt_log_fn, vbt_log_level, vbt_peer_discovery_fn, vbt_snapshot_fn, DiscoveryFn, LogFn, SnapshotFn};
use super::checkpoint::{vbt_checkpoint_acquire_fn, vbt_checkpoint_release_fn, AcquireFn, ReleaseFn};
use super::handle::{borrow_mut, free, into_raw, write_out, Opaque, UserData};
use super::hooks::{vbt_file_sent_fn, vbt_metadata_hook_fn, FileSentFnC, MetadataHookFn};
use super::origin::{vbt_origin_identity_fn, vbt_origin_may_read_fn, IdentityFn, MayReadFn};
use super::result::vbt_result;
use super::types::{bytes_arg, str_arg, vbt_byte_slice};
use crate::config::{parse_properties, Config, TlsMaterial};
use crate::error::{Error, Result};

/// Settings for a node: Venice's own keys (`davinci.p2p.blob.transfer.server.port`,
/// `blob.transfer.max.concurrent.snapshot.user`, `data.base.path`, ...) and vbt's `vbt.*` keys,
/// plus the host's callbacks: snapshot or checkpoint source, peer discovery, metadata hook,
/// files-sent listener, origin policy and log sink.
///
/// Methods: `vbt_config_new`, `vbt_config_set`, `vbt_config_set_properties`,
/// `vbt_config_set_snapshot_source`, `vbt_config_set_checkpoint_source`,
/// `vbt_config_set_peer_discovery`, `vbt_config_set_metadata_hook`,
/// `vbt_config_set_file_sent_listener`, `vbt_config_set_origin_policy`,
/// `vbt_config_set_tls_identity`, `vbt_config_set_log_sink`, `vbt_config_set_log_level`,
/// `vbt_config_free`; used by `vbt_node_new`.
///
/// Each value is checked when it is set; the whole is checked when a node is made from it. A
/// config is not safe to modify from two threads at once; once built, nodes do not refer to it.
pub struct vbt_config {
    /// Accepted pairs, in order (a later key wins when the node is made).
    pairs: Vec<(String, String)>,
    pub(crate) snapshot: Option<(SnapshotFn, UserData)>,
    pub(crate) discovery: Option<(DiscoveryFn, UserData)>,
    pub(crate) checkpoints: Option<(AcquireFn, Option<ReleaseFn>, UserData)>,
    pub(crate) metadata_hook: Option<(MetadataHookFn, UserData)>,
    pub(crate) file_sent: Option<(FileSentFnC, UserData)>,
    pub(crate) origin: Option<(IdentityFn, MayReadFn, UserData)>,
    /// The TLS identity in memory (`vbt_config_set_tls_identity`).
    tls_material: Option<TlsMaterial>,
    pub(crate) log_sink: Option<(LogFn, UserData)>,
    pub(crate) log_level: log::LevelFilter,
}

impl Opaque for vbt_config {
    const NAME: &'static str = "vbt_config";
}

impl vbt_config {
    /// The core configuration (`data.base.path` and the other cross-key rules applied).
    pub(crate) fn build(&self) -> Result<Config> {
        let mut config = Config::from_pairs(self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        if let Some(m) = &self.tls_material {
            config.tls.material = Some(m.clone());
        }
        Ok(config)
    }

    /// Checks each pair's value, then keeps them all, or none.
    fn add(&mut self, pairs: Vec<(String, String)>) -> Result<()> {
        let mut scratch = Config::default();
        let mut used = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let k = k.trim().to_string();
            if scratch.set(&k, &v)? {
                used.push((k, v));
            }
        }
        self.pairs.extend(used);
        Ok(())
    }
}

/// Creates an empty config (every setting at Venice's default) and stores it in `*out`; free it
/// with `vbt_config_free`.
#[no_mangle]
pub extern "C" fn vbt_config_new(out: *mut *mut vbt_config) -> vbt_result {
    ffi_boundary!([out] {
        let config = vbt_config {
            pairs: Vec::new(),
            snapshot: None,
            discovery: None,
            checkpoints: None,
            metadata_hook: None,
            file_sent: None,
            origin: None,
            tls_material: None,
            log_sink: None,
            log_level: log::LevelFilter::Info,
        };
        // SAFETY: `out` is a writable pointer (checked non-NULL by the boundary).
        unsafe { write_out(out, into_raw(config)) }
    })
}

/// Sets one key to a value (both copied). Unknown keys are ignored and return `VBT_OK` (Venice
/// hosts pass many). A value that cannot be used returns `VBT_CONFIG`, with a last-error message
/// that names the key, and leaves the config unchanged.
#[no_mangle]
pub extern "C" fn vbt_config_set(config: *mut vbt_config, key: *const c_char, value: *const c_char) -> vbt_result {
    ffi_boundary!([config, key, value] {
        // SAFETY: C strings and a live config, per the contract.
        let (key, value) = unsafe { (str_arg(key, "key")?, str_arg(value, "value")?) };
        let config = unsafe { borrow_mut(config) }?;
        config.add(vec![(key, value)])
    })
}

/// Sets every `key=value` (or `key: value`) line of Java properties text, with `#`/`!` comments
/// and backslash continuations, as `vbt_config_set` would. If any value is bad, returns
/// `VBT_CONFIG` naming the key and sets none of them.
#[no_mangle]
pub extern "C" fn vbt_config_set_properties(config: *mut vbt_config, text: *const c_char) -> vbt_result {
    ffi_boundary!([config, text] {
        // SAFETY: a C string and a live config, per the contract.
        let text = unsafe { str_arg(text, "text") }?;
        let config = unsafe { borrow_mut(config) }?;
        config.add(parse_properties(&text)?)
    })
}

/// Makes nodes built from this config serve snapshots that the host creates (a host that owns its
/// RocksDB) instead of partitions vbt opens under `vbt.base.dir`. vbt names each snapshot's
/// directory under `vbt.snapshot.dir` (default `<vbt.state.dir>/snapshots`); see
/// `vbt_snapshot_fn`. `user_data` is passed back to `callback` as is and must stay valid until
/// every node made from this config is freed. Replaces an earlier snapshot source.
#[no_mangle]
pub extern "C" fn vbt_config_set_snapshot_source(config: *mut vbt_config, callback: vbt_snapshot_fn, user_data: *mut c_void) -> vbt_result {
    ffi_boundary!([config, callback] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.snapshot = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// Makes nodes built from this config ask `callback` for peers when a bootstrap request names
/// none; see `vbt_peer_discovery_fn`. `user_data` must stay valid until every node made from this
/// config is freed. Replaces an earlier discovery callback.
#[no_mangle]
pub extern "C" fn vbt_config_set_peer_discovery(
    config: *mut vbt_config,
    callback: vbt_peer_discovery_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([config, callback] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.discovery = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// Makes nodes built from this config serve checkpoints the host leases per transfer (a Venice
/// node's `BlobSnapshotManager`) instead of snapshots vbt makes: `acquire` names a checkpoint for
/// each request the sender admits, and `release` (optional: NULL calls nothing) hands each one
/// back exactly once when its last send ends; see `vbt_checkpoint_acquire_fn` and
/// `vbt_checkpoint_release_fn`. It wins over `vbt_config_set_snapshot_source` and over the base
/// directory's partitions, and needs neither `vbt.base.dir` nor `vbt.snapshot.dir`. `user_data` is
/// passed back to both as is and must stay valid until every node made from this config is freed
/// (every release has run by then). A NULL `acquire` removes an earlier checkpoint source.
#[no_mangle]
pub extern "C" fn vbt_config_set_checkpoint_source(
    config: *mut vbt_config,
    acquire: vbt_checkpoint_acquire_fn,
    release: vbt_checkpoint_release_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([config] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.checkpoints = acquire.map(|f| (f, release, UserData::new(user_data)));
        Ok(())
    })
}

/// Makes nodes built from this config hand every received partition's metadata to `callback`
/// before the partition is published; see `vbt_metadata_hook_fn`. `user_data` must stay valid
/// until every node made from this config is freed. A NULL `callback` removes an earlier hook.
#[no_mangle]
pub extern "C" fn vbt_config_set_metadata_hook(
    config: *mut vbt_config,
    callback: vbt_metadata_hook_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([config] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.metadata_hook = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// Makes nodes built from this config tell `callback` of every whole file their sender wrote to
/// a peer; see `vbt_file_sent_fn`. `user_data` must stay valid until every node made from this
/// config is freed. A NULL `callback` removes an earlier listener.
#[no_mangle]
pub extern "C" fn vbt_config_set_file_sent_listener(
    config: *mut vbt_config,
    callback: vbt_file_sent_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([config] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.file_sent = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// Makes nodes built from this config classify each TLS peer that Venice's same-issuer ACL
/// admitted, as Venice's servers do: a peer whose identity (`identity`) equals this node's is of
/// server origin; any other is of client origin, served only with
/// `server.blob.transfer.accept.client.request.enabled=true` and `may_read`'s consent, within
/// `server.blob.transfer.client.capacity.percent` of `blob.transfer.max.concurrent.snapshot.user`
/// (else 403 with an empty body, or 429 `Client-origin blob transfer rejected (client reservation
/// full) for <replica>`). Without a policy every admitted peer is of server origin. `user_data`
/// must stay valid until every node made from this config is freed. Both callbacks NULL remove an
/// earlier policy; only one NULL returns `VBT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn vbt_config_set_origin_policy(
    config: *mut vbt_config,
    identity: vbt_origin_identity_fn,
    may_read: vbt_origin_may_read_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([config] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.origin = match (identity, may_read) {
            (Some(i), Some(m)) => Some((i, m, UserData::new(user_data))),
            (None, None) => None,
            _ => return Err(crate::Error::invalid("vbt_config_set_origin_policy: give both callbacks, or neither")),
        };
        Ok(())
    })
}

/// Gives nodes built from this config their TLS identity from memory instead of files: the
/// private key (DER, PKCS#8: what `openssl pkcs8 -topk8 -nocrypt -outform DER` or OpenSSL's
/// `i2d_PKCS8PrivateKey_bio` writes), the certificate chain (DER, the node's own certificate
/// first) and the trusted CAs (DER). vbt copies all of it. It wins over the `vbt.ssl.*` files and
/// the `ssl.keystore.*` / `ssl.truststore.*` stores; TLS itself is still switched on by
/// `blob.transfer.ssl.enabled=true` (with `blob.transfer.acl.enabled=true`), and a key that does
/// not match the chain is refused when the node is made (`VBT_CONFIG`, naming the identity).
///
/// An empty key with no chain and no trusted CA removes an earlier identity. Otherwise returns
/// `VBT_INVALID_ARGUMENT` if the key, the chain or the trusted set is empty, or an array is NULL
/// with a length above 0.
#[no_mangle]
pub extern "C" fn vbt_config_set_tls_identity(
    config: *mut vbt_config,
    key_pkcs8: vbt_byte_slice,
    chain: *const vbt_byte_slice,
    chain_len: usize,
    trusted: *const vbt_byte_slice,
    trusted_len: usize,
) -> vbt_result {
    ffi_boundary!([config] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        if key_pkcs8.len == 0 && chain_len == 0 && trusted_len == 0 {
            config.tls_material = None;
            return Ok(());
        }
        // SAFETY: the host promises `len` readable bytes at each slice's `data`, and `*_len`
        // slices at `chain` and `trusted`.
        let key = unsafe { bytes_arg(key_pkcs8.data, key_pkcs8.len) }.map_err(|e| e.context("key_pkcs8"))?;
        let chain = unsafe { slices(chain, chain_len, "chain") }?;
        let trusted = unsafe { slices(trusted, trusted_len, "trusted") }?;
        if key.is_empty() || chain.is_empty() || trusted.is_empty() {
            return Err(Error::invalid("vbt_config_set_tls_identity needs a key, a certificate chain and at least one trusted CA"));
        }
        config.tls_material = Some(TlsMaterial { key_pkcs8: key, chain, trusted });
        Ok(())
    })
}

/// Copies `len` byte slices at `at`, each not empty.
unsafe fn slices(at: *const vbt_byte_slice, len: usize, what: &str) -> Result<Vec<Vec<u8>>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if at.is_null() {
        return Err(Error::invalid(format!("argument `{what}` is NULL with {what}_len {len}")));
    }
    // SAFETY: the caller promises `len` slices at `at`.
    let all = unsafe { std::slice::from_raw_parts(at, len) };
    all.iter()
        .enumerate()
        .map(|(i, s)| {
            // SAFETY: as above, for each slice's bytes.
            let bytes = unsafe { bytes_arg(s.data, s.len) }.map_err(|e| e.context(format!("{what}[{i}]")))?;
            if bytes.is_empty() {
                return Err(Error::invalid(format!("{what}[{i}] is empty")));
            }
            Ok(bytes)
        })
        .collect()
}

/// Sends vbt's log records to `callback`; see `vbt_log_fn`.
///
/// **Process-wide:** logging has one destination per process. The sink is installed when a node is
/// made from this config (replacing any sink installed before, by C or by Java) and removed when
/// that node is freed, if no later node replaced it; `vbt_node_free` returns only after calls in
/// progress have returned, so `user_data` need only outlive that node. Records come from every
/// node in the process, at `vbt_config_set_log_level`'s threshold (default `VBT_LOG_INFO`).
#[no_mangle]
pub extern "C" fn vbt_config_set_log_sink(config: *mut vbt_config, callback: vbt_log_fn, user_data: *mut c_void) -> vbt_result {
    ffi_boundary!([config, callback] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.log_sink = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// The most verbose level the log sink receives: a `vbt_log_level` (`VBT_LOG_OFF` .. `VBT_LOG_TRACE`,
/// default `VBT_LOG_INFO`). Another number returns `VBT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn vbt_config_set_log_level(config: *mut vbt_config, level: u32) -> vbt_result {
    ffi_boundary!([config] {
        let filter = vbt_log_level::filter(level)?;
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow_mut(config) }?;
        config.log_level = filter;
        Ok(())
    })
}

/// Frees a config. NULL is a no-op. Nodes made from it are not affected.
#[no_mangle]
pub extern "C" fn vbt_config_free(config: *mut vbt_config) {
    ffi_boundary!([] -> () {
        // SAFETY: NULL or a config from vbt_config_new, given up here.
        unsafe { free(config) };
        Ok(())
    })
}
