//! The connectivity check under load (issue #18): peers whose connects hang rather than being
//! refused. The bootstrap starts on the first good peer instead of waiting out every probe, the
//! probes in flight are bounded, and running out of descriptors is never held against a peer.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use crate::common::*;
use venice_blob_transfer::{PartitionId, TableFormat};

/// Listeners whose accept queue is full, so a connect to them hangs (the kernel drops the SYN)
/// until the connecting side gives up: a host that is down, on loopback.
struct Blackholes {
    addrs: Vec<String>,
    _held: Vec<(TcpListener, Vec<TcpStream>)>,
}

/// A loopback listener with a backlog of 0 (one queued connection at most).
fn tiny_listener() -> TcpListener {
    // SAFETY: plain socket calls on a descriptor this function owns; it is handed to
    // TcpListener (which closes it) only after listen succeeded.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len), 0, "bind: {}", std::io::Error::last_os_error());
        assert_eq!(libc::listen(fd, 0), 0, "listen: {}", std::io::Error::last_os_error());
        TcpListener::from_raw_fd(fd)
    }
}

impl Blackholes {
    fn new(n: usize) -> Blackholes {
        // Find (once) how many connections fill a queue, and prove the next one hangs: without
        // that the tests below would prove nothing.
        let first = tiny_listener();
        let addr: SocketAddr = first.local_addr().unwrap();
        let mut fill = Vec::new();
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(c) => fill.push(c),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
                Err(e) => panic!("connect to a full listener: {e}"),
            }
            assert!(fill.len() < 8, "the kernel keeps accepting into a backlog of 0");
        }
        let per = fill.len();
        let mut held = vec![(first, fill)];
        while held.len() < n {
            let l = tiny_listener();
            let a = l.local_addr().unwrap();
            let fill = (0..per).map(|_| TcpStream::connect_timeout(&a, Duration::from_secs(2)).unwrap()).collect();
            held.push((l, fill));
        }
        let addrs = held.iter().map(|(l, _)| l.local_addr().unwrap().to_string()).collect();
        Blackholes { addrs, _held: held }
    }
}

#[test]
fn a_fetch_starts_on_the_first_good_peer_without_waiting_out_hanging_probes() {
    let (a, b) = (tempdir(), tempdir());
    let id = PartitionId::new("probeStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 200);
    let (_sender, live) = sender(a.path(), TableFormat::BlockBased, &[]);
    let holes = Blackholes::new(100);
    // The live peer among the first probes (at most vbt.peer.probe.concurrency run at once, so
    // one behind 64 hanging ones would wait for that first wave).
    let mut peers = holes.addrs.clone();
    peers.insert(10, live.to_string());
    // Venice's probe limits (50 s a host, 60 s in all) stay as they are.
    let rx = receiver(b.path(), TableFormat::BlockBased, &[]);
    let started = Instant::now();
    // Venice's shuffled order (a preserved order waits for the peers before the live one).
    let mut req = request(&id, &peers);
    req.preserve_order = false;
    let out = rx.bootstrap_blocking(req).expect("the live peer serves it");
    let took = started.elapsed();
    assert_eq!(out.peer, live.to_string());
    // Waiting for every probe would take the 50 s per-host limit; the point is not speed.
    assert!(took < Duration::from_secs(25), "the bootstrap waited for the hanging probes: {took:?}");
}

#[test]
fn hundreds_of_hanging_peers_never_exhaust_descriptors_nor_fail_the_live_one() {
    use std::os::unix::process::CommandExt;
    let (a, b) = (tempdir(), tempdir());
    let id = PartitionId::new("probeStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 200);
    let (_sender, live) = sender(a.path(), TableFormat::BlockBased, &[]);
    let holes = Blackholes::new(600);
    let mut peers = holes.addrs.clone();
    peers.insert(300, live.to_string());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vbt"));
    cmd.args(["fetch", "--base-dir", &s(b.path()), "--store", "probeStore", "--version", "1", "--partition", "0"]);
    for p in &peers {
        cmd.args(["--peer", p]);
    }
    // "Unlimited" as a Java operator writes it; the descriptor budget still bounds the probes.
    cmd.args(["-D", "vbt.peer.probe.concurrency=9223372036854775807", "-D", "vbt.peer.probe.timeout.ms=1000"]);
    // SAFETY: only async-signal-safe setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let r = libc::rlimit { rlim_cur: 256, rlim_max: 256 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "vbt fetch failed: {stdout}\n{stderr:.2000}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["peer"], live.to_string(), "{stdout}");
    assert!(!stdout.contains("Too many open files") && !stderr.contains("Too many open files"), "{stdout}\n{stderr:.2000}");
}
