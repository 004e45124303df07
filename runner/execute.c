#include "runner/execute.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/labels.h"
#include "core/outfile.h"
#include "core/stats.h"
#include "vmm/vm.h"

/* Extra time the child gets beyond the test's limit before SIGKILL: its own
 * watchdog fires first and reports where the guest was. */
#define KQ_KILL_GRACE_S 5.0
#define KQ_STDERR_KEEP	4096
#define KQ_MAX_REPEAT	64

volatile sig_atomic_t kq_stop_signal;
void (*kq_execute_progress)(const struct kq_test *t, double elapsed_s);
/* The process group of the test running now, 0 between tests. */
static volatile sig_atomic_t running_pgid;

/* The first signal stops the run: the running test's process group is killed
 * at once, the runner writes what finished. A second one stops the runner. */
static void on_stop_signal(int sig)
{
	if (kq_stop_signal) {
		kq_outfile_cleanup();
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	kq_stop_signal = sig;
	if (running_pgid > 0)
		kill(-(pid_t)running_pgid, SIGKILL);
}

void kq_execute_on_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: poll wakes */
	sigemptyset(&sa.sa_mask);
	const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue; /* nohup: stays ignored */
		sigaction(sigs[i], &sa, NULL);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(70);
		s += w;
		n -= (size_t)w;
	}
}

static void __attribute__((noreturn))
child(const struct kq_test *t, const struct kq_run_opts *o, int out_fd, int err_fd, pid_t parent)
{
	setpgid(0, 0);
	/* The runner's handlers are not the test's; and a test whose runner died
	 * (SIGKILL, a crash) must not live on holding its VM. */
	const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(72);
	if (getppid() != parent) /* the runner died before the line above */
		_exit(73);
	/* Nothing a driver prints may reach the TAP stream on stdout. */
	dup2(err_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	close(err_fd);
	struct kq_result res;
	kq_result_init(&res, t->name);
	const struct kq_driver *d = kq_driver_find(t->workload);
	d->run(d, t, o, &res);
	char *s = json_dumps(res.obj, JSON_COMPACT);
	if (!s)
		_exit(71);
	write_all(out_fd, s, strlen(s));
	_exit(0);
}

struct buf {
	char *data;
	size_t len;
};

static int drain(int fd, struct buf *b, size_t keep_tail)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n <= 0)
		return n < 0 && errno == EINTR ? 1 : 0;
	char *p = realloc(b->data, b->len + (size_t)n + 1);
	if (!p)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	if (keep_tail && b->len > keep_tail) {
		memmove(b->data, b->data + b->len - keep_tail, keep_tail);
		b->len = keep_tail;
	}
	b->data[b->len] = 0;
	return 1;
}

