/* memory.matrix's keys are checked when suite.conf is loaded: bad input is a
 * file:line error and nothing runs. */
#include "tests/tap.h"
#include "runner/conf.h"

#include <stdlib.h>
#include <unistd.h>

static const char *load(const char *text, int *rc)
{
	static char path[64], errors[4096];
	static struct kq_suite s;
	snprintf(path, sizeof(path), "/tmp/kq-memconf-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return "cannot write a temporary file";
	close(fd);
	*rc = kq_suite_load(&s, path);
	snprintf(errors, sizeof(errors), "%s", s.errors);
	if (*rc == 0)
		kq_suite_free(&s);
	unlink(path);
	/* Strip the temporary path so messages compare. */
	char *p = strstr(errors, path);
	if (p)
		memmove(errors, p + strlen(path), strlen(p + strlen(path)) + 1);
	return errors;
}

static void bad(const char *what, const char *text, const char *want)
{
	int rc = 0;
	const char *err = load(text, &rc);
	ok(rc < 0 && strstr(err, want) != NULL, "%s: rejected with '%s'", what, want);
	if (rc == 0 || !strstr(err, want))
		printf("#   got: %s\n", err);
}

int main(void)
{
	int rc = -1;
	const char *err = load("[m]\nworkload = memory.matrix\npage_size = 2M\nbacking = thp\n"
			       "memory = 64M\nmax_set = 64M\n",
			       &rc);
	ok(rc == 0, "a good memory.matrix section loads (%s)", err);
	bad("working set larger than the slot",
	    "[m]\nworkload = memory.matrix\nmemory = 64M\n\nmax_set = 128M\n",
	    ":5: [m]: max_set (134217728 bytes) is larger than the test slot");
	bad("quick working set larger than the slot",
	    "[m]\nworkload = memory.matrix\nmemory = 8M\nquick_max_set = 16M\n",
	    ":4: [m]: quick_max_set");
	bad("memory the backing cannot hold",
	    "[m]\nworkload = memory.matrix\nbacking = hugetlb-1g\nmemory = 512M\n",
	    ":4: [m]: memory = 536870912 bytes: backing hugetlb-1g holds memory only in whole "
	    "1048576 KiB pages");
	bad("memory not a multiple of the guest page size",
	    "[m]\nworkload = memory.matrix\npage_size = 2M\nmemory = 3M\n",
	    ":4: memory must be a multiple of page_size 2M");
	bad("working set below 16K", "[m]\nworkload = memory.matrix\nmin_set = 8K\n",
	    ":3: [m]: min_set = 8192: must be at least 16K");
	bad("unknown kernel", "[m]\nworkload = memory.matrix\nkernels = chase walk\n",
	    ":3: [m]: kernels: unknown kernel 'walk'");
	bad("not a size", "[m]\nworkload = memory.matrix\nmax_set = lots\n",
	    ":3: max_set = 'lots'");
	return done_testing();
}
