"""Every row against the baselines measured in the same run: on a noisy machine only these
ratios mean anything."""

from ..common import median


def find(scs, dataset, size, key):
    """The summary of a row that has samples, or None."""
    for s in scs:
        if s.dataset == dataset and s.size_mib == size and s.key == key and s.summary():
            return s.summary()
    return None


def rate(summary):
    return summary["mb_per_s"] if summary else None


def ratio(a, b):
    return a / b if (a is not None and b) else None


def iperf_summary(sess):
    """iperf3 runs differ in bytes (fixed time, not size): MB/s is the median of each run's rate."""
    sc = sess.iperf
    if not (sc and sc.samples):
        return None
    iperf = sc.summary()
    iperf["mb_per_s"] = median([s["bytes"] / s["seconds"] / 1e6 for s in sc.samples])
    return iperf


def _row_ratios(scs, s, sm, iperf):
    """Ratios of one row; nginx rows of the row's own transport, else plaintext."""
    def of(key):
        return find(scs, s.dataset, s.size_mib, key)

    t = s.transport
    ng = of(f"nginx-curl-{t}") or of("nginx-curl-plain")
    ngm = of(f"nginx-curl-md5-{t}") or of("nginx-curl-md5-plain")
    r = {
        "vs_nginx_curl": ratio(rate(sm), rate(ng)),
        "vs_nginx_curl_plain": ratio(rate(sm), rate(of("nginx-curl-plain"))),
        "vs_nginx_curl_tls": ratio(rate(sm), rate(of("nginx-curl-tls"))),
        "vs_nginx_curl_md5sum": ratio(rate(sm), rate(ngm)),
        "vs_nginx_curl_fsync": ratio(rate(sm), rate(of(f"nginx-curl-fsync-{t}"))),
        "vs_md5sum": ratio(rate(sm), rate(of("md5sum"))),
        "vs_iperf3": ratio(rate(sm), rate(iperf)),
    }
    ri = of("reingest")
    r["reingest_speedup"] = ratio(ri["seconds"], sm["seconds"]) if ri else None
    return r


def annotate(sess):
    """[(row, summary, ratios)] in row order, and the iperf3 summary."""
    scs = sess.scenarios
    iperf = iperf_summary(sess)
    rows = []
    for s in scs:
        sm = iperf if s.dataset == "wire" else s.summary()
        r = _row_ratios(scs, s, sm, iperf) if sm and s.dataset in ("partition", "small") else {}
        rows.append((s, sm, r))
    return rows, iperf


def small_overheads(sess):
    """Per-file overhead of the small-file snapshot, against the big-partition warm rate of the
    same mode (first size given)."""
    scs = sess.scenarios
    size = sess.a.sizes[0]
    n = sess.a.small_files
    pairs = [(f"vbt-{t}-{c}-warm", f"vbt-{t}-{c}-warm") for t, c in sess.modes]
    pairs += [(f"vbt-{t}-{c}-cold", f"vbt-{t}-{c}-warm") for t, c in sess.modes]
    pairs += [(f"nginx-curl{v}-{t}", f"nginx-curl{v}-{t}") for v in ("", "-fsync") for t in ("plain", "tls")]
    out = {}
    for small_key, big_key in pairs:
        sm = find(scs, "small", None, small_key)
        big = find(scs, "partition", size, big_key)
        if not sm or not big or not n:
            continue
        ideal = sm["bytes"] / (big["mb_per_s"] * 1e6)
        out[small_key] = {"ms_per_file": (sm["seconds"] - ideal) / n * 1000, "small_seconds": sm["seconds"],
                          "ideal_seconds": ideal, "big_mb_per_s": big["mb_per_s"], "big_size_mib": size}
    return out
