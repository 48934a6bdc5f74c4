//! The configuration's tests: Venice's defaults and keys, every key of the table against Java's
//! values, the rules across keys, and the README's table in step with the key table.

use std::path::PathBuf;
use std::time::Duration;

use super::row::{Key, Value};
use super::values::Unit;
use super::*;
use crate::protocol::TableFormat;

#[test]
fn defaults_match_venice() {
    let c = Config::default();
    assert_eq!(c.max_concurrent_snapshot_users, 30);
    assert_eq!(c.snapshot_retention, Duration::from_secs(3600));
    assert_eq!(c.receive_max_timeout, Duration::from_secs(1200));
    assert_eq!(c.max_chunk_size, 2 << 20);
    assert_eq!(c.server_port, None);
}

#[test]
fn parses_venice_keys_and_ignores_unknown() {
    let c = Config::from_pairs([
        ("davinci.p2p.blob.transfer.server.port", "7000"),
        ("blob.transfer.max.chunk.size.bytes", "512KB"),
        ("rocksdb.plain.table.format.enabled", "true"),
        ("some.unrelated.venice.key", "whatever"),
        ("data.base.path", "/data"),
    ])
    .unwrap();
    assert_eq!(c.server_port, Some(7000));
    assert_eq!(c.max_chunk_size, 512 * 1024);
    assert_eq!(c.table_format, TableFormat::PlainTable);
    assert_eq!(c.base_dir, Some(PathBuf::from("/data/rocksdb")));
}

#[test]
fn bad_values_name_the_key() {
    for (k, v) in [
        ("davinci.p2p.blob.transfer.server.port", "70000"),
        ("blob.transfer.max.concurrent.snapshot.user", "-3"),
        ("rocksdb.plain.table.format.enabled", "yes"),
        ("blob.receive.max.timeout.in.min", "0"),
        ("blob.transfer.max.chunk.size.bytes", "lots"),
        ("blob.transfer.acl.enabled", "true"),
        ("blob.transfer.client.read.limit.bytes.per.sec", "-1"),
    ] {
        let e = Config::from_pairs([(k, v)]).unwrap_err();
        assert!(e.message().contains(k), "{k}: {e}");
    }
}

#[test]
fn server_and_switch_keys() {
    let d = Config::default();
    assert_eq!(d.request_head_timeout, Duration::from_secs(30));
    assert_eq!(d.max_connections, None);
    assert_eq!(d.shutdown_grace, Duration::from_secs(30));
    assert!(!d.allow_plaintext && d.manager_enabled);
    let c = Config::from_pairs([
        ("vbt.server.request.head.timeout.ms", "1500"),
        ("vbt.server.max.connections", "64"),
        ("vbt.server.shutdown.grace.ms", "0"),
        ("vbt.allow.plaintext", "true"),
        ("blob.transfer.manager.enabled", "false"),
    ])
    .unwrap();
    assert_eq!(c.request_head_timeout, Duration::from_millis(1500));
    assert_eq!(c.max_connections, Some(64));
    assert_eq!(c.shutdown_grace, Duration::ZERO);
    assert!(c.allow_plaintext && !c.manager_enabled);
    for (k, v) in [("vbt.server.request.head.timeout.ms", "0"), ("vbt.server.max.connections", "0")] {
        let e = Config::from_pairs([(k, v)]).unwrap_err();
        assert!(e.message().contains(k), "{k}: {e}");
    }
}

/// How a numeric key reads a value, computed here independently of the parser.
#[derive(Clone, Copy)]
enum Family {
    /// `min..=65535`, -1 = unset.
    Port(i128),
    /// At least `min`; above `cap` means `cap`.
    Limit(i128, i128),
    /// `lo..=hi`, else an error.
    Strict(i128, i128),
    /// Bytes/s; 0 and 2^53 up mean unlimited (0).
    Rate,
    /// Venice's size syntax, 1.., clamped to i32::MAX.
    Size,
    /// Whole units (ms per unit), at least `min`, clamped to 10 years.
    Millis(i128, i128),
}
use Family::*;

const MS: i128 = 1;
const S: i128 = 1000;
const MIN: i128 = 60_000;

/// Every numeric key of the table, the family the test reads its values with (from the row's
/// range), and its row, which reads the field back (`None` = unset).
fn numeric_keys() -> Vec<(&'static str, Family, &'static Value)> {
    let numeric = |k: &'static Key| {
        let family = match &k.value {
            Value::Port { min, .. } => Port(i128::from(*min)),
            Value::Count { min, cap, .. } => Limit(i128::from(*min), i128::from(*cap)),
            Value::Int { lo, hi, .. } => Strict(i128::from(*lo), i128::from(*hi)),
            Value::Rate(_) => Rate,
            Value::Size(_) => Size,
            Value::Duration { unit: Unit::Millis, min, .. } => Millis(MS, i128::from(*min)),
            Value::Duration { unit: Unit::Seconds, min, .. } => Millis(S, i128::from(*min)),
            Value::Duration { unit: Unit::Minutes, min, .. } => Millis(MIN, i128::from(*min)),
            _ => return None,
        };
        Some((k.name, family, &k.value))
    };
    keys::KEYS.iter().filter_map(numeric).collect()
}

