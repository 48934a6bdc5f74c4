//! The admin endpoint on two real nodes over loopback: /metrics scraped during a throttled
//! transfer (and checked by `promtool`), /health through a graceful stop, /transfers' JSON.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::common::*;
use venice_blob_transfer::{Node, PartitionId, TableFormat};

/// About 6 MB: a few seconds at the 2 MB/s the tests throttle to.
const RECORDS: u64 = 6000;
const LIMIT: &str = "2000000";

/// One HTTP/1.1 request; returns (status, headers, body).
fn http(addr: SocketAddr, method: &str, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: vbt\r\n{accept}Connection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {raw:?}"));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line: {head}"));
    (status, head.to_string(), body.to_string())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "GET", path, None);
    (status, body)
}

fn metrics(node: &Node) -> String {
    let (status, body) = get(node.admin_addr().expect("admin endpoint on"), "/metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample `name` whose labels include every one of `labels` (0 if absent).
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name && labels.iter().all(|want| rest.contains(want))
        })
        .map(|(_, v)| v.parse::<f64>().unwrap())
        .sum()
}

/// `promtool check metrics` on `text`. scripts/test installs Debian's `prometheus` (which ships
/// promtool) and sets VBT_REQUIRE_PROMTOOL, so there a missing promtool fails the test.
fn promtool_accepts(text: &str) {
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("VBT_REQUIRE_PROMTOOL").is_none() => {
            eprintln!("SKIPPED promtool check: promtool not runnable ({e}); `apt-get install prometheus` or run scripts/test");
            return;
        }
        Err(e) => panic!("promtool is required here (VBT_REQUIRE_PROMTOOL): {e}"),
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics refused the exposition:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn admin() -> (&'static str, &'static str) {
    ("vbt.admin.port", "0")
}

#[test]
fn scrape_during_a_throttled_transfer_sees_bytes_and_in_flight_move() {
    let a = tempdir();
    let id = PartitionId::new("scraped", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, RECORDS);
    // Both ends throttled: loopback's socket buffers hold megabytes, so a sender limited only
    // by its receiver could be done long before the receiver is.
    let (snd, addr) = sender(
        a.path(),
        TableFormat::BlockBased,
        &[admin(), ("cluster.name", "venice-c1"), ("vbt.node.role", "server"), ("blob.transfer.service.write.limit.bytes.per.sec", LIMIT)],
    );
    let b = tempdir();
    let rcv = receiver(
        b.path(),
        TableFormat::BlockBased,
        &[admin(), ("cluster.name", "venice-c1"), ("vbt.node.role", "server"), ("blob.transfer.client.read.limit.bytes.per.sec", LIMIT)],
    );
    let before = metrics(&rcv);
    assert_eq!(value(&before, "vbt_transfers_in_flight", &["direction=\"receive\""]), 0.0, "{before}");
    assert_eq!(value(&before, "vbt_throttle_limit_bytes_per_second", &["direction=\"receive\""]), 2e6, "{before}");

    let op = rcv.bootstrap(request(&id, &[addr.to_string()])).unwrap();
    let received = |t: &str| {
        value(t, "ingestion_blob_transfer_bytes_received_total", &["venice_store_name=\"scraped\"", "venice_cluster_name=\"venice-c1\""])
    };
    // In flight, some bytes in; then, still in flight, more bytes: the counter moves while the
    // transfer runs, not only at its end.
    let mut first = 0.0;
    assert!(
        eventually(Duration::from_secs(60), || {
            let t = metrics(&rcv);
            first = received(&t);
            value(&t, "vbt_transfers_in_flight", &["direction=\"receive\""]) == 1.0 && first > 0.0
        }),
        "never saw the transfer in flight with bytes received"
    );
    let mut in_flight_json = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(60), || {
            let t = metrics(&rcv);
            let (_, j) = get(rcv.admin_addr().unwrap(), "/transfers");
            in_flight_json = serde_json::from_str(&j).unwrap();
            value(&t, "vbt_transfers_in_flight", &["direction=\"receive\""]) == 1.0 && received(&t) > first
        }),
        "bytes received did not move while the transfer was in flight (first {first})"
    );
    let running = &in_flight_json["in_flight"][0];
    assert_eq!((running["direction"].as_str(), running["state"].as_str()), (Some("receive"), Some("running")), "{in_flight_json}");
    assert_eq!(running["peer"], addr.to_string());
    assert!(running["bytes_done"].as_u64().unwrap() > 0, "{running}");
    // The sender's row moves within a file, not only when one ends: its bytes grow while its
    // count of finished files stays put.
    let sender_row = || {
        let (_, j) = get(snd.admin_addr().unwrap(), "/transfers");
        let j: serde_json::Value = serde_json::from_str(&j).unwrap();
        let row = &j["in_flight"][0];
        (row["files_done"].as_u64(), row["bytes_done"].as_u64().unwrap_or(0))
    };
    let mut seen = sender_row();
    assert!(
        eventually(Duration::from_secs(30), || {
            let now = sender_row();
            let moved = now.0.is_some() && now.0 == seen.0 && now.1 > seen.1;
            seen = now;
            moved
        }),
        "the sender's row did not move within a file"
    );
    let sending = metrics(&snd);
    assert_eq!(value(&sending, "vbt_transfers_in_flight", &["direction=\"send\""]), 1.0, "{sending}");
    promtool_accepts(&sending);
    promtool_accepts(&metrics(&rcv));

    let out = op.wait().unwrap();
    // The sender's task ends its row after COMPLETE is flushed, which the receiver may have read
    // (and installed after) first: wait for the row among the finished ones.
    assert!(eventually(Duration::from_secs(10), || !snd.transfers().1.is_empty()), "the sender's transfer never ended");
    let (r, s) = (metrics(&rcv), metrics(&snd));
    promtool_accepts(&r);
    promtool_accepts(&s);
    let store = "venice_store_name=\"scraped\"";
    assert_eq!(received(&r), out.bytes as f64);
    assert_eq!(value(&r, "vbt_transfers_in_flight", &["direction=\"receive\""]), 0.0);
    let ok = "venice_response_status_code_category=\"success\"";
    assert_eq!(
        value(&r, "ingestion_blob_transfer_request_count_total", &[store, ok, "venice_blob_transfer_sender_source=\"venice_server\""]),
        1.0,
        "{r}"
    );
    assert_eq!(value(&r, "ingestion_blob_transfer_response_count_total", &[store, ok]), 1.0, "{r}");
    assert_eq!(value(&r, "ingestion_blob_transfer_time_count", &[store]), 1.0, "{r}");
    assert_eq!(value(&r, "vbt_transfers_by_checksum_total", &["direction=\"receive\"", out.checksum]), 1.0, "{r}");
    assert_eq!(
        value(&s, "ingestion_blob_transfer_bytes_sent_total", &[store, "venice_cluster_name=\"venice-c1\""]),
        out.bytes as f64,
        "{s}"
    );
    assert_eq!(value(&s, "vbt_transfers_in_flight", &["direction=\"send\""]), 0.0, "{s}");
    assert_eq!(value(&s, "vbt_snapshots_total", &[store, "event=\"created\""]), 1.0, "{s}");

    // /transfers after the end: both sides list it as done, with totals and the checksum.
    for (node, direction) in [(&rcv, "receive"), (&snd, "send")] {
        let (status, body) = get(node.admin_addr().unwrap(), "/transfers");
        assert_eq!(status, 200);
        let j: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(j["in_flight"].as_array().unwrap().len(), 0, "{j}");
        let t = &j["finished"][0];
        assert_eq!(t["direction"], direction, "{j}");
        assert_eq!((t["store"].as_str(), t["version"].as_i64(), t["partition"].as_i64()), (Some("scraped"), Some(1), Some(0)));
        assert_eq!(t["state"], "done", "{j}");
        assert_eq!(t["bytes_done"].as_u64(), Some(out.bytes), "{j}");
        assert_eq!(t["files_done"].as_u64(), Some(out.files as u64), "{j}");
        assert_eq!(t["checksum"], out.checksum, "{j}");
        for key in ["peer", "files_total", "bytes_total", "percent", "rate_bytes_per_second", "elapsed_seconds", "eta_seconds", "error"] {
            assert!(t.get(key).is_some(), "{key} missing: {t}");
        }
    }
    // The sender knew its totals from the start.
    let (_, body) = get(snd.admin_addr().unwrap(), "/transfers");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["finished"][0]["bytes_total"].as_u64(), Some(out.bytes));
    assert_eq!(j["finished"][0]["percent"].as_f64(), Some(100.0));
}

