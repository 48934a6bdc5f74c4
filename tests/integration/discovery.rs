//! The built-in peer discovery sources against the real things they read: a Venice router
//! stand-in built with hyper that answers with Venice's exact JSON and error statuses, and a real
//! ZooKeeper (Debian's `zookeeper` package, started here on a loopback port) holding Helix
//! ZNRecords. Each source also bootstraps a partition end to end from a real vbt sender.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::testcerts::{write_node, Ca};
use venice_blob_transfer::{Error, ErrorKind, HelixDiscovery, Node, PartitionId, PeerDiscovery, TableFormat};
use zookeeper_client as zk;

use crate::common::*;

// ---------------------------------------------------------------------------------------------
// The router stand-in.

/// What the stand-in answers to every request.
#[derive(Clone)]
enum Reply {
    /// 200 with this body (`application/json`).
    Json(&'static str),
    /// This status with a text body, as Venice's `MetaDataHandler` sends its errors.
    Status(u16, String),
    /// Never answers.
    Stall,
}

/// A Venice router stand-in on a loopback port, with the request targets it was sent.
struct Router {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    _rt: tokio::runtime::Runtime,
}

impl Router {
    fn start(reply: Reply) -> Router {
        Router::serve(reply, None)
    }

    /// The stand-in in https, requiring a client certificate from `tls`'s trusted CAs.
    fn start_tls(reply: Reply, tls: Arc<rustls::ServerConfig>) -> Router {
        Router::serve(reply, Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn serve(reply: Reply, tls: Option<tokio_rustls::TlsAcceptor>) -> Router {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (reply, seen, tls) = (reply.clone(), seen.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let reply = reply.clone();
                        seen.lock().unwrap().push(req.uri().to_string());
                        async move {
                            let (status, kind, body) = match reply {
                                Reply::Json(j) => (200, "application/json", j.to_string()),
                                Reply::Status(s, text) => (s, "text/plain", text),
                                Reply::Stall => {
                                    tokio::time::sleep(Duration::from_secs(600)).await;
                                    (200, "application/json", String::new())
                                }
                            };
                            let mut r = Response::new(Full::new(Bytes::from(body)));
                            *r.status_mut() = StatusCode::from_u16(status).unwrap();
                            r.headers_mut().insert(hyper::header::CONTENT_TYPE, kind.parse().unwrap());
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    }
                });
            }
        });
        Router { addr, targets, _rt: rt }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// Venice's `BlobPeersDiscoveryResponse` as the router's Jackson mapper writes it.
const VENICE_OK: &str = r#"{"serverHostNames":[],"sourceAware":false,"error":false,"errorMessage":null,"discoveryResult":["127.0.0.1_81234","127.0.0.1_81299"]}"#;

/// A port that counts as a peer: nothing must connect to it when discovery fails.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Untouched {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Untouched(l)
    }
    fn port(&self) -> String {
        self.0.local_addr().unwrap().port().to_string()
    }
    fn contacted(&self) -> bool {
        self.0.accept().is_ok()
    }
}

/// A receiver discovering through `router`, dialling `port` on the hosts it finds.
fn router_receiver(base: &Path, router: &str, port: &str, extra: &[(&str, &str)]) -> Node {
    let mut pairs =
        vec![("vbt.discovery", "router"), ("vbt.discovery.router.url", router), ("davinci.p2p.blob.transfer.client.port", port)];
    pairs.extend_from_slice(extra);
    receiver(base, TableFormat::BlockBased, &pairs)
}

fn bootstrap_without_peers(node: &Node, id: &PartitionId) -> venice_blob_transfer::Result<venice_blob_transfer::BootstrapOutcome> {
    node.bootstrap_blocking(request(id, &[]))
}

fn no_peers(r: venice_blob_transfer::Result<venice_blob_transfer::BootstrapOutcome>) -> Error {
    let e = r.expect_err("discovery must fail the bootstrap");
    assert_eq!(e.kind(), ErrorKind::NoPeers, "{e}");
    e
}

