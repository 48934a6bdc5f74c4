"""What the partition and small-file data sets share: one sender per vbt mode, a cold request to
each, then rounds that interleave every scenario so a burst of load hits all of them."""

from functools import partial

from ..common import log
from ..harness.procs import kill_child
from ..harness.procstat import loadavg, reset_hwm
from .runs import curl, vbt_fetch
from .scenario import vbt_rows
from .servers import start_vbt_server


def start_senders(sess, servers, name, dataset, size, server_args):
    """One `vbt serve` per mode (into servers, so the caller can stop them whatever happens) and
    its cold and warm rows: {(mode, phase): Scenario}. server_args(mode) prepares its data."""
    rows = {}
    for transport, checksum in sess.modes:
        m = f"{transport}-{checksum}"
        servers[m] = start_vbt_server(sess, f"{name}-{m}", transport, **server_args(m))
        for ph, sc in vbt_rows(sess, transport, checksum, dataset, size).items():
            rows[m, ph] = sc
    return rows


def fetch_steps(sess, servers, rows, phase, recv, store, extra=()):
    """(row, run) of every mode's vbt fetch in that phase."""
    steps = []
    for transport, checksum in sess.modes:
        m = f"{transport}-{checksum}"
        sc = rows[m, phase]
        steps.append((sc, partial(vbt_fetch, sess, sc, servers[m], transport, checksum, recv, store, extra)))
    return steps


def cold_requests(sess, servers, rows, recv, store, extra=()):
    """The first request to each sender (checkpoint + checksums); then its peak RSS is reset so
    the warm rows show warm peaks."""
    for (sc, run), (transport, checksum) in zip(fetch_steps(sess, servers, rows, "cold", recv, store, extra),
                                                sess.modes):
        sess.attempt(sc, run)
        reset_hwm(servers[f"{transport}-{checksum}"]["proc"].pid)


def curl_steps(sess, rows, ngx, files):
    """(row, run) of every nginx+curl row, in the order the rows were made."""
    return [(sc, partial(curl, sess, sc, ngx, t, files, then)) for (then, t), sc in rows.items()]


def run_rounds(sess, steps):
    for i in range(sess.a.runs):
        log(f"  round {i + 1}/{sess.a.runs} (load {loadavg()[0]:.2f})")
        for sc, run in steps:
            sess.attempt(sc, run)


def stop(servers):
    for s in servers.values():
        kill_child(s["proc"])
