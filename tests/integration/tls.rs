//! Mutual TLS as Venice does it, with certificates generated at test time from two CAs.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::testcerts::{write_node, Ca};
use venice_blob_transfer::{ErrorKind, Node, PartitionId, TableFormat};

use crate::common::*;

struct Pki {
    dir: TestDir,
    ca1: Ca,
    ca2: Ca,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempdir();
        let (ca1, ca2) = (Ca::new("vbt test CA one").unwrap(), Ca::new("vbt test CA two").unwrap());
        std::fs::write(dir.path().join("trust1.pem"), &ca1.pem).unwrap();
        std::fs::write(dir.path().join("trust-both.pem"), format!("{}{}", ca1.pem, ca2.pem)).unwrap();
        Pki { dir, ca1, ca2 }
    }
    /// Config pairs for a node named `name` with a certificate from `ca` trusting `trust`.
    fn node(&self, name: &str, ca: &Ca, expired: bool, trust: &str) -> Vec<(String, String)> {
        let cert = ca.issue(name, expired).unwrap();
        write_node(self.dir.path(), name, &cert, &self.dir.path().join(trust)).unwrap()
    }
}

/// A TLS client that trusts `ca` and has no certificate of its own.
fn client_without_certificate(ca: &Ca) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn with(base: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    v
}

fn tls_sender(base: &Path, pairs: Vec<(String, String)>) -> (Node, String) {
    let b = base.display().to_string();
    let mut pairs = with(&pairs, &[("vbt.base.dir", &b), ("davinci.p2p.blob.transfer.server.port", "0")]);
    pairs.push(("vbt.server.bind.address".into(), "127.0.0.1".into()));
    let node = Node::new(venice_blob_transfer::Config::from_pairs(pairs).unwrap()).unwrap();
    let addr = node.start_server().unwrap().to_string();
    (node, addr)
}

fn tls_receiver(base: &Path, pairs: Vec<(String, String)>) -> Node {
    let b = base.display().to_string();
    Node::new(venice_blob_transfer::Config::from_pairs(with(&pairs, &[("vbt.base.dir", &b)])).unwrap()).unwrap()
}

fn partition(base: &Path) -> PartitionId {
    let id = PartitionId::new("tlsStore", 1, 0).unwrap();
    gen_partition(base, &id, TableFormat::BlockBased, 2000);
    id
}

#[test]
fn same_issuer_peers_transfer() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    let (_s, addr) = tls_sender(a.path(), pki.node("a", &pki.ca1, false, "trust1.pem"));
    let b = tempdir();
    let out = tls_receiver(b.path(), pki.node("b", &pki.ca1, false, "trust1.pem")).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 2000);
}

#[test]
fn other_issuer_is_refused_on_both_sides() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    // The sender trusts both CAs, so the chain is fine, but Venice's ACL wants its own issuer: 403.
    let (sender, addr) = tls_sender(a.path(), pki.node("a", &pki.ca1, false, "trust-both.pem"));
    let c = tempdir();
    let err = tls_receiver(c.path(), pki.node("c", &pki.ca2, false, "trust-both.pem"))
        .bootstrap_blocking(request(&id, &[addr.clone()]))
        .unwrap_err();
    assert!(err.message().contains("403 Forbidden: refused by its ACL"), "{err}");
    assert!(!Layout::new(c.path()).partition_dir(&id).exists() && !Layout::new(c.path()).temp_dir(&id).exists());
    assert_eq!(sender.snapshot_info(&id), None, "refused before any snapshot work");
    // A receiver that trusts only its own CA refuses a sender from the other CA.
    let d = tempdir();
    let (_s2, addr2) = tls_sender(a.path(), pki.node("c2", &pki.ca2, false, "trust-both.pem"));
    let err = tls_receiver(d.path(), pki.node("b", &pki.ca1, false, "trust1.pem")).bootstrap_blocking(request(&id, &[addr2])).unwrap_err();
    assert!(err.message().contains("TLS handshake"), "{err}");
}

#[test]
fn expired_certificate_is_refused() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    let (_s, addr) = tls_sender(a.path(), pki.node("a", &pki.ca1, false, "trust1.pem"));
    let b = tempdir();
    let err = tls_receiver(b.path(), pki.node("old", &pki.ca1, true, "trust1.pem")).bootstrap_blocking(request(&id, &[addr])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllPeersFailed);
    assert!(!Layout::new(b.path()).partition_dir(&id).exists());
}

