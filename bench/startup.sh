#!/usr/bin/env bash
# Start-up cost of dozen against the Procfile runners it replaces, in one run, with ratios.
#
#   bench/startup.sh            # installs missing peers, then measures
#
# Peers: honcho (PyPI), foreman (Debian's ruby-foreman), node-foreman (npm `foreman`).
# Each command validates or loads the same sample app (fixtures/sample), where it can:
# `check` for dozen, honcho and foreman; node-foreman has no `check`, so its `--version`
# stands for its start cost. Results: bench/results/startup.md and .json.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$root/bench/.peers
mkdir -p "$peers" bench/results

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! need foreman; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine ruby-foreman >/dev/null
fi
need honcho || python3 -m pip install --quiet honcho==2.0.0
[ -x "$peers/node_modules/.bin/nf" ] || npm install --silent --no-audit --no-fund --prefix "$peers" foreman@3.0.1 >/dev/null

cargo build --release --quiet
dozen=$root/target/release/dozen
nf=$peers/node_modules/.bin/nf
app=$root/fixtures/sample

# The peers read .env themselves; run them all from the sample app.
cd "$app"
hyperfine --shell=none --warmup 20 --min-runs 200 -N \
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
