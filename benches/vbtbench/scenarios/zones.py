"""Issue #22: many receivers against a few busy senders, with zones. Three `vbt serve` processes,
each over its own copy of a --zones-mib partition and admitting --zones-admission transfers at
once, in zones z1, z2, z3; --zones receivers (`vbt fetch`, each its own base dir) in zone z1 start
together, each given all three senders as `addr@zone`. Measured: how many 429 refusals each
receiver met before its transfer (the most in a row, and in total), and which sender served how
many. Wanted: no receiver refused more than 3 times in a row, and the z1 sender serves the most."""

import json
import os
import shutil
import time

from ..common import Failed, log
from ..harness.files import rm, settle
from ..harness.procs import spawn_logged
from ..harness.procstat import loadavg
from .fanout import _wait_all
from .scenario import Scenario
from .servers import start_vbt_server
from . import rounds

STORE = "benchzone"
ZONES = ("z1", "z2", "z3")


def zones(sess):
    d = os.path.join(sess.work, "zones")
    try:
        _zones(sess, d)
    finally:
        rm(d)


def _refusals(j):
    """The 429s a receiver met, in the order met, from its `vbt fetch` JSON (failed_peers)."""
    return [f for f in j.get("failed_peers", []) if "429" in (f.get("error") or "")]


def _zones(sess, d):
    size, n, admission = sess.a.zones_mib, sess.a.zones, sess.a.zones_admission
    log(f"== {n} receivers in z1, 3 senders (z1, z2, z3) admitting {admission} each, {size} MiB (load {loadavg()})")
    first = os.path.join(d, "src-z1")
    sess.run("gen-zones", [sess.vbt, "gen", "--base-dir", first, "--store", STORE, "--version", "1",
                           "--partition", "0", "--size-mib", str(size)], timeout=3600)
    servers, peers = {}, []
    try:
        for z in ZONES:
            src = os.path.join(d, f"src-{z}")
            if not os.path.isdir(src):
                shutil.copytree(first, src)
            servers[z] = s = start_vbt_server(
                sess, f"zone-{z}", "plain", base_dir=src,
                extra=["-D", f"blob.transfer.max.concurrent.snapshot.user={admission}"])
            peers.append((s["peer"], z))
        sc = sess.add(Scenario(f"zones-{n}", f"{n} receivers in z1, 3 senders admitting {admission}", "vbt", "plain",
                               "zones", size, "warm", "plain-fast"))
        sess.attempt(sc, lambda: _run(sess, sc, d, n, peers))
    finally:
        rounds.stop(servers)


def _run(sess, sc, d, n, peers):
    recvs = [os.path.join(d, f"recv-{i:02d}") for i in range(n)]
    for r in recvs:
        rm(r)
    settle()
    load1 = loadavg()[0]
    logs = [sess.logfile(f"fetch-zones-{i:02d}") for i in range(n)]
    t0 = time.perf_counter()
    procs = []
    for r, lg in zip(recvs, logs):
        cmd = [sess.vbt, "fetch", "--base-dir", r, "--store", STORE, "--version", "1", "--partition", "0",
               "-D", "vbt.zone=z1", "-D", "blob.transfer.client.read.limit.bytes.per.sec=0"]
        for addr, z in peers:
            cmd += ["--peer", f"{addr}@{z}"]
        procs.append(spawn_logged(cmd, lg))
    done = _wait_all(procs, sess.a.timeout)
    wall = time.perf_counter() - t0
    served = {addr: 0 for addr, _ in peers}
    worst, total, ok, nbytes, errs = 0, 0, 0, 0, []
    for p, lg in zip(procs, logs):
        if p.returncode != 0:
            with open(lg + ".err", errors="replace") as f:
                errs.append(f.read()[-300:].strip())
            continue
        with open(lg + ".out") as f:
            j = json.loads(f.read().strip().splitlines()[-1])
        ok += 1
        nbytes += j["bytes"]
        served[j["peer"]] = served.get(j["peer"], 0) + 1
        refused = _refusals(j)
        total += len(refused)
        worst = max(worst, len(refused))  # every 429 of a successful bootstrap came before its transfer
    zone_of = {addr: z for addr, z in peers}
    by_zone = {zone_of.get(a, a): c for a, c in served.items()}
    sc.add(seconds=wall, bytes=nbytes, files=None, load1=load1, receivers=n, succeeded=ok,
           most_refusals=worst, refusals=total, served=by_zone, errors=errs[:3])
    for r in recvs:
        rm(r)
    log(f"  {ok}/{n} succeeded in {wall:.2f}s; most 429s before one transfer {worst}, {total} in all; "
        f"served by zone {by_zone}")
    if ok < n:
        raise Failed(f"{n - ok} of {n} receivers failed: {errs[0] if errs else ''}")
