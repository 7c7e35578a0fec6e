#!/usr/bin/env python3
"""`dozen audit` on real apps it has never seen, scored against judged findings.

    python3 bench/audit-real.py --apps DIR     # DIR/NAME is each app's checkout

Each app of bench/audit-real/apps.tsv must be checked out at its pinned commit in DIR/NAME
(`git clone https://github.com/REPO DIR/NAME && git -C DIR/NAME checkout COMMIT`); the apps'
code is not part of dozen. bench/audit-real/labels.tsv holds a verdict for every finding
dozen reported there (`true` or `false`, with the reason, judged by reading the line) and
the violations found by reading the apps that dozen must report (`miss`: a miss dozen has
since learned to find keeps its row beside its `true` one, so the misses stay measured). The
script audits each app and prints precision per rule and overall, every finding no label
covers (judge it, then add it), and the misses still missed; it exits 1 when either list is
not empty.
"""

import argparse
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")


def rows(name):
    with open(os.path.join(ROOT, "bench", "audit-real", name)) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


def head(path):
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", required=True, help="directory holding a checkout per app")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    labels = {}
    misses = []
    for app, rule, location, verdict, *reason in rows("labels.tsv"):
        if verdict == "miss":
            misses.append((app, rule, location, reason[0] if reason else ""))
        else:
            labels[(app, rule, location)] = verdict
    per_rule = collections.defaultdict(lambda: [0, 0])
    unjudged, found = [], set()
    for name, repository, commit in rows("apps.tsv"):
        path = os.path.join(args.apps, name)
        if head(path) != commit:
            sys.exit(f"{path}: check out {repository} at {commit} first")
        report = json.loads(subprocess.run([DOZEN, "audit", "--json", path], capture_output=True,
                                           text=True).stdout)
        for f in report["findings"]:
            # One finding per cause: every location of it is found; its verdict is the first
            # labelled location's (the primary's when it has one).
            places = [(name, f["rule"], f"{l['path']}:{l['line']}") for l in f.get("locations", [])]
            key = (name, f["rule"], f"{f['path']}:{f['line']}")
            found.update(places or [key])
            verdict = next((labels[k] for k in [key, *places] if k in labels), None)
            if verdict is None:
                unjudged.append(key)
            else:
                per_rule[f["rule"]][0 if verdict == "true" else 1] += 1
    tp = sum(t for t, _ in per_rule.values())
    fp = sum(f for _, f in per_rule.values())
    print(f"{'rule':<40}{'true':>6}{'false':>7}{'precision':>11}")
    for rule, (t, f) in sorted(per_rule.items()):
        print(f"{rule:<40}{t:>6}{f:>7}{t / (t + f):>11.2f}")
    total = tp + fp
    print(f"{'overall':<40}{tp:>6}{fp:>7}{(tp / total if total else 1):>11.2f}")
    if unjudged:
        print(f"\n{len(unjudged)} findings without a label (judge them and add them):")
        for app, rule, location in unjudged:
            print(f"  {app}\t{rule}\t{location}")
    missed = [m for m in misses if (m[0], m[1], m[2]) not in found]
    print(f"\nlabelled misses: {len(misses)}, still missed: {len(missed)}")
    for app, rule, location, reason in missed:
        print(f"  {app}\t{rule}\t{location}\t{reason}")
    return 1 if unjudged or missed else 0


if __name__ == "__main__":
    sys.exit(main())
