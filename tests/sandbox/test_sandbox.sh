#!/usr/bin/env bash
# End-to-end tests of ci/sandbox.sh, the emulated KVM host. Emits TAP; run with
#   prove tests/sandbox/test_sandbox.sh
# Each boot costs a few seconds, so one boot checks many things at once, and
# the slow timeout case runs in the background meanwhile.
set -euo pipefail

repo=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
sandbox=$repo/ci/sandbox.sh
ready_re='^sandbox: kernel [^ ]+ ready in [0-9]+\.[0-9] s \(emulated host: timings are not representative\)$'

echo "TAP version 13"
command -v qemu-system-x86_64 >/dev/null || {
	echo "Bail out! qemu-system-x86_64 is not installed (run ci/install-deps.sh)"
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/test_sandbox.XXXXXX")
bg_pids=()
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local p
	for p in ${bg_pids[@]+"${bg_pids[@]}"}; do
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf -- "$work"
}
trap cleanup EXIT

n=0
failures=0
ok() { # ok CONDITION_STATUS DESCRIPTION
	n=$((n + 1))
	if [[ $1 -eq 0 ]]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failures=$((failures + 1))
	fi
}
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local d=$1 st=0
	shift
	"$@" >/dev/null 2>&1 || st=$?
	ok "$st" "$d"
}
is() { # is GOT EXPECTED DESCRIPTION
	if [[ $1 == "$2" ]]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "expected: $2"
		diag "     got: $1"
	fi
}
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}
show() { # show FILE...: the files as TAP diagnostics, for a failure's context
	local f
	for f in "$@"; do
		diag "--- $(basename -- "$f"):"
		[[ -f $f ]] && diag "$(tail -n 20 -- "$f")"
	done
}
no_qemu_for() { # no QEMU process whose command line names $1
	! pgrep -f -- "qemu-system-x86_64.*$1" >/dev/null
}
grep_q() { grep -q -E -- "$@"; }

# --- no boot: usage ----------------------------------------------------------------

st=0
"$sandbox" --help >"$work/help" 2>&1 || st=$?
ok "$st" "--help exits 0"
check "--help documents the exit codes" grep_q '^  124 ' "$work/help"

st=0
"$sandbox" --bogus true 2>"$work/usage.err" || st=$?
is "$st" 120 "an unknown option exits 120"
check "an unknown option is one sandbox: line" grep_q '^sandbox: unknown option --bogus' "$work/usage.err"

st=0
"$sandbox" 2>/dev/null || st=$?
is "$st" 120 "no command exits 120"

st=0
KVMQUAL_SANDBOX_TIMEOUT=soon "$sandbox" true 2>"$work/usage.err" || st=$?
is "$st" 120 "KVMQUAL_SANDBOX_TIMEOUT is validated"

# --- boot in the background: a command that hangs past --timeout ------------------

mkdir -p "$work/hang"
(
	start=$SECONDS st=0
	"$sandbox" --timeout 20 --rw "$work/hang" -- sleep 600 >"$work/hang.out" 2>"$work/hang.err" || st=$?
	echo "$st $((SECONDS - start))" >"$work/hang.status"
) &
hang_pid=$!
bg_pids+=("$hang_pid")

# --- boot 1: the main checks ---------------------------------------------------------

mkdir -p "$work/rw"
have_cc=0
if command -v cc >/dev/null &&
	cc -std=gnu11 -O2 -Wall -o "$work/rw/kvm_probe" "$repo/tests/sandbox/kvm_probe.c" 2>"$work/cc.err"; then
	have_cc=1
fi

# shellcheck disable=SC2016 # the script runs inside the guest
inner='
rw=$1
if [ -c /dev/kvm ]; then echo "kvm: char device"; else echo "kvm: missing"; fi
echo "env: ${KVMQUAL_ENV:-unset} ${KVMQUAL_SANDBOX:-unset} ${EXTRA_VAR:-unset} ${HOME}"
echo "env: ${KVMQUAL_TEST_VAR:-unset} ${NOT_ALLOWED_VAR:-unset}"
echo "cwd: $(pwd)"
echo "to-stderr" >&2
echo "written inside" >"$rw/inside.txt"
if err=$(touch ./.sandbox-ro-check 2>&1); then echo "repo: writable"; else echo "repo: $err"; fi
if [ -x "$rw/kvm_probe" ]; then "$rw/kvm_probe"; echo "probe: exit $?"; fi
exit 7'
st=0
KVMQUAL_ENV=bare KVMQUAL_TEST_VAR=through NOT_ALLOWED_VAR=leaked \
	"$sandbox" --rw "$work/rw" --env EXTRA_VAR=passed -- sh -c "$inner" inner "$work/rw" \
	>"$work/b1.out" 2>"$work/b1.err" || st=$?
rm -f -- "$repo/.sandbox-ro-check"

is "$st" 7 "exit code 7 of the command comes back"
check "/dev/kvm exists inside" grep_q '^kvm: char device$' "$work/b1.out"
check "KVMQUAL_ENV=emulated, KVMQUAL_SANDBOX=1, --env passed, HOME=/tmp" \
	grep_q '^env: emulated 1 passed /tmp$' "$work/b1.out"
check "KVMQUAL_* variables pass, others do not" grep_q '^env: through unset$' "$work/b1.out"
check "the command runs from the repository root" grep_q "^cwd: $repo\$" "$work/b1.out"
check "stderr is streamed to stderr" grep_q '^to-stderr$' "$work/b1.err"
check "stderr does not leak into stdout" bash -c "! grep -q to-stderr '$work/b1.out'"
check "the boot time line is on stderr" grep_q "$ready_re" "$work/b1.err"
# Every stdout line is one the command printed: no kernel messages.
check "stdout carries only the command's output" \
	bash -c "! grep -v -E '^(kvm|env|cwd|repo|probe|api-version|create-vm|run): ' '$work/b1.out'"