#[test]
fn health_turns_503_when_a_graceful_stop_begins() {
    let a = tempdir();
    let id = PartitionId::new("stopping", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, RECORDS);
    let (snd, addr) = sender(a.path(), TableFormat::BlockBased, &[admin(), ("blob.transfer.service.write.limit.bytes.per.sec", LIMIT)]);
    let admin_addr = snd.admin_addr().unwrap();
    let (status, body) = get(admin_addr, "/health");
    assert_eq!(status, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((j["status"].as_str(), j["server"].as_str()), (Some("ok"), Some(addr.to_string().as_str())));

    let b = tempdir();
    let rcv = receiver(b.path(), TableFormat::BlockBased, &[]);
    let op = rcv.bootstrap(request(&id, &[addr.to_string()])).unwrap();
    assert!(eventually(Duration::from_secs(30), || snd.active_transfers() == 1), "the transfer never started");
    std::thread::scope(|scope| {
        let stop = scope.spawn(|| snd.stop_server(Duration::from_secs(120)));
        // While the transfer drains, the endpoint still answers, with 503.
        let mut seen = (0, String::new());
        assert!(
            eventually(Duration::from_secs(30), || {
                seen = get(admin_addr, "/health");
                seen.0 == 503
            }),
            "health never turned 503 during the stop: {seen:?}"
        );
        assert!(seen.1.contains("\"stopping\""), "{}", seen.1);
        assert_eq!(stop.join().unwrap(), 0, "the transfer finished within the grace period");
    });
    op.wait().expect("a graceful stop lets the transfer finish");
    assert_eq!(get(admin_addr, "/health").0, 503, "stopped is not healthy");
    drop(snd);
    assert!(TcpStream::connect(admin_addr).is_err(), "the endpoint stops with the node");
}

#[test]
fn refusals_and_failures_are_counted_by_cause() {
    let a = tempdir();
    let id = PartitionId::new("refused", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 100);
    // A sender admitting no transfer: every request gets 429.
    let (snd, addr) = sender(a.path(), TableFormat::BlockBased, &[admin(), ("blob.transfer.max.concurrent.snapshot.user", "0")]);
    let b = tempdir();
    let rcv = receiver(b.path(), TableFormat::BlockBased, &[admin()]);
    let err = rcv.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap_err();
    assert_eq!(err.kind(), venice_blob_transfer::ErrorKind::AllPeersFailed, "{err}");
    let (s, r) = (metrics(&snd), metrics(&rcv));
    assert_eq!(value(&s, "vbt_admissions_refused_total", &[]), 1.0, "{s}");
    let store = "venice_store_name=\"refused\"";
    assert_eq!(value(&r, "vbt_peer_failures_total", &[store, "cause=\"peer_status\""]), 1.0, "{r}");
    assert_eq!(
        value(&r, "ingestion_blob_transfer_request_count_total", &[store, "venice_response_status_code_category=\"fail\""]),
        1.0,
        "{r}"
    );
    assert!(!r.contains("venice_blob_transfer_sender_source"), "no vbt.node.role, no sender_source label: {r}");
    assert_eq!(
        value(&r, "ingestion_blob_transfer_response_count_total", &[store, "venice_response_status_code_category=\"fail\""]),
        1.0,
        "{r}"
    );
    assert_eq!(
        value(
            &r,
            "ingestion_blob_transfer_version_topic_fallback_count_total",
            &[store, "venice_blob_transfer_fallback_reason=\"all_hosts_failed\""]
        ),
        1.0,
        "{r}"
    );
    let (_, body) = get(rcv.admin_addr().unwrap(), "/transfers");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["finished"][0]["state"], "failed", "{j}");
    assert!(j["finished"][0]["error"].as_str().unwrap().contains("429"), "{j}");
    promtool_accepts(&s);
    promtool_accepts(&r);
}

