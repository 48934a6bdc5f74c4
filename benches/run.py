#!/usr/bin/env python3
"""vbt benchmark harness (issue #5): vbt against real baselines measured in the same run.

Run it through `scripts/bench` (installs nginx/iperf3/curl, builds vbt). Stdlib only.
See benches/README.md for what is measured and how.
"""

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

GIB = 1 << 30
MIB = 1 << 20
CLK_TCK = os.sysconf("SC_CLK_TCK")
STORE = "bench"
SMALL_STORE = "benchsmall"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# Every process we start, by pid, so that every exit path (error, Ctrl-C, SIGTERM) ends them.
CHILDREN = {}
_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # Die with the harness even if it is SIGKILLed (PR_SET_PDEATHSIG = 1).
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def spawn(cmd, stdout, stderr, cwd=None):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd,
                         start_new_session=True, preexec_fn=_child_setup)
    CHILDREN[p.pid] = p
    return p


def kill_child(p, grace=3.0):
    """Ends one process we started (its own process group), then reaps it."""
    if p.pid not in CHILDREN:
        return
    try:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
    finally:
        CHILDREN.pop(p.pid, None)


def kill_all_children():
    for p in list(CHILDREN.values()):
        try:
            kill_child(p, grace=1.0)
        except Exception:  # keep going: end every child
            pass


class Failed(Exception):
    pass