check "stderr carries only the command's and the sandbox's lines" \
	bash -c "! grep -v -E '^(to-stderr|sandbox: .*)$' '$work/b1.err'"
is "$(cat "$work/rw/inside.txt" 2>/dev/null)" "written inside" "a file written to a --rw folder appears on the host"
is "$(stat -c %u "$work/rw/inside.txt" 2>/dev/null)" "$(id -u)" "that file belongs to the user running the sandbox"
check "the host tree is read-only inside" grep_q '^repo: .*Read-only file system' "$work/b1.out"
if ((have_cc)); then
	check "a host-built dynamic program gets KVM_GET_API_VERSION 12" grep_q '^api-version: 12$' "$work/b1.out"
	check "it creates a VM (KVM_CREATE_VM)" grep_q '^create-vm: ok$' "$work/b1.out"
	check "its vCPU runs: an OUT exit, then HLT" \
		bash -c "grep -q '^run: out port 0x10 value 0x42$' '$work/b1.out' && grep -q '^run: hlt$' '$work/b1.out'"
else
	for d in "KVM_GET_API_VERSION" "KVM_CREATE_VM" "KVM_RUN"; do
		n=$((n + 1))
		echo "ok $n - $d from a host-built program # SKIP no C compiler"
	done
fi
((failures == 0)) || show "$work/b1.out" "$work/b1.err"

# --- boot 2: exit 0, argv untouched, output streamed while the command runs ----------

mkdir -p "$work/rw2"
stamp_lines() {
	local line
	while IFS= read -r line; do
		printf '%s %s\n' "${EPOCHREALTIME//[!0-9]/}" "$line"
	done
}
st=0
# shellcheck disable=SC2016 # literal on purpose: it must arrive unexpanded
"$sandbox" --rw "$work/rw2" -- sh -c 'printf "%s|\n" "$@"; echo early; sleep 3; echo late' argv \
	'a b' "it's" '$HOME' '*' '' 'x"y' 2>"$work/b2.err" | stamp_lines >"$work/b2.out" || st=${PIPESTATUS[0]}
is "$st" 0 "exit code 0 of the command comes back"
# shellcheck disable=SC2016 # the same literal words as sent
is "$(cut -d' ' -f2- "$work/b2.out")" "$(printf '%s|\n' 'a b' "it's" '$HOME' '*' '' 'x"y' && echo early && echo late)" \
	"argv reaches the command unchanged"
early=$(awk '$2 == "early" { print $1 }' "$work/b2.out")
late=$(awk '$2 == "late" { print $1 }' "$work/b2.out")
check "stdout is streamed live (a line arrives before the command ends)" \
	test $((${late:-0} - ${early:-0})) -gt 2000000
is "$(grep -v -E "$ready_re" "$work/b2.err" || true)" "" "a quiet command leaves stderr empty but for the boot line"

# --- boot 3: a module that cannot load --------------------------------------------------

st=0
"$sandbox" --cpu qemu64,-svm --rw "$work/rw2" -- true >"$work/b3.out" 2>"$work/b3.err" || st=$?
is "$st" 122 "a failed module load exits 122"
check "and names the module" grep_q '^sandbox: cannot load kernel module kvm_amd: ' "$work/b3.err"

# --- boot 4: the guest dies before the command ends; --verbose --------------------------

st=0
"$sandbox" --verbose --rw "$work/rw2" -- sh -c 'echo o >/proc/sysrq-trigger; sleep 30' \
	>"$work/b4.out" 2>"$work/b4.err" || st=$?
is "$st" 119 "a guest that powers off under the command exits 119"
check "with one error line" grep_q "^sandbox: the guest ended without reporting the command's exit status" "$work/b4.err"
check "--verbose shows the kernel console on stderr" grep_q '^\[ *[0-9.]+\] Linux version ' "$work/b4.err"
is "$(cat "$work/b4.out")" "" "and keeps it off stdout"

# --- no boot: QEMU cannot start ---------------------------------------------------------------

st=0
"$sandbox" --mem 999999999 --rw "$work/rw2" -- true >/dev/null 2>"$work/q.err" || st=$?
is "$st" 123 "QEMU failing to start exits 123"
check "with one error line" grep_q '^sandbox: QEMU failed to start' "$work/q.err"

# --- boot 5: SIGTERM stops everything -------------------------------------------------------

mkdir -p "$work/term"
"$sandbox" --rw "$work/term" -- sleep 600 >"$work/term.out" 2>"$work/term.err" &
term_pid=$!
bg_pids+=("$term_pid")
for ((i = 0; i < 600; i++)); do
	grep -q -E "$ready_re" "$work/term.err" 2>/dev/null && break
	kill -0 "$term_pid" 2>/dev/null || break
	sleep 0.1
done
kill -TERM "$term_pid" 2>/dev/null || true
st=0
wait "$term_pid" || st=$?
is "$st" 143 "SIGTERM ends the sandbox with 143"
check "and leaves no QEMU process" no_qemu_for "$work/term"

# --- the background timeout -------------------------------------------------------------------

wait "$hang_pid" || true
read -r st hang_secs <"$work/hang.status" || st=none hang_secs=none
is "$st" 124 "a command hanging past --timeout exits 124"
check "with the timeout error line" grep_q '^sandbox: timed out after 20 s' "$work/hang.err"
check "within the time limit (took ${hang_secs} s)" test "$hang_secs" -lt 35
check "and leaves no QEMU process" no_qemu_for "$work/hang"
((failures == 0)) || show "$work/hang.err" "$work/term.err"

echo "1..$n"
((failures == 0))
