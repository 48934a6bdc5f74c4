//! TLS as a Venice node is configured: Java stores under Venice's `ssl.*` keys, generated at test
//! time by `openssl` and the JDK's `keytool` (RSA keys, as Venice's fleet uses), and interop with
//! Venice's TLS 1.2-only Java sender and TLS 1.3 Java receiver, played by rustls peers limited
//! the same way.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use venice_blob_transfer::tools::records;
use venice_blob_transfer::{Config, FixedSnapshot, Node, PartitionId, TableFormat};

use crate::common::*;

const PW: &str = "changeit";

/// The JDK's keytool: `$JAVA_HOME`, then the JDKs under /usr/lib/jvm, then `PATH`.
fn keytool() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin/keytool")).into_iter().collect();
    candidates.push("/usr/lib/jvm/java-17-openjdk-amd64/bin/keytool".into());
    if let Ok(rd) = std::fs::read_dir("/usr/lib/jvm") {
        candidates.extend(rd.flatten().map(|e| e.path().join("bin/keytool")));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| Command::new("keytool").arg("-help").output().ok().map(|_| PathBuf::from("keytool")))
        .expect("keytool not found: these tests need a JDK (openjdk-17-jdk-headless)")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Certificate authorities, node certificates and Java stores in one temp directory.
struct JavaPki {
    dir: TestDir,
}

