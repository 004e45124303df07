/* The chart kinds, drawn in this order. A new kind of result (memory curves,
 * heatmaps, migration downtime, covert-channel capacity...) adds its chart by
 * writing a chart_<name>.c with a struct kq_chart_kind and one line here. */
#include "reports/chart_plot.h"

extern const struct kq_chart_kind kq_chart_exit_latency;
extern const struct kq_chart_kind kq_chart_latency_cdf;
extern const struct kq_chart_kind kq_chart_scaling;
extern const struct kq_chart_kind kq_chart_reference_ratio;
extern const struct kq_chart_kind kq_chart_memory_curves;
extern const struct kq_chart_kind kq_chart_memory_heatmap;
extern const struct kq_chart_kind kq_chart_memory_dirty;
extern const struct kq_chart_kind kq_chart_memory_slots;
extern const struct kq_chart_kind kq_chart_memory_vmcreate;
extern const struct kq_chart_kind kq_chart_covert_capacity;
extern const struct kq_chart_kind kq_chart_noisy_slowdown;
extern const struct kq_chart_kind kq_chart_migration_iterations;
extern const struct kq_chart_kind kq_chart_migration_downtime;
extern const struct kq_chart_kind kq_chart_migration_sweep;

const struct kq_chart_kind *const kq_chart_kinds[] = {
    &kq_chart_exit_latency,	  &kq_chart_latency_cdf,     &kq_chart_scaling,
    &kq_chart_reference_ratio,	  &kq_chart_memory_curves,   &kq_chart_memory_heatmap,
    &kq_chart_memory_dirty,	  &kq_chart_memory_slots,    &kq_chart_memory_vmcreate,
    &kq_chart_covert_capacity,	  &kq_chart_noisy_slowdown,  &kq_chart_migration_iterations,
    &kq_chart_migration_downtime, &kq_chart_migration_sweep,
};

const size_t kq_chart_nkinds = sizeof(kq_chart_kinds) / sizeof(kq_chart_kinds[0]);
