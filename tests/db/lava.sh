#!/usr/bin/env bash
# The LAVA test definition parses as YAML with its required keys, and the TAP
# mapping turns pass, fail and skip lines into LAVA test cases.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0
fail=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
python3 - ci/lava/kvmqual.yaml <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["metadata"]["format"] == "Lava-Test Test Definition 1.0"
assert d["metadata"]["name"] and isinstance(d["run"]["steps"], list)
PY
ok $? "the LAVA definition has the format, name and run steps LAVA requires"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# LAVA's own schema (Debian's lava-common, installed by ci/install-deps.sh) for
# the definition, inline in a test action as a job would carry it; and a
# control: a definition with a wrong format must be refused by the same check.
LAVA_PY=/usr/bin/python3
if "$LAVA_PY" -c 'import lava_common.schemas.test.testdef' 2>/dev/null; then
	lava_check() {
		"$LAVA_PY" - "$1" <<'PY'
import sys, yaml
from voluptuous import Schema
from lava_common.schemas.test import testdef, definition
d = yaml.safe_load(open(sys.argv[1]))
testdef.validate(d)
action = {"timeout": {"minutes": 60}, "definitions": [
    {"repository": d, "from": "inline", "path": "inline/kvmqual.yaml", "name": "kvmqual"}]}
Schema(definition.schema())(action)
PY
	}
	lava_check ci/lava/kvmqual.yaml
	ok $? "LAVA's schema (lava_common) accepts the definition, also inline in a test action"
	sed 's/Lava-Test Test Definition 1.0/Lava-Test Test Definition 0.9/' ci/lava/kvmqual.yaml >"$TMP/bad.yaml"
	lava_check "$TMP/bad.yaml" 2>/dev/null
	[ $? -ne 0 ]
	ok $? "control: LAVA's schema refuses a definition with a wrong format"
else
	n=$((n + 1))
	echo "ok $n - LAVA's schema # SKIP lava-common is not installed (Debian: lava-common)"
fi
printf 'TAP version 13\n1..3\nok 1 - exit.cpuid\nnot ok 2 - exit.hypercall\nok 3 - memory.1g # SKIP no 1G pages\n' >"$TMP/t.tap"
printf '#!/bin/sh\necho "$@" >> %s/cases\n' "$TMP" >"$TMP/case"
chmod +x "$TMP/case"
LAVA_CASE=$TMP/case ci/lava/tap-to-lava.sh "$TMP/t.tap"
[ "$(cat "$TMP/cases")" = "$(printf 'exit.cpuid --result pass\nexit.hypercall --result fail\nmemory.1g --result skip')" ]
ok $? "TAP lines become LAVA test cases"
echo "1..$n"
exit $fail
