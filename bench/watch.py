#!/usr/bin/env python3
"""`dozen run --dev --watch`: edit → new instance ready, and a 500-file burst → restarts.

    python3 bench/watch.py [--dozen target/release/dozen] [--rounds 20]

Two apps in a temporary directory: `worker` (sh, says the file it read, then sleeps) and `web`
(a Python HTTP server behind the router). For each round the script writes `code.txt` and
times the first line from the new instance (worker: `started N`; web: `web.N ready`, said
once it accepts connections). Then it writes 500 files at once and counts restart lines.
"""

import argparse, os, select, socket, statistics, subprocess, sys, tempfile, time

WEB = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lines_until(proc, needle, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            line = proc.stdout.readline().decode(errors="replace").rstrip("\n")
            seen.append(line)
            if needle(line):
                return time.monotonic(), seen
    sys.exit(f"timed out; lines: {seen}")


def run(dozen, rounds, procfile, formation, router, needle_of, done):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "Procfile"), "w").write(procfile)
        open(os.path.join(d, "web.py"), "w").write(WEB)
        open(os.path.join(d, "code.txt"), "w").write("0")
        os.mkdir(os.path.join(d, "src"))
        port = free_port()
        args = [dozen, "run", "--dev", "--watch", "--no-timestamps", "-p", str(port), "-m", formation]
        if router:
            args += ["--router", f"127.0.0.1:{port}"]
        proc = subprocess.Popen(args, cwd=d, stdout=subprocess.PIPE)
        lines_until(proc, needle_of(0), 20)
        time.sleep(0.5)
        times = []
        for n in range(1, rounds + 1):
            time.sleep(0.3)
            start = time.monotonic()
            open(os.path.join(d, "code.txt"), "w").write(str(n))
            end, seen = lines_until(proc, needle_of(n), 20)
            times.append((end - start) * 1000)
            if not done(seen[-1]):
                lines_until(proc, done, 20)
        time.sleep(0.3)
        for i in range(500):
            open(os.path.join(d, "src", f"{i}.py"), "w").write("x\n")
        _, seen = lines_until(proc, done, 20)
        time.sleep(2)
        while select.select([proc.stdout], [], [], 0.2)[0]:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.decode(errors="replace"))
        restarts = sum("changed, restarting" in l for l in seen)
        proc.send_signal(2)
        proc.wait(15)
        return times, restarts


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dozen", default="target/release/dozen")
    p.add_argument("--rounds", type=int, default=20)
    a = p.parse_args()
    dozen = os.path.abspath(a.dozen)
    worker = "worker: echo \"started $(cat code.txt)\"; exec sleep 600\n"
    times, restarts = run(dozen, a.rounds, worker, "worker=1", False,
                          lambda n: lambda l: l.endswith(f"| started {n}"),
                          lambda l: "| started" in l)
    report("worker (sh), edit → first line of the new instance", times, restarts)
    # web: each restart's new instance is web.2 (the roll's extra), then web.1; `ready` lines.
    def web_needle(_n):
        return lambda line: line.startswith("dozen") and " ready in " in line
    web = "web: exec python3 web.py\n"
    times, restarts = run(dozen, a.rounds, web, "web=1", True, web_needle,
                          lambda l: "rolling restart done" in l)
    report("web (python3 http.server) behind the router, edit → first new instance ready", times, restarts)


def report(what, times, restarts):
    times.sort()
    print(f"{what}: median {statistics.median(times):.0f} ms, "
          f"p90 {times[int(len(times) * 0.9) - 1]:.0f} ms, max {max(times):.0f} ms "
          f"({len(times)} edits); 500-file burst → {restarts} restart line(s)")


if __name__ == "__main__":
    main()
