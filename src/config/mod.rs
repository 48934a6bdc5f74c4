//! One typed configuration, parsed from Venice's own key/value strings (so a JVM host can pass its
//! properties straight through). Keys Venice lacks are named `vbt.*`. Unknown keys are ignored;
//! a value that cannot be used is an error naming the key, the value and the range.
//!
//! - `fields.rs`: [`Config`] and its parts, with Venice's defaults.
//! - `keys.rs`: THE table, one row per key (name, family and range, field, default, documentation
//!   line); `set`, the ranges `validate` checks and the README's table all come from it.
//! - `row.rs`: what a row is and does (parse and set, check a field set directly, describe).
//! - `values.rs`: the value parsers (Java's integers, durations in a unit, `512KB` sizes, ports,
//!   rates, ...) and the limits they clamp to.
//!
//! This module adds what is not one key's: building a config from pairs or properties text, and
//! the rules across keys.

mod fields;
mod keys;
mod row;
#[cfg(test)]
mod tests;
mod values;

use std::path::PathBuf;

pub use fields::{
    Config, DiscoveryConfig, DiscoveryKind, NodeRole, TlsFiles, TlsMaterial, DEFAULT_PARTITION_STATE_SCHEMA_VERSION,
    DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION,
};
pub use keys::config_table_markdown;
pub use values::{parse_properties, MAX_DURATION, UNLIMITED_RATE};

use crate::error::{Error, Result};
use values::{helix_cluster, nonempty, router_url};

impl Config {
    /// Builds a config from key/value pairs, applied in order (a later key wins).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Config> {
        let mut c = Config::default();
        let mut data_base_path = None;
        for (k, v) in pairs {
            let (k, v) = (k.as_ref().trim(), v.as_ref().trim());
            if k == "data.base.path" {
                data_base_path = Some(PathBuf::from(v));
            }
            c.set(k, v)?;
        }
        if c.base_dir.is_none() {
            c.base_dir = data_base_path.map(|p| p.join("rocksdb"));
        }
        c.validate()?;
        Ok(c)
    }

    /// Parses Java properties text (`key=value` or `key: value`, `#`/`!` comments).
    pub fn from_properties(text: &str) -> Result<Config> {
        Config::from_pairs(parse_properties(text)?)
    }

    /// Sets one key (its row in the key table reads the value). Unknown keys are ignored (Venice
    /// hosts pass many); returns whether it was used.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match keys::find(key) {
            Some(row) => row.set(self, value.trim()).map(|()| true),
            None => Ok(false),
        }
    }

    /// Checks rules across keys, and every key's range as `set` enforces it (from the same rows),
    /// for hosts that fill fields directly.
    pub fn validate(&self) -> Result<()> {
        if self.ssl_enabled != self.acl_enabled {
            return Err(Error::config(format!(
                "Blob transfer manager is not supported without SSL and ACL enabled (blob.transfer.ssl.enabled={}, \
                 blob.transfer.acl.enabled={}): set both blob.transfer.ssl.enabled=true and \
                 blob.transfer.acl.enabled=true (or neither, for plaintext on loopback or with vbt.allow.plaintext=true)",
                self.ssl_enabled, self.acl_enabled
            )));
        }
        for row in keys::KEYS {
            row.check(self)?;
        }
        self.validate_discovery()
    }

    /// The chosen discovery source has what it needs (checked again for fields set directly).
    fn validate_discovery(&self) -> Result<()> {
        let d = &self.discovery;
        let missing = |key: &str, kind: &str| Error::config(format!("vbt.discovery={kind} needs {key}"));
        if d.kind != DiscoveryKind::Host && self.client_port.or(self.server_port).is_none() {
            return Err(Error::config(
                "vbt.discovery finds host names only (as Venice's discovery does): set davinci.p2p.blob.transfer.client.port \
                 (or the server port) to the port the peers' senders listen on",
            ));
        }
        match d.kind {
            DiscoveryKind::Host => {}
            DiscoveryKind::Router => {
                let url = d.router_url.as_deref().ok_or_else(|| missing("vbt.discovery.router.url", "router"))?;
                router_url("vbt.discovery.router.url", url)?;
            }
            DiscoveryKind::Helix => {
                let zk = d.zk_address.as_deref().ok_or_else(|| missing("vbt.discovery.zookeeper.address", "helix"))?;
                nonempty("vbt.discovery.zookeeper.address", zk)?;
                let cluster = d.helix_cluster.as_deref().ok_or_else(|| missing("vbt.discovery.helix.cluster", "helix"))?;
                helix_cluster("vbt.discovery.helix.cluster", cluster)?;
            }
        }
        Ok(())
    }
}
