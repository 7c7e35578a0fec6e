#!/usr/bin/env python3
"""dozen's router beside nginx, HAProxy and Caddy as reverse proxies to the same backends,
with the same load generator (wrk), in one run; prints requests/s, p50 and p99 and ratios.

    python3 bench/router.py                      # 3 backends, 64 connections, 3 rounds of 10 s
    python3 bench/router.py --duration 5 --connections 64 --backends 3 --rounds 1

Each round measures every proxy once, in turn; the table gives each one's median over the
rounds (a shared 2-core machine drifts by 10-20% between runs, and interleaving spreads the
drift over all of them alike).

Peers (install them first; the script installs nothing and says what is missing):
    apt-get install nginx-light haproxy caddy wrk
    cargo install oha      # optional: latency at a fixed rate (open-loop), beside wrk's

The backends are `dozen run --router` instances of a `web` type whose command is an nginx
that answers `200 ok` itself (one worker each), so the backend is never the bottleneck; the
other proxies are pointed at the same instance ports. Every proxy keeps connections to the
backends alive (nginx `keepalive`, HAProxy `http-reuse always`, Caddy's default) and uses
least-outstanding-requests balancing where it has it. "direct" is wrk against one instance,
for the latency the router adds.
"""

import argparse
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
# DOZEN_BIN: another dozen to measure (bench/before-after.sh compares two builds).
DOZEN = os.environ.get("DOZEN_BIN") or os.path.join(ROOT, "target", "release", "dozen")

