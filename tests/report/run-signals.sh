#!/usr/bin/env bash
# A stopped run (CI's timeout, a person's Ctrl-C, a closed terminal): the
# running test's process group is killed, results.json and results.tap hold
# every test that finished plus the interrupted one, and the runner exits
# 128 + the signal. A test whose runner dies kills itself (PR_SET_PDEATHSIG).
# Needs no KVM: the self.* tests of tests/fixtures/conf/runner.conf.
. "$(dirname "$0")/tap.bash"
need_kvmqual
CONF=tests/fixtures/conf/runner.conf

# wait_for COND...: up to 10 s for a condition.
wait_for() {
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# the test process of runner $1 (its only child while a test runs)
test_pid() { pgrep -P "$1" | head -1; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
dead() { [ -n "$1" ] && ! alive "$1"; }
# job control: background jobs keep SIGINT (a shell without it ignores SIGINT
# in them, and an ignored signal stays ignored, as for nohup)
set -m

# interrupt SIGNAL WANT: runs pass-a then the hang, sends SIGNAL while the
# hang runs, and checks what is left.
interrupt() {
	local sig=$1 want=$2 out=$TMP/run-$1
	"$KVMQUAL" run --conf "$CONF" --test self.pass-a --test self.hang --no-report \
		--out "$out" >"$out.stdout" 2>"$out.stderr" &
	local runner=$!
	wait_for test -s "$out/results.json" && wait_for test -n "$(test_pid $runner)"
	local child
	child=$(test_pid $runner)
	sleep 0.3
	kill -s "$sig" $runner
	wait $runner
	local rc=$?
	[ "$rc" -eq "$want" ]
	ok $? "SIG$sig stops the run with exit $want (got $rc)"
	wait_for dead "$child"
	ok $? "SIG$sig: the running test process ($child) is killed, not left behind"
	jq -e --arg s "SIG$sig" --argjson rc "$want" '
		.run.interrupted.signal == $s and .run.exit_code == $rc and
		(.tests | length) == 2 and .tests[0].name == "self.pass-a" and
		.tests[0].status == "pass" and .tests[1].name == "self.hang" and
		.tests[1].status == "fail" and .tests[1].interrupted == true and
		(.tests[1].reason | test("interrupted by " + $s)) and .summary.total == 2' \
		"$out/results.json" >/dev/null
	ok $? "SIG$sig: results.json holds the finished test and the interrupted one, the run marked interrupted"
	$PY -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open("reports/results.schema.json")))' "$out/results.json"
	ok $? "SIG$sig: the interrupted run validates against reports/results.schema.json"
	"$KVMQUAL" report "$out" --out "$out/report" >/dev/null 2>&1
	ok $? "SIG$sig: and kvmqual report reads it"
	grep -q "^ok 1 - self.pass-a" "$out/results.tap" && grep -q "^not ok 2 - self.hang" "$out/results.tap" &&
		grep -q "^Bail out! interrupted by SIG$sig" "$out/results.tap"
	ok $? "SIG$sig: results.tap has both results and a Bail out! line"
	cmp -s "$out.stdout" "$out/results.tap"
	ok $? "SIG$sig: the TAP on stdout is results.tap"
	! ls "$out" | grep -q tmp
	ok $? "SIG$sig: no temporary file left in the run folder"
}
interrupt TERM 143
interrupt INT 130
interrupt HUP 129

# The runner killed outright (no handler can run): the test kills itself.
out=$TMP/run-kill
"$KVMQUAL" run --conf "$CONF" --test self.hang --no-report --out "$out" >/dev/null 2>&1 &
runner=$!
wait_for test -n "$(test_pid $runner)"
child=$(test_pid $runner)
kill -KILL $runner
wait $runner 2>/dev/null
wait_for dead "$child"
ok $? "SIGKILL of the runner: its test process dies with it (PR_SET_PDEATHSIG)"

# Killed outright after one test finished: the results.json written after
# that test is whole and valid (its summary counts the tests so far; no
# run.finished), and the tools read it.
out=$TMP/run-kill-after-one
"$KVMQUAL" run --conf "$CONF" --test self.pass-a --test self.hang --no-report --out "$out" \
	>/dev/null 2>&1 &
runner=$!
wait_for test -s "$out/results.json" && wait_for test -n "$(test_pid $runner)"
child=$(test_pid $runner)
kill -KILL $runner
wait $runner 2>/dev/null
wait_for dead "$child"
jq -e '(.tests | length) == 1 and .summary == {total: 1, pass: 1, fail: 0, skip: 0} and
	(.run | has("finished") | not)' "$out/results.json" >/dev/null
ok $? "SIGKILL after one test: results.json holds it, with a summary so far and no finish time"
$PY -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open("reports/results.schema.json")))' "$out/results.json"
ok $? "SIGKILL after one test: results.json validates against reports/results.schema.json"
"$KVMQUAL" export "$out" --csv - >/dev/null 2>&1
ok $? "SIGKILL after one test: kvmqual export reads it"

# A signal before any test finished: an interrupted run with the one test.
out=$TMP/run-early
"$KVMQUAL" run --conf "$CONF" --test self.hang --no-report --out "$out" >/dev/null 2>&1 &
runner=$!
wait_for test -n "$(test_pid $runner)"
kill -TERM $runner
wait $runner
rc=$?
[ $rc -eq 143 ] && jq -e '.run.interrupted.signal == "SIGTERM" and (.tests | length) == 1' "$out/results.json" >/dev/null
ok $? "the first test interrupted: exit 143, results.json written with it"

# The reproducer of the report: the hang of failures.conf, stopped after 2 s.
out=$TMP/repro
"$KVMQUAL" run --conf tests/fixtures/conf/failures.conf --test self.host-hang --out "$out" >/dev/null 2>&1 &
runner=$!
sleep 2
child=$(test_pid $runner)
kill -TERM $runner
wait $runner
rc=$?
[ $rc -eq 143 ] && [ -s "$out/results.json" ] && { [ -z "$child" ] || wait_for dead "$child"; }
ok $? "failures.conf self.host-hang stopped after 2 s: exit 143, results.json, no test left running"
done_testing
