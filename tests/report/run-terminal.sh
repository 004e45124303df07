#!/usr/bin/env bash
# `kvmqual run` for people: on a terminal (a pty from script(1)) one line per
# test with its headline figure, a progress line for a long test, a closing
# summary with the failures and the report's path; TAP only in results.tap.
# Not on a terminal (CI), or with --tap: TAP on stdout as before.
. "$(dirname "$0")/tap.bash"
need_kvmqual
command -v script >/dev/null || missing "script is not installed (Debian: util-linux)"
CONF=tests/fixtures/conf/runner.conf

# on_tty OUTFILE COMMAND: runs COMMAND with stdout and stderr on a pty.
on_tty() {
	local out=$1
	shift
	script -qec "$*" /dev/null >"$out" 2>&1
	local rc=$?
	# each carriage return (progress line rewritten) starts a line here
	sed -e 's/\x1b\[K//g' "$out" | tr '\r' '\n' | grep -v '^$' >"$out.txt"
	return $rc
}

on_tty "$TMP/tty" "$KVMQUAL run --conf $CONF --out $TMP/t"
rc=$?
[ $rc -eq 1 ]
ok $? "a run with a failing test exits 1 on a terminal too (got $rc)"
grep -Eq '^PASS  self\.pass-a +2 ns median$' "$TMP/tty.txt"
ok $? "a line per passing test: status, name, headline figure"
grep -Eq '^FAIL  self\.fail +demo\.ns median 2 is above the limit 1\.5' "$TMP/tty.txt"
ok $? "a failing test's line says why"
grep -q '^3 tests: 2 passed, 1 failed, 0 skipped in ' "$TMP/tty.txt"
ok $? "a closing summary"
grep -q '^failed:$' "$TMP/tty.txt" && grep -q '^  self.fail: demo.ns median 2 is above' "$TMP/tty.txt"
ok $? "listing each failed test with its reason"
grep -q "^report:  $TMP/t/report.html$" "$TMP/tty.txt" && [ -s "$TMP/t/report.html" ] && [ -s "$TMP/t/summary.md" ]
ok $? "the report is rendered into the run folder and its path printed"
! grep -q '^ok 1 - \|^not ok\|^TAP version' "$TMP/tty.txt"
ok $? "no TAP on the terminal"
grep -q '^ok 1 - self.pass-a' "$TMP/t/results.tap" && grep -q '^not ok 3 - self.fail' "$TMP/t/results.tap"
ok $? "TAP in results.tap all the same"

on_tty "$TMP/tap" "$KVMQUAL run --conf $CONF --tap --no-report --out $TMP/tap-run"
grep -q '^TAP version 13' "$TMP/tap.txt" && grep -q '^not ok 3 - self.fail' "$TMP/tap.txt"
ok $? "--tap: TAP on the terminal"
[ ! -e "$TMP/tap-run/report.html" ]
ok $? "--no-report: no report rendered"

"$KVMQUAL" run --conf "$CONF" --out "$TMP/ci" >"$TMP/ci.stdout" 2>"$TMP/ci.stderr"
cmp -s "$TMP/ci.stdout" "$TMP/ci/results.tap"
ok $? "not a terminal: stdout is exactly the TAP of results.tap (CI unchanged)"
prove -e cat "$TMP/ci.stdout" >"$TMP/prove.out" 2>&1
! grep -Eq 'Parse errors|Bad plan' "$TMP/prove.out"
ok $? "which prove reads"
grep -q "report:  $TMP/ci/report.html" "$TMP/ci.stderr" && [ -s "$TMP/ci/report.html" ]
ok $? "and the report path on stderr"

# A test that runs for several seconds (the host hang, killed at its limit
# of 1 s + 5 s grace) shows its elapsed time against its goal while it runs.
on_tty "$TMP/long" "$KVMQUAL run --conf tests/fixtures/conf/failures.conf --test self.host-hang --no-report --out $TMP/long-run"
grep -q ' \.\.\.  self.host-hang  [3-9] s; time goal .* per measurement, limit 1 s' "$TMP/long.txt"
ok $? "a progress line for a test running longer than 3 s"
grep -q '^FAIL  self.host-hang  exceeded its time limit' "$TMP/long.txt"
ok $? "replaced by the test's line when it ends"
# `make run` (ci/run-suite.sh): which tests failed and why, where the report
# is, kvmqual's exit status kept.
KVMQUAL_NO_SANDBOX=1 ci/run-suite.sh --conf "$CONF" --out "$TMP/suite" >"$TMP/suite.out" 2>"$TMP/suite.err"
rc=$?
[ $rc -eq 1 ]
ok $? "make run: a failed test keeps exit 1 (got $rc)"
grep -q '^make run: a test failed (exit 1)' "$TMP/suite.err" &&
	grep -q '^  FAIL self.fail: demo.ns median 2 is above the limit 1.5' "$TMP/suite.err"
ok $? "make run: names the failed test and why"
tail -1 "$TMP/suite.err" | grep -q "^make run: report:  $TMP/suite/report.html$" && [ -s "$TMP/suite/report.html" ]
ok $? "make run: ends on where the report is"
on_tty "$TMP/suite-tty" "KVMQUAL_NO_SANDBOX=1 ci/run-suite.sh --conf $CONF --test self.pass-a"
rc=$?
[ $rc -eq 0 ] && grep -q '^PASS  self.pass-a' "$TMP/suite-tty.txt" && grep -q '^make run: every test passed (exit 0)' "$TMP/suite-tty.txt"
ok $? "make run on a terminal: the per-test lines and the verdict"
dir=$(sed -n 's|^make run: report:  \(.*\)/report.html$|\1|p' "$TMP/suite-tty.txt")
[ -n "$dir" ] && [ -s "$dir/report.html" ] && case $dir in results/*) rm -rf "$dir" ;; esac
ok $? "in a new folder under results/ ($dir)"
done_testing
