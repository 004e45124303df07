#!/usr/bin/env bash
# The results database against SQLite and against a real PostgreSQL started
# here (a throwaway cluster, tests/db/pg-cluster.bash): the same C test cases
# (build/tests/unit/test_db) and the same command-line cases for both.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
KQ=$BUILD/kvmqual
. tests/db/pg-cluster.bash
TMP=$(mktemp -d /tmp/kq-db-test.XXXXXX)
trap 'pg_stop; rm -rf "$TMP"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

# Eight synthetic runs of one host, 25% slower from the sixth run (a new kernel) on.
python3 tests/db/make-runs.py tests/fixtures/results/nested-xeon "$TMP/runs" 8 \
	--step 5:1.25 --kernel 5:6.1.0-28-amd64 --noise 1.0 --host node-a

cases() { # $1: backend name, $2: database URL, $3: another, empty, for the C cases
	local b=$1 url=$2 out rc
	out=$(KQ_TEST_DB_URL=$3 "$BUILD/tests/unit/test_db" 2>&1)
	rc=$?
	ok $rc "$b: the C database cases (test_db)"
	[ $rc -eq 0 ] || echo "$out" | grep -v '^ok' | sed 's/^/# /'
	"$KQ" db add --db "$url" "$TMP"/runs/run-* >"$TMP/add.txt" 2>&1
	ok $? "$b: db add stores eight runs"
	out=$("$KQ" db add --db "$url" "$TMP/runs/run-00" 2>&1)
	echo "$out" | grep -q "already stored"
	ok $? "$b: adding a run again stores it once"
	mkdir -p "$TMP/partial-$b" && head -c 300 "$TMP/runs/run-01/results.json" >"$TMP/partial-$b/results.json"
	out=$("$KQ" db add --db "$url" "$TMP/partial-$b" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q "refused: .*results.json:"
	ok $? "$b: a partial run is refused with the reason (exit $rc)"
	[ "$("$KQ" db list --db "$url" host=node-a | tail -n +2 | wc -l)" -eq 8 ]
	ok $? "$b: db list selects by host"
	"$KQ" history cpuid.ns --test exit.cpuid --host node-a --db "$url" --out "$TMP/hist-$b" >"$TMP/h.txt" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "between run 5 (.*kernel 5.15.0-122-generic) and run 6 (.*kernel 6.1.0-28-amd64)" "$TMP/h.txt"
	ok $? "$b: history finds the planted step between runs 5 and 6 (exit $rc)"
	[ -s "$TMP/hist-$b/history-1.png" ] && [ -s "$TMP/hist-$b/history.txt" ]
	ok $? "$b: history writes its table and chart"
	KVMQUAL_DB=$url "$KQ" compare db:host=node-a,kernel=5.15.0-122-generic \
		db:host=node-a,kernel=6.1.0-28-amd64 >"$TMP/cmp.txt" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "worse   exit.cpuid/cpuid.ns" "$TMP/cmp.txt"
	ok $? "$b: compare of database selections finds the regression (exit $rc)"
}

cases sqlite "$TMP/kq.sqlite" "$TMP/unit.sqlite"
if pg_start; then
	if url=$(pg_new_db kqtest) && unit=$(pg_new_db kqunit); then
		cases postgresql "$url" "$unit"
	else
		ok 1 "postgresql: createdb"
	fi
else
	if [ -n "${PG_DIR:-}" ]; then ok 1 "postgresql cluster: $PG_WHY"; else skip "$PG_WHY"; fi
fi
echo "1..$n"
exit $fail
