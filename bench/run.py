#!/usr/bin/env python3
"""`dozen run --dev` beside the Procfile runners it replaces, in one run, with ratios.

    python3 bench/run.py            # builds dozen (release), then measures every tool

Peers (install them first; this script installs nothing and says what is missing):
  honcho        python3 -m pip install honcho==2.0.0
  foreman       apt-get install ruby-foreman
  node-foreman  npm install --prefix bench/.peers foreman@3.0.1
  ultraman      (optional) cargo install ultraman --version 0.4.0 --root bench/.peers/ultraman

Scenarios, each in a fresh temporary app:
  throughput   4 processes x 200,000 numbered 60-byte lines, tool stdout into a file: lines/s
               until the last line is written, and lost / duplicated / corrupted /
               misattributed lines (median of 3 runs)
  start        50 processes, until all 50 have printed their first line
  shutdown     10 processes, from SIGINT to the tool's exit
  stubborn     one of 2 processes ignores SIGTERM: from SIGINT until every process is gone
  orphans      5 processes with a grandchild each; SIGKILL the tool; survivors after 1 s
  crash        one of 4 processes exits 3: the tool's exit code, and time until all are gone
  memory       proportional set size of the tool's own processes (everything in its tree
               but the apps) with 50 idle children
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DOZEN_BIN: another dozen to measure (bench/before-after.sh compares two builds).
DOZEN = os.environ.get("DOZEN_BIN") or os.path.join(ROOT, "target", "release", "dozen")
NF = os.path.join(ROOT, "bench", ".peers", "node_modules", ".bin", "nf")
ULTRAMAN = os.path.join(ROOT, "bench", ".peers", "ultraman", "bin", "ultraman")

GENERATOR = r"""#!/bin/sh
# $1 tag, $2 count: numbered 60-byte lines, then wait to be stopped
awk -v t="$1" -v n="$2" 'BEGIN { x = sprintf("%49s", ""); gsub(/ /, "x", x); for (i = 0; i < n; i++) printf "%s%09d %s\n", t, i, x }'
touch "done.$1"
exec sleep 120
"""

LINES = 200_000
TAGS = "abcd"


def tools():
    found = {"dozen": lambda port: [DOZEN, "run", "--dev", "-p", str(port)]}
    missing = []
    if shutil.which("honcho"):
        found["honcho"] = lambda port: ["honcho", "start", "-p", str(port)]
    else:
        missing.append("honcho: python3 -m pip install honcho==2.0.0")
    if shutil.which("foreman"):
        found["foreman"] = lambda port: ["foreman", "start", "-p", str(port)]
    else:
        missing.append("foreman: apt-get install ruby-foreman")
    if os.access(NF, os.X_OK):
        found["node-foreman"] = lambda port: [NF, "-p", str(port), "start"]
    else:
        missing.append("node-foreman: npm install --prefix bench/.peers foreman@3.0.1")
    # Optional: the Rust port the start-latency target names.
    if os.access(ULTRAMAN, os.X_OK):
        found["ultraman"] = lambda port: [ULTRAMAN, "start", "-p", str(port)]
    return found, missing


def app(procfile):
    directory = tempfile.mkdtemp(prefix="dozen-bench-")
    with open(os.path.join(directory, "Procfile"), "w") as f:
        f.write(procfile)
    return directory


def start(command, directory, stdout):
    return subprocess.Popen(command, cwd=directory, stdout=stdout, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""


def alive(pid):
    try:
        state = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


def session_pids(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def kill_everything(process, extra_pattern=None):
    """Ends the tool and whatever it left behind in its session (or matching a pattern)."""
    for pid in session_pids(process.pid) + [process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if extra_pattern:
        subprocess.run(["pkill", "-KILL", "-f", extra_pattern], check=False)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def stop(process, timeout):
    """Asks the tool to stop (SIGINT), waits up to `timeout` s, then ends whatever is left."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    kill_everything(process)


class Reader:
    """Reads a tool's stdout on a thread, noting when each line arrived."""

    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, args=(stream,), daemon=True)
        self.thread.start()

    def run(self, stream):
        for line in iter(stream.readline, b""):
            with self.lock:
                self.lines.append((time.monotonic(), line))

    def count(self, pattern):
        with self.lock:
            return len({m.group(0) for _, line in self.lines for m in [re.search(pattern, line)] if m})


