#!/usr/bin/env bash
# kvmqual compare on synthetic pairs made by gen-results.py: a planted
# regression must be flagged (exit 1) and noise alone must not (exit 0);
# the output is reproducible; --metric, --threshold and --seed behave; runs
# from different hosts list the host differences first; bad input exits 2.
. "$(dirname "$0")/tap.bash"
need_kvmqual
gen() { $PY tests/report/gen-results.py "$@" >/dev/null; }

# The same 40 tests three times: a baseline, the same machine again (noise
# alone, another seed), and that second run with cpuid exits 15% slower and
# hlt exits 8% slower: in ns and cycles, 3 exit tests and 15 per-vCPU scaling
# metrics each, 42 sampled metrics (the ratios follow, without samples).
gen --out "$TMP/base" --seed 1
gen --out "$TMP/noise" --seed 2
gen --out "$TMP/slow" --seed 2 --shift '*/cpuid.*=15' --shift '*/hlt.*=8'

expect_rc 0 "noise alone: exit 0" "$KVMQUAL" compare "$TMP/base" "$TMP/noise"
has "$TMP/out" "B vs A: 0 worse (0 gated), 0 better, 270 same" "noise alone: every metric the same"
has "$TMP/out" "verdict: no gated metric regressed" "noise alone: verdict"
cp "$TMP/out" "$TMP/noise.out"

expect_rc 1 "planted regression: exit 1" "$KVMQUAL" compare "$TMP/base" "$TMP/slow"
cp "$TMP/out" "$ART/compare-planted.txt"
has "$TMP/out" "verdict: REGRESSION: 42 gated metrics worse" \
	"planted regression: the 42 sampled cpuid and hlt metrics are gated regressions"
grep '^  worse ' "$TMP/out" | grep -v -e '/cpuid\.' -e '/hlt\.' -e '/ratio_vs_reference ' >"$TMP/other"
[ ! -s "$TMP/other" ]
ok $? "planted regression: nothing else is worse"
diag <"$TMP/other"
has "$TMP/out" "  worse   exit.cpuid.0/cpuid.ns [handled_in=kernel, kind=cpuid]: " "planted regression: cpuid.ns listed"
has "$TMP/out" "  worse   exit.hlt.5/hlt.ns [handled_in=kernel, kind=hlt]: " "planted regression: hlt.ns listed"
grep '^  worse   exit.cpuid.0/cpuid.ns' "$TMP/out" | grep -Eq '\(\+1[3-7]\.[0-9]%\), 95% CI of the median difference \[[0-9.]+, [0-9.]+\] ns, Mann-Whitney p = [0-9.]+e-[0-9]+, q = [0-9.e-]+$'
ok $? "a regression shows its change, a CI above zero, a small p and its adjusted q"
has "$TMP/out" "seeded with 1 through splitmix64" "the seed is stated"

"$KVMQUAL" compare "$TMP/base" "$TMP/slow" >"$TMP/again" 2>&1
cmp -s "$TMP/out" "$TMP/again"
ok $? "the same inputs give the same output, byte for byte"
"$KVMQUAL" compare "$TMP/base" "$TMP/slow" --seed 7 >"$TMP/seed7" 2>&1
grep -q 'seeded with 7' "$TMP/seed7" && ! cmp -s "$TMP/out" "$TMP/seed7"
ok $? "--seed changes the bootstrap"
has "$TMP/seed7" "verdict: REGRESSION: 42 gated metrics worse" "--seed leaves the verdicts alone"

expect_rc 1 "--metric 'hlt.*': still a regression" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --metric 'hlt.*'
has "$TMP/out" "REGRESSION: 21 gated metrics worse" "--metric 'hlt.*': only hlt gates"
grep -q '^  worse   exit.cpuid.0/ratio_vs_reference .*no samples: threshold alone) (not gated)$' "$TMP/out"
ok $? "a ratio without samples is judged by the threshold and not gated"
expect_rc 0 "--metric 'vmcall.*': no regression" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --metric 'vmcall.*'
expect_rc 1 "--metric 'exit.cpuid.0/*' (TEST/METRIC)" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --metric 'exit.cpuid.0/*'
has "$TMP/out" "REGRESSION: 3 gated metrics worse" "--metric TEST/*: cycles, ns and the ratio of that test"
expect_rc 0 "--threshold 20: the planted changes are tolerated" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --threshold 20
expect_rc 1 "--alpha 0.001: the planted changes are still significant" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --alpha 0.001
expect_rc 1 "--fdr 0.001 (the same option)" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --fdr 0.001
has "$TMP/out" "false discovery rate 0.001" "--fdr is stated in the method"
expect_rc 0 "--min-effect 20: the planted changes are below the floor" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --min-effect 20 --threshold 0

