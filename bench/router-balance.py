#!/usr/bin/env python3
"""Least outstanding requests against round-robin, on requests of unequal cost: one request
in ten takes 50 ms at the app, the rest are immediate. Three Python backends that serve one
request at a time (as a single sync worker does) behind `dozen run --router`, wrk with 3
keep-alive connections (one per backend: below saturation, where the policy decides),
10 s per policy, in one run.

    python3 bench/router-balance.py          # needs wrk (apt-get install wrk)
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")

APP = r'''
import http.server, os, time
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(0.05)
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
# One request at a time, as a single sync worker (gunicorn's default, Unicorn) serves.
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
'''

MIX = '''
counter = 0
request = function()
  counter = counter + 1
  if counter % 10 == 0 then
    return wrk.format("GET", "/slow")
  end
  return wrk.format("GET", "/")
end
'''


def up(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def main():
    if not shutil.which("wrk"):
        sys.exit("missing wrk: apt-get install wrk")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="dozen-balance-")
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(work, "Procfile"), "w") as f:
        f.write("web: exec python3 app.py\n")
    with open(os.path.join(work, "mix.lua"), "w") as f:
        f.write(MIX)
    port = 25000
    rows = []
    try:
        for policy in ("least-outstanding", "round-robin"):
            with open(os.path.join(work, "dozen.toml"), "w") as f:
                f.write(f'[router]\nbalance = "{policy}"\n')
            run = subprocess.Popen([DOZEN, "run", "--dev", "--router", "-p", str(port), "-m", "web=3"],
                                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
            try:
                if not all(up(p) for p in (port, port + 1, port + 2, port + 3)):
                    sys.exit("the formation did not come up")
                time.sleep(0.5)
                out = subprocess.run(["wrk", "-t1", "-c3", "-d10s", "--latency", "-s",
                                      os.path.join(work, "mix.lua"), f"http://127.0.0.1:{port}/"],
                                     capture_output=True, text=True, check=True).stdout
            finally:
                os.killpg(run.pid, signal.SIGINT)
                run.wait()
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

            def latency(p):
                m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
                return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

            rows.append((policy, rps, latency(50), latency(90), latency(99)))
            time.sleep(0.5)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("one request in ten takes 50 ms; 3 one-at-a-time Python backends; wrk -t1 -c3 -d10s")
    print(f"{'':20}{'requests/s':>12}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    for policy, rps, p50, p90, p99 in rows:
        print(f"{policy:20}{rps:>12,.0f}{p50:>9.2f}{p90:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