impl JavaPki {
    fn new() -> JavaPki {
        JavaPki { dir: tempdir() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(self.dir.path());
        c
    }

    fn keytool(&self) -> Command {
        let mut c = Command::new(keytool());
        c.current_dir(self.dir.path());
        c
    }

    /// A self-signed RSA CA: `<name>.pem`, `<name>.key`.
    fn ca(&self, name: &str) {
        run(self.openssl().args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30"]).args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            &format!("/O=vbt test/CN=venice {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
    }

    /// Signs `<name>.csr` with `ca` into `<name>.pem`: a node certificate for client and server use.
    fn sign(&self, name: &str, ca: &str) {
        std::fs::write(
            self.path("node.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost\n",
        )
        .unwrap();
        let serial = format!("{}", fastrand::u64(1..u64::MAX / 2));
        run(self.openssl().args(["x509", "-req", "-days", "30", "-extfile", "node.ext", "-set_serial", &serial]).args([
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-out",
            &format!("{name}.pem"),
        ]));
    }

    /// An RSA node key and certificate from `ca` as PEM (`<name>.key`, `<name>.pem`), and a PKCS12
    /// keystore `<name>.p12` made by `openssl pkcs12 -export` (its defaults: PBES2/AES-256-CBC,
    /// HMAC-SHA256) holding the key, the certificate and the CA.
    fn openssl_node(&self, name: &str, ca: &str, password: &str) -> PathBuf {
        run(self.openssl().args(["req", "-new", "-newkey", "rsa:2048", "-nodes"]).args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]));
        self.sign(name, ca);
        run(self.openssl().args(["pkcs12", "-export", "-name", name]).args([
            "-in",
            &format!("{name}.pem"),
            "-inkey",
            &format!("{name}.key"),
            "-certfile",
            &format!("{ca}.pem"),
            "-out",
            &format!("{name}.p12"),
            "-passout",
            &format!("pass:{password}"),
        ]));
        self.path(&format!("{name}.p12"))
    }

    /// A keystore made the way a Java operator makes one: `keytool -genkeypair -storetype PKCS12`,
    /// a CSR signed by `ca`, the CA imported as a trusted entry and the signed reply imported.
    /// It holds a private-key entry and a trusted-certificate entry, so it serves as truststore too.
    fn keytool_node(&self, name: &str, ca: &str) -> PathBuf {
        let store = format!("{name}.p12");
        let common = ["-keystore", store.as_str(), "-storepass", PW];
        run(self
            .keytool()
            .args(["-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-validity", "30"])
            .args(["-dname", &format!("CN={name}"), "-storetype", "PKCS12"])
            .args(common));
        run(self.keytool().args(["-certreq", "-alias", name, "-file", &format!("{name}.csr")]).args(common));
        self.sign(name, ca);
        run(self.keytool().args(["-importcert", "-noprompt", "-alias", ca, "-file", &format!("{ca}.pem")]).args(common));
        run(self.keytool().args(["-importcert", "-alias", name, "-file", &format!("{name}.pem")]).args(common));
        self.path(&store)
    }

    /// A PKCS12 truststore of `cas` as trusted-certificate entries (keytool -importcert).
    fn truststore(&self, name: &str, cas: &[&str]) -> PathBuf {
        let store = format!("{name}.p12");
        for ca in cas {
            run(self.keytool().args(["-importcert", "-noprompt", "-storetype", "PKCS12", "-alias", ca]).args([
                "-file",
                &format!("{ca}.pem"),
                "-keystore",
                &store,
                "-storepass",
                PW,
            ]));
        }
        self.path(&store)
    }
}

/// A Venice node's SSL properties for blob transfer, keystore and truststore only (no vbt.ssl.*),
/// with a few of the other `ssl.*` keys a Venice node carries (ignored by vbt).
fn venice_ssl(keystore: &Path, truststore: &Path) -> Vec<(String, String)> {
    [
        ("blob.transfer.ssl.enabled", "true"),
        ("blob.transfer.acl.enabled", "true"),
        ("ssl.enabled", "true"),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", &s(keystore)),
        ("ssl.keystore.password", PW),
        ("ssl.key.password", PW),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.location", &s(truststore)),
        ("ssl.truststore.password", PW),
        ("ssl.keymanager.algorithm", "SunX509"),
        ("ssl.trustmanager.algorithm", "SunX509"),
        ("ssl.secure.random.implementation", "SHA1PRNG"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(base: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    v
}

/// What building a node from `pairs` says (parse and TLS setup), as text; "ok" if it built.
fn node_error(pairs: Vec<(String, String)>) -> String {
    match Config::from_pairs(pairs).and_then(Node::new) {
        Ok(_) => "ok".into(),
        Err(e) => e.message().to_string(),
    }
}

fn sender_node(base: &Path, pairs: Vec<(String, String)>) -> (Node, String) {
    let b = s(base);
    let pairs =
        with(&pairs, &[("vbt.base.dir", &b), ("davinci.p2p.blob.transfer.server.port", "0"), ("vbt.server.bind.address", "127.0.0.1")]);
    let node = Node::new(Config::from_pairs(pairs).unwrap()).unwrap();
    let addr = node.start_server().unwrap().to_string();
    (node, addr)
}

fn receiver_node(base: &Path, pairs: Vec<(String, String)>) -> Node {
    Node::new(Config::from_pairs(with(&pairs, &[("vbt.base.dir", &s(base))])).unwrap()).unwrap()
}

fn partition(base: &Path) -> PartitionId {
    let id = PartitionId::new("veniceSslStore", 1, 0).unwrap();
    gen_partition(base, &id, TableFormat::BlockBased, 1500);
    id
}

#[test]
fn same_issuer_pair_transfers_through_venice_ssl_keys_only() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    // The sender's keystore is openssl's, its truststore keytool's; the receiver's one keytool
    // store is its keystore and its truststore at once.
    let a_store = pki.openssl_node("a", "ca1", PW);
    let trust1 = pki.truststore("trust1", &["ca1"]);
    let b_store = pki.keytool_node("b", "ca1");
    let a = tempdir();
    let id = partition(a.path());
    let (_sender, addr) = sender_node(a.path(), venice_ssl(&a_store, &trust1));
    let b = tempdir();
    let out = receiver_node(b.path(), venice_ssl(&b_store, &b_store)).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 1500);
}

#[test]
fn other_issuer_is_refused() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    pki.ca("ca2");
    let trust_both = pki.truststore("trust-both", &["ca1", "ca2"]);
    let a_store = pki.openssl_node("a", "ca1", PW);
    let c_store = pki.openssl_node("c", "ca2", PW);
    let a = tempdir();
    let id = partition(a.path());
    // Both sides trust both CAs, so the chains verify; Venice's ACL wants the sender's own issuer.
    let (_sender, addr) = sender_node(a.path(), venice_ssl(&a_store, &trust_both));
    let c = tempdir();
    let err = receiver_node(c.path(), venice_ssl(&c_store, &trust_both))
        .bootstrap_blocking(request(&id, std::slice::from_ref(&addr)))
        .unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
    assert!(!Layout::new(c.path()).partition_dir(&id).exists());
    // A receiver whose truststore holds only its own CA refuses the sender in the handshake.
    let trust2 = pki.truststore("trust2", &["ca2"]);
    let d = tempdir();
    let err = receiver_node(d.path(), venice_ssl(&c_store, &trust2)).bootstrap_blocking(request(&id, &[addr])).unwrap_err();
    assert!(err.message().contains("TLS handshake"), "{err}");
}

/// Venice's own integration tests give every node one self-signed keystore as keystore and
/// truststore; Java then trusts the key entry's own certificate, and so does vbt.
#[test]
fn one_self_signed_store_as_keystore_and_truststore() {
    let pki = JavaPki::new();
    let store = pki.path("local.p12");
    run(pki
        .keytool()
        .args(["-genkeypair", "-alias", "localhost", "-keyalg", "RSA", "-keysize", "2048", "-validity", "30"])
        .args(["-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-storetype", "PKCS12"])
        .args(["-keystore", &s(&store), "-storepass", PW]));
    let a = tempdir();
    let id = partition(a.path());
    let (_sender, addr) = sender_node(a.path(), venice_ssl(&store, &store));
    let b = tempdir();
    let out = receiver_node(b.path(), venice_ssl(&store, &store)).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 1500);
}

#[test]
fn stores_read_and_errors_name_the_key() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    let ks = pki.openssl_node("a", "ca1", PW);
    let trust = pki.truststore("trust1", &["ca1"]);
    let good = venice_ssl(&ks, &trust);
    assert_eq!(node_error(good.clone()), "ok");

