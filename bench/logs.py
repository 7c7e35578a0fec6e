#!/usr/bin/env python3
"""The formation's stream beyond the terminal, measured (docs/logs.md).

    python3 bench/logs.py                    # every measurement
    python3 bench/logs.py --lines 2000000 --rounds 3

Relay: a formation of two writers (`web=2`) writes `--lines` numbered lines in total, paced
at `--rate` lines per second (each instance writes a slice every 10 ms), or as fast as it can
(`--rate 0`). Measured three ways, each `--rounds` times: with no drain (the time until the
run's stdout, read by this script, has every line), with one `syslog+tcp://` drain to a
receiver that keeps up (a socket that appends what it gets to a file; its octet-counted
frames are counted afterwards: lost = written − received), and with the drain to rsyslog
from Debian (imptcp to omfile), the real collector, whose own pace on this machine is
printed. The relay rate is lines / seconds until the last line reached stdout (no drain) or was
written to the drain's connection (`sent` in `dozen ps --json`, polled every 10 ms); what the
collector received is counted once nothing more comes.

Stopped collector: one writer times each of its writes (`time.perf_counter_ns` around
`write` + `flush` of one line, 100,000 lines at 50,000 lines/s) with the drain's receiver
healthy and with it stopped (SIGSTOP) for the whole run; the writer's p50/p99/max are
compared, and the run's counts checked: lines received + dropped = lines streamed.

`dozen logs -n 1000`: a formation holding 10,000 buffered lines; the command's wall time
(process start to exit, output to a pipe), median and p95 of 30.

Needs: a release build (cargo build --release), python3, rsyslogd (Debian's rsyslog).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DOZEN_BIN: another dozen to measure (bench/before-after.sh compares two builds).
DOZEN = os.environ.get("DOZEN_BIN") or os.path.join(ROOT, "target", "release", "dozen")

# Writes LINES lines (this instance's share), RATE lines/s (0: at once) in 10 ms slices.
WRITER = r"""
import os, sys, time
n = int(os.environ["LINES"])
rate = int(os.environ.get("RATE", "0"))
ps = os.environ["PS"]
out = sys.stdout.buffer
slice_ = max(1, rate // 100) if rate else 10000
start = time.monotonic()
i = 0
while i < n:
    k = min(slice_, n - i)
    out.write("".join("%s %d of the benchmark payload, a line of a typical length\n" % (ps, j) for j in range(i, i + k)).encode())
    out.flush()
    i += k
    if rate:
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
time.sleep(3600)
"""

# One line at a time, each write timed; the distribution goes to timings.json.
TIMED = r"""
import json, os, sys, time
n, rate = int(os.environ["LINES"]), int(os.environ["RATE"])
out = sys.stdout
times = []
start = time.monotonic()
for i in range(n):
    t = time.perf_counter_ns()
    out.write("timed %d of the benchmark payload, a line of a typical length\n" % i)
    out.flush()
    times.append(time.perf_counter_ns() - t)
    ahead = start + (i + 1) / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
times.sort()
json.dump({"p50": times[len(times) // 2], "p99": times[len(times) * 99 // 100], "max": times[-1]}, open("timings.json", "w"))
print("timed done", flush=True)
time.sleep(3600)
"""

# A receiver that keeps up: appends what it gets to a file.
SINK = r"""
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
out = open(sys.argv[2], "ab")
while True:
    c, _ = srv.accept()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        out.write(b)
        out.flush()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, secs=10):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


def count_frames(path):
    """Octet-counted frames in a file: (all, the app's)."""
    data = open(path, "rb").read() if os.path.exists(path) else b""
    i, frames, app = 0, 0, 0
    while i < len(data):
        space = data.find(b" ", i)
        if space < 0:
            break
        length = int(data[i:space])
        message = data[space + 1:space + 1 + length]
        if len(message) < length:
            break
        frames += 1
        if b" app web." in message:
            app += 1
        i = space + 1 + length
    return frames, app


class Collector:
    """The sink, or rsyslogd, on a port of its own."""

    def __init__(self, kind, dir_):
        self.kind, self.dir = kind, dir_
        self.port = free_port()
        self.out = os.path.join(dir_, f"{kind}.out")
        if kind == "sink":
            path = os.path.join(dir_, "sink.py")
            open(path, "w").write(SINK)
            self.proc = subprocess.Popen([sys.executable, path, str(self.port), self.out])
        else:
            conf = os.path.join(dir_, "rsyslog.conf")
            open(conf, "w").write(
                f'global(workDirectory="{dir_}" maxMessageSize="64k")\n'
                'module(load="imptcp")\n'
                f'input(type="imptcp" port="{self.port}" ruleset="r")\n'
                'template(name="t" type="string" string="%procid% %msg%\\n")\n'
                f'ruleset(name="r") {{ action(type="omfile" file="{self.out}" template="t" '
                'asyncWriting="on" ioBufferSize="4m" flushOnTXEnd="off" flushInterval="1") }\n'
            )
            rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
            self.proc = subprocess.Popen([rsyslogd, "-n", "-f", conf, "-i", os.path.join(dir_, "rsyslog.pid")])
        wait_port(self.port)

    def app_lines(self):
        if self.kind == "sink":
            return count_frames(self.out)[1]
        # One line per message, `PROCID MSG`.
        data = open(self.out, "rb").read() if os.path.exists(self.out) else b""
        return data.count(b"\nweb.") + data.startswith(b"web.")

    def stop(self):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait()


def app_dir(script, manifest=""):
    d = tempfile.mkdtemp(prefix="dozen-bench-logs-")
    open(os.path.join(d, "app.py"), "w").write(script)
    open(os.path.join(d, "Procfile"), "w").write("web: exec python3 -u app.py\n")
    open(os.path.join(d, "dozen.toml"), "w").write(manifest)
    return d


class Run:
    """`dozen run --dev` with its stdout counted by a thread."""

    def __init__(self, d, formation, env):
        self.d = d
        self.lines = 0
        self.app_lines = 0
        self.seen = []
        self.proc = subprocess.Popen(
            [DOZEN, "run", "--dev", "--no-timestamps", "-p", str(free_port()), "-m", formation],
            cwd=d, env={**os.environ, **env}, stdout=subprocess.PIPE,
            stderr=open(os.path.join(d, "dozen.stderr"), "ab"))
        self.started = time.monotonic()
        self.done_at = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        rest = b""
        while True:
            chunk = self.proc.stdout.read1(1 << 20)
            if not chunk:
                return
            data = rest + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            self.lines += data.count(b"\n", 0, cut + 1)
            self.app_lines += data.count(b"| web.", 0, cut + 1)
            for line in data[:cut].split(b"\n"):
                if b"dozen" in line[:8] or b"timed done" in line:
                    self.seen.append(line.decode(errors="replace"))
            rest = data[cut + 1:]

    def wait_app_lines(self, n, secs=120):
        deadline = time.monotonic() + secs
        while self.app_lines < n:
            if time.monotonic() > deadline:
                said = open(os.path.join(self.d, "dozen.stderr"), errors="replace").read()[-2000:]
                raise SystemExit(f"only {self.app_lines} of {n} lines reached stdout; dozen's "
                                 f"exit: {self.proc.poll()}; its stderr ends:\n{said}")
            time.sleep(0.005)
        return time.monotonic()

    def ps(self):
        out = subprocess.run([DOZEN, "ps", "--json"], cwd=self.d, capture_output=True, text=True).stdout
        return json.loads(out)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.d, ignore_errors=True)


def relay(args, kind, work):
    """One relay round: (seconds until the last line was received, lines lost)."""
    manifest = ""
    collector = None
    if kind != "none":
        collector = Collector(kind, work)
        manifest = f'[logs]\ndrains = ["syslog+tcp://127.0.0.1:{collector.port}"]\n'
    run = Run(app_dir(WRITER, manifest), "web=2", {"LINES": str(args.lines // 2), "RATE": str(args.rate // 2)})
    try:
        stdout_at = run.wait_app_lines(args.lines)
        if collector is None:
            return stdout_at - run.started, 0, None
        # Relayed: every line written to the drain's connection (`sent`, polled every 10 ms).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            drain = run.ps()["logs"]["drains"][0]
            if drain["queued"] == 0 and drain["sent"] + drain["dropped"] >= args.lines:
                break
            time.sleep(0.01)
        relayed_at = time.monotonic()
        # Received: what the collector has once nothing more comes (rsyslog flushes each second).
        last, still = -1, 0
        while still < 15 and time.monotonic() < deadline:
            got = collector.app_lines()
            still = still + 1 if got == last else 0
            last = got
            if got >= args.lines:
                break
            time.sleep(0.1)
        drain = run.ps()["logs"]["drains"][0]
        return relayed_at - run.started, args.lines - got, drain["dropped"]
    finally:
        run.stop()
        if collector:
            collector.stop()


def stopped_collector(args, work, stop):
    collector = Collector("sink", work)
    manifest = f'[logs]\ndrains = ["syslog+tcp://127.0.0.1:{collector.port}"]\n'
    lines = 100_000
    d = app_dir(TIMED, manifest)
    if stop:
        collector.proc.send_signal(signal.SIGSTOP)
    run = Run(d, "web=1", {"LINES": str(lines), "RATE": "50000"})
    try:
        deadline = time.monotonic() + 60
        while not any("timed done" in l for l in run.seen):
            if time.monotonic() > deadline:
                raise SystemExit("the timed writer did not finish")
            time.sleep(0.05)
        timings = json.load(open(os.path.join(d, "timings.json")))
        collector.proc.send_signal(signal.SIGCONT)
        # Everything streamed is received or counted as dropped.
        # Until nothing moves for a second: the drain's own "behind" line comes after the drops.
        deadline = time.monotonic() + 60
        last, still = None, 0
        while time.monotonic() < deadline:
            drain = run.ps()["logs"]["drains"][0]
            frames, _ = count_frames(collector.out)
            # The drain's own L10 lines (the stream's "is behind" line quotes one: not those).
            l10 = open(collector.out, "rb").read().count(b" - - Error L10 (output buffer overflow)")
            received = frames - l10
            now = (received, drain["dropped"], run.lines, drain["queued"])
            still = still + 1 if now == last else 0
            last = now
            if still >= 5 and drain["queued"] == 0:
                break
            time.sleep(0.2)
        return timings, received, drain["dropped"], run.lines
    finally:
        run.stop()
        collector.stop()


def logs_latency(args):
    d = app_dir(WRITER)
    run = Run(d, "web=1", {"LINES": "10000", "RATE": "0"})
    try:
        run.wait_app_lines(10000)
        times = []
        for _ in range(30):
            t = time.monotonic()
            out = subprocess.run([DOZEN, "logs", "-n", "1000"], cwd=d, capture_output=True)
            times.append(time.monotonic() - t)
            assert out.stdout.count(b"\n") == 1000, out
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.95)]
    finally:
        run.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--rate", type=int, default=1_000_000, help="lines/s in total; 0: as fast as the apps can")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(DOZEN):
        raise SystemExit("build dozen first: cargo build --release")
    work = tempfile.mkdtemp(prefix="dozen-bench-logs-")
    print(f"relay: {args.lines:,} lines from web=2, paced at {args.rate:,} lines/s" if args.rate else f"relay: {args.lines:,} lines from web=2, as fast as they can")
    results = {}
    for r in range(args.rounds):
        for kind in ["none", "sink", "rsyslog"]:
            if kind == "rsyslog" and not (shutil.which("rsyslogd") or os.path.exists("/usr/sbin/rsyslogd")):
                continue
            sub = tempfile.mkdtemp(dir=work)
            seconds, lost, dropped = relay(args, kind, sub)
            results.setdefault(kind, []).append((seconds, lost, dropped))
            rate = args.lines / seconds
            print(f"  round {r + 1} {kind:8} {seconds:6.2f} s  {rate:>12,.0f} lines/s  lost {lost:,}" + (f" (dropped {dropped:,})" if dropped is not None else ""))
    base = statistics.median(s for s, _, _ in results["none"])
    for kind, rounds in results.items():
        seconds = statistics.median(s for s, _, _ in rounds)
        lost = max(l for _, l, _ in rounds)
        print(f"  median {kind:8} {args.lines / seconds:>12,.0f} lines/s  = {base / seconds:.2f}x the rate without a drain; most lost in a round: {lost:,}")

    print("stopped collector: one writer, 100,000 timed writes at 50,000 lines/s")
    for stop in [False, True]:
        sub = tempfile.mkdtemp(dir=work)
        timings, received, dropped, streamed = stopped_collector(args, sub, stop)
        what = "stopped" if stop else "healthy"
        print(f"  collector {what}: write p50 {timings['p50'] / 1000:.1f} µs, p99 {timings['p99'] / 1000:.1f} µs, max {timings['max'] / 1000:.0f} µs; "
              f"received {received:,} + dropped {dropped:,} = {received + dropped:,} of {streamed:,} lines streamed"
              + (" (exact)" if received + dropped == streamed else " (NOT EXACT)"))

    median, p95 = logs_latency(args)
    print(f"dozen logs -n 1000 from 10,000 buffered lines: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (target < 20 ms)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
