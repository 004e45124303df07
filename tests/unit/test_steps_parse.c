/* The step-script parser: each op and argument form, and each argument out
 * of its range refused with the step named (several found by fuzzing:
 * tests/fuzz/corpus/steps/regress-*). */
#include "core/steps_parse.h"
#include "tests/tap.h"

#include <stdint.h>
#include <stdlib.h>

static struct kq_step steps[KQ_MAX_STEPS_ABI];
static char err[256];

static int parse(const char *script)
{
	err[0] = '\0';
	return kq_steps_parse(script, steps, KQ_MAX_STEPS_ABI, err, sizeof(err));
}

static void bad(const char *script, const char *needle)
{
	ok(parse(script) == -1, "'%.40s' is refused", script);
	has_substr(err, needle, "'%.40s': says why", script);
}

int main(void)
{
	is_int(parse("cpuid 1000 0x80000001; pio 5\n spin 5ms; touch 16M 4K; sync 7"), 5,
	       "five steps, ';' and newlines both separate");
	ok(steps[0].op == KQ_STEP_CPUID && steps[0].arg[0] == 1000 &&
	       steps[0].arg[1] == 0x80000001u,
	   "cpuid: iterations and leaf");
	is_int(steps[2].arg[0], 5000, "spin 5ms is 5000 us");
	ok(steps[3].arg[0] == 16u << 20 && steps[3].arg[1] == 4096, "touch: size and stride");
	is_str(kq_step_op_name(steps[4].op), "sync", "op names");

	is_int(parse("cpuid 1 0xffffffff"), 1, "the largest 32-bit leaf");
	is_int(parse("spin 1h"), -1, "no unit 'h' (durations are s, ms, us, m, min)");
	is_int(parse("spin 60m"), 1, "spin 60m, the longest spin, is accepted");
	ok(steps[0].arg[0] == 3600000000ull, "and is 3.6e9 us");
	is_int(parse("spin 1us"), 1, "spin 1us, the shortest, is accepted");

	/* Found by fuzzing: 1e31 s in microseconds overflowed the conversion to
	 * an integer (undefined behaviour). */
	bad("spin 1e31", "step 1: bad argument '1e31' (usage: spin DURATION (1us to 1h");
	bad("spin 61m", "bad argument '61m'");
	bad("spin 0.1us", "bad argument '0.1us'");
	bad("spin 0", "bad argument '0'");
	/* The guest takes a 32-bit leaf: 0x100000000 used to run leaf 0. */
	bad("cpuid 10 0x100000000", "step 1: bad argument '0x100000000'");
	bad("pio 1; touch 0", "step 2: bad argument '0'");
	bad("touch 1M 0", "bad argument '0'");
	bad("cpuid -1", "bad argument '-1'");
	bad("cpuid 1 2 3", "bad argument '3'");
	bad("pio", "step 1: missing argument");
	bad("jump 3", "unknown op 'jump'");
	bad(" ; ;\t; ", "no steps");

	/* A script longer than the parser's buffer was cut silently. */
	char *longscript = malloc(2048);
	size_t n = 0;
	while (n + 8 < 2048)
		n += (size_t)snprintf(longscript + n, 2048 - n, "pio 1;  ");
	bad(longscript, "script longer than 1023 characters");
	free(longscript);

	char many[1024] = "";
	for (int i = 0; i <= KQ_MAX_STEPS_ABI; i++)
		strcat(many, "sync 1;");
	bad(many, "more than 64 steps");
	return done_testing();
}
