//! How a value is read: the parsers every key's row in [`super::keys`] uses, and the limits they
//! clamp to. Every integer is read as Java's `Long.parseLong` reads it (optional sign, decimal
//! digits, -2^63..2^63-1); anything else is an error naming the key, the value and the range.
//! Java's "unlimited" (`9223372036854775807`) means the cap wherever a limit goes.

use std::time::Duration;

use crate::error::{Error, Result};

/// Longest duration any key holds: 10 years, i.e. no limit in practice. Larger values (Java's
/// `Long.MAX_VALUE` included) are clamped to it, so a consumer can add it to `Instant::now()`, even
/// twice, on every platform (tokio caps its own sleeps at 30 years: 100 overflowed on FreeBSD).
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Byte rates at or above this many bytes/s mean unlimited, as 0 does. 2^53 B/s (8 PiB/s) is
/// beyond any network, every rate below it is exact in f64, and base × the adaptive maximum fits
/// in u64. So Java's `Long.MAX_VALUE` ("unlimited") means unlimited (the throttle's rule too).
pub const UNLIMITED_RATE: u64 = 1 << 53;

/// Largest concurrency cap (snapshot users, receive replicas, connections); larger values mean
/// this many, which is unlimited in practice (each transfer holds a socket and open files).
pub const MAX_CONCURRENCY: u64 = 1_000_000;

/// Most tokio worker threads (`vbt.runtime.worker.threads`).
pub const MAX_WORKER_THREADS: u64 = 256;

/// Largest adaptive step: one step of 180 points already spans the whole 20–200 % range.
pub const MAX_ADAPTIVE_STEP_PERCENT: u64 = 180;

/// Most finished transfers `/transfers` keeps (`vbt.admin.transfers.history`).
pub const MAX_ADMIN_HISTORY: u64 = 10_000;

/// Java's `Integer.MAX_VALUE`: sizes above it are clamped to it, as Venice does.
pub const MAX_SIZE: u64 = i32::MAX as u64;

/// The unit a duration key counts in (its name says which: `.ms`, `.in.seconds`, `.in.min`).
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    Millis,
    Seconds,
    Minutes,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Millis => "milliseconds",
            Unit::Seconds => "seconds",
            Unit::Minutes => "minutes",
        }
    }

    /// `n` of this unit (saturating), clamped to [`MAX_DURATION`].
    pub fn of(self, n: u64) -> Duration {
        let d = match self {
            Unit::Millis => Duration::from_millis(n),
            Unit::Seconds => Duration::from_secs(n),
            Unit::Minutes => Duration::from_secs(n.saturating_mul(60)),
        };
        d.min(MAX_DURATION)
    }
}

pub fn bad(key: &str, value: &str, why: &str) -> Error {
    Error::config(format!("invalid value {value:?} for {key}: {why}"))
}

/// A zone name: what `vbt.zone` and a peer's `@zone` accept.
pub fn zone<'a>(key: &str, v: &'a str) -> Result<&'a str> {
    if crate::client::peers::zone_ok(v) {
        Ok(v)
    } else {
        Err(bad(key, v, "must be 1 to 64 letters, digits, '-', '_' or '.'"))
    }
}

pub fn nonempty<'a>(key: &str, v: &'a str) -> Result<&'a str> {
    if v.is_empty() {
        Err(bad(key, v, "must not be empty"))
    } else {
        Ok(v)
    }
}

/// A Java long as `Long.parseLong` reads it (optional `+`/`-`, decimal digits); `expected`
/// describes the key's range for the error.
fn int(key: &str, v: &str, expected: &str) -> Result<i64> {
    v.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "beyond a Java long; ",
            _ => "",
        };
        bad(key, v, &format!("{why}expected {expected}"))
    })
}

