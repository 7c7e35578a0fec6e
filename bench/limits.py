#!/usr/bin/env python3
"""Resource limits (issue 33): what sampling `/proc` costs a run, and how fast R15 restarts.

    python3 bench/limits.py [--dozen target/release/dozen] [--baseline OTHER_DOZEN]
                            [--seconds 30] [--rounds 5]

Cost: `dozen run` of 20 idle instances (`exec sleep`), each with `memory = "512M"`; the CPU
time (utime + stime from /proc/PID/stat) of the run's own process, the supervisor, over
`--seconds` after a settling pause. With `--baseline` (a dozen built without sampling, e.g.
the commit before it), the same run of that binary, for the difference.

R15: a type with `memory = "40M"` that allocates 100 MiB at once and prints the wall clock
right after (`crossed T`); the time from then to the `hog.1 started` line of the restarted
instance (`--log-format json`, whose `ts` has milliseconds), over `--rounds` restarts.
"""

import argparse, datetime, json, os, select, socket, statistics, subprocess, sys, tempfile, time

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_cost(dozen, seconds, limits):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "Procfile"), "w").write("idle: exec sleep 600\n")
        if limits:
            open(os.path.join(d, "dozen.toml"), "w").write('[processes.idle]\nmemory = "512M"\n')
        # 20 ports in a row from 20000 (below the ephemeral range, where a free port's
        # neighbours may be taken by outgoing connections).
        args = [dozen, "run", "--dev", "--no-timestamps", "-p", "20000", "-m", "idle=20"]
        proc = subprocess.Popen(args, cwd=d, stdout=subprocess.PIPE)
        for line in proc.stdout:
            if b"idle.20 started" in line:
                break
        else:
            sys.exit(f"{dozen} did not start 20 instances")
        time.sleep(3)
        before = cpu_seconds(proc.pid)
        time.sleep(seconds)
        used = cpu_seconds(proc.pid) - before
        proc.terminate()
        proc.wait(10)
        return used


HOG = (
    "hog: python3 -c \"import time; print('up', flush=True); time.sleep(1.5); "
    "a = b'x' * (100 << 20); print('crossed', time.time(), flush=True); time.sleep(60)\"\n"
)


def r15(dozen, rounds):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "Procfile"), "w").write(HOG)
        open(os.path.join(d, "dozen.toml"), "w").write(
            '[processes.hog]\nmemory = "40M"\n'
        )
        args = [dozen, "run", "--dev", "--log-format", "json", "-p", str(free_port())]
        proc = subprocess.Popen(args, cwd=d, stdout=subprocess.PIPE)
        delays, crossed, deadline = [], None, time.monotonic() + 30 * rounds
        while len(delays) < rounds and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                continue
            event = json.loads(proc.stdout.readline())
            line = event["line"]
            if event.get("process") == "hog.1" and line.startswith("crossed "):
                crossed = float(line.split()[1])
            elif crossed and line.startswith("hog.1 started"):
                ts = datetime.datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
                delays.append(ts.timestamp() - crossed)
                crossed = None
        proc.terminate()
        proc.wait(10)
        return delays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dozen", default="target/release/dozen")
    parser.add_argument("--baseline")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    a = parser.parse_args()
    a.dozen = os.path.abspath(a.dozen)
    a.baseline = a.baseline and os.path.abspath(a.baseline)
    runs = [("this dozen, no limits", a.dozen, False), ("this dozen, memory limits", a.dozen, True)]
    if a.baseline:
        runs.insert(0, ("baseline (no sampling)", a.baseline, False))
    for name, binary, limits in runs:
        used = idle_cost(binary, a.seconds, limits)
        print(f"{name}: {used:.2f} s CPU in {a.seconds} s ({100 * used / a.seconds:.2f}% of a core), 20 idle instances")
    delays = r15(a.dozen, a.rounds)
    if not delays:
        sys.exit("no R15 restart seen")
    print(
        f"R15: crossing twice the quota -> restarted instance started: median {statistics.median(delays):.2f} s, "
        f"max {max(delays):.2f} s over {len(delays)} restarts"
    )


if __name__ == "__main__":
    main()
