/* companion_frame.c - Companion framing: type, 3-byte length, payload;
 * sealed with a 12-byte little-endian counter nonce once verified. */
#include "config.h"

#include <string.h>

#include "companion_frame.h"
#include "crypto.h"
#include "banned.h"

bool atv_companion_type_known(unsigned type)
{
	return (type >= ATV_COMPANION_PS_START && type <= ATV_COMPANION_PA_RSP) ||
	       (type >= ATV_COMPANION_SESSION_START_REQ && type <= ATV_COMPANION_SESSION_DATA) ||
	       (type >= ATV_COMPANION_FAMILY_IDENTITY_REQ &&
		type <= ATV_COMPANION_FAMILY_IDENTITY_UPDATE);
}

void atv_companion_nonce(uint8_t nonce[ATV_AEAD_NONCE_LEN], uint64_t ctr)
{
	memset(nonce, 0, ATV_AEAD_NONCE_LEN);
	for (int i = 0; i < 8; i++, ctr >>= 8)
		nonce[i] = (uint8_t)ctr;
}

static void put_header(uint8_t h[ATV_COMPANION_HEADER_LEN], uint8_t type, size_t len)
{
	h[0] = type;
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
}

int atv_companion_frame_encode(struct atv_buf *out, uint8_t type, const uint8_t *p, size_t len,
			       struct atv_hap_cipher *c, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN], *h;
	bool seal = c && len > 0;
	size_t wire = len + (seal ? ATV_AEAD_TAG_LEN : 0);
	int r;

	if (len > ATV_COMPANION_MAX_FRAME)
		return atv_err_set(err, ATV_E_LIMIT,
				   "companion message of %zu bytes exceeds the %zu byte limit", len,
				   ATV_COMPANION_MAX_FRAME);
	/* Reserve the whole frame first so a failure leaves out as it was. */
	r = atv_buf_reserve(out, ATV_COMPANION_HEADER_LEN + wire, err);
	if (r < 0)
		return r;
	h = out->data + out->len;
	put_header(h, type, wire);
	if (len)
		memcpy(h + ATV_COMPANION_HEADER_LEN, p, len);
	if (seal) {
		/* The header, with the sealed length, is the AAD. */
		atv_companion_nonce(nonce, c->out_ctr);
		r = atv_aead_seal(c->out_key, nonce, h, ATV_COMPANION_HEADER_LEN,
				  h + ATV_COMPANION_HEADER_LEN, len, h + ATV_COMPANION_HEADER_LEN,
				  err);
		if (r < 0)
			return r;
		c->out_ctr++;
	}
	out->len += ATV_COMPANION_HEADER_LEN + wire;
	return 0;
}

void atv_companion_frame_dec_init(struct atv_companion_frame_dec *d, size_t max_frame)
{
	if (max_frame == 0 || max_frame > ATV_COMPANION_MAX_FRAME)
		max_frame = ATV_COMPANION_MAX_FRAME;
	memset(d->hdr, 0, sizeof d->hdr);
	d->hdr_len = 0;
	d->want = 0;
	/* a sealed frame carries its tag beyond the payload cap */
	atv_buf_init(&d->body, max_frame + ATV_AEAD_TAG_LEN);
	atv_buf_init(&d->pt, max_frame);
	d->error = 0;
	d->max_frame = max_frame;
}

static int fail(struct atv_companion_frame_dec *d, int r)
{
	d->error = r;
	atv_buf_release(&d->body);
	atv_buf_release(&d->pt);
	return r;
}

/* The frame in d->hdr and d->body is complete: open it into d->pt. */
static int finish(struct atv_companion_frame_dec *d, struct atv_hap_cipher *c,
		  struct atv_companion_frame *f, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	size_t n = d->body.len;
	int r;

	atv_buf_reset(&d->pt);
	if (c && n > 0) {
		if (n < ATV_AEAD_TAG_LEN)
			return fail(d, atv_err_set(err, ATV_E_PROTO,
						   "sealed companion frame of %zu bytes is shorter "
						   "than its tag",
						   n));
		r = atv_buf_reserve(&d->pt, n - ATV_AEAD_TAG_LEN, err);
		if (r < 0)
			return fail(d, r);
		atv_companion_nonce(nonce, c->in_ctr);
		r = atv_aead_open(c->in_key, nonce, d->hdr, sizeof d->hdr, d->body.data, n,
				  d->pt.data, err);
		if (r < 0)
			return fail(d, atv_err_set(err, ATV_E_PROTO,
						   "companion frame failed authentication"));
		c->in_ctr++;
		d->pt.len = n - ATV_AEAD_TAG_LEN;
	} else if (n > 0) {
		r = atv_buf_append(&d->pt, d->body.data, n, err);
		if (r < 0)
			return fail(d, r);
	}
	atv_buf_reset(&d->body);
	d->hdr_len = 0;
	d->want = 0;
	if (!atv_companion_type_known(d->hdr[0]))
		return 0; /* dropped, as pyatv does */
	f->type = d->hdr[0];
	f->payload = d->pt.data ? d->pt.data : (const uint8_t *)"";
	f->len = d->pt.len;
	return 1;
}

int atv_companion_frame_dec_push(struct atv_companion_frame_dec *d, struct atv_hap_cipher *c,
				 const uint8_t *p, size_t len, size_t *used,
				 struct atv_companion_frame *f, struct atv_err *err)
{
	size_t i = 0, n;
	int r;

	*used = 0;
	f->type = 0;
	f->payload = NULL;
	f->len = 0;
	if (d->error)
		return atv_err_set(err, -d->error,
				   "companion stream unusable after an earlier framing error");
	while (i < len) {
		if (d->hdr_len < ATV_COMPANION_HEADER_LEN) {
			d->hdr[d->hdr_len++] = p[i++];
			if (d->hdr_len < ATV_COMPANION_HEADER_LEN)
				continue;
			d->want = (size_t)d->hdr[1] << 16 | (size_t)d->hdr[2] << 8 | d->hdr[3];
			/* Checked before anything is allocated for the payload. */
			if (d->want > d->max_frame + (c ? ATV_AEAD_TAG_LEN : 0))
				return fail(d, atv_err_set(err, ATV_E_LIMIT,
							   "companion frame of %zu bytes exceeds "
							   "the %zu byte limit",
							   d->want, d->max_frame));
		}
		n = d->want - d->body.len;
		if (n > len - i)
			n = len - i;
		if (n > 0) {
			r = atv_buf_append(&d->body, p + i, n, err);
			if (r < 0)
				return fail(d, r);
			i += n;
		}
		if (d->body.len < d->want)
			break;
		r = finish(d, c, f, err);
		if (r != 0) {
			*used = i;
			return r;
		}
	}
	*used = i;
	return 0;
}

bool atv_companion_frame_dec_partial(const struct atv_companion_frame_dec *d)
{
	return !d->error && d->hdr_len > 0;
}

void atv_companion_frame_dec_release(struct atv_companion_frame_dec *d)
{
	atv_buf_release(&d->body);
	atv_buf_release(&d->pt);
	d->hdr_len = 0;
	d->want = 0;
}
