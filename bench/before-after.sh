#!/usr/bin/env bash
# dozen against an earlier build of itself, on the same machine in one run: each benchmark
# runs with the earlier build, then this one, then this one, then the earlier (ABBA, so a
# machine's drift over the run falls on both alike); the dozen lines of each are printed.
#
#   bench/before-after.sh REV           # e.g. a commit before a refactor
#   bench/before-after.sh path/to/dozen # an earlier build already made
#
# Needs what bench/router.py needs (nginx-light, wrk) and rsyslog for bench/logs.py.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: bench/before-after.sh REV|BINARY}"
before="$(mktemp -d)"
if [ -x "$rev" ] && [ -f "$rev" ]; then
  a="$rev"
  trap 'rm -rf "$before"' EXIT
else
  git worktree add -q --detach "$before/src" "$rev"
  trap 'git worktree remove --force "$before/src"; rm -rf "$before"' EXIT
  (cd "$before/src" && cargo build --release --quiet)
  a="$before/src/target/release/dozen"
fi
cargo build --release --quiet
b="$PWD/target/release/dozen"
out="$before/out"
mkdir -p "$out"
for round in 1 2; do
  if [ "$round" = 1 ]; then order="$a $b"; else order="$b $a"; fi
  for bin in $order; do
    label=after; [ "$bin" = "$a" ] && label=before
    echo "--- round $round: $label" >&2
    for bench in run router logs; do
      case "$bench" in
        run) args=(--dozen-only) ;;
        router) args=(--duration 5 --rounds 1) ;;
        logs) args=(--lines 1000000 --rounds 1) ;;
      esac
      file="$out/$bench.$label.$round"
      DOZEN_BIN="$bin" python3 "bench/$bench.py" "${args[@]}" > "$file" 2> "$file.err" \
        || echo "(bench/$bench.py failed, exit $?: $(tail -n 3 "$file.err"))" >> "$file"
    done
  done
done
for bench in run router logs; do
  echo "=== bench/$bench.py"
  for label in before after; do
    for round in 1 2; do
      echo "--- $label, round $round"
      grep -v '^$' "$out/$bench.$label.$round" | grep -iv 'ratio\|peer\|nginx\|haproxy\|caddy' || true
    done
  done
done