static json_t *failure(const struct kq_test *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *failure(const struct kq_test *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct kq_result r;
	kq_result_init(&r, t->name);
	kq_result_set_status(&r, KQ_FAIL, "%s", msg);
	return r.obj;
}

static void add_stderr(json_t *res, struct buf *err)
{
	if (!err->len)
		return;
	json_t *diag = json_object_get(res, "diagnostics");
	char *save;
	for (char *line = strtok_r(err->data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_array_append_new(diag, json_sprintf("stderr: %s", line));
}

static void add_config(const struct kq_test *t, json_t *res, double duration)
{
	json_t *groups = json_array();
	for (int i = 0; i < t->ngroups; i++)
		json_array_append_new(groups, json_string(t->groups[i]));
	json_t *params = json_object();
	for (int i = 0; i < t->nparams; i++)
		if (t->params[i].line >= 0)
			json_object_set_new(params, t->params[i].key,
					    json_string(t->params[i].value));
	json_object_set_new(res, "workload", json_string(t->workload));
	json_object_set_new(res, "groups", groups);
	json_object_set_new(res, "duration_s", json_real(duration));
	json_object_set_new(res, "config",
			    json_pack("{s:i, s:I, s:s, s:s, s:f, s:o}", "vcpus", t->vcpus, "memory",
				      (json_int_t)t->mem_bytes, "backing",
				      kq_backing_name(t->backing), "page_size",
				      kq_page_size_name(t->page_size), "time_limit_s",
				      t->time_limit_s, "params", params));
	if (t->steps[0])
		json_object_set_new(json_object_get(res, "config"), "steps", json_string(t->steps));
}

json_t *kq_execute_test(const struct kq_test *t, const struct kq_run_opts *o)
{
	int outp[2], errp[2];
	double t0 = now_s();
	if (pipe2(outp, O_CLOEXEC) < 0)
		return failure(t, "pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(outp[0]);
		close(outp[1]);
		return failure(t, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(outp[0]), close(outp[1]), close(errp[0]), close(errp[1]);
		return failure(t, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(outp[0]);
		close(errp[0]);
		child(t, o, outp[1], errp[1], parent);
	}
	setpgid(pid, pid); /* also from here: no race with the child's own call */
	running_pgid = pid;
	close(outp[1]);
	close(errp[1]);

	struct buf out = {0}, err = {0};
	double deadline = t0 + t->time_limit_s + KQ_KILL_GRACE_S;
	bool killed = false, interrupted = false;
	struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds) {
		double left = deadline - now_s();
		if (kq_stop_signal) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL); /* in case its group did not exist yet */
			interrupted = true;
			break;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			killed = true;
			break;
		}
		if (kq_execute_progress) {
			kq_execute_progress(t, now_s() - t0);
			if (left > 1)
				left = 1; /* the progress line moves once a second */
		}
		int r = poll(fds, 2, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2 && r > 0; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!drain(fds[i].fd, i ? &err : &out, i ? KQ_STDERR_KEEP : 0)) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	running_pgid = 0;
	kill(-pid, SIGKILL); /* anything it left running in its group */
	double duration = now_s() - t0;

	json_t *res = NULL;
	if (interrupted) {
		res = failure(t, "interrupted by SIG%s after %.1f s; the test was stopped",
			      sigabbrev_np(kq_stop_signal) ? sigabbrev_np(kq_stop_signal) : "?",
			      duration);
		json_object_set_new(res, "interrupted", json_true());
	} else if (killed) {
		res = failure(t, "exceeded its time limit of %.1f s (+%.0f s grace) and was killed",
			      t->time_limit_s, KQ_KILL_GRACE_S);
	} else if (WIFSIGNALED(status)) {
		res =
		    failure(t, "crashed: killed by signal %d (SIG%s)", WTERMSIG(status),
			    sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	} else if (WEXITSTATUS(status) != 0 || !out.len) {
		res = failure(t, "test process exited with status %d without a result",
			      WEXITSTATUS(status));
	} else {
		json_error_t je;
		res = json_loadb(out.data, out.len, 0, &je);
		if (!res)
			res = failure(t, "unreadable result from the test process: %s at byte %d",
				      je.text, je.position);
	}
	add_stderr(res, &err);
	add_config(t, res, duration);
	free(out.data);
	free(err.data);
	return res;
}

static const char *stat_of(const json_t *m, const char *stat, double *v)
{
	const json_t *x = strcmp(stat, "value") == 0
			      ? json_object_get(m, "value")
			      : json_object_get(json_object_get(m, "stats"), stat);
	if (!json_is_number(x))
		return "statistic not present in the metric";
	*v = json_number_value(x);
	return NULL;
}

void kq_apply_thresholds(const struct kq_test *t, json_t *res)
{
	if (!t->nthresholds)
		return;
	json_t *verdict = json_array();
	json_object_set_new(res, "verdict", verdict);
	bool measured = strcmp(json_string_value(json_object_get(res, "status")), "pass") == 0;
	for (int i = 0; i < t->nthresholds; i++) {
		const struct kq_threshold *th = &t->thresholds[i];
		const json_t *m = NULL;
		size_t k;
		json_t *x;
		json_array_foreach(json_object_get(res, "metrics"), k, x)
		{
			if (strcmp(json_string_value(json_object_get(x, "name")), th->metric) == 0)
				m = x;
		}
		double v = 0;
		const char *why = m ? stat_of(m, th->stat, &v) : "no such metric in the result";
		bool okv = !why && (th->is_max ? v <= th->limit : v >= th->limit);
		json_t *e =
		    json_pack("{s:s, s:s, s:s, s:f, s:b}", "metric", th->metric, "stat", th->stat,
			      "op", th->is_max ? "<=" : ">=", "limit", th->limit, "ok", okv);
		if (!why)
			json_object_set_new(e, "observed", json_real(v));
		else
			json_object_set_new(e, "error", json_string(why));
		json_array_append_new(verdict, e);
		if (measured && !okv) {
			char msg[512];
			if (why)
				snprintf(msg, sizeof(msg), "threshold %s.%s (%s:%d): %s",
					 th->metric, th->stat, t->file, th->line, why);
			else
				snprintf(msg, sizeof(msg),
					 "%s %s %.6g is %s the limit %.6g (%s:%d)", th->metric,
					 th->stat, v, th->is_max ? "above" : "below", th->limit,
					 t->file, th->line);
			const char *old = json_string_value(json_object_get(res, "status"));
			if (strcmp(old, "fail") != 0) {
				json_object_set_new(res, "status", json_string("fail"));
				json_object_set_new(res, "reason", json_string(msg));
			}
		}
	}
}

static bool labels_contained(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v)
	{
		if (!kq_is_measurement_label(key) && !json_equal(v, json_object_get(b, key)))
			return false;
	}
	return true;
}

/* One measurement across runs: the same name, unit and labels (scaling
 * metrics share a name and differ by labels.vcpus and labels.vcpu). */
static bool same_metric(const json_t *a, const json_t *b)
{
	const json_t *la = json_object_get(a, "labels"), *lb = json_object_get(b, "labels");
	return json_object_get(b, "stats") &&
	       json_equal(json_object_get(a, "name"), json_object_get(b, "name")) &&
	       json_equal(json_object_get(a, "unit"), json_object_get(b, "unit")) &&
	       labels_contained(la, lb) && labels_contained(lb, la);
}

/* One metric identity across the repeats: the pooled metric (a copy of its
 * first appearance) and each repeat's own median, for the CV of medians. */
struct pooled {
	json_t *m;
	double med[KQ_MAX_REPEAT];
	int nmed;
	bool all_sampled; /* every contribution carried its samples */
};

static bool same_value_metric(const json_t *a, const json_t *b)
{
	const json_t *la = json_object_get(a, "labels"), *lb = json_object_get(b, "labels");
	return json_object_get(b, "value") && !json_object_get(b, "stats") &&
	       json_equal(json_object_get(a, "name"), json_object_get(b, "name")) &&
	       json_equal(json_object_get(a, "unit"), json_object_get(b, "unit")) &&
	       labels_contained(la, lb) && labels_contained(lb, la);
}

/* A measurement label (batch_size, ...) that differs between repeats says
 * nothing true about the pool: it is dropped. */
static void drop_differing_labels(json_t *pooled, const json_t *x)
{
	json_t *lp = json_object_get(pooled, "labels"), *lx = json_object_get(x, "labels");
	for (const char *const *l = kq_measurement_labels; *l; l++)
		if (json_object_get(lp, *l) &&
		    !json_equal(json_object_get(lp, *l), json_object_get(lx, *l)))
			json_object_del(lp, *l);
}

static void pool_add(struct pooled *p, const json_t *x, int r)
{
	json_t *m = p->m;
	bool sampled = json_object_get(m, "stats") != NULL;
	if (sampled) {
		const json_t *med = json_object_get(json_object_get(x, "stats"), "median");
		if (json_is_number(med) && p->nmed < KQ_MAX_REPEAT)
			p->med[p->nmed++] = json_number_value(med);
		json_t *xs = json_object_get(x, "samples");
		json_t *per = json_object_get(m, "samples_per_repeat");
		json_array_set_new(per, (size_t)r,
				   json_integer(json_integer_value(json_array_get(per, (size_t)r)) +
						(json_int_t)json_array_size(xs)));
		if (x != m && json_is_array(xs))
			json_array_extend(json_object_get(m, "samples"), xs);
	} else {
		json_array_set(json_object_get(m, "repeat_values"), (size_t)r,
			       json_object_get(x, "value"));
	}
}

/* Statistics over the pool: every repeat's samples (or values) together. */
static void pool_finish(struct pooled *p)
{
	json_t *m = p->m;
	bool sampled = json_object_get(m, "stats") != NULL;
	json_t *arr = json_object_get(m, sampled ? "samples" : "repeat_values");
	size_t n = 0, i;
	json_t *x;
	double *v = malloc((json_array_size(arr) + 1) * sizeof(*v));
	if (!v)
		return;
	json_array_foreach(arr, i, x)
	{
		if (json_is_number(x))
			v[n++] = json_number_value(x);
	}
	struct kq_stats st;
	if (n && (!sampled || p->all_sampled) && kq_stats_compute(v, n, &st) == 0) {
		if (sampled)
			json_object_set_new(m, "stats", kq_stats_json(&st));
		else
			json_object_set_new(m, "value", json_real(st.median));
	}
	free(v);
}

static struct pooled *pool_find(struct pooled *p, size_t np, const json_t *x)
{
	for (size_t i = 0; i < np; i++)
		if (json_object_get(p[i].m, "stats") ? same_metric(p[i].m, x)
						     : same_value_metric(p[i].m, x))
			return &p[i];
	return NULL;
}

/* The per-repeat bookkeeping a pooled metric starts with: zero samples, or
 * no value, for every repeat. */
static void pool_start(json_t *m, int k)
{
	bool sampled = json_object_get(m, "stats") != NULL;
	json_t *per = json_array();
	for (int r = 0; r < k; r++)
		json_array_append_new(per, sampled ? json_integer(0) : json_null());
	json_object_set_new(m, sampled ? "samples_per_repeat" : "repeat_values", per);
	if (sampled && !json_is_array(json_object_get(m, "samples")))
		json_object_set_new(m, "samples", json_array());
}

/* Pools every repeat's metrics into the first run's list: a metric of a
 * later repeat joins the one of the same identity, or is added. */
static int pool_metrics(json_t **runs, int k, json_t *cv_out)
{
	json_t *metrics = json_object_get(runs[0], "metrics");
	if (!json_is_array(metrics)) {
		metrics = json_array();
		json_object_set_new(runs[0], "metrics", metrics);
	}
	size_t cap = 0, np = 0;
	for (int r = 0; r < k; r++)
		cap += json_array_size(json_object_get(runs[r], "metrics"));
	struct pooled *pool = calloc(cap + 1, sizeof(*pool));
	if (!pool)
		return -1;
	for (int r = 0; r < k; r++) {
		json_t *src = json_object_get(runs[r], "metrics");
		size_t i, n0 = json_array_size(src);
		for (i = 0; i < n0; i++) {
			json_t *x = json_array_get(src, i);
			if (!json_object_get(x, "stats") && !json_object_get(x, "value"))
				continue;
			bool has_samples = json_is_array(json_object_get(x, "samples"));
			struct pooled *p = pool_find(pool, np, x);
			if (!p) {
				p = &pool[np++];
				p->all_sampled = true;
				p->m = r ? json_deep_copy(x) : x;
				if (r) {
					json_object_set_new(p->m, "samples", json_array());
					json_array_append_new(metrics, p->m);
				}
				pool_start(p->m, k);
			} else {
				drop_differing_labels(p->m, x);
			}
			p->all_sampled &= has_samples || !json_object_get(x, "stats");
			pool_add(p, x, r);
		}
	}
	for (size_t i = 0; i < np; i++) {
		pool_finish(&pool[i]);
		if (pool[i].nmed < 2)
			continue;
		json_t *m = pool[i].m, *medians = json_array();
		for (int j = 0; j < pool[i].nmed; j++)
			json_array_append_new(medians, json_real(pool[i].med[j]));
		json_array_append_new(
		    cv_out,
		    json_pack("{s:s+, s:s, s:f, s:o, s:o}", "name",
			      json_string_value(json_object_get(m, "name")), ".median_cv", "unit",
			      "ratio", "value", kq_cv(pool[i].med, (size_t)pool[i].nmed), "labels",
			      json_deep_copy(json_object_get(m, "labels")), "medians", medians));
	}
	free(pool);
	return 0;
}

json_t *kq_merge_repeats(json_t **runs, int k)
{
	json_t *first = runs[0];
	json_t *reps = json_array();
	double duration = 0;
	for (int r = 0; r < k; r++) {
		const char *st = json_string_value(json_object_get(runs[r], "status"));
		const char *why = json_string_value(json_object_get(runs[r], "reason"));
		duration += json_number_value(json_object_get(runs[r], "duration_s"));
		if (r && json_is_true(json_object_get(runs[r], "interrupted")))
			json_object_set_new(first, "interrupted", json_true());
		json_array_append_new(reps, json_pack("{s:i, s:s, s:s}", "repeat", r, "status", st,
						      "reason", why ? why : ""));
		if (r && strcmp(st, "fail") == 0 &&
		    strcmp(json_string_value(json_object_get(first, "status")), "fail") != 0) {
			json_object_set(first, "status", json_object_get(runs[r], "status"));
			json_object_set_new(
			    first, "reason",
			    json_sprintf("repeat %d: %s", r,
					 json_string_value(json_object_get(runs[r], "reason"))));
		}
	}
	json_t *cvs = json_array();
	if (pool_metrics(runs, k, cvs) == 0)
		json_array_extend(json_object_get(first, "metrics"), cvs);
	json_decref(cvs);
	json_object_set_new(first, "repeats", reps);
	if (json_object_get(first, "duration_s"))
		json_object_set_new(first, "duration_s", json_real(duration));
	for (int r = 1; r < k; r++)
		json_decref(runs[r]);
	return first;
}
