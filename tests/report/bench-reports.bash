#!/usr/bin/env bash
# Rendering benchmark (not a test): a synthetic results set with thousands of
# tests rendered by report, compared against a second one, and exported.
#   tests/report/bench-reports.bash [TESTS] [SAMPLES]   (default 3000 40)
# BUILD / KVMQUAL pick the binary; prints one line per step with its time.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
KVMQUAL=${KVMQUAL:-$BUILD/kvmqual}
TESTS=${1:-3000}
SAMPLES=${2:-40}
PY=${PYTHON:-python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/kq-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

t() { # t LABEL COMMAND...: wall time of one step
	local label=$1 start end rc=0
	shift
	start=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || rc=$?
	end=$(date +%s.%N)
	printf '%-34s %7.2f s%s\n' "$label" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" \
		"$([ $rc -le 1 ] || echo " (exit $rc)")"
}

$PY tests/report/gen-results.py --out "$dir/a" --tests "$TESTS" --samples "$SAMPLES" --seed 1
$PY tests/report/gen-results.py --out "$dir/b" --tests "$TESTS" --samples "$SAMPLES" --seed 2 --shift '*/hlt.*=10'
metrics=$($PY -c 'import json,sys; print(sum(len(t.get("metrics", [])) for t in json.load(open(sys.argv[1]))["tests"]))' "$dir/a/results.json")
echo "kvmqual report benchmark: $TESTS tests, $metrics metrics, $SAMPLES samples each," \
	"$(du -h "$dir/a/results.json" | cut -f1) of results.json; $(nproc) CPUs"
t "report (HTML + Markdown + charts)" "$KVMQUAL" report "$dir/a" --out "$dir/report"
t "report --format html" "$KVMQUAL" report "$dir/a" --out "$dir/report-html" --format html
t "compare (text only)" "$KVMQUAL" compare "$dir/a" "$dir/b"
t "compare --out (HTML + Markdown)" "$KVMQUAL" compare "$dir/a" "$dir/b" --out "$dir/compare"
t "export --junit --ktap --csv" "$KVMQUAL" export "$dir/a" --junit "$dir/x.xml" --ktap "$dir/x.ktap" --csv "$dir/x.csv"
echo "report.html $(du -h "$dir/report/report.html" | cut -f1), compare.html $(du -h "$dir/compare/compare.html" | cut -f1), $(ls "$dir/report/charts" | wc -l) charts"
