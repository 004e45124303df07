/* KVM's counters turned into results.json evidence: only what changed, by name. */
#include "workloads/kvm_stats_json.h"
#include "tests/tap.h"

int main(void)
{
	struct kq_kvm_stat before[] = {{"exits", 10}, {"io_exits", 4}, {"halt_exits", 7}};
	struct kq_kvm_stat after[] = {{"exits", 25}, {"io_exits", 4}, {"halt_exits", 9}};
	json_t *d = kq_kvm_stats_delta_json(before, 3, after, 3);
	is_int(json_object_size(d), 2, "only counters that changed are kept");
	is_int(json_integer_value(json_object_get(d, "exits")), 15, "exits: after - before");
	is_int(json_integer_value(json_object_get(d, "halt_exits")), 2, "halt_exits delta");
	ok(json_object_get(d, "io_exits") == NULL, "an unchanged counter is left out");
	json_decref(d);

	/* A counter the first read lacks counts from zero. */
	struct kq_kvm_stat more[] = {{"exits", 25}, {"io_exits", 4}, {"halt_exits", 9}, {"new", 3}};
	d = kq_kvm_stats_delta_json(before, 3, more, 4);
	is_int(json_integer_value(json_object_get(d, "new")), 3, "a new counter counts from zero");
	json_decref(d);

	return done_testing();
}
