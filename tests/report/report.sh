#!/usr/bin/env bash
# kvmqual report from the command line: what it writes and where, the
# Markdown summary, formats, a missing gnuplot, bad input. (report-html.sh
# checks the page in a browser.)
. "$(dirname "$0")/tap.bash"
need_kvmqual

cp -r tests/fixtures/results/emulated-quick "$TMP/run"
expect_rc 0 "report into the results folder by default" "$KVMQUAL" report "$TMP/run"
for f in report.html summary.md; do
	[ -s "$TMP/run/$f" ]
	ok $? "writes $f next to results.json"
done
has "$TMP/out" "$TMP/run/report.html" "prints the paths it wrote"
if command -v gnuplot >/dev/null; then
	for c in exit-latency-ns latency-cdf-1 scaling-ns reference-ratio; do
		[ -s "$TMP/run/charts/$c.png" ] && head -c 8 "$TMP/run/charts/$c.png" | grep -q PNG
		ok $? "PNG chart $c for the Markdown"
	done
	has "$TMP/run/summary.md" "](charts/exit-latency-ns.png)" "summary.md links its charts"
	[ "$(grep -c '<svg class="chart"' "$TMP/run/report.html")" -eq 6 ]
	ok $? "report.html holds the six charts inline"
	ls "$TMP/run/charts" | grep -v '\.png$' >"$TMP/stray"
	[ ! -s "$TMP/stray" ]
	ok $? "only PNG files in charts/ (no SVG or data left behind)"
fi
has "$TMP/run/summary.md" "## kvmqual: kq-sandbox (emulated): 7 passed, 1 failed, 1 skipped" "Markdown headline"
has "$TMP/run/summary.md" "| memory.hugetlb-1g | no 1G hugepages reserved" "Markdown lists skips with reasons"
cp "$TMP/run/summary.md" "$ART/summary-emulated.md"

expect_rc 0 "--format html --out elsewhere" "$KVMQUAL" report tests/fixtures/results/emulated-quick --out "$TMP/html" --format html
[ -f "$TMP/html/report.html" ] && [ ! -e "$TMP/html/summary.md" ] && [ ! -e "$TMP/html/charts" ]
ok $? "--format html: the page alone, no PNGs"
expect_rc 0 "--format md" "$KVMQUAL" report tests/fixtures/results/emulated-quick --out "$TMP/md" --format md
[ -f "$TMP/md/summary.md" ] && [ ! -e "$TMP/md/report.html" ]
ok $? "--format md: the summary alone"

KQ_GNUPLOT=/nonexistent/gnuplot "$KVMQUAL" report tests/fixtures/results/emulated-quick --out "$TMP/nogp" >"$TMP/out" 2>"$TMP/err"
ok $? "without gnuplot the report is still written"
has "$TMP/err" "charts are left out (install gnuplot" "and says why the charts are missing"
has "$TMP/nogp/report.html" "No charts: /nonexistent/gnuplot" "the page says it too"

expect_rc 0 "results from another kvmqual version with extra fields" "$KVMQUAL" report tests/fixtures/results/minimal --out "$TMP/min"
expect_rc 2 "no results folder" "$KVMQUAL" report
expect_rc 2 "two results folders" "$KVMQUAL" report tests/fixtures/results/minimal tests/fixtures/results/minimal
expect_rc 2 "an unknown format" "$KVMQUAL" report tests/fixtures/results/minimal --format pdf
has "$TMP/err" 'unknown format "pdf"' "the format is named"
expect_rc 2 "an unknown major version" "$KVMQUAL" report tests/fixtures/results/invalid/major-2.json --out "$TMP/x"
has "$TMP/err" 'schema_version "2.0" is not supported' "the version is named"
expect_rc 2 "a syntax error" "$KVMQUAL" report tests/fixtures/results/invalid/syntax.json --out "$TMP/x"
has "$TMP/err" "syntax.json:5:14:" "line and column named"
expect_rc 4 "an output folder that cannot be made" "$KVMQUAL" report tests/fixtures/results/minimal --out /proc/kq-no
expect_rc 0 "--help" "$KVMQUAL" report --help
done_testing
