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
        r = _row_ratios(scs, s, sm, iperf) if sm and s.dataset in ("partition", "small", "multi", "fanout") else {}
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


def _streams(scs, sizes, transports):
    out = []
    for z in sizes:
        for t in transports:
            two, one = find(scs, "partition", z, f"vbt-{t}-fast-warm"), find(scs, "partition", z, f"vbt-{t}-fast-warm-s1")
            if two and one:
                out.append({"what": "streams", "size_mib": z, "transport": t, "two_mb_per_s": two["mb_per_s"],
                            "one_mb_per_s": one["mb_per_s"], "ratio": two["mb_per_s"] / one["mb_per_s"],
                            "text": f"{z} MiB {t} fast: streams=2 {two['mb_per_s']:.0f} MB/s vs streams=1 "
                                    f"{one['mb_per_s']:.0f} MB/s = {two['mb_per_s'] / one['mb_per_s']:.2f}x"})
    return out


def _cold_warm(scs, sizes):
    out = []
    for z in sizes:
        for c in ("md5", "fast"):
            cold, warm = find(scs, "partition", z, f"vbt-plain-{c}-cold"), find(scs, "partition", z, f"vbt-plain-{c}-warm")
            if cold and warm:
                r = cold["seconds"] / warm["seconds"]
                out.append({"what": "cold/warm", "size_mib": z, "mode": f"plain-{c}", "ratio": r,
                            "text": f"{z} MiB plain {c}: cold {cold['seconds']:.2f}s / warm {warm['seconds']:.2f}s "
                                    f"= {r:.2f}x; first byte cold {cold['ttfb_ms']:.0f} ms, warm {warm['ttfb_ms']:.0f} ms"})
    return out


def _resume(sess):
    rows = {s.key: s for s in sess.scenarios if s.dataset == "resume" and s.samples}
    res, rst = rows.get("resume-resumed"), rows.get("resume-restart")
    if not res or not rst:
        return []
    a, b = res.samples[-1], rst.samples[-1]
    warm = find(sess.scenarios, "partition", res.size_mib, "vbt-plain-fast-warm")
    full = f"; a whole warm fetch {warm['seconds']:.2f}s" if warm else ""
    return [{"what": "resume", "size_mib": res.size_mib, "resumed_seconds": a["seconds"],
             "restart_seconds": b["seconds"], "resumed_bytes": a.get("resumed_bytes"),
             "restart_resumed_bytes": b.get("resumed_bytes"), "total_bytes": a["bytes"],
             "ratio": b["seconds"] / a["seconds"],
             "text": f"{res.size_mib} MiB cut at {a['cut_bytes'] / a['bytes']:.0%}: resumed in {a['seconds']:.2f}s "
                     f"(resumed_bytes {a.get('resumed_bytes', 0) / 1e6:.0f} MB of {a['bytes'] / 1e6:.0f} MB), "
                     f"restart (resume=false) {b['seconds']:.2f}s (resumed_bytes {b.get('resumed_bytes')}): "
                     f"restart / resume = {b['seconds'] / a['seconds']:.2f}x{full}"}]


def comparisons(sess):
    """The side-by-sides of issue #9 that are no targets: streams 1 vs 2, cold/warm, resume."""
    scs, sizes = sess.scenarios, sess.a.sizes
    return _streams(scs, sizes, sess.transports) + _cold_warm(scs, sizes) + _resume(sess)
