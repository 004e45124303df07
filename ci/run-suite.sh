#!/usr/bin/env bash
# `make run`: the default suite. On a host with /dev/kvm it runs here; without
# one it runs inside the emulated KVM host, whose timings are functional only.
# Results land in results/ either way. Arguments go to `kvmqual run`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p results
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	exec "$BUILD/kvmqual" run "$@"
fi
echo "kvmqual: no /dev/kvm here: running the suite in the emulated KVM host (QEMU TCG); timings are not representative" >&2
exec ci/sandbox.sh --rw "$PWD/results" -- "$BUILD/kvmqual" run "$@"
