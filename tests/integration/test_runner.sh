#!/usr/bin/env bash
# The kvmqual binary end to end: CLI, exit codes, isolation of failing tests,
# TAP that prove accepts, results.json. KVM parts SKIP where /dev/kvm is absent.
set -u
BIN=${KVMQUAL_BIN:-build/kvmqual}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
has() { grep -q -- "$2" "$1"; }
# prove's own parser must read a TAP file without parse errors or a bad plan.
prove_reads() { prove -e cat "$1" >"$tmp/prove.out" 2>&1; ! grep -Eq 'Parse errors|Bad plan|unsupported' "$tmp/prove.out"; }
kvm_usable() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

"$BIN" --help >"$tmp/h" 2>&1; ok $? "kvmqual --help exits 0"
has "$tmp/h" "compare"; ok $? "--help lists the commands"
"$BIN" frobnicate >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "an unknown command exits 2"
for c in list run probe report compare export; do
	"$BIN" $c --help >"$tmp/h" 2>&1; r=$?
	[ $r -eq 0 ] && has "$tmp/h" "usage"; ok $? "kvmqual $c --help exits 0 with a usage line"
done
"$BIN" run --bogus-option >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "an unknown option exits 2"

"$BIN" list >"$tmp/list"; ok $? "list runs"
has "$tmp/list" "^exit.cpuid .*exits"; ok $? "list shows a test with its groups"

printf '[a]\nworkload = exit.cpuid\nvcpus = many\n[a]\nworkload = nope\n' >"$tmp/bad.conf"
"$BIN" run --conf "$tmp/bad.conf" --out "$tmp/bad-out" >"$tmp/out" 2>"$tmp/err"; r=$?
[ $r -eq 2 ]; ok $? "a bad suite.conf exits 2"
has "$tmp/err" "bad.conf:3: vcpus = 'many'"; ok $? "naming file:line and the value"
has "$tmp/err" "bad.conf:4: duplicate section \[a\]"; ok $? "every error is reported, not only the first"
[ ! -s "$tmp/out" ] && [ ! -e "$tmp/bad-out" ]; ok $? "and nothing ran: no TAP, no output folder"
"$BIN" run --test no.such.test >/dev/null 2>"$tmp/err"; [ $? -eq 2 ]; ok $? "an unknown --test exits 2"
has "$tmp/err" "no test named 'no.such.test'"; ok $? "naming the test"

KVMQUAL_KVM_DEV=/nonexistent/kvm "$BIN" run --test exit.cpuid --out "$tmp/nokvm" >/dev/null 2>"$tmp/err"
[ $? -eq 3 ]; ok $? "no KVM device: exit 3 before anything runs"
has "$tmp/err" "cannot run KVM tests"; ok $? "with the reason"

if ! kvm_usable; then
	for w in "failures run" "exit benchmarks" "repeat"; do skip "$w" "no usable /dev/kvm here (run inside ci/sandbox.sh)"; done
	echo "1..$n"
	exit $((failed > 0))
fi

# handle_segv=0: under a sanitizer build the crash must still be a real SIGSEGV.
ASAN_OPTIONS=handle_segv=0 "$BIN" run --conf tests/fixtures/conf/failures.conf --out "$tmp/f" >"$tmp/f.tap" 2>"$tmp/f.err"; r=$?
[ $r -eq 1 ]; ok $? "a run with failing tests exits 1"
prove_reads "$tmp/f.tap"; ok $? "prove reads the TAP of failures without parse errors"
has "$tmp/f.tap" '^not ok 2 - self.crash'; ok $? "a crashing test fails alone"
has "$tmp/f.tap" 'killed by signal 11 (SIGSEGV)'; ok $? "saying which signal"
has "$tmp/f.tap" 'stderr:\\x20about to crash'; ok $? "with its stderr kept"
has "$tmp/f.tap" '^not ok 3 - self.host-hang'; ok $? "a hung test process is killed"
has "$tmp/f.tap" 'exceeded its time limit of 1.0 s'; ok $? "at its time limit"
has "$tmp/f.tap" 'triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x'; ok $? "a triple fault is a failure with RIP"
has "$tmp/f.tap" 'watchdog: not done within'; ok $? "a hung guest is stopped by the watchdog"
has "$tmp/f.tap" '#UD (vector 6) at RIP'; ok $? "a guest exception names its vector"
has "$tmp/f.tap" 'guest assertion failed: guest/selftest.c:[0-9]*'; ok $? "a guest assert reaches the host with file:line"
has "$tmp/f.tap" '^ok 8 - self.threshold-pass'; ok $? "a met threshold passes"
has "$tmp/f.tap" 'median 2 is above the limit 1.5 (tests/fixtures/conf/failures.conf:'; ok $? "a missed threshold fails, naming the conf line"
has "$tmp/f.tap" '^ok 10 - self.missing-cap # SKIP missing KVM capability'; ok $? "a missing capability is a SKIP with its reason"
has "$tmp/f.tap" '^ok 11 - self.last'; ok $? "the run went on to the last test"
jq -e '.schema_version == "1.0" and (.tests | length) == 11 and .summary.fail == 7 and .summary.skip == 1 and .run.exit_code == 1' "$tmp/f/results.json" >/dev/null 2>&1 ||
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["schema_version"]=="1.0" and len(d["tests"])==11 and d["summary"]["fail"]==7 and d["summary"]["skip"]==1 and d["run"]["exit_code"]==1))' "$tmp/f/results.json"
ok $? "results.json holds every test and the summary"
cmp -s "$tmp/f.tap" "$tmp/f/results.tap"; ok $? "results.tap in the output folder is the TAP printed"

"$BIN" run --quick --test exit.cpuid --test exit.pio-user --out "$tmp/e" >"$tmp/e.tap" 2>"$tmp/e.err"; r=$?
[ $r -eq 0 ]; ok $? "exit.cpuid and exit.pio-user pass (--quick)"
prove_reads "$tmp/e.tap"; ok $? "prove reads their TAP"
for m in cpuid.cycles cpuid.ns pio-user.cycles pio-user.ns reference.pio-user.ns ratio_vs_reference startup.us; do
	has "$tmp/e.tap" "^    $m: {unit"; ok $? "the YAML has metric $m"
done
has "$tmp/e.tap" 'median: [0-9]'; ok $? "with medians"
has "$tmp/e.tap" 'handled_in: "kernel"' && has "$tmp/e.tap" 'handled_in: "userspace"'; ok $? "and where each exit is handled"

"$BIN" run --quick --repeat 3 --test exit.cpuid --out "$tmp/rep" >"$tmp/rep.tap" 2>/dev/null
ok $? "--repeat 3 runs"
has "$tmp/rep.tap" "cpuid.ns.median_cv: {unit: \"ratio\", value: [0-9]"; ok $? "and reports the run-to-run CV of the median"
jq -e '[.tests[0].metrics[] | select(.name == "cpuid.ns" and .stats)] | length == 1 and
	(.[0].samples_per_repeat | length) == 3 and all(.[0].samples_per_repeat[]; . > 0) and
	(.[0].samples | length) == (.[0].samples_per_repeat | add) and .[0].stats.n == (.[0].samples | length)' \
	"$tmp/rep/results.json" >/dev/null
ok $? "--repeat 3 pools the samples of all three repeats, statistics over the pool"
echo "1..$n"
exit $((failed > 0))
