//! Venice's origin rule on the sender (docs/venice-reference.md §3.2-3.3): with the host's
//! `OriginPolicy`, a same-issuer peer of another application is of client origin — refused unless
//! `server.blob.transfer.accept.client.request.enabled` and the store ACL say yes, and admitted
//! against its own reservation. Real mutual TLS, certificates generated here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use venice_blob_transfer::tools::records;
use venice_blob_transfer::tools::testcerts::{write_node, Ca};
use venice_blob_transfer::{Config, Error, Node, OriginPolicy, PartitionId, Result, TableFormat};

use crate::common::*;

/// Identity = the common name up to its first ':' ("venice-server:a" → "venice-server"), as a
/// deployment's identity parser reads an application name; the store ACL is a list.
struct Policy {
    readable: Vec<&'static str>,
    asked: Mutex<Vec<String>>,
    /// The identity parser panics on its next call.
    panics: std::sync::atomic::AtomicBool,
}

impl Policy {
    fn new(readable: &[&'static str]) -> Arc<Policy> {
        Arc::new(Policy { readable: readable.to_vec(), asked: Mutex::default(), panics: Default::default() })
    }
}

impl OriginPolicy for Policy {
    fn identity(&self, cert_der: &[u8]) -> Result<Option<String>> {
        assert!(!self.panics.swap(false, std::sync::atomic::Ordering::SeqCst), "identity parser blew up");
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| Error::invalid(e.to_string()))?;
        let cn = cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default();
        Ok(cn.split(':').next().filter(|s| !s.is_empty()).map(str::to_string))
    }

    fn may_read(&self, _cert_der: &[u8], store: &str) -> Result<bool> {
        self.asked.lock().unwrap().push(store.to_string());
        Ok(self.readable.contains(&store))
    }
}

struct Setup {
    dir: TestDir,
    ca: Ca,
    id: PartitionId,
    data: TestDir,
}

impl Setup {
    fn new(records: u64) -> Setup {
        let dir = tempdir();
        let ca = Ca::new("vbt origin CA").unwrap();
        std::fs::write(dir.path().join("trust.pem"), &ca.pem).unwrap();
        let data = tempdir();
        let id = PartitionId::new("orders", 1, 0).unwrap();
        gen_partition(data.path(), &id, TableFormat::BlockBased, records);
        Setup { dir, ca, id, data }
    }

    fn tls(&self, name: &str) -> Vec<(String, String)> {
        let cert = self.ca.issue(name, false).unwrap();
        let file = name.replace(':', "-");
        write_node(self.dir.path(), &file, &cert, &self.dir.path().join("trust.pem")).unwrap()
    }

    fn sender(&self, policy: Arc<dyn OriginPolicy>, extra: &[(&str, &str)]) -> (Node, String) {
        let mut pairs = self.tls("venice-server:sender");
        for (k, v) in [
            ("vbt.base.dir", s(self.data.path()).as_str()),
            ("davinci.p2p.blob.transfer.server.port", "0"),
            ("vbt.server.bind.address", "127.0.0.1"),
        ]
        .iter()
        .chain(extra)
        {
            pairs.push((k.to_string(), v.to_string()));
        }
        let node = Node::builder(Config::from_pairs(pairs).unwrap()).origin_policy(policy).build().unwrap();
        let addr = node.start_server().unwrap().to_string();
        (node, addr)
    }

    /// Fetches the partition as a peer named `name`; `Ok` holds the records received.
    fn fetch(&self, name: &str, addr: &str) -> std::result::Result<u64, venice_blob_transfer::Error> {
        let base = tempdir();
        let mut pairs = self.tls(name);
        pairs.push(("vbt.base.dir".into(), s(base.path())));
        // Venice's semantics: a 429 is a failure of that peer, not a wait (busy.rs has the wait).
        pairs.push(("vbt.peer.busy.wait.ms".into(), "0".into()));
        let node = Node::new(Config::from_pairs(pairs).unwrap()).unwrap();
        let out = node.bootstrap_blocking(request(&self.id, &[addr.to_string()]));
        let got = out.map(|o| records::verify(&o.partition_dir, TableFormat::BlockBased).unwrap());
        if got.is_err() {
            assert_eq!(entries(base.path()), Vec::<String>::new(), "a refused fetch leaves nothing in the base dir");
        }
        got
    }
}

#[test]
fn same_application_is_of_server_origin_even_when_clients_are_refused() {
    let t = Setup::new(500);
    let policy = Policy::new(&[]);
    let (_sender, addr) = t.sender(policy.clone(), &[]);
    assert_eq!(t.fetch("venice-server:peer", &addr).unwrap(), 500);
    assert!(policy.asked.lock().unwrap().is_empty(), "a server-origin peer never reaches the store ACL");
}

#[test]
fn client_origin_is_refused_unless_accepted() {
    let t = Setup::new(100);
    let policy = Policy::new(&["orders"]);
    let (sender, addr) = t.sender(policy.clone(), &[]);
    let err = t.fetch("cdc-client:c1", &addr).unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
    assert!(policy.asked.lock().unwrap().is_empty(), "refused before the store ACL, as Venice");
    assert_eq!(sender.snapshot_info(&t.id), None, "refused before any snapshot work");
    // An unresolved identity is of client origin too (the rule fails closed).
    let err = t.fetch(":nameless", &addr).unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
}

