"""iperf3 over loopback: the wire ceiling every transfer rate is compared with."""

import json

from ..harness.net import free_port, wait_listening
from ..harness.procs import kill_child, reap, spawn_logged
from ..harness.procstat import loadavg
from .scenario import Scenario


def _iperf3_once(sess, sc):
    """`iperf3 -s -1` (one test, then exits) and one client run; the figures iperf3 reports."""
    port = free_port()
    base = sess.logfile("iperf3-server")
    srv = spawn_logged(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)], base)
    try:
        wait_listening(srv, port, "iperf3 -s", base + ".err")
        load1 = loadavg()[0]
        r = sess.run("iperf3-client", ["iperf3", "-c", "127.0.0.1", "-p", str(port),
                                       "-t", str(sess.a.iperf_seconds), "-J"])
        (ru,) = reap([srv], 30)
    finally:
        kill_child(srv)
    recv = json.loads(r["stdout"])["end"]["sum_received"]
    sc.add(seconds=float(recv["seconds"]), bytes=int(recv["bytes"]), files=None,
           cpu_send=r["cpu"], cpu_recv=ru.ru_utime + ru.ru_stime,
           rss_send_kib=r["maxrss_kib"], rss_recv_kib=ru.ru_maxrss, load1=load1,
           bits_per_second=recv["bits_per_second"])


def iperf3(sess):
    sc = sess.add(Scenario("iperf3", "iperf3 (wire ceiling)", "baseline", "plain", "wire", None))
    for _ in range(sess.a.runs):
        sess.attempt(sc, lambda: _iperf3_once(sess, sc))
    sess.iperf = sc
