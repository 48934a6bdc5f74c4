"""One measured run of each kind; each adds one sample to its row. Before every run the page
cache is written back (settle) so no run pays for the previous one's writes and deletes."""

import json
import os
import time

from ..common import Failed
from ..harness.files import dir_files, rm, settle, total_size
from ..harness.procs import reap, spawn_logged
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib, reset_hwm


def _fetch_cmd(sess, server, transport, checksum, recv_base, store, extra):
    cmd = [sess.vbt, "fetch", "--base-dir", recv_base, "--store", store, "--version", "1",
           "--partition", "0", "--peer", server["peer"],
           "-D", "blob.transfer.client.read.limit.bytes.per.sec=0"]
    # Fast (XXH3) is the default between vbt nodes; md5 is the Java-compatible mode.
    cmd += ["-D", "vbt.checksum.fast=" + ("true" if checksum == "fast" else "false")]
    if transport == "tls":
        cmd += sess.certs["receiver"]
    return cmd + list(extra)


def vbt_fetch(sess, sc, server, transport, checksum, recv_base, store, extra=()):
    """`vbt fetch` into a fresh base dir; the sender's CPU is the delta of its /proc counters."""
    rm(recv_base)
    settle()
    cmd = _fetch_cmd(sess, server, transport, checksum, recv_base, store, extra)
    pid = server["proc"].pid
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    r = sess.run(f"fetch-{sc.key}", cmd)
    c1 = proc_cpu(pid)
    j = json.loads(r["stdout"].strip().splitlines()[-1])
    sc.add(seconds=r["wall"], bytes=j["bytes"], files=j["files"], cpu_send=c1 - c0,
           cpu_recv=r["cpu"], rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"],
           ttfb=j.get("first_byte_seconds"), vbt_seconds=j.get("seconds"), load1=load1)
    rm(recv_base)
    return j


def _curl_config(sess, ngx, transport, files, dl):
    """A curl -K config: one url/output pair per file, so one curl fetches them all over one
    connection."""
    cfg = sess.logfile("curl") + ".cfg"
    with open(cfg, "w") as f:
        for path in files:
            n = os.path.basename(path)
            if transport == "tls":
                f.write(f'url = "https://localhost:{ngx["tport"]}/{n}"\n')
            else:
                f.write(f'url = "http://127.0.0.1:{ngx["port"]}/{n}"\n')
            f.write(f'output = "{os.path.join(dl, n)}"\n')
    return cfg


def _curl_cmd(sess, ngx, transport, cfg):
    cmd = ["curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--http1.1",
           "-w", "%{time_starttransfer}\\n", "-K", cfg]
    if transport == "tls":
        c = sess.certs
        cmd += ["--cacert", c["ca"], "--cert", c["receiver_crt"], "--key", c["receiver_key"],
                "--resolve", f"localhost:{ngx['tport']}:127.0.0.1"]
    return cmd


# What may follow the download: the command run over the downloaded files.
AFTER_CURL = {"md5sum": ("md5sum", ["md5sum"]), "fsync": ("sync", ["sync", "-d"])}


def curl(sess, sc, ngx, transport, files, then=None):
    """One curl for all files into a fresh dir; then optionally `md5sum` or `sync -d` of them."""
    dl = os.path.join(sess.work, "curl-out")
    rm(dl)
    os.makedirs(dl)
    cmd = _curl_cmd(sess, ngx, transport, _curl_config(sess, ngx, transport, files, dl))
    pid = ngx["proc"].pid
    reset_hwm(pid)
    settle()
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    r = sess.run(f"curl-{sc.key}", cmd)
    c1 = proc_cpu(pid)
    got = dir_files(dl)
    nbytes, want = total_size(got), total_size(files)
    if len(got) != len(files) or nbytes != want:
        raise Failed(f"curl downloaded {len(got)} files / {nbytes} bytes, expected {len(files)} / {want}")
    seconds, cpu_recv, rss_recv = r["wall"], r["cpu"], r["maxrss_kib"]
    if then in AFTER_CURL:
        name, argv = AFTER_CURL[then]
        m = sess.run(f"{name}-{sc.key}", argv + got)
        seconds += m["wall"]
        cpu_recv += m["cpu"]
        rss_recv = max(rss_recv, m["maxrss_kib"])
    ttfb = float(r["stdout"].split()[0])
    sc.add(seconds=seconds, bytes=nbytes, files=len(got), cpu_send=c1 - c0, cpu_recv=cpu_recv,
           rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=rss_recv, ttfb=ttfb, load1=load1)
    rm(dl)


def md5sum(sess, sc, files):
    settle()
    load1 = loadavg()[0]
    r = sess.run(f"md5sum-{sc.key}", ["md5sum"] + files)
    sc.add(seconds=r["wall"], bytes=total_size(files), files=len(files),
           cpu_recv=r["cpu"], rss_recv_kib=r["maxrss_kib"], load1=load1)


def _halves(files):
    """Splits files into two sets of about equal bytes (largest first, into the lighter set)."""
    halves, sizes = [[], []], [0, 0]
    for path in sorted(files, key=os.path.getsize, reverse=True):
        i = 0 if sizes[0] <= sizes[1] else 1
        halves[i].append(path)
        sizes[i] += os.path.getsize(path)
    return halves, sizes


def md5sum_both_cores(sess, sc, files):
    """Two md5sum processes at once over halves of the files: whether both cores hash at full
    speed together (vbt's receiver hashes on one core while another reads and writes)."""
    halves, sizes = _halves(files)
    settle()
    load1 = loadavg()[0]
    t0 = time.perf_counter()
    procs = [spawn_logged(["md5sum"] + half, sess.logfile(f"md5sum-x2-{i}")) for i, half in enumerate(halves)]
    rusages = reap(procs, sess.a.timeout)
    wall = time.perf_counter() - t0
    if any(p.returncode for p in procs):
        raise Failed("md5sum x2 failed")
    cpu = sum(ru.ru_utime + ru.ru_stime for ru in rusages)
    rss = max([0] + [ru.ru_maxrss for ru in rusages])
    sc.add(seconds=wall, bytes=sum(sizes), files=len(files), cpu_recv=cpu, rss_recv_kib=rss, load1=load1)


def reingest(sess, sc, src, store, into, nbytes, nfiles):
    """`vbt reingest`: every record of src written into a fresh RocksDB at into."""
    rm(into)
    settle()
    load1 = loadavg()[0]
    r = sess.run(f"reingest-{sc.size_mib}", [sess.vbt, "reingest", "--base-dir", src, "--store", store,
                                            "--version", "1", "--partition", "0", "--into", into],
                 timeout=3600)
    j = json.loads(r["stdout"].strip().splitlines()[-1])
    sc.add(seconds=r["wall"], bytes=nbytes, files=nfiles, cpu_recv=r["cpu"],
           rss_recv_kib=r["maxrss_kib"], vbt_seconds=j.get("seconds"), load1=load1)
    rm(into)
