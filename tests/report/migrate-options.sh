#!/usr/bin/env bash
# The migrate subcommands' numeric and named options: a value that is not
# whole, out of range, negative, empty or too large is a usage error (exit 2)
# naming the option and the value, before anything listens or runs. None of
# these needs KVM: each stops at its option.
. "$(dirname "$0")/tap.bash"
need_kvmqual

# refused SUB OPTION VALUE [ARGS...]: exit 2, the message names OPTION and VALUE.
refused() {
	local sub=$1 opt=$2 val=$3
	shift 3
	expect_rc 2 "migrate $sub $opt '$val': exit 2" timeout 10 "$KVMQUAL" migrate "$sub" "$@" "$opt" "$val"
	has "$TMP/err" "$opt '$val'" "  naming the option and the value"
}
for v in 12x -5 " -5" "" 99999999999999999999999 1Q; do
	refused listen --mem-limit "$v"
done
for v in abc -1 1e400 nan ""; do
	refused listen --run-after "$v"
done
refused listen --timeout 0
send=(--to 127.0.0.1:9 --workload idle)
refused send --rate 12x "${send[@]}"
refused send --rate -1 "${send[@]}"
refused send --hot 1.5 "${send[@]}"
refused send --downtime-ms "" "${send[@]}"
refused send --max-iters 0 "${send[@]}"
refused send --max-iters 100 "${send[@]}"
refused send --max-time 10x "${send[@]}"
refused send --pattern zigzag "${send[@]}"
refused send --fault melt "${send[@]}"
refused sweep --delay-ms x
refused sweep --downtime-ms -3
refused sweep --max-time ""
done_testing
