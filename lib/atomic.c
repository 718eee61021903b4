/* atomic.c - replace a file atomically (temp file, fsync, rename). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "banned.h"

int atv_file_dir(const char *path, char *out, size_t size, struct atv_err *err)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		snprintf(out, size, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return atv_err_set(err, ATV_E_IO, "file name too long: %s", path);
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static int fsync_dir(const char *dir, struct atv_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to open directory %s", dir);
	/* some file systems cannot sync a directory: nothing more to do there */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to sync directory %s", dir);
	close(fd);
	return r;
}

int atv_atomic_open(struct atv_atomic *a, const char *path, mode_t mode, struct atv_err *err)
{
	int n;

	a->fd = -1;
	a->tmp[0] = '\0';
	if (!path || !*path)
		return atv_err_set(err, ATV_E_IO, "empty file name");
	n = snprintf(a->path, sizeof a->path, "%s", path);
	if (n < 0 || (size_t)n >= sizeof a->path ||
	    (size_t)snprintf(a->tmp, sizeof a->tmp, "%s" ATV_ATOMIC_TMP_SUFFIX "XXXXXX", path) >=
		sizeof a->tmp) {
		a->tmp[0] = '\0';
		return atv_err_set(err, ATV_E_IO, "file name too long: %s", path);
	}
	if (atv_file_dir(path, a->dir, sizeof a->dir, err) < 0) {
		a->tmp[0] = '\0';
		return -ATV_E_IO;
	}
	/* mkostemp creates it 0600: nobody else can open it in between */
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		a->tmp[0] = '\0';
		return atv_err_sys(err, ATV_E_IO, errno, "unable to create a temporary file in %s",
				   a->dir);
	}
	if (fchmod(a->fd, mode) < 0) {
		int e = errno;

		atv_atomic_abort(a);
		return atv_err_sys(err, ATV_E_IO, e, "unable to chmod a temporary file in %s",
				   a->dir);
	}
	return 0;
}

int atv_atomic_write(struct atv_atomic *a, const void *p, size_t n, struct atv_err *err)
{
	const unsigned char *c = p;

	if (a->fd < 0)
		return atv_err_set(err, ATV_E_IO, "unable to write %s: not open", a->path);
	while (n) {
		ssize_t w = write(a->fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", a->tmp);
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int atv_atomic_commit(struct atv_atomic *a, struct atv_err *err)
{
	int fd = a->fd, r;

	if (fd < 0) {
		atv_atomic_abort(a);
		return atv_err_set(err, ATV_E_IO, "unable to write %s: not open", a->path);
	}
	if (fsync(fd) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to sync %s", a->tmp);
		atv_atomic_abort(a);
		return r;
	}
	a->fd = -1;
	/* a failing close may be the first report of a failed write (NFS) */
	if (close(fd) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", a->tmp);
		atv_atomic_abort(a);
		return r;
	}
	if (rename(a->tmp, a->path) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to rename %s to %s", a->tmp,
				a->path);
		atv_atomic_abort(a);
		return r;
	}
	a->tmp[0] = '\0';
	return fsync_dir(a->dir, err);
}

void atv_atomic_abort(struct atv_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp[0])
		unlink(a->tmp);
	a->tmp[0] = '\0';
}

int atv_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
			  struct atv_err *err)
{
	struct atv_atomic a;
	int r;

	if ((r = atv_atomic_open(&a, path, mode, err)) < 0)
		return r;
	if ((r = atv_atomic_write(&a, p, n, err)) < 0) {
		atv_atomic_abort(&a);
		return r;
	}
	return atv_atomic_commit(&a, err);
}
