#include "vmm/vm.h"
#include "workloads/memory_matrix.h"
#include "core/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MIN	(16ULL << 10)
#define QUICK_MAX	(4ULL << 20)
#define EMULATED_QUICK	(256ULL << 10)
#define EMULATED_MAX	(64ULL << 20)
#define DEFAULT_KERNELS "chase read write randpage"

const struct kq_param_spec kq_memory_params[] = {
    {"min_set", KQ_PT_SIZE, "smallest working set (default 16K; a multiple of 4K)"},
    {"max_set", KQ_PT_SIZE,
     "largest working set (default min(1G, 25% of MemAvailable); at most `memory`)"},
    {"quick_max_set", KQ_PT_SIZE, "largest working set with --quick (default 4M)"},
    {"points_per_doubling", KQ_PT_INT, "working sets per power of two (default 4; --quick: 0.5)"},
    {"kernels", KQ_PT_STRING, "which kernels: chase read write randpage (default all)"},
    {"seed", KQ_PT_U64, "seed of the chase permutation (default 1)"},
    {"native", KQ_PT_BOOL, "also run the kernels natively on the same backing (default yes)"},
    {"reserve_hugepages", KQ_PT_BOOL,
     "raise the hugepage pool the cell needs and restore it afterwards (root; default no)"},
    {NULL, 0, NULL},
};

bool kq_memory_emulated(void)
{
	const char *e = getenv("KVMQUAL_ENV");
	return e && strcmp(e, "emulated") == 0;
}

static int parse_kernels(const char *s, struct kq_memory_plan *p, char *err, size_t errlen)
{
	char buf[256], *save = NULL;
	bool want[KQ_MEMK_COUNT] = {false};
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
		int k = kq_memk_parse(w);
		if (k < 0) {
			snprintf(err, errlen,
				 "kernels: unknown kernel '%s' (chase read write randpage)", w);
			return -1;
		}
		want[k] = true;
	}
	/* Fixed order: the write kernel overwrites the chain, so chase goes first
	 * and randpage rebuilds its own afterwards. */
	p->nkernels = 0;
	for (int k = 1; k < KQ_MEMK_COUNT; k++)
		if (want[k])
			p->kernels[p->nkernels++] = (enum kq_memk_kernel)k;
	if (!p->nkernels) {
		snprintf(err, errlen, "kernels: none given");
		return -1;
	}
	return 0;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t slot_align(const struct kq_test *t)
{
	uint64_t g = kq_page_size_bytes(t->page_size), b = kq_backing_page_size(t->backing);
	return g > b ? g : b;
}

/* The limits as given (0: not given). */
static void given_sizes(const struct kq_test *t, uint64_t *min, uint64_t *max, uint64_t *qmax)
{
	*min = kq_test_param_size(t, "min_set", DEFAULT_MIN);
	*max = kq_test_param_size(t, "max_set", 0);
	*qmax = kq_test_param_size(t, "quick_max_set", 0);
}

int kq_memory_validate(const struct kq_test *t, char *err, size_t errlen, const char **key)
{
	uint64_t min, max, qmax;
	struct kq_memory_plan p;
	given_sizes(t, &min, &max, &qmax);
	if (min < DEFAULT_MIN || min % 4096) {
		*key = "min_set";
		snprintf(err, errlen, "min_set = %llu: must be at least 16K and a multiple of 4K",
			 (unsigned long long)min);
		return -1;
	}
	if ((max && max < min) || (qmax && qmax < min)) {
		*key = max && max < min ? "max_set" : "quick_max_set";
		snprintf(err, errlen, "%s is smaller than min_set (%llu bytes)", *key,
			 (unsigned long long)min);
		return -1;
	}
	uint64_t bpage = kq_backing_page_size(t->backing);
	if (t->mem_bytes && t->mem_bytes % bpage) {
		*key = "memory";
		snprintf(err, errlen,
			 "memory = %llu bytes: backing %s holds memory only in whole %llu KiB "
			 "pages",
			 (unsigned long long)t->mem_bytes, kq_backing_name(t->backing),
			 (unsigned long long)(bpage >> 10));
		return -1;
	}
	if (t->mem_bytes && (max > t->mem_bytes || qmax > t->mem_bytes)) {
		*key = max > t->mem_bytes ? "max_set" : "quick_max_set";
		snprintf(err, errlen,
			 "%s (%llu bytes) is larger than the test slot (memory = %llu bytes)", *key,
			 (unsigned long long)(max > t->mem_bytes ? max : qmax),
			 (unsigned long long)t->mem_bytes);
		return -1;
	}
	if (kq_test_param_int(t, "points_per_doubling", 4) < 1 ||
	    kq_test_param_int(t, "points_per_doubling", 4) > 16) {
		*key = "points_per_doubling";
		snprintf(err, errlen, "points_per_doubling: expected 1 to 16");
		return -1;
	}
	if (parse_kernels(kq_test_param(t, "kernels", DEFAULT_KERNELS), &p, err, errlen) < 0) {
		*key = "kernels";
		return -1;
	}
	return 0;
}

