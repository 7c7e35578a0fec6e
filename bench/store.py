#!/usr/bin/env python3
"""dozen's store on a large app: the issue 4 targets, measured.

    python3 bench/store.py        # builds dozen (release), makes a 10,000-file / 200 MB app

  no-op build     `dozen build` with nothing changed (target: under 150 ms)
  release         `dozen release --build ID` reusing a stored build (target: under 50 ms)
  rollback        `dozen rollback` (target: under 50 ms)
  one-file build  `dozen build` after one file changed
  disk            the store after 10 builds, each with one file changed, against one build
                  (target: under 1.1x); hard links are counted once
Medians of 10 runs. Needs nothing but Python 3 and a Rust toolchain.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")


def make_app(directory):
    block = os.urandom(20_000)
    for i in range(10_000):
        sub = os.path.join(directory, "src", f"d{i // 100:03d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:05d}.dat"), "wb") as f:
            f.write(i.to_bytes(4, "little") + block[4:])
    with open(os.path.join(directory, "Procfile"), "w") as f:
        f.write("web: sleep 60\n")
    with open(os.path.join(directory, ".env"), "w") as f:
        f.write("GREETING=hello\n")


def dozen(directory, *args):
    result = subprocess.run([DOZEN, "-q", *args], cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dozen {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def timed(directory, *args, runs=10, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        dozen(directory, *args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def disk_usage(path):
    seen, total = set(), 0
    for base, _, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(base, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    directory = tempfile.mkdtemp(prefix="dozen-store-bench-")
    try:
        make_app(directory)
        start = time.perf_counter()
        build = dozen(directory, "build")
        cold = time.perf_counter() - start
        one_build = disk_usage(os.path.join(directory, ".dozen"))
        time.sleep(1.1)  # past the index's racy window, as a real second build would be
        no_op = timed(directory, "build")
        dozen(directory, "release", "--build", build)
        release = timed(directory, "release", "--build", build)
        rollback = timed(directory, "rollback")
        counter = [0]

        def touch_one():
            counter[0] += 1
            with open(os.path.join(directory, "src", "d000", "f00000.dat"), "wb") as f:
                f.write(counter[0].to_bytes(8, "little") * 10)

        one_file = timed(directory, "build", runs=10, before=touch_one)
        ten_builds = disk_usage(os.path.join(directory, ".dozen"))
        ratio = ten_builds / one_build
        print(f"{'app':<34} 10,000 files, {disk_usage(os.path.join(directory, 'src')) / 1e6:.0f} MB")
        print(f"{'first build':<34} {cold * 1000:8.0f} ms")
        print(f"{'no-op build (median of 10)':<34} {no_op * 1000:8.1f} ms   target < 150 ms")
        print(f"{'release reusing a build':<34} {release * 1000:8.1f} ms   target < 50 ms")
        print(f"{'rollback':<34} {rollback * 1000:8.1f} ms   target < 50 ms")
        print(f"{'build after one file changed':<34} {one_file * 1000:8.0f} ms")
        print(f"{'store after 11 builds / 1 build':<34} {ratio:8.3f} x   target < 1.1 x ({ten_builds / 1e6:.1f} MB / {one_build / 1e6:.1f} MB)")
    finally:
        for base, dirs, _ in os.walk(directory):
            for d in dirs:
                os.chmod(os.path.join(base, d), 0o700)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
