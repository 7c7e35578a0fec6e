#!/usr/bin/env python3
"""How fast `dozen run` answers OFREP: one flag's evaluation, and the bulk evaluation of 100
flags, as an OpenFeature provider asks them (POST over one kept-alive HTTP/1.1 connection),
and how long `dozen flags rollout` takes to reach an SDK.

    python3 bench/flags.py [--dozen target/release/dozen] [--requests 5000]

The flags: 100 of them in flagd's format, a third static, a third with a `JsonLogic` rule on
the context (`ends_with` an email domain, `in` a list), a third percentage rollouts
(`fractional`). Each request gets another targeting key. Latency is measured by this client,
from the request's first byte to the response's last (Python's http.client: its own cost is
in the figures). The peer, flagd, is not run here (Go modules cannot be fetched on this
machine): its figures are not compared.
"""

import argparse, http.client, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time


def flags_file():
    flags = {}
    for i in range(100):
        flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
        if i % 3 == 1:
            flag["targeting"] = {"if": [{"or": [{"ends_with": [{"var": "email"}, "@example.com"]},
                                                {"in": [{"var": "country"}, ["se", "no", "dk", "fi"]]}]}, "on", None]}
        elif i % 3 == 2:
            flag["targeting"] = {"fractional": [["on", i % 100], ["off", 100 - i % 100]]}
        flags[f"flag-{i:03}"] = flag
    return json.dumps({"flags": flags}, indent=2)


def percentiles(samples):
    samples = sorted(samples)
    at = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1000
    return f"p50 {at(0.5):.3f} ms, p99 {at(0.99):.3f} ms, max {samples[-1] * 1000:.3f} ms"


def post(connection, path, body):
    started = time.perf_counter()
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    took = time.perf_counter() - started
    assert response.status == 200, (response.status, data)
    return took, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dozen", default="target/release/dozen")
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    dozen = os.path.abspath(args.dozen)
    app = tempfile.mkdtemp(prefix="dozen-bench-flags-")
    try:
        open(os.path.join(app, "flags.json"), "w").write(flags_file())
        open(os.path.join(app, "Procfile"), "w").write("web: exec sleep 3600\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        run = subprocess.Popen([dozen, "run", "--dev", "-p", str(port)], cwd=app,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        endpoint = None
        for line in run.stdout:
            found = re.search(r"OFREP on http://([\d.]+):(\d+)", line)
            if found:
                endpoint = (found.group(1), int(found.group(2)))
                break
        connection = http.client.HTTPConnection(*endpoint)
        context = lambda i: json.dumps({"context": {"targetingKey": f"user-{i}", "email": f"u{i}@example.{'com' if i % 2 else 'org'}", "country": "se"}})
        for i in range(200):  # warm the connection and the allocator
            post(connection, "/ofrep/v1/evaluate/flags/flag-001", context(i))
        single = []
        for i in range(args.requests):
            took, _ = post(connection, f"/ofrep/v1/evaluate/flags/flag-{i % 100:03}", context(i))
            single.append(took)
        bulk = []
        for i in range(max(1, args.requests // 5)):
            took, data = post(connection, "/ofrep/v1/evaluate/flags", context(i))
            bulk.append(took)
        assert len(json.loads(data)["flags"]) == 100
        print(f"OFREP single flag ({args.requests} requests): {percentiles(single)}")
        print(f"OFREP bulk, 100 flags ({len(bulk)} requests): {percentiles(bulk)}")
        # A rollout, from the command's start to the first answer that shows it.
        reached = []
        for percent in ("10%", "20%", "30%", "40%", "50%"):
            started = time.perf_counter()
            subprocess.run([dozen, "flags", "rollout", "flag-000", percent], cwd=app, check=True, capture_output=True)
            while True:
                _, data = post(connection, "/ofrep/v1/evaluate/flags/flag-000", context(0))
                if json.loads(data)["reason"] == "TARGETING_MATCH":
                    break
            reached.append(time.perf_counter() - started)
            subprocess.run([dozen, "flags", "set", "flag-000", "off"], cwd=app, check=True, capture_output=True)
        print(f"`dozen flags rollout` to the first answer that shows it (5 times): "
              f"median {statistics.median(reached) * 1000:.1f} ms, max {max(reached) * 1000:.1f} ms")
        run.terminate()
        run.wait(10)
    finally:
        shutil.rmtree(app, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