#[test]
fn client_without_certificate_and_plaintext_client_get_no_answer() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    let (_s, addr) = tls_sender(a.path(), pki.node("a", &pki.ca1, false, "trust1.pem"));
    // Plaintext request to the TLS port: closed without a response.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(&venice_blob_transfer::tools::request::encode_request(&id, TableFormat::BlockBased, 24, 7)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(!String::from_utf8_lossy(&got).contains("HTTP/1.1"), "no HTTP answer: {got:?}");
    // A TLS client that trusts the sender but has no certificate: the handshake fails.
    let cfg = client_without_certificate(&pki.ca1);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answered = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let Ok(mut tls) = connector.connect(name, tcp).await else { return false };
        // TLS 1.3: the server's verdict on our (missing) certificate arrives after the handshake.
        let _ = tls.write_all(&venice_blob_transfer::tools::request::encode_request(&id, TableFormat::BlockBased, 24, 7)).await;
        let mut buf = Vec::new();
        let _ = tls.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).contains("HTTP/1.1 200")
    });
    assert!(!answered, "a client without a certificate must not get the partition");
}

use rustls_pki_types::pem::PemObject;

#[test]
fn tls_receiver_against_plaintext_sender_fails_cleanly_then_next_peer() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    let (_plain, plain_addr) = sender(a.path(), TableFormat::BlockBased, &[]);
    let plain_addr = plain_addr.to_string();
    let a2 = tempdir();
    partition(a2.path());
    let (_tls, tls_addr) = tls_sender(a2.path(), pki.node("a", &pki.ca1, false, "trust1.pem"));
    let b = tempdir();
    let out = tls_receiver(b.path(), pki.node("b", &pki.ca1, false, "trust1.pem"))
        .bootstrap_blocking(request(&id, &[plain_addr.clone(), tls_addr.clone()]))
        .unwrap();
    assert_eq!(out.peer, tls_addr);
    assert_eq!(out.failed_peers[0].peer, plain_addr);
    assert!(out.failed_peers[0].error.message().contains("TLS handshake"), "{:?}", out.failed_peers);
}

#[test]
fn tls_settings_are_checked_when_the_node_is_made() {
    let on = [("blob.transfer.ssl.enabled", "true"), ("blob.transfer.acl.enabled", "true")];
    let err = venice_blob_transfer::Config::from_pairs(on).and_then(Node::new).err().unwrap();
    assert!(err.message().contains("vbt.ssl.cert.chain.path"), "{err}");
    // TLS without the ACL (or the reverse) is refused with Venice's rule.
    let err = venice_blob_transfer::Config::from_pairs([on[0]]).err().unwrap();
    assert!(err.message().contains("not supported without SSL and ACL"), "{err}");

    // Each missing or unparseable file: the error names the key and the path.
    let pki = Pki::new();
    let good = pki.node("a", &pki.ca1, false, "trust1.pem");
    let garbage = pki.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let garbage = garbage.display().to_string();
    for key in ["vbt.ssl.cert.chain.path", "vbt.ssl.private.key.path", "vbt.ssl.trust.ca.path"] {
        for path in ["/nonexistent/file.pem", garbage.as_str()] {
            let err = venice_blob_transfer::Config::from_pairs(with(&good, &[(key, path)]))
                .and_then(Node::new)
                .err()
                .unwrap_or_else(|| panic!("{key}={path} was accepted"));
            assert!(err.message().contains(key) && err.message().contains(path), "{key}={path}: {err}");
        }
    }
}

#[test]
fn subject_allow_list_narrows_the_acl() {
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    // Same issuer, but only "CN=allowed" is on the sender's list.
    let mut sender_pairs = pki.node("a", &pki.ca1, false, "trust1.pem");
    sender_pairs.push(("vbt.ssl.acl.allowed.subjects".into(), "CN=allowed; CN=also-allowed".into()));
    let (_s, addr) = tls_sender(a.path(), sender_pairs);
    let refused = tempdir();
    let err = tls_receiver(refused.path(), pki.node("other", &pki.ca1, false, "trust1.pem"))
        .bootstrap_blocking(request(&id, &[addr.clone()]))
        .unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
    let ok = tempdir();
    let out =
        tls_receiver(ok.path(), pki.node("allowed", &pki.ca1, false, "trust1.pem")).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert!(out.files > 0);
}

