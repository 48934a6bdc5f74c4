"""Loopback ports: pick a free one, wait until a server listens on one."""

import socket
import time

from ..common import Failed
from .procs import read_tail


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether anything listens on port, from /proc/net (no connection: a connect would be a
    request to the server under test)."""
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