#[test]
fn endpoint_is_off_by_default_and_answers_only_its_paths() {
    let a = tempdir();
    assert!(receiver(a.path(), TableFormat::BlockBased, &[]).admin_addr().is_none(), "off unless vbt.admin.port is set");
    let node = receiver(a.path(), TableFormat::BlockBased, &[admin()]);
    let addr = node.admin_addr().unwrap();
    assert!(addr.ip().is_loopback(), "loopback by default: {addr}");
    assert_eq!(get(addr, "/nope").0, 404);
    assert_eq!(http(addr, "POST", "/metrics", None).0, 405);
    let (status, head, body) = http(addr, "GET", "/metrics", Some("application/openmetrics-text; version=1.0.0"));
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: application/openmetrics-text"), "{head}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    let (_, head, body) = http(addr, "GET", "/metrics", None);
    assert!(head.to_ascii_lowercase().contains("text/plain; version=0.0.4"), "{head}");
    assert!(!body.contains("# EOF"), "{body}");
    // A port in use is an error naming the key.
    let port = addr.port().to_string();
    let b = tempdir();
    let err = Node::new(config(&[("vbt.base.dir", &b.path().display().to_string()), ("vbt.admin.port", &port)])).err().unwrap();
    assert!(err.message().contains("vbt.admin.port"), "{err}");
}
