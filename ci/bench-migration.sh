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

"$BUILD/kvmqual" migrate stream-bench --mem "$STREAM_MEM" --key "$key" --json "$out/stream.json" \
	>"$out/stream.txt"
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
printf 'Loopback TCP, %s of memory: raw TCP %.0f MB/s; the memory stream %.0f MB/s into fresh\n' \
	"$STREAM_MEM" "$raw" "$link"
printf 'destination memory (%.0f %%), %.0f MB/s into populated memory (%.0f %%), keyed %.0f MB/s (%.0f %%).\n' \
	"$(jq -r "100 * .stream_fresh_MBps / $raw" "$out/stream.json")" \
	"$(jq -r .stream_warm_MBps "$out/stream.json")" "$(jq -r "100 * .stream_warm_MBps / $raw" "$out/stream.json")" \
	"$(jq -r .keyed_MBps "$out/stream.json")" "$(jq -r "100 * .keyed_MBps / $raw" "$out/stream.json")"
printf 'Guests of %s; dirtiers write sequentially at 1/8, 1/4 and 1/2 of the stream rate (%s pages/s).\n\n' \
	"$GUEST_MEM" "${rates[*]}"
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
# netem); otherwise the reason it cannot.
sweep_rc=0
"$BUILD/kvmqual" migrate sweep --json "$out/sweep.json" >"$out/sweep.txt" 2>&1 || sweep_rc=$?
printf '\n### Shaped links (veth between two namespaces, tbf + netem 1 ms)\n\n'
if [ $sweep_rc -eq 0 ]; then
	printf '```\n'
	cat "$out/sweep.txt"
	printf '```\n'
else
	printf 'not run: %s\n' "$(tail -n1 "$out/sweep.txt")"
fi
if [ $env != bare-metal ]; then
	printf '\n%s host: timings are not those of a real KVM host.\n' "$env"
fi