# gates that gate nothing: exit 2 with a message
expect_rc 2 "--metric matching no metric" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --metric 'nomatch*'
has "$TMP/err" "--metric 'nomatch*' matches no metric" "the glob is named"
expect_rc 2 "an invalid --metric pattern" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --metric '['
has "$TMP/err" 'is not a valid pattern' "the invalid pattern is named"
gen --out "$TMP/mem50" --tests 50
expect_rc 2 "--metric matching only counts (no direction)" "$KVMQUAL" compare "$TMP/mem50" "$TMP/mem50" --metric 'pages_touched'
has "$TMP/err" "none with a direction" "a glob that picks nothing gateable says so"
$PY - "$TMP/noise/results.json" "$TMP/empty/results.json" "$TMP/fewer/results.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
for path, tests in ((sys.argv[2], []), (sys.argv[3], d["tests"][:-3])):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(dict(d, tests=tests), open(path, "w"))
PY
expect_rc 2 "against a run with no tests: nothing compared" "$KVMQUAL" compare "$TMP/base" "$TMP/empty"
has "$TMP/err" "nothing to compare" "an empty comparison says so"
expect_rc 1 "A B EMPTY: the empty run fails by its missing tests" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" "$TMP/empty"
has "$TMP/out" "tests of A missing from C (40, a failure)" "the empty third run: every test missing"
expect_rc 1 "tests missing from the candidate fail the gate" "$KVMQUAL" compare "$TMP/base" "$TMP/fewer"
has "$TMP/out" "tests of A missing from B (3, a failure): exit.wrmsr-user.scaling.37 exit.vmcall.scaling.38 exit.xsetbv.scaling.39" \
	"the missing tests are named"
has "$TMP/out" "verdict: FAIL: 3 tests of A missing (--allow-missing accepts that)" "the verdict says why"
expect_rc 0 "--allow-missing accepts them" "$KVMQUAL" compare "$TMP/base" "$TMP/fewer" --allow-missing
has "$TMP/out" "(3, allowed)" "--allow-missing: still listed"

# JSON: raw and adjusted p of the metrics that changed
expect_rc 1 "--json writes the comparison" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --json "$TMP/cmp.json"
jq -e '.verdict.pass == false and .verdict.regressions == 42 and .options.fdr == 0.05 and .options.min_effect_pct == 1
	and ([.candidates[0].metrics[] | select(.verdict == "worse" and .gated)] | length) == 42
	and ([.candidates[0].metrics[] | select(.p != null) | select(.q < .p)] | length) == 0
	and (.candidates[0].metrics[0] | has("p") and has("q") and has("ci"))' "$TMP/cmp.json" >/dev/null
ok $? "--json: verdict, options, the 42 gated regressions with p, q (never below p) and CI"
expect_rc 0 "--json - prints JSON instead of the summary" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --json -
jq -e '.verdict.pass' "$TMP/out" >/dev/null
ok $? "--json -: standard output is the JSON"

# three runs: each later run against the first
expect_rc 1 "A B C: a regression in C fails" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" "$TMP/slow"
has "$TMP/out" "B vs A: 0 worse (0 gated)" "A B C: B alone is clean"
has "$TMP/out" "C vs A: 48 worse (42 gated)" "A B C: C's regressions (and 6 ratios)"

# files
rm -rf "$ART/compare-planted"
expect_rc 1 "--out writes the pages" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --out "$ART/compare-planted"
for f in compare.html compare.md charts/exit-latency-ns.png charts/latency-cdf-1.png charts/scaling-ns.png charts/reference-ratio.png; do
	[ -s "$ART/compare-planted/$f" ]
	ok $? "--out: $f"
