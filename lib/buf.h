/* buf.h - growable byte buffer with a mandatory maximum.
 *
 * Every buffer that grows on peer input has a cap; growing past it fails
 * with ATV_E_LIMIT instead of allocating what a hostile peer asks for.
 * The buffer owns data; release with atv_buf_release(). */
#ifndef ATV_BUF_H
#define ATV_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct atv_buf {
	uint8_t *data;
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len */
};

/* Initialise an empty buffer that never holds more than max bytes. */
void atv_buf_init(struct atv_buf *b, size_t max);

/* Make room for n more bytes. 0, or -ATV_E_LIMIT / -ATV_E_NOMEM. */
int atv_buf_reserve(struct atv_buf *b, size_t n, struct atv_err *err);

/* Append n bytes (p may be NULL to append zeroes). */
int atv_buf_append(struct atv_buf *b, const void *p, size_t n, struct atv_err *err);

/* Drop the first n bytes (n <= len). */
void atv_buf_consume(struct atv_buf *b, size_t n);

/* Keep the allocation, forget the contents. */
void atv_buf_reset(struct atv_buf *b);

/* Free the data (wiped first: buffers may hold key material). */
void atv_buf_release(struct atv_buf *b);

#endif
