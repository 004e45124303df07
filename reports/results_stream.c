#include "reports/results_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strset.h"
#include "reports/results_load.h"

/* jansson refuses documents nested deeper than this (its
 * JSON_PARSER_MAX_DEPTH; every value, scalars too, is a level). */
#define JANSSON_MAX_DEPTH 2048
/* Parsed pages behind the scan are given back in steps of this many bytes. */
#define RELEASE_STEP (32u << 20)

enum { SCAN_OK = 0, SCAN_FAILED = -1, SCAN_SYNTAX = 1 };

struct scan {
	const char *buf;
	size_t len, pos;
	size_t released; /* bytes from the start already given back */
	const char *what;
	json_t *head;
	struct kq_strset seen; /* test names */
	size_t fed;	       /* tests handed to fn */
	bool deferred;	       /* a test failed its check: its message is in `later` */
	char later[1024];
	kq_results_test_fn fn;
	void *ctx;
	char *err;
	size_t errlen;
};

static void skip_ws(struct scan *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t' ||
				   s->buf[s->pos] == '\n' || s->buf[s->pos] == '\r'))
		s->pos++;
}

static bool at(struct scan *s, char c)
{
	skip_ws(s);
	if (s->pos < s->len && s->buf[s->pos] == c) {
		s->pos++;
		return true;
	}
	return false;
}

/* Levels of V counted as jansson counts them while parsing. */
static size_t depth(json_t *v)
{
	size_t d = 0, i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			size_t dx = json_is_array(x) || json_is_object(x) ? depth(x) : 1;
			if (dx > d)
				d = dx;
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
		{
			size_t dx = depth(x);
			if (dx > d)
				d = dx;
		}
	}
	return d + 1;
}

/* The value at the scan position, parsed by jansson, or NULL where the whole
 * document would not parse: a syntax error, or a value nested so deep that,
 * OUTER levels down in the document, jansson would refuse it. */
static json_t *value(struct scan *s, size_t outer)
{
	json_error_t e;
	skip_ws(s);
	json_t *v =
	    json_loadb(s->buf + s->pos, s->len - s->pos,
		       JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);
	if (!v)
		return NULL;
	/* d levels take at least 2d - 1 bytes ("[[1]]"): a short value needs no walk */
	size_t deep_bytes = 2 * (JANSSON_MAX_DEPTH + 1 - outer) - 1;
	if (e.position <= 0 ||
	    ((size_t)e.position >= deep_bytes && depth(v) + outer > JANSSON_MAX_DEPTH)) {
		json_decref(v);
		return NULL;
	}
	s->pos += (size_t)e.position;
	return v;
}

/* Gives the pages of the file already parsed back (advice: on failure they
 * stay, the reading goes on). */
static void release(struct scan *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (s->released >= s->pos || s->pos - s->released < RELEASE_STEP)
		return;
	size_t upto = s->pos / page * page;
	if (madvise((void *)(s->buf + s->released), upto - s->released, MADV_DONTNEED) == 0)
		s->released = upto;
	else
		s->released = s->len; /* no more tries */
}

/* One test: checked (after a failure only parsed, for a later syntax error
 * comes first as in the whole document), then handed on. */
static int one_test(struct scan *s, size_t i, json_t *t)
{
	int rc = SCAN_OK;
	if (s->deferred)
		return SCAN_OK;
	if (kq_results_check_test(t, i, &s->seen, s->what, s->later, sizeof(s->later)) != 0)
		s->deferred = true;
	else if (s->fn(s->ctx, i, t, s->err, s->errlen) != 0)
		rc = SCAN_FAILED;
	else
		s->fed++;
	return rc;
}

static int tests(struct scan *s)
{
	if (at(s, ']'))
		return SCAN_OK;
	for (size_t i = 0;; i++) {
		json_t *t = value(s, 2); /* under the document and "tests" */
		if (!t)
			return SCAN_SYNTAX;
		int rc = one_test(s, i, t);
		json_decref(t);
		if (rc != SCAN_OK)
			return rc;
		release(s);
		if (at(s, ']'))
			return SCAN_OK;
		if (!at(s, ','))
			return SCAN_SYNTAX;
	}
}

