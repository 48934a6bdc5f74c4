"""The targets of issues #9 (first), #22, #21 and #5, each checked from the rows: met (True), not met (False), or not
measured (None). A target over several sizes is not measured if any size lacks its rows."""

from ..common import median
from .ratios import find


def _per_size(sizes, check):
    """check(size) -> (met, text), or None when that size lacks the rows."""
    vals, ok = [], True
    for z in sizes:
        c = check(z)
        if c is None:
            ok = None
            continue
        met, text = c
        vals.append(text)
        ok = (ok and met) if ok is not None else None
    return ok, vals


def _target(name, met, value):
    return {"target": name, "met": met, "value": value}


def md5_vs_md5sum(scs, sizes):
    def check(z):
        v, m = find(scs, "partition", z, "vbt-plain-md5-warm"), find(scs, "partition", z, "md5sum")
        if not v or not m:
            return None
        r = v["mb_per_s"] / m["mb_per_s"]
        return r >= 0.9, f"{z} MiB: {v['mb_per_s']:.0f} MB/s = {r:.2f}x md5sum {m['mb_per_s']:.0f} MB/s"

    ok, vals = _per_size(sizes, check)
    return _target("MD5 mode, one partition, warm >= 0.9 x single-core md5sum", ok, "; ".join(vals))


def fast_vs_nginx(scs, sizes, t, name, want):
    """fast (the default config) >= want x nginx+curl without verification, on one transport."""
    def check(z):
        v, n = find(scs, "partition", z, f"vbt-{t}-fast-warm"), find(scs, "partition", z, f"nginx-curl-{t}")
        if not v or not n:
            return None
        r = v["mb_per_s"] / n["mb_per_s"]
        return r >= want, f"{z} MiB: {v['mb_per_s']:.0f} vs {n['mb_per_s']:.0f} MB/s ({r:.2f}x)"

    ok, vals = _per_size(sizes, check)
    return _target(name, ok, "; ".join(vals) or "not measured")


def peak_rss(scs, sizes):
    """Every vbt row of a size, cold and warm, on both sides."""
    def check(z):
        rs = [s.summary() for s in scs
              if s.kind == "vbt" and s.size_mib == z and s.dataset == "partition" and s.summary()]
        if not rs:
            return None
        snd = max(x["rss_send_mib"] or 0 for x in rs)
        rcv = max(x["rss_recv_mib"] or 0 for x in rs)
        return snd < 64 and rcv < 64, f"{z} MiB: send {snd:.0f} MiB, recv {rcv:.0f} MiB"

    ok, vals = _per_size(sizes, check)
    return _target("peak RSS < 64 MiB per side at every size (every vbt row)", ok, "; ".join(vals))


def _ms(v):  # vbt reports whole milliseconds
    return "<1 ms" if v < 0.5 else f"{v:.0f} ms"


def ttfb_flat(scs, sizes):
    """Warm TTFB (plaintext MD5) about equal across sizes: max <= 2 x min + 5 ms."""
    name = "TTFB warm roughly equal across sizes (max <= 2 x min + 5 ms)"
    tt = {z: (find(scs, "partition", z, "vbt-plain-md5-warm") or {}).get("ttfb_ms") for z in sizes}
    tt = {z: v for z, v in tt.items() if v is not None}
    shown = ", ".join(f"{z} MiB: {_ms(v)}" for z, v in tt.items())
    if len(tt) < 2:
        return _target(name, None, "needs >= 2 sizes; " + shown)
    lo, hi = min(tt.values()), max(tt.values())
    return _target(name, hi <= 2 * lo + 5, shown)


