#!/usr/bin/env bash
# ci/bench.jq, the table `make bench` writes: on hand-made bench results it
# reports each target met or missed from the numbers, never from the host.
. "$(dirname "$0")/tap.bash"
command -v jq >/dev/null || missing "jq is not installed (Debian: jq)"

# results RATIO_PIO RATIO_MMIO STARTUP_US CV ENV > results.json
results() {
	jq -n --argjson rp "$1" --argjson rm "$2" --argjson st "$3" --argjson cv "$4" --arg env "$5" '
	def samples($n; $med): {name: $n, unit: "ns", stats: {median: $med}};
	def rounds($r): [0.998, 1.002, 0.999, 1.001, 1, 1, 0.9985, 1.0015] | map(. * $r);
	def ratio($k; $r): [samples("\($k).ns"; 1000 * $r), samples("reference.\($k).ns"; 1000),
	                    {name: "ratio_vs_reference", unit: "ratio", value: $r},
	                    {name: "ratio_vs_reference.rounds", unit: "ratio", samples: rounds($r)},
	                    {name: "\($k).ns.median_cv", unit: "ratio", value: $cv},
	                    {name: "startup.us", unit: "us", value: $st}];
	{environment: $env, run: {id: "r1"}, host: {cpu: {brand: "Test CPU"}, kernel: {release: "6.1.0"}},
	 tests: [{name: "bench.pio-user", metrics: ratio("pio-user"; $rp)},
	         {name: "bench.mmio-user", metrics: ratio("mmio-user"; $rm)},
	         {name: "bench.cpuid", metrics: [samples("cpuid.ns"; 2500),
	                                         {name: "startup.us", unit: "us", value: ($st + 50)}]}]}'
}

results 1.01 1.015 800 0.005 bare-metal >"$TMP/good.json"
jq -r --argjson repeat 5 -f ci/bench.jq "$TMP/good.json" >"$TMP/good.md"
has "$TMP/good.md" "| pio-user exit, micro-VMM / bare reference loop, interleaved (A B B A ...) | 1.01, 95% CI [1.009, 1.011] over 8 rounds | <= 1.02 | met |" \
	"pio-user within 2%: met, the interval over the rounds with it"
has "$TMP/good.md" "| mmio-user exit, micro-VMM / bare reference loop, interleaved (A B B A ...) | 1.015, 95% CI [1.014, 1.016] over 8 rounds | <= 1.02 | met |" \
	"mmio-user within 2%: met"
has "$TMP/good.md" "| VM creation to first guest exit (best of runs) | 800 us | < 1000 us | met |" \
	"start-up: the best of the runs, met under 1 ms"
has "$TMP/good.md" "| run-to-run CV of the pio-user.ns median | 0.5 % | < 2 % | met |" "CV under 2%: met"
has "$TMP/good.md" "environment: **bare-metal**" "the environment is named"
hasnt "$TMP/good.md" "informative here" "on bare metal the targets are not called informative"

results 1.05 1.0 1500 0.03 emulated >"$TMP/bad.json"
jq -r --argjson repeat 5 -f ci/bench.jq "$TMP/bad.json" >"$TMP/bad.md"
has "$TMP/bad.md" "| 1.05, 95% CI [1.049, 1.051] over 8 rounds | <= 1.02 | missed |" "pio-user 5% slower: missed"
has "$TMP/bad.md" "| 1500 us | < 1000 us | missed |" "start-up 1.5 ms: missed"
has "$TMP/bad.md" "| 3 % | < 2 % | missed |" "CV 3%: missed"
has "$TMP/bad.md" "(targets are for real KVM: informative here)" "an emulated run says the targets are informative"

jq 'del(.tests[].metrics[] | select(.name | endswith("median_cv")))' "$TMP/good.json" >"$TMP/once.json"
jq -r --argjson repeat 1 -f ci/bench.jq "$TMP/once.json" >"$TMP/once.md"
has "$TMP/once.md" "| n/a | < 2 % | not measured (one run) |" "without repeats the CV is not measured, not met"
jq 'del(.tests[] | select(.name == "bench.mmio-user"))' "$TMP/good.json" >"$TMP/nommio.json"
jq -r --argjson repeat 5 -f ci/bench.jq "$TMP/nommio.json" >"$TMP/nommio.md"
has "$TMP/nommio.md" "| mmio-user exit, micro-VMM / bare reference loop, interleaved (A B B A ...) | not measured | <= 1.02 | missed |" \
	"a target without its measurement is listed as missed, not dropped"
# a noisy host: rounds from 0.95 to 1.10 around 1.01 decide nothing
jq '(.tests[0].metrics[] | select(.name == "ratio_vs_reference.rounds") | .samples) = [0.95, 1.1, 0.97, 1.06, 0.99, 1.04, 0.96, 1.03]' \
	"$TMP/good.json" >"$TMP/noisy.json"
jq -r --argjson repeat 5 -f ci/bench.jq "$TMP/noisy.json" >"$TMP/noisy.md"
has "$TMP/noisy.md" "| 1.011, 95% CI [0.968, 1.057] over 8 rounds | <= 1.02 | undecided (the interval spans 1.02) |" \
	"a noisy host: the interval spans 1.02, undecided rather than met or missed"
# repeats: every metric of that name is pooled (16 rounds from two repeats)
jq '.tests[0].metrics += [.tests[0].metrics[] | select(.name == "ratio_vs_reference.rounds")]' "$TMP/good.json" >"$TMP/two.json"
jq -r --argjson repeat 2 -f ci/bench.jq "$TMP/two.json" >"$TMP/two.md"
has "$TMP/two.md" "over 16 rounds" "the rounds of every repeat are pooled"
jq '.tests = []' "$TMP/good.json" >"$TMP/none.json"
jq -r --argjson repeat 5 -f ci/bench.jq "$TMP/none.json" >"$TMP/none.md"
has "$TMP/none.md" "| VM creation to first guest exit (best of runs) | not measured | < 1000 us | missed |" \
	"with no results at all every target row is still there, missed"
has "$TMP/none.md" "| cpuid exit median | not measured | - | measurement |" "and the cpuid row says it was not measured"
done_testing