def measured(cmd, out_path, err_path, timeout, cwd=None):
    """Runs one command to its end; wall time and rusage (os.wait4) of that process."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = spawn(cmd, out, err, cwd)
        timer = threading.Timer(timeout, lambda: _kill_quietly(p.pid))
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
        finally:
            timer.cancel()
            CHILDREN.pop(p.pid, None)
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as f:
        stdout = f.read().decode(errors="replace")
    if p.returncode != 0:
        with open(err_path, "rb") as f:
            tail = f.read().decode(errors="replace")[-2000:]
        raise Failed(f"{' '.join(map(str, cmd[:3]))} ... exited {p.returncode}: {tail.strip()}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss, "stdout": stdout}


def _kill_quietly(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def proc_cpu(pid):
    """utime+stime of a live process (all its threads), in seconds (clock ticks / CLK_TCK)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def reset_hwm(pid):
    """Resets VmHWM (Linux >= 4.0, writing 5 to clear_refs); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def listening(port):
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def wait_listening(p, port, what, err_path, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.poll() is not None:
            raise Failed(f"{what} exited {p.returncode}: {read_tail(err_path)}")
        if listening(port):
            return
        time.sleep(0.01)
    raise Failed(f"{what} did not listen on {port} within {timeout}s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_tail(path, n=2000):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")[-n:].strip()
    except OSError:
        return ""


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def dir_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n)))


def settle():
    """Writes back what earlier runs left (deleted trees, dirty pages) before a measured run, so a
    run does not pay for the journal commits and discards of the previous one."""
    os.sync()


def rm(path):
    shutil.rmtree(path, ignore_errors=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Machine and tool information


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def machine_info(vbt):
    model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:
            return None

    head = out(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "nproc_usable": len(os.sched_getaffinity(0)),
        "model_name": model,
        "kernel": platform.release(),
        "mem_total_mib": mem,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "loadavg_start": loadavg(),
        "vbt_binary": vbt,
        "vbt_sha256": sha256_file(vbt),
        "vbt_mtime": datetime.datetime.fromtimestamp(os.path.getmtime(vbt), datetime.timezone.utc)
        .isoformat(timespec="seconds"),
        "vbt_profile": "debug" if "/debug/" in vbt else "release" if "/release/" in vbt else "?",
        "git_head": head,
        "git_dirty": bool(dirty),
        "tools": {
            "nginx": out([NGINX, "-v"]),
            "curl": out(["curl", "--version"]),
            "iperf3": out(["iperf3", "--version"]),
            "md5sum": out(["md5sum", "--version"]),
            "python": sys.version.split()[0],
        },
        "clock_ticks_per_s": CLK_TCK,
    }


# ---------------------------------------------------------------------------------------------
# Samples and scenarios

class Scenario:
    """One row: a name, what it is (vbt / baseline), transport, and its samples."""

    def __init__(self, key, label, kind, transport, dataset, size_mib, phase=None, mode=None):
        self.key, self.label, self.kind, self.transport = key, label, kind, transport
        self.dataset, self.size_mib, self.phase, self.mode = dataset, size_mib, phase, mode
        self.samples = []
        self.errors = []

    def add(self, **s):
        s.setdefault("load1", loadavg()[0])
        self.samples.append(s)

    def summary(self):
        ss = self.samples
        if not ss:
            return None
        sec = median([s["seconds"] for s in ss])
        nbytes = ss[0]["bytes"]
        gib = nbytes / GIB if nbytes else None

        def per_gib(k):
            v = median([s.get(k) for s in ss])
            return v / gib if (v is not None and gib) else None

        def peak(k):
            vs = [s.get(k) for s in ss if s.get(k) is not None]
            return max(vs) / 1024 if vs else None

        out = {
            "seconds": sec,
            "seconds_min": min(s["seconds"] for s in ss),
            "seconds_max": max(s["seconds"] for s in ss),
            "bytes": nbytes,
            "files": ss[0].get("files"),
            "mb_per_s": nbytes / sec / 1e6 if nbytes and sec else None,
            "cpu_send_s_per_gib": per_gib("cpu_send"),
            "cpu_recv_s_per_gib": per_gib("cpu_recv"),
            "rss_send_mib": peak("rss_send_kib"),
            "rss_recv_mib": peak("rss_recv_kib"),
            "ttfb_ms": (lambda v: v * 1000 if v is not None else None)(median([s.get("ttfb") for s in ss])),
            "runs": len(ss),
        }
        vs = [s.get("vbt_seconds") for s in ss if s.get("vbt_seconds") is not None]
        if vs:
            out["vbt_reported_seconds"] = median(vs)
            out["vbt_reported_mb_per_s"] = nbytes / out["vbt_reported_seconds"] / 1e6 if out["vbt_reported_seconds"] else None
        return out

    def to_json(self):
        return {
            "key": self.key, "label": self.label, "kind": self.kind, "transport": self.transport,
            "dataset": self.dataset, "size_mib": self.size_mib, "phase": self.phase, "mode": self.mode,
            "summary": self.summary(), "samples": self.samples, "errors": self.errors,
        }


# ---------------------------------------------------------------------------------------------
# The harness


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = tempfile.mkdtemp(prefix="vbt-bench-", dir=args.work_parent)
        # A private copy: a rebuild in the shared target dir during the run must not change it.
        os.makedirs(os.path.join(self.work, "bin"))
        self.vbt = os.path.join(self.work, "bin", "vbt")
        shutil.copy2(args.vbt, self.vbt)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs)
        self.seq = 0
        self.tls = not args.quick
        self.modes = [("plain", "md5"), ("plain", "fast")]
        if self.tls:
            self.modes += [("tls", "md5"), ("tls", "fast")]
        self.scenarios = []
        self.certs = None
        self.iperf = None
        self.failures = []

    # -- helpers --

    def logfile(self, name):
        self.seq += 1
        return os.path.join(self.logs, f"{self.seq:04d}-{name}")

    def run(self, name, cmd, timeout=None):
        base = self.logfile(name)
        return measured(cmd, base + ".out", base + ".err", timeout or self.a.timeout)

    def scenario(self, *a, **k):
        s = Scenario(*a, **k)
        self.scenarios.append(s)
        return s

    def attempt(self, sc, fn):
        try:
            fn()
        except Failed as e:
            msg = str(e)
            log(f"  FAILED {sc.label}: {msg}")
            sc.errors.append(msg)
            self.failures.append(f"{sc.dataset} {sc.size_mib} {sc.label}: {msg}")

    def check_disk(self, need_bytes, what):
        free = shutil.disk_usage(self.work).free
        if free < need_bytes:
            raise Failed(f"{what} needs ~{need_bytes / GIB:.1f} GiB free under {self.work}, "
                             f"only {free / GIB:.1f} GiB free (use --work-parent)")

    # -- certificates --

    def gen_certs(self):
        d = os.path.join(self.work, "certs")
        r = self.run("gen-certs", [self.vbt, "gen-certs", "--dir", d])
        j = json.loads(r["stdout"])
        self.certs = {
            "dir": d,
            "sender": [x for kv in j["sender"] for x in ("-D", kv)],
            "receiver": [x for kv in j["receiver"] for x in ("-D", kv)],
            "ca": os.path.join(d, "ca.pem"),
            "sender_crt": os.path.join(d, "sender.crt"), "sender_key": os.path.join(d, "sender.key"),
            "receiver_crt": os.path.join(d, "receiver.crt"), "receiver_key": os.path.join(d, "receiver.key"),
        }

    # -- vbt sender --

    def start_vbt_server(self, name, transport, base_dir=None, fixed=None):
        cmd = [self.vbt, "serve"]
        if base_dir:
            cmd += ["--base-dir", base_dir]
        else:
            cmd += ["--snapshot-dir", fixed["dir"], "--store", fixed["store"], "--version", "1",
                    "--partition", "0", "--offset-record", fixed["offset_record"],
                    "--store-version-state", fixed["svs"]]
        cmd += ["-D", "davinci.p2p.blob.transfer.server.port=0", "-D", "vbt.server.bind.address=127.0.0.1",
                "-D", "blob.transfer.service.write.limit.bytes.per.sec=0"]
        if transport == "tls":
            cmd += self.certs["sender"]
        base = self.logfile(f"serve-{name}")
        out = open(base + ".out", "wb")
        err = open(base + ".err", "wb")
        p = spawn(cmd, out, err)
        out.close()
        err.close()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            line = read_tail(base + ".out")
            if line:
                try:
                    addr = json.loads(line.splitlines()[0])["listening"]
                    return {"proc": p, "peer": addr, "err": base + ".err"}
                except ValueError:
                    pass  # not all of the line yet
            if p.poll() is not None:
                raise Failed(f"vbt serve exited {p.returncode}: {read_tail(base + '.err')}")
            time.sleep(0.01)
        kill_child(p)
        raise Failed("vbt serve did not print its address within 60s")

    def vbt_fetch(self, sc, server, transport, checksum, recv_base, store, extra=()):
        rm(recv_base)
        settle()
        cmd = [self.vbt, "fetch", "--base-dir", recv_base, "--store", store, "--version", "1",
               "--partition", "0", "--peer", server["peer"],
               "-D", "blob.transfer.client.read.limit.bytes.per.sec=0"]
        if checksum == "fast":
            cmd += ["-D", "vbt.checksum.fast=true"]
        if transport == "tls":
            cmd += self.certs["receiver"]
        cmd += list(extra)
        pid = server["proc"].pid
        load1 = loadavg()[0]
        c0 = proc_cpu(pid)
        r = self.run(f"fetch-{sc.key}", cmd)
        c1 = proc_cpu(pid)
        j = json.loads(r["stdout"].strip().splitlines()[-1])
        sc.add(seconds=r["wall"], bytes=j["bytes"], files=j["files"], cpu_send=c1 - c0,
               cpu_recv=r["cpu"], rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"],
               ttfb=j.get("first_byte_seconds"), vbt_seconds=j.get("seconds"), load1=load1)
        rm(recv_base)
        return j

    # -- nginx + curl --

    def start_nginx(self, name, root):
        d = os.path.join(self.work, f"nginx-{name}")
        os.makedirs(d, exist_ok=True)
        port = free_port()
        tport = free_port() if self.tls else None
        conf = os.path.join(d, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        tls_server = ""
        if self.tls:
            c = self.certs
            tls_server = f"""
    server {{
        listen 127.0.0.1:{tport} ssl;
        server_name localhost;
        root {root};
        ssl_certificate {c['sender_crt']};
        ssl_certificate_key {c['sender_key']};
        ssl_protocols TLSv1.3;
        ssl_client_certificate {c['ca']};
        ssl_verify_client on;
        ssl_session_cache off;
    }}"""
        with open(conf, "w") as f:
            f.write(f"""{user}daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    default_type application/octet-stream;
    types {{ }}
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}{tls_server}
}}
""")
        base = self.logfile(f"nginx-{name}")
        out, err = open(base + ".out", "wb"), open(base + ".err", "wb")
        p = spawn([NGINX, "-c", conf, "-p", d, "-e", f"{d}/error.log"], out, err)
        out.close()
        err.close()
        try:
            wait_listening(p, port, "nginx", f"{d}/error.log")
            if tport:
                wait_listening(p, tport, "nginx", f"{d}/error.log")
        except Failed:
            kill_child(p)
            raise
        return {"proc": p, "port": port, "tport": tport, "root": root}

    def curl(self, sc, ngx, transport, files, then=None):
        """One curl for all files into a fresh dir; then optionally `md5sum` or `sync -d` of them."""
        dl = os.path.join(self.work, "curl-out")
        rm(dl)
        os.makedirs(dl)
        cfg = self.logfile("curl") + ".cfg"
        with open(cfg, "w") as f:
            for path in files:
                n = os.path.basename(path)
                if transport == "tls":
                    f.write(f'url = "https://localhost:{ngx["tport"]}/{n}"\n')
                else:
                    f.write(f'url = "http://127.0.0.1:{ngx["port"]}/{n}"\n')
                f.write(f'output = "{os.path.join(dl, n)}"\n')
        cmd = ["curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--http1.1",
               "-w", "%{time_starttransfer}\\n", "-K", cfg]
        if transport == "tls":
            c = self.certs
            cmd += ["--cacert", c["ca"], "--cert", c["receiver_crt"], "--key", c["receiver_key"],
                    "--resolve", f"localhost:{ngx['tport']}:127.0.0.1"]
        pid = ngx["proc"].pid
        reset_hwm(pid)
        settle()
        load1 = loadavg()[0]
        c0 = proc_cpu(pid)
        r = self.run(f"curl-{sc.key}", cmd)
        c1 = proc_cpu(pid)
        got = dir_files(dl)
        nbytes = sum(os.path.getsize(x) for x in got)
        want = sum(os.path.getsize(x) for x in files)
        if len(got) != len(files) or nbytes != want:
            raise Failed(f"curl downloaded {len(got)} files / {nbytes} bytes, expected {len(files)} / {want}")
        seconds, cpu_recv, rss_recv = r["wall"], r["cpu"], r["maxrss_kib"]
        if then == "md5sum":
            m = self.run(f"md5sum-{sc.key}", ["md5sum"] + got)
            seconds += m["wall"]
            cpu_recv += m["cpu"]
            rss_recv = max(rss_recv, m["maxrss_kib"])
        elif then == "fsync":
            m = self.run(f"sync-{sc.key}", ["sync", "-d"] + got)
            seconds += m["wall"]
            cpu_recv += m["cpu"]
            rss_recv = max(rss_recv, m["maxrss_kib"])
        ttfb = float(r["stdout"].split()[0])
        sc.add(seconds=seconds, bytes=nbytes, files=len(got), cpu_send=c1 - c0, cpu_recv=cpu_recv,
               rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=rss_recv, ttfb=ttfb, load1=load1)
        rm(dl)

    def md5sum_both_cores(self, sc, files):
        """Two md5sum processes at once over halves of the files: whether both cores hash at full
        speed together (vbt's receiver hashes on one core while another reads and writes)."""
        halves, sizes = [[], []], [0, 0]
        for path in sorted(files, key=os.path.getsize, reverse=True):
            i = 0 if sizes[0] <= sizes[1] else 1
            halves[i].append(path)
            sizes[i] += os.path.getsize(path)
        settle()
        load1 = loadavg()[0]
        procs = []
        t0 = time.perf_counter()
        for i, half in enumerate(halves):
            base = self.logfile(f"md5sum-x2-{i}")
            with open(base + ".out", "wb") as out, open(base + ".err", "wb") as err:
                procs.append(spawn(["md5sum"] + half, out, err))
        timer = threading.Timer(self.a.timeout, lambda: [_kill_quietly(p.pid) for p in procs])
        timer.start()
        cpu, rss = 0.0, 0
        try:
            for p in procs:
                _, status, ru = os.wait4(p.pid, 0)
                CHILDREN.pop(p.pid, None)
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu += ru.ru_utime + ru.ru_stime
                rss = max(rss, ru.ru_maxrss)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        if any(p.returncode for p in procs):
            raise Failed("md5sum x2 failed")
        sc.add(seconds=wall, bytes=sum(sizes), files=len(files), cpu_recv=cpu, rss_recv_kib=rss, load1=load1)

    def md5sum(self, sc, files):
        settle()
        load1 = loadavg()[0]
        r = self.run(f"md5sum-{sc.key}", ["md5sum"] + files)
        sc.add(seconds=r["wall"], bytes=sum(os.path.getsize(x) for x in files), files=len(files),
               cpu_recv=r["cpu"], rss_recv_kib=r["maxrss_kib"], load1=load1)

    # -- iperf3 --

    def iperf3(self):
        sc = self.scenario("iperf3", "iperf3 (wire ceiling)", "baseline", "plain", "wire", None)
        for _ in range(self.a.runs):
            def once():
                port = free_port()
                base = self.logfile("iperf3-server")
                out, err = open(base + ".out", "wb"), open(base + ".err", "wb")
                srv = spawn(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)], out, err)
                out.close()
                err.close()
                try:
                    wait_listening(srv, port, "iperf3 -s", base + ".err")
                    load1 = loadavg()[0]
                    r = self.run("iperf3-client", ["iperf3", "-c", "127.0.0.1", "-p", str(port),
                                                   "-t", str(self.a.iperf_seconds), "-J"])
                    timer = threading.Timer(30, lambda: _kill_quietly(srv.pid))
                    timer.start()
                    try:
                        _, status, ru = os.wait4(srv.pid, 0)
                    finally:
                        timer.cancel()
                    CHILDREN.pop(srv.pid, None)
                    srv.returncode = os.waitstatus_to_exitcode(status)
                finally:
                    kill_child(srv)
                j = json.loads(r["stdout"])
                end = j["end"]
                recv = end["sum_received"]
                nbytes = int(recv["bytes"])
                sc.add(seconds=float(recv["seconds"]), bytes=nbytes, files=None,
                       cpu_send=r["cpu"], cpu_recv=ru.ru_utime + ru.ru_stime,
                       rss_send_kib=r["maxrss_kib"], rss_recv_kib=ru.ru_maxrss, load1=load1,
                       bits_per_second=recv["bits_per_second"])
            self.attempt(sc, once)
        # MB/s from the bytes/seconds of each run (summary uses the first run's bytes; fix up).
        self.iperf = sc

    # -- one partition size --

    def partition_size(self, size):
        try:
            self._partition_size(size)
        finally:
            rm(os.path.join(self.work, f"p{size}"))

    def _partition_size(self, size):
        a = self.a
        # source + receiver copy + curl copy + reingest (data + WAL) + slack
        self.check_disk(int(size * MIB * 5.5) + GIB, f"a {size} MiB partition")
        d = os.path.join(self.work, f"p{size}")
        src = os.path.join(d, "src")
        log(f"== {size} MiB partition (load {loadavg()})")
        r = self.run(f"gen-{size}", [self.vbt, "gen", "--base-dir", src, "--store", STORE, "--version", "1",
                                     "--partition", "0", "--size-mib", str(size)], timeout=3600)
        gen = json.loads(r["stdout"])
        log(f"  generated {gen['records']} records in {r['wall']:.1f}s")
        topic = f"{STORE}_v1"
        part = f"{STORE}_v1_0"

        # One sender per mode, each on its own copy of the partition (SSTs hard-linked), so every
        # mode has a real cold first request and the modes can be interleaved round by round.
        servers = {}
        scen = {}
        try:
            for transport, checksum in self.modes:
                m = f"{transport}-{checksum}"
                base = os.path.join(d, f"serve-{m}")
                os.makedirs(os.path.join(base, topic, part))
                for n in os.listdir(os.path.join(src, topic, part)):
                    s = os.path.join(src, topic, part, n)
                    t = os.path.join(base, topic, part, n)
                    if n.endswith(".sst"):
                        os.link(s, t)
                    elif os.path.isfile(s) and n != "LOCK":
                        shutil.copy2(s, t)
                for n in os.listdir(os.path.join(src, topic)):
                    s = os.path.join(src, topic, n)
                    if os.path.isfile(s):
                        shutil.copy2(s, os.path.join(base, topic, n))
                servers[m] = self.start_vbt_server(f"{size}-{m}", transport, base_dir=base)
                scen[m, "cold"] = self.scenario(f"vbt-{m}-cold", f"vbt {transport} {checksum} cold", "vbt",
                                                transport, "partition", size, "cold", m)
                scen[m, "warm"] = self.scenario(f"vbt-{m}-warm", f"vbt {transport} {checksum} warm", "vbt",
                                                transport, "partition", size, "warm", m)
            if not a.quick:
                # Diagnostic: the transfer path alone, without the RocksDB open of the result.
                scen["nocheck"] = self.scenario("vbt-plain-fast-nocheck", "vbt plain fast warm, no RocksDB check",
                                                "vbt", "plain", "partition", size, "diag", "plain-fast")
            recv = os.path.join(d, "recv")
            for transport, checksum in self.modes:
                m = f"{transport}-{checksum}"
                self.attempt(scen[m, "cold"], lambda: self.vbt_fetch(scen[m, "cold"], servers[m], transport,
                                                                     checksum, recv, STORE))
                reset_hwm(servers[m]["proc"].pid)
            # nginx serves the very files vbt sends: the first sender's snapshot, hard-linked.
            snap = os.path.join(d, "serve-plain-md5", topic, part, ".snapshot_files")
            www = os.path.join(d, "www")
            os.makedirs(www)
            if not os.path.isdir(snap):
                raise Failed(f"no snapshot directory {snap} after the cold request")
            for n in os.listdir(snap):
                os.link(os.path.join(snap, n), os.path.join(www, n))
            files = dir_files(www)
            ngx = self.start_nginx(f"p{size}", www)
            servers["nginx"] = {"proc": ngx["proc"]}
            transports = ["plain", "tls"] if self.tls else ["plain"]
            for t in transports:
                scen["curl", t] = self.scenario(f"nginx-curl-{t}", f"nginx+curl {t}", "baseline", t,
                                                "partition", size)
                scen["curl-md5", t] = self.scenario(f"nginx-curl-md5-{t}", f"nginx+curl+md5sum {t}", "baseline",
                                                    t, "partition", size)
                scen["curl-fsync", t] = self.scenario(f"nginx-curl-fsync-{t}", f"nginx+curl+fsync {t}",
                                                      "baseline", t, "partition", size)
            scen["md5sum"] = self.scenario("md5sum", "md5sum (page cache, 1 core)", "baseline", "plain",
                                           "partition", size)
            scen["md5sum2"] = self.scenario("md5sum-x2", "md5sum x2 (both cores)", "baseline", "plain",
                                            "partition", size)
            for i in range(a.runs):
                log(f"  round {i + 1}/{a.runs} (load {loadavg()[0]:.2f})")
                for transport, checksum in self.modes:
                    m = f"{transport}-{checksum}"
                    self.attempt(scen[m, "warm"], lambda: self.vbt_fetch(scen[m, "warm"], servers[m], transport,
                                                                         checksum, recv, STORE))
                if "nocheck" in scen:
                    self.attempt(scen["nocheck"], lambda: self.vbt_fetch(
                        scen["nocheck"], servers["plain-fast"], "plain", "fast", recv, STORE,
                        ["-D", "vbt.receive.verify.rocksdb=false"]))
                for t in transports:
                    self.attempt(scen["curl", t], lambda: self.curl(scen["curl", t], ngx, t, files))
                    self.attempt(scen["curl-md5", t], lambda: self.curl(scen["curl-md5", t], ngx, t, files, "md5sum"))
                    if ("curl-fsync", t) in scen:
                        self.attempt(scen["curl-fsync", t],
                                     lambda: self.curl(scen["curl-fsync", t], ngx, t, files, "fsync"))
                self.attempt(scen["md5sum"], lambda: self.md5sum(scen["md5sum"], files))
                self.attempt(scen["md5sum2"], lambda: self.md5sum_both_cores(scen["md5sum2"], files))
        finally:
            for s in servers.values():
                kill_child(s["proc"])
        # Re-ingestion baseline, senders stopped.
        sc = self.scenario("reingest", "reingest (RocksDB writes)", "baseline", "plain", "partition", size)
        nbytes = sum(os.path.getsize(x) for x in files)
        into = os.path.join(d, "reingest")
        for i in range(a.reingest_runs):
            def once():
                rm(into)
                settle()
                load1 = loadavg()[0]
                r = self.run(f"reingest-{size}", [self.vbt, "reingest", "--base-dir", src, "--store", STORE,
                                                  "--version", "1", "--partition", "0", "--into", into],
                             timeout=3600)
                j = json.loads(r["stdout"].strip().splitlines()[-1])
                sc.add(seconds=r["wall"], bytes=nbytes, files=len(files), cpu_recv=r["cpu"],
                       rss_recv_kib=r["maxrss_kib"], vbt_seconds=j.get("seconds"), load1=load1)
                rm(into)
            self.attempt(sc, once)
            if sc.samples:
                log(f"  reingest {i + 1}/{a.reingest_runs}: {sc.samples[-1]['seconds']:.1f}s")

    # -- the small-files snapshot --

    def small_files(self):
        try:
            self._small_files()
        finally:
            rm(os.path.join(self.work, "small"))

    def _small_files(self):
        a = self.a
        n, kib = a.small_files, a.small_file_kib
        self.check_disk(n * kib * 1024 * 3 + GIB, "the small-file snapshot")
        d = os.path.join(self.work, "small")
        snap = os.path.join(d, "snap")
        os.makedirs(snap)
        log(f"== {n} files x {kib} KiB (load {loadavg()})")
        for i in range(n):
            with open(os.path.join(snap, f"{i:06d}.sst"), "wb") as f:
                f.write(os.urandom(kib * 1024))
        fixed = {"dir": snap, "store": SMALL_STORE, "offset_record": os.path.join(d, "offset-record"),
                 "svs": os.path.join(d, "store-version-state")}
        with open(fixed["offset_record"], "wb") as f:
            f.write(b"\x18\x18vbt-bench small files")
        with open(fixed["svs"], "wb") as f:
            f.write(b"\x19\x07vbt-bench")
        files = dir_files(snap)
        servers, scen = {}, {}
        extra = ["-D", "vbt.receive.verify.rocksdb=false"]
        recv = os.path.join(d, "recv")
        try:
            for transport, checksum in self.modes:
                m = f"{transport}-{checksum}"
                servers[m] = self.start_vbt_server(f"small-{m}", transport, fixed=fixed)
                for ph in ("cold", "warm"):
                    scen[m, ph] = self.scenario(f"vbt-{m}-{ph}", f"vbt {transport} {checksum} {ph}", "vbt",
                                                transport, "small", None, ph, m)
            for transport, checksum in self.modes:
                m = f"{transport}-{checksum}"
                self.attempt(scen[m, "cold"], lambda: self.vbt_fetch(scen[m, "cold"], servers[m], transport,
                                                                     checksum, recv, SMALL_STORE, extra))
                reset_hwm(servers[m]["proc"].pid)
            ngx = self.start_nginx("small", snap)
            servers["nginx"] = {"proc": ngx["proc"]}
            transports = ["plain", "tls"] if self.tls else ["plain"]
            for t in transports:
                scen["curl", t] = self.scenario(f"nginx-curl-{t}", f"nginx+curl {t}", "baseline", t, "small", None)
                scen["curl-fsync", t] = self.scenario(f"nginx-curl-fsync-{t}", f"nginx+curl+fsync {t}", "baseline",
                                                      t, "small", None)
            scen["md5sum"] = self.scenario("md5sum", "md5sum (page cache, 1 core)", "baseline", "plain",
                                           "small", None)
            for i in range(a.runs):
                log(f"  round {i + 1}/{a.runs} (load {loadavg()[0]:.2f})")
                for transport, checksum in self.modes:
                    m = f"{transport}-{checksum}"
                    self.attempt(scen[m, "warm"], lambda: self.vbt_fetch(scen[m, "warm"], servers[m], transport,
                                                                         checksum, recv, SMALL_STORE, extra))
                for t in transports:
                    self.attempt(scen["curl", t], lambda: self.curl(scen["curl", t], ngx, t, files))
                    self.attempt(scen["curl-fsync", t],
                                 lambda: self.curl(scen["curl-fsync", t], ngx, t, files, "fsync"))
                self.attempt(scen["md5sum"], lambda: self.md5sum(scen["md5sum"], files))
        finally:
            for s in servers.values():
                kill_child(s["proc"])
        rm(d)

    def close(self):
        kill_all_children()
        if self.a.keep:
            log(f"bench: kept {self.work}")
        else:
            rm(self.work)


