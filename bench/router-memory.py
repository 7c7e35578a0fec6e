#!/usr/bin/env python3
"""The memory of `dozen run --router` with 1,000 idle keep-alive client connections.

    python3 bench/router-memory.py                 # 1,000 connections, web=3
    python3 bench/router-memory.py --connections 2000 --dozen target/release/dozen
    python3 bench/router-memory.py --tls           # the same over HTTPS (needs openssl)

The router runs inside `dozen run`, so /proc gives the whole process (supervisor, output
pump and router together): its RSS once the formation is up and has served requests, then
with N client connections open, each of which has made one request and stays idle (kept
alive). The router's own share is that RSS less the RSS of the same `dozen run` without
`--router` (the instances served directly, as many requests). The instances are a small
Python server (other processes: not counted).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APP = """
import http.server, os, socket
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        # Head and body are two writes: without this, Nagle and delayed ACKs hold some
        # answers 40 ms, and 1,000 connections take a minute to open.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
Server(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
"""


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def up(port):
    deadline = time.time() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                request(s)
            return
        except (OSError, RuntimeError):
            if time.time() > deadline:
                sys.exit("the formation did not come up")
            time.sleep(0.1)


def without_router(dozen, work, port):
    """RSS of the same formation with no router, after as many requests to its instances."""
    run = subprocess.Popen([dozen, "run", "--dev", "--no-router", "-p", str(port), "-m", "web=3"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        for i in range(3):
            up(port + i)
        for i in range(30):
            with socket.create_connection(("127.0.0.1", port + i % 3)) as s:
                request(s)
        time.sleep(0.5)
        return rss_kib(run.pid)
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait()


def request(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while not data.endswith(b"ok\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(data[:80])


CONTEXT = []


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port))
    if tls:
        if not CONTEXT:
            # One context: making one loads the system's CA store (tens of ms).
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            # HTTP/1.1, as wrk and most clients of a kept-alive connection.
            context.set_alpn_protocols(["http/1.1"])
            CONTEXT.append(context)
        s = CONTEXT[0].wrap_socket(s, server_hostname="localhost")
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", action="store_true", help="the router serves HTTPS; clients connect over TLS")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--port", type=int, default=24000)
    parser.add_argument("--dozen", default=None, help="a built dozen (default: build release)")
    args = parser.parse_args()
    dozen = args.dozen
    if dozen is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        dozen = os.path.join(ROOT, "target", "release", "dozen")
    dozen = os.path.abspath(dozen)
    work = tempfile.mkdtemp(prefix="dozen-router-memory-")
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(work, "Procfile"), "w") as f:
        f.write("web: exec python3 app.py\n")
    bare = without_router(dozen, work, args.port + 50)
    if args.tls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       cwd=work, check=True, capture_output=True)
        with open(os.path.join(work, "dozen.toml"), "w") as f:
            f.write('[router]\ntls = { cert = "cert.pem", key = "key.pem" }\n')
    run = subprocess.Popen([dozen, "run", "--dev", "--router", "-p", str(args.port), "-m", "web=3"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    clients = []
    try:
        deadline = time.time() + 15
        while True:
            try:
                with connect(args.port, args.tls) as s:
                    request(s)
                break
            except (OSError, RuntimeError):
                if time.time() > deadline:
                    sys.exit("the router did not come up")
                time.sleep(0.1)
        for _ in range(30):
            with connect(args.port, args.tls) as s:
                request(s)
        time.sleep(0.5)
        before = rss_kib(run.pid)
        for _ in range(args.connections):
            s = connect(args.port, args.tls)
            request(s)
            clients.append(s)
        # Past the second after which an idle connection's buffers go (docs/router.md).
        time.sleep(2.0)
        after = rss_kib(run.pid)
        anon, file = rss_kib(run.pid, "RssAnon"), rss_kib(run.pid, "RssFile")
        # Still open: the router has not closed them.
        for s in clients[:: max(1, len(clients) // 10)]:
            request(s)
    finally:
        for s in clients:
            s.close()
        os.killpg(run.pid, signal.SIGINT)
        run.wait()
        shutil.rmtree(work, ignore_errors=True)
    mib = lambda kib: kib / 1024
    over = " over TLS" if args.tls else ""
    print(f"dozen run, web=3{over}, RSS: {mib(bare):.1f} MiB without the router; with it, {mib(before):.1f} MiB "
          f"and no client connection, {mib(after):.1f} MiB with {args.connections:,} idle keep-alive ones "
          f"({mib(anon):.1f} anonymous, {mib(file):.1f} file-backed: the binary's pages)")
    print(f"the router's share: {mib(after - bare):.1f} MiB with {args.connections:,} idle connections "
          f"({(after - before) / args.connections:.1f} KiB each)   (target: under 20 MiB)")


if __name__ == "__main__":
    main()
