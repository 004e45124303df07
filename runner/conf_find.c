/* Where the default suite.conf is: the current folder first, then beside the
 * binary (build/kvmqual finds the checkout's), its parent, and the install
 * layout's share/kvmqual. */
#include "runner/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int kq_suite_find_file(const char *name, char *out, size_t outlen, char *looked, size_t lookedlen)
{
	if (access(name, F_OK) == 0 || strchr(name, '/')) {
		snprintf(out, outlen, "%s", name);
		return 0;
	}
	char cwd[PATH_MAX] = "?", exe[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "? (%s)", strerror(errno));
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(looked, lookedlen,
			 "%s (the binary's folder is unknown: /proc/self/exe: %s)", cwd,
			 n < 0 ? strerror(errno) : "empty");
		return -1;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	/* The parent resolved, so that the message names folders without "..". */
	char parent[PATH_MAX + 8], real[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s/..", exe);
	if (realpath(parent, real))
		snprintf(parent, sizeof(parent), "%s", real);
	char dirs[3][PATH_MAX + 32];
	snprintf(dirs[0], sizeof(dirs[0]), "%s", exe);
	snprintf(dirs[1], sizeof(dirs[1]), "%s", parent);
	snprintf(dirs[2], sizeof(dirs[2]), "%s/share/kvmqual", parent);
	size_t used = (size_t)snprintf(looked, lookedlen, "%s", cwd);
	for (int i = 0; i < 3; i++) {
		if (used < lookedlen)
			used += (size_t)snprintf(looked + used, lookedlen - used, ", %s", dirs[i]);
		if ((size_t)snprintf(out, outlen, "%s/%s", dirs[i], name) < outlen &&
		    access(out, F_OK) == 0)
			return 0;
	}
	return -1;
}
