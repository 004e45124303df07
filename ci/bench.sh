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

jq -r --argjson repeat "$REPEAT" '
  def metric($t; $m): (.tests[] | select(.name == $t) | .metrics[] | select(.name == $m));
  def verdict($ok): if $ok then "met" else "missed" end;
  (metric("bench.pio-user"; "ratio_vs_reference").value) as $ratio
  | ([.tests[] | .metrics[] | select(.name == "startup.us") | .value] | min) as $startup
  | (metric("bench.pio-user"; "pio-user.ns").stats.median) as $pio
  | (metric("bench.pio-user"; "reference.pio-user.ns").stats.median) as $ref
  | (metric("bench.pio-user"; "pio-user.ns.median_cv").value) as $cv
  | (metric("bench.cpuid"; "cpuid.ns").stats.median) as $cpuid
  | "# kvmqual bench\n",
    "Host: \(.host.cpu.brand // .host.cpu.value.brand // "unknown CPU"), kernel \(.host.kernel.release // .host.kernel.value.release // "?"); environment: **\(.environment)**" +
      (if .environment == "bare-metal" then "" else " (targets are for real KVM: informative here)" end),
    "Run: \(.run.id), \($repeat) repeats of each test; figures are from the first repeat.\n",
    "| measure | value | target | verdict |", "|---|---|---|---|",
    "| pio-user exit, micro-VMM / bare reference loop (medians) | \($ratio * 1000 | round / 1000) (\($pio | round) ns vs \($ref | round) ns) | <= 1.02 | \(verdict($ratio <= 1.02)) |",
    "| VM creation to first guest exit (best of runs) | \($startup | round) us | < 1000 us | \(verdict($startup < 1000)) |",
    "| run-to-run CV of the pio-user median | \(($cv // 0) * 10000 | round / 100) % | < 2 % | \(verdict(($cv // 1) < 0.02)) |",
    "| cpuid exit median | \($cpuid | round) ns | - | measurement |"
' "$out/results.json" >"$out/bench.md"
cat "$out/bench.md"
echo "bench: results in $out" >&2
exit $rc
