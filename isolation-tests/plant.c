/* TEST-ONLY: see plant.h. */
#include "isolation-tests/plant.h"

#include <stdlib.h>
#include <string.h>

bool kq_iso_planted(const char *what, struct kq_result *res)
{
	const char *p = getenv(KQ_PLANT_ENV);
	if (!p || strcmp(p, what) != 0)
		return false;
	if (res) {
		kq_result_set_evidence(res, "planted", json_string(what));
		kq_result_diag(res, "%s=%s: a violation is planted on purpose (test-only)",
			       KQ_PLANT_ENV, what);
	}
	return true;
}
