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
