#!/usr/bin/env python3
"""Each first-sight round's figures, from the judged files (README.md beside this).

    python3 bench/audit-firstsight/score.py
"""

import collections
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def rows(path):
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


def ratio(a, b):
    return f"{a}/{b} = {a / b:.2f}" if b else "n/a (none)"


def main():
    by_round = collections.defaultdict(list)
    for row in rows(os.path.join(HERE, "judged.tsv")):
        by_round[row[0]].append(row)
    rounds = sorted(os.listdir(os.path.join(HERE, "rounds")), key=int)
    for number in rounds:
        judged = by_round.get(number, [])
        true = sum(1 for r in judged if r[5] == "true")
        gated = [r for r in judged if r[3] in ("error", "warning")]
        gated_true = sum(1 for r in gated if r[5] == "true")
        errors = [r for r in judged if r[3] == "error"]
        errors_true = sum(1 for r in errors if r[5] == "true")
        violations = list(rows(os.path.join(HERE, "rounds", number, "violations.tsv")))
        found = sum(1 for v in violations if v[3])
        apps = sorted({r[0] for r in violations} | {r[1] for r in judged})
        print(f"round {number}: {len(apps)} apps")
        print(f"  precision, every finding (by cause): {ratio(true, len(judged))}")
        print(f"  precision, error and warning:        {ratio(gated_true, len(gated))}")
        print(f"  precision, error:                    {ratio(errors_true, len(errors))}")
        print(f"  recall of violations read:           {ratio(found, len(violations))}")
        per_rule = collections.defaultdict(lambda: [0, 0])
        for r in judged:
            per_rule[r[2]][0 if r[5] == "true" else 1] += 1
        for rule, (t, f) in sorted(per_rule.items()):
            print(f"    {rule:<44} {t} true, {f} false")


if __name__ == "__main__":
    main()
