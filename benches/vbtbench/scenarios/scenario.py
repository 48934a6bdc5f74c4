"""One row of the report: what ran, and its samples (one per run)."""

from ..common import GIB, median
from ..harness.procstat import loadavg


def _per_gib(samples, key, gib):
    v = median([s.get(key) for s in samples])
    return v / gib if (v is not None and gib) else None


def _peak_mib(samples, key):
    vs = [s.get(key) for s in samples if s.get(key) is not None]
    return max(vs) / 1024 if vs else None


def _ms(seconds):
    return seconds * 1000 if seconds is not None else None


def summarize(ss):
    """Median seconds and rates, CPU per GiB (median), peak RSS (max over runs)."""
    sec = median([s["seconds"] for s in ss])
    nbytes = ss[0]["bytes"]
    gib = nbytes / GIB if nbytes else None
    out = {
        "seconds": sec,
        "seconds_min": min(s["seconds"] for s in ss),
        "seconds_max": max(s["seconds"] for s in ss),
        "bytes": nbytes,
        "files": ss[0].get("files"),
        "mb_per_s": nbytes / sec / 1e6 if nbytes and sec else None,
        "cpu_send_s_per_gib": _per_gib(ss, "cpu_send", gib),
        "cpu_recv_s_per_gib": _per_gib(ss, "cpu_recv", gib),
        "rss_send_mib": _peak_mib(ss, "rss_send_kib"),
        "rss_recv_mib": _peak_mib(ss, "rss_recv_kib"),
        "ttfb_ms": _ms(median([s.get("ttfb") for s in ss])),
        "runs": len(ss),
    }
    vs = [s.get("vbt_seconds") for s in ss if s.get("vbt_seconds") is not None]
    if vs:
        out["vbt_reported_seconds"] = median(vs)
        rep = out["vbt_reported_seconds"]
        out["vbt_reported_mb_per_s"] = nbytes / rep / 1e6 if rep else None
    return out


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
        return summarize(self.samples) if self.samples else None

    def to_json(self):
        return {
            "key": self.key, "label": self.label, "kind": self.kind, "transport": self.transport,
            "dataset": self.dataset, "size_mib": self.size_mib, "phase": self.phase, "mode": self.mode,
            "summary": self.summary(), "samples": self.samples, "errors": self.errors,
        }


def vbt_rows(sess, transport, checksum, dataset, size, phases=("cold", "warm")):
    """The rows of one vbt mode: one per phase."""
    m = f"{transport}-{checksum}"
    return {ph: sess.add(Scenario(f"vbt-{m}-{ph}", f"vbt {transport} {checksum} {ph}", "vbt",
                                  transport, dataset, size, ph, m)) for ph in phases}


# nginx+curl variants: what follows the download -> (key prefix, label prefix).
CURL_VARIANTS = {
    None: ("nginx-curl", "nginx+curl"),
    "md5sum": ("nginx-curl-md5", "nginx+curl+md5sum"),
    "fsync": ("nginx-curl-fsync", "nginx+curl+fsync"),
}


def curl_rows(sess, dataset, size, thens):
    """The nginx+curl rows, per transport then per variant: {(then, transport): Scenario}."""
    rows = {}
    for t in sess.transports:
        for then in thens:
            key, label = CURL_VARIANTS[then]
            rows[then, t] = sess.add(Scenario(f"{key}-{t}", f"{label} {t}", "baseline", t, dataset, size))
    return rows


def md5sum_row(sess, dataset, size):
    return sess.add(Scenario("md5sum", "md5sum (page cache, 1 core)", "baseline", "plain", dataset, size))


def md5sum_x2_row(sess, dataset, size):
    return sess.add(Scenario("md5sum-x2", "md5sum x2 (both cores)", "baseline", "plain", dataset, size))