def throughput(command):
    directory = app("".join(f"{t}: ./gen.sh {t} {LINES}\n" for t in TAGS))
    with open(os.path.join(directory, "gen.sh"), "w") as f:
        f.write(GENERATOR)
    os.chmod(os.path.join(directory, "gen.sh"), 0o755)
    out_path = os.path.join(directory, "out.txt")
    with open(out_path, "wb") as out:
        began = time.monotonic()
        process = start(command(19000), directory, out)
        last_size, last_change = -1, began
        while time.monotonic() - began < 60:
            size = os.path.getsize(out_path)
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            done = all(os.path.exists(os.path.join(directory, f"done.{t}")) for t in TAGS)
            if done and time.monotonic() - last_change > 0.5:
                break
            time.sleep(0.005)
        elapsed = last_change - began
        stop(process, 15)
    seen = {t: [] for t in TAGS}
    corrupted = misattributed = 0
    line_re = re.compile(rb"([a-d])\d*\.?\d*\s*\|\s*([a-d])(\d{9}) (x{49})$")
    for raw in open(out_path, "rb").read().split(b"\n"):
        clean = re.sub(rb"\x1b\[[0-9;]*m", b"", raw)
        m = line_re.search(clean)
        if m:
            if m.group(1) != m.group(2):
                misattributed += 1
            seen[m.group(2).decode()].append(int(m.group(3)))
        elif re.search(rb"[a-d]\d{9}|x{10}", clean):
            corrupted += 1
    lost = duplicated = 0
    for numbers in seen.values():
        unique = set(numbers)
        duplicated += len(numbers) - len(unique)
        lost += LINES - len(unique & set(range(LINES)))
    shutil.rmtree(directory, ignore_errors=True)
    total = sum(len(n) for n in seen.values())
    return {"lines/s": total / elapsed if elapsed > 0 else 0, "lost": lost, "duplicated": duplicated,
            "corrupted": corrupted, "misattributed": misattributed}


