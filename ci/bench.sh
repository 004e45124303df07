#!/usr/bin/env bash
# `make bench`: runs ci/bench.conf five times over (in the emulated KVM host
# when /dev/kvm is absent), then judges the targets in bench.md beside
# results.json. Targets hold for real KVM; elsewhere the verdict is informative.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
REPEAT=${REPEAT:-5}
out="results/bench-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p results
rc=0
ci/run-suite.sh --conf ci/bench.conf --repeat "$REPEAT" --out "$out" >/dev/null || rc=$?
[ -f "$out/results.json" ] || { echo "bench: no results in $out" >&2; exit 1; }

jq -r --argjson repeat "$REPEAT" -f ci/bench.jq "$out/results.json" >"$out/bench.md"
cat "$out/bench.md"
echo "bench: results in $out" >&2
exit $rc
