"""Eight partitions at once in MD5 (Java-compatible) mode: one sender holding 8 partitions of
--multi-mib / 8 each, one receiving node running `vbt fetch --partition 0-7`, against one
md5sum of the same bytes."""

import json
import os
from functools import partial

from ..common import GIB, MIB, Failed, log
from ..harness.files import dir_files, rm, settle
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib, reset_hwm
from . import rounds
from .runs import _fetch_cmd, md5sum
from .scenario import Scenario, md5sum_row
from .servers import start_vbt_server

STORE = "benchmulti"
PARTS = 8


def multi_partitions(sess):
    d = os.path.join(sess.work, "multi")
    try:
        _multi(sess, d)
    finally:
        rm(d)


def _generate(sess, src, each_mib):
    for p in range(PARTS):
        sess.run(f"gen-multi-{p}", [sess.vbt, "gen", "--base-dir", src, "--store", STORE, "--version", "1",
                                    "--partition", str(p), "--size-mib", str(each_mib)], timeout=3600)


def fetch_all(sess, sc, server, recv):
    """One `vbt fetch --partition 0-7` in MD5 mode; the whole command's wall time and rusage."""
    rm(recv)
    settle()
    cmd = _fetch_cmd(sess, server, "plain", "md5", recv, STORE, ())
    cmd[cmd.index("--partition") + 1] = f"0-{PARTS - 1}"
    pid = server["proc"].pid
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    r = sess.run(f"fetch-{sc.key}", cmd)
    c1 = proc_cpu(pid)
    lines = [json.loads(x) for x in r["stdout"].strip().splitlines()]
    parts = [x for x in lines if not x.get("summary")]
    summary = [x for x in lines if x.get("summary")]
    if len(parts) != PARTS or not summary or summary[0].get("failed"):
        raise Failed(f"vbt fetch of {PARTS} partitions: {r['stdout'][-500:]}")
    if any(x.get("checksum") != "MD5" for x in parts):
        raise Failed("a partition was not checked with MD5")
    sc.add(seconds=r["wall"], bytes=sum(x["bytes"] for x in parts), files=sum(x["files"] for x in parts),
           cpu_send=c1 - c0, cpu_recv=r["cpu"], rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"],
           ttfb=max(x.get("first_byte_seconds") or 0 for x in parts), vbt_seconds=summary[0].get("seconds"),
           load1=load1, partition_seconds=[x.get("seconds") for x in parts])
    rm(recv)


def _multi(sess, d):
    total = sess.a.multi_mib
    each = max(1, total // PARTS)
    sess.check_disk(int(total * MIB * 2.5) + GIB, f"{PARTS} partitions of {each} MiB")
    log(f"== {PARTS} partitions x {each} MiB, MD5 (load {loadavg()})")
    src = os.path.join(d, "src")
    _generate(sess, src, each)
    recv = os.path.join(d, "recv")
    servers = {}
    try:
        servers["multi"] = s = start_vbt_server(sess, "multi", "plain", base_dir=src)
        cold = sess.add(Scenario("multi-md5-cold", f"vbt fetch --partition 0-7, md5, cold", "vbt", "plain",
                                 "multi", total, "cold", "plain-md5"))
        warm = sess.add(Scenario("multi-md5-warm", f"vbt fetch --partition 0-7, md5, warm", "vbt", "plain",
                                 "multi", total, "warm", "plain-md5"))
        sess.attempt(cold, partial(fetch_all, sess, cold, s, recv))
        reset_hwm(s["proc"].pid)
        files = []
        for p in range(PARTS):
            snap = os.path.join(src, f"{STORE}_v1", f"{STORE}_v1_{p}", ".snapshot_files")
            if not os.path.isdir(snap):
                raise Failed(f"no snapshot directory {snap} after the cold request")
            files += dir_files(snap)
        one = md5sum_row(sess, "multi", total)
        rounds.run_rounds(sess, [(warm, partial(fetch_all, sess, warm, s, recv)),
                                 (one, partial(md5sum, sess, one, files))])
    finally:
        rounds.stop(servers)
