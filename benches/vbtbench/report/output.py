"""What a run prints (header, table, targets, failures) and the JSON it writes."""

import json
import os
import sys
import time

from ..harness.procstat import CLK_TCK, loadavg
from .ratios import annotate, comparisons, small_overheads
from .table import table
from .targets import targets

NOTES = [
    "seconds = wall time of the receiving command(s) measured by the harness; vbt's own "
    "'seconds' is vbt_reported_seconds",
    "vbt fsyncs every file and opens the partition with RocksDB before it reports; curl does "
    "neither (nginx+curl+fsync adds the fsync)",
    "CPU: receiver from wait4 rusage, sender from /proc/<pid>/stat utime+stime deltas "
    f"({CLK_TCK} ticks/s); RSS: receiver ru_maxrss, sender VmHWM (reset after the cold run)",
    "Java rows: a Java receiver's seconds are its own timer (request to renamed partition, JVM start "
    "excluded; its process wall time is 'wall'); vbt fetch rows are the whole process",
    "TTFB: vbt first_byte_seconds (request sent -> first FILE head, after connect/handshake); "
    "curl time_starttransfer of the first file (includes connect/handshake)",
]


def _print_header(info, a):
    print(f"vbt bench: {info['date']}  {info['nproc']} cores ({info['model_name']}), kernel {info['kernel']}, "
          f"vbt {info['vbt_profile']} build {info['git_head']}{'+dirty' if info['git_dirty'] else ''}")
    print(f"load average start {info['loadavg_start']}, end {info['loadavg_end']}; "
          f"{a.runs} warm run(s) per row (median), cold = one first request; MB = 10^6 bytes")
    print("columns: ±% = (max - min) / median of the runs; x<baseline> = MB/s ratio to that baseline (nginx rows "
          "of the same transport); xreingest = reingest seconds / row seconds\n")


def _print_targets(tg):
    print("targets:")
    for t in tg:
        mark = "met" if t["met"] else ("n/a" if t["met"] is None else "NOT MET")
        print(f"  [{mark:>7}] {t['target']}: {t['value']}")


def _print_comparisons(cs):
    if cs:
        print("side by side:")
        for c in cs:
            print(f"  {c['text']}")
        print()


def _print_failures(failures):
    if failures:
        print("\nfailures:")
        for f in failures:
            print(f"  {f}")


def _result(sess, info, started, rows, iperf, overheads, tg, text, cs):
    return {
        "command": sys.argv,
        "args": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(sess.a).items()},
        "machine": info,
        "elapsed_seconds": time.time() - started,
        "iperf3": iperf,
        "scenarios": [dict(s.to_json(), ratios=r) for s, sm, r in rows],
        "small_file_overhead": overheads,
        "targets": tg,
        "comparisons": cs,
        "failures": sess.failures,
        "notes": NOTES,
        "table": text,
    }


def report(sess, info, started):
    """Prints the report, writes the JSON to --out; the exit status (1 if anything failed)."""
    a = sess.a
    rows, iperf = annotate(sess)
    overheads = small_overheads(sess)
    tg = targets(sess, overheads)
    info["loadavg_end"] = loadavg()
    text = table(rows, iperf, overheads, sess)
    _print_header(info, a)
    print(text)
    cs = comparisons(sess)
    _print_comparisons(cs)
    _print_targets(tg)
    _print_failures(sess.failures)
    result = _result(sess, info, started, rows, iperf, overheads, tg, text, cs)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {a.out} in {time.time() - started:.0f}s", flush=True)
    return 1 if sess.failures else 0
