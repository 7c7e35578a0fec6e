#!/usr/bin/env python3
"""`dozen image`, measured (docs/image.md).

    python3 bench/image.py

The app: 10,000 generated source files (~160 MB of text in 100 directories), a Procfile, a
git commit, `dozen release`. Measured:

- the first image (`dozen image --out`): the app layer written, MB/s of input (the tree's
  bytes over the command's wall time, base-less so the layer is all there is);
- an unchanged release's image again: the command's wall time, median of 5 (target: under
  200 ms; the layer is reused without reading the tree);
- a push whose base the registry already holds: Debian's docker-registry on loopback, a
  busybox base put there with skopeo, `dozen image --base REGISTRY/base:1 --push
  REGISTRY/app`: the bytes dozen sent against the app layer's, config's and manifest's sizes
  (the base's layers are mounted, never sent).

Needs: a release build (cargo build --release), git, skopeo, docker-registry, busybox-static.
"""

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")
WORDS = "alpha beta gamma delta return function const value import class export default async await".split()


def run(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, **kw)


def make_app(d):
    random.seed(1)
    size = 0
    for i in range(10_000):
        sub = os.path.join(d, "src", "m%03d" % (i // 100))
        os.makedirs(sub, exist_ok=True)
        text = "\n".join(" ".join(random.choice(WORDS) for _ in range(12)) for _ in range(random.randint(20, 400)))
        with open(os.path.join(sub, "f%05d.js" % i), "w") as f:
            f.write(text)
        size += len(text)
    with open(os.path.join(d, "Procfile"), "w") as f:
        f.write("web: node src/m000/f00000.js\n")
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    run(["git", "init", "-q", "."], d)
    run(["git", "add", "-A"], d)
    run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "app"], d, env=env)
    run([DOZEN, "release"], d)
    return size


def timed(args, cwd):
    t = time.monotonic()
    out = run(args, cwd)
    return time.monotonic() - t, out.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def busybox_base(d):
    root = os.path.join(d, "root", "bin")
    os.makedirs(root)
    shutil.copy("/bin/busybox", os.path.join(root, "busybox"))
    os.symlink("busybox", os.path.join(root, "sh"))
    run(["tar", "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "-C", "root", "-cf", "layer.tar", "."], d)
    import hashlib
    digest = hashlib.sha256(open(os.path.join(d, "layer.tar"), "rb").read()).hexdigest()
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest]}, "config": {"Env": ["PATH=/bin"]}}, f)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump([{"Config": "config.json", "RepoTags": ["base:1"], "Layers": ["layer.tar"]}], f)
    run(["tar", "-cf", "base.tar", "manifest.json", "config.json", "layer.tar"], d)
    return os.path.join(d, "base.tar")


def main():
    if not os.path.exists(DOZEN):
        raise SystemExit("build dozen first: cargo build --release")
    work = tempfile.mkdtemp(prefix="dozen-bench-image-")
    app = os.path.join(work, "app")
    os.makedirs(app)
    size = make_app(app)
    seconds, stdout = timed([DOZEN, "image", "--out", os.path.join(work, "image"), "--json"], app)
    made = json.loads(stdout)
    print(f"first image: {size / 1e6:.1f} MB of input in {seconds * 1000:.0f} ms = {size / seconds / 1e6:.0f} MB/s (target >= 200 MB/s); layer {made['layers'][-1]['size'] / 1e6:.1f} MB")
    again = []
    for _ in range(5):
        seconds, stdout = timed([DOZEN, "image", "--out", os.path.join(work, "image"), "--json"], app)
        assert json.loads(stdout)["app_layer_reused"]
        again.append(seconds)
    print(f"unchanged release again: median {statistics.median(again) * 1000:.0f} ms (target < 200 ms), runs {[round(s * 1000) for s in again]}")

    if not all(shutil.which(t) for t in ["skopeo", "docker-registry"]) or not os.path.exists("/bin/busybox"):
        print("push: skipped (needs skopeo, docker-registry, busybox-static)")
        return
    port = free_port()
    with open(os.path.join(work, "registry.yml"), "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {work}/registry\nhttp:\n  addr: 127.0.0.1:{port}\n")
    registry = subprocess.Popen(["docker-registry", "serve", os.path.join(work, "registry.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        base = busybox_base(os.path.join(work, "base"))
        run(["skopeo", "copy", "--dest-tls-verify=false", f"docker-archive:{base}", f"docker://127.0.0.1:{port}/base:1"], work)
        seconds, stdout = timed([DOZEN, "image", "--base", f"127.0.0.1:{port}/base:1", "--push", f"127.0.0.1:{port}/app", "--json"], app)
        pushed = json.loads(stdout)
        app_layer = pushed["layers"][-1]["size"]
        base_layers = sum(l["size"] for l in pushed["layers"][:-1])
        print(f"push with the base on the registry: {pushed['bytes_pushed']:,} bytes sent = app layer {app_layer:,} + config and manifest "
              f"{pushed['bytes_pushed'] - app_layer:,}; base layers ({base_layers:,} bytes) mounted, not sent; {seconds * 1000:.0f} ms")
    finally:
        registry.kill()
        registry.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
