#include "reports/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/results_load.h"

int kq_cli_formats(const char *s, char *err, size_t errlen)
{
	int set = 0;
	const char *p = s;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 4 && strncmp(p, "html", 4) == 0)
			set |= KQ_FMT_HTML;
		else if ((n == 2 && strncmp(p, "md", 2) == 0) ||
			 (n == 8 && strncmp(p, "markdown", 8) == 0))
			set |= KQ_FMT_MD;
		else if (n) {
			snprintf(err, errlen, "--format: unknown format \"%.*s\" (known: html, md)",
				 (int)n, p);
			return -1;
		}
		p += n + (comma ? 1 : 0);
	}
	if (!set) {
		snprintf(err, errlen, "--format: no format given (known: html, md)");
		return -1;
	}
	return set;
}

char *kq_cli_path_join(const char *dir, const char *name)
{
	char *s = NULL;
	size_t n = strlen(dir);
	if (asprintf(&s, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

char *kq_cli_results_dir(const char *path_or_dir)
{
	char *p = kq_results_path(path_or_dir);
	if (!p)
		return NULL;
	char *slash = strrchr(p, '/');
	if (!slash) {
		free(p);
		return strdup(".");
	}
	if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	return p;
}

int kq_cli_write(const struct kq_buf *b, const char *path, char *err, size_t errlen)
{
	if (strcmp(path, "-") == 0) {
		if (b->failed) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (fwrite(kq_buf_str(b), 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
			snprintf(err, errlen, "cannot write standard output: %s", strerror(errno));
			clearerr(stdout); /* reported here, once */
			return -1;
		}
		return 0;
	}
	return kq_buf_save(b, path, err, errlen);
}
