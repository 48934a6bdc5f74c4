//! Never a partial partition: real `vbt fetch` processes killed (SIGKILL) at each step of receive
//! and install, two processes racing for one partition, and a panic inside a bootstrap. Needs the
//! `failpoints` feature (scripts/test builds with it); without it these tests say so and pass.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use venice_blob_transfer::{PartitionId, TableFormat};

use crate::common::*;

const PART: [&str; 6] = ["--store", "crashStore", "--version", "3", "--partition", "2"];

fn failpoints_built() -> bool {
    if cfg!(feature = "failpoints") {
        return true;
    }
    eprintln!("skipped: build with --features failpoints (scripts/test does)");
    false
}

fn fetch_args<'a>(base: &'a str, peer: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [&["fetch", "--base-dir", base, "--peer", peer][..], &PART, extra].concat()
}

/// What a crashed or finished fetch may leave: nothing, or the whole partition with its metadata.
fn assert_absent_or_installed(base: &Path, what: &str) -> bool {
    let dir = base.join("crashStore_v3/crashStore_v3_2");
    let meta = base.join("crashStore_v3/crashStore_v3_2.metadata.json");
    if dir.exists() {
        assert!(meta.is_file(), "{what}: a partition without its metadata: {:?}", tree(base));
        let out = vbt(&[&["verify", "--base-dir", &s(base)][..], &PART].concat());
        assert!(out.status.success(), "{what}: installed partition fails verify: {}", String::from_utf8_lossy(&out.stderr));
        true
    } else {
        false
    }
}

/// Nothing of a receive in the base directory, and nothing left in vbt's state directory but the
/// installed partition's digest ledger (its folders go when empty).
fn assert_no_leftovers(base: &Path, what: &str) {
    let left: Vec<String> = tree(base).into_iter().filter(|p| p.contains("temp_transferred_") || p.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "{what}: left behind {left:?}");
    let state = Layout::new(base).state().to_path_buf();
    assert!(state_leftovers(base).is_empty(), "{what}: left behind in {}: {:?}", state.display(), tree(&state));
}

