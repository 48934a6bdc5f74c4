"""Command line and the order of a run: iperf3, each partition size, the small files, report."""

import argparse
import os
import signal
import time

from .common import Failed, log
from .harness.machine import check_tools, machine_info
from .harness.procs import kill_all_children
from .harness.session import Session
from .report.output import report
from .scenarios.fanout import fanout
from .scenarios.zones import zones
from .scenarios.multi import multi_partitions
from .scenarios.java import harness_problem
from .scenarios.partition import extras_at, partition_extras, partition_size
from .scenarios.servers import gen_certs
from .scenarios.small import small_files
from .scenarios.wire import iperf3


def parse_args(argv=None):
    default_target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/vbt-target")
    p = argparse.ArgumentParser(description="vbt against nginx+curl, md5sum, iperf3 and re-ingestion, "
                                "measured in the same run")
    p.add_argument("--vbt", default=os.path.join(default_target, "release", "vbt"))
    p.add_argument("--sizes", default=None, help="partition sizes in MiB, comma-separated (default 1024)")
    p.add_argument("--runs", type=int, default=None, help="warm runs per scenario, median reported (default 3)")
    p.add_argument("--reingest-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--quick", action="store_true",
                   help="256 MiB, 1 run, plaintext only (MD5 + fast), nginx plaintext, md5sum, reingest")
    p.add_argument("--small-files", type=int, default=2000, help="files in the small-file snapshot (0: skip)")
    p.add_argument("--small-file-kib", type=int, default=64)
    p.add_argument("--multi-mib", type=int, default=None,
                   help="total MiB of the 8-partition MD5 scenario, 8 partitions of a share each (default: first --sizes)")
    p.add_argument("--fanout", type=int, default=30, help="receivers at once from one sender (0: skip)")
    p.add_argument("--fanout-mib", type=int, default=256, help="the partition each of them fetches")
    p.add_argument("--zones", type=int, default=30, help="receivers in zone z1 against 3 senders in z1-z3 (0: skip)")
    p.add_argument("--zones-mib", type=int, default=64, help="the partition each of them fetches")
    p.add_argument("--zones-admission", type=int, default=4, help="transfers each of the 3 senders admits at once")
    p.add_argument("--skip", default="", help="comma-separated parts to leave out: partitions (the per-size "
                   "rows; resume, identity and java still run on their partition), streams1, resume, identity, "
                   "java, multi, fanout, zones, reingest, small")
    p.add_argument("--java-harness", default=None, metavar="DIR",
                   help="a directory with run-sender.sh and run-receiver.sh running Venice's Java blob transfer "
                   "(benches/README.md); adds the Java rows at the first size (default: $VENICE_HARNESS; "
                   "neither: no Java rows)")
    p.add_argument("--iperf-seconds", type=int, default=None, help="default 3 (1 with --quick)")
    p.add_argument("--out", default=os.path.join(default_target, "bench", "results.json"))
    p.add_argument("--work-parent", default=None, help="where the temporary work dir goes (default $TMPDIR)")
    p.add_argument("--timeout", type=float, default=600, help="seconds before a single command is killed")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, data) for inspection")
    a = p.parse_args(argv)
    # Defaults that depend on --quick.
    a.sizes = [int(x) for x in (a.sizes or ("256" if a.quick else "1024")).split(",") if x.strip()]
    a.runs = a.runs or (1 if a.quick else 3)
    a.reingest_runs = a.runs if a.reingest_runs is None else a.reingest_runs
    a.multi_mib = a.multi_mib or a.sizes[0]
    a.skip = {x.strip() for x in a.skip.split(",") if x.strip()}
    if a.quick:  # under a minute: only the partition rows
        a.skip |= {"multi", "fanout", "zones", "resume", "identity", "java"}
    a.java_harness = a.java_harness or os.environ.get("VENICE_HARNESS") or None
    if a.java_harness:
        a.java_harness = os.path.abspath(os.path.expanduser(a.java_harness))
    if a.reingest_runs == 0:
        a.skip.add("reingest")
    a.iperf_seconds = a.iperf_seconds or (1 if a.quick else 3)
    return a


def _on_term(signum, frame):
    # SystemExit unwinds through every finally, so the children are ended.
    raise SystemExit(128 + signum)


def main(argv=None):
    a = parse_args(argv)
    check_tools(a.vbt)
    if "java" not in a.skip:
        if not a.java_harness:
            log("bench: no Java rows: neither --java-harness nor VENICE_HARNESS names a Java harness")
        elif harness_problem(a.java_harness):
            raise SystemExit(f"bench: --java-harness: {harness_problem(a.java_harness)}")
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGHUP, _on_term)
    started = time.time()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    info = machine_info(a.vbt)
    sess = Session(a)
    try:
        return run_all(sess, info, started)
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        sess.close()


def _steps(sess):
    steps = []
    for z in sess.a.sizes:
        if "partitions" not in sess.a.skip:
            steps.append((f"{z} MiB partition", lambda z=z: partition_size(sess, z)))
        elif extras_at(sess, z):
            steps.append((f"{z} MiB partition ({', '.join(extras_at(sess, z))})", lambda z=z: partition_extras(sess, z)))
    if "multi" not in sess.a.skip:
        steps.append(("8 partitions", lambda: multi_partitions(sess)))
    if sess.a.fanout and "fanout" not in sess.a.skip:
        steps.append((f"{sess.a.fanout} receivers", lambda: fanout(sess)))
    if sess.a.zones and "zones" not in sess.a.skip:
        steps.append((f"{sess.a.zones} receivers, 3 zoned senders", lambda: zones(sess)))
    if sess.a.small_files and "small" not in sess.a.skip:
        steps.append(("small files", lambda: small_files(sess)))
    return steps


def run_all(sess, info, started):
    log(f"bench: work dir {sess.work}; {info['nproc']} cores {info['model_name']}, kernel {info['kernel']}, "
        f"load {info['loadavg_start']}")
    if sess.tls:
        gen_certs(sess)
    log("== iperf3")
    iperf3(sess)
    for name, step in _steps(sess):
        try:
            step()
        except Failed as e:
            log(f"  FAILED {name}: {e}")
            sess.failures.append(f"{name}: {e}")
        finally:
            kill_all_children()
    return report(sess, info, started)
