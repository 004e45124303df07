#!/usr/bin/env bash
# kvmqual report and compare pages in a real browser (Debian's chromium,
# headless): each page loads with no console message, its inline charts are
# in the parsed DOM, it prints to PDF, and nothing is fetched from elsewhere.
# Screenshots are kept in $BUILD/tests/report/ as test artefacts.
. "$(dirname "$0")/tap.bash"
need_kvmqual
. "$(dirname "$0")/browser.bash"

out=$ART/html
rm -rf "$out"
check "report on the emulated fixture" "$KVMQUAL" report tests/fixtures/results/emulated-quick --out "$out/emulated"
page report-emulated "$out/emulated/report.html"
has "$out/emulated/report.html" "Emulated host: KVM ran inside a software-emulated CPU" \
	"the emulated host is announced"

# Memory: a quick `--group memory` run in the emulated host (matrix cells on
# THP and memfd, a skipped hugetlbfs cell, first touch, dirty logging, slots,
# VM setup; the read and write kernels left out for size). One browser run:
# the page checks above hold for every report page alike.
check "report on the memory fixture" "$KVMQUAL" report tests/fixtures/results/memory-emulated --out "$out/memory"
browser "file://$(cd "$out/memory" && pwd)/report.html" --dump-dom
cp "$TMP/browser.out" "$TMP/report-memory.dom"
if grep ':CONSOLE' "$TMP/browser.err" >"$TMP/console"; then
	ok 1 "memory: no console messages"
	diag <"$TMP/console"
else
	ok 0 "memory: no console messages"
fi
for id in memory-curves-chase-thp memory-curves-randpage-memfd memory-overhead-chase-small-1 \
	memory-overhead-randpage-small-1 memory-dirty-log-bitmap memory-dirty-log-bitmap-manual \
	memory-dirty-log-ring memory-slots-memory.slots memory-vm-create-memory.vm-create; do
	$PY - "$TMP/report-memory.dom" "chart-$id" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<figure id="%s">(.*?)</figure>' % re.escape(sys.argv[2]), dom, re.S)
assert m and '<svg class="chart"' in m.group(1) and "<path" in m.group(1), sys.argv[2]
PY
	ok $? "memory: the browser's DOM holds chart $id with its drawing"
done
# The isolation section and its two charts, in one browser pass (the full
# page checks above already cover the shared page machinery).
check "report on the isolation fixture" "$KVMQUAL" report tests/fixtures/results/isolation-emulated --out "$out/isolation"
browser "file://$(cd "$out/isolation" && pwd)/report.html" --dump-dom
ok $? "isolation: chromium renders the report"
for id in isolation chart-covert-capacity chart-noisy-slowdown; do
	grep -q "id=\"$id\"" "$TMP/browser.out"
	ok $? "isolation: the browser's DOM holds #$id"
done
grep ':CONSOLE' "$TMP/browser.err" | diag
! grep -q ':CONSOLE' "$TMP/browser.err"
ok $? "isolation: no console messages"

# Migration: iterations per migration, the downtime breakdown, the sweep's
# lines (its cells in the fixture are made up for the render, and say so).
check "report on the migration fixture" "$KVMQUAL" report tests/fixtures/results/emulated-migration --out "$out/migration"
page report-migration "$out/migration/report.html"
for id in migration-iterations-0-migration.verify migration-downtime \
	migration-sweep-0-migration.sweep-downtime migration-sweep-0-migration.sweep-total; do
	has "$out/migration/report.html" "id=\"chart-$id\"" "migration report: chart $id"
done

$PY tests/report/gen-results.py --out "$TMP/a" --tests 60 --seed 1 >/dev/null
$PY tests/report/gen-results.py --out "$TMP/b" --tests 60 --seed 2 --shift '*/cpuid.*=15' >/dev/null
"$KVMQUAL" compare "$TMP/a" "$TMP/b" tests/fixtures/results/nested-xeon --out "$out/compare" >/dev/null 2>&1
[ -f "$out/compare/compare.html" ]
ok $? "compare of three runs writes its page"
page compare "$out/compare/compare.html"

if [ -f results/emulated-smoke/results.json ]; then
	check "report on the emulated host's own results" "$KVMQUAL" report results/emulated-smoke --out "$out/emulated-smoke"
	page report-emulated-smoke "$out/emulated-smoke/report.html"
fi
done_testing
