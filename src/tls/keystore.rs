//! Java's stores as vbt reads them: PKCS12 only (a JKS or JCEKS file gets the command that
//! converts it), opened with the configured password; errors name the key and the path, never a
//! password.

use std::path::Path;

use p12_keystore::Pkcs12ImportPolicy;

use super::tls_err;
use crate::error::{Error, Result};

/// One Java store named by `key`; errors name the key and the path, never a password.
pub(super) struct Store<'a> {
    pub(super) path: &'a Path,
    pub(super) key: &'a str,
    pub(super) password_key: &'a str,
    pub(super) type_key: &'a str,
}

/// The first four bytes of a JKS file and of a JCEKS file.
const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

impl Store<'_> {
    pub(super) fn err(&self, what: impl std::fmt::Display) -> Error {
        tls_err(format!("{}={}: {what}", self.key, self.path.display()))
    }

    /// The store's bytes. As Java's dual-format keystores do, the file decides its format, not
    /// `type_key`; a JKS or JCEKS file gets the command that converts it.
    pub(super) fn read(&self, declared: Option<&str>) -> Result<Vec<u8>> {
        let data = std::fs::read(self.path).map_err(|e| self.err(format!("reading the store: {e}")))?;
        let java = match data.get(..4) {
            Some(m) if m == JKS_MAGIC => Some("JKS"),
            Some(m) if m == JCEKS_MAGIC => Some("JCEKS"),
            _ => None,
        };
        if let Some(kind) = java {
            let p = self.path.display();
            return Err(self.err(format!(
                "this is a {kind} store, which vbt does not read; convert it to PKCS12 with \
                 `keytool -importkeystore -srckeystore {p} -srcstoretype {kind} -destkeystore {p}.p12 -deststoretype PKCS12`, \
                 then set {}={p}.p12 and {}=PKCS12",
                self.key, self.type_key
            )));
        }
        if declared == Some("JKS") {
            log::info!(
                "TLS: {}=JKS, but {}={} is PKCS12: reading it as PKCS12, as Java does",
                self.type_key,
                self.key,
                self.path.display()
            );
        }
        Ok(data)
    }

    /// Opens PKCS12 `data` with `password` (unset = empty, as Java's null password).
    pub(super) fn open(&self, data: &[u8], password: Option<&str>) -> std::result::Result<p12_keystore::KeyStore, Opened> {
        use p12_keystore::error::Error as P12;
        p12_keystore::KeyStore::from_pkcs12(data, password.unwrap_or(""), Pkcs12ImportPolicy::Strict).map_err(|e| {
            match e {
                // The MAC is keyed by the password; a store without one fails to decrypt instead.
                P12::MacError(_) | P12::UnpadError | P12::Pkcs5Error(_) => {
                    let unset = if password.is_none() { format!(" ({} is not set)", self.password_key) } else { String::new() };
                    Opened::WrongPassword(self.err(format!("wrong password: {} does not open it{unset}", self.password_key)))
                }
                e => Opened::Other(self.err(format!("not a PKCS12 store vbt can read: {e}"))),
            }
        })
    }
}

/// Why a store did not open: a wrong password (worth another try) or anything else.
pub(super) enum Opened {
    WrongPassword(Error),
    Other(Error),
}

impl Opened {
    pub(super) fn into_error(self) -> Error {
        match self {
            Opened::WrongPassword(e) | Opened::Other(e) => e,
        }
    }
}
