#!/usr/bin/env python3
"""The scheduler's firing accuracy: how late each scheduled run starts against its due time.

    python3 bench/schedule.py [--dozen target/release/dozen] [--seconds 120] [--jobs 4]
    python3 bench/schedule.py --minutes 5 --jobs 5      # 1-minute schedules, as the issue asks

An app with one `web` process and `--jobs` schedules firing every second (`* * * * * *`, the
issue's 1-minute schedules scaled down: the same timer path, sixty times as many fires), or
every minute with `--minutes`. Each run prints the time it started (`date +%s.%N`, so the
lateness includes forking `sh` and `date`, as a user's job would); dozen says which fire it is
for ("started … for its fire due at HH:MM:SS"). Lateness = start − due, for every fire.
"""

import argparse, datetime, json, os, select, socket, statistics, subprocess, sys, tempfile, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dozen", default="target/release/dozen")
    parser.add_argument("--seconds", type=int, default=120, help="how long to run per-second schedules")
    parser.add_argument("--minutes", type=int, default=0, help="run 1-minute schedules this long instead")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    dozen = os.path.abspath(args.dozen)
    cron = "* * * * *" if args.minutes else "* * * * * *"
    duration = args.minutes * 60 + 5 if args.minutes else args.seconds
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "Procfile"), "w").write("web: exec sleep 100000\n")
        manifest = "".join(
            f'[schedule.job{n}]\ncommand = "date +%s.%N"\ncron = "{cron}"\ntimezone = "UTC"\n\n'
            for n in range(args.jobs)
        )
        open(os.path.join(d, "dozen.toml"), "w").write(manifest)
        proc = subprocess.Popen(
            [dozen, "run", "--dev", "--log-format", "json", "-p", str(free_port())],
            cwd=d,
            stdout=subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},
        )
        end = time.monotonic() + duration
        lines = []
        while time.monotonic() < end:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                break
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(json.loads(line))
        proc.terminate()
        proc.wait(timeout=30)
    due = {}  # job -> the due time of its latest start line
    late, own = [], []
    for event in lines:
        text, process = event["line"], event["process"]
        if process == "dozen" and " for its fire due at " in text:
            job = text.split()[0]
            due[job] = text.rsplit(" ", 1)[1]
            said = datetime.datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
            hms = datetime.time.fromisoformat(due[job])
            at = datetime.datetime.combine(said.date(), hms, datetime.timezone.utc)
            own.append((said - at).total_seconds() % 86400)
        elif process.startswith("schedule.") and process in due:
            started = float(text)
            day = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).date()
            hms = datetime.time.fromisoformat(due.pop(process))
            at = datetime.datetime.combine(day, hms, datetime.timezone.utc).timestamp()
            if at > started + 43200:
                at -= 86400
            late.append(started - at)
    skipped = sum(1 for e in lines if "skipped its fire" in e["line"] or "fires passed" in e["line"])
    if not late:
        sys.exit("no fires measured")
    def summary(values):
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return (
            f"p50 {statistics.median(values) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {values[-1] * 1000:.1f} ms"
        )

    load = os.getloadavg()[0]
    print(
        f"{len(late)} fires of {args.jobs} {cron!r} schedules over {duration}s "
        f"(load average {load:.1f} on {os.cpu_count()} CPUs): job started late {summary(late)}; "
        f"dozen's start line late {summary(own)}; {skipped} skipped or missed"
    )


if __name__ == "__main__":
    main()
