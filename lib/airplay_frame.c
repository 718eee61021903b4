/* airplay_frame.c - the AirPlay 2 data channel's frames and their
 * {params:{data}} payload (see airplay_frame.h). */
#include "config.h"

#include <string.h>

#include "airplay_frame.h"
#include "bytes.h"
#include "mrp_frame.h"
#include "banned.h"

/* plistlib's {} : header, one empty dict (D0), a one-byte offset table,
 * the trailer (offset size 1, ref size 1, 1 object, top 0, table at 9). */
const uint8_t atv_ap_empty_dict[42] = {
    'b', 'p', 'l', 'i', 's', 't', '0', '0', 0xd0, 0x08, 0, 0, 0, 0, 0, 0, 1, 1,
    0,	 0,   0,   0,	0,   0,	  0,   1,   0,	  0,	0, 0, 0, 0, 0, 0, 0, 0,
    0,	 0,   0,   0,	0,   9};

/* A NUL-padded field of n bytes equals name (at most n characters). */
static bool field_is(const uint8_t *field, size_t n, const char *name)
{
	size_t l = strlen(name);

	if (l > n || memcmp(field, name, l) != 0)
		return false;
	for (size_t i = l; i < n; i++)
		if (field[i])
			return false;
	return true;
}

bool atv_ap_frame_is(const struct atv_ap_frame *f, const char *name)
{
	return field_is(f->type, sizeof f->type, name);
}

bool atv_ap_frame_command_is(const struct atv_ap_frame *f, const char *name)
{
	return field_is(f->command, sizeof f->command, name);
}

int atv_ap_frame_encode(struct atv_buf *out, const char *type, const char *command,
			uint64_t seqno, const uint8_t *payload, size_t len, struct atv_err *err)
{
	size_t tl = type ? strlen(type) : 0, cl = command ? strlen(command) : 0;
	uint8_t *h;
	int r;

	if (tl == 0 || tl > ATV_AP_FRAME_TYPE_LEN || cl > ATV_AP_FRAME_CMD_LEN)
		return atv_err_set(err, ATV_E_USAGE, "bad data frame type or command");
	if (len > ATV_AP_FRAME_MAX - ATV_AP_FRAME_HDR_LEN)
		return atv_err_set(err, ATV_E_LIMIT,
				   "data frame of %zu bytes exceeds the %zu byte limit",
				   len + ATV_AP_FRAME_HDR_LEN, ATV_AP_FRAME_MAX);
	r = atv_buf_reserve(out, ATV_AP_FRAME_HDR_LEN + len, err);
	if (r < 0)
		return r;
	h = out->data + out->len;
	memset(h, 0, ATV_AP_FRAME_HDR_LEN);
	atv_put_be32(h, (uint32_t)(ATV_AP_FRAME_HDR_LEN + len));
	memcpy(h + 4, type, tl);
	if (cl)
		memcpy(h + 16, command, cl);
	atv_put_be64(h + 20, seqno);
	if (len)
		memcpy(h + ATV_AP_FRAME_HDR_LEN, payload, len);
	out->len += ATV_AP_FRAME_HDR_LEN + len;
	return 0;
}

int atv_ap_frame_reply(struct atv_buf *out, uint64_t seqno, bool with_dict, struct atv_err *err)
{
	return atv_ap_frame_encode(out, "rply", "", seqno, with_dict ? atv_ap_empty_dict : NULL,
				   with_dict ? sizeof atv_ap_empty_dict : 0, err);
}

/* ---- the decoder ---- */

void atv_ap_frame_dec_init(struct atv_ap_frame_dec *d, size_t max)
{
	if (max == 0 || max > ATV_AP_FRAME_MAX)
		max = ATV_AP_FRAME_MAX;
	if (max < ATV_AP_FRAME_HDR_LEN)
		max = ATV_AP_FRAME_HDR_LEN;
	atv_buf_init(&d->buf, max);
	d->want = 0;
	d->ready = false;
	d->error = 0;
	d->max = max;
}

