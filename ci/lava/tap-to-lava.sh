#!/bin/sh
# TAP (kvmqual's results.tap) to LAVA test cases: "ok N - NAME" pass,
# "not ok N - NAME" fail, "# SKIP" skip; names keep LAVA's allowed characters.
# LAVA_CASE (default lava-test-case) is the command called, so the mapping can
# be checked outside LAVA.
set -eu
case_cmd=${LAVA_CASE:-lava-test-case}
[ $# -eq 1 ] || { echo "usage: $0 results.tap" >&2; exit 2; }
sed -n 's/^\(not ok\|ok\) [0-9][0-9]* - \(.*\)$/\1|\2/p' "$1" | while IFS='|' read -r st rest; do
	name=${rest%% #*}
	name=$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_' | sed 's/_*$//')
	result=pass
	[ "$st" = "not ok" ] && result=fail
	case $rest in *"# SKIP"* | *"# skip"*) result=skip ;; esac
	$case_cmd "$name" --result "$result"
done
