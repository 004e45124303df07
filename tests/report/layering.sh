#!/usr/bin/env bash
# The one-way layering of docs/ARCHITECTURE.md, as the #include lines show it:
#   guest/abi.h <- vmm <- workloads, probes, isolation-tests, migration-bench
#   guest/abi.h <- core <- workloads, probes, reports, ... <- runner (on top)
# A file that includes against the arrow fails here with its file:line.
. "$(dirname "$0")/tap.bash"

# violations ROOT: prints "file:line: rule: #include" for every include of a
# project header that crosses a layer the wrong way.
violations() {
	local root=$1
	(
		cd "$root" || exit 1
		find . -path ./build -prune -o -path ./build-san -prune -o -path ./tests -prune -o \
			-type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \) -print |
			sed 's|^\./||' | sort |
			while read -r f; do
				grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]+[>"]' "$f" |
					sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^>"]+)[>"].*/\1 \2 \3/' |
					while read -r line kind inc; do
						judge "$f" "$kind" "$inc"
						[ -z "$rule" ] || echo "$f:$line: $rule: #include $kind$inc"
					done
			done
	)
}

# judge FILE KIND HEADER: sets $rule to the broken rule, or to nothing (no
# subshell: it runs once per #include line).
judge() {
	local f=$1 kind=$2 inc=$3 dir=${1%%/*}
	rule=
	if [ "$kind" = '<' ]; then
		# The vmm is plain ioctls: no third-party library underneath it.
		case "$dir:$inc" in
		vmm:jansson.h | vmm:ini.h | vmm:hwloc.h | vmm:hwloc/* | vmm:libcpuid.h | vmm:libcpuid/*)
			rule="vmm/ uses no library beyond the C library and the kernel headers" ;;
		esac
		return
	fi
	local to=${inc%%/*}
	case "$dir" in
	vmm)
		[ "$to" = vmm ] || [ "$inc" = guest/abi.h ] ||
			rule="vmm/ includes only vmm/ and guest/abi.h" ;;
	core)
		[ "$to" = core ] || [ "$inc" = guest/abi.h ] ||
			rule="core/ includes only core/ and guest/abi.h" ;;
	guest)
		[ "$to" = guest ] || rule="guest/ is freestanding: it includes only guest/" ;;
	reports)
		case "$to" in runner | workloads | vmm | probes)
			rule="reports/ read results.json only: no $to/" ;;
		esac ;;
	probes | workloads | isolation-tests | migration-bench)
		[ "$to" = runner ] && rule="$dir/ does not include runner/ (the runner is on top)" ;;
	esac
}

# Control: a tree that breaks each rule is caught, rule by rule.
bad=$TMP/bad
mkdir -p "$bad"/{vmm,core,probes,workloads,reports,guest,runner}
printf '#include "vmm/vm.h"\n#include "guest/abi.h"\n#include "core/result.h"\n#include <jansson.h>\n' >"$bad/vmm/x.c"
printf '#include "core/stats.h"\n#include "vmm/vm.h"\n' >"$bad/core/x.h"
printf '#include "runner/conf.h"\n' >"$bad/probes/x.c"
printf '#include "runner/execute.h"\n#include "vmm/vm.h"\n' >"$bad/workloads/x.c"
printf '#include "workloads/vmhost.h"\n#include "runner/conf.h"\n#include "core/labels.h"\n' >"$bad/reports/x.c"
printf '#include "vmm/layout.h"\n' >"$bad/guest/x.c"
printf '#include "probes/probe.h"\n#include "reports/report.h"\n' >"$bad/runner/x.c"
violations "$bad" >"$TMP/bad.out"
while read -r want; do
	grep -qF "$want" "$TMP/bad.out"
	ok $? "control: caught $want"
done <<'WANT'
vmm/x.c:3: vmm/ includes only vmm/ and guest/abi.h: #include "core/result.h
vmm/x.c:4: vmm/ uses no library
core/x.h:2: core/ includes only core/ and guest/abi.h
probes/x.c:1: probes/ does not include runner/
workloads/x.c:1: workloads/ does not include runner/
reports/x.c:1: reports/ read results.json only: no workloads/
reports/x.c:2: reports/ read results.json only: no runner/
guest/x.c:1: guest/ is freestanding
WANT
[ "$(wc -l <"$TMP/bad.out")" -eq 8 ]
ok $? "control: allowed includes pass (vmm -> guest/abi.h, workloads -> vmm, runner -> anything)"

violations . >"$TMP/tree.out"
[ ! -s "$TMP/tree.out" ]
ok $? "the tree keeps the layering"
diag <"$TMP/tree.out"
n=$(grep -rlE '#[[:space:]]*include' vmm core probes workloads reports runner guest | wc -l)
[ "$n" -ge 100 ]
ok $? "the check read the tree ($n files with includes)"
done_testing
