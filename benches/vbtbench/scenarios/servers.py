"""The servers the scenarios fetch from: `vbt serve` senders and nginx, plus the TLS certs both
use. Each listens on 127.0.0.1 only and is a registered child of the harness."""

import json
import os
import time

from ..common import Failed
from ..harness.machine import NGINX
from ..harness.net import free_port, wait_listening
from ..harness.procs import kill_child, read_tail, spawn_logged


def gen_certs(sess):
    """`vbt gen-certs`: a CA, sender and receiver certs, and the -D options that use them."""
    d = os.path.join(sess.work, "certs")
    r = sess.run("gen-certs", [sess.vbt, "gen-certs", "--dir", d])
    j = json.loads(r["stdout"])
    sess.certs = {
        "dir": d,
        "sender": [x for kv in j["sender"] for x in ("-D", kv)],
        "receiver": [x for kv in j["receiver"] for x in ("-D", kv)],
        "ca": os.path.join(d, "ca.pem"),
        "sender_crt": os.path.join(d, "sender.crt"), "sender_key": os.path.join(d, "sender.key"),
        "receiver_crt": os.path.join(d, "receiver.crt"), "receiver_key": os.path.join(d, "receiver.key"),
    }


def _serve_cmd(sess, transport, base_dir, fixed, extra=()):
    """A sender over a Venice base dir, or (fixed) over one ready snapshot dir; limits off."""
    cmd = [sess.vbt, "serve"]
    if base_dir:
        cmd += ["--base-dir", base_dir]
    else:
        cmd += ["--snapshot-dir", fixed["dir"], "--store", fixed["store"], "--version", "1",
                "--partition", "0", "--offset-record", fixed["offset_record"],
                "--store-version-state", fixed["svs"]]
    cmd += ["-D", "davinci.p2p.blob.transfer.server.port=0", "-D", "vbt.server.bind.address=127.0.0.1",
            "-D", "blob.transfer.service.write.limit.bytes.per.sec=0"]
    if transport == "tls":
        cmd += sess.certs["sender"]
    return cmd + list(extra)


def start_vbt_server(sess, name, transport, base_dir=None, fixed=None, extra=(), env=None):
    """Starts `vbt serve` on port 0 and waits for the address it prints as its first line; env:
    variables added to its environment (e.g. VBT_LOG)."""
    base = sess.logfile(f"serve-{name}")
    p = spawn_logged(_serve_cmd(sess, transport, base_dir, fixed, extra), base, env=env)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        line = read_tail(base + ".out")
        if line:
            try:
                addr = json.loads(line.splitlines()[0])["listening"]
                return {"proc": p, "peer": addr, "err": base + ".err"}
            except ValueError:
                pass  # not all of the line yet
        if p.poll() is not None:
            raise Failed(f"vbt serve exited {p.returncode}: {read_tail(base + '.err')}")
        time.sleep(0.01)
    kill_child(p)
    raise Failed("vbt serve did not print its address within 60s")


def _nginx_tls_server(certs, tport, root):
    # TLS 1.3 with the sender's cert and client-cert verification: what vbt's mutual TLS does.
    return f"""
    server {{
        listen 127.0.0.1:{tport} ssl;
        server_name localhost;
        root {root};
        ssl_certificate {certs['sender_crt']};
        ssl_certificate_key {certs['sender_key']};
        ssl_protocols TLSv1.3;
        ssl_client_certificate {certs['ca']};
        ssl_verify_client on;
        ssl_session_cache off;
    }}"""


def nginx_conf(d, root, port, tport, certs):
    """One foreground worker with sendfile, everything under d."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    tls_server = _nginx_tls_server(certs, tport, root) if tport else ""
    return f"""{user}daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    default_type application/octet-stream;
    types {{ }}
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}{tls_server}
}}
"""


def start_nginx(sess, name, root):
    """nginx serving root over plaintext (and TLS unless --quick); waits until it listens."""
    d = os.path.join(sess.work, f"nginx-{name}")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    tport = free_port() if sess.tls else None
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, root, port, tport, sess.certs))
    p = spawn_logged([NGINX, "-c", conf, "-p", d, "-e", f"{d}/error.log"], sess.logfile(f"nginx-{name}"))
    try:
        wait_listening(p, port, "nginx", f"{d}/error.log")
        if tport:
            wait_listening(p, tport, "nginx", f"{d}/error.log")
    except Failed:
        kill_child(p)
        raise
    return {"proc": p, "port": port, "tport": tport, "root": root}