#[test]
fn killed_at_every_step_leaves_absent_or_installed_and_the_next_start_repairs() {
    if !failpoints_built() {
        return;
    }
    let src = tempdir();
    let out = vbt(&[&["gen", "--base-dir", &s(src.path()), "--size-mib", "6"][..], &PART].concat());
    assert!(out.status.success());
    let (_server, addr) = serve(&["--base-dir", &s(src.path())]);
    // Steps of a successful receive and install.
    for point in [
        "recv-after-file-sync",
        "install-before-metadata",
        "install-after-metadata",
        "install-before-rename",
        "install-after-rename",
        "install-before-parent-sync",
        "install-after-parent-sync",
    ] {
        let dst = tempdir();
        let base = s(dst.path());
        let out = vbt_env(&fetch_args(&base, &addr, &[]), &[("VBT_KILL_AT", point)]);
        assert_eq!(out.status.signal(), Some(9), "{point}: the fetch was not killed there: {}", String::from_utf8_lossy(&out.stderr));
        let installed = assert_absent_or_installed(dst.path(), point);
        // The next start (another fetch of the same partition) repairs and then either fetches
        // it or, if it is installed, refuses to replace it.
        let out = vbt(&fetch_args(&base, &addr, &[]));
        if installed {
            assert_eq!(out.status.code(), Some(1), "{point}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("already holds data"), "{point}");
        } else {
            assert!(out.status.success(), "{point}: rerun failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(assert_absent_or_installed(dst.path(), point), "{point}: rerun installed nothing");
        assert_no_leftovers(dst.path(), point);
        if point == "install-after-rename" {
            // Not stuck: the crashed node serves what it installed (its metadata is there).
            let (_again, addr2) = serve(&["--base-dir", &base]);
            let third = tempdir();
            let out = vbt(&fetch_args(&s(third.path()), &addr2, &[]));
            assert!(out.status.success(), "{point}: serving the crashed node's partition: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // During the cleanup of a failed attempt: the attempt runs out of time after some bytes (a
    // slow sender), and the process dies half way through removing what it wrote. The 6 MiB at
    // 1 MiB/s take 6 s; the 2 s limit leaves room for the first bytes on a loaded machine (with
    // none written there is nothing to remove, and no point to die at).
    // (A copy: two processes cannot open one RocksDB partition.)
    let copy = tempdir();
    assert!(std::process::Command::new("cp").args(["-a", &format!("{}/.", s(src.path())), &s(copy.path())]).status().unwrap().success());
    let (_slow, slow) = serve(&["--base-dir", &s(copy.path()), "-D", "blob.transfer.service.write.limit.bytes.per.sec=1048576"]);
    let dst = tempdir();
    let base = s(dst.path());
    // (Resume off: with it, the files verified before the timeout are kept, not removed.)
    let out = vbt_env(
        &fetch_args(&base, &slow, &["-D", "vbt.receive.max.timeout.ms=2000", "-D", "vbt.receive.resume=false"]),
        &[("VBT_KILL_AT", "cleanup-midway")],
    );
    assert_eq!(out.status.signal(), Some(9), "cleanup-midway: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!assert_absent_or_installed(dst.path(), "cleanup-midway"));
    let out = vbt(&fetch_args(&base, &addr, &[]));
    assert!(out.status.success(), "after cleanup-midway: {}", String::from_utf8_lossy(&out.stderr));
    assert!(assert_absent_or_installed(dst.path(), "cleanup-midway rerun"));
    assert_no_leftovers(dst.path(), "cleanup-midway");
}

#[test]
fn leftovers_are_repaired_at_start_and_data_vbt_did_not_write_is_kept() {
    // What a crash (or an older vbt) could leave: temp metadata, a temp dir, another partition's
    // metadata without its partition. The next start removes them and the partition is fetched.
    let src = tempdir();
    assert!(vbt(&[&["gen", "--base-dir", &s(src.path()), "--size-mib", "2"][..], &PART].concat()).status.success());
    let dst = tempdir();
    let base = dst.path();
    std::fs::create_dir_all(base.join("crashStore_v3/temp_transferred_crashStore_v3_2")).unwrap();
    std::fs::write(base.join("crashStore_v3/temp_transferred_crashStore_v3_2/000009.sst"), b"half").unwrap();
    std::fs::write(base.join("crashStore_v3/crashStore_v3_2.metadata.json.tmp"), b"{").unwrap();
    std::fs::write(base.join("crashStore_v3/crashStore_v3_7.metadata.json"), b"{}").unwrap();
    let (_server, addr) = serve(&["--base-dir", &s(src.path())]);
    let out = vbt(&fetch_args(&s(base), &addr, &[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(assert_absent_or_installed(base, "repaired"));
    assert_no_leftovers(base, "repaired");
    assert!(!base.join("crashStore_v3/crashStore_v3_7.metadata.json").exists());

    // A partition directory without metadata (say, a Venice node's own RocksDB partition) is
    // not vbt's: start-up keeps it, a sender does not serve it, a bootstrap refuses and says why.
    let foreign = tempdir();
    let dir = foreign.path().join("crashStore_v3/crashStore_v3_2");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("000009.sst"), b"not vbt's").unwrap();
    let out = vbt(&fetch_args(&s(foreign.path()), &addr, &[]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already holds data") && err.contains("no metadata"), "{err}");
    assert_eq!(std::fs::read(dir.join("000009.sst")).unwrap(), b"not vbt's");
    // Files that are not vbt's names are never touched either.
    std::fs::write(foreign.path().join("crashStore_v3/notes.txt"), b"mine").unwrap();
    let (_other, _addr) = serve(&["--base-dir", &s(foreign.path())]);
    assert!(dir.join("000009.sst").exists() && foreign.path().join("crashStore_v3/notes.txt").exists());
}

#[test]
fn two_processes_racing_for_one_partition_never_corrupt_it() {
    let src = tempdir();
    assert!(vbt(&[&["gen", "--base-dir", &s(src.path()), "--size-mib", "4"][..], &PART].concat()).status.success());
    let (_server, addr) = serve(&["--base-dir", &s(src.path())]);
    // Slow enough that the two overlap; no RocksDB check, so only our own checks stand guard.
    let slow = ["-D", "blob.transfer.client.read.limit.bytes.per.sec=8388608", "-D", "vbt.receive.verify.rocksdb=false"];
    for round in 0..20 {
        let apart = if round % 2 == 0 { Duration::ZERO } else { Duration::from_millis(300) };
        let dst = tempdir();
        let base = s(dst.path());
        let start = |extra: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_vbt"))
                .args(fetch_args(&base, &addr, extra))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let first = start(&slow);
        std::thread::sleep(apart);
        let second = start(&slow);
        let outs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
        let won = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            won,
            1,
            "round {round}: exactly one installs: {:?}",
            outs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<Vec<_>>()
        );
        for o in outs.iter().filter(|o| !o.status.success()) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("is being bootstrapped by another process") || err.contains("already holds data"),
                "round {round}: the loser's error: {err}"
            );
        }
        assert!(assert_absent_or_installed(dst.path(), &format!("round {round}")));
        assert_no_leftovers(dst.path(), &format!("round {round}"));
    }
}

#[test]
fn a_panic_inside_a_bootstrap_cleans_up_and_is_reported_as_one() {
    if !failpoints_built() {
        return;
    }
    let src = tempdir();
    assert!(vbt(&[&["gen", "--base-dir", &s(src.path()), "--size-mib", "2"][..], &PART].concat()).status.success());
    let (_server, addr) = serve(&["--base-dir", &s(src.path())]);
    let dst = tempdir();
    let started = Instant::now();
    let out = vbt_env(&fetch_args(&s(dst.path()), &addr, &[]), &[("FAILPOINTS", "recv-after-file=panic")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("panicked") && !err.contains("shut down"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(tree(dst.path()).is_empty(), "left behind: {:?}", tree(dst.path()));
}

#[test]
fn a_lock_left_by_a_fetch_killed_before_any_byte_is_removed_at_the_next_start() {
    // A peer that takes the request and says nothing: the fetch holds its lock, has written nothing.
    let silent = ScriptedPeer::start(Vec::new(), true);
    let dst = tempdir();
    let base = s(dst.path());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vbt"))
        .args(fetch_args(&base, &silent.peer(), &[]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = Layout::new(dst.path()).lock_file(&PartitionId::new("crashStore", 3, 2).unwrap());
    assert!(eventually(Duration::from_secs(10), || lock.exists() && silent.requests.lock().unwrap().len() == 1));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(lock.exists());
    // The next start on this base directory, whatever it then does, repairs it.
    let _node = receiver(dst.path(), TableFormat::BlockBased, &[]);
    assert!(tree(dst.path()).is_empty(), "left behind: {:?}", tree(dst.path()));
}
