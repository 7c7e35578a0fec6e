#!/usr/bin/env python3
"""What a large or hostile base costs `dozen image` (docs/image.md, "What a registry may cost").

    python3 bench/image-bounds.py [--layer-mib 1024] [--files 1000000]

- A base pulled from a registry (Debian's docker-registry on loopback, the image put there
  with skopeo) with an uncompressed layer of `--layer-mib` MiB of random bytes:
  `dozen image --base REGISTRY/big:1 --archive` — its peak RSS (target <= 64 MiB for 1 GiB)
  and wall time.
- A base whose layer holds `--files` empty files (gzip): `dozen image --base oci:DIR` — the
  wall time of reading the base's file tree for the interpreter check (target <= 10 s for
  1,000,000), and the time for a tenth as many, to show the growth is linear.

Needs: a release build (cargo build --release), git, skopeo, docker-registry, busybox-static.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")


def run(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, **kw)


def measured(args, cwd):
    """Wall seconds and peak RSS (MiB) of one command."""
    start = time.monotonic()
    child = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - start
    out, err = child.stdout.read(), child.stderr.read()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {err.decode()}{out.decode()}")
    return seconds, usage.ru_maxrss / 1024


def header(name, size=0, kind=b"0", mode=0o644):
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % 1_700_000_000
    h[156:157] = kind
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


class Layout:
    """An OCI image layout written blob by blob."""

    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "blobs", "sha256"))
        self.layers, self.diff_ids = [], []

    def blob(self, path, media_type):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()
        size = os.path.getsize(path)
        os.replace(path, os.path.join(self.d, "blobs", "sha256", digest))
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": size}

    def layer(self, tar_path, gzipped):
        h = hashlib.sha256()
        with open(tar_path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        self.diff_ids.append("sha256:" + h.hexdigest())
        if gzipped:
            with open(tar_path, "rb") as f, gzip.open(tar_path + ".gz", "wb", compresslevel=1) as g:
                shutil.copyfileobj(f, g, 1 << 20)
            os.remove(tar_path)
            self.layers.append(self.blob(tar_path + ".gz", "application/vnd.oci.image.layer.v1.tar+gzip"))
        else:
            self.layers.append(self.blob(tar_path, "application/vnd.oci.image.layer.v1.tar"))

    def finish(self, tag):
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
                             "config": {"Env": ["PATH=/bin"]}}).encode()
        path = os.path.join(self.d, "config.tmp")
        open(path, "wb").write(config)
        config = self.blob(path, "application/vnd.oci.image.config.v1+json")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": self.layers}).encode()
        path = os.path.join(self.d, "manifest.tmp")
        open(path, "wb").write(manifest)
        manifest = self.blob(path, "application/vnd.oci.image.manifest.v1+json")
        manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, open(os.path.join(self.d, "index.json"), "w"))
        json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(self.d, "oci-layout"), "w"))


def busybox_layer(d):
    path = os.path.join(d, "busybox.tar")
    data = open("/bin/busybox", "rb").read()
    with open(path, "wb") as f:
        f.write(header("bin/", kind=b"5", mode=0o755))
        f.write(header("bin/busybox", len(data), mode=0o755))
        f.write(data + b"\0" * (-len(data) % 512))
        for name in ["sh", "sleep"]:
            link = bytearray(header("bin/" + name, kind=b"2", mode=0o777))
            link[157:164] = b"busybox"
            link[148:156] = b"        "
            link[148:156] = b"%06o\0 " % sum(link)
            f.write(bytes(link))
        f.write(b"\0" * 1024)
    return path


def big_layer(d, mib):
    path = os.path.join(d, "big.tar")
    with open(path, "wb") as f, open("/dev/urandom", "rb") as r:
        f.write(header("data/", kind=b"5", mode=0o755))
        f.write(header("data/big", mib << 20))
        for _ in range(mib):
            f.write(r.read(1 << 20))
        f.write(b"\0" * 1024)
    return path


def many_files_layer(d, count):
    path = os.path.join(d, "many.tar")
    per_dir = 1000
    with open(path, "wb") as f:
        for i in range(count):
            if i % per_dir == 0:
                f.write(header("m/d%05d/" % (i // per_dir), kind=b"5", mode=0o755))
            f.write(header("m/d%05d/f%06d" % (i // per_dir, i)))
        f.write(b"\0" * 1024)
    return path


def make_app(d):
    os.makedirs(d)
    open(os.path.join(d, "Procfile"), "w").write("web: sleep 100\n")
    run(["git", "init", "-q", "."], d)
    run(["git", "add", "-A"], d)
    run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "app"], d)
    run([DOZEN, "release"], d)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_base(work, app, mib):
    layout_dir = os.path.join(work, "big-layout")
    layout = Layout(layout_dir)
    layout.layer(busybox_layer(work), gzipped=False)
    layout.layer(big_layer(work, mib), gzipped=False)
    layout.finish("1")
    port = free_port()
    with open(os.path.join(work, "registry.yml"), "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {work}/registry\nhttp:\n  addr: 127.0.0.1:{port}\n")
    registry = subprocess.Popen(["docker-registry", "serve", os.path.join(work, "registry.yml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout_dir}:1", f"docker://127.0.0.1:{port}/big:1"], work)
        shutil.rmtree(layout_dir)
        seconds, rss = measured([DOZEN, "image", "--base", f"127.0.0.1:{port}/big:1", "--archive",
                                 os.path.join(work, "big-image.tar")], app)
        print(f"base from a registry with a {mib} MiB layer: peak RSS {rss:.1f} MiB (target <= 64 MiB), {seconds:.1f} s")
    finally:
        registry.kill()
        registry.wait()


def many_files_base(work, app, count):
    d = os.path.join(work, f"many-{count}")
    os.makedirs(d)
    layout = Layout(os.path.join(d, "layout"))
    layout.layer(busybox_layer(d), gzipped=False)
    layout.layer(many_files_layer(d, count), gzipped=True)
    layout.finish("1")
    seconds, rss = measured([DOZEN, "image", "--base", f"oci:{d}/layout:1", "--out", os.path.join(d, "out")], app)
    print(f"base of {count:,} empty files: {seconds:.2f} s, peak RSS {rss:.0f} MiB")
    shutil.rmtree(d)
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1_000_000)
    args = parser.parse_args()
    if not os.path.exists(DOZEN):
        raise SystemExit("build dozen first: cargo build --release")
    work = tempfile.mkdtemp(prefix="dozen-bench-bounds-")
    try:
        app = os.path.join(work, "app")
        make_app(app)
        small = many_files_base(work, app, args.files // 10)
        large = many_files_base(work, app, args.files)
        print(f"  {args.files // 10:,} → {args.files:,} files: {large / small:.1f}× the time for 10× the files (target <= 10 s)")
        if all(shutil.which(t) for t in ["skopeo", "docker-registry"]) and os.path.exists("/bin/busybox"):
            registry_base(work, app, args.layer_mib)
        else:
            print("registry: skipped (needs skopeo, docker-registry, busybox-static)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
