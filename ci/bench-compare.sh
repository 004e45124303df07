#!/usr/bin/env bash
# `make bench`, part: `kvmqual compare` on two generated runs of
# COMPARE_TESTS tests (default 100,000; 40 samples per metric; the second with
# hlt exits 10% slower), timed with getrusage through /usr/bin/time: wall and
# CPU time and the peak resident memory, against the targets (under 20 s and
# 1 GB). Writes OUT/compare-bench.json and prints a bench.md section.
# The inputs take minutes to generate; they are kept in
# results/bench-compare-inputs-N/ and reused.
#   ci/bench-compare.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${COMPARE_TESTS:-100000}
out=$1
in="results/bench-compare-inputs-$N"
PY=${PYTHON:-python3}
mkdir -p "$out"
if [ ! -f "$in/b/results.json" ]; then
	echo "bench: generating two runs of $N tests into $in (once)" >&2
	$PY tests/report/gen-results.py --out "$in/a" --tests "$N" --seed 1
	$PY tests/report/gen-results.py --out "$in/b" --tests "$N" --seed 2 --shift '*/hlt.*=10'
fi
rc=0
/usr/bin/time -f '%e %U %S %M' -o "$out/compare-time.txt" \
	"$BUILD/kvmqual" compare "$in/a" "$in/b" >"$out/compare.txt" 2>"$out/compare.err" || rc=$?
read -r wall user sys rss_kb < <(tail -n 1 "$out/compare-time.txt") || true
metrics=$(grep -o '[0-9]* worse ([0-9]* gated), [0-9]* better, [0-9]* same' "$out/compare.txt" | head -1)
jq -n --argjson tests "$N" --arg summary "$metrics" --argjson exit "$rc" \
	--argjson wall "$wall" --argjson user "$user" --argjson sys "$sys" --argjson rss_kb "$rss_kb" \
	'{tests: $tests, compare_exit: $exit, summary: $summary, wall_s: $wall, user_s: $user,
	  sys_s: $sys, max_rss_kb: $rss_kb, targets: {wall_s: 20, max_rss_kb: 1048576}}' \
	>"$out/compare-bench.json"
verdict() { if [ "$1" = 1 ]; then echo met; else echo missed; fi; }
printf '\n## compare\n\n'
printf 'Two generated runs of %s tests (%s MB of results.json each), `kvmqual compare A B` (text summary);\n' \
	"$N" "$(($(stat -c %s "$in/a/results.json") / 1048576))"
printf 'exit %s (1: the planted hlt regression), %s; %s CPUs, load %s.\n\n' "$rc" "$metrics" "$(nproc)" \
	"$(cut -d' ' -f1 /proc/loadavg)"
printf '| measure | value | target | verdict |\n|---|---|---|---|\n'
printf '| wall time | %s s (CPU %s s user + %s s system) | < 20 s | %s |\n' "$wall" "$user" "$sys" \
	"$(verdict "$(awk -v w="$wall" 'BEGIN {print (w < 20)}')")"
printf '| peak resident memory | %s MB | < 1024 MB | %s |\n' "$((rss_kb / 1024))" \
	"$(verdict "$(awk -v r="$rss_kb" 'BEGIN {print (r < 1048576)}')")"
[ "$rc" -le 1 ] || { echo "bench: compare failed (exit $rc): $(head -c 300 "$out/compare.err")" >&2; exit 1; }