/* The top-level object: members into head, "tests" element by element. */
static int document(struct scan *s)
{
	if (!at(s, '{'))
		return SCAN_SYNTAX;
	if (!at(s, '}')) {
		do {
			skip_ws(s);
			if (s->pos >= s->len || s->buf[s->pos] != '"')
				return SCAN_SYNTAX;
			json_t *key = value(s, 1);
			const char *k = json_string_value(key);
			int rc = SCAN_OK;
			if (!k || json_object_get(s->head, k) || !at(s, ':')) {
				rc = SCAN_SYNTAX; /* jansson: a duplicate key, or no ':' */
			} else if (strcmp(k, "tests") == 0 && at(s, '[')) {
				rc = json_object_set_new(s->head, k, json_array()) ? SCAN_FAILED
										   : tests(s);
			} else {
				json_t *v = value(s, 1);
				if (!v)
					rc = SCAN_SYNTAX;
				else if (json_object_set_new(s->head, k, v) != 0)
					rc = SCAN_FAILED;
			}
			json_decref(key);
			if (rc == SCAN_FAILED && !s->err[0])
				snprintf(s->err, s->errlen, "%s: out of memory", s->what);
			if (rc != SCAN_OK)
				return rc;
		} while (at(s, ','));
		if (!at(s, '}'))
			return SCAN_SYNTAX;
	}
	skip_ws(s);
	return s->pos == s->len ? SCAN_OK : SCAN_SYNTAX;
}

/* What the scan cannot settle, the whole document does: jansson's message
 * for a syntax error (or, should jansson take what the scan refused, the
 * tests the scan did not reach). */
static int whole(const char *path_or_dir, size_t fed, json_t **head, kq_results_test_fn fn,
		 void *ctx, char *err, size_t errlen)
{
	json_t *root, *t;
	size_t i;
	if (kq_results_load(path_or_dir, &root, err, errlen) != 0)
		return -1;
	json_array_foreach(json_object_get(root, "tests"), i, t)
	{
		if (i >= fed && fn(ctx, i, t, err, errlen) != 0) {
			json_decref(root);
			return -1;
		}
	}
	if (json_object_set_new(root, "tests", json_array()) != 0) {
		snprintf(err, errlen, "out of memory");
		json_decref(root);
		return -1;
	}
	*head = root;
	return 0;
}

static int finish(struct scan *s, json_t **head)
{
	if (kq_results_check_head(s->head, s->what, s->err, s->errlen) != 0)
		return -1;
	if (s->deferred) {
		snprintf(s->err, s->errlen, "%s", s->later);
		return -1;
	}
	if (kq_results_check_summary(s->head, s->what, s->err, s->errlen) != 0)
		return -1;
	*head = s->head;
	s->head = NULL;
	return 0;
}

int kq_results_stream(const char *path_or_dir, json_t **head, kq_results_test_fn fn, void *ctx,
		      char *err, size_t errlen)
{
	struct stat st;
	char *path = kq_results_path(path_or_dir);
	int rc = -1;

	*head = NULL;
	err[0] = '\0';
	if (!path) {
		snprintf(err, errlen, "%s: out of memory", path_or_dir);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* An empty or special file, or one past jansson's int positions: the
	 * whole-document reader has the say. */
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < INT_MAX)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
		if (map != MAP_FAILED)
			(void)munmap(map, (size_t)st.st_size); /* the error is already the close */
		free(path);
		return -1;
	}
	/* A NUL byte: jansson reads a file and a buffer differently there
	 * (json_loadf against json_loadb), so the whole-document reader has
	 * the say (found by fuzzing: a NUL after a number). */
	if (map != MAP_FAILED && memchr(map, 0, (size_t)st.st_size)) {
		if (munmap(map, (size_t)st.st_size) != 0) {
			snprintf(err, errlen, "%s: munmap: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		map = MAP_FAILED;
	}
	if (map == MAP_FAILED) {
		free(path);
		return whole(path_or_dir, 0, head, fn, ctx, err, errlen);
	}
	struct scan s = {.buf = map,
			 .len = (size_t)st.st_size,
			 .what = path,
			 .head = json_object(),
			 .fn = fn,
			 .ctx = ctx,
			 .err = err,
			 .errlen = errlen};
	(void)madvise(map, s.len, MADV_SEQUENTIAL); /* advice only */
	int sc = s.head ? document(&s) : SCAN_FAILED;
	if (sc == SCAN_OK)
		rc = finish(&s, head);
	else if (sc == SCAN_FAILED && !err[0])
		snprintf(err, errlen, "%s: out of memory", path);
	json_decref(s.head);
	kq_strset_free(&s.seen);
	if (munmap(map, s.len) != 0) {
		snprintf(err, errlen, "%s: munmap: %s", path, strerror(errno));
		json_decref(*head);
		*head = NULL;
		rc = -1;
		sc = SCAN_FAILED;
	}
	if (sc == SCAN_SYNTAX)
		rc = whole(path_or_dir, s.fed, head, fn, ctx, err, errlen);
	free(path);
	return rc;
}
