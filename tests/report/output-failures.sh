#!/usr/bin/env bash
# Output that cannot be written is its own failure (exit 4), named once with
# the file and errno; no file is left half-written, nothing claims results
# that are not there. Standard output on /dev/full, files on /dev/full, and
# (as root) a full 16 KiB tmpfs in a private mount namespace.
. "$(dirname "$0")/tap.bash"
need_kvmqual
CONF=tests/fixtures/conf/runner.conf
R=tests/fixtures/results/minimal

# stdout_full DESCRIPTION COMMAND...: exit 4 with stdout on /dev/full.
stdout_full() {
	local desc=$1
	shift
	"$@" >/dev/full 2>"$TMP/err"
	local rc=$?
	[ $rc -eq 4 ]
	ok $? "$desc >/dev/full: exit 4 (got $rc)"
	[ "$(grep -c 'standard output' "$TMP/err")" -eq 1 ]
	ok $? "$desc >/dev/full: one message about standard output"
}
stdout_full "run" "$KVMQUAL" run --conf "$CONF" --test self.pass-a --no-report --out "$TMP/full-run"
jq -e '.tests | length == 1' "$TMP/full-run/results.json" >/dev/null
ok $? "run >/dev/full: the results files are still written"
stdout_full "list" "$KVMQUAL" list
stdout_full "compare" "$KVMQUAL" compare "$R" "$R"
stdout_full "export --csv -" "$KVMQUAL" export "$R" --csv -
stdout_full "probe --json" "$KVMQUAL" probe --json
stdout_full "--help" "$KVMQUAL" --help
grep -q 'No space left on device' "$TMP/err"
ok $? "the message names errno"

expect_rc 4 "export --junit /dev/full: exit 4" "$KVMQUAL" export "$R" --junit /dev/full
has "$TMP/err" "/dev/full: No space left on device" "naming the file and errno"
[ -c /dev/full ]
ok $? "/dev/full is still a device"
expect_rc 0 "export --junit /dev/null: written in place" "$KVMQUAL" export "$R" --junit /dev/null
[ -c /dev/null ]
ok $? "/dev/null is still a device"

# history, fleet and db: their --out and the database are outputs too
python3 tests/db/make-runs.py tests/fixtures/results/nested-xeon "$TMP/runs" 3 --host node-a >/dev/null
"$KVMQUAL" db add --db "$TMP/kq.sqlite" "$TMP"/runs/run-* >/dev/null 2>&1
ok $? "db add: three runs to read back"
stdout_full "history" "$KVMQUAL" history cpuid.ns --db "$TMP/kq.sqlite"
stdout_full "fleet report" "$KVMQUAL" fleet report --db "$TMP/kq.sqlite"
stdout_full "db list" "$KVMQUAL" db list --db "$TMP/kq.sqlite"
expect_rc 4 "history --out /dev/full/x: exit 4" "$KVMQUAL" history cpuid.ns --db "$TMP/kq.sqlite" --out /dev/full/x
has "$TMP/err" "/dev/full/x: Not a directory" "naming the folder and errno"
expect_rc 4 "fleet report --out /dev/full/x: exit 4" "$KVMQUAL" fleet report --db "$TMP/kq.sqlite" --out /dev/full/x
has "$TMP/err" "/dev/full/x: Not a directory" "naming the folder and errno"
expect_rc 4 "db init --db /dev/full/x/kq.sqlite: exit 4" "$KVMQUAL" db init --db /dev/full/x/kq.sqlite
has "$TMP/err" "Not a directory" "naming errno"
expect_rc 4 "migrate stream-bench --json /dev/full: exit 4" "$KVMQUAL" migrate stream-bench --mem 1M --json /dev/full
has "$TMP/err" "/dev/full: No space left on device" "naming the file and errno"

