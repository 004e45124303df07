/* TEST-ONLY: see plant.h. */
#include "isolation-tests/plant.h"

#include <stdlib.h>
#include <string.h>

bool kq_iso_planted(const char *what, struct kq_result *res)
{
	const char *p = getenv(KQ_PLANT_ENV);
	size_t n = strlen(what);
	/* A comma-separated list: the integration test plants all in one run. */
	for (; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, what, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			break;
	if (!p || !*p)
		return false;
	if (res) {
		kq_result_set_evidence(res, "planted", json_string(what));
		kq_result_diag(res, "%s=%s: a violation is planted on purpose (test-only)",
			       KQ_PLANT_ENV, what);
	}
	return true;
}