int kq_memory_plan(const struct kq_test *t, const struct kq_run_opts *o, struct kq_memory_plan *p,
		   char *err, size_t errlen)
{
	uint64_t min, max, qmax;
	memset(p, 0, sizeof(*p));
	given_sizes(t, &min, &max, &qmax);
	if (parse_kernels(kq_test_param(t, "kernels", DEFAULT_KERNELS), p, err, errlen) < 0)
		return -1;
	p->seed = (uint64_t)kq_test_param_int(t, "seed", 1);
	p->native = kq_test_param_bool(t, "native", true);
	bool emu = kq_memory_emulated();
	if (!max)
		max = t->mem_bytes ? t->mem_bytes : kq_default_max_set();
	if (emu && max > EMULATED_MAX)
		max = EMULATED_MAX;
	if (o->quick) {
		uint64_t q = qmax ? qmax : emu ? EMULATED_QUICK : QUICK_MAX;
		if (q < max)
			max = q;
	}
	max = max / 4096 * 4096;
	if (max < min)
		max = min;
	/* --quick: one set per two doublings (16K, 64K, 256K ...). */
	if (o->quick) {
		p->nsets = 0;
		for (uint64_t s = min; s < max && p->nsets < KQ_MEMORY_MAX_SETS - 1; s *= 4)
			p->sets[p->nsets++] = s;
		p->sets[p->nsets++] = max;
	} else {
		p->nsets =
		    kq_working_sets(min, max, (int)kq_test_param_int(t, "points_per_doubling", 4),
				    p->sets, KQ_MEMORY_MAX_SETS);
	}
	p->slot = t->mem_bytes ? t->mem_bytes : round_up(max, slot_align(t));
	return 0;
}

/* Pages of the backing's size the cell needs: the guest slot and the native buffer. */
static long pages_needed(const struct kq_test *t, const struct kq_memory_plan *p)
{
	uint64_t pg = kq_backing_page_size(t->backing);
	return (long)((p->slot / pg) * (p->native ? 2 : 1));
}

const char *kq_memory_remedy(const struct kq_test *t, const struct kq_memory_plan *p)
{
	static char buf[320];
	if (t->backing != KQ_BACK_HUGETLB_2M && t->backing != KQ_BACK_HUGETLB_1G)
		return "";
	unsigned long kb = (unsigned long)(kq_backing_page_size(t->backing) >> 10);
	long free_now = kq_hugepages_free(kb), need = pages_needed(t, p);
	char nr[128];
	snprintf(nr, sizeof(nr), "/sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages", kb);
	FILE *f = fopen(nr, "r");
	long total = 0;
	if (!f || fscanf(f, "%ld", &total) != 1)
		total = 0;
	if (f)
		fclose(f);
	snprintf(buf, sizeof(buf),
		 "; the cell needs %ld free %lu kB hugepages (%ld free): make them available "
		 "with `echo %ld > %s` (memory.matrix: or set reserve_hugepages = yes)",
		 need, kb, free_now < 0 ? 0 : free_now,
		 total + need - (free_now < 0 ? 0 : free_now), nr);
	return buf;
}

int kq_memory_reserve(const struct kq_test *t, const struct kq_memory_plan *p,
		      struct kq_hugepages *hp, struct kq_result *res)
{
	hp->guard_fd = -1;
	hp->previous = -1;
	if (!kq_test_param_bool(t, "reserve_hugepages", false) ||
	    (t->backing != KQ_BACK_HUGETLB_2M && t->backing != KQ_BACK_HUGETLB_1G))
		return 0;
	char err[256];
	unsigned long kb = (unsigned long)(kq_backing_page_size(t->backing) >> 10);
	if (kq_hugepages_reserve(hp, kb, pages_needed(t, p), err, sizeof(err)) < 0) {
		kq_result_set_status(res, KQ_SKIP, "reserve_hugepages: %s%s", err,
				     kq_memory_remedy(t, p));
		return -1;
	}
	if (hp->previous >= 0)
		kq_result_diag(res, "reserved %lu kB hugepages (previous pool %ld, restored after)",
			       kb, hp->previous);
	return 0;
}
