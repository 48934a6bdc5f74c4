//! The `vbt` command end to end: gen → serve → fetch → verify, as an operator runs it.

use crate::common::*;

#[test]
fn gen_serve_fetch_verify() {
    let (a, b) = (tempdir(), tempdir());
    let part = ["--store", "cliStore", "--version", "2", "--partition", "1"];
    let out = vbt(&[&["gen", "--base-dir", &s(a.path()), "--size-mib", "4"][..], &part].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_server, addr) = serve(&["--base-dir", &s(a.path())]);

    let out = vbt(&[&["fetch", "--base-dir", &s(b.path()), "--peer", &addr][..], &part].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["peer"], addr.as_str());
    assert!(r["bytes"].as_u64().unwrap() > 4_000_000);
    use base64::Engine;
    let offset = base64::engine::general_purpose::STANDARD.decode(r["offset_record"].as_str().unwrap()).unwrap();
    assert_eq!(offset[..2], [24, 24], "magic 24, version 24: {r}");
    assert_eq!(out.stdout.iter().filter(|&&c| c == b'\n').count(), 1, "one line of JSON");

    let out = vbt(&[&["verify", "--base-dir", &s(b.path())][..], &part].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Every peer failing: exit status 1 and a message naming each peer's cause.
    let dead = dead_port();
    let c = tempdir();
    let out =
        vbt(&[&["fetch", "--base-dir", &s(c.path()), "--peer", &dead, "--peer", &addr, "--table-format", "PLAIN_TABLE"][..], &part]
            .concat());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&dead) && err.contains(&addr) && err.contains("Table format mismatch"), "{err}");
}

#[test]
fn serve_a_fixed_snapshot_directory() {
    let dir = tempdir();
    std::fs::write(dir.path().join("file1"), b"hello").unwrap();
    std::fs::write(dir.path().join("file2"), b"world").unwrap();
    std::fs::write(dir.path().join("or.bin"), [24, 24, 1, 2, 3, 4]).unwrap();
    std::fs::write(dir.path().join("svs.bin"), [25, 7, 5, 6, 7, 8]).unwrap();
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).unwrap();
    for f in ["file1", "file2"] {
        std::fs::rename(dir.path().join(f), snap.join(f)).unwrap();
    }
    let (_server, addr) = serve(&[
        "--snapshot-dir",
        &s(&snap),
        "--store",
        "myStore",
        "--version",
        "1",
        "--partition",
        "0",
        "--offset-record",
        &s(&dir.path().join("or.bin")),
        "--store-version-state",
        &s(&dir.path().join("svs.bin")),
    ]);
    // The stream a Java receiver gets is the one a Java sender sends.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    conn.write_all(&vector("java-receiver.request.bin")).unwrap();
    let want = vector("java-sender-2files.response.bin");
    let mut got = vec![0u8; want.len()];
    conn.read_exact(&mut got).unwrap();
    // Our order is by name (file1 first); Java's is listing order (file2 first here).
    let text = String::from_utf8_lossy(&got);
    assert!(text.find("filename=\"file1\"").unwrap() < text.find("filename=\"file2\"").unwrap());
    assert_eq!(got.len(), want.len());
    assert!(text.ends_with("HTTP/1.1 200 OK\r\nX-Blob-Transfer-Status: Completed\r\n\r\n"));
}

