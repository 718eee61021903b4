/* buf.c - capped growable buffer. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "banned.h"

void atv_buf_init(struct atv_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

int atv_buf_reserve(struct atv_buf *b, size_t n, struct atv_err *err)
{
	size_t want, ncap;
	uint8_t *p;

	if (n > b->max - b->len)
		return atv_err_set(err, ATV_E_LIMIT, "data exceeds the %zu byte limit", b->max);
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	p = malloc(ncap);
	if (!p)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (b->len)
		memcpy(p, b->data, b->len);
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

int atv_buf_append(struct atv_buf *b, const void *p, size_t n, struct atv_err *err)
{
	int r = atv_buf_reserve(b, n, err);
	if (r < 0)
		return r;
	if (n) {
		if (p)
			memcpy(b->data + b->len, p, n);
		else
			memset(b->data + b->len, 0, n);
	}
	b->len += n;
	return 0;
}

void atv_buf_consume(struct atv_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void atv_buf_reset(struct atv_buf *b)
{
	b->len = 0;
}

void atv_buf_release(struct atv_buf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}
