#!/usr/bin/env bash
# kvmqual report and compare pages in a real browser (Debian's chromium,
# headless): each page loads with no console message, its inline charts are
# in the parsed DOM, it prints to PDF, and nothing is fetched from elsewhere.
# Screenshots are kept in $BUILD/tests/report/ as test artefacts.
. "$(dirname "$0")/tap.bash"
need_kvmqual
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
[ -n "$CHROMIUM" ] || missing "chromium is not installed (Debian: chromium)"
command -v gnuplot >/dev/null || missing "gnuplot is not installed (Debian: gnuplot-nox)"

# browser URL PAGE-ARGS...: runs headless chromium on a file; stderr in $TMP/browser.err
browser() {
	local url=$1
	shift
	local profile
	profile=$(mktemp -d "$TMP/profile.XXXXXX")
	timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" "$url" \
		>"$TMP/browser.out" 2>"$TMP/browser.err"
}

# A page that logs to the console: proves the console check below can fail.
printf '<!DOCTYPE html><html><body><p>control</p><script>console.error("kq-control");</script></body></html>\n' >"$TMP/control.html"
browser "file://$TMP/control.html" --screenshot="$TMP/control.png"
grep -q ':CONSOLE' "$TMP/browser.err"
ok $? "control: a console message is visible in chromium's log"

# page NAME HTML: every check on one page
page() {
	local name=$1 html=$2
	local abs
	abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
	hasnt "$html" "<script" "$name: no script"
	hasnt "$html" "<link" "$name: no linked stylesheet"
	hasnt "$html" " src=" "$name: no external images or frames"
	grep -o 'https\?://[^"'"'"' )<]*' "$html" | grep -v '^http://www.w3.org/' >"$TMP/urls"
	[ ! -s "$TMP/urls" ]
	ok $? "$name: no URL other than the SVG namespaces"
	local svgs
	svgs=$(grep -o '<svg class="chart"' "$html" | wc -l)
	[ "$svgs" -gt 0 ]
	ok $? "$name: $svgs inline charts"

	browser "file://$abs" --window-size=1280,2400 --screenshot="$ART/$name.png"
	ok $? "$name: chromium renders it"
	if grep ':CONSOLE' "$TMP/browser.err" >"$TMP/console"; then
		ok 1 "$name: no console messages"
		diag <"$TMP/console"
	else
		ok 0 "$name: no console messages"
	fi
	$PY - "$ART/$name.png" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(32)
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1280, 2400), (w, h)
PY
	ok $? "$name: screenshot kept as $ART/$name.png"

	browser "file://$abs" --dump-dom
	local dom_svgs
	dom_svgs=$(grep -o '<svg class="chart"' "$TMP/browser.out" | wc -l)
	[ "$dom_svgs" -eq "$svgs" ]
	ok $? "$name: the browser's DOM holds all $svgs charts (found $dom_svgs)"
	grep -q '</footer>' "$TMP/browser.out"
	ok $? "$name: the DOM reaches the footer"

	browser "file://$abs" --print-to-pdf="$ART/$name.pdf" --no-pdf-header-footer
	head -c 5 "$ART/$name.pdf" 2>/dev/null | grep -q '%PDF-'
	ok $? "$name: prints to PDF ($ART/$name.pdf)"
}

out=$ART/html
rm -rf "$out"
check "report on the emulated fixture" "$KVMQUAL" report tests/fixtures/results/emulated-quick --out "$out/emulated"
page report-emulated "$out/emulated/report.html"
has "$out/emulated/report.html" "Emulated host: KVM ran inside a software-emulated CPU" \
	"the emulated host is announced"

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
