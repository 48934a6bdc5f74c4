"""A generated RocksDB partition of one size: every vbt mode, cold and warm, against nginx+curl,
md5sum and re-ingestion of the same data; then, on the same partition and its warm plain fast
sender, the parts beside those rows (resume, identity, java: see extras_at). With `--skip
partitions` only those parts run (partition_extras)."""

import json
import os
import shutil
from functools import partial

from ..common import GIB, MIB, Failed, log
from ..harness.files import dir_files, rm, total_size
from ..harness.procstat import loadavg
from . import rounds
from .identity import identity
from .java import java_vs_vbt
from .resume import resume_vs_restart
from .runs import _fetch_cmd, md5sum, md5sum_both_cores, reingest, vbt_fetch
from .scenario import Scenario, curl_rows, md5sum_row, md5sum_x2_row
from .servers import start_nginx, start_vbt_server

STORE = "bench"
TOPIC = f"{STORE}_v1"
PART = f"{STORE}_v1_0"
NOCHECK = ["-D", "vbt.receive.verify.rocksdb=false"]
ONE_STREAM = ["-D", "vbt.receive.streams=1"]


def partition_size(sess, size):
    try:
        _partition_size(sess, size)
    finally:
        rm(os.path.join(sess.work, f"p{size}"))


def _generate(sess, size, src):
    r = sess.run(f"gen-{size}", [sess.vbt, "gen", "--base-dir", src, "--store", STORE, "--version", "1",
                                 "--partition", "0", "--size-mib", str(size)], timeout=3600)
    gen = json.loads(r["stdout"])
    log(f"  generated {gen['records']} records in {r['wall']:.1f}s")


def _sender_copy(src, base):
    """A sender's own copy of the partition (SSTs hard-linked, no LOCK), so every mode has a real
    cold first request and its own snapshot."""
    os.makedirs(os.path.join(base, TOPIC, PART))
    for n in os.listdir(os.path.join(src, TOPIC, PART)):
        s, t = os.path.join(src, TOPIC, PART, n), os.path.join(base, TOPIC, PART, n)
        if n.endswith(".sst"):
            os.link(s, t)
        elif os.path.isfile(s) and n != "LOCK":
            shutil.copy2(s, t)
    for n in os.listdir(os.path.join(src, TOPIC)):
        s = os.path.join(src, TOPIC, n)
        if os.path.isfile(s):
            shutil.copy2(s, os.path.join(base, TOPIC, n))
    return {"base_dir": base}


def _nginx_root(d):
    """nginx serves the very files vbt sends: the first sender's snapshot, hard-linked."""
    snap = os.path.join(d, "serve-plain-md5", TOPIC, PART, ".snapshot_files")
    www = os.path.join(d, "www")
    os.makedirs(www)
    if not os.path.isdir(snap):
        raise Failed(f"no snapshot directory {snap} after the cold request")
    for n in os.listdir(snap):
        os.link(os.path.join(snap, n), os.path.join(www, n))
    return www


def _nocheck_row(sess, size):
    # Diagnostic: the transfer path alone, without the RocksDB open of the result.
    return sess.add(Scenario("vbt-plain-fast-nocheck", "vbt plain fast warm, no RocksDB check",
                             "vbt", "plain", "partition", size, "diag", "plain-fast"))


def _one_stream_rows(sess, size):
    """fast warm with one connection (`vbt.receive.streams=1`) against the default (2), per
    transport; {transport: Scenario}."""
    return {t: sess.add(Scenario(f"vbt-{t}-fast-warm-s1", f"vbt {t} fast warm, streams=1", "vbt", t,
                                 "partition", size, "diag", f"{t}-fast"))
            for t in sess.transports if (t, "fast") in sess.modes and "streams1" not in sess.a.skip}