# ---------------------------------------------------------------------------------------------
# Ratios, targets, table


def find(scs, dataset, size, key):
    for s in scs:
        if s.dataset == dataset and s.size_mib == size and s.key == key and s.summary():
            return s.summary()
    return None


def rate(summary):
    return summary["mb_per_s"] if summary else None


def ratio(a, b):
    return a / b if (a is not None and b) else None


def annotate(bench):
    """Ratios of every row to the baselines of the same data set (and same transport for nginx)."""
    scs = bench.scenarios
    iperf = bench.iperf.summary() if bench.iperf and bench.iperf.samples else None
    if iperf:
        iperf["mb_per_s"] = median([s["bytes"] / s["seconds"] / 1e6 for s in bench.iperf.samples])
    rows = []
    for s in scs:
        sm = s.summary()
        if s.dataset == "wire":
            sm = iperf
        r = {}
        if sm and s.dataset in ("partition", "small"):
            t = s.transport
            ng = find(scs, s.dataset, s.size_mib, f"nginx-curl-{t}") or find(scs, s.dataset, s.size_mib, "nginx-curl-plain")
            ngm = find(scs, s.dataset, s.size_mib, f"nginx-curl-md5-{t}") or find(scs, s.dataset, s.size_mib, "nginx-curl-md5-plain")
            r = {
                "vs_nginx_curl": ratio(rate(sm), rate(ng)),
                "vs_nginx_curl_plain": ratio(rate(sm), rate(find(scs, s.dataset, s.size_mib, "nginx-curl-plain"))),
                "vs_nginx_curl_tls": ratio(rate(sm), rate(find(scs, s.dataset, s.size_mib, "nginx-curl-tls"))),
                "vs_nginx_curl_md5sum": ratio(rate(sm), rate(ngm)),
                "vs_nginx_curl_fsync": ratio(rate(sm), rate(find(scs, s.dataset, s.size_mib, f"nginx-curl-fsync-{t}"))),
                "vs_md5sum": ratio(rate(sm), rate(find(scs, s.dataset, s.size_mib, "md5sum"))),
                "vs_iperf3": ratio(rate(sm), rate(iperf)),
            }
            ri = find(scs, s.dataset, s.size_mib, "reingest")
            r["reingest_speedup"] = ratio(ri["seconds"], sm["seconds"]) if ri else None
        rows.append((s, sm, r))
    return rows, iperf


