#!/usr/bin/env python3
"""dozen's store on a large app: the issue 4 targets, measured.

    python3 bench/store.py        # builds dozen (release), makes a 10,000-file / 200 MB app

  no-op build     `dozen build` with nothing changed (target: under 150 ms)
  release         `dozen release --build ID` reusing a stored build (target: under 50 ms)
  rollback        `dozen rollback` (target: under 50 ms)
  one-file build  `dozen build` after one file changed
  disk            the store after 10 builds, each with one file changed, against one build;
                  hard links are counted once
  run start       `dozen run` of the release until its web process prints (median of 30,
                  taken in turn with the same on the issue-4 store — hard-linked trees, no
                  check — built from git): what immutability costs (target: at most +20%)
  concurrent      8 `dozen release` at once after a change, 20 rounds: distinct versions and
                  errors (target: 8 distinct, 0 errors, in 20 of 20 rounds)
Medians of 10 runs. Needs nothing but Python 3, git and a Rust toolchain.
"""

import os
import signal
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


# The store before issue 12 (hard-linked trees, nothing checked before a run), for comparison.
BEFORE = "1ed0372"


def dozen(directory, *args, binary=DOZEN):
    result = subprocess.run([binary, "-q", *args], cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dozen {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def build_before():
    """The dozen of commit BEFORE, built in a temporary work tree; None if git cannot."""
    work = tempfile.mkdtemp(prefix="dozen-before-")
    try:
        subprocess.run(["git", "worktree", "add", "-q", "--detach", work, BEFORE], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=work, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": os.path.join(ROOT, "target", "bench-before")})
        return os.path.join(ROOT, "target", "bench-before", "release", "dozen")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", work], cwd=ROOT, capture_output=True)


def run_starts(runs, rounds=30):
    """Median time from starting `dozen run` to its web process's first line, for each
    (binary, directory) in `runs`, measured in turn round after round so that neither gets a
    quieter machine than the other."""
    times = [[] for _ in runs]
    for _ in range(rounds):
        for i, (binary, directory) in enumerate(runs):
            start = time.perf_counter()
            child = subprocess.Popen([binary, "run", "--no-timestamps"], cwd=directory,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            for line in child.stdout:
                if b"started" in line:
                    break
            times[i].append(time.perf_counter() - start)
            child.send_signal(signal.SIGTERM)
            child.wait()
    return [statistics.median(t) for t in times]


def concurrent_rounds(directory, rounds=20):
    """Rounds in which 8 concurrent releases after a change all succeeded with 8 versions."""
    good = 0
    for n in range(rounds):
        with open(os.path.join(directory, "round.txt"), "w") as f:
            f.write(str(n))
        children = [subprocess.Popen([DOZEN, "-q", "release"], cwd=directory,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(8)]
        results = [(c.wait(), c.stdout.read().strip()) for c in children]
        if all(code == 0 for code, _ in results) and len({v for _, v in results}) == 8:
            good += 1
    return good


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
        with open(os.path.join(directory, "Procfile"), "w") as f:
            f.write("web: echo started; exec sleep 60\n")
        dozen(directory, "release")
        old = build_before()
        start_before = None
        if old:
            before_dir = tempfile.mkdtemp(prefix="dozen-store-bench-before-")
            make_app(before_dir)
            with open(os.path.join(before_dir, "Procfile"), "w") as f:
                f.write("web: echo started; exec sleep 60\n")
            dozen(before_dir, "release", binary=old)
            start_now, start_before = run_starts([(DOZEN, directory), (old, before_dir)])
            shutil.rmtree(before_dir, ignore_errors=True)
        else:
            (start_now,) = run_starts([(DOZEN, directory)])
        rounds = concurrent_rounds(directory)
        print(f"{'app':<34} 10,000 files, {disk_usage(os.path.join(directory, 'src')) / 1e6:.0f} MB")
        print(f"{'first build':<34} {cold * 1000:8.0f} ms")
        print(f"{'no-op build (median of 10)':<34} {no_op * 1000:8.1f} ms   target < 150 ms")
        print(f"{'release reusing a build':<34} {release * 1000:8.1f} ms   target < 50 ms")
        print(f"{'rollback':<34} {rollback * 1000:8.1f} ms   target < 50 ms")
        print(f"{'build after one file changed':<34} {one_file * 1000:8.0f} ms")
        print(f"{'store after 11 builds / 1 build':<34} {ratio:8.3f} x   ({ten_builds / 1e6:.1f} MB / {one_build / 1e6:.1f} MB; a private tree per build)")
        if start_before:
            print(f"{'run start (median of 30)':<34} {start_now * 1000:8.1f} ms   before issue 12: {start_before * 1000:.1f} ms, {start_now / start_before:.2f} x   target <= 1.2 x")
        else:
            print(f"{'run start (median of 30)':<34} {start_now * 1000:8.1f} ms   (no git: nothing to compare with)")
        print(f"{'8 concurrent releases, 20 rounds':<34} {rounds:8d} of 20 rounds with 8 versions and 0 errors   target 20 of 20")
    finally:
        for base, dirs, _ in os.walk(directory):
            for d in dirs:
                os.chmod(os.path.join(base, d), 0o700)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
