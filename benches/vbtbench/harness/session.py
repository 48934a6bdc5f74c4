"""One benchmark run's state: its work dir and logs, the rows it records, what failed."""

import os
import shutil
import tempfile

from ..common import GIB, Failed, log
from .files import rm
from .procs import kill_all_children, measured


class Session:
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
        self.transports = ["plain", "tls"] if self.tls else ["plain"]
        self.scenarios = []
        self.certs = None
        self.iperf = None
        self.failures = []

    def logfile(self, name):
        """A fresh log path prefix; numbered so the logs list in run order."""
        self.seq += 1
        return os.path.join(self.logs, f"{self.seq:04d}-{name}")

    def run(self, name, cmd, timeout=None):
        base = self.logfile(name)
        return measured(cmd, base + ".out", base + ".err", timeout or self.a.timeout)

    def add(self, scenario):
        """Records a row; rows are reported in the order they were added."""
        self.scenarios.append(scenario)
        return scenario

    def attempt(self, sc, fn):
        """Runs one sample of sc; a failure is recorded against the row and the run goes on."""
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

    def close(self):
        kill_all_children()
        if self.a.keep:
            log(f"bench: kept {self.work}")
        else:
            rm(self.work)
