#!/usr/bin/env python3
"""The mechanics of a first-sight round (README.md beside this): audit the round's apps and
write a judge's packet per app, then record the judges' files.

    python3 bench/audit-firstsight/round.py audit N --apps DIR --work WORK
        # DIR/NAME is each app of rounds/N/apps.tsv checked out at its commit (NAME: the
        # repository's name, lower-cased); writes WORK/after/NAME.json, NAME.model.txt and
        # WORK/packets/NAME.txt (+ .index.json) for the judges (JUDGE.md).
    python3 bench/audit-firstsight/round.py record N --work WORK
        # reads WORK/judged/NAME.tsv (the judges' findings, model verdicts and violations) and
        # appends them to judged.tsv, rounds/N/violations.tsv and rounds/N/model.tsv.
"""

import argparse
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOZEN = os.path.join(ROOT, "target", "release", "dozen")


def apps(number):
    with open(os.path.join(HERE, "rounds", str(number), "apps.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            ecosystem, repository, commit, *_ = line.rstrip("\n").split("\t")
            if commit != "-":
                yield repository.split("/")[1].lower()


def audit(args):
    for sub in ("after", "packets", "judged"):
        os.makedirs(os.path.join(args.work, sub), exist_ok=True)
    for name in apps(args.round):
        path = os.path.join(args.apps, name)
        report = subprocess.run([DOZEN, "audit", "--format", "json", "--fail-on", "never", path],
                                capture_output=True, text=True).stdout
        with open(os.path.join(args.work, "after", f"{name}.json"), "w") as f:
            f.write(report)
        model = subprocess.run([DOZEN, "audit", "--model", path], capture_output=True, text=True).stdout
        with open(os.path.join(args.work, "after", f"{name}.model.txt"), "w") as f:
            f.write(model)
        findings = json.loads(report)["findings"]
        lines, index = [], []
        for i, x in enumerate(findings):
            places = x["locations"]
            also = ""
            if len(places) > 1:
                shown = ", ".join(f"{l['path']}:{l['line']}" for l in places[1:12])
                more = f" (+{len(places) - 12} more)" if len(places) > 12 else ""
                also = f" | also at: {shown}{more}"
            lines.append(f"F{i + 1}\t{x['rule']}\t{x['path']}:{x['line']}:{x['column']}\t{x['message']}\tevidence: {x['evidence']}{also}")
            index.append({"id": f"F{i + 1}", "rule": x["rule"], "path": x["path"], "line": x["line"],
                          "severity": x["severity"], "n": len(places)})
        with open(os.path.join(args.work, "packets", f"{name}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(args.work, "packets", f"{name}.index.json"), "w") as f:
            json.dump(index, f)
        print(f"{name}: {len(findings)} findings")


def record(args):
    rows, violations, models = [], [], []
    judged_dir = os.path.join(args.work, "judged")
    for file in sorted(os.listdir(judged_dir)):
        name = file[:-4]
        with open(os.path.join(args.work, "packets", f"{name}.index.json")) as f:
            index = {x["id"]: x for x in json.load(f)}
        with open(os.path.join(judged_dir, file)) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if p[0] == "finding" and len(p) >= 4:
                    x = index[p[1]]
                    more = f" (+{x['n'] - 1} more)" if x["n"] > 1 else ""
                    rows.append(f"{args.round}\t{name}\t{x['rule']}\t{x['severity']}\t{x['path']}:{x['line']}{more}\t{p[2]}\t{p[3]}")
                elif p[0] == "violation" and len(p) >= 4:
                    violations.append(f"{name}\t{p[1]}\t{p[2]}\t\t{p[3]}")
                elif p[0] == "model":
                    models.append(f"{name}\t{p[1]}\t{p[2] if len(p) > 2 else ''}")
    with open(os.path.join(HERE, "judged.tsv"), "a") as f:
        f.write("\n".join(rows) + "\n")
    out = os.path.join(HERE, "rounds", str(args.round))
    with open(os.path.join(out, "violations.tsv"), "w") as f:
        f.write("# Clear violations the judges found by reading (recall). found_by: the rule of dozen's that reports it at first sight, empty when dozen missed it.\n")
        f.write("# app\tfactor\tlocation\tfound_by\twhat\n" + "\n".join(violations) + "\n")
    with open(os.path.join(out, "model.tsv"), "w") as f:
        f.write("# The judges' verdicts on `dozen audit --model` at first sight.\n# app\tverdict\twhat\n")
        f.write("\n".join(models) + "\n")
    print(f"{len(rows)} findings, {len(violations)} violations, {len(models)} model verdicts recorded")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("audit")
    a.add_argument("round", type=int)
    a.add_argument("--apps", required=True)
    a.add_argument("--work", required=True)
    r = sub.add_parser("record")
    r.add_argument("round", type=int)
    r.add_argument("--work", required=True)
    args = parser.parse_args()
    {"audit": audit, "record": record}[args.command](args)


if __name__ == "__main__":
    main()
