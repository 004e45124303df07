#!/usr/bin/env bash
# The Ansible fleet playbook (ci/fleet/playbook.yml) with Debian's ansible-core
# on an inventory of this machine twice (connection local, separate folders)
# plus one entry that fails (no Python there): both good entries deliver a run
# into one SQLite database, the failed one is reported, and `kvmqual fleet
# report` renders the fleet, checked in headless Chromium. One cheap test:
# exit.cpuid where /dev/kvm works, else memory.4k.anon, whose native half
# measures without KVM (the playbook's path is the same either way).
. "$(dirname "$0")/../report/tap.bash"
need_kvmqual
KQ=$PWD/$KVMQUAL
if ! command -v ansible-playbook >/dev/null; then
	missing "ansible-playbook is not installed (Debian: ansible-core)"
fi
. "$(dirname "$0")/../report/browser.bash"
if "$KQ" run --test exit.cpuid --quick --out "$TMP/probe-run" >/dev/null 2>&1; then
	sel=exit.cpuid metric=exit.cpuid/cpuid need_kvm=true
else
	need_kvm=false
	sel=memory.4k.anon metric=memory.4k.anon/chase.native
	echo "# no usable /dev/kvm: the fleet runs $sel (its native half)"
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
	-e "kq_install_deps=false kq_require_kvm=$need_kvm" -e "kq_args='--quick --test $sel'" -e kq_time_limit=120 \
	>"$TMP/ansible.log" 2>&1
rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "the playbook reports the failed entry (exit $rc)"
[ -s "$TMP/fetched/local-a/results.json" ] && [ -s "$TMP/fetched/local-b/results.json" ]
ok $? "both good entries' run folders were fetched"
grep -q "2 of 3 hosts stored a run; not stored: broken" "$TMP/ansible.log"
ok $? "the summary names the host that did not deliver"
[ "$("$KQ" db list --db "$TMP/fleet.sqlite" | tail -n +2 | wc -l)" -eq 2 ]
ok $? "two runs in the controller's database"
rm -rf "$ART/fleet"
"$KQ" fleet report --db "$TMP/fleet.sqlite" --out "$ART/fleet" >"$TMP/fleet.txt" 2>&1
rc=$?
[ $rc -le 1 ] && grep -q "$metric" "$TMP/fleet.txt" && grep -q "<svg" "$ART/fleet/fleet.html"
ok $? "fleet report over the stored runs, HTML with its chart (exit $rc)"
[ -f "$ART/fleet/fleet.html" ] && page fleet "$ART/fleet/fleet.html"
[ "$tap_failed" -eq 0 ] || tail -40 "$TMP/ansible.log" | diag
done_testing
