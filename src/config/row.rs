//! A row of the key table ([`super::keys`]): a key's name, how its value is read (its family and
//! range) and which field it sets, its default as users see it, and its documentation line. What
//! a row does with them: set its field from a string, check its field as a host may have filled
//! it directly, and describe itself as a row of the README's table.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::fields::Config;
use super::values::{boolean, capped, duration, ip, nonempty, port, ranged, rate, size_bytes, Unit, MAX_DURATION, MAX_SIZE};
use crate::error::{Error, Result};

/// One configuration key: everything written about it, once.
pub struct Key {
    pub name: &'static str,
    /// How the value is read, its range, and the field it sets.
    pub value: Value,
    /// The default, as the README shows it.
    pub default: &'static str,
    /// The README's one-line documentation.
    pub doc: &'static str,
}

/// A field read and written as an integer, whatever its Rust type (the range is checked before
/// `set`, so the conversion never truncates); `get` is `None` when the field is unset.
#[derive(Clone, Copy)]
pub struct Num {
    pub get: fn(&Config) -> Option<u64>,
    pub set: fn(&mut Config, u64),
}

/// A field of type `T`.
#[derive(Clone, Copy)]
pub struct Field<T> {
    pub get: fn(&Config) -> T,
    pub set: fn(&mut Config, T),
}

/// The families of values, each with its range and its field. Integers are read as Java's
/// `Long.parseLong` reads them (see [`super::values`]).
pub enum Value {
    /// A port `min..=65535`, or -1 for unset.
    Port { min: u16, field: Field<Option<u16>> },
    /// Whole `unit`s from `min`; above 10 years means 10 years.
    Duration { unit: Unit, min: u64, field: Field<Duration> },
    /// A limit: an integer from `min`; above `cap` means `cap`.
    Count { min: u64, cap: u64, field: Num },
    /// An integer in `lo..=hi`; anything else is an error.
    Int { lo: u64, hi: u64, field: Num },
    /// Bytes per second; 0, and 2^53 and up, mean unlimited (stored as 0).
    Rate(Num),
    /// Venice's size syntax (`2097152`, `512KB`), from 1 byte; above 2^31−1 means 2^31−1.
    Size(Num),
    /// `true` or `false`, in any case.
    Bool(fn(&mut Config, bool)),
    /// A non-empty path.
    Path(fn(&mut Config, PathBuf)),
    /// An IPv4 or IPv6 address.
    Ip(fn(&mut Config, IpAddr)),
    /// Text; `values` says what it is. Empty is refused unless `empty_ok`.
    Text { values: &'static str, empty_ok: bool, set: fn(&mut Config, String) },
    /// Anything else: what it accepts (as shown), its parser and setter (given the key's name),
    /// and a check of the field as a host may have set it directly.
    Other { values: &'static str, set: fn(&mut Config, &str, &str) -> Result<()>, check: Option<fn(&Config, &str) -> Result<()>> },
}

impl Key {
    /// Reads `v` (already trimmed) and sets the field; a value outside the range is an error naming
    /// the key, the value and the range.
    pub fn set(&self, c: &mut Config, v: &str) -> Result<()> {
        let key = self.name;
        match &self.value {
            Value::Port { min, field } => (field.set)(c, port(key, v, *min)?),
            Value::Duration { unit, min, field } => (field.set)(c, duration(key, v, *unit, *min)?),
            Value::Count { min, cap, field } => (field.set)(c, capped(key, v, *min, *cap)?),
            Value::Int { lo, hi, field } => (field.set)(c, ranged(key, v, *lo, *hi)?),
            Value::Rate(field) => (field.set)(c, rate(key, v)?),
            Value::Size(field) => (field.set)(c, size_bytes(key, v)?),
            Value::Bool(set) => set(c, boolean(key, v)?),
            Value::Path(set) => set(c, PathBuf::from(nonempty(key, v)?)),
            Value::Ip(set) => set(c, ip(key, v)?),
            Value::Text { empty_ok, set, .. } => set(c, if *empty_ok { v } else { nonempty(key, v)? }.to_string()),
            Value::Other { set, .. } => set(c, key, v)?,
        }
        Ok(())
    }

    /// Checks the field as a host may have filled it directly, against the range `set` enforces.
    /// A duration whose minimum is not 0 need only be non-zero (500 ms for a key counted in
    /// seconds is fine from Rust).
    pub fn check(&self, c: &Config) -> Result<()> {
        let key = self.name;
        let within = |field: &Num, lo: u64, hi: u64| match (field.get)(c) {
            Some(n) if !(lo..=hi).contains(&n) => Err(Error::config(format!("{key} is {n}: must be in {lo}..={hi}"))),
            _ => Ok(()),
        };
        match &self.value {
            Value::Port { min, field } => match (field.get)(c) {
                Some(p) if p < *min => Err(Error::config(format!("{key} is {p}: must be in {min}..=65535"))),
                _ => Ok(()),
            },
            Value::Duration { min, field, .. } => {
                let (d, positive) = ((field.get)(c), *min > 0);
                if d > MAX_DURATION || (positive && d.is_zero()) {
                    let low = if positive { "greater than zero" } else { "from zero" };
                    return Err(Error::config(format!("{key} is {d:?}: must be {low} up to {MAX_DURATION:?} (10 years)")));
                }
                Ok(())
            }
            Value::Count { min: lo, cap: hi, field } | Value::Int { lo, hi, field } => within(field, *lo, *hi),
            Value::Size(field) => within(field, 1, MAX_SIZE),
            Value::Other { check: Some(check), .. } => check(c, key),
            Value::Rate(_) | Value::Bool(_) | Value::Path(_) | Value::Ip(_) | Value::Text { .. } | Value::Other { .. } => Ok(()),
        }
    }

    /// What the key accepts, as the README's `values` column says it.
    pub fn values(&self) -> String {
        match &self.value {
            Value::Port { min, .. } => format!("{min}..=65535, or -1"),
            Value::Duration { min, .. } => format!("{min}.., cap 10 years"),
            Value::Count { min, cap, .. } => format!("{min}.., cap {cap}"),
            Value::Int { lo, hi, .. } => format!("{lo}..={hi}"),
            Value::Rate(_) => "0.. (0 and ≥ 2^53 = unlimited)".into(),
            Value::Size(_) => format!("1 B.., `512KB` style allowed (B, KB, MB, GB); above {MAX_SIZE} = {MAX_SIZE}"),
            Value::Bool(_) => "true, false".into(),
            Value::Path(_) => "non-empty path".into(),
            Value::Ip(_) => "IPv4 or IPv6 address".into(),
            Value::Text { values, .. } | Value::Other { values, .. } => values.to_string(),
        }
    }

    /// The key's row of the README's table.
    pub fn markdown(&self) -> String {
        format!("| `{}` | {} | {} | {} |", self.name, self.default, self.values(), self.doc)
    }
}
