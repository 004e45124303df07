#!/usr/bin/env bash
# `kvmqual migrate sweep` end to end: two network namespaces joined by a veth
# pair shaped with tc (tbf; no netem delay, which not every kernel has), a
# 1 x 2 grid of small migrations, the JSON the report charts, and the
# namespaces gone afterwards: after a normal run, after SIGTERM mid-sweep,
# and those a killed run left behind (removed by the next run). Needs
# /dev/kvm, root and iproute2 with veth; otherwise one SKIP with the reason.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${KVMQUAL_BIN:-${BUILD:-build}/kvmqual}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
ours() { ip netns list 2>/dev/null | grep -c '^kqmig-'; }

if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "1..0 # SKIP no usable /dev/kvm here"
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
	echo "1..0 # SKIP the sweep needs root and iproute2 (ip, tc)"
	exit 0
fi
# Can this kernel make a veth pair at all (the emulated host's cannot)?
probe=kqmig-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
	echo "1..0 # SKIP cannot create a network namespace here"
	exit 0
fi
if ! ip -n "$probe" link add kqp$$a type veth peer name kqp$$b 2>"$tmp/veth.err"; then
	ip netns del "$probe"
	echo "1..0 # SKIP no veth pairs in this kernel: $(head -c 200 "$tmp/veth.err")"
	exit 0
fi
ip netns del "$probe"

# A namespace a killed run left (its PID is gone): the next run removes it.
stale=kqmig-999999999-s
ip netns add "$stale"
# The emulated host pauses and saves a VM in about 70 ms and dirties at most
# about 1,300 pages/s: a longer downtime limit and lower rates there.
if [ "${KVMQUAL_ENV:-}" = emulated ]; then
	grid=(--bandwidths 200 --rates '100,400' --delay-ms 0 --mem 8M --downtime-ms 2000)
	rates='[100, 400]'
else
	grid=(--bandwidths 200 --rates '500,4000' --delay-ms 0 --mem 16M)
	rates='[500, 4000]'
fi
grid+=(--max-time 10)
"$BIN" migrate sweep "${grid[@]}" --json "$tmp/sweep.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
ok $rc "the sweep ran (exit $rc: $(head -c 300 "$tmp/err"))"
jq -e '.cells | length == 2' "$tmp/sweep.json" >/dev/null 2>&1
ok $? "two cells in the JSON"
jq -e 'all(.cells[]; .bandwidth_mbit == 200 and .status == "migrated" and .converged and
	.iterations >= 2 and .downtime_ms > 0 and .guest_downtime_ms > 0 and .total_s > 0)' \
	"$tmp/sweep.json" >/dev/null 2>&1
ok $? "each cell migrated at 200 Mbit/s with its downtime, guest downtime and total time"
jq -e "[.cells[].dirty_rate_pps] == $rates" "$tmp/sweep.json" >/dev/null 2>&1
ok $? "the cells carry the dirty rates asked for"
[ "$(grep -c migrated "$tmp/out")" -eq 2 ]
ok $? "the table shows both cells"
ip netns list | grep -q "^$stale"
ok $((!$?)) "the namespace a dead run left was removed"
[ "$(ours)" -eq 0 ]
ok $? "no kqmig- namespace left after the sweep"
! ip -o link show | grep -q 'kqm[0-9]'
ok $? "no veth end left in this namespace"

# SIGTERM while the sweep runs: it removes its namespaces and says so by
# its exit status (128 + 15).
"$BIN" migrate sweep --bandwidths 50,100 --rates 500,1000 --delay-ms 0 --mem 64M \
	--max-time 20 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ "$(ours)" -gt 0 ] && break
	sleep 0.1
done
[ "$(ours)" -gt 0 ]
ok $? "the sweep made its namespaces"
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ]
ok $? "SIGTERM ends the sweep with 143 (exit $rc)"
[ "$(ours)" -eq 0 ]
ok $? "no kqmig- namespace left after SIGTERM"

echo "1..$n"
exit $((failed > 0))
