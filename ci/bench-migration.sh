#!/usr/bin/env bash
# `make bench`, migration section (called from ci/bench.sh): raw loopback TCP
# and the migration's memory stream measured in the same run, then an idle
# guest and dirtiers at 1/8, 1/4 and 1/2 of the measured stream rate migrated
# between two kvmqual processes over loopback. Prints a Markdown section on
# stdout; JSON of every measurement lands in OUTDIR. Without /dev/kvm the
# whole section runs in the emulated host, so the link and the migrations
# are measured in one environment (labelled; its timings are functional).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ $# -eq 1 ] || { echo "usage: ci/bench-migration.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(realpath "$1")
if [ -z "${KVMQUAL_SANDBOX:-}" ] && ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	exec ci/sandbox.sh --rw "$out" --env BUILD="$BUILD" -- ci/bench-migration.sh "$out"
fi
if [ "${KVMQUAL_ENV:-}" = emulated ]; then
	env=emulated
elif grep -qw hypervisor /proc/cpuinfo; then
	env=nested
else
	env=bare-metal
fi
GUEST_MEM=${KVMQUAL_MIG_GUEST_MEM:-1G}
STREAM_MEM=${KVMQUAL_MIG_STREAM_MEM:-$([ $env = emulated ] && echo 256M || echo 1G)}
key=$(mktemp "$out/key.XXXXXX")
chmod 600 "$key"
head -c 32 /dev/urandom >"$key"
trap 'rm -f "$key"' EXIT

# Five rounds: single runs on a shared host spread by a factor of two; the
# medians, and the median of each round's share of raw TCP, are steadier.
ROUNDS=${KVMQUAL_MIG_STREAM_ROUNDS:-5}
for i in $(seq "$ROUNDS"); do
	"$BUILD/kvmqual" migrate stream-bench --mem "$STREAM_MEM" --key "$key" \
		--json "$out/stream-$i.json" >"$out/stream-$i.txt"
done
jq -s 'def med: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	{rounds: length,
	 raw_tcp_MBps: (map(.raw_tcp_MBps) | med),
	 stream_fresh_MBps: (map(.stream_fresh_MBps) | med),
	 stream_warm_MBps: (map(.stream_warm_MBps) | med),
	 keyed_MBps: (map(.keyed_MBps) | med),
	 fresh_share: (map(.stream_fresh_MBps / .raw_tcp_MBps) | med),
	 warm_share: (map(.stream_warm_MBps / .raw_tcp_MBps) | med),
	 keyed_share: (map(.keyed_MBps / .raw_tcp_MBps) | med),
	 runs: .}' "$out"/stream-[0-9]*.json >"$out/stream.json"
raw=$(jq -r .raw_tcp_MBps "$out/stream.json")
link=$(jq -r .stream_fresh_MBps "$out/stream.json")

# One migration: a destination listening on a free port, the source sending.
migrate() {
	local name=$1
	shift
	local port=$((20000 + RANDOM % 20000))
	"$BUILD/kvmqual" migrate listen --addr "127.0.0.1:$port" --timeout 120 \
		>"$out/$name.listen.txt" 2>&1 &
	local lpid=$!
	timeout 300 "$BUILD/kvmqual" migrate send --to "127.0.0.1:$port" --mem "$GUEST_MEM" \
		--max-time 60 --json "$out/$name.json" "$@" >"$out/$name.txt" 2>&1 || true
	wait "$lpid" || true
}

migrate idle --workload idle
rates=()
for div in 8 4 2; do
	rate=$(awk -v l="$link" -v d="$div" 'BEGIN { printf "%d", l * 1e6 / 4096 / d }')
	rates+=("$rate")
	migrate "dirty-1of$div" --workload dirty --rate "$rate"
done

printf '\n## Migration (%s)\n\n' "$env"
printf 'Loopback TCP, %s of memory, medians of %s rounds (each share is the median of the\n' \
	"$STREAM_MEM" "$ROUNDS"
printf "rounds' own shares): raw TCP %.0f MB/s; the memory stream %.0f MB/s into fresh\n" "$raw" "$link"
printf 'destination memory (%.0f %%), %.0f MB/s into populated memory (%.0f %%), keyed %.0f MB/s (%.0f %%).\n' \
	"$(jq -r '100 * .fresh_share' "$out/stream.json")" \
	"$(jq -r .stream_warm_MBps "$out/stream.json")" "$(jq -r '100 * .warm_share' "$out/stream.json")" \
	"$(jq -r .keyed_MBps "$out/stream.json")" "$(jq -r '100 * .keyed_share' "$out/stream.json")"
printf 'Guests of %s; dirtiers write sequentially at 1/8, 1/4 and 1/2 of the stream rate (%s pages/s;\n' \
	"$GUEST_MEM" "${rates[*]}"
printf 'the last column is the rate the guest reached). An all-zero page travels as a bit, so a\n'
printf "migration's MB/s counts the pages that hold data.\n\n"
printf '| migration | status | total s | downtime ms (host) | downtime ms (guest) | iterations | MB/s | %% of raw TCP | last dirty rate pages/s |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for name in idle dirty-1of8 dirty-1of4 dirty-1of2; do
	f="$out/$name.json"
	if [ ! -s "$f" ]; then
		printf '| %s | no result (%s) | | | | | | | |\n' "$name" "$(tail -n1 "$out/$name.txt" 2>/dev/null)"
		continue
	fi
	jq -r --arg n "$name" --argjson raw "$raw" '
		def r(d): (. * pow(10; d) | round) / pow(10; d);
		(.status == "migrated") as $ok
		| [$n, .status, (.total_s | r(3)), (if $ok then .downtime_ms | r(2) else "-" end),
		 (if $ok then .guest_downtime_ms | r(2) else "-" end),
		 .iterations, (.throughput_MBps | r(1)), (100 * .throughput_MBps / $raw | r(1)),
		 ((.iteration | map(select(.dirty_rate_pps > 0)) | last | .dirty_rate_pps // 0) | round)]
		| "| " + (map(tostring) | join(" | ")) + " |"' "$f"
done
# The shaped-link sweep where this host allows it (root, iproute2, veth, tbf,
# netem); without netem, the rate alone; otherwise the reason it cannot.
sweep_rc=0
delay=1
"$BUILD/kvmqual" migrate sweep --json "$out/sweep.json" >"$out/sweep.txt" 2>"$out/sweep.err" ||
	sweep_rc=$?
if [ $sweep_rc -ne 0 ] && grep -q 'no sch_netem' "$out/sweep.err"; then
	delay=0
	sweep_rc=0
	"$BUILD/kvmqual" migrate sweep --delay-ms 0 --json "$out/sweep.json" >"$out/sweep.txt" \
		2>"$out/sweep.err" || sweep_rc=$?
fi
if [ $delay = 1 ]; then
	printf '\n### Shaped links (veth between two namespaces, tbf + netem 1 ms)\n\n'
else
	printf '\n### Shaped links (veth between two namespaces, tbf; no delay: this kernel has no sch_netem)\n\n'
fi
if [ $sweep_rc -eq 0 ]; then
	printf '```\n'
	cat "$out/sweep.txt"
	printf '```\n'
else
	printf 'not run: %s\n' "$(tail -n1 "$out/sweep.err")"
fi
if [ $env != bare-metal ]; then
	printf '\n%s host: timings are not those of a real KVM host.\n' "$env"
fi