def _transfers(sess, size, d, src):
    """Senders, nginx and the rounds; the servers are stopped before it returns. The files
    nginx served."""
    servers = {}
    try:
        vbt = rounds.start_senders(sess, servers, str(size), "partition", size,
                                   lambda m: _sender_copy(src, os.path.join(d, f"serve-{m}")))
        nocheck = None if sess.a.quick else _nocheck_row(sess, size)
        one_stream = _one_stream_rows(sess, size)
        recv = os.path.join(d, "recv")
        rounds.cold_requests(sess, servers, vbt, recv, STORE)
        www = _nginx_root(d)
        files = dir_files(www)
        ngx = start_nginx(sess, f"p{size}", www)
        servers["nginx"] = {"proc": ngx["proc"]}
        curls = curl_rows(sess, "partition", size, (None, "md5sum", "fsync"))
        one, two = md5sum_row(sess, "partition", size), md5sum_x2_row(sess, "partition", size)
        steps = rounds.fetch_steps(sess, servers, vbt, "warm", recv, STORE)
        if nocheck:
            steps.append((nocheck, partial(vbt_fetch, sess, nocheck, servers["plain-fast"], "plain", "fast",
                                           recv, STORE, NOCHECK)))
        for t, sc in one_stream.items():
            steps.append((sc, partial(vbt_fetch, sess, sc, servers[f"{t}-fast"], t, "fast", recv, STORE,
                                      ONE_STREAM)))
        steps += rounds.curl_steps(sess, curls, ngx, files)
        steps += [(one, partial(md5sum, sess, one, files)), (two, partial(md5sum_both_cores, sess, two, files))]
        rounds.run_rounds(sess, steps)
        _extras(sess, servers["plain-fast"], size, d, src)
    finally:
        rounds.stop(servers)
    return files


def extras_at(sess, size):
    """The parts beside the partition rows that run at this size: resume and identity at the
    largest size, java (when a Java harness was given) at the first."""
    a = sess.a
    out = []
    if size == max(a.sizes):
        out += [x for x in ("resume", "identity") if x not in a.skip]
    if size == a.sizes[0] and a.java_harness and "java" not in a.skip:
        out.append("java")
    return out


def _extras(sess, server, size, d, src):
    """resume, identity and java against the warm plain fast sender; one failing does not stop
    the others."""
    snap = os.path.join(d, "serve-plain-fast", TOPIC, PART, ".snapshot_files")
    parts = {
        "resume": lambda: resume_vs_restart(sess, server, size, d, STORE, PART),
        "identity": lambda: identity(sess, server, size, d, STORE, PART, lambda base: _sender_copy(src, base)),
        "java": lambda: java_vs_vbt(sess, server, size, d, STORE, snap),
    }
    for name in extras_at(sess, size):
        try:
            parts[name]()
        except Failed as e:
            log(f"  FAILED {name}, {size} MiB: {e}")
            sess.failures.append(f"{name} {size}: {e}")


def partition_extras(sess, size):
    """`--skip partitions`: only the parts beside the partition rows, on the same partition and a
    plain fast sender warmed by one unrecorded fetch (its snapshot made)."""
    sess.check_disk(int(size * MIB * 5.5) + GIB, f"a {size} MiB partition")
    d = os.path.join(sess.work, f"p{size}")
    src = os.path.join(d, "src")
    servers = {}
    try:
        log(f"== {size} MiB partition: {', '.join(extras_at(sess, size))} (load {loadavg()})")
        _generate(sess, size, src)
        servers["plain-fast"] = s = start_vbt_server(sess, f"{size}-plain-fast", "plain",
                                                     **_sender_copy(src, os.path.join(d, "serve-plain-fast")))
        recv = os.path.join(d, "recv")
        rm(recv)
        sess.run("fetch-first-request", _fetch_cmd(sess, s, "plain", "fast", recv, STORE, ()))
        rm(recv)
        _extras(sess, s, size, d, src)
    finally:
        rounds.stop(servers)
        rm(d)


def _reingest(sess, size, d, src, files):
    """Re-ingestion baseline, run with the senders stopped."""
    if "reingest" in sess.a.skip:
        return
    sc = sess.add(Scenario("reingest", "reingest (RocksDB writes)", "baseline", "plain", "partition", size))
    nbytes = total_size(files)
    into = os.path.join(d, "reingest")
    for i in range(sess.a.reingest_runs):
        sess.attempt(sc, lambda: reingest(sess, sc, src, STORE, into, nbytes, len(files)))
        if sc.samples:
            log(f"  reingest {i + 1}/{sess.a.reingest_runs}: {sc.samples[-1]['seconds']:.1f}s")


def _partition_size(sess, size):
    # source + receiver copy + curl copy + reingest (data + WAL) + slack
    sess.check_disk(int(size * MIB * 5.5) + GIB, f"a {size} MiB partition")
    d = os.path.join(sess.work, f"p{size}")
    src = os.path.join(d, "src")
    log(f"== {size} MiB partition (load {loadavg()})")
    _generate(sess, size, src)
    files = _transfers(sess, size, d, src)
    _reingest(sess, size, d, src, files)
