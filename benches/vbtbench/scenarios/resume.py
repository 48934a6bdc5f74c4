"""Resume against restart: a bootstrap cut at ~90 % (the receiving `vbt fetch` SIGKILLed), then
finished by a fresh `vbt fetch` that resumes (the default), or by one with
`vbt.receive.resume=false` that starts over. Same sender, same partial state both times."""

import json
import os
import signal
import time

from ..common import Failed, log
from ..harness.files import dir_files, rm, settle, total_size
from ..harness.procs import kill_child, spawn_logged
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib, reset_hwm
from .runs import _fetch_cmd
from .scenario import Scenario

CUT = 0.9
# The cut run is throttled so it takes about this long to reach the cut; polled every 20 ms.
CUT_SECONDS = 8.0


def _temp_bytes(temp):
    n = 0
    try:
        with os.scandir(temp) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    n += e.stat().st_size
    except FileNotFoundError:
        pass
    return n


def _cut(sess, server, recv, store, part, total):
    """Starts a throttled `vbt fetch` and SIGKILLs it once its temp dir holds CUT of the bytes;
    the bytes it had written."""
    rm(recv)
    settle()
    limit = max(1, int(total / CUT_SECONDS))
    cmd = _fetch_cmd(sess, server, "plain", "fast", recv, store, ())
    cmd += ["-D", f"blob.transfer.client.read.limit.bytes.per.sec={limit}"]
    # The landing dir, in vbt's state dir beside the base (`<base>.vbt/landing/<store>_v1_<P>`).
    temp = os.path.join(recv.rstrip("/") + ".vbt", "landing", part)
    p = spawn_logged(cmd, sess.logfile("fetch-resume-cut"))
    end = time.monotonic() + CUT_SECONDS * 10
    try:
        while time.monotonic() < end:
            if p.poll() is not None:
                raise Failed(f"the throttled vbt fetch ended (exit {p.returncode}) before the cut")
            got = _temp_bytes(temp)
            if got >= CUT * total:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                return _temp_bytes(temp)
            time.sleep(0.02)
        raise Failed(f"the throttled vbt fetch did not reach {CUT:.0%} within {CUT_SECONDS * 10:.0f}s")
    finally:
        kill_child(p)


def _finish(sess, sc, server, recv, store, total, cut_bytes, extra):
    pid = server["proc"].pid
    reset_hwm(pid)
    settle()
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    r = sess.run(f"fetch-{sc.key}", _fetch_cmd(sess, server, "plain", "fast", recv, store, extra))
    c1 = proc_cpu(pid)
    j = json.loads(r["stdout"].strip().splitlines()[-1])
    sc.add(seconds=r["wall"], bytes=total, files=j["files"], cpu_send=c1 - c0, cpu_recv=r["cpu"],
           rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"], ttfb=j.get("first_byte_seconds"),
           vbt_seconds=j.get("seconds"), load1=load1, cut_bytes=cut_bytes,
           resumed_bytes=j.get("resumed_bytes"), reported_bytes=j.get("bytes"), streams=j.get("streams"))
    rm(recv)


def resume_vs_restart(sess, server, size, d, store, part):
    """Both rows for the plaintext fast sender of this partition size (already warm)."""
    snap = os.path.join(d, "serve-plain-fast", f"{store}_v1", part, ".snapshot_files")
    if not os.path.isdir(snap):
        raise Failed(f"no snapshot directory {snap}")
    total = total_size(dir_files(snap))
    recv = os.path.join(d, "recv-resume")
    rows = [
        (sess.add(Scenario("resume-resumed", f"cut at {CUT:.0%}, then resumed", "vbt", "plain", "resume", size,
                           "warm", "plain-fast")), ()),
        (sess.add(Scenario("resume-restart", f"cut at {CUT:.0%}, then restarted (resume=false)", "vbt", "plain",
                           "resume", size, "warm", "plain-fast")), ("-D", "vbt.receive.resume=false")),
    ]
    log(f"  resume vs restart, {size} MiB (load {loadavg()[0]:.2f})")
    for sc, extra in rows:
        def one(sc=sc, extra=extra):
            cut = _cut(sess, server, recv, store, part, total)
            _finish(sess, sc, server, recv, store, total, cut, list(extra))
        sess.attempt(sc, one)
    rm(recv)
