#!/usr/bin/env python3
"""`dozen scale` against a running formation: the issue 6 targets, measured.

    python3 bench/scale.py            # builds dozen (release), needs perl for the TCP server

  round trip   a `scale` request on the control socket to its reply, from a client that is
               already running (median of 200), and the whole `dozen scale web=N` command
               (process start included; median of 50). Target: under 10 ms.
  1 -> 20      `dozen scale web=20` on a formation of one trivial TCP server (a perl
               one-liner) with a TCP health check: time until dozen prints the 19th
               `ready` line. Target: 20 instances ready within 300 ms.
  20 -> 1      `dozen scale web=1`: time until the 19 removed instances have exited.
  restart      `dozen restart web` on web=3 while a client connects round-robin to the three
               ports without pause: connections refused, and moments when all three ports
               refused at once. Target: none of those.

No peer can scale a running formation (foreman, honcho, node-foreman need a restart with
new -m/-c counts; overmind's request for it is open), so there is no ratio to print.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")
PORT = 18000

SERVER = (
    "web: exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => $ENV{PORT}, "
    "Listen => 128, ReuseAddr => 1) or die $!; while ($c = $s->accept) { close $c }'\n"
)
MANIFEST = '[processes.web]\nhealth = { tcp = true, interval = "1s" }\nkill_timeout = "2s"\n'


class Run:
    """`dozen run --dev` with its output lines timestamped as they arrive."""

    def __init__(self, app):
        self.process = subprocess.Popen(
            [DOZEN, "run", "--dev", "--no-timestamps", "-p", str(PORT)],
            cwd=app, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with self.cond:
                self.lines.append((time.perf_counter(), line.rstrip("\n")))
                self.cond.notify_all()

    def wait(self, predicate, count, since, timeout=30):
        """The time of the `count`th line after `since` matching `predicate`."""
        deadline = time.perf_counter() + timeout
        with self.cond:
            while True:
                hits = [t for t, line in self.lines if t >= since and predicate(line)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.perf_counter()
                if left <= 0:
                    sys.exit("timed out; output:\n" + "\n".join(l for _, l in self.lines[-40:]))
                self.cond.wait(left)

    def stop(self):
        self.process.send_signal(2)
        self.process.wait(timeout=30)


def dozen(app, *args):
    return subprocess.run([DOZEN, *args], cwd=app, capture_output=True, text=True)


def socket_round_trip(app, runs=200):
    path = os.path.join(app, ".dozen", "run", "control.sock")
    request = json.dumps({"v": 1, "op": "scale", "changes": [{"type": "web", "op": "=", "count": 1}]}) + "\n"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(request.encode())
            reply = s.makefile().readline()
        times.append(time.perf_counter() - start)
        if not json.loads(reply)["ok"]:
            sys.exit(f"scale refused: {reply}")
    return statistics.median(times)


def rolling_restart(app, run):
    """Connects round-robin to web.1-3 during `dozen restart web`; counts refusals."""
    stop = threading.Event()
    counts = {"attempts": 0, "refused": 0, "all": 0}

    def client():
        while not stop.is_set():
            failures = 0
            for k in range(3):
                counts["attempts"] += 1
                try:
                    socket.create_connection(("127.0.0.1", PORT + k), timeout=1).close()
                except OSError:
                    counts["refused"] += 1
                    failures += 1
            if failures == 3:
                counts["all"] += 1

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.2)
    start = time.perf_counter()
    result = dozen(app, "restart", "web")
    if result.returncode != 0:
        sys.exit(result.stderr)
    run.wait(lambda l: "rolling restart done" in l, 1, start)
    time.sleep(0.2)
    stop.set()
    thread.join()
    return counts["refused"], counts["all"], counts["attempts"]


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    if not shutil.which("perl"):
        sys.exit("needs perl (the trivial TCP server)")
    app = tempfile.mkdtemp(prefix="dozen-scale-bench-")
    try:
        with open(os.path.join(app, "Procfile"), "w") as f:
            f.write(SERVER)
        with open(os.path.join(app, "dozen.toml"), "w") as f:
            f.write(MANIFEST)
        run = Run(app)
        stop = run.stop
        run.wait(lambda l: "web.1 ready" in l, 1, 0)

        socket_time = socket_round_trip(app)
        command_times = []
        for _ in range(50):
            start = time.perf_counter()
            result = dozen(app, "scale", "web=1")
            command_times.append(time.perf_counter() - start)
            if result.returncode != 0:
                sys.exit(result.stderr)
        print(f"scale round trip, socket request to reply (median of 200): {socket_time * 1000:7.2f} ms   (target: < 10 ms)")
        print(f"`dozen scale web=1` command, start to exit (median of 50):  {statistics.median(command_times) * 1000:7.2f} ms")

        ups, downs = [], []
        for _ in range(5):
            start = time.perf_counter()
            result = dozen(app, "scale", "web=20")
            if result.returncode != 0:
                sys.exit(result.stderr)
            ready = run.wait(lambda l: " ready in " in l and not l.startswith("web.1 "), 19, start)
            ups.append(ready - start)
            start = time.perf_counter()
            dozen(app, "scale", "web=1")
            gone = run.wait(lambda l: l.endswith(" stopped") or "exited" in l, 19, start)
            downs.append(gone - start)
            time.sleep(0.3)
        print(f"web=1 -> web=20, until 20 instances are ready (median of 5):  {statistics.median(ups) * 1000:7.1f} ms   (target: < 300 ms)")
        print(f"web=20 -> web=1, until the 19 removed have exited (median of 5): {statistics.median(downs) * 1000:7.1f} ms")

        dozen(app, "scale", "web=3")
        run.wait(lambda l: " ready in " in l, 2, time.perf_counter() - 0.001)
        time.sleep(0.5)
        refused, all_refused, attempts = rolling_restart(app, run)
        print(f"restart of web=3 under a steady stream of connections: {attempts} connections, "
              f"{refused} refused by the instance being restarted, {all_refused} moments with all three refusing   (target: 0)")
    finally:
        # A failed step (sys.exit included) must not leave the formation running.
        if "stop" in locals():
            stop()
        shutil.rmtree(app, ignore_errors=True)


if __name__ == "__main__":
    main()
