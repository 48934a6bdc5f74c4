//! Never down, never stuck: an idle-connection flood, a full disk, a graceful stop, and
//! Venice's security rules for the sender (secure by default).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use venice_blob_transfer::{Config, ErrorKind, Node, PartitionId, TableFormat};

use crate::common::*;

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Raises this process's soft open-file limit to `want` if the hard limit allows it.
fn raise_own_nofile(want: u64) -> bool {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointers to a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        if r.rlim_cur >= want {
            return true;
        }
        if r.rlim_max < want {
            return false;
        }
        r.rlim_cur = want;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r) == 0
    }
}

#[test]
fn a_flood_of_idle_connections_does_not_take_the_sender_off_the_air() {
    if !raise_own_nofile(4096) {
        eprintln!("skipped: this process cannot open 2,000 connections (hard open-file limit too low)");
        return;
    }
    let src = tempdir();
    let id = PartitionId::new("floodStore", 1, 0).unwrap();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 2000);
    // The sender runs with the usual soft and hard limit of 1024 open files.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vbt"));
    // SAFETY: only an async-signal-safe syscall between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let r = libc::rlimit { rlim_cur: 1024, rlim_max: 1024 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (server, addr) = serve_with(cmd, &["--base-dir", &s(src.path())]);
    let pid = server.0.id();
    let fetch = |into: &Path| {
        let node = receiver(into, TableFormat::BlockBased, &[("vbt.peer.connect.timeout.ms", "30000")]);
        let started = Instant::now();
        let out = node.bootstrap_blocking(request(&id, &[addr.clone()]));
        (out, started.elapsed())
    };
    // Warm up (the sender opens the partition and makes its snapshot), then the baseline.
    let warm = tempdir();
    fetch(warm.path()).0.expect("warm-up fetch");
    std::thread::sleep(Duration::from_millis(300));
    let baseline = open_files(pid);

    let mut idle = Vec::new();
    for _ in 0..2000 {
        if let Ok(c) = std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)) {
            idle.push(c);
        }
    }
    assert!(idle.len() >= 1500, "only {} idle connections opened", idle.len());
    let dst = tempdir();
    let (out, took) = fetch(dst.path());
    let out = out.expect("a fetch completes while 2,000 idle connections are held");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(out.files, entries(&out.partition_dir).len());
    drop(idle);
    assert!(
        eventually(Duration::from_secs(10), || open_files(pid) <= baseline),
        "open files {} did not return to the baseline {baseline}",
        open_files(pid)
    );
}

/// A tmpfs of `size` mounted on a temp dir, unmounted on drop; None without mount rights.
struct Tmpfs(TestDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let mnt = tempdir();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", &s(mnt.path())])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root and mount rights)");
            return None;
        }
        Some(Tmpfs(mnt))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// (free bytes, block size)
    fn free(&self) -> (u64, u64) {
        let c = std::ffi::CString::new(s(self.path())).unwrap();
        // SAFETY: a valid path and a zeroed out-struct.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        (st.f_bavail as u64 * st.f_bsize as u64, st.f_bsize as u64)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.path()).status();
    }
}

#[test]
fn a_full_disk_fails_at_once_naming_it_and_leaves_nothing() {
    let Some(mnt) = Tmpfs::mount("64m") else { return };
    let src = tempdir();
    let id = PartitionId::new("fullStore", 1, 0).unwrap();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 150 * 1024);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    // 32 MiB/s: the 64 MiB disk fills after about 2 s, the whole partition would take about 5 s.
    let node = receiver(mnt.path(), TableFormat::BlockBased, &[("blob.transfer.client.read.limit.bytes.per.sec", "33554432")]);
    let started = Instant::now();
    let err = node.bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap_err();
    let took = started.elapsed();
    assert!(err.message().contains("No space left on device"), "{err}");
    assert!(took < Duration::from_secs(4), "noticed only after {took:?}");
    assert!(tree(mnt.path()).is_empty(), "left behind: {:?}", tree(mnt.path()));
}