static int dec_fail(struct atv_ap_frame_dec *d, int r)
{
	d->error = r;
	atv_buf_release(&d->buf);
	return r;
}

int atv_ap_frame_dec_push(struct atv_ap_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
			  struct atv_ap_frame *f, struct atv_err *err)
{
	size_t take, need;
	uint32_t size;
	int r;

	*used = 0;
	if (d->error)
		return atv_err_set(err, -d->error, "data channel stream already broken");
	if (d->ready) {
		atv_buf_reset(&d->buf);
		d->want = 0;
		d->ready = false;
	}
	while (*used < len || (d->want && d->buf.len == d->want)) {
		need = (d->want ? d->want : ATV_AP_FRAME_HDR_LEN) - d->buf.len;
		take = len - *used < need ? len - *used : need;
		if (take) {
			r = atv_buf_append(&d->buf, p + *used, take, err);
			if (r < 0)
				return dec_fail(d, r);
			*used += take;
		}
		if (!d->want && d->buf.len == ATV_AP_FRAME_HDR_LEN) {
			size = atv_get_be32(d->buf.data);
			if (size < ATV_AP_FRAME_HDR_LEN)
				return dec_fail(d, atv_err_set(err, ATV_E_PROTO,
							       "data frame of %u bytes is shorter "
							       "than its header",
							       size));
			if (size > d->max)
				return dec_fail(d, atv_err_set(err, ATV_E_LIMIT,
							       "data frame of %u bytes exceeds the "
							       "%zu byte limit",
							       size, d->max));
			d->want = size;
		}
		if (d->want && d->buf.len == d->want) {
			const uint8_t *h = d->buf.data;

			memcpy(f->type, h + 4, sizeof f->type);
			memcpy(f->command, h + 16, sizeof f->command);
			f->seqno = atv_get_be64(h + 20);
			f->padding = atv_get_be32(h + 28);
			f->payload = h + ATV_AP_FRAME_HDR_LEN;
			f->payload_len = d->want - ATV_AP_FRAME_HDR_LEN;
			d->ready = true;
			return 1;
		}
	}
	return 0;
}

bool atv_ap_frame_dec_partial(const struct atv_ap_frame_dec *d)
{
	return !d->ready && d->buf.len > 0;
}

void atv_ap_frame_dec_release(struct atv_ap_frame_dec *d)
{
	atv_buf_release(&d->buf);
	d->want = 0;
	d->ready = false;
}

/* ---- the payload ---- */

int atv_ap_data_add(struct atv_buf *data, const uint8_t *msg, size_t len, struct atv_err *err)
{
	uint8_t v[ATV_MRP_VARINT_MAX];
	size_t vl = atv_mrp_varint_put(v, len);
	int r = atv_buf_reserve(data, vl + len, err);

	if (r < 0)
		return r;
	memcpy(data->data + data->len, v, vl);
	if (len)
		memcpy(data->data + data->len + vl, msg, len);
	data->len += vl + len;
	return 0;
}

/* Bytes plistlib uses for a count or offset n. */
static unsigned int_size(uint64_t n)
{
	return n < 1u << 8 ? 1 : n < 1u << 16 ? 2 : n < (uint64_t)1 << 32 ? 4 : 8;
}

int atv_ap_payload_encode(struct atv_buf *out, const uint8_t *data, size_t len,
			  struct atv_err *err)
{
	/* objects in plistlib's order: the top dict, its key, its value (a
	 * dict), that one's key, the data; then offsets and the trailer */
	static const uint8_t head[] = {'b', 'p', 'l', 'i', 's', 't', '0', '0', 0xd1, 1, 2,
				       0x56, 'p', 'a', 'r', 'a', 'm', 's', 0xd1, 3, 4,
				       0x54, 'd', 'a', 't', 'a'};
	static const uint64_t offsets[5] = {8, 11, 18, 21, sizeof head};
	uint8_t marker[10];
	size_t ml = 1, total;
	uint64_t table;
	unsigned osz;
	uint8_t *q;
	int r;