/// A numeric field as the test compares it: durations in milliseconds, `None` = unset.
fn read(value: &Value, c: &Config) -> Option<i128> {
    match value {
        Value::Port { field, .. } => (field.get)(c).map(i128::from),
        Value::Duration { field, .. } => Some((field.get)(c).as_millis() as i128),
        Value::Count { field, .. } | Value::Int { field, .. } | Value::Rate(field) | Value::Size(field) => (field.get)(c).map(i128::from),
        _ => unreachable!("not a numeric key"),
    }
}

/// What `value` must mean for `family`: `Err(())` for an error naming the key.
fn expected(family: Family, value: &str) -> std::result::Result<Option<i128>, ()> {
    const TEN_YEARS_MS: i128 = 10 * 365 * 24 * 3600 * 1000;
    let (value, mult) = match (family, value.strip_suffix("KB")) {
        (Size, Some(n)) => (n, 1024),
        _ => (value, 1),
    };
    // Java's Long.parseLong: anything else, or beyond a long, is refused.
    let n = value.parse::<i64>().map_err(|_| ())? as i128;
    match family {
        Port(_) if n == -1 => Ok(None),
        Port(min) => (min..=65535).contains(&n).then_some(Some(n)).ok_or(()),
        Limit(min, cap) => (n >= min).then_some(Some(n.min(cap))).ok_or(()),
        Strict(lo, hi) => (lo..=hi).contains(&n).then_some(Some(n)).ok_or(()),
        Rate if n >= 1 << 53 => Ok(Some(0)),
        Rate => (n >= 0).then_some(Some(n)).ok_or(()),
        Size => (n >= 1).then_some(Some((n * mult).min(i32::MAX as i128))).ok_or(()),
        Millis(unit, min) => (n >= min).then_some(Some((n * unit).min(TEN_YEARS_MS))).ok_or(()),
    }
}

#[test]
fn every_numeric_key_has_a_range_and_never_panics() {
    let values = [
        "9223372036854775807",
        "-1",
        "abc",
        "12345678901234567890",
        "70000",
        "0",
        "512KB",
        "",
        "+5",
        " 7 ",
        "1 000",
        "0x10",
        "2.5",
        "-9223372036854775808",
        "9007199254740992",
        "9007199254740991",
        "300",
    ];
    let keys = numeric_keys();
    assert!(keys.len() >= 39, "the numeric keys went missing from the table: {}", keys.len());
    for (key, family, row) in keys {
        for value in values {
            let got = Config::from_pairs([(key, value)]);
            match (expected(family, value.trim()), got) {
                (Ok(want), Ok(c)) => assert_eq!(read(row, &c), want, "{key}={value:?}"),
                (Err(()), Err(e)) => {
                    let m = e.message();
                    assert!(m.contains(key), "{key}={value:?}: {m}");
                    assert!(m.contains(&format!("{:?}", value.trim())), "{key}={value:?}: {m}");
                    assert!(m.contains("expected"), "{key}={value:?}: names no range: {m}");
                }
                (want, got) => panic!("{key}={value:?}: expected {want:?}, got {got:?}"),
            }
        }
    }
}

