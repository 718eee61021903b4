/* atomic.c - temp file beside the target, fsync, rename. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"

int atv_file_write_atomic(const char *path, const uint8_t *p, size_t len, mode_t mode,
			  struct atv_err *err)
{
	const char *slash = strrchr(path, '/');
	char tmp[4096];
	size_t off = 0;
	int fd, r = 0, n;

	n = slash ? snprintf(tmp, sizeof tmp, "%.*s/.tmp-XXXXXX", (int)(slash - path), path)
		  : snprintf(tmp, sizeof tmp, ".tmp-XXXXXX");
	if (n < 0 || (size_t)n >= sizeof tmp)
		return atv_err_set(err, ATV_E_IO, "file name too long: %s", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", path);
	while (off < len && r == 0) {
		ssize_t w = write(fd, p + off, len - off);

		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EINTR)
			r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	}
	if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	if (close(fd) < 0 && r == 0)
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", path);
	if (r < 0)
		unlink(tmp);
	return r;
}
