/* libFuzzer target: the suite.conf loader (runner/conf.c: inih, every key,
 * thresholds, step scripts, each driver's validate), reading the input as a
 * file. A parse error is an expected outcome; a crash, leak, sanitizer
 * report or hang is a defect. */
#include "runner/conf.h"
#include "tests/fuzz/input.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kq_suite s;
	if (kq_suite_load(&s, fuzz_file(data, size)) == 0) {
		/* What the runner does next with a loaded suite. */
		for (int i = 0; i < s.ntests; i++)
			if (kq_suite_find(&s, s.tests[i].name) == NULL ||
			    (s.tests[i].ngroups &&
			     !kq_test_in_group(&s.tests[i], s.tests[i].groups[0])))
				__builtin_trap();
	} else if (s.nerrors == 0 || s.ntests != 0 ||
		   memchr(s.errors, '\n', sizeof(s.errors)) == NULL) {
		__builtin_trap(); /* a failed load names at least one error and keeps no tests */
	}
	kq_suite_free(&s);
	return 0;
}