# one output that fails: none of them is written
expect_rc 4 "export with one unwritable output: exit 4" "$KVMQUAL" export "$R" --junit "$TMP/ok.xml" --ktap "$TMP/nodir/k.tap"
[ ! -e "$TMP/ok.xml" ] && [ -z "$(ls "$TMP" | grep tmp)" ]
ok $? "and the other output is not left behind, nor a temporary file"

# run --out: usage, refusal of a folder that holds files, --force
expect_rc 2 'run --out "": a usage error (exit 2)' "$KVMQUAL" run --conf "$CONF" --out ""
mkdir -p "$TMP/used"
echo keep >"$TMP/used/notes.txt"
expect_rc 2 "run --out a folder that holds files: refused (exit 2)" "$KVMQUAL" run --conf "$CONF" --test self.pass-a --out "$TMP/used"
has "$TMP/err" "--force" "saying how to replace it"
[ ! -e "$TMP/used/results.json" ]
ok $? "and nothing ran into it"
"$KVMQUAL" run --conf "$CONF" --out "$TMP/again" >/dev/null 2>&1
[ -s "$TMP/again/report.html" ] && [ -n "$(ls "$TMP/again/charts")" ]
ok $? "a first run leaves its report and charts"
echo keep >"$TMP/again/notes.txt"
expect_rc 0 "run --force into it" "$KVMQUAL" run --conf "$CONF" --test self.pass-a --no-report --force --out "$TMP/again"
[ ! -e "$TMP/again/report.html" ] && [ ! -e "$TMP/again/summary.md" ] && [ ! -e "$TMP/again/charts" ]
ok $? "--force clears what the old run wrote: no stale report.html, summary.md or charts"
[ -f "$TMP/again/notes.txt" ] && jq -e '.tests | length == 1' "$TMP/again/results.json" >/dev/null
ok $? "and keeps what it does not own; the new results are there"

# A full file system (root only: a private mount namespace with a tiny tmpfs).
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	for w in run report compare export history fleet "db init" "db add"; do
		echo "ok $((tap_n += 1)) - $w on a full file system # SKIP needs root for a private tmpfs (unshare -m)"
	done
	done_testing
	exit