def small_overheads(bench):
    """Per-file overhead of the small-file snapshot, against the big-partition warm rate of the
    same mode (first size given)."""
    scs = bench.scenarios
    size = bench.a.sizes[0]
    out = {}
    n = bench.a.small_files
    pairs = [(f"vbt-{t}-{c}-warm", f"vbt-{t}-{c}-warm") for t, c in bench.modes]
    pairs += [(f"vbt-{t}-{c}-cold", f"vbt-{t}-{c}-warm") for t, c in bench.modes]
    pairs += [(f"nginx-curl{v}-{t}", f"nginx-curl{v}-{t}") for v in ("", "-fsync") for t in ("plain", "tls")]
    for small_key, big_key in pairs:
        sm = find(scs, "small", None, small_key)
        big = find(scs, "partition", size, big_key)
        if not sm or not big or not n:
            continue
        ideal = sm["bytes"] / (big["mb_per_s"] * 1e6)
        out[small_key] = {"ms_per_file": (sm["seconds"] - ideal) / n * 1000, "small_seconds": sm["seconds"],
                          "ideal_seconds": ideal, "big_mb_per_s": big["mb_per_s"], "big_size_mib": size}
    return out


def targets(bench, iperf, overheads):
    scs = bench.scenarios
    res = []

    def add(name, met, value):
        res.append({"target": name, "met": met, "value": value})

    sizes = bench.a.sizes
    # 1. MD5 plaintext warm >= 0.75 x md5sum rate
    vals, ok = [], True
    for z in sizes:
        v, m = find(scs, "partition", z, "vbt-plain-md5-warm"), find(scs, "partition", z, "md5sum")
        if not v or not m:
            ok = None
            continue
        r = v["mb_per_s"] / m["mb_per_s"]
        vals.append(f"{z} MiB: {v['mb_per_s']:.0f} MB/s = {r:.2f}x md5sum {m['mb_per_s']:.0f} MB/s")
        ok = ok and r >= 0.75 if ok is not None else None
    add("MD5 plaintext warm >= 0.75 x md5sum rate", ok, "; ".join(vals))

    # 2/3. fast >= nginx+curl without verification, per transport
    for t, name in (("plain", "fast plaintext warm >= nginx+curl (no verify)"),
                    ("tls", "fast TLS warm >= nginx+curl TLS (no verify)")):
        vals, ok = [], True
        for z in sizes:
            v, n = find(scs, "partition", z, f"vbt-{t}-fast-warm"), find(scs, "partition", z, f"nginx-curl-{t}")
            if not v or not n:
                ok = None
                continue
            r = v["mb_per_s"] / n["mb_per_s"]
            vals.append(f"{z} MiB: {v['mb_per_s']:.0f} vs {n['mb_per_s']:.0f} MB/s ({r:.2f}x)")
            ok = ok and r >= 1.0 if ok is not None else None
        add(name, ok, "; ".join(vals) or "not measured")

    # 4. peak RSS < 64 MiB on each side at every size (every vbt row, cold and warm)
    vals, ok = [], True
    for z in sizes:
        rs = [s.summary() for s in scs if s.kind == "vbt" and s.size_mib == z and s.dataset == "partition" and s.summary()]
        if not rs:
            ok = None
            continue
        snd = max(x["rss_send_mib"] or 0 for x in rs)
        rcv = max(x["rss_recv_mib"] or 0 for x in rs)
        vals.append(f"{z} MiB: send {snd:.0f} MiB, recv {rcv:.0f} MiB")
        ok = ok and snd < 64 and rcv < 64 if ok is not None else None
    add("receiver and sender peak RSS < 64 MiB at every size", ok, "; ".join(vals))

    def ms(v):  # vbt reports whole milliseconds
        return "<1 ms" if v < 0.5 else f"{v:.0f} ms"

    # 5. TTFB warm roughly equal across sizes (plaintext MD5): max <= 2 x min + 5 ms
    tt = {z: (find(scs, "partition", z, "vbt-plain-md5-warm") or {}).get("ttfb_ms") for z in sizes}
    tt = {z: v for z, v in tt.items() if v is not None}
    if len(tt) >= 2:
        lo, hi = min(tt.values()), max(tt.values())
        add("TTFB warm roughly equal across sizes (max <= 2 x min + 5 ms)", hi <= 2 * lo + 5,
            ", ".join(f"{z} MiB: {ms(v)}" for z, v in tt.items()))
    else:
        add("TTFB warm roughly equal across sizes (max <= 2 x min + 5 ms)", None,
            "needs >= 2 sizes; " + ", ".join(f"{z} MiB: {ms(v)}" for z, v in tt.items()))

    # 6. small-file per-file overhead < 0.5 ms (every warm vbt mode)
    vs = {k: v["ms_per_file"] for k, v in overheads.items() if k.startswith("vbt-") and k.endswith("-warm")}
    floor = overheads.get("nginx-curl-fsync-plain", {}).get("ms_per_file")
    add("small-file per-file overhead < 0.5 ms (warm, every mode)", (max(vs.values()) < 0.5) if vs else None,
        (", ".join(f"{k[4:-5]} {v:.3f} ms" for k, v in vs.items()) or "not measured")
        + (f" (same run, nginx+curl+fsync plain: {floor:.3f} ms)" if floor is not None else ""))

    # 7. bootstrap >= 10x faster than reingest (slowest warm vbt mode)
    vals, ok = [], True
    for z in sizes:
        ri = find(scs, "partition", z, "reingest")
        ws = [(s.mode, s.summary()) for s in scs if s.kind == "vbt" and s.phase == "warm" and s.size_mib == z
              and s.dataset == "partition" and s.summary()]
        if not ri or not ws:
            ok = None
            continue
        mode, slow = max(ws, key=lambda x: x[1]["seconds"])
        r = ri["seconds"] / slow["seconds"]
        vals.append(f"{z} MiB: reingest {ri['seconds']:.2f}s / slowest vbt ({mode}) {slow['seconds']:.2f}s = {r:.1f}x")
        ok = ok and r >= 10 if ok is not None else None
    add("bootstrap >= 10x faster than reingest", ok, "; ".join(vals))
    return res


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


