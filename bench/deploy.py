#!/usr/bin/env python3
"""Deploying behind dozen's router, measured (docs/deploy.md).

    python3 bench/deploy.py                  # blue-green switch and switch-back; autoscale
    python3 bench/deploy.py --clients 32 --target 4 --window 5

Blue-green: `web=3` of a small threaded Python server that answers with its version, behind
`dozen run --router`; four keep-alive clients request without pause (Python threads,
recording when each answer came and from which version) while `dozen release --strategy
blue-green` starts the new side and switches, then while `dozen rollback` switches back
inside the window. Reported: requests and failures, and each switch's latency: from the
moment dozen said the last new instance was ready (its line, read as it is written) to the
first answer from the new version; and from dozen's "switched back" line to the first answer
from the old version.

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

# The app every measurement runs: answers with its version (version.txt); `/work` takes 50 ms.
VERSIONED = """
import http.server, itertools, os, socket, time
VERSION = open("version.txt").read().strip()
FAILS = itertools.count()
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/work"):
            time.sleep(0.05)
        body = VERSION.encode()
        # "failing": one answer in twenty is a 500.
        self.send_response(500 if VERSION == "failing" and next(FAILS) % 20 == 0 else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def setup(self):
        super().setup()
        # Headers and body are two writes: without this, Nagle and delayed ACKs hold each
        # answer ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
Server(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
"""


class Formation:
    """A versioned app (`version` in version.txt, `deploy` as its [deploy]) released and run
    behind dozen's router (`web=3`), its lines read with dozen's own millisecond timestamps
    (`--log-format json`: a pipe's lines reach a reader in batches, so the time they are read
    is not the time they were said), and `clients` keep-alive clients requesting without
    pause, each answer recorded as (time, status, body), each error as (time, error)."""

    def __init__(self, port, prefix, deploy):
        import threading
        self.port, self.lines, self.answers, self.errors = port, [], [], []
        self.stop = threading.Event()
        self.work = tempfile.mkdtemp(prefix=prefix)
        for name, text in [("app.py", VERSIONED), ("version.txt", "one"),
                           ("Procfile", "web: exec python3 app.py\n"), ("dozen.toml", deploy)]:
            with open(os.path.join(self.work, name), "w") as f:
                f.write(text)
        subprocess.run([DOZEN, "release"], cwd=self.work, check=True, capture_output=True)
        self.run = subprocess.Popen(
            [DOZEN, "run", "--log-format", "json", "--router", "-p", str(port), "-m", "web=3"],
            cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 15
        while not ps(self.work) or in_rotation(ps(self.work)) < 3:
            if time.time() > deadline:
                sys.exit("the formation did not come up")
            time.sleep(0.05)
        self.clients = [threading.Thread(target=self._client) for _ in range(4)]
        for c in self.clients:
            c.start()

    def _read(self):
        from datetime import datetime
        for line in self.run.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            at = datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()
            self.lines.append((at, event["line"]))

    def _client(self):
        import http.client
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/")
                response = conn.getresponse()
                self.answers.append((time.time(), response.status, response.read().decode()))
            except Exception as error:  # noqa: BLE001 - every failure counts
                self.errors.append((time.time(), repr(error)))
                conn = None

    def release(self, version, *command):
        with open(os.path.join(self.work, "version.txt"), "w") as f:
            f.write(version)
        return subprocess.run([DOZEN, *(command or ["release"])], cwd=self.work,
                              capture_output=True, text=True)

    def said(self, text):
        return next(t for t, l in self.lines if text in l)

    def end(self):
        self.stop.set()
        for c in self.clients:
            c.join()
        os.killpg(self.run.pid, signal.SIGINT)
        self.run.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def blue_green(port):
    """Switch and switch-back latencies and failures, under load."""
    f = Formation(port, "dozen-bluegreen-bench-", '[deploy]\nstrategy = "blue-green"\nkeep_old = "60s"\n')
    try:
        time.sleep(1)
        f.release("two")
        time.sleep(1)
        f.release("two", "rollback")
        time.sleep(1)
    finally:
        f.end()
    switched = f.said("switched to v2")
    # The last new instance's "ready" line comes just before the switch line.
    ready = [t for t, l in f.lines if " ready in " in l and t <= switched]
    last_ready = max(ready) if ready else switched
    first_two = next(t for t, _, body in f.answers if body == "two" and t >= last_ready - 1)
    back = f.said("switched back")
    first_one_again = next(t for t, _, body in f.answers
                           if body == "one" and t > first_two and t >= back - 1)
    failures = [a for a in f.answers if a[1] != 200] + f.errors
    return {
        "requests": len(f.answers),
        "failed": len(failures),
        "switch_ms": (first_two - last_ready) * 1000,
        "switch_back_ms": (first_one_again - back) * 1000,
        "failures": failures[:3],
    }


def canary_abort(port, interval):
    """From the canary's first failed request to every request on stable, and what failed
    after the abort, under load."""
    f = Formation(port, "dozen-canary-bench-",
                  f'[deploy]\nstrategy = "canary"\nsteps = [10, 50]\ninterval = "{interval}s"\nmin_requests = 20\n')
    try:
        time.sleep(0.5)
        release = f.release("failing")
        time.sleep(1)
    finally:
        f.end()
    first_failure = next(t for t, status, _ in f.answers if status == 500)
    aborted = f.said("canary release is aborted")
    last_canary = max(t for t, _, body in f.answers if body == "failing")
    after = [a for a in f.answers if a[0] > last_canary]
    return {
        "release_exit": release.returncode,
        "reason": next((l for _, l in f.lines if "canary release is aborted" in l), ""),
        "first_failure_to_abort_ms": (aborted - first_failure) * 1000,
        "first_failure_to_last_canary_ms": (last_canary - first_failure) * 1000,
        "after": len(after),
        "failed_after": sum(1 for _, status, _ in after if status != 200)
        + sum(1 for t, _ in f.errors if t > last_canary),
    }


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
    bg = blue_green(args.port + 500)
    print(f"blue-green, web=3, 4 keep-alive clients: {bg['requests']:,} requests, {bg['failed']} failed (target: 0)")
    print(f"  switch: last new instance ready -> first answer from v2   {bg['switch_ms']:.1f} ms (target: under 10 ms)")
    print(f"  switch back (dozen rollback in the window) -> first answer from v1 again   "
          f"{bg['switch_back_ms']:.1f} ms (target: under 10 ms)")
    if bg["failures"]:
        print(f"  failures: {bg['failures']}")
    interval = 2
    ca = canary_abort(args.port + 600, interval)
    print(f"canary failing 1 request in 20, steps [10, 50], interval {interval} s, web=3, 4 keep-alive clients:")
    print(f"  dozen release exited {ca['release_exit']}; {ca['reason']}")
    print(f"  first failed request -> abort said {ca['first_failure_to_abort_ms']:.0f} ms; "
          f"-> last answer from the canary {ca['first_failure_to_last_canary_ms']:.0f} ms "
          f"(target: within the interval + 100 ms = {interval * 1000 + 100} ms)")
    print(f"  after it: {ca['after']:,} requests, {ca['failed_after']} failed (target: 0)")
    work = tempfile.mkdtemp(prefix="dozen-deploy-bench-")
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(VERSIONED)
    with open(os.path.join(work, "version.txt"), "w") as f:
        f.write("one")
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