    // A store encrypted as JDK 8's keytool did (3DES, SHA-1 MAC) reads too.
    run(pki.openssl().args(["pkcs12", "-export", "-in", "a.pem", "-inkey", "a.key", "-out", "legacy.p12"]).args([
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-passout",
        &format!("pass:{PW}"),
    ]));
    assert_eq!(node_error(with(&good, &[("ssl.keystore.location", &s(&pki.path("legacy.p12")))])), "ok");

    // A wrong password names the key that holds it, and never the password.
    for (key, secret) in [("ssl.keystore.password", "wrong-ks-secret"), ("ssl.truststore.password", "wrong-ts-secret")] {
        let mut pairs = with(&good, &[(key, secret)]);
        if key == "ssl.keystore.password" {
            pairs.retain(|(k, _)| k != "ssl.key.password");
        }
        let e = node_error(pairs);
        assert!(e.contains("wrong password") && e.contains(key), "{key}: {e}");
        assert!(!e.contains(secret) && !e.contains(PW), "{key}: the error shows a password: {e}");
    }
    // PKCS12 has one password; one given only as ssl.key.password still opens the store.
    assert_eq!(node_error(with(&good, &[("ssl.keystore.password", "not-it")])), "ok");

    // Missing or unreadable files: the key and the path.
    let garbage = pki.path("garbage.p12");
    std::fs::write(&garbage, b"not a keystore at all").unwrap();
    for key in ["ssl.keystore.location", "ssl.truststore.location"] {
        for path in ["/nonexistent/store.p12".to_string(), s(&garbage)] {
            let e = node_error(with(&good, &[(key, &path)]));
            assert!(e.contains(key) && e.contains(&path), "{key}={path}: {e}");
        }
    }