fi
cat >"$TMP/tiny.sh" <<'SH'
# runs inside `unshare -m`: TINY is a full 16 KiB tmpfs
set -u
TINY=$1 KVMQUAL=$2 CONF=$3 R=$4 OUT=$5 DB=$6 RUNS=$7
mount -t tmpfs -o size=16k tmpfs "$TINY" || exit 99
dd if=/dev/zero of="$TINY/fill" bs=1k 2>/dev/null
"$KVMQUAL" run --conf "$CONF" --out "$TINY/run" >"$OUT/run.out" 2>"$OUT/run.err"
echo $? >"$OUT/run.rc"
ls -A "$TINY/run" >"$OUT/run.ls"
"$KVMQUAL" report "$R" --out "$TINY/rep" >"$OUT/report.out" 2>"$OUT/report.err"
echo $? >"$OUT/report.rc"
find "$TINY/rep" -type f -size -1c >"$OUT/report.empty"
find "$TINY/rep" -type f -printf "%P\n" >"$OUT/report.ls" 2>/dev/null
"$KVMQUAL" compare "$R" "$R" --out "$TINY/cmp" >"$OUT/compare.out" 2>"$OUT/compare.err"
echo $? >"$OUT/compare.rc"
find "$TINY/cmp" -type f -printf "%P\n" >"$OUT/compare.ls" 2>/dev/null
"$KVMQUAL" export "$R" --junit "$OUT/ok.xml" --ktap "$TINY/k.tap" >"$OUT/export.out" 2>"$OUT/export.err"
echo $? >"$OUT/export.rc"
"$KVMQUAL" history cpuid.ns --db "$DB" --out "$TINY/hist" >/dev/null 2>"$OUT/history.err"
echo $? >"$OUT/history.rc"
find "$TINY/hist" -type f -printf "%P\n" >"$OUT/history.ls" 2>/dev/null
"$KVMQUAL" fleet report --db "$DB" --out "$TINY/fleet" >/dev/null 2>"$OUT/fleet.err"
echo $? >"$OUT/fleet.rc"
find "$TINY/fleet" -type f -printf "%P\n" >"$OUT/fleet.ls" 2>/dev/null
"$KVMQUAL" db init --db "$TINY/new.sqlite" >/dev/null 2>"$OUT/dbinit.err"
echo $? >"$OUT/dbinit.rc"
"$KVMQUAL" db add --db "$TINY/add.sqlite" "$RUNS"/run-* >/dev/null 2>"$OUT/dbadd.err"
echo $? >"$OUT/dbadd.rc"
SH
mkdir -p "$TMP/tiny" "$TMP/o"
unshare -m bash "$TMP/tiny.sh" "$TMP/tiny" "$KVMQUAL" "$CONF" "$R" "$TMP/o" "$TMP/kq.sqlite" "$TMP/runs"
[ "$(cat "$TMP/o/run.rc")" = 4 ]
ok $? "run --out on a full disk: exit 4, not 'a test failed' (got $(cat "$TMP/o/run.rc"))"
[ "$(grep -c 'cannot write' "$TMP/o/run.err")" -eq 1 ] && grep -q 'results.tap: No space left on device' "$TMP/o/run.err"
ok $? "one message naming the file and errno"
! grep -q 'results:\|report:' "$TMP/o/run.err" "$TMP/o/run.out"
ok $? "and no line claiming results or a report"
! grep -q 'tmp' "$TMP/o/run.ls" && ! grep -qx 'results.tap' "$TMP/o/run.ls"
ok $? "no empty results.tap, no stray temporary file ($(tr '\n' ' ' <"$TMP/o/run.ls"))"
[ "$(cat "$TMP/o/report.rc")" = 4 ] && [ ! -s "$TMP/o/report.empty" ] && ! grep -q tmp "$TMP/o/report.ls" && ! grep -q report.html "$TMP/o/report.ls"
ok $? "report on a full disk: exit 4, no empty or partial file left"
[ "$(cat "$TMP/o/compare.rc")" = 4 ] && ! grep -q 'tmp\|compare.html' "$TMP/o/compare.ls"
ok $? "compare --out on a full disk: exit 4, nothing half-written"
[ "$(cat "$TMP/o/export.rc")" = 4 ] && [ ! -e "$TMP/o/ok.xml" ]
ok $? "export --junit ok.xml --ktap FULL/k.tap: exit 4 and ok.xml not left behind"
[ "$(cat "$TMP/o/history.rc")" = 4 ] && grep -q 'history.txt: No space left on device' "$TMP/o/history.err" && ! grep -q tmp "$TMP/o/history.ls"
ok $? "history --out on a full disk: exit 4 naming the file and errno, nothing half-written (got $(cat "$TMP/o/history.rc"))"
[ "$(cat "$TMP/o/fleet.rc")" = 4 ] && grep -q 'fleet.html: No space left on device' "$TMP/o/fleet.err" && ! grep -q 'tmp\|fleet.html' "$TMP/o/fleet.ls"
ok $? "fleet report --out on a full disk: exit 4 naming the file and errno, no fleet.html (got $(cat "$TMP/o/fleet.rc"))"
[ "$(cat "$TMP/o/dbinit.rc")" = 4 ] && grep -q 'database or disk is full' "$TMP/o/dbinit.err"
ok $? "db init on a full disk: exit 4, the database's own reason (got $(cat "$TMP/o/dbinit.rc"))"
[ "$(cat "$TMP/o/dbadd.rc")" = 4 ] && [ "$(grep -c 'not stored' "$TMP/o/dbadd.err")" -le 1 ]
ok $? "db add on a full disk: exit 4, told once, not 'refused' per run (got $(cat "$TMP/o/dbadd.rc"))"
done_testing