/// An integer in `lo..=hi`; anything else is an error.
pub fn ranged(key: &str, v: &str, lo: u64, hi: u64) -> Result<u64> {
    let expected = format!("an integer in {lo}..={hi}");
    match int(key, v, &expected)? {
        n if n >= 0 && (lo..=hi).contains(&(n as u64)) => Ok(n as u64),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// An integer of at least `lo`; `expected` names the key's range in the error.
fn at_least(key: &str, v: &str, lo: u64, expected: &str) -> Result<u64> {
    match int(key, v, expected)? {
        n if n >= 0 && n as u64 >= lo => Ok(n as u64),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// A limit: an integer of at least `lo`; values above `cap` mean `cap`.
pub fn capped(key: &str, v: &str, lo: u64, cap: u64) -> Result<u64> {
    let expected = format!("an integer of at least {lo} (values above {cap} mean {cap})");
    Ok(at_least(key, v, lo, &expected)?.min(cap))
}

/// A port `min..=65535`, or -1 for unset (Venice's default).
pub fn port(key: &str, v: &str, min: u16) -> Result<Option<u16>> {
    let expected = format!("a port {min}..=65535, or -1 for unset");
    match int(key, v, &expected)? {
        -1 => Ok(None),
        n if (i64::from(min)..=65535).contains(&n) => Ok(Some(n as u16)),
        _ => Err(bad(key, v, &format!("expected {expected}"))),
    }
}

/// Bytes per second: 0 and anything from [`UNLIMITED_RATE`] up mean unlimited (stored as 0).
pub fn rate(key: &str, v: &str) -> Result<u64> {
    let n = at_least(key, v, 0, "bytes per second from 0 (0, or 2^53 and up, mean unlimited)")?;
    Ok(if n >= UNLIMITED_RATE { 0 } else { n })
}

/// A duration in whole `unit`s, at least `min`; anything above [`MAX_DURATION`] means it.
pub fn duration(key: &str, v: &str, unit: Unit, min: u64) -> Result<Duration> {
    let n = at_least(key, v, min, &format!("whole {} from {min} (values above 10 years mean 10 years)", unit.name()))?;
    Ok(unit.of(n))
}

pub fn boolean(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, v, "expected true or false")),
    }
}

/// An IP address (v4 or v6), as Rust's `IpAddr` reads it.
pub fn ip(key: &str, v: &str) -> Result<std::net::IpAddr> {
    v.parse().map_err(|_| bad(key, v, "expected an IP address"))
}

/// Venice's size syntax: a number with an optional `B`, `KB`, `MB`, `GB` suffix (powers of 1024),
/// at least 1 byte; sizes above Java's `Integer.MAX_VALUE` are clamped to it, as Venice does.
pub fn size_bytes(key: &str, v: &str) -> Result<u64> {
    let expected = "expected a size of at least 1 byte, such as 2097152 or 2MB (above 2147483647 means 2147483647)";
    let upper = v.to_ascii_uppercase();
    let (digits, mult) = [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        .iter()
        .find_map(|(suffix, m)| upper.strip_suffix(suffix).map(|d| (d.trim(), *m)))
        .unwrap_or((upper.as_str(), 1));
    match digits.parse::<i64>() {
        Ok(n) if n >= 1 => Ok((n as u64).saturating_mul(mult).min(MAX_SIZE)),
        _ => Err(bad(key, v, expected)),
    }
}

/// A Java keystore type name, compared as Java's `KeyStore.getInstance` does (case-insensitive);
/// the two Venice's `DefaultSSLFactory` accepts. Returned upper-case.
pub fn store_type(key: &str, v: &str) -> Result<String> {
    match v.to_ascii_uppercase().as_str() {
        t @ ("PKCS12" | "JKS") => Ok(t.to_string()),
        _ => Err(bad(key, v, "expected PKCS12 or JKS (vbt reads PKCS12; a JKS store must be converted)")),
    }
}

/// A router URL: `http://` or `https://`, a host, optionally a port and a path prefix; no query.
pub fn router_url(key: &str, v: &str) -> Result<hyper::Uri> {
    let expected = "expected http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH] (a Venice router)";
    let uri: hyper::Uri = v.parse().map_err(|e| bad(key, v, &format!("{e}; {expected}")))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri.host().is_some_and(|h| !h.is_empty());
    if !scheme_ok || !host_ok || uri.query().is_some() {
        return Err(bad(key, v, expected));
    }
    Ok(uri)
}

/// A Helix cluster name: one ZooKeeper path segment.
pub fn helix_cluster<'a>(key: &str, v: &'a str) -> Result<&'a str> {
    if v.is_empty() || v.contains('/') || v == "." || v == ".." {
        return Err(bad(key, v, "expected a Helix cluster name (one ZooKeeper path segment, no '/')"));
    }
    Ok(v)
}

/// Java-properties parsing, enough for the files hosts write: one `key=value` (or `key: value`,
/// or `key value`) per line, `#`/`!` comments, backslash line continuations.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            logical.push_str(stripped);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']).unwrap_or(entry.len());
        let key = entry[..split].trim();
        let rest = entry[split..].trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
        if key.is_empty() {
            return Err(Error::config(format!("properties line has no key: {entry:?}")));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}