    // A JKS store, as keytool -storetype JKS writes it: the exact command that converts it.
    let jks = pki.path("node.jks");
    run(pki
        .keytool()
        .args(["-genkeypair", "-alias", "n", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=n", "-storetype", "JKS"])
        .args(["-keystore", &s(&jks), "-storepass", PW, "-keypass", PW]));
    let j = s(&jks);
    let command = format!("keytool -importkeystore -srckeystore {j} -srcstoretype JKS -destkeystore {j}.p12 -deststoretype PKCS12");
    for (key, type_key) in [("ssl.keystore.location", "ssl.keystore.type"), ("ssl.truststore.location", "ssl.truststore.type")] {
        for declared in ["JKS", "PKCS12"] {
            let e = node_error(with(&good, &[(key, &j), (type_key, declared)]));
            assert!(e.contains(key) && e.contains(&command), "{key} ({type_key}={declared}): {e}");
        }
    }

    // The type names the format Java knows it by (any case); the file's own format decides, as
    // in Java, whose JKS keystores read PKCS12 files too.
    assert_eq!(node_error(with(&good, &[("ssl.keystore.type", "jks"), ("ssl.truststore.type", "pkcs12")])), "ok");
    for key in ["ssl.keystore.type", "ssl.truststore.type"] {
        let e = node_error(with(&good, &[(key, "PEM")]));
        assert!(e.contains(key) && e.contains("PKCS12"), "{key}: {e}");
    }

    // `openssl pkcs12 -export -nokeys` writes no trusted-certificate entry: Java trusts nothing in
    // it, and vbt says how to make one.
    run(pki.openssl().args(["pkcs12", "-export", "-nokeys", "-in", "ca1.pem", "-out", "plain.p12", "-passout", &format!("pass:{PW}")]));
    let e = node_error(with(&good, &[("ssl.truststore.location", &s(&pki.path("plain.p12")))]));
    assert!(e.contains("ssl.truststore.location") && e.contains("no trusted certificate") && e.contains("keytool -importcert"), "{e}");

    // Nothing to present or nothing to trust: the error names both ways to give it.
    let only = |drop: &str| good.iter().filter(|(k, _)| k != drop).cloned().collect::<Vec<_>>();
    let e = node_error(only("ssl.keystore.location"));
    assert!(e.contains("ssl.keystore.location") && e.contains("vbt.ssl.cert.chain.path"), "{e}");
    let e = node_error(only("ssl.truststore.location"));
    assert!(e.contains("ssl.truststore.location") && e.contains("vbt.ssl.trust.ca.path"), "{e}");

    // ssl.enabled is the node's general switch: a boolean, and it does not turn blob transfer's TLS on or off.
    let e = node_error(with(&good, &[("ssl.enabled", "yes")]));
    assert!(e.contains("ssl.enabled"), "{e}");
    assert_eq!(node_error(with(&good, &[("ssl.enabled", "false")])), "ok");
}

/// Both given: the explicit `vbt.ssl.*` PEM files win, each for its half.
#[test]
fn pem_files_win_over_stores() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    pki.ca("ca2");
    let a_store = pki.openssl_node("a", "ca1", PW);
    let trust1 = pki.truststore("trust1", &["ca1"]);
    let a = tempdir();
    let id = partition(a.path());
    let (_sender, addr) = sender_node(a.path(), venice_ssl(&a_store, &trust1));
    // The receiver's stores are from the other CA (the sender would refuse that certificate, and
    // the receiver would not trust the sender); its PEM files are from the sender's CA.
    let c_store = pki.openssl_node("c", "ca2", PW);
    let trust2 = pki.truststore("trust2", &["ca2"]);
    pki.openssl_node("b", "ca1", PW);
    let pem = with(
        &venice_ssl(&c_store, &trust2),
        &[
            ("vbt.ssl.cert.chain.path", &s(&pki.path("b.pem"))),
            ("vbt.ssl.private.key.path", &s(&pki.path("b.key"))),
            ("vbt.ssl.trust.ca.path", &s(&pki.path("ca1.pem"))),
        ],
    );
    let b = tempdir();
    let out = receiver_node(b.path(), pem).bootstrap_blocking(request(&id, &[addr])).unwrap();
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 1500);
}

fn pem_chain(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path).unwrap().map(|c| c.unwrap()).collect()
}

fn roots(ca: &Path) -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for c in pem_chain(ca) {
        roots.add(c).unwrap();
    }
    Arc::new(roots)
}

/// Venice's Java sender stand-in: TLS 1.2 only, ECDHE-RSA with AES-GCM only, an RSA certificate,
/// client certificates required. For each connection it reads the request head and answers with
/// `reply`, then waits for the client to close. Records each session's (version, suite).
struct Tls12Sender {
    addr: SocketAddr,
    sessions: Arc<Mutex<Vec<(rustls::ProtocolVersion, rustls::CipherSuite)>>>,
}