#[test]
fn bad_config_value_is_a_clear_error() {
    let a = tempdir();
    let out = vbt(&["serve", "--base-dir", &s(a.path()), "-D", "blob.transfer.max.concurrent.snapshot.user=lots"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("blob.transfer.max.concurrent.snapshot.user"), "{err}");
}

#[test]
fn demo_runs_in_plaintext_and_mutual_tls() {
    for extra in [&[][..], &["--tls"][..]] {
        let out = vbt(&[&["demo", "--size-mib", "8"][..], extra].concat());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("demo ok"), "{extra:?}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(if extra.is_empty() { "over plaintext" } else { "over mutual TLS" }));
    }
}

#[test]
fn fetch_several_partitions_at_once() {
    let (a, b) = (tempdir(), tempdir());
    for p in ["0", "1", "2"] {
        let out = vbt(&["gen", "--base-dir", &s(a.path()), "--store", "manyStore", "--version", "1", "--partition", p, "--size-mib", "2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (_server, addr) = serve(&["--base-dir", &s(a.path())]);
    let fetch = |dst: &str, parts: &[&str]| {
        let mut args = vec!["fetch", "--base-dir", dst, "--store", "manyStore", "--version", "1", "--peer", &addr];
        for p in parts {
            args.extend(["--partition", p]);
        }
        vbt(&args)
    };
    // 0-1 and 2, one of them given twice: three partitions, a line each, then the summary.
    let out = fetch(&s(b.path()), &["0-1", "2", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    for (i, l) in lines[..3].iter().enumerate() {
        assert_eq!(l["partition"], format!("manyStore_v1-{i}"));
        assert!(l["bytes"].as_u64().unwrap() > 1_000_000);
    }
    assert_eq!(lines[3]["summary"], true);
    assert_eq!((lines[3]["partitions"].as_u64(), lines[3]["failed"].as_u64()), (Some(3), Some(0)));
    assert_eq!(lines[3]["bytes"].as_u64().unwrap(), lines[..3].iter().map(|l| l["bytes"].as_u64().unwrap()).sum::<u64>());
    for p in ["0", "1", "2"] {
        let out = vbt(&["verify", "--base-dir", &s(b.path()), "--store", "manyStore", "--version", "1", "--partition", p]);
        assert!(out.status.success(), "{p}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // One partition the peer lacks: its own line says why, the others still install, exit 1.
    let c = tempdir();
    let out = fetch(&s(c.path()), &["1-3"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[2]["error"].as_str().unwrap().contains("404"), "{text}");
    assert_eq!(lines[3]["failed"].as_u64(), Some(1));
    assert_eq!(
        vbt(&["fetch", "--base-dir", &s(c.path()), "--store", "x", "--version", "1", "--partition", "3-1", "--peer", &addr]).status.code(),
        Some(1)
    );
}

/// A partition received by one process is served by the next without being hashed again: the
/// receiver kept its checksums in the state directory's ledger. Shown with a file changed in
/// place with its size and mtime put back (what a ledger cannot see): a new `vbt serve` announces
/// the kept checksum unread, and the receiver refuses the file. Once the mtime moves, the file
/// is hashed again and served as it now is.
#[test]
fn a_received_partition_is_served_by_another_process_from_its_kept_checksums() {
    use std::os::unix::fs::MetadataExt;
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let part = ["--store", "ledgerStore", "--version", "1", "--partition", "0"];
    assert!(vbt(&[&["gen", "--base-dir", &s(a.path()), "--size-mib", "4"][..], &part].concat()).status.success());
    let (first, addr) = serve(&["--base-dir", &s(a.path())]);
    let out = vbt(&[&["fetch", "--base-dir", &s(b.path()), "--peer", &addr][..], &part].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(first);

    let ledger = std::fs::read_to_string(b.path().with_extension("vbt").join("digests/ledgerStore_v1_0")).unwrap();
    let dir = b.path().join("ledgerStore_v1/ledgerStore_v1_0");
    // An SST the ledger has an entry for (a file written within 25 ms of the ledger is left out).
    let kept = |m: &std::fs::Metadata| ledger.lines().any(|l| l.split(' ').nth(2) == Some(&m.ino().to_string()));
    let sst = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst") && kept(&std::fs::metadata(p).unwrap()))
        .expect("an SST in the ledger");
    let meta = std::fs::metadata(&sst).unwrap();
    // Bytes inside a data block: the sender's RocksDB still opens the partition.
    let at = meta.len() / 4;
    let f = std::fs::OpenOptions::new().write(true).open(&sst).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"changed in place", at).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&sst).unwrap().mtime_nsec(), meta.mtime_nsec());

    let fetch = |addr: &str, extra: &[&str]| vbt(&[&["fetch", "--base-dir", &s(c.path()), "--peer", addr][..], &part, extra].concat());
    let (second, addr) = serve(&["--base-dir", &s(b.path())]);
    let out = fetch(&addr, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let name = sst.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!out.status.success() && err.contains(&format!("File checksum mismatch for file: {name}")), "{err}");
    assert!(!c.path().join("ledgerStore_v1").join("ledgerStore_v1_0").exists(), "nothing installed");

    drop(second);

    // The mtime moved: the next sender hashes it again and sends it as it is (RocksDB would
    // refuse the changed SST). (A sender reuses its snapshot's checksums while it keeps the
    // snapshot, blob.transfer.snapshot.retention.time.in.min, as Venice's does.)
    std::fs::File::options().write(true).open(&sst).unwrap().set_modified(std::time::SystemTime::now()).unwrap();
    let (_third, addr) = serve(&["--base-dir", &s(b.path())]);
    let out = fetch(&addr, &["-D", "vbt.receive.verify.rocksdb=false"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_files(&dir.join(".snapshot_files"), &c.path().join("ledgerStore_v1/ledgerStore_v1_0"));
}
