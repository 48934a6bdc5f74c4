"""Child processes: start, wait with a deadline, end. Every child is registered so that every
exit path (error, Ctrl-C, SIGTERM) ends it."""

import ctypes
import os
import signal
import subprocess
import threading
import time

from ..common import Failed

CHILDREN = {}
_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # Die with the harness even if it is SIGKILLed (PR_SET_PDEATHSIG = 1).
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def spawn(cmd, stdout, stderr, cwd=None, env=None):
    """env: variables added to the harness's own environment."""
    full = dict(os.environ, **env) if env else None
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd, env=full,
                         start_new_session=True, preexec_fn=_child_setup)
    CHILDREN[p.pid] = p
    return p


def spawn_logged(cmd, base, env=None):
    """Starts a long-running process with its output in base.out / base.err."""
    with open(base + ".out", "wb") as out, open(base + ".err", "wb") as err:
        return spawn(cmd, out, err, env=env)


def kill_quietly(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _term_group(pid):
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def kill_child(p, grace=3.0):
    """Ends one process we started (its own process group), then reaps it."""
    if p.pid not in CHILDREN:
        return
    try:
        if p.poll() is None:
            _term_group(p.pid)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                kill_quietly(p.pid)
                p.wait(5)
    finally:
        CHILDREN.pop(p.pid, None)


def kill_all_children():
    for p in list(CHILDREN.values()):
        try:
            kill_child(p, grace=1.0)
        except Exception:  # keep going: end every child
            pass


def reap(procs, timeout):
    """Waits for every process (all SIGKILLed after timeout seconds); their rusages. wait4 rather
    than Popen.wait: the rusage is the only per-process CPU and peak RSS of a finished child."""
    timer = threading.Timer(timeout, lambda: [kill_quietly(p.pid) for p in procs])
    timer.start()
    rusages = []
    try:
        for p in procs:
            _, status, ru = os.wait4(p.pid, 0)
            CHILDREN.pop(p.pid, None)
            p.returncode = os.waitstatus_to_exitcode(status)
            rusages.append(ru)
    finally:
        timer.cancel()
    return rusages


def read_tail(path, n=2000):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")[-n:].strip()
    except OSError:
        return ""


def measured(cmd, out_path, err_path, timeout, cwd=None):
    """Runs one command to its end; wall time and rusage (os.wait4) of that process."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = spawn(cmd, out, err, cwd)
        (ru,) = reap([p], timeout)
        wall = time.perf_counter() - t0
    with open(out_path, "rb") as f:
        stdout = f.read().decode(errors="replace")
    if p.returncode != 0:
        raise Failed(f"{' '.join(map(str, cmd[:3]))} ... exited {p.returncode}: {read_tail(err_path)}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss, "stdout": stdout}