#[test]
fn router_discovery_bootstraps_from_the_hosts_it_names() {
    let id = PartitionId::new("routerStore", 3, 5).unwrap();
    let src = tempdir();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 400);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    let router = Router::start(Reply::Json(VENICE_OK));
    let dst = tempdir();
    let node = router_receiver(dst.path(), &router.url(), &addr.port().to_string(), &[]);
    let out = bootstrap_without_peers(&node, &id).unwrap();
    // Both names are host 127.0.0.1 (`host_pid`): one peer, at the client port.
    assert_eq!(out.peer, addr.to_string());
    assert!(out.failed_peers.is_empty());
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 400);
    assert_eq!(router.targets(), ["/blob_discovery?store_name=routerStore&store_version=3&store_partition=5"], "DaVinci's request");
}

#[test]
fn router_path_prefix_is_kept() {
    let router = Router::start(Reply::Json(r#"{"error":false,"errorMessage":null,"discoveryResult":["a.example_1"]}"#));
    let d = venice_blob_transfer::RouterDiscovery::new(&format!("{}/venice/", router.url()), Duration::from_secs(3), None).unwrap();
    let got = d.discover(&PartitionId::new("s", 1, 0).unwrap()).unwrap();
    assert_eq!(got, ["a.example"]);
    assert_eq!(router.targets(), ["/venice/blob_discovery?store_name=s&store_version=1&store_partition=0"]);
}

#[test]
fn router_errors_name_the_router_and_status_and_contact_no_peer() {
    let id = PartitionId::new("venice_store", 1, 0).unwrap();
    // Venice's MetaDataHandler bodies for each status.
    let cases = [
        (400, "Blob Discovery: missing storeName:venice_store, storeVersion:null, or storePartition:0".to_string()),
        (403, "Blob Discovery: blob transfer is not enabled or store: venice_store is not a batch-only store".to_string()),
        (404, "Store: venice_store could not be found in cluster: venice-cluster0".to_string()),
        (500, "Blob Discovery: failed to get the live node hostNames for store:venice_store version:1 partition:0".to_string()),
    ];
    for (status, body) in cases {
        let router = Router::start(Reply::Status(status, body.clone()));
        let peer = Untouched::new();
        let dst = tempdir();
        let node = router_receiver(dst.path(), &router.url(), &peer.port(), &[]);
        let e = no_peers(bootstrap_without_peers(&node, &id));
        let m = e.message();
        assert!(m.contains(&router.url()) && m.contains(&status.to_string()) && m.contains(&body), "{status}: {m}");
        assert!(m.contains("peer discovery"), "{m}");
        assert!(!peer.contacted(), "{status}: a peer was contacted");
        assert_eq!(router.targets().len(), 1);
    }
}

#[test]
fn router_answers_that_are_errors_or_not_venice_json() {
    let id = PartitionId::new("s", 2, 1).unwrap();
    let cases: [(&'static str, &str); 4] = [
        (
            r#"{"serverHostNames":[],"sourceAware":false,"error":true,"errorMessage":"push status store unavailable","discoveryResult":null}"#,
            "push status store unavailable",
        ),
        (r#"{"error":false,"errorMessage":null,"discoveryResult":[]}"#, "knows no host"),
        (r#"{"error":false,"discoveryResult":["#, "not Venice's JSON"),
        ("<html>router</html>", "not Venice's JSON"),
    ];
    for (body, want) in cases {
        let router = Router::start(Reply::Json(body));
        let peer = Untouched::new();
        let dst = tempdir();
        let node = router_receiver(dst.path(), &router.url(), &peer.port(), &[]);
        let e = no_peers(bootstrap_without_peers(&node, &id));
        assert!(e.message().contains(want) && e.message().contains(&router.url()), "{body}: {e}");
        assert!(!peer.contacted());
    }
}

#[test]
fn a_stalling_router_times_out() {
    let router = Router::start(Reply::Stall);
    let peer = Untouched::new();
    let dst = tempdir();
    let node = router_receiver(dst.path(), &router.url(), &peer.port(), &[("vbt.discovery.router.timeout.ms", "300")]);
    let e = no_peers(bootstrap_without_peers(&node, &PartitionId::new("s", 1, 0).unwrap()));
    assert!(e.message().contains("within 300 ms") && e.message().contains(&router.url()), "{e}");
    assert!(!peer.contacted());
    // Nothing listening at all: the connect error, named.
    let gone = format!("http://{}", dead_port());
    // The base dir lives as long as the node: dropped first, the node's bootstrap would make
    // the removed temp folder again (its state dir sits beside the base) and leave it behind.
    let base = tempdir();
    let node = router_receiver(base.path(), &gone, &peer.port(), &[]);
    let e = no_peers(bootstrap_without_peers(&node, &PartitionId::new("s", 1, 0).unwrap()));
    assert!(e.message().contains(&gone) && e.message().contains("connect"), "{e}");
}

#[test]
fn router_config_is_checked() {
    for (pairs, want) in [
        (vec![("vbt.discovery", "router")], "vbt.discovery.router.url"),
        (vec![("vbt.discovery", "router"), ("vbt.discovery.router.url", "router:7777")], "vbt.discovery.router.url"),
        (vec![("vbt.discovery.router.url", "ftp://router/")], "vbt.discovery.router.url"),
        (vec![("vbt.discovery.router.url", "http://")], "vbt.discovery.router.url"),
        (vec![("vbt.discovery.router.url", "http://r:1/?a=b")], "vbt.discovery.router.url"),
        (vec![("vbt.discovery", "consul")], "vbt.discovery"),
        (vec![("vbt.discovery", "helix"), ("vbt.discovery.zookeeper.address", "zk:2181")], "vbt.discovery.helix.cluster"),
        (vec![("vbt.discovery", "helix"), ("vbt.discovery.helix.cluster", "c")], "vbt.discovery.zookeeper.address"),
        (vec![("vbt.discovery.helix.cluster", "a/b")], "vbt.discovery.helix.cluster"),
        (vec![("vbt.discovery.router.timeout.ms", "0")], "vbt.discovery.router.timeout.ms"),
    ] {
        let mut all = pairs.clone();
        all.push(("davinci.p2p.blob.transfer.client.port", "7700"));
        let e = venice_blob_transfer::Config::from_pairs(all).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains(want), "{pairs:?}: {e}");
    }
    // Discovery finds host names only: the port to dial must be configured.
    let e =
        venice_blob_transfer::Config::from_pairs([("vbt.discovery", "router"), ("vbt.discovery.router.url", "http://r:1")]).unwrap_err();
    assert!(e.message().contains("davinci.p2p.blob.transfer.client.port"), "{e}");
    // https uses the node's TLS; without it, the node says so.
    let cfg = config(&[
        ("vbt.discovery", "router"),
        ("vbt.discovery.router.url", "https://router.example:7777"),
        ("davinci.p2p.blob.transfer.client.port", "7700"),
        ("vbt.base.dir", "/nonexistent-vbt-base"),
    ]);
    let e = Node::new(cfg).err().unwrap();
    assert!(e.message().contains("blob.transfer.ssl.enabled") && e.message().contains("https"), "{e}");
}

#[test]
fn an_explicit_peer_list_wins_over_configured_discovery() {
    let id = PartitionId::new("explicitStore", 1, 0).unwrap();
    let src = tempdir();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 50);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    let router = Router::start(Reply::Status(500, "never asked".into()));
    let dst = tempdir();
    let node = router_receiver(dst.path(), &router.url(), "7700", &[]);
    let out = node.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    assert_eq!(out.peer, addr.to_string());
    assert!(router.targets().is_empty(), "the router was asked although the request named its peers");
}

/// A router's TLS server config: its certificate from `ca`, client certificates required and
/// checked against `trust` (as a Venice router in mutual TLS does).
fn router_tls(ca: &Ca, trust: &Ca) -> Arc<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (cert, key) = ca.issue("router", false).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(trust.pem.as_bytes()).unwrap()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    Arc::new(config)
}

#[test]
fn an_https_router_is_asked_with_the_nodes_tls() {
    let pki = tempdir();
    let (ca, other) = (Ca::new("vbt discovery CA").unwrap(), Ca::new("another CA").unwrap());
    let trust = pki.path().join("trust.pem");
    std::fs::write(&trust, &ca.pem).unwrap();
    let node_pairs = |name: &str| write_node(pki.path(), name, &ca.issue(name, false).unwrap(), &trust).unwrap();
    let id = PartitionId::new("tlsRouterStore", 1, 0).unwrap();
    let src = tempdir();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 200);
    let mut sender_pairs = node_pairs("sender");
    for (k, v) in [
        ("vbt.base.dir", s(src.path())),
        ("davinci.p2p.blob.transfer.server.port", "0".into()),
        ("vbt.server.bind.address", "127.0.0.1".into()),
    ] {
        sender_pairs.push((k.into(), v));
    }
    let sender = Node::new(venice_blob_transfer::Config::from_pairs(sender_pairs).unwrap()).unwrap();
    let addr = sender.start_server().unwrap();
    let receiver_with = |router: &Router, base: &Path| {
        let mut pairs = node_pairs("receiver");
        let url = format!("https://{}", router.addr);
        for (k, v) in [
            ("vbt.base.dir", s(base)),
            ("vbt.discovery", "router".into()),
            ("vbt.discovery.router.url", url),
            ("davinci.p2p.blob.transfer.client.port", addr.port().to_string()),
        ] {
            pairs.push((k.into(), v));
        }
        Node::new(venice_blob_transfer::Config::from_pairs(pairs).unwrap()).unwrap()
    };
    // The router trusts the node's CA and the node trusts the router's: discovery and bootstrap.
    let router = Router::start_tls(Reply::Json(VENICE_OK), router_tls(&ca, &ca));
    let dst = tempdir();
    let out = bootstrap_without_peers(&receiver_with(&router, dst.path()), &id).unwrap();
    assert_eq!(out.peer, addr.to_string());
    assert_eq!(router.targets().len(), 1);
    // A router whose certificate the node does not trust is refused before any request.
    let untrusted = Router::start_tls(Reply::Json(VENICE_OK), router_tls(&other, &ca));
    let base = tempdir();
    let e = no_peers(bootstrap_without_peers(&receiver_with(&untrusted, base.path()), &id));
    assert!(e.message().contains("TLS") && e.message().contains(&format!("https://{}", untrusted.addr)), "{e}");
    assert!(untrusted.targets().is_empty());
}

// ---------------------------------------------------------------------------------------------
// A real ZooKeeper with Helix's znodes.

/// Debian's ZooKeeper server on a loopback port with a temp data dir; stopped on drop.
struct ZooKeeper {
    address: String,
    _process: KillOnDrop,
    _dir: TestDir,
}

impl ZooKeeper {
    fn start() -> ZooKeeper {
        let jar = Path::new("/usr/share/java/zookeeper.jar");
        assert!(jar.exists(), "{} is missing: install Debian's zookeeper package (scripts/test does)", jar.display());
        // The port is free when picked, but the JVM binds it seconds later: another test (a
        // listener, or a connection's source port) may have taken it by then, and ZooKeeper then
        // exits. So: a new port and another try, a few times.
        let mut tried = Vec::new();
        for _ in 0..5 {
            let dir = tempdir();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let cfg = dir.path().join("zoo.cfg");
            std::fs::write(
                &cfg,
                format!(
                    "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            // The jar's manifest carries its class path (Debian's jars beside it).
            let child = Command::new("java")
                .args(["-Xmx128m", "-cp"])
                .arg(jar)
                .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("java runs");
            let mut zk = ZooKeeper { address: format!("127.0.0.1:{port}"), _process: KillOnDrop(child), _dir: dir };
            let mut exited = None;
            // Up means a ZooKeeper session works: whatever else took the port would not answer one.
            let z = &mut zk;
            let up = eventually(Duration::from_secs(60), || {
                exited = z._process.0.try_wait().unwrap();
                exited.is_some() || z.run(|_| async { Ok(()) }).is_ok()
            });
            match exited {
                None if up => return zk,
                None => panic!("ZooKeeper did not start on {}", zk.address),
                Some(status) => tried.push(format!("{}: {status}", zk.address)),
            }
        }
        panic!("ZooKeeper exited at start on every port tried (taken meanwhile?): {tried:?}");
    }

    /// Runs `f` with a fresh session, on a runtime of its own.
    fn run<F, Fut>(&self, f: F) -> Result<(), zk::Error>
    where
        F: FnOnce(zk::Client) -> Fut,
        Fut: std::future::Future<Output = Result<(), zk::Error>>,
    {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // 10 s: a JVM on a loaded machine may take seconds to open a session, and a failed
            // put fails the test (the start-up check retries on its own).
            let client =
                zk::Client::connector().with_connection_timeout(Duration::from_secs(10)).with_fail_eagerly().connect(&self.address).await?;
            f(client).await
        })
    }

    /// Creates or replaces a persistent znode (and its parents) holding `data`.
    fn put(&self, path: &str, data: &str) {
        let (path, data) = (path.to_string(), data.as_bytes().to_vec());
        self.run(|c| async move {
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            let parent = &path[..path.rfind('/').unwrap()];
            if !parent.is_empty() {
                c.mkdir(parent, &opts).await?;
            }
            match c.create(&path, &data, &opts).await {
                Ok(_) => Ok(()),
                Err(zk::Error::NodeExists) => c.set_data(&path, &data, None).await.map(|_| ()),
                Err(e) => Err(e),
            }
        })
        .unwrap();
    }

    fn delete(&self, path: &str) {
        let path = path.to_string();
        self.run(|c| async move { c.delete(&path, None).await }).unwrap();
    }
}

/// A Helix customized view ZNRecord of `resource`, with one map field per partition, as Helix
/// writes it (Jackson, pretty-printed).
fn znrecord(resource: &str, partitions: &[(&str, &[(&str, &str)])]) -> String {
    let map_fields: serde_json::Map<String, serde_json::Value> = partitions
        .iter()
        .map(|(p, states)| {
            let m: serde_json::Map<String, serde_json::Value> = states.iter().map(|(i, s)| (i.to_string(), (*s).into())).collect();
            (p.to_string(), m.into())
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "id": resource,
        "simpleFields": {},
        "mapFields": map_fields,
        "listFields": {},
    }))
    .unwrap()
}

