/* Root-relative file reading and the "unknown" marker. */
#include "probes/fs.h"
#include "core/parse.h"
#include "core/path.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char record_dir[PATH_MAX];
/* What recording did: files written, files that failed and why the first did. */
static int record_written, record_failed;
static char record_first_failure[PATH_MAX + 64];

void kq_set_why(char *why, size_t whylen, const char *fmt, ...)
{
	if (!why || !whylen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

bool kq_fs_is_live(const char *root)
{
	return !root || !root[0] || (root[0] == '/' && root[1] == '\0');
}

char *kq_fs_path(const char *root, const char *path, char *out, size_t outlen)
{
	if (kq_fs_is_live(root))
		snprintf(out, outlen, "%s", path);
	else
		snprintf(out, outlen, "%s%s%s", root, path[0] == '/' ? "" : "/", path);
	return out;
}

void kq_fs_record_to(const char *dir)
{
	if (dir) {
		record_written = record_failed = 0;
		record_first_failure[0] = '\0';
	}
	if (dir)
		snprintf(record_dir, sizeof(record_dir), "%s", dir);
	else
		record_dir[0] = '\0';
}

int kq_fs_record_file(const char *path, const void *data, size_t len)
{
	if (!record_dir[0])
		return 0;
	char out[PATH_MAX];
	int pl = snprintf(out, sizeof(out), "%s%s%s", record_dir, path[0] == '/' ? "" : "/", path);
	errno = ENAMETOOLONG;
	FILE *f = pl < 0 || (size_t)pl >= sizeof(out) || kq_mkdir_parents(out) < 0
		      ? NULL
		      : fopen(out, "w");
	if (f) {
		size_t w = fwrite(data, 1, len, f);
		int werr = w == len ? 0 : errno;
		if (fclose(f) == 0 && !werr) {
			record_written++;
			return 0;
		}
		if (werr)
			errno = werr;
	}
	if (!record_failed++)
		snprintf(record_first_failure, sizeof(record_first_failure), "%s: %s", out,
			 strerror(errno));
	return -1;
}

int kq_fs_record_result(int *written, const char **first_failure)
{
	*written = record_written;
	*first_failure = record_first_failure;
	return record_failed;
}

/* Length of the valid UTF-8 sequence at p, 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = (p[0] & 0xe0) == 0xc0   ? 2
		   : (p[0] & 0xf0) == 0xe0 ? 3
		   : (p[0] & 0xf8) == 0xf0 ? 4
					   : 0;
	if (n == 0 || (n == 2 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void kq_text_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (n == 1 && *p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

char *kq_fs_slurp(const char *root, const char *path, size_t *lenp, char *why, size_t whylen)
{
	char full[PATH_MAX];
	kq_fs_path(root, path, full, sizeof(full));
	int fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		kq_set_why(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		kq_set_why(why, whylen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		kq_set_why(why, whylen, "%s: %s", path,
			   S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		close(fd);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		kq_set_why(why, whylen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= KQ_FS_MAX_READ)
				break;
			size_t ncap = cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				break;
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			kq_set_why(why, whylen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		kq_set_why(why, whylen, "%s: binary content (NUL byte)", path);
		free(buf);
		return NULL;
	}
	if (kq_fs_is_live(root))
		kq_fs_record_file(path, buf, len);
	kq_text_sanitize(buf);
	if (lenp)
		*lenp = len;
	return buf;
}

ssize_t kq_fs_read(const char *root, const char *path, char *buf, size_t len, char *why,
		   size_t whylen)
{
	size_t n;
	char *s = kq_fs_slurp(root, path, &n, why, whylen);
	if (!s)
		return -1;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	s[n] = '\0';
	if (len == 0) {
		free(s);
		return (ssize_t)n;
	}
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	free(s);
	return (ssize_t)n;
}

/* Printable summary of bad content for messages. */
static void shown(const char *s, char *out, size_t outlen)
{
	size_t j = 0;
	for (size_t i = 0; s[i] && j + 5 < outlen && i < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isprint(c))
			out[j++] = (char)c;
		else
			j += (size_t)snprintf(out + j, outlen - j, "\\x%02x", c);
	}
	if (strlen(s) > 40 && j + 4 < outlen) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

int kq_parse_i64(const char *s, long long *out, char *why, size_t whylen)
{
	int64_t v;
	if (!s[strspn(s, " \t\n")]) {
		kq_set_why(why, whylen, "empty");
		return -1;
	}
	if (kq_parse_dec(s, &v) < 0) {
		char sh[64];
		shown(s + strspn(s, " \t\n"), sh, sizeof(sh));
		kq_set_why(why, whylen, "not an integer: '%s'", sh);
		return -1;
	}
	*out = v;
	return 0;
}

int kq_parse_bool(const char *s, bool *out, char *why, size_t whylen)
{
	while (isspace((unsigned char)*s))
		s++;
	char w[16];
	size_t n = strcspn(s, " \t\n");
	if (n == 0) {
		kq_set_why(why, whylen, "empty");
		return -1;
	}
	if (n < sizeof(w) && !s[n + strspn(s + n, " \t\n")]) {
		memcpy(w, s, n);
		w[n] = '\0';
		/* Module parameters say Y or N. */
		if (kq_parse_yes_no(w, out) == 0)
			return 0;
		if (n == 1 && (*w == 'Y' || *w == 'y' || *w == 'N' || *w == 'n')) {
			*out = *w == 'Y' || *w == 'y';
			return 0;
		}
	}
	char sh[64];
	shown(s, sh, sizeof(sh));
	kq_set_why(why, whylen, "not a boolean: '%s'", sh);
	return -1;
}

int kq_parse_choice(const char *s, char *sel, size_t sellen, char *why, size_t whylen)
{
	const char *o = strchr(s, '[');
	const char *c = o ? strchr(o, ']') : NULL;
	const char *o2 = o ? strchr(o + 1, '[') : NULL;
	if (!o || !c || c == o + 1 || (o2 && o2 < c)) {
		char sh[64];
		shown(s, sh, sizeof(sh));
		if (*s)
			kq_set_why(why, whylen, "no [selected] choice in '%s'", sh);
		else
			kq_set_why(why, whylen, "empty");
		return -1;
	}
	snprintf(sel, sellen, "%.*s", (int)(c - o - 1), o + 1);
	return 0;
}

json_t *kq_unknown(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:n,s:s}", "value", "unknown", buf);
}

const char *kq_unknown_reason(const json_t *v)
{
	if (!v)
		return "absent";
	if (!json_is_object(v))
		return NULL;
	json_t *u = json_object_get(v, "unknown");
	if (!json_is_string(u))
		return NULL;
	return json_string_value(u);
}

json_t *kq_fs_json_text(const char *root, const char *path)
{
	char buf[4096], why[256];
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	return json_string(buf);
}

json_t *kq_fs_json_str(const char *root, const char *path)
{
	char buf[4096], why[256];
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	if (!buf[0])
		return kq_unknown("%s: empty", path);
	return json_string(buf);
}

json_t *kq_fs_json_int(const char *root, const char *path)
{
	char buf[256], why[256];
	long long v;
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	if (kq_parse_i64(buf, &v, why, sizeof(why)) < 0)
		return kq_unknown("%s: %s", path, why);
	return json_integer(v);
}

json_t *kq_fs_json_bool(const char *root, const char *path)
{
	char buf[256], why[256];
	bool v;
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	if (kq_parse_bool(buf, &v, why, sizeof(why)) < 0)
		return kq_unknown("%s: %s", path, why);
	return json_boolean(v);
}

json_t *kq_fs_json_choice(const char *root, const char *path)
{
	char buf[1024], why[256], sel[128];
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	if (kq_parse_choice(buf, sel, sizeof(sel), why, sizeof(why)) < 0)
		return kq_unknown("%s: %s", path, why);
	json_t *opts = json_array();
	for (char *tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		size_t n = strlen(tok);
		if (tok[0] == '[' && n >= 2 && tok[n - 1] == ']') {
			tok[n - 1] = '\0';
			tok++;
		}
		json_array_append_new(opts, json_string(tok));
	}
	return json_pack("{s:s,s:o}", "selected", sel, "options", opts);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kq_fs_list(const char *root, const char *dir, char ***names, char *why, size_t whylen)
{
	char full[PATH_MAX];
	kq_fs_path(root, dir, full, sizeof(full));
	*names = NULL;
	DIR *d = opendir(full);
	if (!d) {
		kq_set_why(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int n = 0, cap = 0;
	char **v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* ".", ".." and the .keep of recorded empty folders */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n] = strdup(e->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	if (n == 0 && kq_fs_is_live(root)) {
		char keep[PATH_MAX];
		snprintf(keep, sizeof(keep), "%s/.keep", dir);
		kq_fs_record_file(keep, "", 0); /* keeps the empty folder in a recorded tree */
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmpstr);
	*names = v;
	return n;
}

void kq_fs_free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
