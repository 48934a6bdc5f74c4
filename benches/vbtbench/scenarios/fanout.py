"""One sender, many receivers at once: N `vbt fetch` processes (default 30, each its own base
dir) of the same --fanout-mib partition from one `vbt serve` that admits them all
(`blob.transfer.max.concurrent.snapshot.user` = N), against one transfer alone from the same
sender. Default (fast) checksums, plaintext."""

import json
import os
import time
from functools import partial

from ..common import GIB, MIB, Failed, log
from ..harness.files import rm, settle
from ..harness.procs import kill_quietly, spawn_logged, CHILDREN
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib, reset_hwm
from . import rounds
from .runs import _fetch_cmd, vbt_fetch
from .scenario import Scenario
from .servers import start_vbt_server

STORE = "benchfan"


def fanout(sess):
    d = os.path.join(sess.work, "fanout")
    try:
        _fanout(sess, d)
    finally:
        rm(d)


def _wait_all(procs, timeout):
    """Polls every process (wait4 WNOHANG) so each one's own end time is known: {pid: (end, status,
    rusage)}. All are SIGKILLed after timeout seconds."""
    done, deadline = {}, time.monotonic() + timeout
    while len(done) < len(procs):
        for p in procs:
            if p.pid in done:
                continue
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                done[p.pid] = (time.perf_counter(), status, ru)
                CHILDREN.pop(p.pid, None)
                p.returncode = os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            for p in procs:
                if p.pid not in done:
                    kill_quietly(p.pid)
            deadline = float("inf")
        time.sleep(0.005)
    return done


def fetch_many(sess, sc, server, d, n):
    """n receivers started together; one sample: wall of the whole batch, aggregate bytes, and
    each receiver's own time."""
    recvs = [os.path.join(d, f"recv-{i:02d}") for i in range(n)]
    for r in recvs:
        rm(r)
    settle()
    pid = server["proc"].pid
    reset_hwm(pid)
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    logs = [sess.logfile(f"fetch-fanout-{i:02d}") for i in range(n)]
    t0 = time.perf_counter()
    procs = [spawn_logged(_fetch_cmd(sess, server, "plain", "fast", r, STORE, ()), lg)
             for r, lg in zip(recvs, logs)]
    done = _wait_all(procs, sess.a.timeout)
    wall = time.perf_counter() - t0
    c1 = proc_cpu(pid)
    ok, each, nbytes, errs = 0, [], 0, []
    for p, lg in zip(procs, logs):
        end, _, _ = done[p.pid]
        if p.returncode == 0:
            with open(lg + ".out") as f:
                j = json.loads(f.read().strip().splitlines()[-1])
            ok += 1
            nbytes += j["bytes"]
            each.append(end - t0)
        else:
            with open(lg + ".err", errors="replace") as f:
                errs.append(f.read()[-300:].strip())
    rus = [done[p.pid][2] for p in procs]
    sc.add(seconds=wall, bytes=nbytes, files=None, cpu_send=c1 - c0,
           cpu_recv=sum(ru.ru_utime + ru.ru_stime for ru in rus), rss_send_kib=proc_hwm_kib(pid),
           rss_recv_kib=max(ru.ru_maxrss for ru in rus), load1=load1, receivers=n, succeeded=ok,
           receiver_seconds=each, errors=errs[:3])
    for r in recvs:
        rm(r)
    if ok < n:
        raise Failed(f"{n - ok} of {n} receivers failed: {errs[0] if errs else ''}")


def _fanout(sess, d):
    size, n = sess.a.fanout_mib, sess.a.fanout
    sess.check_disk(int(size * MIB * (n + 2)) + GIB, f"{n} receivers of {size} MiB")
    log(f"== 1 sender, {n} receivers x {size} MiB (load {loadavg()})")
    src = os.path.join(d, "src")
    sess.run("gen-fanout", [sess.vbt, "gen", "--base-dir", src, "--store", STORE, "--version", "1",
                            "--partition", "0", "--size-mib", str(size)], timeout=3600)
    servers = {}
    try:
        servers["fanout"] = s = start_vbt_server(
            sess, "fanout", "plain", base_dir=src,
            extra=["-D", f"blob.transfer.max.concurrent.snapshot.user={max(30, n)}"])
        single = sess.add(Scenario("fanout-single", "one receiver alone", "vbt", "plain", "fanout", size,
                                   "warm", "plain-fast"))
        many = sess.add(Scenario(f"fanout-{n}", f"{n} receivers at once (aggregate)", "vbt", "plain", "fanout",
                                 size, "warm", "plain-fast"))
        recv = os.path.join(d, "recv-single")
        cold = Scenario("fanout-cold", "cold", "vbt", "plain", "fanout", size, "cold", "plain-fast")
        sess.attempt(cold, partial(vbt_fetch, sess, cold, s, "plain", "fast", recv, STORE))  # not reported
        reset_hwm(s["proc"].pid)
        rounds.run_rounds(sess, [(single, partial(vbt_fetch, sess, single, s, "plain", "fast", recv, STORE)),
                                 (many, partial(fetch_many, sess, many, s, d, n))])
    finally:
        rounds.stop(servers)
