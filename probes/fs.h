/* Reading sysfs/procfs below a root prefix, and the "unknown" marker.
 *
 * Every probe reads through these helpers with a root: "" or "/" means the
 * live host, anything else is a recorded tree (tests/fixtures/probes/...) laid
 * out like the real file system. A file that is missing, unreadable, empty or
 * malformed never stops a probe: it becomes {"value": null, "unknown": "why"}
 * in the fingerprint (see docs/probes.md). */
#ifndef KQ_PROBES_FS_H
#define KQ_PROBES_FS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest file read in one piece (/proc/cpuinfo on big hosts fits). */
#define KQ_FS_MAX_READ (4u << 20)

/* True when root names the live host ("", "/" or NULL). */
bool kq_fs_is_live(const char *root);
/* root + path into out (path starts with '/'); returns out. */
char *kq_fs_path(const char *root, const char *path, char *out, size_t outlen);

/* Reads a whole regular file below root. Returns a malloc'd NUL-terminated
 * buffer (*lenp set when non-NULL) or NULL with why set, e.g.
 * "/sys/kernel/mm/ksm/run: No such file or directory". Does not block on
 * FIFOs or devices: those are refused as "not a regular file". A NUL byte
 * makes the file unreadable ("binary content"); invalid UTF-8 and control
 * characters are replaced by '?'. */
char *kq_fs_slurp(const char *root, const char *path, size_t *lenp, char *why, size_t whylen);
/* Replaces bytes that are not valid UTF-8, and control characters other
 * than newline and tab, by '?' in place (file text goes into JSON). */
void kq_text_sanitize(char *s);
/* Reads a small file, trailing whitespace trimmed, into buf. Returns the
 * length, or -1 with why set. Content longer than buf is cut. */
ssize_t kq_fs_read(const char *root, const char *path, char *buf, size_t len, char *why,
		   size_t whylen);

/* Formats a reason into why (either may be NULL/0: then nothing). */
void kq_set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parsers for typical sysfs text; they return 0 on success and -1 with why
 * set ("empty", "not an integer: 'x1'", ...). */
int kq_parse_i64(const char *s, long long *out, char *why, size_t whylen);
int kq_parse_bool(const char *s, bool *out, char *why, size_t whylen); /* Y/N/1/0/yes/no/on/off */
/* "always [madvise] never": the bracketed word into sel, or -1 if none. */
int kq_parse_choice(const char *s, char *sel, size_t sellen, char *why, size_t whylen);

/* JSON helpers: the value, or the unknown marker. */
json_t *kq_unknown(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The reason when v is an unknown marker (or NULL/absent: "absent"), else NULL. */
const char *kq_unknown_reason(const json_t *v);
/* Text of a file (trailing whitespace trimmed); an empty file is unknown. */
json_t *kq_fs_json_str(const char *root, const char *path);
/* The same, where an empty file is a valid "" (cpu lists, module parameters). */
json_t *kq_fs_json_text(const char *root, const char *path);
json_t *kq_fs_json_int(const char *root, const char *path);
json_t *kq_fs_json_bool(const char *root, const char *path);
/* {"selected": "madvise", "options": ["always","madvise","never"]} */
json_t *kq_fs_json_choice(const char *root, const char *path);

/* Sorted entry names of a directory below root (no names starting with
 * '.'; a recorded empty folder holds a .keep file); returns the
 * count and *names (free with kq_fs_free_list), or -1 with why set. */
int kq_fs_list(const char *root, const char *dir, char ***names, char *why, size_t whylen);
void kq_fs_free_list(char **names, int n);

/* Recording: while set, every file successfully read from the live host is
 * also copied to dir + path, so `kvmqual probe --record DIR` captures the
 * tree a fixture needs. NULL stops recording. */
void kq_fs_record_to(const char *dir);
/* Writes data to the recording dir (relative path); no-op when not recording. */
int kq_fs_record_file(const char *path, const void *data, size_t len);
/* Since the last kq_fs_record_to(dir): the number of files that could not be
 * written (the first one's path and error in *first_failure), and in
 * *written those that were. */
int kq_fs_record_result(int *written, const char **first_failure);

#endif
