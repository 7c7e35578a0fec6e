#!/usr/bin/env python3
"""Draw a first-sight round's apps at random from candidates.tsv (README.md beside this).

    python3 bench/audit-firstsight/draw.py ROUND [--count 8] [--seed N]

Picks --count ecosystems at random (at least five), then one app of each at random, with a
seed that is printed and written to rounds/ROUND/apps.tsv so that the draw can be checked.
The drawn apps leave candidates.tsv. An app that cannot be fetched is replaced by drawing
again (`--replace REPO`), and the replacement is recorded as such.
"""

import argparse
import collections
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def candidates():
    rows = []
    with open(os.path.join(HERE, "candidates.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                rows.append(tuple(line.rstrip("\n").split("\t")))
    return rows


def remove(drawn):
    path = os.path.join(HERE, "candidates.tsv")
    with open(path) as f:
        lines = f.readlines()
    with open(path, "w") as f:
        for line in lines:
            if line.startswith("#") or tuple(line.rstrip("\n").split("\t")) not in drawn:
                f.write(line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("round", type=int)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--replace", help="a drawn repository that could not be fetched")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    rng = random.Random(seed)
    by_ecosystem = collections.defaultdict(list)
    for ecosystem, repo in candidates():
        by_ecosystem[ecosystem].append(repo)
    out_dir = os.path.join(HERE, "rounds", str(args.round))
    os.makedirs(out_dir, exist_ok=True)
    apps = os.path.join(out_dir, "apps.tsv")
    if args.replace:
        with open(apps) as f:
            rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#")]
        ecosystem = next(r[0] for r in rows if r[1] == args.replace)
        pool = by_ecosystem[ecosystem]
        if not pool:
            sys.exit(f"no candidate left for {ecosystem}")
        repo = rng.choice(pool)
        with open(apps, "a") as f:
            f.write(f"{ecosystem}\t{repo}\t-\treplaces {args.replace} (seed {seed})\n")
        remove({(ecosystem, repo)})
        print(ecosystem, repo)
        return
    ecosystems = sorted(e for e, pool in by_ecosystem.items() if pool)
    if len(ecosystems) < 5:
        sys.exit("fewer than five ecosystems left: add candidates")
    picked = rng.sample(ecosystems, min(args.count, len(ecosystems)))
    drawn = [(e, rng.choice(by_ecosystem[e])) for e in picked]
    with open(apps, "w") as f:
        f.write(f"# ecosystem\trepository\tcommit\tnote (drawn with seed {seed})\n")
        for ecosystem, repo in drawn:
            f.write(f"{ecosystem}\t{repo}\t-\t\n")
    remove(set(drawn))
    print(f"seed {seed}")
    for ecosystem, repo in drawn:
        print(ecosystem, repo)


if __name__ == "__main__":
    main()
