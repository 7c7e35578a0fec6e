#!/usr/bin/env bash
# Start-up cost of dozen against the Procfile runners it replaces, in one run, with ratios.
#
#   bench/startup.sh    # says what to install if a peer is missing; installs nothing itself
#
# Peers: honcho (PyPI), foreman (Debian's ruby-foreman), node-foreman (npm `foreman`).
# Each command validates or loads the same sample app (fixtures/sample), where it can:
# `check` for dozen, honcho and foreman; node-foreman has no `check`, so its `--version`
# stands for its start cost. Results: bench/results/startup.md and .json.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$root/bench/.peers
mkdir -p bench/results

nf=$peers/node_modules/.bin/nf
missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine: apt-get install hyperfine")
command -v foreman >/dev/null || missing+=("foreman: apt-get install ruby-foreman")
command -v honcho >/dev/null || missing+=("honcho: python3 -m pip install honcho==2.0.0")
[ -x "$nf" ] || missing+=("node-foreman: npm install --prefix bench/.peers foreman@3.0.1")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/startup.sh needs these installed first:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 2
fi

cargo build --release --quiet
dozen=$root/target/release/dozen
app=$root/fixtures/sample

# The peers read .env themselves; run them all from the sample app.
cd "$app"
hyperfine -N --warmup 20 --min-runs 200 \
  --export-json "$root/bench/results/startup.json" \
  --export-markdown "$root/bench/results/startup.md" \
  -n "dozen --version" "$dozen --version" \
  -n "dozen check" "$dozen check" \
  -n "foreman check" "foreman check" \
  -n "honcho check" "honcho check" \
  -n "node-foreman --version" "$nf --version"

python3 - "$root/bench/results/startup.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["dozen check"]["median"]
print()
print(f"{'command':<26}{'median':>10}{'mean':>10}   vs dozen check")
for name, r in results.items():
    print(f"{name:<26}{r['median']*1000:>8.2f}ms{r['mean']*1000:>8.2f}ms   {r['median']/base:>6.1f}x")
PY
