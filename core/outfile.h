/* Output files written whole or not at all: the bytes go to a temporary file
 * in the same folder, which is renamed over the target only when complete.
 * A device or FIFO (/dev/null, /dev/stdout, a pipe) is written in place:
 * renaming over it would replace the device itself. A signal that stops the
 * program (kq_outfile_on_signals) removes the temporary files still open. */
#ifndef KQ_CORE_OUTFILE_H
#define KQ_CORE_OUTFILE_H

#include <stddef.h>

/* A file being written: tmp is NULL when PATH was written in place. */
struct kq_outfile {
	char *path, *tmp;
};

/* Writes DATA to PATH's temporary file (or in place); 0, or -1 with a message
 * naming the file and errno in err, and nothing left behind. */
int kq_outfile_stage(struct kq_outfile *f, const char *path, const void *data, size_t len,
		     char *err, size_t errlen);
/* Renames the temporary file into place; 0, or -1 with a message. Frees F. */
int kq_outfile_commit(struct kq_outfile *f, char *err, size_t errlen);
/* Removes the temporary file (a staged file that is not wanted). Frees F. */
void kq_outfile_abort(struct kq_outfile *f);
/* stage + commit. */
int kq_outfile_save(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Removes every temporary file not yet committed or aborted; async-signal-safe. */
void kq_outfile_cleanup(void);
/* SIGINT, SIGTERM and SIGHUP remove the temporary files, then stop the
 * program with the signal as before (its default action). */
void kq_outfile_on_signals(void);

#endif