def cold_vs_warm(scs, sizes, modes):
    """The first request to a fresh sender (checkpoint + checksums) against the warm median of
    the same mode; met when every mode's cold time is within 1.2x its warm time."""
    def check(z):
        vals, ok = [], True
        for t, c in modes:
            cold = find(scs, "partition", z, f"vbt-{t}-{c}-cold")
            warm = find(scs, "partition", z, f"vbt-{t}-{c}-warm")
            if not cold or not warm:
                continue
            r = cold["seconds"] / warm["seconds"]
            ok = ok and r <= 1.2
            ttfb = ""
            if cold["ttfb_ms"] is not None and warm["ttfb_ms"] is not None:
                ttfb = f", first byte {_ms(cold['ttfb_ms'])} cold / {_ms(warm['ttfb_ms'])} warm"
            vals.append(f"{t} {c} {r:.2f}x ({cold['seconds']:.2f}s / {warm['seconds']:.2f}s{ttfb})")
        if not vals:
            return None
        return ok, f"{z} MiB: " + ", ".join(vals)

    ok, vals = _per_size(sizes, check)
    return _target("cold first request <= 1.2 x warm time (every mode)", ok, "; ".join(vals) or "not measured")


def cold_ttfb_growth(scs, sizes, small=1024, big=4096):
    """First byte of a cold request: 4 GiB within 1.5x of 1 GiB (plaintext, both checksums)."""
    name = f"first byte, cold {big // 1024} GiB <= 1.5 x cold {small // 1024} GiB"
    if small not in sizes or big not in sizes:
        return _target(name, None, f"needs {small} and {big} in --sizes")
    vals, ok = [], True
    for c in ("md5", "fast"):
        a = (find(scs, "partition", small, f"vbt-plain-{c}-cold") or {}).get("ttfb_ms")
        b = (find(scs, "partition", big, f"vbt-plain-{c}-cold") or {}).get("ttfb_ms")
        if a is None or b is None:
            return _target(name, None, "not measured")
        # vbt reports whole ms: a 0 ms first byte counts as 1 ms.
        r = b / max(a, 1.0)
        ok = ok and r <= 1.5
        vals.append(f"plain {c} {_ms(b)} / {_ms(a)} = {r:.2f}x")
    return _target(name, ok, ", ".join(vals))


def multi_md5(scs, size):
    """8 partitions at once in MD5 mode: aggregate >= 1.5x md5sum; receiver <= 1.5 CPU s/GiB."""
    name = "8 partitions at once, MD5: aggregate >= 1.5 x md5sum and receiver <= 1.5 CPU s/GiB"
    v, m = find(scs, "multi", size, "multi-md5-warm"), find(scs, "multi", size, "md5sum")
    if not v or not m:
        return _target(name, None, "not measured")
    r, cpu = v["mb_per_s"] / m["mb_per_s"], v["cpu_recv_s_per_gib"]
    return _target(name, r >= 1.5 and cpu <= 1.5,
                   f"{size} MiB in 8: {v['mb_per_s']:.0f} MB/s = {r:.2f}x md5sum {m['mb_per_s']:.0f} MB/s; "
                   f"receiver {cpu:.2f} CPU s/GiB")


def fanout_target(sess, size, n):
    """n receivers from one sender: all succeed, aggregate >= one alone, slowest <= 1.5x fastest,
    sender RSS < 64 MiB."""
    name = f"{n} receivers, one sender: all succeed, aggregate >= single, slowest <= 1.5 x fastest, sender RSS < 64 MiB"
    many = next((s for s in sess.scenarios if s.dataset == "fanout" and s.key == f"fanout-{n}"), None)
    one = find(sess.scenarios, "fanout", size, "fanout-single")
    if not many or not many.samples or not one:
        return _target(name, None, "not measured" + (f": {many.errors[0]}" if many and many.errors else ""))
    s = many.samples[-1]
    ok_all = s["succeeded"] == s["receivers"]
    each = s["receiver_seconds"]
    agg = s["bytes"] / s["seconds"] / 1e6
    spread = max(each) / min(each) if each else None
    rss = (s.get("rss_send_kib") or 0) / 1024
    met = ok_all and agg >= one["mb_per_s"] and spread is not None and spread <= 1.5 and rss < 64
    return _target(name, met, f"{s['succeeded']}/{s['receivers']} succeeded; aggregate {agg:.0f} MB/s = "
                   f"{agg / one['mb_per_s']:.2f}x single {one['mb_per_s']:.0f} MB/s; slowest {max(each):.2f}s / "
                   f"fastest {min(each):.2f}s = {spread:.2f}x; sender peak RSS {rss:.0f} MiB "
                   f"({size} MiB partition)")


