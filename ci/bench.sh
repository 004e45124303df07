#!/usr/bin/env bash
# `make bench`: runs ci/bench.conf five times over (in the emulated KVM host
# when /dev/kvm is absent), then judges the targets in bench.md beside
# results.json. Targets hold for real KVM; elsewhere the verdict is informative.
# Then times `kvmqual compare` on two generated 100,000-test runs
# (ci/bench-compare.sh: time and peak memory into bench.md and compare-bench.json).
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

# Memory: CV of native chase medians, 2M/2M ratio, the quick memory group's time.
mem="$out/memory"
ci/run-suite.sh --conf ci/bench-memory.conf --repeat "$REPEAT" --out "$mem" >/dev/null || rc=$?
t0=$(date +%s%N)
ci/run-suite.sh --quick --group memory --out "$out/memory-quick" >/dev/null || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
quick_s=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
if [ -f "$mem/results.json" ]; then
	jq -r --arg quick_s "$quick_s" -f ci/bench-memory.jq "$mem/results.json" >>"$out/bench.md"
else
	printf '\n## Memory\n\nnot measured: no results in %s\n' "$mem" >>"$out/bench.md"
fi
ci/bench-compare.sh "$out" >>"$out/bench.md" || rc=$?

ci/bench-migration.sh "$out/migration" >>"$out/bench.md" || rc=$?
cat "$out/bench.md"
echo "bench: results in $out" >&2
exit $rc
