#!/usr/bin/env python3
"""The memory of `dozen run --router` with 1,000 idle keep-alive client connections.

    python3 bench/router-memory.py                 # 1,000 connections, web=3
    python3 bench/router-memory.py --connections 2000 --dozen target/release/dozen

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
import http.server, os
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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


def main():
    parser = argparse.ArgumentParser()
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
    run = subprocess.Popen([dozen, "run", "--dev", "--router", "-p", str(args.port), "-m", "web=3"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    clients = []
    try:
        up(args.port)
        for _ in range(30):
            with socket.create_connection(("127.0.0.1", args.port)) as s:
                request(s)
        time.sleep(0.5)
        before = rss_kib(run.pid)
        for _ in range(args.connections):
            s = socket.create_connection(("127.0.0.1", args.port))
            request(s)
            clients.append(s)
        time.sleep(1.0)
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
    print(f"dozen run, web=3, RSS: {mib(bare):.1f} MiB without the router; with it, {mib(before):.1f} MiB "
          f"and no client connection, {mib(after):.1f} MiB with {args.connections:,} idle keep-alive ones "
          f"({mib(anon):.1f} anonymous, {mib(file):.1f} file-backed: the binary's pages)")
    print(f"the router's share: {mib(after - bare):.1f} MiB with {args.connections:,} idle connections "
          f"({(after - before) / args.connections:.1f} KiB each)   (target: under 20 MiB)")


if __name__ == "__main__":
    main()