/// Every row is found by `set` under its name, once, and reads as one row of the README.
#[test]
fn every_key_is_one_row() {
    let mut names: Vec<&str> = keys::KEYS.iter().map(|k| k.name).collect();
    for k in keys::KEYS {
        assert!(!k.name.is_empty() && !k.name.contains(char::is_whitespace), "{:?}", k.name);
        assert!(std::ptr::eq(keys::find(k.name).unwrap(), k), "{} has two rows", k.name);
        for text in [k.default, k.doc, k.values().as_str()] {
            assert!(!text.is_empty() && !text.contains(['|', '\n']), "{}: {text:?} breaks its README row", k.name);
        }
        // Used whatever the value, or refused naming the key: never ignored as unknown.
        for v in ["", "1", "true", "x"] {
            match Config::default().set(k.name, v) {
                Ok(used) => assert!(used, "{} was ignored", k.name),
                Err(e) => assert!(e.message().contains(k.name), "{}={v:?}: {e}", k.name),
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), keys::KEYS.len(), "a key has two rows");
}

/// The default the README shows is the default: where it is a value the key reads, setting it
/// changes nothing; where it is not (`unset`, `—`, `min(cores, 4)`), it reads as no number.
#[test]
fn shown_defaults_are_the_defaults() {
    let default = format!("{:?}", Config::default());
    let mut values = 0;
    for k in keys::KEYS {
        if matches!(k.value, Value::Path(_) | Value::Text { .. } | Value::Other { .. }) {
            continue;
        }
        let mut c = Config::default();
        match k.set(&mut c, k.default) {
            Ok(()) => {
                values += 1;
                assert_eq!(format!("{c:?}"), default, "{} = {:?} is not the default", k.name, k.default);
            }
            Err(_) => assert!(!k.default.starts_with(|c: char| c.is_ascii_digit()), "{}: default {:?} does not read", k.name, k.default),
        }
    }
    assert!(values >= 40, "{values}");
}

/// The README's configuration table is [`config_table_markdown`], row for row.
#[test]
fn readme_table_follows_the_key_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = config_table_markdown();
    let section = readme.find("\n## Configuration\n").expect("README.md has a Configuration section");
    let header = want.lines().next().unwrap();
    let start = section + readme[section..].find(&format!("\n{header}\n")).expect("the Configuration section has the key table") + 1;
    let end = readme[start..].find("\n\n").map_or(readme.len(), |i| start + i + 1);
    let got = &readme[start..end];
    if got == want {
        return;
    }
    if std::env::var("VBT_UPDATE_README").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}{want}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    let first = match got.lines().zip(want.lines()).find(|(g, w)| g != w) {
        Some((g, w)) => format!("README {g:?}, table {w:?}"),
        None => format!("README has {} lines, the table {}", got.lines().count(), want.lines().count()),
    };
    panic!(
        "README.md's configuration table differs from the key table in src/config/keys.rs ({first}). \
         Regenerate it with `VBT_UPDATE_README=1 cargo test --lib config::tests::readme` and commit \
         README.md, or paste this block over the README's table:\n{want}"
    );
}

#[test]
fn validate_checks_fields_set_directly() {
    let c = Config { adaptive_interval: Duration::MAX, ..Config::default() };
    assert!(c.validate().unwrap_err().message().contains("refresh.interval"));
    let c = Config { worker_threads: 0, ..Config::default() };
    assert!(c.validate().unwrap_err().message().contains("vbt.runtime.worker.threads"));
    let c = Config { max_concurrent_receives: usize::MAX, ..Config::default() };
    assert!(c.validate().unwrap_err().message().contains("receive.replicas"));
    Config::default().validate().unwrap();
}

#[test]
fn ssl_and_acl_go_together() {
    let cases = [("true", "true", true), ("false", "false", true), ("true", "false", false), ("false", "true", false)];
    for (ssl, acl, ok) in cases {
        let got = Config::from_pairs([("blob.transfer.ssl.enabled", ssl), ("blob.transfer.acl.enabled", acl)]);
        match got {
            Ok(_) => assert!(ok, "ssl={ssl} acl={acl} must be refused"),
            Err(e) => {
                assert!(!ok, "ssl={ssl} acl={acl}: {e}");
                assert!(e.message().contains("not supported without SSL and ACL"), "{e}");
                assert!(e.message().contains("vbt.allow.plaintext"), "{e}");
            }
        }
    }
}

