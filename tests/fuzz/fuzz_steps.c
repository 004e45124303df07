/* libFuzzer target: the step-script parser (core/steps_parse.c). A parse
 * error is an expected outcome; a crash, sanitizer report or hang is a
 * defect, and so is a result that breaks the parser's own contract. */
#include "core/steps_parse.h"
#include "tests/fuzz/input.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *script = fuzz_cstring(data, size);
	struct kq_step steps[KQ_MAX_STEPS_ABI];
	char err[256] = "";
	int n = kq_steps_parse(script, steps, KQ_MAX_STEPS_ABI, err, sizeof(err));
	if (n == 0 || n > KQ_MAX_STEPS_ABI || (n < 0 && !err[0]))
		__builtin_trap(); /* steps, or -1 with a message */
	for (int i = 0; i < n; i++)
		if (strcmp(kq_step_op_name(steps[i].op), "?") == 0)
			__builtin_trap(); /* every parsed op has a name */
	free(script);
	return 0;
}
