"""Many small files (default 2,000 x 64 KiB) served with `vbt serve --snapshot-dir` and by nginx:
the per-file cost, which the big partitions hide."""

import os
from functools import partial

from ..common import GIB, log
from ..harness.files import dir_files, rm
from ..harness.procstat import loadavg
from . import rounds
from .runs import md5sum
from .scenario import curl_rows, md5sum_row
from .servers import start_nginx

SMALL_STORE = "benchsmall"
# Random files are no RocksDB: the receiver must not try to open the result.
NOCHECK = ["-D", "vbt.receive.verify.rocksdb=false"]


def small_files(sess):
    try:
        _small_files(sess)
    finally:
        rm(os.path.join(sess.work, "small"))


def _write_snapshot(d, n, kib):
    """n random files, and the two metadata blobs `vbt serve --snapshot-dir` sends as they are."""
    snap = os.path.join(d, "snap")
    os.makedirs(snap)
    for i in range(n):
        with open(os.path.join(snap, f"{i:06d}.sst"), "wb") as f:
            f.write(os.urandom(kib * 1024))
    fixed = {"dir": snap, "store": SMALL_STORE, "offset_record": os.path.join(d, "offset-record"),
             "svs": os.path.join(d, "store-version-state")}
    with open(fixed["offset_record"], "wb") as f:
        f.write(b"\x18\x18vbt-bench small files")
    with open(fixed["svs"], "wb") as f:
        f.write(b"\x19\x07vbt-bench")
    return fixed


def _transfers(sess, d, fixed):
    files = dir_files(fixed["dir"])
    recv = os.path.join(d, "recv")
    servers = {}
    try:
        vbt = rounds.start_senders(sess, servers, "small", "small", None, lambda m: {"fixed": fixed})
        rounds.cold_requests(sess, servers, vbt, recv, SMALL_STORE, NOCHECK)
        ngx = start_nginx(sess, "small", fixed["dir"])
        servers["nginx"] = {"proc": ngx["proc"]}
        curls = curl_rows(sess, "small", None, (None, "fsync"))
        one = md5sum_row(sess, "small", None)
        steps = rounds.fetch_steps(sess, servers, vbt, "warm", recv, SMALL_STORE, NOCHECK)
        steps += rounds.curl_steps(sess, curls, ngx, files)
        steps.append((one, partial(md5sum, sess, one, files)))
        rounds.run_rounds(sess, steps)
    finally:
        rounds.stop(servers)


def _small_files(sess):
    n, kib = sess.a.small_files, sess.a.small_file_kib
    sess.check_disk(n * kib * 1024 * 3 + GIB, "the small-file snapshot")
    d = os.path.join(sess.work, "small")
    log(f"== {n} files x {kib} KiB (load {loadavg()})")
    fixed = _write_snapshot(d, n, kib)
    _transfers(sess, d, fixed)
    rm(d)
