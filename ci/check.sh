#!/usr/bin/env bash
# `make check`: every stage runs even when an earlier one fails; the last line
# counts the stages that passed and failed, and the exit status is non-zero
# on any failure.
#   0. source formatting (clang-format, .clang-format)
#   1. unit tests, natively
#   2. the same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. host-side script tests (no KVM needed: reports, sandbox)
#   4. KVM integration tests natively, where this host has a usable /dev/kvm
#   5. KVM integration tests inside the emulated KVM host (ci/sandbox.sh),
#      always: it is how hosts without /dev/kvm test KVM, so it must keep working
#   6. the fuzz targets, each over its corpus and a few seconds more
#      (docs/fuzzing.md); skipped, with the reason, without clang's libFuzzer
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
passed=0
failed=0
failed_names=()

stage() {
	local name=$1
	shift
	echo
	echo "== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
}

kvm_usable() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		"$BUILD/kvmqual" run --test exit.cpuid --quick --out "$(mktemp -d)" >/dev/null 2>&1
}

shopt -s nullglob
unit=("$BUILD"/tests/unit/*)
integ=("$BUILD"/tests/integration/* tests/integration/*.sh)
host_scripts=(tests/report/*.sh tests/sandbox/*.sh tests/db/*.sh)

stage "formatting (make format-check)" make -s format-check
stage "unit tests" prove --exec '' "${unit[@]}"
stage "unit tests under ASan+UBSan" sh -c \
	'make -s SAN=1 check-build >/dev/null && prove --exec "" build-san/tests/unit/*'
if [ ${#host_scripts[@]} -gt 0 ]; then
	# Two at a time: several of them mostly wait (a browser, Ansible, a
	# PostgreSQL cluster, signals), and each works in its own temporary folder.
	stage "host script tests" prove --timer -j2 --exec '' "${host_scripts[@]}"
fi
if kvm_usable; then
	stage "KVM integration tests, native /dev/kvm" prove --timer --exec '' "${integ[@]}"
else
	echo
	echo "== KVM integration tests, native: skipped, this host has no usable /dev/kvm"
fi
stage "KVM integration tests in the emulated KVM host" \
	ci/sandbox.sh --timeout "${KVMQUAL_SANDBOX_TIMEOUT:-1800}" -- prove --timer --exec '' "${integ[@]}"

# libFuzzer comes with clang (Debian: clang, libclang-rt-dev; ci/install-deps.sh).
fuzzer_usable() {
	local d
	d=$(mktemp -d) || return 1
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$d/t.c"
	clang -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" >/dev/null 2>&1
	local rc=$?
	rm -rf "$d"
	return $rc
}
if command -v clang >/dev/null && fuzzer_usable; then
	stage "fuzz targets over their corpora (make fuzz-check)" make -s fuzz-check
else
	echo
	echo "== fuzz targets: skipped, clang with libFuzzer is not installed (ci/install-deps.sh installs clang and libclang-rt-dev)"
fi

echo
if [ $failed -gt 0 ]; then
	printf 'failed stage: %s\n' "${failed_names[@]}"
fi
echo "check: $passed passed, $failed failed"
[ $failed -eq 0 ]