BACKEND = """daemon off;
worker_processes 1;
pid {dir}/nginx-{port}.pid;
error_log stderr error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body-{port};
    proxy_temp_path {dir}/proxy-{port};
    fastcgi_temp_path {dir}/fastcgi-{port};
    uwsgi_temp_path {dir}/uwsgi-{port};
    scgi_temp_path {dir}/scgi-{port};
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""

NGINX = """daemon off;
worker_processes 2;
pid {dir}/nginx-proxy.pid;
error_log stderr error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body-proxy;
    proxy_temp_path {dir}/proxy-proxy;
    fastcgi_temp_path {dir}/fastcgi-proxy;
    uwsgi_temp_path {dir}/uwsgi-proxy;
    scgi_temp_path {dir}/scgi-proxy;
    keepalive_requests 1000000;
    upstream app {{
        least_conn;
        {servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""

HAPROXY = """global
    nbthread 2
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option forwardfor
    http-reuse always
frontend web
    bind 127.0.0.1:{port}
    default_backend app
backend app
    balance leastconn
{servers}
"""

CADDY = """{{
    admin off
    auto_https off
}}
http://127.0.0.1:{port} {{
    reverse_proxy {servers} {{
        lb_policy least_conn
    }}
}}
"""


def free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not free(port):
            return True
        time.sleep(0.05)
    return False


def wrk(port, connections, duration):
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)

    def latency(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return rps, latency(50), latency(99), errors.group(0) if errors else ""


def oha(port, connections, duration, rate):
    """p50 and p99 (ms) at a fixed request rate, corrected for coordinated omission."""
    out = subprocess.run(
        ["oha", "-z", f"{duration}s", "-c", str(connections), "-q", str(rate), "--latency-correction",
         "--no-tui", "--output-format", "json", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    import json
    data = json.loads(out)
    failed = sum(n for code, n in data.get("statusCodeDistribution", {}).items() if not code.startswith("2"))
    # Requests still in flight when oha's time is up are "aborted due to deadline": not failures.
    failed += sum(n for error, n in data.get("errorDistribution", {}).items()
                  if error != "aborted due to deadline")
    if failed:
        print(f"oha on {port}: {failed} failed: {data.get('errorDistribution')}", file=sys.stderr)
    percentiles = data["latencyPercentiles"]
    return percentiles["p50"] * 1000, percentiles["p99"] * 1000


def median_run(runs):
    """The run with the median throughput, and the median p50 and p99 of all of them."""
    by_rps = sorted(runs, key=lambda r: r[0])
    middle = by_rps[len(by_rps) // 2]
    p50 = sorted(r[1] for r in runs)[len(runs) // 2]
    p99 = sorted(r[2] for r in runs)[len(runs) // 2]
    return middle[0], p50, p99, middle[3]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--backends", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=23000)
    args = parser.parse_args()
    missing = [tool for tool in ("nginx", "haproxy", "caddy", "wrk") if not shutil.which(tool)]
    if "wrk" in missing or "nginx" in missing:
        sys.exit(f"missing {missing}: apt-get install nginx-light haproxy caddy wrk")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    work = tempfile.mkdtemp(prefix="dozen-router-bench-")
    app = os.path.join(work, "app")
    os.makedirs(app)
    with open(os.path.join(app, "backend.conf"), "w") as f:
        f.write(BACKEND.replace("{dir}", work).replace("{{", "{").replace("}}", "}").replace("{port}", "PORT_HERE"))
    with open(os.path.join(app, "dozen.toml"), "w") as f:
        # As a production app has it: a crashed instance comes back.
        f.write('[processes.web]\nrestart = "on-failure"\n')
    with open(os.path.join(app, "Procfile"), "w") as f:
        # The instance runs in the release's build tree; its nginx.conf goes to the work dir.
        f.write(f"web: sed \"s/PORT_HERE/$PORT/g\" backend.conf > {work}/conf-$PORT && exec nginx -c {work}/conf-$PORT\n")
    # A release first: the formation follows the current release, so a release move can be
    # measured under load.
    subprocess.run([DOZEN, "release"], cwd=app, check=True, capture_output=True)
    base = args.port
    run = subprocess.Popen(
        [DOZEN, "run", "--dev", "--router", "-p", str(base), "-m", f"web={args.backends}"],
        cwd=app, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ports = [base + 1 + i for i in range(args.backends)]
    try:
        if not all(wait_port(p) for p in ports + [base]):
            sys.exit("the formation did not come up")
        time.sleep(0.5)
        # Added latency, unloaded: one connection, one request at a time.
        quiet_direct = wrk(ports[0], 1, max(2, args.duration // 2))
        quiet_router = wrk(base, 1, max(2, args.duration // 2))
        peers = [("dozen router", None, base)]
        if shutil.which("nginx"):
            conf = os.path.join(work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX.format(dir=work, port=base + 100,
                                     servers="\n        ".join(f"server 127.0.0.1:{p};" for p in ports)))
            peers.append(("nginx", ["nginx", "-c", conf], base + 100))
        if shutil.which("haproxy"):
            conf = os.path.join(work, "haproxy.cfg")
            with open(conf, "w") as f:
                f.write(HAPROXY.format(port=base + 101,
                                       servers="\n".join(f"    server web{i} 127.0.0.1:{p}" for i, p in enumerate(ports))))
            peers.append(("HAProxy", ["haproxy", "-f", conf], base + 101))
        if shutil.which("caddy"):
            conf = os.path.join(work, "Caddyfile")
            with open(conf, "w") as f:
                f.write(CADDY.format(port=base + 102, servers=" ".join(f"127.0.0.1:{p}" for p in ports)))
            peers.append(("Caddy", ["caddy", "run", "--config", conf, "--adapter", "caddyfile"], base + 102))
        def measure(name, command, port, tool):
            if command is None:
                return tool(port)
            proxy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, "HOME": work})
            try:
                if not wait_port(port):
                    print(f"{name} did not start", file=sys.stderr)
                    return None
                time.sleep(0.3)
                return tool(port)
            finally:
                os.killpg(proxy.pid, signal.SIGTERM)
                proxy.wait()

        samples = {"direct (one instance)": []}
        for _ in range(args.rounds):
            samples["direct (one instance)"].append(wrk(ports[0], args.connections, args.duration))
            for name, command, port in peers:
                run_ = measure(name, command, port, lambda p: wrk(p, args.connections, args.duration))
                if run_:
                    samples.setdefault(name, []).append(run_)
        results = {name: median_run(runs) for name, runs in samples.items()}
        # Latency at a fixed rate every proxy can sustain (half the best peer's throughput),
        # open-loop with oha's latency correction: at saturation, wrk's p99 is the length of
        # the run queue on a shared machine more than the proxy's own delay.
        fixed = {}
        if shutil.which("oha"):
            best = max(v[0] for k, v in results.items() if k not in ("direct (one instance)",))
            rate = int(best * 0.5) // 1000 * 1000
            for _ in range(args.rounds):
                for name, command, port in peers:
                    if name == "Caddy" and results.get("Caddy", (0,))[0] < rate:
                        continue  # it cannot sustain the rate: its latency would be its queue
                    run_ = measure(name, command, port,
                                   lambda p: oha(p, args.connections, args.duration, rate))
                    if run_:
                        fixed.setdefault(name, []).append(run_)
            fixed = {name: (rate, sorted(r[0] for r in runs)[len(runs) // 2],
                            sorted(r[1] for r in runs)[len(runs) // 2])
                     for name, runs in fixed.items()}
        # Zero failed requests through changes of the formation, under wrk's load.
        changes = []
        def kill_one():
            import json
            status = json.loads(subprocess.run([DOZEN, "ps", "--json"], cwd=app, capture_output=True,
                                               text=True, check=True).stdout)
            os.kill(status["instances"][0]["pid"], signal.SIGKILL)
            time.sleep(2)

        def new_release():
            with open(os.path.join(app, "notes.txt"), "w") as f:
                f.write(str(time.time()))

        for name, commands in [
            ("dozen restart web (web=3)", [["restart", "web", "--wait"]]),
            ("release move (web=3)", [new_release, ["release"]]),
            ("scale web=4, then web=1", [["scale", "web=4", "--wait"], ["scale", "web=1", "--wait"]]),
            ("kill -9 of web.1 (web=3)", [kill_one]),
        ]:
            load = subprocess.Popen(
                ["wrk", "-t2", f"-c{args.connections}", "-d6s", f"http://127.0.0.1:{base}/"],
                stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            for command in commands:
                if callable(command):
                    command()
                else:
                    subprocess.run([DOZEN, *command], cwd=app, check=True, capture_output=True)
            out, _ = load.communicate()
            requests = int(re.search(r"(\d+) requests in", out).group(1))
            failed = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
            failed += int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
            changes.append((name, requests, failed))
            subprocess.run([DOZEN, "scale", "web=3", "--wait"], cwd=app, check=True, capture_output=True)
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.connections} keep-alive connections, {args.duration} s each, {args.backends} backends, wrk -t2, "
          f"median of {args.rounds} interleaved rounds")
    print(f"{'':24}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}")
    for name, (rps, p50, p99, errors) in results.items():
        print(f"{name:24}{rps:>12,.0f}{p50:>9.2f}{p99:>9.2f}  {errors}")
    peers = {k: v for k, v in results.items() if k not in ("dozen router", "direct (one instance)")}
    if peers:
        best_rps = max(v[0] for v in peers.values())
        best_p99 = min(v[2] for v in peers.values())
        ours = results["dozen router"]
        print(f"dozen / best peer throughput   {ours[0] / best_rps:.2f}x   (target: at least 0.9x)")
        print(f"dozen / best peer p99          {ours[2] / best_p99:.2f}x   (target: at most 1.25x)")
    if fixed:
        rate = next(iter(fixed.values()))[0]
        print(f"at a fixed {rate:,} requests/s (oha, {args.connections} connections, latency-corrected):")
        for name, (_, p50, p99) in fixed.items():
            print(f"    {name:20}p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        peers_fixed = [v[2] for k, v in fixed.items() if k != "dozen router"]
        if "dozen router" in fixed and peers_fixed:
            print(f"dozen / best peer p99 at that rate {fixed['dozen router'][2] / min(peers_fixed):.2f}x"
                  "   (target: at most 1.25x)")
    print(f"one connection, one request at a time: direct p50 {quiet_direct[1]:.3f} ms, "
          f"through dozen's router {quiet_router[1]:.3f} ms")
    print(f"p50 added by the router         {quiet_router[1] - quiet_direct[1]:.3f} ms (target: at most 0.3 ms)")
    for name, requests, failed in changes:
        print(f"{name:32}{requests:>10,} requests, {failed} failed (target: 0)")


if __name__ == "__main__":
    main()
