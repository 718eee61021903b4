/* atomic.h - replace a file as a whole: readers see the old or the new
 * content, never a part. */
#ifndef ATV_ATOMIC_H
#define ATV_ATOMIC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Write len bytes of p to path with mode: a temp file in path's directory,
 * fsync, rename over path.  0, or -ATV_E_IO naming the file (the temp
 * file is removed). */
int atv_file_write_atomic(const char *path, const uint8_t *p, size_t len, mode_t mode,
			  struct atv_err *err);

#endif