impl Tls12Sender {
    fn start(reply: Vec<u8>, cert: &Path, key: &Path, ca: &Path) -> Tls12Sender {
        use rustls::crypto::ring::{cipher_suite, default_provider};
        let provider = Arc::new(rustls::crypto::CryptoProvider {
            cipher_suites: vec![cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
            ..default_provider()
        });
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots(ca), provider.clone()).build().unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pem_chain(cert), PrivateKeyDer::from_pem_file(key).unwrap())
            .unwrap();
        let cfg = Arc::new(cfg);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let seen = sessions.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (cfg, reply, seen) = (cfg.clone(), reply.clone(), seen.clone());
                std::thread::spawn(move || {
                    let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(cfg).unwrap(), tcp);
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match tls.read(&mut b) {
                            Ok(1) => head.push(b[0]),
                            _ => return, // a connectivity probe, or a failed handshake
                        }
                    }
                    let c = &tls.conn;
                    seen.lock().unwrap().push((c.protocol_version().unwrap(), c.negotiated_cipher_suite().unwrap().suite()));
                    let _ = tls.write_all(&reply).and_then(|_| tls.flush());
                    let mut sink = [0u8; 64];
                    while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        Tls12Sender { addr, sessions }
    }
}

/// (a) A vbt receiver, configured with Venice's `ssl.*` stores, bootstraps from a sender that
/// speaks only TLS 1.2 with an RSA certificate, as Venice's Java sender does.
#[test]
fn receiver_transfers_from_a_tls12_only_rsa_sender() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    pki.openssl_node("java-sender", "ca1", PW);
    let sender = Tls12Sender::start(
        vector("java-sender-2files.response.bin"),
        &pki.path("java-sender.pem"),
        &pki.path("java-sender.key"),
        &pki.path("ca1.pem"),
    );
    let b_store = pki.openssl_node("b", "ca1", PW);
    let trust1 = pki.truststore("trust1", &["ca1"]);
    let base = tempdir();
    let node = receiver_node(base.path(), with(&venice_ssl(&b_store, &trust1), &[("vbt.receive.verify.rocksdb", "false")]));
    let id = my_store();
    let out = node.bootstrap_blocking(request(&id, &[sender.addr.to_string()])).unwrap();
    assert_eq!(out.files, 2);
    assert_eq!(out.metadata, vector_metadata(&id));
    let dir = Layout::new(base.path()).partition_dir(&id);
    assert_eq!(std::fs::read(dir.join("file1")).unwrap(), b"hello");
    assert_eq!(std::fs::read(dir.join("file2")).unwrap(), b"world");
    let sessions = sender.sessions.lock().unwrap().clone();
    assert!(!sessions.is_empty());
    for (version, suite) in sessions {
        assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
        assert!(format!("{suite:?}").starts_with("TLS_ECDHE_RSA_WITH_AES_"), "{suite:?}");
    }
}

/// (b) A client that offers only TLS 1.3, as Venice's Java receiver prefers, gets Venice's exact
/// response stream from a vbt sender configured with Venice's `ssl.*` stores.
#[test]
fn tls13_only_client_gets_the_stream_from_the_vbt_sender() {
    let pki = JavaPki::new();
    pki.ca("ca1");
    let a_store = pki.openssl_node("a", "ca1", PW);
    let trust1 = pki.truststore("trust1", &["ca1"]);
    pki.openssl_node("java-receiver", "ca1", PW);

    // The sender serves the vectors' two-file snapshot (file1 = hello, file2 = world).
    let snap = tempdir();
    std::fs::write(snap.path().join("file1"), b"hello").unwrap();
    std::fs::write(snap.path().join("file2"), b"world").unwrap();
    let id = my_store();
    let source = FixedSnapshot { id: id.clone(), dir: snap.path().to_path_buf(), metadata: vector_metadata(&id) };
    let pairs =
        with(&venice_ssl(&a_store, &trust1), &[("davinci.p2p.blob.transfer.server.port", "0"), ("vbt.server.bind.address", "127.0.0.1")]);
    let node = Node::builder(Config::from_pairs(pairs).unwrap()).snapshot_source(Arc::new(source)).build().unwrap();
    let addr = node.start_server().unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(&pki.path("ca1.pem")))
        .with_client_auth_cert(
            pem_chain(&pki.path("java-receiver.pem")),
            PrivateKeyDer::from_pem_file(pki.path("java-receiver.key")).unwrap(),
        )
        .unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), ServerName::try_from("localhost").unwrap()).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(&vector("java-receiver.request.bin")).unwrap();
    // The sender keeps the connection open after COMPLETE, as Venice does: read what is expected.
    let want = crate::vectors::files_sorted(&vector("java-sender-2files.response.bin"));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(20);
    while got.len() < want.len() && Instant::now() < end {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading the stream: {e}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    assert_eq!(tls.conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
}
