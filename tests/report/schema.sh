#!/usr/bin/env bash
# Every results.json there is validates against reports/results.schema.json:
# the hand-made fixtures, synthetic sets from gen-results.py, and real runs
# under results/*/ when present. The invalid fixtures fail it, and
# kvmqual's own reader agrees on every file.
. "$(dirname "$0")/tap.bash"
need_kvmqual
$PY -c 'import jsonschema' 2>/dev/null || missing "python3 jsonschema missing (Debian: python3-jsonschema)"

for env in emulated nested bare-metal; do
	$PY tests/report/gen-results.py --out "$TMP/gen-$env" --tests 60 --env "$env" --seed 3
done

cat >"$TMP/validate.py" <<'PY'
import json, sys
import jsonschema
schema = json.load(open("reports/results.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
want_valid = sys.argv[1] == "valid"
rc = 0
for path in sys.argv[2:]:
    try:
        doc = json.load(open(path))
        errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    except ValueError as e:
        errs = ["not JSON: %s" % e]
    good = not errs
    status = "ok" if good == want_valid else "not ok"
    if good != want_valid:
        rc = 1
    what = "valid" if good else "invalid: %s" % (
        errs[0] if isinstance(errs[0], str) else "%s at %s" % (errs[0].message[:120], "/".join(map(str, errs[0].path))))
    print("%s %s (%s)" % (status, path, what))
sys.exit(rc)
PY

# the example in the documentation
$PY - >"$TMP/doc-example.json" <<'PY'
import re
print(re.search(r"```json\n(.*?)```", open("docs/results-schema.md").read(), re.S).group(1))
PY

shopt -s nullglob
valid=(tests/fixtures/results/*/results.json "$TMP"/gen-*/results.json "$TMP/doc-example.json"
	results/*/results.json)
invalid=(tests/fixtures/results/invalid/*.json)

check "the schema is a valid JSON Schema (draft 2020-12)" $PY -c '
import json, jsonschema
jsonschema.Draft202012Validator.check_schema(json.load(open("reports/results.schema.json")))'
for f in "${valid[@]}"; do
	check "schema accepts $f" $PY "$TMP/validate.py" valid "$f"
	check "kvmqual reads $f" "$KVMQUAL" export "$f" --csv /dev/null
done
for f in "${invalid[@]}"; do
	check "schema rejects $f" $PY "$TMP/validate.py" invalid "$f"
	expect_rc 2 "kvmqual refuses $f" "$KVMQUAL" export "$f" --csv /dev/null
	has "$TMP/err" "$f" "the message names $f"
done
[ ${#valid[@]} -ge 6 ]
ok $? "at least the fixtures and synthetic sets were checked (${#valid[@]} files)"
done_testing
