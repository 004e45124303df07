# Sourced by the tests/report/*.sh scripts: TAP output for prove, paths, and
# a scratch folder. Runs from the repository root; BUILD and KVMQUAL may be
# set by the caller (make check sets BUILD).
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
KVMQUAL=${KVMQUAL:-$BUILD/kvmqual}
ART=$BUILD/tests/report # artefacts kept after the run (screenshots, outputs)
mkdir -p "$ART"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kq-report-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
tap_n=0
tap_failed=0

ok() { # ok STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

diag() { sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: ok when the command succeeds; its output as
# diagnostics when it does not.
check() {
	local desc=$1
	shift
	if "$@" >"$TMP/check.out" 2>&1; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		head -30 "$TMP/check.out" | diag
	fi
}

# expect_rc WANT DESCRIPTION COMMAND...: the command exits with WANT; its
# stdout and stderr are kept in $TMP/out and $TMP/err.
expect_rc() {
	local want=$1 desc=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok 0 "$desc"
	else
		ok 1 "$desc (exit $rc, want $want)"
		head -20 "$TMP/err" | diag
	fi
}

# has FILE TEXT DESCRIPTION: FILE contains TEXT (a fixed string).
has() {
	if grep -qF -- "$2" "$1"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "'$2' not in $1:" | diag
		head -20 "$1" | diag
	fi
}

hasnt() {
	if grep -qF -- "$2" "$1"; then
		ok 1 "$3"
		grep -nF -- "$2" "$1" | head -5 | diag
	else
		ok 0 "$3"
	fi
}

# missing WHAT: a tool ci/install-deps.sh installs is absent. That is a broken
# set-up, not a missing capability of the host: fail, naming the package.
missing() {
	echo "1..1"
	echo "not ok 1 - $1; ci/install-deps.sh installs it"
	exit 1
}

# Debian's python3 carries python3-jsonschema; a python3 earlier on PATH
# (pyenv, a venv) may not.
PY=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

need_kvmqual() {
	if [ ! -x "$KVMQUAL" ]; then
		echo "1..1"
		echo "not ok 1 - $KVMQUAL is not built (make BUILD=$BUILD)"
		exit 1
	fi
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
