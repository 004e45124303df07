/* Small helpers shared by the report, compare and export commands. */
#ifndef KQ_REPORTS_CLI_H
#define KQ_REPORTS_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strbuf.h"

enum { KQ_FMT_HTML = 1, KQ_FMT_MD = 2 };

/* "html,md" -> bit set; -1 with a message naming the bad word. */
int kq_cli_formats(const char *s, char *err, size_t errlen);
/* DIR/NAME (malloc'd). */
char *kq_cli_path_join(const char *dir, const char *name);
/* The folder holding PATH_OR_DIR's results.json (malloc'd). */
char *kq_cli_results_dir(const char *path_or_dir);
/* Writes B to PATH, or to stdout when PATH is "-". Returns 0 or -1, message in err. */
int kq_cli_write(const struct kq_buf *b, const char *path, char *err, size_t errlen);

#endif
