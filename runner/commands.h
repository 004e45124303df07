/* Subcommands of the kvmqual binary; each takes argv with argv[0] = its name. */
#ifndef KQ_RUNNER_COMMANDS_H
#define KQ_RUNNER_COMMANDS_H

int kq_list_main(int argc, char **argv);    /* runner/cmd_list.c */
int kq_run_main(int argc, char **argv);	    /* runner/cmd_run.c */
int kq_probe_main(int argc, char **argv);   /* probes/ */
int kq_report_main(int argc, char **argv);  /* reports/ */
int kq_compare_main(int argc, char **argv); /* reports/ */
int kq_export_main(int argc, char **argv);  /* reports/ */
int kq_db_main(int argc, char **argv);	    /* reports/db_cmd.c */
int kq_history_main(int argc, char **argv); /* reports/history_cmd.c */
int kq_fleet_main(int argc, char **argv);   /* reports/fleet_cmd.c */
int kq_migrate_main(int argc, char **argv); /* migration-bench/ */

#include "core/exit_codes.h"

#define KQ_VERSION	"0.1.0"
#define KQ_DEFAULT_CONF "suite.conf"

#endif
