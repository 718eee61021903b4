/* mrp_frame.c - MRP stream framing: varint length + payload. */
#include "config.h"

#include <string.h>

#include "mrp_frame.h"
#include "banned.h"

size_t atv_mrp_varint_put(uint8_t out[ATV_MRP_VARINT_MAX], uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int atv_mrp_frame_encode(struct atv_buf *out, const uint8_t *p, size_t len, struct atv_err *err)
{
	uint8_t hdr[ATV_MRP_VARINT_MAX];
	size_t hlen;
	int r;

	if (len > ATV_MRP_MAX_FRAME)
		return atv_err_set(err, ATV_E_LIMIT,
		                   "mrp message of %zu bytes exceeds the %zu byte limit", len,
		                   ATV_MRP_MAX_FRAME);
	hlen = atv_mrp_varint_put(hdr, len);
	/* Reserve both parts first so a failure leaves out as it was. */
	r = atv_buf_reserve(out, hlen + len, err);
	if (r < 0)
		return r;
	memcpy(out->data + out->len, hdr, hlen);
	if (len)
		memcpy(out->data + out->len + hlen, p, len);
	out->len += hlen + len;
	return 0;
}

void atv_mrp_frame_dec_init(struct atv_mrp_frame_dec *d, size_t max_frame)
{
	if (max_frame == 0 || max_frame > ATV_MRP_MAX_FRAME)
		max_frame = ATV_MRP_MAX_FRAME;
	atv_buf_init(&d->frame, max_frame);
	d->want = 0;
	d->hdr_len = 0;
	d->in_body = false;
	d->ready = false;
	d->error = 0;
	d->max_frame = max_frame;
}

static int fail(struct atv_mrp_frame_dec *d, int r)
{
	d->error = r;
	atv_buf_release(&d->frame);
	return r;
}

/* Take one byte of a length varint.  1 when the length is complete. */
static int length_byte(struct atv_mrp_frame_dec *d, uint8_t b, struct atv_err *err)
{
	if (d->hdr_len == ATV_MRP_VARINT_MAX - 1 && b > 1) {
		/* The 10th byte holds bit 63 only; anything else is a varint
		 * protobuf itself would refuse. */
		if (b & 0x80)
			return fail(d, atv_err_set(err, ATV_E_PROTO,
			                           "mrp frame length varint longer than 10 bytes"));
		return fail(d, atv_err_set(err, ATV_E_PROTO, "mrp frame length overflows 64 bits"));
	}
	d->want |= (uint64_t)(b & 0x7f) << (7 * d->hdr_len);
	d->hdr_len++;
	if (b & 0x80)
		return 0;
	/* Checked before anything is allocated for the payload. */
	if (d->want > d->max_frame)
		return fail(d, atv_err_set(err, ATV_E_LIMIT,
		                           "mrp frame of %llu bytes exceeds the %zu byte limit",
		                           (unsigned long long)d->want, d->max_frame));
	d->hdr_len = 0;
	d->in_body = true;
	return 1;
}

int atv_mrp_frame_dec_push(struct atv_mrp_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
                           const uint8_t **frame, size_t *frame_len, struct atv_err *err)
{
	size_t i = 0, n, want;
	int r;

	*used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (d->error)
		return atv_err_set(err, -d->error,
		                   "mrp stream unusable after an earlier framing error");
	if (d->ready) {
		atv_buf_reset(&d->frame);
		d->ready = false;
	}
	while (!d->in_body && i < len) {
		r = length_byte(d, p[i++], err);
		if (r < 0)
			return r;
	}
	if (!d->in_body) {
		*used = i;
		return 0;
	}
	want = (size_t)d->want; /* <= max_frame, so it fits */
	if (d->frame.len == 0 && len - i >= want) {
		/* The whole payload is in the caller's bytes: no copy. */
		*frame = want ? p + i : (const uint8_t *)"";
		i += want;
	} else {
		n = want - d->frame.len;
		if (n > len - i)
			n = len - i;
		if (n > 0) {
			r = atv_buf_append(&d->frame, p + i, n, err);
			if (r < 0)
				return fail(d, r);
			i += n;
		}
		*used = i;
		if (d->frame.len < want)
			return 0;
		*frame = d->frame.data;
		d->ready = true;
	}
	*used = i;
	*frame_len = want;
	d->in_body = false;
	d->want = 0;
	return 1;
}

bool atv_mrp_frame_dec_partial(const struct atv_mrp_frame_dec *d)
{
	return !d->error && (d->hdr_len > 0 || d->in_body);
}

void atv_mrp_frame_dec_release(struct atv_mrp_frame_dec *d)
{
	atv_buf_release(&d->frame);
	d->want = 0;
	d->hdr_len = 0;
	d->in_body = false;
	d->ready = false;
}