def zones_target(sess, n, admission):
    """Issue #22: n receivers in z1 against 3 senders (z1-z3) admitting `admission` each: no receiver
    refused more than 3 times before its transfer, and the z1 sender serves the most."""
    name = f"{n} receivers, 3 senders admitting {admission}: <= 3 refusals each, the same-zone sender serves the most"
    sc = next((s for s in sess.scenarios if s.dataset == "zones"), None)
    if not sc or not sc.samples:
        return _target(name, None, "not measured" + (f": {sc.errors[0]}" if sc and sc.errors else ""))
    s = sc.samples[-1]
    served = s["served"]
    near = served.get("z1", 0)
    met = s["succeeded"] == s["receivers"] and s["most_refusals"] <= 3 and all(near >= c for c in served.values())
    return _target(name, met, f"{s['succeeded']}/{s['receivers']} succeeded in {s['seconds']:.1f}s; most 429s before "
                   f"one transfer {s['most_refusals']} ({s['refusals']} in all); served by zone {served}")


def _last(sess, dataset, key):
    """The row and its last sample, or (row or None, None)."""
    sc = next((s for s in sess.scenarios if s.dataset == dataset and s.key == key), None)
    return sc, (sc.samples[-1] if sc and sc.samples else None)


def _not_measured(sc, why="not measured"):
    return why + (f": {sc.errors[0]}" if sc and sc.errors else "")


def identity_target(sess, key, what):
    """Issue #22: after a cut at 90 %, the retry from another snapshot of the same files moves at
    most 15 % of the partition's bytes."""
    name = f"cut at 90 %, {what}: the retry moves <= 15 % of the bytes"
    if "identity" in sess.a.skip:
        return _target(name, None, "not measured (--skip identity)")
    sc, s = _last(sess, "identity", key)
    if not s:
        return _target(name, None, _not_measured(sc))
    whole = s["moved_bytes"] + s["resumed_bytes"]
    dropped = max(0, s["cut_bytes"] - s["resumed_bytes"])
    value = (f"{sc.size_mib} MiB: moved {s['moved_bytes'] / 1e6:.0f} of {whole / 1e6:.0f} MB = "
             f"{s['moved_fraction']:.1%} in {s['seconds']:.2f}s (cut with {s['cut_bytes'] / whole:.0%} in the landing "
             f"dir, {dropped / 1e6:.0f} MB of it not kept; resumed_bytes "
             f"{s['resumed_bytes'] / 1e6:.0f} MB)")
    if s.get("reused_from") is not None and key == "identity-second-sender":
        value += "; reused_from " + ", ".join(f"{r['peer']} {r['bytes'] / 1e6:.0f} MB" for r in s["reused_from"])
    if s.get("snapshots_created"):
        value += f"; the sender made {s['snapshots_created']} snapshots"
    _, same = _last(sess, "resume", "resume-resumed")
    if same and same.get("reported_bytes") is not None and same.get("resumed_bytes") is not None:
        t = same["reported_bytes"] + same["resumed_bytes"]
        value += f" (same-sender resume in this run: {same['reported_bytes'] / t:.1%} moved)"
    return _target(name, s["moved_fraction"] <= 0.15, value)


