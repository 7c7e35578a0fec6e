#!/usr/bin/env python3
"""Does what `dozen init` builds start off this machine? Real apps, end to end, as a user.

    python3 bench/portable.py --apps DIR --base oci:BASE [--user nobody] [--podman]

Each DIR/NAME is an app's checkout (bench/portable-apps.tsv names the ones measured, with
their commits). For each, as --user (an unprivileged account; DIR must be its own):

1. `dozen init` (kept files stay), `dozen release`;
2. `dozen export systemd`: the web unit's ExecStart, run as systemd would run it — its
   Environment= and EnvironmentFile=, systemd's default PATH, nothing inherited — from a
   copy of the tree at another path; then one HTTP request;
3. `dozen audit --probe --release`: no `cannot start`;
4. with --podman (as root: `podman load` of `dozen image --base BASE --archive`, then
   `podman run`, and `podman-compose up` of `dozen export compose`): one HTTP request each.

A row per app and step: `ok` with the status, or what failed. Exit 1 when any step failed.
This machine's podman needs `runtime = "runc"` and `default_ulimits` in containers.conf
(crun refuses hybrid cgroups here); BASE must hold the runtimes (python3, node).
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def as_user(user, argv, cwd, env=None, **kw):
    base = {"HOME": os.path.join(tempfile.gettempdir(), f"portable-home-{user}"),
            "PATH": f"{os.path.dirname(DOZEN)}:{SYSTEMD_PATH}", "TERM": "dumb"}
    os.makedirs(base["HOME"], exist_ok=True)
    shutil.chown(base["HOME"], user)
    base.update(env or {})
    wrap = ["setpriv", f"--reuid={user}", f"--regid={user_group(user)}", "--clear-groups",
            "env", "-i"] + [f"{k}={v}" for k, v in base.items()]
    return subprocess.run(wrap + argv, cwd=cwd, capture_output=True, text=True, **kw)


def user_group(user):
    import grp
    import pwd
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def get(port, timeout=30):
    """The status of GET / once something answers on port, or the last error."""
    deadline = time.time() + timeout
    last = "nothing answered"
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError as e:
            last = str(e)
            time.sleep(0.5)
    return last


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unit_fields(path, port):
    fields = []
    for line in open(path):
        line = line.rstrip("\n")
        if "=" in line and not line.startswith("#") and not line.startswith("["):
            key, value = line.split("=", 1)
            fields.append((key, value.replace("%i", str(port))))
    return fields


def systemd(user, app, out, work):
    """Runs the web unit's ExecStart from a copy of the tree; returns the HTTP status."""
    port = free_port()
    unit = next(f for f in os.listdir(out) if f.endswith("-web@.service"))
    fields = unit_fields(os.path.join(out, unit), port)
    tree = next(v for k, v in fields if k == "WorkingDirectory")
    copy = os.path.join(work, "elsewhere")
    shutil.copytree(tree, copy, symlinks=True)
    subprocess.run(["chown", "-R", user, copy], check=True)
    env = {"PATH": SYSTEMD_PATH}
    envfile = next(f for f in os.listdir(out) if f.endswith(".env"))
    for line in open(os.path.join(out, envfile)):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = shlex.split(value)[0] if value[:1] in "\"'" and value else value
    for key, value in fields:
        if key == "Environment":
            name, _, val = shlex.split(value)[0].partition("=")
            env[name] = val
    command = next(v for k, v in fields if k == "ExecStart")
    argv = [a.replace("$$", "$") for a in shlex.split(command)]
    wrap = ["setpriv", f"--reuid={user}", f"--regid={user_group(user)}", "--clear-groups",
            "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv
    log = open(os.path.join(work, "systemd.log"), "w")
    child = subprocess.Popen(wrap, cwd=copy, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        return get(port)
    finally:
        os.killpg(child.pid, 15)
        child.wait()


def podman(app_name, archive, compose_dir):
    """`podman run` of the image and `podman-compose up` of the export: two statuses."""
    loaded = subprocess.run(["podman", "load", "-q", "-i", archive], capture_output=True,
                            text=True)
    if loaded.returncode != 0:
        return f"load: {loaded.stderr.strip()[-200:]}", "-"
    ref = loaded.stdout.strip().rsplit(" ", 1)[-1]
    port = free_port()
    name = f"portable-{app_name}"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    run = subprocess.run(["podman", "run", "-d", "--name", name, "-p", f"{port}:5000", ref],
                         capture_output=True, text=True)
    image = get(port) if run.returncode == 0 else f"run: {run.stderr.strip()[-200:]}"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    up = subprocess.run(["podman-compose", "up", "-d"], cwd=compose_dir, capture_output=True,
                        text=True)
    compose = get(5000) if up.returncode == 0 else f"up: {up.stderr.strip()[-200:]}"
    subprocess.run(["podman-compose", "down"], cwd=compose_dir, capture_output=True)
    return image, compose


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--user", default="nobody")
    parser.add_argument("--podman", action="store_true")
    args = parser.parse_args()
    failed = False
    print(f"{'app':<24} {'release':<8} {'systemd':<8} {'probe':<6} {'image':<6} compose")
    for name in sorted(os.listdir(args.apps)):
        app = os.path.join(args.apps, name)
        if not os.path.isdir(app) or name.startswith("."):
            continue
        work = tempfile.mkdtemp(prefix=f"portable-{name}-")
        shutil.chown(work, args.user)
        row = {}
        init = as_user(args.user, ["dozen", "init"], app)
        release = as_user(args.user, ["dozen", "release", "-q"], app)
        row["release"] = "ok" if release.returncode == 0 else release.stderr.strip()[-300:]
        if release.returncode == 0:
            out = os.path.join(work, "systemd")
            as_user(args.user, ["dozen", "export", "systemd", "--out", out, "-q"], app)
            row["systemd"] = systemd(args.user, app, out, work)
            probe = as_user(args.user, ["dozen", "audit", "--probe", "--release"], app,
                            timeout=300)
            row["probe"] = "fail" if "cannot start" in probe.stdout else "ok"
            if args.podman:
                archive = os.path.join(work, "image.tar")
                image = as_user(args.user, ["dozen", "image", "--base", args.base,
                                            "--archive", archive, "-q"], app)
                compose = os.path.join(work, "compose")
                as_user(args.user, ["dozen", "export", "compose", "--out", compose, "-q"], app)
                if image.returncode == 0:
                    row["image"], row["compose"] = podman(name, archive, compose)
                else:
                    row["image"] = image.stderr.strip()[-300:]
        cells = [str(row.get(k, "-")) for k in ("release", "systemd", "probe", "image",
                                                 "compose")]
        ok = {"ok", "200", "302", "-"}
        failed |= any(c not in ok for c in cells)
        print(f"{name:<24} {cells[0]:<8} {cells[1]:<8} {cells[2]:<6} {cells[3]:<6} {cells[4]}")
        if init.returncode not in (0, 1):
            print(f"  init: {init.stderr.strip()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
