#include "reports/db_time.h"

#include <ctype.h>
#include <string.h>

int kq_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;
	memset(&tm, 0, sizeof(tm));
	if (!s || !(end = strptime(s, "%Y-%m-%d", &tm)))
		return -1;
	if (*end == 'T' || *end == ' ') {
		const char *e = strptime(end + 1, "%H:%M:%S", &tm);
		if (!e)
			return -1;
		end = e;
		if (*end == '.')
			for (end++; isdigit((unsigned char)*end); end++)
				;
		if (*end == 'Z')
			end++;
	}
	if (*end)
		return -1;
	*out = timegm(&tm);
	return 0;
}