PHASES = {"warm": 0, "cold": 1, "diag": 2}


def fmt_ttfb(s, ms):
    # vbt reports first_byte_seconds rounded to the millisecond.
    if s.kind == "vbt" and ms is not None:
        return "<1" if ms < 0.5 else f"{ms:.0f}"
    return fmt(ms, ".1f")


def table(rows, iperf, overheads, bench):
    cols = ["scenario", "s", "±%", "MB/s", "xnginx", "xngx+md5", "xmd5sum", "xiperf3", "xreingest",
            "CPUs/GiB snd", "rcv", "RSS MiB snd", "rcv", "TTFB ms"]
    lines = []

    def section(title, items, extra=None):
        body = []
        for s, sm, r in items:
            if not sm:
                body.append([s.label, "FAILED"] + [""] * (len(cols) - 2))
                continue
            body.append([
                s.label, fmt(sm["seconds"], ".3f"),
                fmt((sm["seconds_max"] - sm["seconds_min"]) / sm["seconds"] * 100 if sm["runs"] > 1 else None, ".0f"),
                fmt(sm["mb_per_s"], ".0f"),
                fmt(r.get("vs_nginx_curl"), ".2f"), fmt(r.get("vs_nginx_curl_md5sum"), ".2f"),
                fmt(r.get("vs_md5sum"), ".2f"), fmt(r.get("vs_iperf3"), ".2f"), fmt(r.get("reingest_speedup"), ".1f"),
                fmt(sm.get("cpu_send_s_per_gib"), ".2f"), fmt(sm.get("cpu_recv_s_per_gib"), ".2f"),
                fmt(sm.get("rss_send_mib"), ".0f"), fmt(sm.get("rss_recv_mib"), ".0f"), fmt_ttfb(s, sm.get("ttfb_ms")),
            ])
        hdr = cols + ([extra[0]] if extra else [])
        if extra:
            for row, (s, sm, r) in zip(body, items):
                row.append(extra[1](s))
        widths = [max(len(str(x[i])) for x in [hdr] + body) for i in range(len(hdr))]
        lines.append(title)
        lines.append("  " + "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(hdr)))
        for row in body:
            lines.append("  " + "  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                                        for i, c in enumerate(row)))
        lines.append("")

    for z in bench.a.sizes:
        items = [x for x in rows if x[0].dataset == "partition" and x[0].size_mib == z]
        items.sort(key=lambda x: (0, PHASES[x[0].phase]) if x[0].kind == "vbt" else (1, 0))
        loads = [s["load1"] for x in items for s in x[0].samples]
        title = (f"{z} MiB partition ({(items[0][1] or {}).get('files', '?')} files, "
                 f"{((items[0][1] or {}).get('bytes') or 0) / 1e6:.0f} MB); load1 during runs "
                 f"{min(loads, default=0):.2f}-{max(loads, default=0):.2f}")
        section(title, items)
    small = [x for x in rows if x[0].dataset == "small"]
    if small:
        small.sort(key=lambda x: (0, PHASES[x[0].phase]) if x[0].kind == "vbt" else (1, 0))
        loads = [s["load1"] for x in small for s in x[0].samples]
        sm0 = small[0][1] or {}
        section(f"small files ({bench.a.small_files} x {bench.a.small_file_kib} KiB, "
                f"{(sm0.get('bytes') or 0) / 1e6:.0f} MB; per-file overhead vs the {bench.a.sizes[0]} MiB "
                f"warm rate of the same mode); load1 {min(loads, default=0):.2f}-{max(loads, default=0):.2f}",
                small, ("ms/file", lambda s: fmt(overheads.get(s.key, {}).get("ms_per_file"), ".3f")))
    if iperf:
        lines.append(f"iperf3 loopback (wire ceiling): {iperf['mb_per_s']:.0f} MB/s, median of "
                     f"{iperf['runs']} x {bench.a.iperf_seconds}s; CPU s/GiB client {fmt(iperf['cpu_send_s_per_gib'], '.2f')}"
                     f" server {fmt(iperf['cpu_recv_s_per_gib'], '.2f')}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def main():
    default_target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/vbt-target")
    p = argparse.ArgumentParser(description="vbt against nginx+curl, md5sum, iperf3 and re-ingestion, "
                                "measured in the same run")
    p.add_argument("--vbt", default=os.path.join(default_target, "debug", "vbt"))
    p.add_argument("--sizes", default=None, help="partition sizes in MiB, comma-separated (default 1024)")
    p.add_argument("--runs", type=int, default=None, help="warm runs per scenario, median reported (default 3)")
    p.add_argument("--reingest-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--quick", action="store_true",
                   help="256 MiB, 1 run, plaintext only (MD5 + fast), nginx plaintext, md5sum, reingest")
    p.add_argument("--small-files", type=int, default=2000, help="files in the small-file snapshot (0: skip)")
    p.add_argument("--small-file-kib", type=int, default=64)
    p.add_argument("--iperf-seconds", type=int, default=None, help="default 3 (1 with --quick)")
    p.add_argument("--out", default=os.path.join(default_target, "bench", "results.json"))
    p.add_argument("--work-parent", default=None, help="where the temporary work dir goes (default $TMPDIR)")
    p.add_argument("--timeout", type=float, default=600, help="seconds before a single command is killed")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, data) for inspection")
    a = p.parse_args()
    a.sizes = [int(x) for x in (a.sizes or ("256" if a.quick else "1024")).split(",") if x.strip()]
    a.runs = a.runs or (1 if a.quick else 3)
    a.reingest_runs = a.reingest_runs or a.runs
    a.iperf_seconds = a.iperf_seconds or (1 if a.quick else 3)
    if not os.access(a.vbt, os.X_OK):
        raise SystemExit(f"bench: no vbt binary at {a.vbt} (run scripts/bench, or cargo build --bin vbt)")
    for tool in ("curl", "iperf3", "md5sum", "sync"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is missing (scripts/bench installs it)")
    if not os.access(NGINX, os.X_OK):
        raise SystemExit("bench: nginx is missing (scripts/bench installs it)")

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    started = time.time()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    info = machine_info(a.vbt)
    bench = Bench(a)
    try:
        return run_all(bench, a, info, started)
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        bench.close()


def run_all(bench, a, info, started):
    log(f"bench: work dir {bench.work}; {info['nproc']} cores {info['model_name']}, kernel {info['kernel']}, "
        f"load {info['loadavg_start']}")
    if bench.tls:
        bench.gen_certs()
    log("== iperf3")
    bench.iperf3()
    steps = [(f"{z} MiB partition", lambda z=z: bench.partition_size(z)) for z in a.sizes]
    if a.small_files:
        steps.append(("small files", bench.small_files))
    for name, step in steps:
        try:
            step()
        except Failed as e:
            log(f"  FAILED {name}: {e}")
            bench.failures.append(f"{name}: {e}")
        finally:
            kill_all_children()

    rows, iperf = annotate(bench)
    overheads = small_overheads(bench)
    tg = targets(bench, iperf, overheads)
    info["loadavg_end"] = loadavg()
    text = table(rows, iperf, overheads, bench)
    print(f"vbt bench: {info['date']}  {info['nproc']} cores ({info['model_name']}), kernel {info['kernel']}, "
          f"vbt {info['vbt_profile']} build {info['git_head']}{'+dirty' if info['git_dirty'] else ''}")
    print(f"load average start {info['loadavg_start']}, end {info['loadavg_end']}; "
          f"{a.runs} warm run(s) per row (median), cold = one first request; MB = 10^6 bytes")
    print("columns: ±% = (max - min) / median of the runs; x<baseline> = MB/s ratio to that baseline (nginx rows "
          "of the same transport); xreingest = reingest seconds / row seconds\n")
    print(text)
    print("targets:")
    for t in tg:
        mark = "met" if t["met"] else ("n/a" if t["met"] is None else "NOT MET")
        print(f"  [{mark:>7}] {t['target']}: {t['value']}")
    if bench.failures:
        print("\nfailures:")
        for f in bench.failures:
            print(f"  {f}")
    result = {
        "command": sys.argv,
        "args": dict(vars(a)),
        "machine": info,
        "elapsed_seconds": time.time() - started,
        "iperf3": iperf,
        "scenarios": [dict(s.to_json(), ratios=r) for s, sm, r in rows],
        "small_file_overhead": overheads,
        "targets": tg,
        "failures": bench.failures,
        "notes": [
            "seconds = wall time of the receiving command(s) measured by the harness; vbt's own "
            "'seconds' is vbt_reported_seconds",
            "vbt fsyncs every file and opens the partition with RocksDB before it reports; curl does "
            "neither (nginx+curl+fsync adds the fsync)",
            "CPU: receiver from wait4 rusage, sender from /proc/<pid>/stat utime+stime deltas "
            f"({CLK_TCK} ticks/s); RSS: receiver ru_maxrss, sender VmHWM (reset after the cold run)",
            "TTFB: vbt first_byte_seconds (request sent -> first FILE head, after connect/handshake); "
            "curl time_starttransfer of the first file (includes connect/handshake)",
        ],
        "table": text,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {a.out} in {time.time() - started:.0f}s", flush=True)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
