#!/usr/bin/env bash
# Suite files and CLI inputs that are not what they claim: each is exit 2 with
# the place named, never a run of nothing that passes. Needs no KVM.
. "$(dirname "$0")/../report/tap.bash"
need_kvmqual
BIN=$(realpath "$KVMQUAL")
TMP=$(realpath "$TMP")

# run --conf FILE: exit 2, nothing on stdout, no output folder, $2 on stderr.
refused() {
	expect_rc 2 "$3: exit 2" timeout 20 "$BIN" run --conf "$1" --out "$TMP/never"
	[ ! -s "$TMP/out" ] && [ ! -e "$TMP/never" ]
	ok $? "$3: nothing ran"
	has "$TMP/err" "$2" "$3: $2"
}

expect_rc 2 "list --group nosuch exits 2, as run does" "$BIN" list --group nosuch
has "$TMP/err" "no test in group 'nosuch'" "naming the group"

mkdir "$TMP/dir"
refused "$TMP/dir" "dir:0: is a folder, not a suite file" "run --conf on a folder"
: >"$TMP/empty.conf"
refused "$TMP/empty.conf" "empty.conf:1: no [section]" "an empty suite file"
printf '# only\n; comments\n' >"$TMP/comments.conf"
refused "$TMP/comments.conf" "comments.conf:2: no [section]" "a comments-only suite file"
refused /dev/zero "/dev/zero:1: NUL byte at byte offset 0" "run --conf /dev/zero"
printf '[a]\nworkload = exit.cpuid\ndescri\0ption = x\n' >"$TMP/nul.conf"
refused "$TMP/nul.conf" "nul.conf:3: NUL byte at byte offset 32 (column 7)" "a NUL inside a line"
printf '[a]\nworkload = exit.cpuid\ntime_limit = 1e11\n' >"$TMP/limit.conf"
refused "$TMP/limit.conf" "limit.conf:3: time_limit = '1e11': expected a duration from 100ms" \
	"a time limit past its range"
printf '[a]\nmemory = 1T\nsteps = pio 1\n' >"$TMP/mem.conf"
refused "$TMP/mem.conf" "mem.conf:2: memory = '1T'" "memory = 1T"
printf '[a]\nmemory = 1M\nsteps = touch 16M\n' >"$TMP/touch.conf"
refused "$TMP/touch.conf" "touch.conf:3: steps: step 1 touches 16777216 bytes, more than" \
	"a touch step larger than the test memory"
printf '[a]\nworkload = exit.cpuid\nsteps = pio 1\n' >"$TMP/both.conf"
refused "$TMP/both.conf" "both.conf:3: steps: a step script is the test's workload" \
	"workload and steps in one section"
printf '[ghost]\n[a]\nworkload = exit.cpuid\n' >"$TMP/ghost.conf"
refused "$TMP/ghost.conf" "ghost.conf:1: [ghost]: empty section" "a section without keys"
printf '[a]\nworkload = exit.cpuid\ndefault = maybe\n' >"$TMP/maybe.conf"
refused "$TMP/maybe.conf" "maybe.conf:3: default = 'maybe': expected yes or no" "default = maybe"

printf '[a]\nworkload = exit.cpuid\ndefault = no\n' >"$TMP/alloff.conf"
refused "$TMP/alloff.conf" "nothing selected: every test in" "a default selection of nothing"

# The default suite.conf: beside the binary when the current folder has none.
mkdir -p "$TMP/inst/bin" "$TMP/inst/share/kvmqual" "$TMP/lone"
cp "$BIN" "$TMP/inst/bin/kvmqual"
cp "$BIN" "$TMP/lone/kvmqual"
cp suite.conf "$TMP/inst/share/kvmqual/"
expect_rc 0 "list from another folder reads the binary's checkout's suite.conf" \
	bash -c "cd '$TMP/dir' && '$BIN' list"
has "$TMP/out" "exit.cpuid exits" "and lists its tests"
expect_rc 0 "an installed bin/kvmqual reads share/kvmqual/suite.conf" \
	bash -c "cd '$TMP/dir' && '$TMP/inst/bin/kvmqual' list"
expect_rc 2 "no suite.conf anywhere: exit 2" bash -c "cd '$TMP/dir' && '$TMP/lone/kvmqual' list"
has "$TMP/err" "suite.conf:0: not found; looked in $TMP/dir, $TMP/lone, $TMP, $TMP/share/kvmqual" \
	"saying where it looked"

expect_rc 2 "probe --root on a folder that is no recorded tree: exit 2" "$BIN" probe --root "$TMP/dir"
has "$TMP/err" "not a recorded tree: no proc/, sys/, kvmqual/" "naming what is missing"
expect_rc 2 "probe --record on a regular file: exit 2" "$BIN" probe --record "$TMP/empty.conf"
has "$TMP/err" "exists and is not a folder" "saying so"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	: >"$TMP/kvm"
	chmod 600 "$TMP/kvm"
	chmod 755 "$TMP"
	expect_rc 3 "no permission on the KVM device: exit 3" env KVMQUAL_KVM_DEV="$TMP/kvm" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BIN" run --conf "$PWD/suite.conf" --test exit.cpuid --out "$TMP/never"
	has "$TMP/err" "add it to the kvm group (sudo usermod -aG kvm \$USER) and log in again" \
		"the message suggests the kvm group"
	hasnt "$TMP/err" "emulated KVM host instead" "and not another host"
else
	echo "ok $((tap_n += 1)) - no permission on the KVM device # SKIP needs root and setpriv"
fi
done_testing
