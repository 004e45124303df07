#!/usr/bin/env bash
# The isolation measurements in the reports, on a recorded run of
# `kvmqual run --group isolation --quick` in the emulated host: the report's
# isolation section (every isolation test with status and evidence), the
# covert-capacity and noisy-slowdown charts, the slowdowns kept out of the
# reference-ratio chart, and `kvmqual compare` calling a larger capacity or
# slowdown worse (a regression that gates when named with --metric) and a
# smaller one better.
. "$(dirname "$0")/tap.bash"
need_kvmqual
command -v gnuplot >/dev/null || missing "gnuplot is not installed (Debian: gnuplot-nox)"
FIX=tests/fixtures/results/isolation-emulated

check "report on the isolation fixture" "$KVMQUAL" report "$FIX" --out "$TMP/rep"
html=$TMP/rep/report.html
has "$html" '<section id="isolation">' "the report has an isolation section"
has "$html" '<a href="#isolation">Isolation</a>' "and a link to it"
$PY - "$html" >"$TMP/rows" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
i = s.index('<section id="isolation">')
sec = s[i:s.index("</section>", i)]
for name, status in re.findall(r'<a href="#t\d+">([^<]+)</a></td><td><span class="badge (\w+)">', sec):
    print(name, status)
PY
[ "$(wc -l <"$TMP/rows")" -eq "$($PY -c 'import json,sys; print(sum("isolation" in t.get("groups",[]) for t in json.load(open(sys.argv[1]))["tests"]))' "$FIX/results.json")" ]
ok $? "one row per isolation test ($(wc -l <"$TMP/rows") rows)"
has "$TMP/rows" "isolation.covert-llc.different-l3 skip" "a skipped placement shows as skip"
has "$html" "victim.alone_p99_ns=" "the noisy neighbour's evidence is in the table"
has "$html" "tsc.A.guest_tsc_first=" "the time test's evidence is in the table"
has "$html" 'id="chart-covert-capacity"' "covert-channel capacity chart"
has "$html" 'id="chart-noisy-slowdown"' "noisy-neighbour slowdown chart"
hasnt "$html" 'id="chart-reference-ratio' "slowdowns are not drawn as micro-VMM/reference ratios"
[ -s "$TMP/rep/charts/noisy-slowdown.png" ] && [ -s "$TMP/rep/charts/covert-capacity.png" ]
ok $? "both charts also rendered as PNG"

# A second run where the channel is twice as wide and the stream aggressor
# hurts 50% more; a third where both shrink.
$PY - "$FIX/results.json" "$TMP" <<'PY'
import json, os, sys
src, tmp = sys.argv[1], sys.argv[2]
for name, f in (("worse", 2.0), ("better", 0.5)):
    d = json.load(open(src))
    d["run_id"] = d.get("run_id", "run") + "-" + name
    for t in d["tests"]:
        for m in t.get("metrics", []):
            if m["name"] == "capacity_bps" or (t["name"] == "isolation.noisy.stream" and m["name"].startswith("slowdown_")):
                m["value"] = m["value"] * (f if m["name"] == "capacity_bps" else (1.5 if f > 1 else 0.5))
    os.makedirs(f"{tmp}/{name}", exist_ok=True)
    json.dump(d, open(f"{tmp}/{name}/results.json", "w"))
PY
expect_rc 0 "compare with more capacity and slowdown: values without samples do not gate by default" \
	"$KVMQUAL" compare "$FIX" "$TMP/worse"
grep -E '^  worse +isolation.covert-llc.same-l3/capacity_bps ' "$TMP/out" >/dev/null
ok $? "a larger covert capacity is worse (bit/s, labelled better=lower)"
grep -E '^  worse +isolation.noisy.stream/slowdown_p50 ' "$TMP/out" >/dev/null
ok $? "a larger p50 slowdown is worse"
grep -E '^  worse +isolation.noisy.stream/slowdown_p99 ' "$TMP/out" >/dev/null
ok $? "a larger p99 slowdown is worse"
grep '^  worse ' "$TMP/out" | grep -v -e '/capacity_bps ' -e '/slowdown_p' >"$TMP/other"
[ ! -s "$TMP/other" ]
ok $? "nothing else is worse"
diag <"$TMP/other"
expect_rc 1 "named with --metric, the capacity regression gates: exit 1" \
	"$KVMQUAL" compare "$FIX" "$TMP/worse" --metric capacity_bps
expect_rc 1 "named with --metric, the slowdown regression gates: exit 1" \
	"$KVMQUAL" compare "$FIX" "$TMP/worse" --metric 'slowdown_*'
expect_rc 0 "less capacity and slowdown: no regression" \
	"$KVMQUAL" compare "$FIX" "$TMP/better" --metric capacity_bps --metric 'slowdown_*'
grep -E '^  better +isolation.covert-llc.same-l3/capacity_bps ' "$TMP/out" >/dev/null
ok $? "a smaller capacity is better"
done_testing
