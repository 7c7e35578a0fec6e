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

Then the same over TLS (one ECDSA P-256 certificate made with openssl for all four, TLS 1.3:
nginx `ssl_protocols TLSv1.3`, HAProxy `ssl-min-ver TLSv1.3`, Caddy `protocols tls1.3`;
wrk negotiates 1.3 with each), latency at fixed request rates of 50 % and 80 % of nginx's
maximum (oha, open-loop, corrected for coordinated omission), and 0 failed requests through
changes of the formation. The targets printed are issue 32's.
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


NGINX_TLS = NGINX.replace("""        listen 127.0.0.1:{port};""", """        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;""").replace("{dir}/nginx-proxy.pid", "{dir}/nginx-tls.pid")

HAPROXY_TLS = HAPROXY.replace("    bind 127.0.0.1:{port}", "    bind 127.0.0.1:{port} ssl crt {pem} ssl-min-ver TLSv1.3")

CADDY_TLS = """{{
    admin off
    auto_https off
}}
https://127.0.0.1:{port} {{
    tls {cert} {key} {{
        protocols tls1.3
    }}
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


def wrk(port, connections, duration, scheme="http"):
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", f"{scheme}://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)

    def latency(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, latency(50), latency(99), errors.group(0) if errors else "", requests


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(session):
    """User + system CPU time so far of every process of a session (a proxy and its workers),
    or of the one process `session` when it is dozen (its instances are not the router)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3): the session is field 6, utime and stime 14 and 15.
        if int(entry) == session or (session < 0 and int(fields[3]) == -session):
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def with_cpu(tool, session):
    """Runs `tool` and adds the CPU time per request (µs) the measured process(es) spent."""
    before = cpu_seconds(session)
    result = tool()
    spent = cpu_seconds(session) - before
    return (*result, spent * 1e6 / max(result[4], 1))


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
    """The run with the median throughput, and the median p50, p99 and CPU per request of
    all of them."""
    by_rps = sorted(runs, key=lambda r: r[0])
    middle = by_rps[len(by_rps) // 2]
    p50 = sorted(r[1] for r in runs)[len(runs) // 2]
    p99 = sorted(r[2] for r in runs)[len(runs) // 2]
    cpu = sorted(r[5] for r in runs)[len(runs) // 2] if len(middle) > 5 else None
    return middle[0], p50, p99, middle[3], cpu


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
    # One certificate for every proxy's TLS.
    cert, key, pem = (os.path.join(work, n) for n in ("cert.pem", "key.pem", "both.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    base = args.port
    with open(os.path.join(app, "dozen.toml"), "w") as f:
        # As a production app has it: a crashed instance comes back. The router serves
        # HTTPS on base + 200 and plain HTTP on the base port (the same proxy behind both).
        f.write('[processes.web]\nrestart = "on-failure"\n'
                f'[router]\ntls = {{ cert = "{cert}", key = "{key}" }}\nhttp_listen = "{base}"\n')
    with open(os.path.join(app, "Procfile"), "w") as f:
        # The instance runs in the release's build tree; its nginx.conf goes to the work dir.
        f.write(f"web: sed \"s/PORT_HERE/$PORT/g\" backend.conf > {work}/conf-$PORT && exec nginx -c {work}/conf-$PORT\n")
    # A release first: the formation follows the current release, so a release move can be
    # measured under load.
    subprocess.run([DOZEN, "release"], cwd=app, check=True, capture_output=True)
    run = subprocess.Popen(
        [DOZEN, "run", "--dev", "--router", f"127.0.0.1:{base + 200}", "-p", str(base), "-m", f"web={args.backends}"],
        cwd=app, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ports = [base + 1 + i for i in range(args.backends)]
    try:
        if not all(wait_port(p) for p in ports + [base, base + 200]):
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
        tls_peers = [("dozen router", None, base + 200)]
        if shutil.which("nginx"):
            conf = os.path.join(work, "nginx-tls.conf")
            with open(conf, "w") as f:
                f.write(NGINX_TLS.format(dir=work, port=base + 110, cert=cert, key=key,
                                         servers="\n        ".join(f"server 127.0.0.1:{p};" for p in ports)))
            tls_peers.append(("nginx", ["nginx", "-c", conf], base + 110))
        if shutil.which("haproxy"):
            conf = os.path.join(work, "haproxy-tls.cfg")
            with open(conf, "w") as f:
                f.write(HAPROXY_TLS.format(port=base + 111, pem=pem,
                                           servers="\n".join(f"    server web{i} 127.0.0.1:{p}" for i, p in enumerate(ports))))
            tls_peers.append(("HAProxy", ["haproxy", "-f", conf], base + 111))
        if shutil.which("caddy"):
            conf = os.path.join(work, "Caddyfile-tls")
            with open(conf, "w") as f:
                f.write(CADDY_TLS.format(port=base + 112, cert=cert, key=key,
                                         servers=" ".join(f"127.0.0.1:{p}" for p in ports)))
            tls_peers.append(("Caddy", ["caddy", "run", "--config", conf, "--adapter", "caddyfile"], base + 112))

        def measure(name, command, port, tool, cpu=False):
            if command is None:
                # The dozen process alone: its router threads (and its supervisor's).
                return with_cpu(lambda: tool(port), run.pid) if cpu else tool(port)
            proxy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, "HOME": work})
            try:
                if not wait_port(port):
                    print(f"{name} did not start", file=sys.stderr)
                    return None
                time.sleep(0.3)
                # Every process of the proxy's session: nginx's workers with their master.
                return with_cpu(lambda: tool(port), -proxy.pid) if cpu else tool(port)
            finally:
                os.killpg(proxy.pid, signal.SIGTERM)
                proxy.wait()

        samples = {"direct (one instance)": []}
        for _ in range(args.rounds):
            samples["direct (one instance)"].append(wrk(ports[0], args.connections, args.duration))
            for name, command, port in peers:
                run_ = measure(name, command, port, lambda p: wrk(p, args.connections, args.duration),
                               cpu=True)
                if run_:
                    samples.setdefault(name, []).append(run_)
        results = {name: median_run(runs) for name, runs in samples.items()}
        tls_samples = {}
        for _ in range(args.rounds):
            for name, command, port in tls_peers:
                run_ = measure(name, command, port,
                               lambda p: wrk(p, args.connections, args.duration, "https"), cpu=True)
                if run_:
                    tls_samples.setdefault(name, []).append(run_)
        tls_results = {name: median_run(runs) for name, runs in tls_samples.items()}
        # Latency at fixed rates of 50 % and 80 % of nginx's maximum, open-loop with oha's
        # latency correction: at saturation, wrk's p99 is the length of the run queue on a
        # shared machine more than the proxy's own delay.
        fixed = {}
        if shutil.which("oha") and "nginx" in results:
            for share in (0.5, 0.8):
                rate = int(results["nginx"][0] * share) // 100 * 100
                runs = {}
                for _ in range(args.rounds):
                    for name, command, port in peers:
                        if results.get(name, (0,))[0] < rate:
                            continue  # it cannot sustain the rate: its latency would be its queue
                        run_ = measure(name, command, port,
                                       lambda p: oha(p, args.connections, args.duration, rate))
                        if run_:
                            runs.setdefault(name, []).append(run_)
                fixed[(share, rate)] = {
                    name: (sorted(r[0] for r in got)[len(got) // 2], sorted(r[1] for r in got)[len(got) // 2])
                    for name, got in runs.items()}
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
    print(f"{'':24}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/req':>12}")
    for name, (rps, p50, p99, errors, cpu) in results.items():
        cpu = f"{cpu:>12.1f}" if cpu is not None else f"{'':>12}"
        print(f"{name:24}{rps:>12,.0f}{p50:>9.2f}{p99:>9.2f}{cpu}  {errors}")
    ours = results.get("dozen router")
    nginx = results.get("nginx")
    if ours and nginx:
        print(f"dozen / nginx throughput       {ours[0] / nginx[0]:.2f}x   (target: at least 1.25x)")
        if ours[4] and nginx[4]:
            print(f"dozen / nginx CPU per request  {ours[4] / nginx[4]:.2f}x   "
                  "(user + system of the proxy's processes; target: at most 1.0x)")
    peers_ = {k: v for k, v in results.items() if k not in ("dozen router", "direct (one instance)")}
    if ours and peers_:
        best = max(peers_.items(), key=lambda kv: kv[1][0])
        print(f"dozen / best peer ({best[0]}) throughput {ours[0] / best[1][0]:.2f}x")
    if tls_results:
        print(f"over TLS 1.3 (same certificate, ECDSA P-256), {args.connections} keep-alive connections:")
        for name, (rps, p50, p99, errors, cpu) in tls_results.items():
            cpu = f"{cpu:>12.1f}" if cpu is not None else f"{'':>12}"
            print(f"{name:24}{rps:>12,.0f}{p50:>9.2f}{p99:>9.2f}{cpu}  {errors}")
        if "dozen router" in tls_results and "nginx" in tls_results:
            print(f"dozen / nginx throughput over TLS {tls_results['dozen router'][0] / tls_results['nginx'][0]:.2f}x"
                  "   (target: at least 1.0x)")
    for (share, rate), by_name in fixed.items():
        print(f"at a fixed {rate:,} requests/s ({share:.0%} of nginx's maximum; oha, "
              f"{args.connections} connections, latency-corrected):")
        for name, (p50, p99) in by_name.items():
            print(f"    {name:20}p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        if "dozen router" in by_name and "nginx" in by_name:
            print(f"dozen / nginx p99 at {share:.0%}       {by_name['dozen router'][1] / by_name['nginx'][1]:.2f}x"
                  "   (target: at most 1.0x)")
    print(f"one connection, one request at a time: direct p50 {quiet_direct[1]:.3f} ms, "
          f"through dozen's router {quiet_router[1]:.3f} ms")
    print(f"p50 added by the router         {quiet_router[1] - quiet_direct[1]:.3f} ms (target: at most 0.3 ms)")
    for name, requests, failed in changes:
        print(f"{name:32}{requests:>10,} requests, {failed} failed (target: 0)")


if __name__ == "__main__":
    main()