const CLUSTER: &str = "venice-cluster0";

fn live(zk: &ZooKeeper, instance: &str) {
    zk.put(&format!("/{CLUSTER}/LIVEINSTANCES/{instance}"), &znrecord(instance, &[]));
}

#[test]
fn helix_discovery_reads_the_customized_view_in_zookeeper() {
    let zk = ZooKeeper::start();
    let view = format!("/{CLUSTER}/CUSTOMIZEDVIEW/OFFLINE_PUSH/helixStore_v3");
    for i in ["host-a.example_7000", "host-c.example_7000", "host-d.example_7000"] {
        live(&zk, i);
    }
    zk.put(
        &view,
        &znrecord(
            "helixStore_v3",
            &[
                (
                    "helixStore_v3_1",
                    &[
                        ("host-a.example_7000", "COMPLETED"), // chosen
                        ("host-b.example_7000", "COMPLETED"), // not live
                        ("host-c.example_7000", "STARTED"),   // live, not completed
                        ("host-d.example_7000", "END_OF_PUSH_RECEIVED"),
                    ],
                ),
                ("helixStore_v3_2", &[("host-c.example_7000", "COMPLETED"), ("host-d.example_7000", "COMPLETED")]),
            ],
        ),
    );
    let d = HelixDiscovery::new(&zk.address, CLUSTER, Duration::from_secs(5));
    let p = |n| PartitionId::new("helixStore", 3, n).unwrap();
    assert_eq!(d.discover(&p(1)).unwrap(), ["host-a.example"]);
    let mut two = d.discover(&p(2)).unwrap();
    two.sort();
    assert_eq!(two, ["host-c.example", "host-d.example"]);
    // Zones (issue #22), as Venice groups instances: the cluster's FAULT_ZONE_TYPE, each
    // instance's DOMAIN. An instance without that key in its DOMAIN has no zone.
    let simple = |id: &str, fields: &[(&str, &str)]| {
        let f: serde_json::Map<String, serde_json::Value> = fields.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
        serde_json::json!({ "id": id, "simpleFields": f, "mapFields": {}, "listFields": {} }).to_string()
    };
    zk.put(
        &format!("/{CLUSTER}/CONFIGS/PARTICIPANT/host-c.example_7000"),
        &simple("host-c.example_7000", &[("DOMAIN", "zone=us-east-1a,instance=host-c.example_7000")]),
    );
    zk.put(&format!("/{CLUSTER}/CONFIGS/PARTICIPANT/host-d.example_7000"), &simple("host-d.example_7000", &[("DOMAIN", "rack=r7")]));
    let mut two = d.discover(&p(2)).unwrap();
    two.sort();
    assert_eq!(two, ["host-c.example", "host-d.example"], "no FAULT_ZONE_TYPE in the cluster config: no zones");
    zk.put(&format!("/{CLUSTER}/CONFIGS/CLUSTER/{CLUSTER}"), &simple(CLUSTER, &[("FAULT_ZONE_TYPE", "zone")]));
    let mut two = d.discover(&p(2)).unwrap();
    two.sort();
    assert_eq!(two, ["host-c.example@us-east-1a", "host-d.example"]);

    // Nothing both COMPLETED and live: each instance's state is named.
    zk.delete(&format!("/{CLUSTER}/LIVEINSTANCES/host-a.example_7000"));
    let e = d.discover(&p(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoPeers);
    assert!(e.message().contains("host-a.example_7000=COMPLETED (not live)") && e.message().contains("host-c.example_7000=STARTED"), "{e}");
    // A partition the view does not list.
    let e = d.discover(&p(9)).unwrap_err();
    assert!(e.message().contains("helixStore_v3_9"), "{e}");
    // A store version without a customized view.
    let e = d.discover(&PartitionId::new("helixStore", 4, 1).unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoPeers);
    assert!(
        e.message().contains(&format!("/{CLUSTER}/CUSTOMIZEDVIEW/OFFLINE_PUSH/helixStore_v4")) && e.message().contains(&zk.address),
        "{e}"
    );
    // Not a ZNRecord.
    zk.put(&view, "not json");
    let e = d.discover(&p(1)).unwrap_err();
    assert!(e.message().contains("not a Helix ZNRecord"), "{e}");
    // ZooKeeper gone: the session error, named.
    drop(zk);
    let e = d.discover(&p(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoPeers);
    assert!(e.message().contains("Helix discovery") && e.message().contains("ZooKeeper 127.0.0.1:"), "{e}");
}

#[test]
fn helix_discovery_bootstraps_end_to_end_and_through_the_cli() {
    let zk = ZooKeeper::start();
    let id = PartitionId::new("e2eStore", 2, 0).unwrap();
    let src = tempdir();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 300);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    // Helix knows the sender as 127.0.0.1_<its Venice port>; blob transfer dials the client port.
    live(&zk, "127.0.0.1_17001");
    zk.put(
        &format!("/{CLUSTER}/CUSTOMIZEDVIEW/OFFLINE_PUSH/e2eStore_v2"),
        &znrecord("e2eStore_v2", &[("e2eStore_v2_0", &[("127.0.0.1_17001", "COMPLETED"), ("127.0.0.9_17001", "ERROR")])]),
    );
    let port = addr.port().to_string();
    let dst = tempdir();
    let node = receiver(
        dst.path(),
        TableFormat::BlockBased,
        &[
            ("vbt.discovery", "helix"),
            ("vbt.discovery.zookeeper.address", &zk.address),
            ("vbt.discovery.helix.cluster", CLUSTER),
            ("davinci.p2p.blob.transfer.client.port", &port),
        ],
    );
    let out = bootstrap_without_peers(&node, &id).unwrap();
    assert_eq!(out.peer, addr.to_string());
    assert_eq!(records::verify(&out.partition_dir, TableFormat::BlockBased).unwrap(), 300);
    drop(node);

    let cli_dst = tempdir();
    let o = vbt(&[
        "fetch",
        "--base-dir",
        &s(cli_dst.path()),
        "--store",
        "e2eStore",
        "--version",
        "2",
        "--partition",
        "0",
        "--discovery",
        "helix",
        "--zk-address",
        &zk.address,
        "--helix-cluster",
        CLUSTER,
        "-D",
        &format!("davinci.p2p.blob.transfer.client.port={port}"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["peer"], addr.to_string());
}

#[test]
fn router_discovery_through_the_cli() {
    let id = PartitionId::new("cliStore", 1, 2).unwrap();
    let src = tempdir();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 100);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    let router = Router::start(Reply::Json(VENICE_OK));
    let dst = tempdir();
    let port = format!("davinci.p2p.blob.transfer.client.port={}", addr.port());
    let args = |extra: &[&str]| {
        let mut a = vec!["fetch", "--base-dir", dst.path().to_str().unwrap(), "--store", "cliStore", "--version", "1", "--partition", "2"];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let url = router.url();
    let o = vbt(&args(&["--discovery", "router", "--router-url", &url, "-D", &port]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["peer"], addr.to_string());
    assert_eq!(router.targets().len(), 1);
    // Neither peers nor a discovery: a clear usage error.
    let o = vbt(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--peer") && err.contains("--discovery"), "{err}");
}
