#!/usr/bin/env bash
# The Ansible fleet playbook (ci/fleet/playbook.yml) with Debian's ansible-core
# on an inventory of this machine twice (connection local, separate folders)
# plus one entry that fails (no Python there): both good entries deliver a run
# into one SQLite database, the failed one is reported, and `kvmqual fleet
# report` renders the fleet. One cheap test (exit.cpuid, --quick).
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
KQ=$PWD/$BUILD/kvmqual
TMP=$(mktemp -d /tmp/kq-fleet-test.XXXXXX)
trap '[ -n "${KQ_FLEET_KEEP:-}" ] || rm -rf "$TMP"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
if ! command -v ansible-playbook >/dev/null; then
	echo "1..0 # SKIP ansible-playbook missing (Debian package ansible-core)"
	exit 0
fi
if ! "$KQ" run --test exit.cpuid --quick --out "$TMP/probe-run" >/dev/null 2>&1; then
	echo "1..0 # SKIP this host cannot run exit.cpuid (no usable /dev/kvm)"
	exit 0
fi
py=$(command -v python3)
cat >"$TMP/inventory.ini" <<INV
[kvmqual]
local-a ansible_connection=local kq_remote_dir=$TMP/a ansible_python_interpreter=$py
local-b ansible_connection=local kq_remote_dir=$TMP/b ansible_python_interpreter=$py
broken ansible_connection=local kq_remote_dir=$TMP/c ansible_python_interpreter=/nonexistent/python3
INV
ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_LOCAL_TEMP=$TMP/ansible-tmp \
	ANSIBLE_REMOTE_TEMP=$TMP/ansible-tmp ansible-playbook -i "$TMP/inventory.ini" \
	ci/fleet/playbook.yml -e "kq_binary=$KQ kq_db=$TMP/fleet.sqlite kq_fetch_dir=$TMP/fetched" \
	-e "kq_install_deps=false" -e "kq_args='--quick --test exit.cpuid'" -e kq_time_limit=120 \
	>"$TMP/ansible.log" 2>&1
rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "the playbook reports the failed entry (exit $rc)"
[ -s "$TMP/fetched/local-a/results.json" ] && [ -s "$TMP/fetched/local-b/results.json" ]
ok $? "both good entries' run folders were fetched"
grep -q "2 of 3 hosts stored a run; not stored: broken" "$TMP/ansible.log"
ok $? "the summary names the host that did not deliver"
[ "$("$KQ" db list --db "$TMP/fleet.sqlite" | tail -n +2 | wc -l)" -eq 2 ]
ok $? "two runs in the controller's database"
"$KQ" fleet report --db "$TMP/fleet.sqlite" --out "$TMP/report" >"$TMP/fleet.txt" 2>&1
rc=$?
[ $rc -le 1 ] && grep -q "exit.cpuid/cpuid" "$TMP/fleet.txt" && grep -q "<svg" "$TMP/report/fleet.html"
ok $? "fleet report over the stored runs, HTML with its chart (exit $rc)"
[ $fail -eq 0 ] || sed 's/^/# /' "$TMP/ansible.log" | tail -40
if [ -n "${KQ_FLEET_KEEP:-}" ]; then cp -r "$TMP/report" "$TMP/fleet.txt" "$KQ_FLEET_KEEP"/; fi
echo "1..$n"
exit $fail
