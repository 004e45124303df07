#!/usr/bin/env bash
# kvmqual export: the JUnit XML validates against tests/report/junit.xsd
# (xmllint), the KTAP parses with prove's TAP parser, the CSV has a row per
# metric; on the fixtures, synthetic sets and, when present, the emulated
# host's own results.
. "$(dirname "$0")/tap.bash"
need_kvmqual
command -v xmllint >/dev/null || missing "xmllint is not installed (Debian: libxml2-utils)"
XSD=tests/report/junit.xsd

# The schema bites: a suite without its counts is refused.
printf '<?xml version="1.0"?>\n<testsuites><testsuite name="x"><testcase name="t" classname="c" time="1"/></testsuite></testsuites>\n' >"$TMP/bad.xml"
! xmllint --noout --schema "$XSD" "$TMP/bad.xml" >/dev/null 2>&1
ok $? "control: the XSD rejects a testsuite without tests/failures/errors/time"

$PY tests/report/gen-results.py --out "$TMP/synthetic" --tests 200 --seed 5 >/dev/null
sets=(tests/fixtures/results/emulated-quick tests/fixtures/results/nested-xeon tests/fixtures/results/minimal "$TMP/synthetic")
[ -f results/emulated-smoke/results.json ] && sets+=(results/emulated-smoke)

out=$ART/export
rm -rf "$out"
mkdir -p "$out"
for set in "${sets[@]}"; do
	name=$(basename "$set")
	check "$name: export all three" "$KVMQUAL" export "$set" --junit "$out/$name.xml" --ktap "$out/$name.ktap" --csv "$out/$name.csv"
	check "$name: JUnit validates against $XSD" xmllint --noout --schema "$XSD" "$out/$name.xml"

	# KTAP through TAP::Parser (what prove uses): a good plan, no parse errors,
	# and as many failed suites as the results have suites with a failure.
	want_fail=$($PY - "$set" <<'PY'
import json, os, sys
p = sys.argv[1]
p = os.path.join(p, "results.json") if os.path.isdir(p) else p
d = json.load(open(p))
suites = {}
for t in d["tests"]:
    g = (t.get("groups") or ["ungrouped"])[0] or "ungrouped"
    suites[g] = suites.get(g, False) or t["status"] == "fail"
print(sum(suites.values()))
PY
)
	perl -MTAP::Parser -e '
		open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!";
		my $tap = do { local $/; <$f> };
		my $p = TAP::Parser->new({ tap => $tap });
		while (my $r = $p->next) {}
		my @e = $p->parse_errors;
		print "# $_\n" for @e;
		exit((!@e && $p->is_good_plan && scalar($p->failed) == $ARGV[1]) ? 0 : 1);
	' "$out/$name.ktap" "$want_fail"
	ok $? "$name: KTAP parses cleanly, $want_fail failed suite(s)"
	head -1 "$out/$name.ktap" | grep -qx 'KTAP version 1'
	ok $? "$name: KTAP version 1 header"

	$PY - "$set" "$out/$name.csv" <<'PY'
import csv, json, os, sys
p = sys.argv[1]
p = os.path.join(p, "results.json") if os.path.isdir(p) else p
d = json.load(open(p))
metrics = sum(len(t.get("metrics", [])) for t in d["tests"])
rows = list(csv.reader(open(sys.argv[2], newline="")))
assert rows[0][:3] == ["run_id", "environment", "hostname"], rows[0]
assert len(rows) == metrics + 1, (len(rows), metrics)
assert all(len(r) == 17 for r in rows), "ragged rows"
PY
	ok $? "$name: CSV has the header and a row per metric"
done

# prove itself on a run where everything passed
check "prove accepts the KTAP of an all-pass run" prove --exec cat "$out/nested-xeon.ktap"

# the JUnit counts of the emulated fixture
has "$out/emulated-quick.xml" '<testsuites name="kvmqual 20261126T160000Z" tests="9" failures="1" errors="0" skipped="1"' \
	"JUnit totals of the emulated fixture"
has "$out/emulated-quick.xml" '<skipped message="no 1G hugepages reserved' "JUnit skipped with its reason"

# standard output and errors
expect_rc 0 "--csv - writes to standard output" "$KVMQUAL" export tests/fixtures/results/minimal --csv -
has "$TMP/out" "exit.pio,,pass,pio.ns,ns,handled_in=userspace;kind=pio,2,4,6,5,5,5.98," "a CSV row on stdout"
expect_rc 2 "no output asked for" "$KVMQUAL" export tests/fixtures/results/minimal
expect_rc 4 "an unwritable output" "$KVMQUAL" export tests/fixtures/results/minimal --junit /nonexistent/dir/x.xml
has "$TMP/err" "/nonexistent/dir/x.xml" "the unwritable file is named"
expect_rc 2 "unreadable results" "$KVMQUAL" export tests/fixtures/results/invalid/wrong-type.json --csv -
expect_rc 0 "--help" "$KVMQUAL" export --help
done_testing