#[test]
fn venice_ssl_keys() {
    let c = Config::from_pairs([
        ("ssl.enabled", "false"),
        ("ssl.keystore.location", "/etc/venice/node.p12"),
        ("ssl.keystore.password", "ks-secret"),
        ("ssl.keystore.type", "pkcs12"),
        ("ssl.key.password", "key-secret"),
        ("ssl.truststore.location", "/etc/venice/trust.p12"),
        ("ssl.truststore.password", "ts-secret"),
        ("ssl.truststore.type", "jks"),
        ("ssl.keymanager.algorithm", "SunX509"),
    ])
    .unwrap();
    let t = &c.tls;
    assert_eq!(t.node_ssl_enabled, Some(false));
    assert!(!c.ssl_enabled, "ssl.enabled does not switch blob transfer's TLS");
    assert_eq!(t.keystore, Some(PathBuf::from("/etc/venice/node.p12")));
    assert_eq!(t.truststore, Some(PathBuf::from("/etc/venice/trust.p12")));
    assert_eq!((t.keystore_type.as_deref(), t.truststore_type.as_deref()), (Some("PKCS12"), Some("JKS")));
    assert_eq!(t.keystore_password.as_deref(), Some("ks-secret"));
    assert_eq!(t.key_password.as_deref(), Some("key-secret"));
    assert_eq!(t.truststore_password.as_deref(), Some("ts-secret"));
    // No password reaches Debug output (configs are logged; errors may show them).
    let shown = format!("{c:?}");
    assert!(!shown.contains("secret") && shown.contains("node.p12"), "{shown}");
    // An empty password is a password; an empty location is not a file.
    assert_eq!(Config::from_pairs([("ssl.keystore.password", "")]).unwrap().tls.keystore_password.as_deref(), Some(""));
    for (k, v) in [
        ("ssl.enabled", "yes"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.truststore.type", "PKCS#12"),
        ("ssl.keystore.location", ""),
        ("ssl.truststore.location", " "),
    ] {
        let e = Config::from_pairs([(k, v)]).unwrap_err();
        assert!(e.message().contains(k), "{k}={v:?}: {e}");
    }
    let mut c = Config::default();
    c.tls.truststore_type = Some("BKS".into());
    assert!(c.validate().unwrap_err().message().contains("ssl.truststore.type"));
}

#[test]
fn operator_keys() {
    let d = Config::default();
    assert_eq!((d.admin_port, d.cluster_name.as_deref(), d.node_role), (None, None, None), "admin endpoint off by default");
    assert!(d.admin_bind_address.is_loopback());
    let c = Config::from_pairs([
        ("cluster.name", "venice-cluster0"),
        ("vbt.node.role", "DaVinci"),
        ("vbt.admin.port", "9100"),
        ("vbt.admin.bind.address", "::1"),
    ])
    .unwrap();
    assert_eq!(c.cluster_name.as_deref(), Some("venice-cluster0"));
    assert_eq!(c.node_role, Some(NodeRole::DaVinci));
    assert_eq!(c.admin_port, Some(9100));
    assert_eq!(c.admin_bind_address.to_string(), "::1");
    for (k, v) in [("vbt.node.role", "router"), ("vbt.admin.bind.address", "localhost"), ("cluster.name", " ")] {
        let e = Config::from_pairs([(k, v)]).unwrap_err();
        assert!(e.message().contains(k), "{k}={v:?}: {e}");
    }
}

#[test]
fn properties_text() {
    let c = Config::from_properties("# comment\nvbt.base.dir = /x\n! other\nblob.transfer.max.concurrent.snapshot.user: 4\n").unwrap();
    assert_eq!(c.base_dir, Some(PathBuf::from("/x")));
    assert_eq!(c.max_concurrent_snapshot_users, 4);
}

#[test]
fn state_dir_and_client_origin_keys() {
    let d = Config::default();
    assert_eq!((d.state_dir.as_deref(), d.accept_client_requests, d.client_capacity_percent), (None, false, 25));
    let c = Config::from_pairs([
        ("vbt.state.dir", " /var/lib/vbt/state "),
        ("server.blob.transfer.accept.client.request.enabled", "TRUE"),
        ("server.blob.transfer.client.capacity.percent", "50"),
    ])
    .unwrap();
    assert_eq!(c.state_dir, Some(PathBuf::from("/var/lib/vbt/state")));
    assert!(c.accept_client_requests);
    assert_eq!(c.client_capacity_percent, 50);
    let c = Config::from_pairs([("server.blob.transfer.client.capacity.percent", "0")]).unwrap();
    assert_eq!(c.client_capacity_percent, 0, "0 = no share for client-origin requests");
    assert_eq!(Config::from_pairs([("server.blob.transfer.client.capacity.percent", "+7")]).unwrap().client_capacity_percent, 7);
    // Each bad value is an error naming the key, the value and the range.
    let percent = "server.blob.transfer.client.capacity.percent";
    let accept = "server.blob.transfer.accept.client.request.enabled";
    for (k, v, range) in [
        (percent, "51", "0..=50"),
        (percent, "-1", "0..=50"),
        (percent, "100", "0..=50"),
        (percent, "25%", "0..=50"),
        (percent, "2.5", "0..=50"),
        (percent, "", "0..=50"),
        (percent, "9223372036854775807", "0..=50"),
        (percent, "9223372036854775808", "beyond a Java long"),
        (accept, "yes", "true or false"),
        (accept, "1", "true or false"),
        (accept, "", "true or false"),
        ("vbt.state.dir", "", "must not be empty"),
        ("vbt.state.dir", "   ", "must not be empty"),
    ] {
        let e = Config::from_pairs([(k, v)]).unwrap_err();
        let m = e.message();
        assert!(m.contains(k), "{k}={v:?}: {m}");
        assert!(m.contains(&format!("{:?}", v.trim())), "{k}={v:?}: {m}");
        assert!(m.contains(range), "{k}={v:?}: {m}");
    }
    // A host filling the field directly gets the same range from validate.
    let c = Config { client_capacity_percent: 51, ..Config::default() };
    let e = c.validate().unwrap_err();
    assert!(e.message().contains(percent) && e.message().contains("0..=50"), "{e}");
}
