#!/usr/bin/env python3
"""Deploying behind dozen's router, measured (docs/deploy.md).

    python3 bench/deploy.py                  # autoscale: a load step from 1 to 8 instances' worth
    python3 bench/deploy.py --clients 32 --target 4 --window 5

Autoscale: a `web` of a small threaded Python server whose `/work` takes 50 ms, autoscaled
by requests in flight (`target` per instance, 1 to 16 instances, a short scale-down window),
behind `dozen run --router`. wrk keeps `clients` requests in flight (8 instances' worth at
the defaults); the script polls `dozen ps --json` and reports when the formation reached the
count the load asks for and the measured load per instance came within 10% of the target,
the requests wrk made and how many failed, and, after the load stops, how long the
formation took to come back to 1 (the window plus a second's measurement).
"""

import argparse
import json
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

APP = """
import http.server, os, time
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/work"):
            time.sleep(0.05)
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


def ps(app):
    out = subprocess.run([DOZEN, "ps", "--json"], cwd=app, capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def in_rotation(status):
    return sum(1 for i in status.get("router", {}).get("instances", []) if i["state"] == "in rotation")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--target", type=float, default=4)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--port", type=int, default=25000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("missing wrk: apt-get install wrk")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="dozen-deploy-bench-")
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(work, "Procfile"), "w") as f:
        f.write("web: exec python3 app.py\n")
    with open(os.path.join(work, "dozen.toml"), "w") as f:
        f.write(f'[processes.web]\nautoscale = {{ min = 1, max = 16, target = {args.target}, '
                f'scale_down_window = "{args.window}s" }}\n')
    wanted = int(-(-args.clients // args.target))
    run = subprocess.Popen([DOZEN, "run", "--dev", "--router", "-p", str(args.port), "-m", "web=1"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            status = ps(work)
            if status and in_rotation(status) == 1:
                break
            time.sleep(0.1)
        else:
            sys.exit("the formation did not come up")
        load = subprocess.Popen(["wrk", "-t2", f"-c{args.clients}", "-d25s",
                                 f"http://127.0.0.1:{args.port}/work"],
                                stdout=subprocess.PIPE, text=True)
        started = time.time()
        reached = met = None
        while time.time() - started < 24:
            status = ps(work)
            now = time.time() - started
            if status:
                count = status["formation"]["web"]
                measured = (status.get("autoscale") or [{}])[0].get("measured")
                if reached is None and count >= wanted and in_rotation(status) >= wanted:
                    reached = now
                if (met is None and reached is not None and measured is not None
                        and measured <= args.target * 1.1):
                    met = now
            time.sleep(0.1)
        out, _ = load.communicate()
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        failed = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
        failed += int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
        peak = ps(work)["formation"]["web"]
        quiet = time.time()
        back = None
        while time.time() - quiet < args.window + 30:
            status = ps(work)
            if status and status["formation"]["web"] == 1:
                back = time.time() - quiet
                break
            time.sleep(0.1)
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait()
        shutil.rmtree(work, ignore_errors=True)

    def seconds(value):
        return f"{value:.1f} s" if value is not None else "never"

    print(f"autoscale by in-flight, target {args.target:g} per instance, 1-16 instances; "
          f"wrk -c{args.clients} on a 50 ms endpoint ({wanted} instances' worth)")
    print(f"  formation at {wanted} and in rotation after   {seconds(reached)}")
    print(f"  in-flight per instance within 10% of target {seconds(met)}   (target: within 10 s)")
    print(f"  peak formation {peak}; {requests:,} requests during the step, {failed} failed (target: 0)")
    print(f"  back to 1 after the load stopped          {seconds(back)}   "
          f"(scale-down window {args.window} s)")


if __name__ == "__main__":
    main()
