#!/usr/bin/env bash
# `make run`: the default suite. On a host with /dev/kvm it runs here; without
# one it runs inside the emulated KVM host, whose timings are functional only.
# Results and the report land in results/<run id>/ (or --out DIR). Arguments
# go to `kvmqual run`. At the end: which tests failed and why, where the
# report is, and what the exit status means; the status is kvmqual's.
# KVMQUAL_NO_SANDBOX=1 runs here even without /dev/kvm (selections that need
# no KVM, such as the runner's own tests).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p results

# the run folder: the caller's --out, or a new one under results/
out=
prev=
for a in "$@"; do
	[ "$prev" = --out ] && out=$a
	case $a in --out=*) out=${a#--out=} ;; esac
	prev=$a
done
args=("$@")
if [ -z "$out" ]; then
	out=results/$(date -u +%Y%m%dT%H%M%SZ)
	n=1
	while [ -e "$out" ]; do
		out=results/$(date -u +%Y%m%dT%H%M%SZ)-$n
		n=$((n + 1))
	done
	args+=(--out "$out")
fi

stdout_tty=0
[ -t 1 ] && stdout_tty=1
if [ "${KVMQUAL_NO_SANDBOX:-0}" = 1 ] || { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	"$BUILD/kvmqual" run "${args[@]}"
	rc=$?
else
	echo "kvmqual: no /dev/kvm here: running the suite in the emulated KVM host (QEMU TCG); timings are not representative" >&2
	ci/sandbox.sh --rw "$PWD/results" -- "$BUILD/kvmqual" run "${args[@]}"
	rc=$?
fi

summary() {
	local json=$out/results.json
	case $rc in
	0) echo "make run: every test passed (exit 0)" ;;
	1)
		echo "make run: a test failed (exit 1)"
		# on a terminal kvmqual listed them already
		if [ $stdout_tty = 0 ] && [ -f "$json" ] && command -v jq >/dev/null; then
			jq -r '.tests[] | select(.status == "fail") | "  FAIL \(.name): \(.reason)"' "$json"
		fi
		;;
	2) echo "make run: bad usage or configuration (exit 2): nothing was run" ;;
	3) echo "make run: this environment cannot run the selection (exit 3); the reason is above" ;;
	4) echo "make run: an output could not be written (exit 4); the file and error are above" ;;
	*)
		if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
			echo "make run: stopped by signal $((rc - 128)) (exit $rc); the tests that finished are in $json"
		else
			echo "make run: kvmqual exited with status $rc"
		fi
		;;
	esac
	[ -f "$json" ] && echo "make run: results: $json"
	[ -f "$out/report.html" ] && echo "make run: report:  $out/report.html"
	return 0
}
summary >&2
exit "$rc"