/// Venice's receivers check each candidate before asking it (`getConnectableHosts`): they connect
/// and close at once. Against a TLS sender their Java client has sent its hello by then, and
/// closing it sends a `user_canceled` warning alert, then `close_notify`. Like a plaintext probe
/// (and a bare connect to the TLS port), that is logged at DEBUG only; so is rustls's own warning
/// about the alert. Before, a vbt sender logged a WARN and an INFO line for every Venice node
/// that considered fetching from it.
#[test]
fn a_connectivity_check_during_the_handshake_is_logged_at_debug_only() {
    use std::io::BufRead;
    let pki = Pki::new();
    let a = tempdir();
    let logs = tempdir();
    let log_path = logs.path().join("serve.log");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vbt"));
    cmd.env("VBT_LOG", "debug").arg("serve").args(["--base-dir", &s(a.path())]);
    for (k, v) in pki.node("a", &pki.ca1, false, "trust1.pem") {
        cmd.args(["-D", &format!("{k}={v}")]);
    }
    let mut child = cmd
        .args(["-D", "davinci.p2p.blob.transfer.server.port=0", "-D", "vbt.server.bind.address=127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let server = KillOnDrop(child);
    let addr = serde_json::from_str::<serde_json::Value>(&line).unwrap()["listening"].as_str().unwrap().to_string();

    // What Java's SSLEngine (JDK 17) puts on the wire when its channel closes right after
    // connecting: the ClientHello, then, for closeOutbound() during the handshake, a user_canceled
    // warning alert and close_notify, in plaintext (15 03 03 00 02 01 5a, 15 03 03 00 02 01 00).
    let cfg = client_without_certificate(&pki.ca1);
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut hello = Vec::new();
    rustls::ClientConnection::new(Arc::new(cfg), name).unwrap().write_tls(&mut hello).unwrap();
    let mut probe = std::net::TcpStream::connect(&addr).unwrap();
    let java_probe = probe.local_addr().unwrap().to_string();
    probe.write_all(&hello).unwrap();
    probe.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 90, 0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0]).unwrap();
    probe.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = probe.read_to_end(&mut Vec::new());
    // A bare connect and close.
    let bare_probe = std::net::TcpStream::connect(&addr).unwrap().local_addr().unwrap().to_string();

    let log = || std::fs::read_to_string(&log_path).unwrap();
    let seen = |who: &str| log().lines().any(|l| l.contains(&format!("{who}: closed during the TLS handshake")));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(seen(&java_probe) && seen(&bare_probe)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
    let log = log();
    for who in [&java_probe, &bare_probe] {
        assert!(
            log.lines()
                .any(|l| l.starts_with("[DEBUG venice_blob_transfer::server]")
                    && l.contains(&format!("{who}: closed during the TLS handshake"))),
            "{who}: {log}"
        );
        assert!(!log.lines().any(|l| l.contains(who.as_str()) && !l.starts_with("[DEBUG")), "{who}: {log}");
    }
    assert!(!log.lines().any(|l| l.starts_with("[WARN") || l.starts_with("[ERROR")), "{log}");
    // rustls still says what it saw, one level down.
    assert!(log.lines().any(|l| l.starts_with("[DEBUG rustls::") && l.contains("UserCanceled")), "{log}");
}

/// Issue #18: the idle limit bounds every idle period. A TLS peer that finishes its handshake and
/// then says nothing, or one that never starts the handshake, is closed after
/// `vbt.server.idle.timeout.ms` (1 s here), not after the 30 s request-head limit.
#[test]
fn idle_limit_bounds_silence_before_and_after_the_handshake() {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use std::time::{Duration, Instant};
    let pki = Pki::new();
    let a = tempdir();
    partition(a.path());
    let (_s, addr) = tls_sender(a.path(), with(&pki.node("a", &pki.ca1, false, "trust1.pem"), &[("vbt.server.idle.timeout.ms", "1000")]));
    let client = pki.node("b", &pki.ca1, false, "trust1.pem");
    let file = |k: &str| client.iter().find(|(a, _)| a == k).unwrap().1.clone();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(file("vbt.ssl.cert.chain.path")).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(file("vbt.ssl.private.key.path")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca1.pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use tokio::io::AsyncReadExt;
        // A generous bound: the point is 1 s against the 30 s head limit (and 20 s handshake limit).
        let bound = Duration::from_secs(10);
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp).await.expect("the handshake succeeds");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(bound, tls.read(&mut buf)).await;
        assert!(r.is_ok(), "a silent TLS connection was still open after {bound:?}");
        assert!(!matches!(r, Ok(Ok(n)) if n > 0), "the sender said something to a silent peer");
        eprintln!("silent after the handshake: closed after {:?}", started.elapsed());

        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let started = Instant::now();
        let r = tokio::time::timeout(bound, tcp.read(&mut buf)).await;
        assert!(r.is_ok(), "a connection that never started its handshake was still open after {bound:?}");
        eprintln!("silent before the handshake: closed after {:?}", started.elapsed());
    });
}