def java_target(sess):
    """Issue #21: vbt->vbt in its default config >= 8 x Venice's Java->Java on the same partition.
    Java's MB/s is from its own timer (JVM start excluded), vbt's from the whole `vbt fetch`."""
    name = "vbt->vbt default config >= 8 x Venice Java->Java (plaintext, same partition)"
    a = sess.a
    if "java" in a.skip:
        return _target(name, None, "not measured (--skip java)")
    if not a.java_harness:
        return _target(name, None, "not measured: no Java harness (--java-harness or VENICE_HARNESS)")
    size = a.sizes[0]
    v, j = find(sess.scenarios, "java", size, "vbt-vbt"), find(sess.scenarios, "java", size, "java-java")
    if not v or not j:
        sc, _ = _last(sess, "java", "java-java")
        return _target(name, None, _not_measured(sc))
    jrow, _ = _last(sess, "java", "java-java")
    jwall = median([x["wall"] for x in jrow.samples])
    r, rw = v["mb_per_s"] / j["mb_per_s"], jwall / v["seconds"]
    value = (f"{size} MiB: vbt {v['mb_per_s']:.0f} MB/s ({v['seconds']:.2f}s, whole vbt fetch) vs Java "
             f"{j['mb_per_s']:.0f} MB/s ({j['seconds']:.2f}s by Java's timer, {jwall:.2f}s JVM wall) = {r:.1f}x "
             f"({rw:.1f}x against the JVM wall)")
    cross = [(k, find(sess.scenarios, "java", size, k)) for k in ("vbt-from-java", "java-from-vbt")]
    cross = [f"{'vbt fetch <- Java sender' if k == 'vbt-from-java' else 'Java receiver <- vbt serve'} "
             f"{c['mb_per_s']:.0f} MB/s" for k, c in cross if c]
    if cross:
        value += "; cross: " + ", ".join(cross)
    return _target(name, r >= 8, value)


def small_file_overhead(overheads):
    """Every warm vbt mode under 0.5 ms per file; nginx+curl+fsync shown for scale."""
    vs = {k: v["ms_per_file"] for k, v in overheads.items() if k.startswith("vbt-") and k.endswith("-warm")}
    floor = overheads.get("nginx-curl-fsync-plain", {}).get("ms_per_file")
    value = (", ".join(f"{k[4:-5]} {v:.3f} ms" for k, v in vs.items()) or "not measured") \
        + (f" (same run, nginx+curl+fsync plain: {floor:.3f} ms)" if floor is not None else "")
    return _target("small-file per-file overhead < 0.5 ms (warm, every mode)",
                   (max(vs.values()) < 0.5) if vs else None, value)


def bootstrap_vs_reingest(scs, sizes):
    """The slowest warm vbt mode at least 10x faster than re-ingestion."""
    def check(z):
        ri = find(scs, "partition", z, "reingest")
        ws = [(s.mode, s.summary()) for s in scs if s.kind == "vbt" and s.phase == "warm" and s.size_mib == z
              and s.dataset == "partition" and s.summary()]
        if not ri or not ws:
            return None
        mode, slow = max(ws, key=lambda x: x[1]["seconds"])
        r = ri["seconds"] / slow["seconds"]
        return r >= 10, (f"{z} MiB: reingest {ri['seconds']:.2f}s / slowest vbt ({mode}) "
                         f"{slow['seconds']:.2f}s = {r:.1f}x")

    ok, vals = _per_size(sizes, check)
    return _target("bootstrap >= 10x faster than reingest", ok, "; ".join(vals))


def targets(sess, overheads):
    scs, sizes = sess.scenarios, sess.a.sizes
    a = sess.a
    return [
        # issue #9
        fast_vs_nginx(scs, sizes, "plain", "vbt->vbt default config (fast, 2 streams) plaintext warm "
                      ">= 1.2 x nginx+curl (no verify)", 1.2),
        fast_vs_nginx(scs, sizes, "tls", "mutual TLS (fast) warm >= 1.0 x nginx+curl TLS (no verify)", 1.0),
        md5_vs_md5sum(scs, sizes),
        cold_vs_warm(scs, sizes, sess.modes),
        cold_ttfb_growth(scs, sizes),
        multi_md5(scs, a.multi_mib),
        fanout_target(sess, a.fanout_mib, a.fanout),
        zones_target(sess, a.zones, a.zones_admission),
        # issue #22
        identity_target(sess, "identity-recreated", "the sender's snapshot re-created before the retry"),
        identity_target(sess, "identity-second-sender", "the retry from a second sender that got it from the first"),
        # issue #21
        java_target(sess),
        peak_rss(scs, sizes),
        # issue #5
        ttfb_flat(scs, sizes),
        small_file_overhead(overheads),
        bootstrap_vs_reingest(scs, sizes),
    ]
