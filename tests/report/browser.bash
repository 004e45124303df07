# Sourced after tap.bash: headless Chromium (Debian's chromium) checks of one
# HTML page: no scripts or outside URLs, every inline chart in the browser's
# DOM, a screenshot and a PDF kept in $ART. `page NAME FILE` runs them all.
command -v gnuplot >/dev/null || missing "gnuplot is not installed (Debian: gnuplot-nox)"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
[ -n "$CHROMIUM" ] || missing "chromium is not installed (Debian: chromium)"

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

