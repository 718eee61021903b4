/* tlv8.c - HAP TLV8 encoding and a bounded decoder. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tlv8.h"
#include "banned.h"

#define TLV8_FRAGMENT 255

int atv_tlv8_add(struct atv_buf *out, uint8_t type, const void *val, size_t len,
		 struct atv_err *err)
{
	const uint8_t *p = val;
	size_t n, total;
	int r;

	/* reserve everything first so a failure appends nothing */
	total = len + 2 * (len / TLV8_FRAGMENT + 1);
	r = atv_buf_reserve(out, total, err);
	if (r < 0)
		return r;
	do {
		uint8_t hdr[2];

		n = len < TLV8_FRAGMENT ? len : TLV8_FRAGMENT;
		hdr[0] = type;
		hdr[1] = (uint8_t)n;
		atv_buf_append(out, hdr, 2, NULL);
		if (n)
			atv_buf_append(out, p, n, NULL);
		p += n;
		len -= n;
		/* a value of exactly k*255 bytes ends with its last full
		 * piece: no empty trailing piece */
	} while (len > 0);
	return 0;
}

int atv_tlv8_add_u8(struct atv_buf *out, uint8_t type, uint8_t v, struct atv_err *err)
{
	return atv_tlv8_add(out, type, &v, 1, err);
}

int atv_tlv8_parse(struct atv_tlv8 *t, const uint8_t *p, size_t len, struct atv_err *err)
{
	size_t pos = 0, used = 0;

	t->n = 0;
	t->data = NULL;
	t->size = 0;
	if (len > ATV_TLV8_MAX_SIZE)
		return atv_err_set(err, ATV_E_LIMIT, "tlv8 message of %zu bytes is too large", len);
	/* the joined values never take more room than the input */
	t->data = malloc(len ? len : 1);
	if (!t->data)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	t->size = len;
	while (pos < len) {
		uint8_t type, n;

		if (len - pos < 2)
			return atv_err_set(err, ATV_E_PROTO, "truncated tlv8 item at byte %zu",
					   pos);
		type = p[pos];
		n = p[pos + 1];
		if (n > len - pos - 2)
			return atv_err_set(err, ATV_E_PROTO,
					   "tlv8 item at byte %zu runs past the end", pos);
		/* consecutive items of one type are pieces of one value; the
		 * last item's value always ends at data + used */
		if (t->n == 0 || t->item[t->n - 1].type != type) {
			if (t->n == ATV_TLV8_MAX_ITEMS)
				return atv_err_set(err, ATV_E_LIMIT, "more than %d tlv8 items",
						   ATV_TLV8_MAX_ITEMS);
			t->item[t->n].type = type;
			t->item[t->n].len = 0;
			t->item[t->n].val = t->data + used;
			t->n++;
		}
		memcpy(t->data + used, p + pos + 2, n);
		used += n;
		t->item[t->n - 1].len += n;
		pos += 2 + (size_t)n;
	}
	return 0;
}

const struct atv_tlv8_item *atv_tlv8_find(const struct atv_tlv8 *t, uint8_t type)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->item[i].type == type)
			return &t->item[i];
	return NULL;
}

int atv_tlv8_uint(const struct atv_tlv8_item *it, uint64_t *v, struct atv_err *err)
{
	if (it->len < 1 || it->len > 8)
		return atv_err_set(err, ATV_E_PROTO, "tlv8 integer of type 0x%02x has %zu bytes",
				   it->type, it->len);
	*v = 0;
	for (size_t i = it->len; i-- > 0;)
		*v = *v << 8 | it->val[i];
	return 0;
}

void atv_tlv8_release(struct atv_tlv8 *t)
{
	if (t->data) {
		atv_crypto_wipe(t->data, t->size);
		free(t->data);
	}
	t->data = NULL;
	t->size = 0;
	t->n = 0;
}

const char *atv_tlv8_error_name(uint64_t code)
{
	static const char *const names[] = {
		[ATV_TLV8_ERR_UNKNOWN] = "unknown error",
		[ATV_TLV8_ERR_AUTHENTICATION] = "authentication",
		[ATV_TLV8_ERR_BACKOFF] = "backoff",
		[ATV_TLV8_ERR_MAX_PEERS] = "max peers",
		[ATV_TLV8_ERR_MAX_TRIES] = "max tries",
		[ATV_TLV8_ERR_UNAVAILABLE] = "unavailable",
		[ATV_TLV8_ERR_BUSY] = "busy",
	};

	if (code < sizeof names / sizeof names[0] && names[code])
		return names[code];
	return "unrecognised error";
}