	if (len < 15) {
		marker[0] = (uint8_t)(0x40 | len);
	} else {
		unsigned n = int_size(len);

		marker[0] = 0x4f;
		marker[1] = (uint8_t)(0x10 | (n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3));
		atv_put_ben(marker + 2, len, n);
		ml = 2 + n;
	}
	table = sizeof head + ml + len;
	osz = int_size(table);
	total = (size_t)table + 5 * osz + 32;
	if (len > ATV_AP_FRAME_MAX || total > ATV_AP_FRAME_MAX - ATV_AP_FRAME_HDR_LEN)
		return atv_err_set(err, ATV_E_LIMIT,
				   "%zu bytes of messages exceed the data frame limit", len);
	r = atv_buf_reserve(out, total, err);
	if (r < 0)
		return r;
	q = out->data + out->len;
	memcpy(q, head, sizeof head);
	q += sizeof head;
	memcpy(q, marker, ml);
	q += ml;
	if (len)
		memcpy(q, data, len);
	q += len;
	for (int i = 0; i < 5; i++, q += osz)
		atv_put_ben(q, offsets[i], osz);
	memset(q, 0, 32);
	q[6] = (uint8_t)osz;
	q[7] = 1;
	atv_put_be64(q + 8, 5);
	atv_put_be64(q + 16, 0);
	atv_put_be64(q + 24, table);
	out->len += total;
	return 0;
}

/* A binary plist, as far as reading {params:{data}} needs: its trailer
 * and access to objects by index. */
struct bp {
	const uint8_t *p;
	size_t len;
	unsigned osz, rsz; /* bytes of an offset, of an object reference */
	uint64_t nobj, top, table;
};

static int bp_open(struct bp *b, const uint8_t *p, size_t len, struct atv_err *err)
{
	const uint8_t *t;

	if (len < 8 + 1 + 1 + 32 || memcmp(p, "bplist00", 8) != 0)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload is not a binary plist");
	t = p + len - 32;
	b->p = p;
	b->len = len;
	b->osz = t[6];
	b->rsz = t[7];
	b->nobj = atv_get_be64(t + 8);
	b->top = atv_get_be64(t + 16);
	b->table = atv_get_be64(t + 24);
	/* offsets and references of 1, 2, 4 or 8 bytes */
	if (b->osz == 0 || b->osz > 8 || (b->osz & (b->osz - 1)) || b->rsz == 0 || b->rsz > 8 ||
	    (b->rsz & (b->rsz - 1)) || b->nobj == 0 || b->top >= b->nobj ||
	    b->table < 9 || b->table > len - 32 || b->nobj > (len - 32 - b->table) / b->osz)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: malformed plist trailer");
	return 0;
}

/* Object idx: its type (the marker's high nibble), its count (for data,
 * strings, dicts) and where its contents start.  Every object must lie
 * before the offset table. */
static int bp_object(const struct bp *b, uint64_t idx, unsigned *type, uint64_t *count,
		     size_t *body, struct atv_err *err)
{
	uint64_t off, n, unit;
	unsigned m, w;

	if (idx >= b->nobj)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: bad object reference");
	off = atv_get_ben(b->p + b->table + idx * b->osz, b->osz);
	if (off < 8 || off >= b->table)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: bad object offset");
	m = b->p[off++];
	*type = m >> 4;
	n = m & 0x0f;
	if (n == 0x0f && (*type == 0x4 || *type == 0x5 || *type == 0x6 || *type == 0xd)) {
		if (off >= b->table || (b->p[off] & 0xf0) != 0x10 || (b->p[off] & 0x0f) > 3)
			return atv_err_set(err, ATV_E_PROTO, "data frame payload: bad length");
		w = 1u << (b->p[off] & 0x0f);
		off++;
		if (w > b->table - off)
			return atv_err_set(err, ATV_E_PROTO, "data frame payload: bad length");
		n = atv_get_ben(b->p + off, w);
		off += w;
	}
	unit = *type == 0x6 ? 2 : *type == 0xd ? 2 * (uint64_t)b->rsz : 1;
	if ((*type == 0x4 || *type == 0x5 || *type == 0x6 || *type == 0xd) &&
	    n > (b->table - off) / unit)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: object past its end");
	*count = n;
	*body = (size_t)off;
	return 0;
}

