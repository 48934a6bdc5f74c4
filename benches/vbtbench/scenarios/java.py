"""Issue #21: vbt->vbt in its default config against Venice's own Java sender and receiver, on the
same partition files, in the same run. Optional: it needs a harness outside this repository that
runs Venice's real Java blob-transfer code (`--java-harness DIR`, or `VENICE_HARNESS`), a
directory with two scripts:

- `run-sender.sh --dir DIR --port P`: Venice's sender on port P, serving the files of DIR as the
  snapshot of whatever store/version/partition is asked for; runs until killed (the script
  execs the JVM, so its pid is the JVM's);
- `run-receiver.sh --host H --port P --base DIR --store S`: one attempt of Venice's receiver
  (size and MD5 checks, rename to `DIR/S_v1/S_v1_0`); prints `RESULT ok=true seconds=S bytes=N`
  (seconds: Java's own timer, from the request to the renamed partition, JVM start excluded).

Rows, plaintext, limits off on both sides: Java receiver <- Java sender, vbt fetch <- vbt serve
(the warm plain fast sender: default config), and the cross pairs vbt fetch <- Java sender and
Java receiver <- vbt serve. The Java sender serves a hard-linked copy of the vbt sender's
snapshot (a RocksDB checkpoint, so vbt's receiver can open what it gets)."""

import os
import re
from functools import partial

from ..common import Failed, log
from ..harness.files import dir_files, rm, settle, total_size
from ..harness.net import free_port, wait_listening
from ..harness.procs import kill_child, spawn_logged
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib, reset_hwm
from . import rounds
from .runs import _fetch_cmd, vbt_fetch
from .scenario import Scenario

SENDER, RECEIVER = "run-sender.sh", "run-receiver.sh"
RESULT = re.compile(r"^RESULT ok=true seconds=([0-9.]+) bytes=([0-9]+)\s*$", re.M)


def harness_problem(d):
    """Why d is not a usable harness directory, or None."""
    for n in (SENDER, RECEIVER):
        if not os.access(os.path.join(d, n), os.X_OK):
            return f"no executable {n} in {d}"
    return None


def java_receive(sess, sc, server, recv, store, nbytes):
    """One Java receiver process against server; seconds = Java's own timer, wall = the process's."""
    rm(recv)
    settle()
    pid = server["proc"].pid
    reset_hwm(pid)
    load1 = loadavg()[0]
    host, port = server["peer"].rsplit(":", 1)
    c0 = proc_cpu(pid)
    r = sess.run(f"java-recv-{sc.key}", [os.path.join(sess.a.java_harness, RECEIVER), "--host", host,
                                         "--port", port, "--base", recv, "--store", store])
    c1 = proc_cpu(pid)
    m = RESULT.search(r["stdout"])
    if not m:
        raise Failed(f"no RESULT ok=true line from the Java receiver: {r['stdout'][-300:]!r}")
    seconds, got = float(m.group(1)), int(m.group(2))
    if got != nbytes:
        raise Failed(f"the Java receiver got {got} bytes, expected {nbytes}")
    part = os.path.join(recv, f"{store}_v1", f"{store}_v1_0")
    files = len(dir_files(part)) if os.path.isdir(part) else None
    sc.add(seconds=seconds, wall=r["wall"], bytes=got, files=files, cpu_send=c1 - c0, cpu_recv=r["cpu"],
           rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"], load1=load1)
    rm(recv)


def _java_sender(sess, jdir):
    port = free_port()
    base = sess.logfile("java-sender")
    p = spawn_logged([os.path.join(sess.a.java_harness, SENDER), "--dir", jdir, "--port", str(port)], base)
    try:
        wait_listening(p, port, "the Java sender", base + ".err", timeout=60)
    except Failed:
        kill_child(p)
        raise
    return {"proc": p, "peer": f"127.0.0.1:{port}", "err": base + ".err"}


def _rows(sess, size):
    def row(key, label, kind, phase=None):
        return sess.add(Scenario(key, label, kind, "plain", "java", size, phase, "plain-fast" if kind == "vbt" else None))
    return {
        "vbt": row("vbt-vbt", "vbt fetch <- vbt serve (default config)", "vbt", "warm"),
        "java": row("java-java", "Java receiver <- Java sender (Venice)", "baseline"),
        "vbt-java": row("vbt-from-java", "vbt fetch <- Java sender", "baseline"),
        "java-vbt": row("java-from-vbt", "Java receiver <- vbt serve", "baseline"),
    }


def java_vs_vbt(sess, server, size, d, store, snap):
    """The four rows, interleaved over --runs rounds. server: the warm plain fast vbt sender; snap:
    its snapshot directory (the files the Java sender serves, hard-linked)."""
    if not os.path.isdir(snap):
        raise Failed(f"no snapshot directory {snap}")
    jdir = os.path.join(d, "java-src")
    rm(jdir)
    os.makedirs(jdir)
    for n in os.listdir(snap):
        os.link(os.path.join(snap, n), os.path.join(jdir, n))
    nbytes = total_size(dir_files(jdir))
    log(f"  Venice's Java sender and receiver against vbt, {size} MiB (load {loadavg()[0]:.2f})")
    jsrv = None
    recv = os.path.join(d, "recv-java")
    try:
        jsrv = _java_sender(sess, jdir)
        rows = _rows(sess, size)
        # A fresh JVM's first request pays class loading, JIT and Jackson's first use; a Venice
        # server's sender is long-running, so one unrecorded transfer warms it first.
        rm(recv)
        sess.run("fetch-java-sender-warmup", _fetch_cmd(sess, jsrv, "plain", "fast", recv, store, ()))
        rm(recv)
        steps = [
            (rows["vbt"], partial(vbt_fetch, sess, rows["vbt"], server, "plain", "fast", recv, store)),
            (rows["java"], partial(java_receive, sess, rows["java"], jsrv, recv, store, nbytes)),
            (rows["vbt-java"], partial(vbt_fetch, sess, rows["vbt-java"], jsrv, "plain", "fast", recv, store)),
            (rows["java-vbt"], partial(java_receive, sess, rows["java-vbt"], server, recv, store, nbytes)),
        ]
        rounds.run_rounds(sess, steps)
    finally:
        if jsrv:
            kill_child(jsrv["proc"])
        rm(jdir)
        rm(recv)
