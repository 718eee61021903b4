/* atomic.h - replace a file atomically: a reader of path sees the old file
 * or the new one, never a half-written one, even after a crash.
 *
 * How: the bytes go to a temp file "<path>.tmp.XXXXXX" in the same
 * directory (rename is atomic only within one file system), created 0600
 * with O_CLOEXEC, then chmod'ed to the requested mode, fsync'ed (the data
 * must be on disk before the rename makes it the file), renamed over path,
 * and the directory is fsync'ed (so the rename itself survives a crash).
 * On any failure the temp file is removed and path is left as it was.
 *
 * Two ways to use it:
 *   atv_file_write_atomic(path, data, len, 0644, &err);   all bytes at hand
 * or, to write in pieces:
 *   struct atv_atomic a;
 *   if (atv_atomic_open(&a, path, 0600, &err) == 0 &&
 *       atv_atomic_write(&a, p, n, &err) == 0 && ...)
 *           r = atv_atomic_commit(&a, &err);   (releases a in any case)
 *   else
 *           atv_atomic_abort(&a);
 *
 * Nothing here takes a lock: writers that must not lose each other's
 * updates (the credentials file) serialise themselves.  Temp files left by
 * a writer that died match ATV_ATOMIC_TMP_SUFFIX plus ATV_ATOMIC_TMP_RANDOM
 * characters; a caller that holds such a lock may remove them. */
#ifndef ATV_ATOMIC_H
#define ATV_ATOMIC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define ATV_ATOMIC_TMP_SUFFIX ".tmp."
#define ATV_ATOMIC_TMP_RANDOM 6

struct atv_atomic {
	int fd; /* the temp file; -1 when not open */
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	char dir[PATH_MAX];
};

/* Create the temp file for path with mode (applied before any byte is
 * written, so a secret is never readable by others).  On failure nothing
 * is left behind and a needs no abort. */
int atv_atomic_open(struct atv_atomic *a, const char *path, mode_t mode, struct atv_err *err);

/* Append n bytes to the temp file (interrupted writes are resumed). */
int atv_atomic_write(struct atv_atomic *a, const void *p, size_t n, struct atv_err *err);

/* fsync, close, rename over path, fsync the directory.  a is released
 * (the temp file removed on failure) whatever the result. */
int atv_atomic_commit(struct atv_atomic *a, struct atv_err *err);

/* Close and remove the temp file; path is untouched.  Safe to call twice. */
void atv_atomic_abort(struct atv_atomic *a);

/* The directory part of path into out: "." for a bare name, "/" for
 * "/name".  -ATV_E_IO when it does not fit. */
int atv_file_dir(const char *path, char *out, size_t size, struct atv_err *err);

/* Open, write all of p, commit. */
int atv_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
			  struct atv_err *err);

#endif