#[test]
fn accepted_client_origin_needs_the_store_acl() {
    let t = Setup::new(300);
    let denied = Policy::new(&["payments"]);
    let (_s1, addr) = t.sender(denied.clone(), &[("server.blob.transfer.accept.client.request.enabled", "true")]);
    let err = t.fetch("cdc-client:c1", &addr).unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
    assert_eq!(*denied.asked.lock().unwrap(), vec!["orders".to_string()], "the ACL is asked for the URI's store");

    let allowed = Policy::new(&["orders"]);
    let (_s2, addr) = t.sender(allowed, &[("server.blob.transfer.accept.client.request.enabled", "true")]);
    assert_eq!(t.fetch("cdc-client:c1", &addr).unwrap(), 300);
}

#[test]
fn a_policy_that_panics_refuses_and_the_sender_lives_on() {
    let t = Setup::new(100);
    let policy = Policy::new(&["orders"]);
    policy.panics.store(true, std::sync::atomic::Ordering::SeqCst);
    let (sender, addr) = t.sender(policy, &[("server.blob.transfer.accept.client.request.enabled", "true")]);
    let err = t.fetch("venice-server:peer", &addr).unwrap_err();
    assert!(err.message().contains("403 Forbidden"), "{err}");
    assert_eq!(sender.active_transfers(), 0);
    // The sender lives on: the next request is decided and served.
    assert_eq!(t.fetch("venice-server:peer", &addr).unwrap(), 100);
}

#[test]
fn client_reservation_is_its_own_budget() {
    // 4 slots, 25 %: one for client origin. Slow sends keep the first client transfer in flight.
    let t = Setup::new(3000);
    let extra = [
        ("server.blob.transfer.accept.client.request.enabled", "true"),
        ("blob.transfer.max.concurrent.snapshot.user", "4"),
        ("server.blob.transfer.client.capacity.percent", "25"),
        ("blob.transfer.service.write.limit.bytes.per.sec", "200000"),
    ];
    let (sender, addr) = t.sender(Policy::new(&["orders"]), &extra);
    std::thread::scope(|scope| {
        let first = scope.spawn(|| t.fetch("cdc-client:c1", &addr));
        assert!(eventually(Duration::from_secs(30), || sender.active_transfers() == 1), "the first client transfer started");
        let err = t.fetch("cdc-client:c2", &addr).unwrap_err();
        assert!(err.message().contains("429"), "{err}");
        assert!(err.message().contains("Client-origin blob transfer rejected (client reservation full) for orders_v1-0"), "{err}");
        // Server-origin requests draw on the other budget.
        assert_eq!(t.fetch("venice-server:peer", &addr).unwrap(), 3000);
        assert_eq!(first.join().unwrap().unwrap(), 3000);
    });
    assert!(eventually(Duration::from_secs(10), || sender.active_transfers() == 0));
}

#[test]
fn no_client_share_refuses_every_client_with_429() {
    let t = Setup::new(100);
    let extra = [("server.blob.transfer.accept.client.request.enabled", "true"), ("server.blob.transfer.client.capacity.percent", "0")];
    let (_sender, addr) = t.sender(Policy::new(&["orders"]), &extra);
    let err = t.fetch("cdc-client:c1", &addr).unwrap_err();
    assert!(err.message().contains("client reservation full"), "{err}");
    assert_eq!(t.fetch("venice-server:peer", &addr).unwrap(), 100);
}

#[test]
fn a_policy_without_tls_and_acl_or_an_accept_flag_without_a_policy_is_refused() {
    let t = Setup::new(10);
    let plain = Config::from_pairs([("vbt.base.dir", s(t.data.path()))]).unwrap();
    let e = Node::builder(plain).origin_policy(Policy::new(&[])).build().err().expect("refused");
    assert!(e.message().contains("blob.transfer.acl.enabled=true"), "{e}");
    let accepting = Config::from_pairs([("server.blob.transfer.accept.client.request.enabled", "true")]).unwrap();
    let e = Node::new(accepting).err().expect("refused");
    assert!(e.message().contains("needs the host's origin policy"), "{e}");
}

#[test]
fn without_a_policy_every_peer_is_of_server_origin() {
    let t = Setup::new(100);
    let mut pairs = t.tls("venice-server:sender");
    pairs.extend([
        ("vbt.base.dir".to_string(), s(t.data.path())),
        ("davinci.p2p.blob.transfer.server.port".to_string(), "0".to_string()),
        ("vbt.server.bind.address".to_string(), "127.0.0.1".to_string()),
    ]);
    let sender = Node::new(Config::from_pairs(pairs).unwrap()).unwrap();
    let addr = sender.start_server().unwrap().to_string();
    assert_eq!(t.fetch("cdc-client:c1", &addr).unwrap(), 100, "DaVinci peers: same issuer is enough");
}
