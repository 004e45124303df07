#include "runner/progress.h"

#include <math.h>
#include <string.h>

/* A progress line appears once a test has run this long. */
#define KQ_PROGRESS_AFTER_S 3.0

static FILE *tick_out;
static const struct kq_run_opts *tick_opts;
static bool tick_shown;

static bool is_time_unit(const char *u)
{
	return u && (strcmp(u, "ns") == 0 || strcmp(u, "us") == 0 || strcmp(u, "ms") == 0 ||
		     strcmp(u, "s") == 0);
}

static bool is_reference(const json_t *m)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *kind = json_string_value(json_object_get(json_object_get(m, "labels"), "kind"));
	return json_is_true(json_object_get(json_object_get(m, "labels"), "reference")) ||
	       (name && strncmp(name, "reference.", 10) == 0) ||
	       (kind && strncmp(kind, "reference.", 10) == 0);
}

/* A time in the unit people read it in: 3850 ns is 3.85 us. */
static void put_time(struct kq_buf *b, double v, const char *unit)
{
	static const char *const units[] = {"ns", "us", "ms", "s"};
	int u = 0;
	while (u < 3 && strcmp(units[u], unit) != 0)
		u++;
	while (u < 3 && fabs(v) >= 1000) {
		v /= 1000;
		u++;
	}
	kq_buf_human(b, v, 3);
	kq_buf_printf(b, " %s", units[u]);
}

void kq_headline(const json_t *res, struct kq_buf *b)
{
	const json_t *metrics = json_object_get(res, "metrics"), *pick = NULL, *m;
	size_t i;
	for (int pass = 0; pass < 3 && !pick; pass++)
		json_array_foreach(metrics, i, m)
		{
			bool sampled =
			    json_is_number(json_object_get(json_object_get(m, "stats"), "median"));
			const char *unit = json_string_value(json_object_get(m, "unit"));
			if (is_reference(m) || (pass < 2 && !sampled) ||
			    (pass == 2 && !json_is_number(json_object_get(m, "value"))) ||
			    (pass == 0 && !is_time_unit(unit)))
				continue;
			pick = m;
			break;
		}
	if (!pick)
		return;
	const char *unit = json_string_value(json_object_get(pick, "unit"));
	const json_t *med = json_object_get(json_object_get(pick, "stats"), "median");
	if (json_is_number(med)) {
		if (is_time_unit(unit))
			put_time(b, json_number_value(med), unit);
		else {
			kq_buf_human(b, json_number_value(med), 3);
			kq_buf_printf(b, " %s", unit ? unit : "");
		}
		kq_buf_puts(b, " median");
	} else {
		kq_buf_printf(b, "%s ", json_string_value(json_object_get(pick, "name")));
		kq_buf_human(b, json_number_value(json_object_get(pick, "value")), 3);
		if (unit && *unit && strcmp(unit, "ratio") != 0)
			kq_buf_printf(b, " %s", unit);
	}
	const char *where =
	    json_string_value(json_object_get(json_object_get(pick, "labels"), "handled_in"));
	if (where && *where && strcmp(where, "none") != 0)
		kq_buf_printf(b, ", %s", where);
}

static void clear_tick(void)
{
	if (tick_shown && tick_out)
		fputs("\r\033[K", tick_out);
	tick_shown = false;
}

void kq_progress_result(FILE *f, const json_t *res, int name_width)
{
	const char *status = json_string_value(json_object_get(res, "status"));
	const char *name = json_string_value(json_object_get(res, "name"));
	const char *reason = json_string_value(json_object_get(res, "reason"));
	const char *word = !status			 ? "????"
			   : strcmp(status, "pass") == 0 ? "PASS"
			   : strcmp(status, "skip") == 0 ? "SKIP"
							 : "FAIL";
	struct kq_buf b = KQ_BUF_INIT;
	if (word[0] == 'P')
		kq_headline(res, &b);
	else
		kq_buf_puts(&b, reason && *reason ? reason : "no reason given");
	clear_tick();
	fprintf(f, "%s  %-*s  %s\n", word, name_width, name ? name : "?", kq_buf_str(&b));
	fflush(f);
	kq_buf_free(&b);
}

void kq_progress_start(FILE *f, const struct kq_run_opts *o)
{
	tick_out = f;
	tick_opts = o;
	tick_shown = false;
}

void kq_progress_tick(const struct kq_test *t, double elapsed_s)
{
	if (!tick_out || elapsed_s < KQ_PROGRESS_AFTER_S)
		return;
	double goal_s = tick_opts ? kq_test_time_goal_ms(t, tick_opts) / 1000 : 0;
	fprintf(tick_out,
		"\r\033[K ...  %s  %.0f s; time goal %.3g s per measurement, limit %.0f s", t->name,
		elapsed_s, goal_s, t->time_limit_s);
	fflush(tick_out);
	tick_shown = true;
}

void kq_progress_summary(FILE *f, const json_t *doc, double seconds)
{
	const json_t *sum = json_object_get(doc, "summary");
	clear_tick();
	long long total = json_integer_value(json_object_get(sum, "total"));
	fprintf(f, "\n%lld test%s: %lld passed, %lld failed, %lld skipped in %.1f s\n", total,
		total == 1 ? "" : "s", json_integer_value(json_object_get(sum, "pass")),
		json_integer_value(json_object_get(sum, "fail")),
		json_integer_value(json_object_get(sum, "skip")), seconds);
	size_t i;
	json_t *t;
	bool first = true;
	json_array_foreach(json_object_get(doc, "tests"), i, t)
	{
		const char *st = json_string_value(json_object_get(t, "status"));
		if (!st || strcmp(st, "fail") != 0)
			continue;
		if (first)
			fputs("failed:\n", f);
		first = false;
		fprintf(f, "  %s: %s\n", json_string_value(json_object_get(t, "name")),
			json_string_value(json_object_get(t, "reason")));
	}
	fflush(f);
}
