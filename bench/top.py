#!/usr/bin/env python3
"""What one `dozen top` costs the run it watches: the CPU of `dozen run` without a viewer,
then with one `dozen top` attached (in tmux, as a person runs it: its frames every second and
its log pane following an instance), then with one at `--interval 0.2`.

    python3 bench/top.py [--dozen target/release/dozen] [--seconds 30]

The app: 4 `web` instances (a Python HTTP server) behind the router with a steady 50
requests/s, and 4 `worker` instances printing a line every 0.2 s. CPU is read from
/proc/PID/stat (user + system time of the run's own threads, not its children's) over the
same number of seconds in each phase.
"""

import argparse, os, shutil, socket, subprocess, sys, tempfile, threading, time

WEB = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(pid, seconds):
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def load(port, stop, rate=50):
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                while not stop.is_set():
                    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    s.recv(4096)
                    time.sleep(1 / rate)
        except OSError:
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dozen", default="target/release/dozen")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    dozen = os.path.abspath(args.dozen)
    if not shutil.which("tmux"):
        sys.exit("needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "Procfile"), "w").write(
            "web: exec python3 web.py\nworker: while true; do echo tick; sleep 0.2; done\n"
        )
        open(os.path.join(d, "web.py"), "w").write(WEB)
        port = free_port()
        run = subprocess.Popen(
            [dozen, "run", "--dev", "-p", str(port), "-m", "web=4,worker=4", "--router", f"127.0.0.1:{port}"],
            cwd=d,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)
            stop = threading.Event()
            threading.Thread(target=load, args=(port, stop), daemon=True).start()
            time.sleep(2)
            results = [("no viewer", measure(run.pid, args.seconds), None)]
            socket_path = os.path.join(d, "tmux.sock")
            for label, interval in [("one `dozen top` (1 s)", "1"), ("one `dozen top --interval 0.2`", "0.2")]:
                subprocess.run(
                    ["tmux", "-S", socket_path, "new-session", "-d", "-x", "120", "-y", "40", "-c", d,
                     dozen, "top", "--interval", interval],
                    check=True,
                )
                time.sleep(2)
                top_pid = int(subprocess.run(
                    ["tmux", "-S", socket_path, "display", "-p", "-t", "0", "#{pane_pid}"],
                    capture_output=True, text=True, check=True,
                ).stdout)
                top_before = cpu_seconds(top_pid)
                run_cpu = measure(run.pid, args.seconds)
                top_cpu = 100.0 * (cpu_seconds(top_pid) - top_before) / args.seconds
                results.append((label, run_cpu, top_cpu))
                subprocess.run(["tmux", "-S", socket_path, "kill-server"], check=False)
            stop.set()
        finally:
            run.terminate()
            run.wait()
    base = results[0][1]
    print(f"dozen run, 8 instances, router at 50 req/s; CPU over {args.seconds:.0f} s each:")
    for label, run_cpu, top_cpu in results:
        extra = f"  (+{run_cpu - base:.2f} points; top itself {top_cpu:.2f}%)" if top_cpu is not None else ""
        print(f"  {label:34} run {run_cpu:5.2f}% of a core{extra}")


if __name__ == "__main__":
    main()
