/* The row ids of workloads/exit_table.def, for the host drivers and the
 * guest alike (exit.scaling names the row it runs by its id). */
#ifndef KQ_WORKLOADS_EXIT_TABLE_H
#define KQ_WORKLOADS_EXIT_TABLE_H

enum kq_exit_id {
#define KQ_EXIT(id, ...) KQ_EXIT_ID_##id,
#include "workloads/exit_table.def"
#undef KQ_EXIT
	KQ_EXIT_COUNT
};

#endif