def start_latency(command):
    directory = app("".join(f"p{i}: echo ready-{i}; exec sleep 60\n" for i in range(50)))
    began = time.monotonic()
    process = start(command(19500), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    took = None
    while time.monotonic() - began < 30:
        if reader.count(rb"ready-\d+") >= 50:
            took = time.monotonic() - began
            break
        time.sleep(0.002)
    stop(process, 10)
    shutil.rmtree(directory, ignore_errors=True)
    return took


def wait_started(reader, count, timeout=20):
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if reader.count(rb"up-\d+") >= count:
            return True
        time.sleep(0.01)
    return False


def shutdown(command):
    directory = app("".join(f"p{i}: echo up-{i}; exec sleep 60\n" for i in range(10)))
    process = start(command(20000), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    wait_started(reader, 10)
    time.sleep(0.2)
    asked = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
        took = time.monotonic() - asked
    except subprocess.TimeoutExpired:
        took = None
    kill_everything(process)
    shutil.rmtree(directory, ignore_errors=True)
    return took


def stubborn(command):
    procfile = "stubborn: trap '' TERM INT; echo up-1; while :; do sleep 0.1; done\nplain: echo up-2; exec sleep 60\n"
    directory = app(procfile)
    process = start(command(20500), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    wait_started(reader, 2)
    time.sleep(0.2)
    apps = [p for p in descendants(process.pid)]
    asked = time.monotonic()
    process.send_signal(signal.SIGINT)
    took = None
    while time.monotonic() - asked < 15:
        if process.poll() is not None and not any(alive(p) for p in apps + session_pids(process.pid)):
            took = time.monotonic() - asked
            break
        time.sleep(0.01)
    kill_everything(process)
    shutil.rmtree(directory, ignore_errors=True)
    return took


def orphans(command):
    procfile = "".join(f"p{i}: echo up-{i}; sleep 305{i} & exec sleep 306{i}\n" for i in range(5))
    directory = app(procfile)
    process = start(command(21000), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    wait_started(reader, 5)
    time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1)
    survivors = subprocess.run(["pgrep", "-f", r"sleep 30[56][0-4]"], capture_output=True, text=True).stdout.split()
    subprocess.run(["pkill", "-KILL", "-f", r"sleep 30[56][0-4]"], check=False)
    kill_everything(process)
    shutil.rmtree(directory, ignore_errors=True)
    return len(survivors)


def crash(command):
    procfile = "".join(f"p{i}: echo up-{i}; exec sleep 60\n" for i in range(3)) + "crash: sleep 0.5; echo up-9; exit 3\n"
    directory = app(procfile)
    began = time.monotonic()
    process = start(command(21500), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    code, took = None, None
    try:
        code = process.wait(timeout=20)
        took = time.monotonic() - began - 0.5
    except subprocess.TimeoutExpired:
        pass
    left = session_pids(process.pid)
    kill_everything(process)
    shutil.rmtree(directory, ignore_errors=True)
    return {"code": code, "seconds": took, "left": len(left)}


def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(command):
    directory = app("".join(f"p{i}: echo up-{i}; exec sleep 60\n" for i in range(50)))
    process = start(command(22000), directory, subprocess.PIPE)
    reader = Reader(process.stdout)
    wait_started(reader, 50)
    time.sleep(1)
    own = [process.pid] + [p for p in descendants(process.pid) if comm(p) != "sleep"]
    total = sum(pss_kib(p) for p in own)
    stop(process, 15)
    shutil.rmtree(directory, ignore_errors=True)
    return {"MiB": total / 1024, "processes": len(own)}


def fmt(value, unit=""):
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:,.3f}{unit}" if value < 10 else f"{value:,.0f}{unit}"
    return f"{value}{unit}"


def main():
    found, missing = tools()
    if "--dozen-only" in sys.argv:
        found, missing = {"dozen": found["dozen"]}, []
    if missing:
        print("bench/run.py needs these installed first:", file=sys.stderr)
        for line in missing:
            print("  " + line, file=sys.stderr)
        return 2
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    results = {}
    for name, command in found.items():
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        runs = [throughput(command) for _ in range(3)]
        median = sorted(runs, key=lambda r: r["lines/s"])[1]
        results[name] = {
            "throughput": median,
            "damage": {k: max(r[k] for r in runs) for k in ("lost", "duplicated", "corrupted", "misattributed")},
            "start": statistics.median([start_latency(command) or 99 for _ in range(3)]),
            "shutdown": shutdown(command),
            "stubborn": stubborn(command),
            "orphans": orphans(command),
            "crash": crash(command),
            "memory": memory(command),
        }
    d = results["dozen"]
    print()
    print(f"{'':<28}" + "".join(f"{name:>16}" for name in results))
    rows = [
        ("lines/s (median of 3)", lambda r: fmt(r["throughput"]["lines/s"])),
        ("lost/dup/corrupt/misattr", lambda r: "/".join(str(r["damage"][k]) for k in ("lost", "duplicated", "corrupted", "misattributed"))),
        ("50 ready (s, median of 3)", lambda r: fmt(r["start"])),
        ("shutdown of 10 (s)", lambda r: fmt(r["shutdown"])),
        ("stubborn child gone (s)", lambda r: fmt(r["stubborn"])),
        ("orphans after SIGKILL", lambda r: fmt(r["orphans"])),
        ("crash: exit code", lambda r: fmt(r["crash"]["code"])),
        ("crash: all gone (s)", lambda r: fmt(r["crash"]["seconds"])),
        ("memory, 50 idle (MiB PSS)", lambda r: fmt(r["memory"]["MiB"])),
        ("  tool processes", lambda r: fmt(r["memory"]["processes"])),
    ]
    for label, cell in rows:
        print(f"{label:<28}" + "".join(f"{cell(r):>16}" for r in results.values()))
    print()
    print("ratios (peer / dozen; for lines/s, dozen / peer):")
    for name, r in results.items():
        if name == "dozen":
            continue
        parts = [f"throughput {d['throughput']['lines/s'] / max(r['throughput']['lines/s'], 1):.1f}x",
                 f"start {r['start'] / d['start']:.1f}x",
                 f"memory {r['memory']['MiB'] / d['memory']['MiB']:.1f}x"]
        if r["shutdown"] and d["shutdown"]:
            parts.append(f"shutdown {r['shutdown'] / d['shutdown']:.1f}x")
        print(f"  {name}: " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