/// Issue #20: the TLS identity handed over in memory (as a JVM host reads it from any KeyStore)
/// instead of files: the same mutual TLS and ACL as with files; an empty identity is refused.
#[test]
fn an_identity_handed_over_in_memory_transfers_like_files() {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let pki = Pki::new();
    let a = tempdir();
    let id = partition(a.path());
    let (_s, addr) = tls_sender(a.path(), pki.node("a", &pki.ca1, false, "trust1.pem"));
    let files = pki.node("b", &pki.ca1, false, "trust1.pem");
    let file = |k: &str| files.iter().find(|(a, _)| a == k).unwrap().1.clone();
    let der = |path: String| -> Vec<Vec<u8>> { CertificateDer::pem_file_iter(path).unwrap().map(|c| c.unwrap().to_vec()).collect() };
    let key = match PrivateKeyDer::from_pem_file(file("vbt.ssl.private.key.path")).unwrap() {
        PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        other => panic!("test key is not PKCS#8: {other:?}"),
    };
    let material = venice_blob_transfer::TlsMaterial {
        key_pkcs8: key,
        chain: der(file("vbt.ssl.cert.chain.path")),
        trusted: der(file("vbt.ssl.trust.ca.path")),
    };
    let b = tempdir();
    let base = b.path().display().to_string();
    let on = [("vbt.base.dir", base.as_str()), ("blob.transfer.ssl.enabled", "true"), ("blob.transfer.acl.enabled", "true")];
    let mut cfg = venice_blob_transfer::Config::from_pairs(on).unwrap();
    cfg.tls.material = Some(material.clone());
    let out = Node::new(cfg).unwrap().bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert!(out.files > 0);
    let mut cfg = venice_blob_transfer::Config::from_pairs(on).unwrap();
    cfg.tls.material = Some(venice_blob_transfer::TlsMaterial { trusted: Vec::new(), ..material });
    let err = Node::new(cfg).err().expect("an identity without trusted CAs is refused");
    assert!(err.message().contains("no trusted certificate"), "{err}");
}

/// Resume inside a file over mutual TLS: the files in flight at a cut go on from their bytes on
/// the receiver's disk, the sender sending the rest through rustls from the offset.
#[test]
fn a_cut_inside_files_over_tls_goes_on_from_their_bytes() {
    const BIG: usize = 4 << 20;
    let pki = Pki::new();
    let src = tempdir();
    crate::common::files_snapshot(src.path(), 4, BIG, 5);
    let total = 4 * BIG as u64;
    let id = PartitionId::new("tlsCut", 1, 0).unwrap();
    let sender_pairs = pki.node("a", &pki.ca1, false, "trust1.pem");
    let extra: Vec<(&str, &str)> = sender_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (_s, addr) = snapshot_sender(src.path(), &id, &extra);
    let proxy = crate::resume::Proxy::start(addr, total / 2, false);
    let dst = tempdir();
    let pairs = with(&pki.node("b", &pki.ca1, false, "trust1.pem"), &[("vbt.receive.verify.rocksdb", "false")]);
    // The cut on one stream, so that it falls inside a file for sure (resume.rs says why).
    let one = with(&pairs, &[("vbt.receive.streams", "1")]);
    tls_receiver(dst.path(), one).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap_err();
    // What the cut left: whole files and the started ones, each with its bytes on disk.
    let temp = Layout::new(dst.path()).temp_dir(&id);
    let sizes: Vec<u64> =
        entries(&temp).iter().filter(|n| n.ends_with(".sst")).map(|n| std::fs::metadata(temp.join(n)).unwrap().len()).collect();
    assert!(sizes.iter().any(|&l| l > 0 && l < BIG as u64), "the cut fell inside a file: {sizes:?}");
    proxy.phase.store(crate::resume::PASS, std::sync::atomic::Ordering::SeqCst);
    let out = tls_receiver(dst.path(), pairs).bootstrap_blocking(request(&id, &[proxy.addr.clone()])).unwrap();
    assert_eq!((out.resumed_bytes, out.bytes + out.resumed_bytes), (sizes.iter().sum(), total), "{out:?}");
    for n in entries(src.path()) {
        assert!(std::fs::read(src.path().join(&n)).unwrap() == std::fs::read(out.partition_dir.join(&n)).unwrap(), "{n} differs");
    }
}
