"""The tools the baselines need, and what the JSON records about the machine and the build."""

import datetime
import hashlib
import os
import platform
import shutil
import subprocess
import sys

from .procstat import CLK_TCK, loadavg

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# benches/vbtbench/harness/machine.py -> the checkout.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def check_tools(vbt):
    """Exits with a message if the vbt binary or a baseline tool is missing (scripts/bench
    installs the tools)."""
    if not os.access(vbt, os.X_OK):
        raise SystemExit(f"bench: no vbt binary at {vbt} (run scripts/bench, or cargo build --bin vbt)")
    for tool in ("curl", "iperf3", "md5sum", "sync"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is missing (scripts/bench installs it)")
    if not os.access(NGINX, os.X_OK):
        raise SystemExit("bench: nginx is missing (scripts/bench installs it)")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except Exception:
        return None


def _proc_field(path, prefix):
    with open(path) as f:
        for line in f:
            if line.startswith(prefix):
                return line
    return None


def _cpu_model():
    line = _proc_field("/proc/cpuinfo", "model name")
    return line.split(":", 1)[1].strip() if line else None


def _mem_total_mib():
    line = _proc_field("/proc/meminfo", "MemTotal:")
    return int(line.split()[1]) // 1024 if line else None


def _iso(t):
    return t.isoformat(timespec="seconds")


def tool_versions():
    return {
        "nginx": _first_line([NGINX, "-v"]),
        "curl": _first_line(["curl", "--version"]),
        "iperf3": _first_line(["iperf3", "--version"]),
        "md5sum": _first_line(["md5sum", "--version"]),
        "python": sys.version.split()[0],
    }


def machine_info(vbt):
    utc = datetime.timezone.utc
    dirty = _first_line(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "nproc_usable": len(os.sched_getaffinity(0)),
        "model_name": _cpu_model(),
        "kernel": platform.release(),
        "mem_total_mib": _mem_total_mib(),
        "date": _iso(datetime.datetime.now(utc)),
        "loadavg_start": loadavg(),
        "vbt_binary": vbt,
        "vbt_sha256": sha256_file(vbt),
        "vbt_mtime": _iso(datetime.datetime.fromtimestamp(os.path.getmtime(vbt), utc)),
        "vbt_profile": "debug" if "/debug/" in vbt else "release" if "/release/" in vbt else "?",
        "git_head": _first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(dirty),
        "tools": tool_versions(),
        "clock_ticks_per_s": CLK_TCK,
    }
