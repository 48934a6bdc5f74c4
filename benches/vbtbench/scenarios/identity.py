"""Issue #22's two 15 % targets: a bootstrap cut at ~90 % (the receiving `vbt fetch` SIGKILLed,
as in resume.py) continues when the retry finds another snapshot of the same files:

- "snapshot re-created": the sender's snapshot is re-created between the cut and the retry (its
  retention expired): a sender of its own with `vbt.snapshot.retention.ms` short, the retry sent
  after the retention passed; the sender's log must show a second snapshot;
- "second sender": the cut from A (the warm plain fast sender), the retry from B, a `vbt serve`
  over a base dir that B bootstrapped from A with `vbt fetch` before the cut.

Both retries are plain `vbt fetch` runs (default config: the receiver asks the sender for its
manifest and keeps the files whose name, size and checksum match). Reported: the bytes the retry
moved (`bytes` of its JSON), `resumed_bytes`, the moved fraction, `reused_from`, wall seconds."""

import json
import os
import time

from ..common import Failed, log
from ..harness.files import dir_files, rm, settle, total_size
from ..harness.procs import kill_child, read_tail
from ..harness.procstat import loadavg, proc_cpu, proc_hwm_kib
from .resume import CUT, _cut
from .runs import _fetch_cmd
from .scenario import Scenario
from .servers import start_vbt_server

# The re-created row's sender: a snapshot older than this is re-created at the next request
# nobody else uses it for. The cut run takes ~8 s, so its snapshot is stale when it is killed.
RETENTION_MS = 1000
# After the cut: the sender notices the dead receiver and releases its snapshot use, and the
# retention has passed.
RELEASE_WAIT = RETENTION_MS / 1000 + 1.0
# What `vbt serve` logs (VBT_LOG=info) each time it makes a snapshot.
CREATED = "created snapshot of"


def _created(err_path):
    try:
        with open(err_path, errors="replace") as f:
            return sum(1 for line in f if CREATED in line)
    except OSError:
        return 0


def _retry(sess, sc, server, recv, store, cut_bytes, check=None):
    """The retry after the cut: one measured `vbt fetch`, default config. check(j) may refuse the
    result (Failed) before the sample is recorded."""
    pid = server["proc"].pid
    settle()
    load1 = loadavg()[0]
    c0 = proc_cpu(pid)
    r = sess.run(f"fetch-{sc.key}", _fetch_cmd(sess, server, "plain", "fast", recv, store, ()))
    c1 = proc_cpu(pid)
    j = json.loads(r["stdout"].strip().splitlines()[-1])
    extra = check(j) if check else {}
    moved, kept = j["bytes"], j.get("resumed_bytes") or 0
    whole = moved + kept
    sc.add(seconds=r["wall"], bytes=whole, files=j["files"], cpu_send=c1 - c0, cpu_recv=r["cpu"],
           rss_send_kib=proc_hwm_kib(pid), rss_recv_kib=r["maxrss_kib"], ttfb=j.get("first_byte_seconds"),
           vbt_seconds=j.get("seconds"), load1=load1, cut_bytes=cut_bytes, moved_bytes=moved, resumed_bytes=kept,
           moved_fraction=moved / whole if whole else None, reused_from=j.get("reused_from"),
           peer=j.get("peer"), streams=j.get("streams"), **(extra or {}))
    rm(recv)
    s = sc.samples[-1]
    log(f"  {sc.label}: moved {moved / 1e6:.0f} MB of {whole / 1e6:.0f} MB ({s['moved_fraction']:.1%}), "
        f"resumed {kept / 1e6:.0f} MB, {r['wall']:.2f}s")


def _recreated(sess, sc, d, store, part, total, sender_copy):
    base = os.path.join(d, "serve-identity-recreated")
    rm(base)
    srv = start_vbt_server(sess, "identity-recreated", "plain", **sender_copy(base),
                           extra=["-D", f"vbt.snapshot.retention.ms={RETENTION_MS}"], env={"VBT_LOG": "info"})
    recv = os.path.join(d, "recv-identity")
    try:
        cut = _cut(sess, srv, recv, store, part, total)
        time.sleep(RELEASE_WAIT)
        before = _created(srv["err"])

        def check(j):
            made = _created(srv["err"])
            if made <= before:
                raise Failed(f"the sender made no new snapshot for the retry ({made} made in all; "
                             f"{read_tail(srv['err'], 300)})")
            return {"snapshots_created": made}

        _retry(sess, sc, srv, recv, store, cut, check)
    finally:
        kill_child(srv["proc"])
        rm(base)
        rm(recv)


def _second_sender(sess, sc, a_server, d, store, part, total):
    b_base = os.path.join(d, "identity-b")
    rm(b_base)
    # B received the partition from A, as a node that bootstrapped from it earlier.
    sess.run("fetch-identity-b-from-a", _fetch_cmd(sess, a_server, "plain", "fast", b_base, store, ()))
    b = start_vbt_server(sess, "identity-b", "plain", base_dir=b_base)
    recv = os.path.join(d, "recv-identity")
    try:
        cut = _cut(sess, a_server, recv, store, part, total)

        def check(j):
            if j.get("peer") != b["peer"]:
                raise Failed(f"the retry was served by {j.get('peer')}, not B ({b['peer']})")
            return {"cut_from": a_server["peer"]}

        _retry(sess, sc, b, recv, store, cut, check)
    finally:
        kill_child(b["proc"])
        rm(b_base)
        rm(recv)


def identity(sess, server, size, d, store, part, sender_copy):
    """Both rows at this partition size. server: the warm plain fast sender (A); sender_copy(base)
    makes a sender's own copy of the partition there and returns start_vbt_server's arguments."""
    snap = os.path.join(d, "serve-plain-fast", f"{store}_v1", part, ".snapshot_files")
    if not os.path.isdir(snap):
        raise Failed(f"no snapshot directory {snap}")
    total = total_size(dir_files(snap))
    log(f"  cut at {CUT:.0%}, then another snapshot of the same files, {size} MiB (load {loadavg()[0]:.2f})")
    rec = sess.add(Scenario("identity-recreated", f"cut at {CUT:.0%}, sender's snapshot re-created, then resumed",
                            "vbt", "plain", "identity", size, "warm", "plain-fast"))
    sec = sess.add(Scenario("identity-second-sender", f"cut at {CUT:.0%} from A, then resumed from B (got it from A)",
                            "vbt", "plain", "identity", size, "warm", "plain-fast"))
    sess.attempt(rec, lambda: _recreated(sess, rec, d, store, part, total, sender_copy))
    sess.attempt(sec, lambda: _second_sender(sess, sec, server, d, store, part, total))
