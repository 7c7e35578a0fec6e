#!/usr/bin/env python3
"""What a hostile registry costs `dozen image --base` (docs/image.md, "What a registry may cost").

    python3 bench/hostile.py [--slow]

A registry on loopback that misbehaves one way per round; each round runs `dozen image --base
127.0.0.1:PORT/evil:1 --archive` and prints its exit code, wall time, peak RSS, what it left in
the blob cache, and its error line:

- an endless manifest (no length), a manifest claiming 1 TB, an endless token, a 401 to every
  request (the challenge answered once), a redirect loop for a blob, a blob body without end
  after a valid manifest, error bodies with terminal escapes;
- with `--slow`: a manifest sent one byte a second (cut by the 60 s deadline).

Needs: a release build (cargo build --release), git.
"""

import hashlib
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
LAYER = b"layer bytes"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(LAYER), "size": len(LAYER)}],
}).encode()

MODE = {"name": ""}


class Evil(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def endless(self, chunk=b"x" * 65536):
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            pass

    def do_GET(self):
        mode = MODE["name"]
        port = self.server.server_address[1]
        manifest = "/manifests/" in self.path
        if mode == "endless manifest" and manifest:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            self.end_headers()
            return self.endless()
        if mode == "manifest of 1 TB" and manifest:
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            return self.endless()
        if mode in ("endless token", "401 forever") and not self.path.startswith("/token"):
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{port}/token",service=evil')
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if mode == "endless token":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            return self.endless(b'{"token":"' + b"a" * 65536)
        if mode == "401 forever":
            body = b'{"token":"t"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if mode == "escapes in errors":
            body = b"\x1b]0;PWNED-TITLE\x07\x1b[2Jgone" + b"x" * 100000
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if mode == "slow manifest" and manifest:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"{")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                return
        if manifest:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(MANIFEST)))
            self.end_headers()
            return self.wfile.write(MANIFEST)
        if "/blobs/" in self.path and mode == "redirect loop":
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{port}{self.path}")
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if "/blobs/" in self.path and mode == "endless blob":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            return self.endless()
        body = CONFIG if digest(CONFIG) in self.path else LAYER
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def measured(args, cwd):
    start = time.monotonic()
    child = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - start
    err = child.stderr.read().decode(errors="replace")
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024, err


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    if not os.path.exists(DOZEN):
        raise SystemExit("build dozen first: cargo build --release")
    modes = ["endless manifest", "manifest of 1 TB", "endless token", "401 forever", "redirect loop",
             "endless blob", "escapes in errors"]
    if "--slow" in sys.argv:
        modes.append("slow manifest")
    server = Server(("127.0.0.1", 0), Evil)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    work = tempfile.mkdtemp(prefix="dozen-bench-hostile-")
    try:
        app = os.path.join(work, "app")
        os.makedirs(app)
        open(os.path.join(app, "Procfile"), "w").write("web: sleep 100\n")
        subprocess.run([DOZEN, "release"], cwd=app, check=True, capture_output=True)
        print(f"{'registry':<20} {'exit':>4} {'time':>7} {'peak RSS':>9} {'cache':>9}  error")
        for mode in modes:
            MODE["name"] = mode
            shutil.rmtree(os.path.join(app, ".dozen", "images"), ignore_errors=True)
            code, seconds, rss, err = measured([DOZEN, "image", "--base", f"127.0.0.1:{port}/evil:1", "--archive",
                                                os.path.join(work, "out.tar")], app)
            cache = du(os.path.join(app, ".dozen", "images"))
            line = err.strip().splitlines()[0] if err.strip() else ""
            print(f"{mode:<20} {code:>4} {seconds:>6.2f}s {rss:>6.1f} MiB {cache:>7} B  {line[:150]!r}")
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