done
has "$ART/compare-planted/compare.md" "## kvmqual compare: regression in 42 gated metrics" "Markdown headline"
has "$ART/compare-planted/compare.md" "| **worse** | exit.cpuid.0 | cpuid.ns |" "Markdown lists the regressions"
has "$ART/compare-planted/compare.md" "![Exit latency by kind (ns): median, whisker to p99](charts/exit-latency-ns.png)" \
	"Markdown links the PNG charts"
expect_rc 1 "--format md writes Markdown alone" "$KVMQUAL" compare "$TMP/base" "$TMP/slow" --out "$TMP/md" --format md
[ -f "$TMP/md/compare.md" ] && [ ! -f "$TMP/md/compare.html" ]
ok $? "--format md: no HTML"

# different hosts: the fixture from the emulated host against the nested one
expect_rc 0 "emulated against nested host" "$KVMQUAL" compare tests/fixtures/results/emulated-quick tests/fixtures/results/nested-xeon
awk '/^host differences/ {h = NR} /^B vs A:/ {b = NR} END {exit !(h && b && h < b)}' "$TMP/out"
ok $? "host differences come before the metrics"
sed -n '/^host differences/{n;p;n;p;n;p;n;p;n;p;}' "$TMP/out" >"$TMP/hosts"
diff -u - "$TMP/hosts" <<'TXT' >"$TMP/hosts.diff"
  environment: A "emulated" | B "nested"
  hostname: A "kq-sandbox" | B "gpu-node-17"
  cpu.vendor: A "AuthenticAMD" | B "GenuineIntel"
  cpu.brand: A "QEMU TCG CPU version 2.5+" | B "Intel(R) Xeon(R) Platinum 8480+"
  kernel.release: A "6.1.0-56-amd64" | B "5.15.0-122-generic"
TXT
ok $? "the key host differences first: environment, host, CPU, kernel"
diag <"$TMP/hosts.diff"
has "$TMP/out" "note: emulated host in the comparison: timings are not representative" "the emulated host is noted"
has "$TMP/out" "  exit.mmio: A fail B pass" "test status changes are listed"

if [ -f results/emulated-smoke/results.json ]; then
	expect_rc 0 "results from the emulated host against themselves" "$KVMQUAL" compare results/emulated-smoke results/emulated-smoke
	has "$TMP/out" "0 worse (0 gated), 0 better" "identical runs: nothing changed"
fi

# bad usage and input
expect_rc 2 "one run is not a comparison" "$KVMQUAL" compare "$TMP/base"
expect_rc 2 "--alpha out of range" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --alpha 1.5
expect_rc 2 "--fdr out of range" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --fdr 0
expect_rc 2 "--min-effect negative" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --min-effect -1
expect_rc 2 "--threshold not a number" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --threshold five
expect_rc 2 "--format without --out" "$KVMQUAL" compare "$TMP/base" "$TMP/noise" --format md
expect_rc 2 "a missing run" "$KVMQUAL" compare "$TMP/base" "$TMP/nope"
has "$TMP/err" "$TMP/nope: No such file or directory" "the missing run is named"
expect_rc 2 "an unknown major schema version" "$KVMQUAL" compare "$TMP/base" tests/fixtures/results/invalid/major-2.json
has "$TMP/err" 'major-2.json: schema_version "2.0" is not supported' "the version is named"
expect_rc 2 "a syntax error" "$KVMQUAL" compare tests/fixtures/results/invalid/syntax.json "$TMP/base"
has "$TMP/err" "invalid/syntax.json:5:14: " "the file, line and column are named"
expect_rc 2 "a field of the wrong type" "$KVMQUAL" compare "$TMP/base" tests/fixtures/results/invalid/wrong-type.json
has "$TMP/err" "tests[1].metrics[0].stats.median: expected a number, got a string" "the field path is named"
expect_rc 0 "--help" "$KVMQUAL" compare --help
has "$TMP/out" "Exit status: 0 no gated metric regressed, 1 one did or a test of A is" "--help states the exit codes"
done_testing
