#include "core/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int kq_mkdir_p(const char *dir)
{
	char *d = strdup(dir);
	if (!d)
		return -1;
	for (char *c = d + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(d, 0755) != 0 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*c = '/';
	}
	int rc = 0;
	if (mkdir(d, 0755) != 0) {
		struct stat st;
		if (errno != EEXIST || stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			rc = -1;
		}
	}
	free(d);
	return rc;
}

int kq_mkdir_parents(const char *file)
{
	char *d = strdup(file);
	if (!d)
		return -1;
	char *slash = strrchr(d, '/');
	int rc = 0;
	if (slash && slash != d) {
		*slash = '\0';
		rc = kq_mkdir_p(d);
	}
	free(d);
	return rc;
}