#[test]
fn a_disk_that_fills_at_the_metadata_leaves_nothing() {
    let src = tempdir();
    let id = PartitionId::new("metaFullStore", 1, 0).unwrap();
    gen_partition(src.path(), &id, TableFormat::BlockBased, 2000);
    let (_sender, addr) = sender(src.path(), TableFormat::BlockBased, &[]);
    // The partition's size in blocks, from a fetch onto a roomy disk.
    let roomy = tempdir();
    let out = receiver(roomy.path(), TableFormat::BlockBased, &[]).bootstrap_blocking(request(&id, &[addr.to_string()])).unwrap();
    let Some(mnt) = Tmpfs::mount("64m") else { return };
    let (free, block) = mnt.free();
    let need: u64 = entries(&out.partition_dir)
        .iter()
        .map(|f| std::fs::metadata(out.partition_dir.join(f)).unwrap().len().div_ceil(block) * block)
        .sum();
    // Leave room for the partition's files and not one block more: the metadata write fails.
    let filler = mnt.path().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let mut left = free - need;
    let chunk = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        std::io::Write::write_all(&mut f, &chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.sync_all().unwrap();
    let base = mnt.path().join("b");
    // Resume off: its journal would take the one block the metadata needs.
    let err = receiver(&base, TableFormat::BlockBased, &[("vbt.receive.resume", "false")])
        .bootstrap_blocking(request(&id, &[addr.to_string()]))
        .unwrap_err();
    assert!(err.message().contains("metadata") && err.message().contains("No space left on device"), "{err}");
    assert!(tree(&base).is_empty(), "left behind: {:?}", tree(&base));
}

/// Waits until `node` is receiving from `peer` (bytes have arrived), so that a signal sent to the
/// sender next lands mid-transfer however slowly this machine started the transfer.
fn wait_receiving(node: &Node, peer: &str) {
    let receiving = || node.transfers().0.iter().any(|t| t.direction == "receive" && t.peer == peer && t.bytes_done > 0);
    assert!(eventually(Duration::from_secs(60), receiving), "no transfer from {peer} got going: {:?}", node.transfers());
}

#[test]
fn sigterm_lets_the_sender_stop_gracefully_and_the_receiver_moves_on() {
    let a = tempdir();
    let id = PartitionId::new("stopStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 16 * 1024);
    let b = tempdir();
    gen_partition(b.path(), &id, TableFormat::BlockBased, 16 * 1024);
    let (mut stopping, stopping_addr) = serve(&[
        "--base-dir",
        &s(a.path()),
        "-D",
        "blob.transfer.service.write.limit.bytes.per.sec=2097152",
        "-D",
        "vbt.server.shutdown.grace.ms=1000",
    ]);
    let (_good, good_addr) = sender(b.path(), TableFormat::BlockBased, &[]);
    let dst = tempdir();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[]);
    let op = node.bootstrap(request(&id, &[stopping_addr.clone(), good_addr.to_string()])).unwrap();
    // Mid-transfer (16 MiB at 2 MiB/s takes 8 s): SIGTERM.
    wait_receiving(&node, &stopping_addr);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(stopping.0.id() as i32, libc::SIGTERM) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(st) = stopping.0.try_wait().unwrap() {
            break st;
        }
        assert!(signalled.elapsed() < Duration::from_secs(5), "the sender did not stop within its grace period");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let out = op.wait().expect("the next peer serves it");
    assert_eq!(out.peer, good_addr.to_string());
    // Its first attempt, and (files having been kept for resume) the one retry of it.
    assert!((1..=2).contains(&out.failed_peers.len()), "{:?}", out.failed_peers);
    assert!(out.failed_peers.iter().all(|f| f.peer == stopping_addr));
    // A graceful stop with no transfer in flight ends at once: well inside the default 30 s
    // grace period (10 s, not 2: a process's exit on a loaded machine is not instant).
    let (mut idle, _) = serve(&["--base-dir", &s(b.path())]);
    unsafe { libc::kill(idle.0.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    assert_eq!(idle.0.wait().unwrap().code(), Some(0));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// Waits for a child to exit, at most `limit`; its status, or None if it is still running.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_lets_a_transfer_that_fits_in_the_grace_period_finish() {
    let a = tempdir();
    let id = PartitionId::new("graceStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 4 * 1024);
    // About 2 s of transfer, well inside a 20 s grace period.
    let (mut stopping, addr) = serve(&[
        "--base-dir",
        &s(a.path()),
        "-D",
        "blob.transfer.service.write.limit.bytes.per.sec=2097152",
        "-D",
        "vbt.server.shutdown.grace.ms=20000",
    ]);
    let dst = tempdir();
    let node = receiver(dst.path(), TableFormat::BlockBased, &[]);
    let op = node.bootstrap(request(&id, std::slice::from_ref(&addr))).unwrap();
    // In flight when the signal comes (sent before the transfer began, it would refuse it).
    wait_receiving(&node, &addr);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(stopping.0.id() as i32, libc::SIGTERM) };
    let out = op.wait().expect("the transfer in flight finishes during the grace period");
    assert_eq!(out.peer, addr);
    assert!(out.failed_peers.is_empty(), "{:?}", out.failed_peers);
    let status = exit_within(&mut stopping.0, Duration::from_secs(5)).expect("the sender stops once its transfer is done");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_request_head_that_does_not_arrive_in_time_closes_the_connection() {
    use std::io::{Read, Write};
    let a = tempdir();
    let (_server, addr) = serve(&["--base-dir", &s(a.path()), "-D", "vbt.server.request.head.timeout.ms=500"]);
    let closed_within = |mut c: std::net::TcpStream, dribble: bool| {
        let started = Instant::now();
        c.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut b = [0u8; 16];
        while started.elapsed() < Duration::from_secs(10) {
            if dribble {
                // One byte of a head at a time (slowloris): the limit is on the whole head.
                let _ = c.write_all(b"G");
            }
            match c.read(&mut b) {
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Ok(n) if n > 0 => {}
                _ => return started.elapsed(),
            }
        }
        started.elapsed()
    };
    for dribble in [false, true] {
        let c = std::net::TcpStream::connect(&addr).unwrap();
        let took = closed_within(c, dribble);
        assert!(took < Duration::from_secs(3), "dribble={dribble}: still open after {took:?}");
    }
}

#[test]
fn a_second_signal_ends_the_grace_period_at_once() {
    let a = tempdir();
    let id = PartitionId::new("againStore", 1, 0).unwrap();
    gen_partition(a.path(), &id, TableFormat::BlockBased, 16 * 1024);
    let (mut stopping, addr) = serve(&[
        "--base-dir",
        &s(a.path()),
        "-D",
        "blob.transfer.service.write.limit.bytes.per.sec=1048576",
        "-D",
        "vbt.server.shutdown.grace.ms=120000",
    ]);
    let dst = tempdir();
    // Resume off: with it, files verified before the sender stopped are kept for a retry.
    let node = receiver(dst.path(), TableFormat::BlockBased, &[("vbt.receive.resume", "false")]);
    let op = node.bootstrap(request(&id, std::slice::from_ref(&addr))).unwrap();
    // In flight (16 MiB at 1 MiB/s) when the first signal comes: otherwise nothing holds the sender.
    wait_receiving(&node, &addr);
    let pid = stopping.0.id() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(500));
    assert!(stopping.0.try_wait().unwrap().is_none(), "the first signal waits for the transfer");
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = exit_within(&mut stopping.0, Duration::from_secs(8)).expect("a second signal stops the sender at once");
    assert_eq!(status.code(), Some(0));
    assert!(op.wait().is_err(), "the transfer was ended");
    assert!(tree(dst.path()).is_empty(), "left behind: {:?}", tree(dst.path()));
}

#[test]
fn plaintext_sender_only_on_loopback_unless_allowed_by_name() {
    let base = tempdir();
    let b = s(base.path());
    let node = |pairs: &[(&str, &str)]| {
        let mut all = vec![("vbt.base.dir", b.as_str()), ("davinci.p2p.blob.transfer.server.port", "0")];
        all.extend_from_slice(pairs);
        Node::new(Config::from_pairs(all).unwrap()).unwrap()
    };
    // The default bind address is every interface: refused, naming the keys.
    let err = node(&[]).start_server().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    for key in ["blob.transfer.ssl.enabled", "blob.transfer.acl.enabled", "vbt.allow.plaintext"] {
        assert!(err.message().contains(key), "{err}");
    }
    node(&[("vbt.server.bind.address", "127.0.0.1")]).start_server().expect("loopback is allowed");
    node(&[("vbt.allow.plaintext", "true")]).start_server().expect("allowed by name");
    // Venice's rule: TLS and ACL together or not at all.
    for (k, v) in [("blob.transfer.ssl.enabled", "true"), ("blob.transfer.acl.enabled", "true")] {
        let err = Config::from_pairs([(k, v)]).unwrap_err();
        assert!(err.message().contains("blob.transfer.ssl.enabled") && err.message().contains("blob.transfer.acl.enabled"), "{err}");
    }
}

#[test]
fn manager_disabled_starts_nothing() {
    let base = tempdir();
    let b = s(base.path());
    let node = Node::new(
        Config::from_pairs([
            ("vbt.base.dir", b.as_str()),
            ("davinci.p2p.blob.transfer.server.port", "0"),
            ("vbt.server.bind.address", "127.0.0.1"),
            ("blob.transfer.manager.enabled", "false"),
        ])
        .unwrap(),
    )
    .unwrap();
    let err = node.start_server().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disabled);
    assert!(err.message().contains("blob.transfer.manager.enabled=false"), "{err}");
    assert!(node.server_addr().is_none());
    let id = PartitionId::new("offStore", 1, 0).unwrap();
    let err = node.bootstrap(request(&id, &["127.0.0.1:9".to_string()])).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Disabled);
    assert!(tree(base.path()).is_empty(), "{:?}", tree(base.path()));
}
