"""The text table: one section per partition size, the other scenarios, the small files, then iperf3."""

from ..common import median

COLS = ["scenario", "s", "±%", "MB/s", "xnginx", "xngx+md5", "xmd5sum", "xiperf3", "xreingest",
        "CPUs/GiB snd", "rcv", "RSS MiB snd", "rcv", "TTFB ms"]
# vbt rows first (warm, cold, diagnostic), then the baselines in the order they were made.
PHASES = {"warm": 0, "cold": 1, "diag": 2}


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def fmt_ttfb(s, ms):
    # vbt reports first_byte_seconds rounded to the millisecond.
    if s.kind == "vbt" and ms is not None:
        return "<1" if ms < 0.5 else f"{ms:.0f}"
    return fmt(ms, ".1f")


def _spread(sm):
    return (sm["seconds_max"] - sm["seconds_min"]) / sm["seconds"] * 100 if sm["runs"] > 1 else None


def _cells(s, sm, r):
    if not sm:
        return [s.label, "FAILED"] + [""] * (len(COLS) - 2)
    return [
        s.label, fmt(sm["seconds"], ".3f"), fmt(_spread(sm), ".0f"), fmt(sm["mb_per_s"], ".0f"),
        fmt(r.get("vs_nginx_curl"), ".2f"), fmt(r.get("vs_nginx_curl_md5sum"), ".2f"),
        fmt(r.get("vs_md5sum"), ".2f"), fmt(r.get("vs_iperf3"), ".2f"), fmt(r.get("reingest_speedup"), ".1f"),
        fmt(sm.get("cpu_send_s_per_gib"), ".2f"), fmt(sm.get("cpu_recv_s_per_gib"), ".2f"),
        fmt(sm.get("rss_send_mib"), ".0f"), fmt(sm.get("rss_recv_mib"), ".0f"), fmt_ttfb(s, sm.get("ttfb_ms")),
    ]


def _line(cells, widths):
    """First column left-aligned, the numbers right-aligned."""
    return "  " + "  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                            for i, c in enumerate(cells))


def section(title, items, extras=()):
    """Lines of one section; extras = [(column name, row -> cell)] adds last columns."""
    body = [_cells(s, sm, r) for s, sm, r in items]
    hdr = COLS + [name for name, _ in extras]
    for row, (s, _, _) in zip(body, items):
        row += [cell(s) for _, cell in extras]
    widths = [max(len(str(x[i])) for x in [hdr] + body) for i in range(len(hdr))]
    return [title, _line(hdr, widths)] + [_line(row, widths) for row in body] + [""]


def _ordered(items):
    return sorted(items, key=lambda x: (0, PHASES[x[0].phase]) if x[0].kind == "vbt" else (1, 0))


def _load_range(items):
    loads = [s["load1"] for x in items for s in x[0].samples]
    return f"{min(loads, default=0):.2f}-{max(loads, default=0):.2f}"


def _partition_section(rows, z):
    items = _ordered([x for x in rows if x[0].dataset == "partition" and x[0].size_mib == z])
    if not items:
        return []
    first = items[0][1] or {}
    title = (f"{z} MiB partition ({first.get('files', '?')} files, "
             f"{(first.get('bytes') or 0) / 1e6:.0f} MB); load1 during runs {_load_range(items)}")
    return section(title, items)


def _small_section(small, overheads, a):
    small = _ordered(small)
    sm0 = small[0][1] or {}
    title = (f"small files ({a.small_files} x {a.small_file_kib} KiB, "
             f"{(sm0.get('bytes') or 0) / 1e6:.0f} MB; per-file overhead vs the {a.sizes[0]} MiB "
             f"warm rate of the same mode); load1 {_load_range(small)}")
    return section(title, small, [("ms/file", lambda s: fmt(overheads.get(s.key, {}).get("ms_per_file"), ".3f"))])


def _iperf_lines(iperf, a):
    return [f"iperf3 loopback (wire ceiling): {iperf['mb_per_s']:.0f} MB/s, median of "
            f"{iperf['runs']} x {a.iperf_seconds}s; CPU s/GiB client {fmt(iperf['cpu_send_s_per_gib'], '.2f')}"
            f" server {fmt(iperf['cpu_recv_s_per_gib'], '.2f')}", ""]


TITLES = {
    "multi": "8 partitions at once, MD5 mode (`vbt fetch --partition 0-7`), {z} MiB in all, against md5sum of "
             "the same files",
    "fanout": "one sender, many receivers ({z} MiB partition; the aggregate row: all bytes / wall of the batch, "
              "CPU summed over the receivers, RSS the largest receiver)",
    "zones": "many receivers in z1, 3 senders in z1-z3 with a small admission each ({z} MiB; s = wall of the "
             "batch; refusals and who served are in the targets)",
    "resume": "resume vs restart after a SIGKILL at ~90 % ({z} MiB; s = the finishing run; MB/s = whole "
              "partition / that)",
    "identity": "cut at ~90 %, then resumed from another snapshot of the same files ({z} MiB; s = the retry; "
                "MB/s = whole partition / that; moved = the retry's bytes, kept = its resumed_bytes)",
    "java": "vbt against Venice's Java sender and receiver ({z} MiB, plaintext, limits off; s = Java's own timer "
            "for a Java receiver (JVM start excluded), the whole process for vbt fetch; wall s = the process)",
}


def _last(s, key):
    return s.samples[-1].get(key) if s.samples else None


def _median_of(key, fallback="seconds"):
    return lambda s: fmt(median([x.get(key, x.get(fallback)) for x in s.samples]), ".3f")


# Extra columns of some sections: [(name, row -> cell)].
EXTRAS = {
    "identity": [
        ("moved MB", lambda s: fmt(_last(s, "moved_bytes") and _last(s, "moved_bytes") / 1e6, ".0f")),
        ("kept MB", lambda s: fmt(_last(s, "resumed_bytes") and _last(s, "resumed_bytes") / 1e6, ".0f")),
        ("moved %", lambda s: fmt(_last(s, "moved_fraction") and _last(s, "moved_fraction") * 100, ".1f")),
    ],
    "java": [("wall s", _median_of("wall"))],
}


def _other_sections(rows):
    lines = []
    for ds, title in TITLES.items():
        items = [x for x in rows if x[0].dataset == ds]
        if items:
            z = items[0][0].size_mib
            lines += section(title.format(z=z) + f"; load1 {_load_range(items)}", _ordered(items), EXTRAS.get(ds, ()))
    return lines


def table(rows, iperf, overheads, sess):
    a = sess.a
    lines = []
    for z in a.sizes:
        lines += _partition_section(rows, z)
    lines += _other_sections(rows)
    small = [x for x in rows if x[0].dataset == "small"]
    if small:
        lines += _small_section(small, overheads, a)
    if iperf:
        lines += _iperf_lines(iperf, a)
    return "\n".join(lines)