/* In the dict object idx, the value of the ASCII key name: 1 and *value
 * (an object index), 0 when absent, or an error (idx not a dict). */
static int bp_lookup(const struct bp *b, uint64_t idx, const char *name, uint64_t *value,
		     struct atv_err *err)
{
	size_t nl = strlen(name), body, kbody;
	uint64_t count, kcount;
	unsigned type, ktype;
	int r;

	r = bp_object(b, idx, &type, &count, &body, err);
	if (r < 0)
		return r;
	if (type != 0xd)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: %s is not a dictionary",
				   idx == b->top ? "the plist" : "params");
	for (uint64_t i = 0; i < count; i++) {
		uint64_t k = atv_get_ben(b->p + body + i * b->rsz, b->rsz);

		r = bp_object(b, k, &ktype, &kcount, &kbody, err);
		if (r < 0)
			return r;
		if (ktype == 0x5 && kcount == nl && memcmp(b->p + kbody, name, nl) == 0) {
			*value = atv_get_ben(b->p + body + (count + i) * b->rsz, b->rsz);
			return 1;
		}
	}
	return 0;
}

int atv_ap_payload_data(const uint8_t *p, size_t len, const uint8_t **data, size_t *data_len,
			struct atv_err *err)
{
	struct bp b;
	uint64_t params, d, count;
	unsigned type;
	size_t body;
	int r;

	*data = NULL;
	*data_len = 0;
	if ((r = bp_open(&b, p, len, err)) < 0)
		return r;
	if ((r = bp_lookup(&b, b.top, "params", &params, err)) <= 0)
		return r;
	if (params == b.top)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: params refers to itself");
	if ((r = bp_lookup(&b, params, "data", &d, err)) <= 0)
		return r;
	if ((r = bp_object(&b, d, &type, &count, &body, err)) < 0)
		return r;
	if (type != 0x4)
		return atv_err_set(err, ATV_E_PROTO, "data frame payload: params.data is not data");
	*data = p + body;
	*data_len = (size_t)count;
	return 1;
}

int atv_ap_data_next(const uint8_t **p, size_t *len, const uint8_t **msg, size_t *msg_len,
		     struct atv_err *err)
{
	const uint8_t *q = *p;
	uint64_t n = 0;
	size_t i;

	*msg = NULL;
	*msg_len = 0;
	if (*len == 0)
		return 0;
	if (q[0] == 0x08) {
		/* the unprefixed ConfigureConnection: the rest is one message */
		*msg = q;
		*msg_len = *len;
		*p += *len;
		*len = 0;
		return 1;
	}
	for (i = 0;; i++) {
		if (i >= *len || i >= ATV_MRP_VARINT_MAX)
			return atv_err_set(err, ATV_E_PROTO,
					   "message length in a data frame is cut short or overlong");
		if (i == ATV_MRP_VARINT_MAX - 1 && q[i] > 1)
			return atv_err_set(err, ATV_E_PROTO,
					   "message length in a data frame is above 2^64");
		n |= (uint64_t)(q[i] & 0x7f) << (7 * i);
		if (!(q[i] & 0x80))
			break;
	}
	i++;
	if (n > *len - i)
		return atv_err_set(err, ATV_E_PROTO,
				   "message of %llu bytes in a data frame that has %zu left",
				   (unsigned long long)n, *len - i);
	*msg = q + i;
	*msg_len = (size_t)n;
	*p += i + (size_t)n;
	*len -= i + (size_t)n;
	return 1;
}
