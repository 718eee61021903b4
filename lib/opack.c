/* opack.c - OPACK values: a bounded decoder that resolves back-references,
 * an encoder that never writes them, builders and lookups.  The choices
 * where implementations disagree are listed in opack.h. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "opack.h"
#include "banned.h"

/* ---- values ---- */

static struct atv_opack *opack_new(enum atv_opack_type t)
{
	struct atv_opack *v = calloc(1, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

static bool is_bytes(const struct atv_opack *v)
{
	return v->type == ATV_OPACK_STRING || v->type == ATV_OPACK_DATA;
}

static bool is_container(const struct atv_opack *v)
{
	return v->type == ATV_OPACK_ARRAY || v->type == ATV_OPACK_DICT;
}

void atv_opack_free(struct atv_opack *v)
{
	if (!v)
		return;
	if (is_bytes(v) && v->u.s.p) {
		OPENSSL_cleanse(v->u.s.p, v->u.s.len);
		free(v->u.s.p);
	} else if (is_container(v)) {
		for (size_t k = 0; k < v->u.c.n * (v->type == ATV_OPACK_DICT ? 2 : 1); k++)
			atv_opack_free(v->u.c.v[k]);
		free(v->u.c.v);
	}
	free(v);
}

struct atv_opack *atv_opack_null(void)
{
	return opack_new(ATV_OPACK_NULL);
}

struct atv_opack *atv_opack_bool(bool b)
{
	struct atv_opack *v = opack_new(ATV_OPACK_BOOL);

	if (v)
		v->u.b = b;
	return v;
}

struct atv_opack *atv_opack_int(int64_t i)
{
	struct atv_opack *v = opack_new(ATV_OPACK_INT);

	if (v)
		v->u.i = i;
	return v;
}

struct atv_opack *atv_opack_float(double f)
{
	struct atv_opack *v = opack_new(ATV_OPACK_FLOAT);

	if (v)
		v->u.f = f;
	return v;
}

struct atv_opack *atv_opack_date(double seconds_since_2001)
{
	struct atv_opack *v = opack_new(ATV_OPACK_DATE);

	if (v)
		v->u.f = seconds_since_2001;
	return v;
}

struct atv_opack *atv_opack_uuid(const uint8_t uuid[16])
{
	struct atv_opack *v = opack_new(ATV_OPACK_UUID);

	if (v)
		memcpy(v->u.uuid, uuid, 16);
	return v;
}

static struct atv_opack *bytes_new(enum atv_opack_type t, const void *p, size_t len)
{
	struct atv_opack *v;

	if (len == SIZE_MAX)
		return NULL;
	v = opack_new(t);
	if (!v)
		return NULL;
	v->u.s.p = malloc(len + 1);
	if (!v->u.s.p) {
		free(v);
		return NULL;
	}
	if (len)
		memcpy(v->u.s.p, p, len);
	v->u.s.p[len] = '\0';
	v->u.s.len = len;
	return v;
}

struct atv_opack *atv_opack_strn(const char *s, size_t len)
{
	return bytes_new(ATV_OPACK_STRING, s, len);
}

struct atv_opack *atv_opack_str(const char *s)
{
	return s ? atv_opack_strn(s, strlen(s)) : NULL;
}

struct atv_opack *atv_opack_data(const void *p, size_t len)
{
	return bytes_new(ATV_OPACK_DATA, p, len);
}

struct atv_opack *atv_opack_array(void)
{
	return opack_new(ATV_OPACK_ARRAY);
}

struct atv_opack *atv_opack_dict(void)
{
	return opack_new(ATV_OPACK_DICT);
}

/* Make room for `more` pointers after a container's used slots (items,
 * or keys and values). */
static int slots_reserve(struct atv_opack *c, size_t more)
{
	size_t used = c->u.c.n * (c->type == ATV_OPACK_DICT ? 2 : 1);

	if (c->u.c.cap - used < more) {
		size_t ncap = c->u.c.cap ? 2 * c->u.c.cap : 4;
		struct atv_opack **nv;

		if (ncap > SIZE_MAX / sizeof(*nv))
			return -ATV_E_NOMEM;
		nv = realloc(c->u.c.v, ncap * sizeof(*nv));
		if (!nv)
			return -ATV_E_NOMEM;
		c->u.c.v = nv;
		c->u.c.cap = ncap;
	}
	return 0;
}

int atv_opack_array_add(struct atv_opack *arr, struct atv_opack *item)
{
	int r;

	if (!item)
		return -ATV_E_NOMEM;
	if (!arr || arr->type != ATV_OPACK_ARRAY) {
		atv_opack_free(item);
		return -ATV_E_USAGE;
	}
	r = slots_reserve(arr, 1);
	if (r < 0) {
		atv_opack_free(item);
		return r;
	}
	arr->u.c.v[arr->u.c.n++] = item;
	return 0;
}

int atv_opack_dict_add(struct atv_opack *dict, struct atv_opack *key, struct atv_opack *val)
{
	int r = 0;

	if (!key || !val)
		r = -ATV_E_NOMEM;
	else if (!dict || dict->type != ATV_OPACK_DICT)
		r = -ATV_E_USAGE;
	/* room for both slots first, so a failure leaves no half pair */
	else if ((r = slots_reserve(dict, 2)) == 0) {
		dict->u.c.v[2 * dict->u.c.n] = key;
		dict->u.c.v[2 * dict->u.c.n + 1] = val;
		dict->u.c.n++;
		return 0;
	}
	atv_opack_free(key);
	atv_opack_free(val);
	return r;
}

static bool key_is(const struct atv_opack *k, const char *key, size_t keylen)
{
	return k->type == ATV_OPACK_STRING && k->u.s.len == keylen &&
	       memcmp(k->u.s.p, key, keylen) == 0;
}

/* Index of the first pair whose key is the string key, or -1. */
static long dict_find(const struct atv_opack *dict, const char *key)
{
	size_t keylen;

	if (!dict || dict->type != ATV_OPACK_DICT || !key)
		return -1;
	keylen = strlen(key);
	for (size_t k = 0; k < dict->u.c.n; k++)
		if (key_is(dict->u.c.v[2 * k], key, keylen))
			return (long)k;
	return -1;
}

int atv_opack_dict_set(struct atv_opack *dict, const char *key, struct atv_opack *val)
{
	long k;

	if (!val)
		return -ATV_E_NOMEM;
	if (!dict || dict->type != ATV_OPACK_DICT || !key) {
		atv_opack_free(val);
		return -ATV_E_USAGE;
	}
	k = dict_find(dict, key);
	if (k >= 0) {
		atv_opack_free(dict->u.c.v[2 * k + 1]);
		dict->u.c.v[2 * k + 1] = val;
		return 0;
	}
	return atv_opack_dict_add(dict, atv_opack_str(key), val);
}

struct atv_opack *atv_opack_copy(const struct atv_opack *v)
{
	struct atv_opack *c;
	int r = 0;

	if (!v)
		return NULL;
	if (is_bytes(v))
		return bytes_new(v->type, v->u.s.p, v->u.s.len);
	c = opack_new(v->type);
	if (!c)
		return NULL;
	if (!is_container(v))
		c->u = v->u;
	else if (v->type == ATV_OPACK_ARRAY)
		for (size_t k = 0; r == 0 && k < v->u.c.n; k++)
			r = atv_opack_array_add(c, atv_opack_copy(v->u.c.v[k]));
	else
		for (size_t k = 0; r == 0 && k < v->u.c.n; k++)
			r = atv_opack_dict_add(c, atv_opack_copy(v->u.c.v[2 * k]),
					       atv_opack_copy(v->u.c.v[2 * k + 1]));
	if (r < 0) {
		atv_opack_free(c);
		return NULL;
	}
	return c;
}

static bool same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

bool atv_opack_equal(const struct atv_opack *a, const struct atv_opack *b)
{
	if (!a || !b || a->type != b->type)
		return false;
	switch (a->type) {
	case ATV_OPACK_NULL: return true;
	case ATV_OPACK_BOOL: return a->u.b == b->u.b;
	case ATV_OPACK_INT: return a->u.i == b->u.i;
	case ATV_OPACK_FLOAT:
	case ATV_OPACK_DATE: return same_bits(a->u.f, b->u.f);
	case ATV_OPACK_UUID: return memcmp(a->u.uuid, b->u.uuid, 16) == 0;
	case ATV_OPACK_STRING:
	case ATV_OPACK_DATA:
		return a->u.s.len == b->u.s.len && memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case ATV_OPACK_ARRAY:
	case ATV_OPACK_DICT:
		if (a->u.c.n != b->u.c.n)
			return false;
		for (size_t k = 0; k < a->u.c.n * (a->type == ATV_OPACK_DICT ? 2 : 1); k++)
			if (!atv_opack_equal(a->u.c.v[k], b->u.c.v[k]))
				return false;
		return true;
	}
	return false;
}

/* ---- decoding ---- */

/* The back-reference table: the values in the order they were decoded
 * (pointers into the tree being built), and an open-addressing hash of
 * them so that "already present" is not a linear search per value. */
struct dec {
	const uint8_t *p;
	size_t len, pos;
	size_t items, bytes;
	const struct atv_opack **tab;
	size_t ntab, tabcap;
	size_t *hash; /* table index + 1, 0 = empty slot */
	size_t hcap;  /* a power of two, at least twice ntab */
	struct atv_err *err;
};

static uint64_t value_hash(const struct atv_opack *v)
{
	const uint8_t *p;
	size_t n;
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)v->type;

	if (is_bytes(v)) {
		p = (const uint8_t *)v->u.s.p;
		n = v->u.s.len;
	} else if (v->type == ATV_OPACK_UUID) {
		p = v->u.uuid;
		n = 16;
	} else if (v->type == ATV_OPACK_INT) {
		p = (const uint8_t *)&v->u.i;
		n = sizeof(v->u.i);
	} else {
		p = (const uint8_t *)&v->u.f;
		n = sizeof(v->u.f);
	}
	for (size_t k = 0; k < n; k++)
		h = (h ^ p[k]) * 1099511628211ULL;
	return h;
}

static int tab_rehash(struct dec *d, size_t ncap)
{
	size_t *nh = calloc(ncap, sizeof(*nh));

	if (!nh)
		return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	for (size_t k = 0; k < d->ntab; k++) {
		size_t s = (size_t)value_hash(d->tab[k]) & (ncap - 1);

		while (nh[s])
			s = (s + 1) & (ncap - 1);
		nh[s] = k + 1;
	}
	free(d->hash);
	d->hash = nh;
	d->hcap = ncap;
	return 0;
}

/* Enter v in the reference table unless an equal value is there. */
static int tab_add(struct dec *d, const struct atv_opack *v)
{
	size_t s;

	if (is_bytes(v) && v->u.s.len == 0)
		return 0;
	if (2 * (d->ntab + 1) > d->hcap) {
		int r = tab_rehash(d, d->hcap ? 2 * d->hcap : 64);

		if (r < 0)
			return r;
	}
	s = (size_t)value_hash(v) & (d->hcap - 1);
	for (; d->hash[s]; s = (s + 1) & (d->hcap - 1))
		if (atv_opack_equal(d->tab[d->hash[s] - 1], v))
			return 0;
	if (d->ntab == d->tabcap) {
		/* ntab never exceeds ATV_OPACK_MAX_ITEMS: no overflow */
		size_t ncap = d->tabcap ? 2 * d->tabcap : 32;
		const struct atv_opack **nt = realloc(d->tab, ncap * sizeof(*nt));

		if (!nt)
			return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
		d->tab = nt;
		d->tabcap = ncap;
	}
	d->tab[d->ntab++] = v;
	d->hash[s] = d->ntab;
	return 0;
}

static int need(struct dec *d, size_t n, const char *what)
{
	if (n > d->len - d->pos)
		return atv_err_set(d->err, ATV_E_PROTO, "opack %s at byte %zu runs past the end",
				   what, d->pos);
	return 0;
}

/* n (1..8) little-endian bytes at the current position. */
static int read_le(struct dec *d, size_t n, uint64_t *v, const char *what)
{
	int r = need(d, n, what);

	if (r < 0)
		return r;
	*v = 0;
	for (size_t k = n; k-- > 0;)
		*v = *v << 8 | d->p[d->pos + k];
	d->pos += n;
	return 0;
}

static int count_bytes(struct dec *d, size_t n)
{
	if (n > ATV_OPACK_MAX_BYTES - d->bytes)
		return atv_err_set(d->err, ATV_E_LIMIT,
				   "opack message holds more than %d bytes of strings and data",
				   ATV_OPACK_MAX_BYTES);
	d->bytes += n;
	return 0;
}

static int dec_value(struct dec *d, int depth, struct atv_opack **out);

/* The items of an array or the pairs of a dict: count of them, or until
 * the 0x03 terminator when count is 15. */
static int dec_container(struct dec *d, int depth, struct atv_opack *c, unsigned count)
{
	bool endless = count == 0xF;

	if (depth >= ATV_OPACK_MAX_DEPTH)
		return atv_err_set(d->err, ATV_E_LIMIT, "opack nesting deeper than %d",
				   ATV_OPACK_MAX_DEPTH);
	for (unsigned k = 0; endless || k < count; k++) {
		struct atv_opack *key = NULL, *item;
		int r;

		if (endless) {
			if ((r = need(d, 1, "collection")) < 0)
				return r;
			if (d->p[d->pos] == 0x03) {
				d->pos++;
				break;
			}
		}
		if (c->type == ATV_OPACK_DICT && (r = dec_value(d, depth + 1, &key)) < 0)
			return r;
		if ((r = dec_value(d, depth + 1, &item)) < 0) {
			atv_opack_free(key);
			return r;
		}
		r = c->type == ATV_OPACK_DICT ? atv_opack_dict_add(c, key, item)
					      : atv_opack_array_add(c, item);
		if (r < 0)
			return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	}
	return 0;
}

static int dec_bytes(struct dec *d, enum atv_opack_type t, uint64_t n, struct atv_opack **out)
{
	int r;

	if (n > d->len - d->pos)
		return atv_err_set(d->err, ATV_E_PROTO,
				   "opack %s of %" PRIu64 " bytes at byte %zu runs past the end",
				   t == ATV_OPACK_STRING ? "string" : "data", n, d->pos);
	r = count_bytes(d, (size_t)n);
	if (r < 0)
		return r;
	*out = bytes_new(t, d->p + d->pos, (size_t)n);
	if (!*out)
		return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	d->pos += (size_t)n;
	return 0;
}

static int dec_ref(struct dec *d, uint64_t idx, size_t at, struct atv_opack **out)
{
	const struct atv_opack *v;
	int r;

	if (idx >= d->ntab)
		return atv_err_set(d->err, ATV_E_PROTO,
				   "opack reference at byte %zu to value %" PRIu64 " of %zu", at,
				   idx, d->ntab);
	v = d->tab[idx];
	r = count_bytes(d, is_bytes(v) ? v->u.s.len : 0);
	if (r < 0)
		return r;
	*out = atv_opack_copy(v); /* a leaf: tables hold no containers */
	if (!*out)
		return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	return 0;
}

/* Decode the fixed-size and sized scalars; *out NULL means "not one". */
static int dec_scalar(struct dec *d, uint8_t b, struct atv_opack **out)
{
	uint64_t u = 0;
	int r = 0;

	*out = NULL;
	if (b == 0x05) {
		if ((r = need(d, 16, "uuid")) < 0)
			return r;
		*out = atv_opack_uuid(d->p + d->pos);
		d->pos += 16;
	} else if (b == 0x06 || b == 0x36) {
		double f;

		if ((r = read_le(d, 8, &u, b == 0x06 ? "date" : "float")) < 0)
			return r;
		memcpy(&f, &u, sizeof(f));
		*out = b == 0x06 ? atv_opack_date(f) : atv_opack_float(f);
	} else if (b == 0x35) {
		float f;
		uint32_t u32;

		if ((r = read_le(d, 4, &u, "float")) < 0)
			return r;
		u32 = (uint32_t)u;
		memcpy(&f, &u32, sizeof(f));
		*out = atv_opack_float(f);
	} else if (b >= 0x30 && b <= 0x34) {
		size_t n = (size_t)1 << (b - 0x30);

		if (n == 16) {
			/* a 16-byte int: only values that fit 64 bits */
			if ((r = need(d, 16, "integer")) < 0)
				return r;
			for (size_t k = 8; k < 16; k++)
				if (d->p[d->pos + k])
					return atv_err_set(
					    d->err, ATV_E_PROTO,
					    "opack integer at byte %zu exceeds 64 bits",
					    d->pos - 1);
			r = read_le(d, 8, &u, "integer");
			d->pos += 8;
		} else
			r = read_le(d, n, &u, "integer");
		if (r < 0)
			return r;
		*out = atv_opack_int((int64_t)u);
	} else
		return 0;
	if (!*out)
		return atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	return 1;
}

static int dec_value(struct dec *d, int depth, struct atv_opack **out)
{
	size_t at = d->pos;
	uint8_t b;
	uint64_t n;
	int r;
	bool indexed = false;

	*out = NULL;
	if ((r = need(d, 1, "value")) < 0)
		return r;
	if (++d->items > ATV_OPACK_MAX_ITEMS)
		return atv_err_set(d->err, ATV_E_LIMIT, "opack message has more than %d values",
				   ATV_OPACK_MAX_ITEMS);
	b = d->p[d->pos++];
	if ((r = dec_scalar(d, b, out)) < 0)
		return r;
	if (r > 0) {
		indexed = true;
		r = 0;
	} else if (b == 0x01 || b == 0x02) {
		*out = atv_opack_bool(b == 0x01);
	} else if (b == 0x04) {
		*out = atv_opack_null();
	} else if (b == 0x07) {
		*out = atv_opack_int(-1);
	} else if (b >= 0x08 && b <= 0x2F) {
		*out = atv_opack_int(b - 0x08);
	} else if (b >= 0x40 && b <= 0x60) {
		r = dec_bytes(d, ATV_OPACK_STRING, b - 0x40u, out);
		indexed = true;
	} else if (b >= 0x61 && b <= 0x64) {
		if ((r = read_le(d, b - 0x60u, &n, "string length")) == 0)
			r = dec_bytes(d, ATV_OPACK_STRING, n, out);
		indexed = true;
	} else if (b == 0x6F) {
		const uint8_t *z = memchr(d->p + d->pos, 0, d->len - d->pos);

		if (!z)
			return atv_err_set(d->err, ATV_E_PROTO,
					   "opack string at byte %zu has no NUL", at);
		r = dec_bytes(d, ATV_OPACK_STRING, (uint64_t)(z - (d->p + d->pos)), out);
		d->pos++; /* the NUL */
		indexed = true;
	} else if (b >= 0x70 && b <= 0x90) {
		r = dec_bytes(d, ATV_OPACK_DATA, b - 0x70u, out);
		indexed = true;
	} else if (b >= 0x91 && b <= 0x94) {
		if ((r = read_le(d, (size_t)1 << (b - 0x91), &n, "data length")) == 0)
			r = dec_bytes(d, ATV_OPACK_DATA, n, out);
		indexed = true;
	} else if (b >= 0xA0 && b <= 0xC0) {
		r = dec_ref(d, b - 0xA0u, at, out);
	} else if (b >= 0xC1 && b <= 0xC4) {
		if ((r = read_le(d, b - 0xC0u, &n, "reference")) == 0)
			r = dec_ref(d, n, at, out);
	} else if (b >= 0xD0 && b <= 0xDF) {
		*out = atv_opack_array();
		if (*out)
			r = dec_container(d, depth, *out, b & 0xFu);
	} else if (b >= 0xE0 && b <= 0xEF) {
		*out = atv_opack_dict();
		if (*out)
			r = dec_container(d, depth, *out, b & 0xFu);
	} else {
		return atv_err_set(d->err, ATV_E_PROTO, "unknown opack type 0x%02x at byte %zu", b,
				   at);
	}
	if (r == 0 && !*out)
		r = atv_err_set(d->err, ATV_E_NOMEM, "out of memory");
	if (r == 0 && indexed)
		r = tab_add(d, *out);
	if (r < 0) {
		atv_opack_free(*out);
		*out = NULL;
	}
	return r;
}

int atv_opack_decode_prefix(const uint8_t *p, size_t len, struct atv_opack **out, size_t *used,
			    struct atv_err *err)
{
	struct dec d = {.p = p, .len = len, .err = err};
	int r;

	*out = NULL;
	if (len > ATV_OPACK_MAX_SIZE)
		return atv_err_set(err, ATV_E_LIMIT, "opack message of %zu bytes is too large",
				   len);
	r = dec_value(&d, 0, out);
	free(d.tab);
	free(d.hash);
	if (r == 0 && used)
		*used = d.pos;
	return r;
}

int atv_opack_decode(const uint8_t *p, size_t len, struct atv_opack **out, struct atv_err *err)
{
	size_t used;
	int r = atv_opack_decode_prefix(p, len, out, &used, err);

	if (r == 0 && used != len) {
		atv_opack_free(*out);
		*out = NULL;
		return atv_err_set(err, ATV_E_PROTO, "%zu bytes after the opack value", len - used);
	}
	return r;
}

/* ---- encoding ---- */

static int put_le(struct atv_buf *out, uint8_t tag, uint64_t v, size_t n, struct atv_err *err)
{
	uint8_t b[9];

	b[0] = tag;
	for (size_t k = 0; k < n; k++)
		b[1 + k] = (uint8_t)(v >> (8 * k));
	return atv_buf_append(out, b, 1 + n, err);
}

static int enc_bytes(const struct atv_opack *v, struct atv_buf *out, struct atv_err *err)
{
	size_t n = v->u.s.len;
	int r;

	if (v->type == ATV_OPACK_STRING) {
		if (n <= 32)
			r = put_le(out, (uint8_t)(0x40 + n), 0, 0, err);
		else if (n <= 0xFF)
			r = put_le(out, 0x61, n, 1, err);
		else if (n <= 0xFFFF)
			r = put_le(out, 0x62, n, 2, err);
		else if (n <= 0xFFFFFF)
			r = put_le(out, 0x63, n, 3, err);
		else if (n <= 0xFFFFFFFF)
			r = put_le(out, 0x64, n, 4, err);
		else
			return atv_err_set(err, ATV_E_LIMIT, "string too long for opack");
	} else {
		if (n <= 32)
			r = put_le(out, (uint8_t)(0x70 + n), 0, 0, err);
		else if (n <= 0xFF)
			r = put_le(out, 0x91, n, 1, err);
		else if (n <= 0xFFFF)
			r = put_le(out, 0x92, n, 2, err);
		else if (n <= 0xFFFFFFFF)
			r = put_le(out, 0x93, n, 4, err);
		else
			r = put_le(out, 0x94, n, 8, err);
	}
	if (r < 0)
		return r;
	return atv_buf_append(out, v->u.s.p, n, err);
}

static int enc_value(const struct atv_opack *v, int depth, struct atv_buf *out, struct atv_err *err)
{
	uint64_t bits;
	int64_t i;
	size_t n;
	int r;

	switch (v->type) {
	case ATV_OPACK_NULL: return put_le(out, 0x04, 0, 0, err);
	case ATV_OPACK_BOOL: return put_le(out, v->u.b ? 0x01 : 0x02, 0, 0, err);
	case ATV_OPACK_INT:
		i = v->u.i;
		if (i >= 0 && i <= 39)
			return put_le(out, (uint8_t)(0x08 + i), 0, 0, err);
		if (i >= 0 && i <= 0xFF)
			return put_le(out, 0x30, (uint64_t)i, 1, err);
		if (i >= 0 && i <= 0xFFFF)
			return put_le(out, 0x31, (uint64_t)i, 2, err);
		if (i >= 0 && i <= 0xFFFFFFFF)
			return put_le(out, 0x32, (uint64_t)i, 4, err);
		return put_le(out, 0x33, (uint64_t)i, 8, err);
	case ATV_OPACK_FLOAT:
	case ATV_OPACK_DATE:
		memcpy(&bits, &v->u.f, sizeof(bits));
		return put_le(out, v->type == ATV_OPACK_DATE ? 0x06 : 0x36, bits, 8, err);
	case ATV_OPACK_UUID:
		if ((r = put_le(out, 0x05, 0, 0, err)) < 0)
			return r;
		return atv_buf_append(out, v->u.uuid, 16, err);
	case ATV_OPACK_STRING:
	case ATV_OPACK_DATA: return enc_bytes(v, out, err);
	case ATV_OPACK_ARRAY:
	case ATV_OPACK_DICT:
		if (depth >= ATV_OPACK_MAX_DEPTH)
			return atv_err_set(err, ATV_E_LIMIT, "opack nesting deeper than %d",
					   ATV_OPACK_MAX_DEPTH);
		n = v->u.c.n;
		r = put_le(out,
			   (uint8_t)((v->type == ATV_OPACK_DICT ? 0xE0 : 0xD0) + (n < 15 ? n : 15)),
			   0, 0, err);
		for (size_t k = 0; r == 0 && k < n * (v->type == ATV_OPACK_DICT ? 2 : 1); k++)
			r = enc_value(v->u.c.v[k], depth + 1, out, err);
		if (r == 0 && n >= 15)
			r = put_le(out, 0x03, 0, 0, err);
		return r;
	}
	return atv_err_set(err, ATV_E_USAGE, "bad opack value type %d", (int)v->type);
}

int atv_opack_encode(const struct atv_opack *v, struct atv_buf *out, struct atv_err *err)
{
	size_t mark = out->len;
	int r;

	if (!v)
		return atv_err_set(err, ATV_E_USAGE, "no opack value");
	r = enc_value(v, 0, out, err);
	if (r < 0)
		out->len = mark;
	return r;
}

/* ---- text ---- */

static int text_str(struct atv_buf *out, const char *s, size_t n, struct atv_err *err)
{
	int r = atv_buf_append(out, "\"", 1, err);

	for (size_t k = 0; r == 0 && k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			r = atv_buf_append(out, esc, 2, err);
		} else if (c == '\n') {
			r = atv_buf_append(out, "\\n", 2, err);
		} else if (c < 0x20 || c == 0x7F) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			r = atv_buf_append(out, esc, 6, err);
		} else
			r = atv_buf_append(out, &s[k], 1, err);
	}
	return r ? r : atv_buf_append(out, "\"", 1, err);
}

static int text_fmt(struct atv_buf *out, struct atv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text_fmt(struct atv_buf *out, struct atv_err *err, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return atv_err_set(err, ATV_E_USAGE, "format error");
	return atv_buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1, err);
}

static int text_value(const struct atv_opack *v, int depth, struct atv_buf *out,
		      struct atv_err *err)
{
	const uint8_t *u = v->u.uuid;
	size_t n;
	int r = 0;

	switch (v->type) {
	case ATV_OPACK_NULL: return atv_buf_append(out, "null", 4, err);
	case ATV_OPACK_BOOL:
		return v->u.b ? atv_buf_append(out, "true", 4, err)
			      : atv_buf_append(out, "false", 5, err);
	case ATV_OPACK_INT: return text_fmt(out, err, "%" PRId64, v->u.i);
	case ATV_OPACK_FLOAT: return text_fmt(out, err, "%.17g", v->u.f);
	case ATV_OPACK_DATE: return text_fmt(out, err, "date(%.17g)", v->u.f);
	case ATV_OPACK_UUID:
		return text_fmt(out, err,
				"%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
				"%02X%02X%02X%02X%02X%02X",
				u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
				u[11], u[12], u[13], u[14], u[15]);
	case ATV_OPACK_STRING: return text_str(out, v->u.s.p, v->u.s.len, err);
	case ATV_OPACK_DATA:
		n = v->u.s.len < 64 ? v->u.s.len : 64;
		r = atv_buf_append(out, "<", 1, err);
		for (size_t k = 0; r == 0 && k < n; k++)
			r = text_fmt(out, err, "%02x", (unsigned char)v->u.s.p[k]);
		if (r == 0 && n < v->u.s.len)
			r = text_fmt(out, err, "...(%zu bytes)", v->u.s.len);
		return r ? r : atv_buf_append(out, ">", 1, err);
	case ATV_OPACK_ARRAY:
	case ATV_OPACK_DICT:
		if (depth >= ATV_OPACK_MAX_DEPTH)
			return atv_err_set(err, ATV_E_LIMIT, "opack nesting deeper than %d",
					   ATV_OPACK_MAX_DEPTH);
		r = atv_buf_append(out, v->type == ATV_OPACK_DICT ? "{" : "[", 1, err);
		for (size_t k = 0; r == 0 && k < v->u.c.n * (v->type == ATV_OPACK_DICT ? 2 : 1);
		     k++) {
			if (k > 0)
				r = atv_buf_append(
				    out, v->type == ATV_OPACK_DICT && k % 2 ? ":" : ",", 1, err);
			if (r == 0)
				r = text_value(v->u.c.v[k], depth + 1, out, err);
		}
		return r ? r : atv_buf_append(out, v->type == ATV_OPACK_DICT ? "}" : "]", 1, err);
	}
	return atv_err_set(err, ATV_E_USAGE, "bad opack value type %d", (int)v->type);
}

int atv_opack_to_text(const struct atv_opack *v, struct atv_buf *out, struct atv_err *err)
{
	size_t mark = out->len;
	int r;

	if (!v)
		return atv_err_set(err, ATV_E_USAGE, "no opack value");
	r = text_value(v, 0, out, err);
	if (r < 0)
		out->len = mark;
	return r;
}

/* ---- lookups ---- */

const struct atv_opack *atv_opack_get(const struct atv_opack *dict, const char *key)
{
	long k = dict_find(dict, key);

	return k < 0 ? NULL : dict->u.c.v[2 * k + 1];
}

static const struct atv_opack *get_typed(const struct atv_opack *dict, const char *key,
					 enum atv_opack_type t)
{
	const struct atv_opack *v = atv_opack_get(dict, key);

	return v && v->type == t ? v : NULL;
}

const char *atv_opack_str_value(const struct atv_opack *v)
{
	if (!v || v->type != ATV_OPACK_STRING || strlen(v->u.s.p) != v->u.s.len)
		return NULL;
	return v->u.s.p;
}

const char *atv_opack_get_str(const struct atv_opack *dict, const char *key)
{
	return atv_opack_str_value(atv_opack_get(dict, key));
}

const uint8_t *atv_opack_get_data(const struct atv_opack *dict, const char *key, size_t *len)
{
	const struct atv_opack *v = get_typed(dict, key, ATV_OPACK_DATA);

	if (!v)
		return NULL;
	if (len)
		*len = v->u.s.len;
	return (const uint8_t *)v->u.s.p;
}

bool atv_opack_get_int(const struct atv_opack *dict, const char *key, int64_t *out)
{
	const struct atv_opack *v = get_typed(dict, key, ATV_OPACK_INT);

	if (v && out)
		*out = v->u.i;
	return v != NULL;
}

bool atv_opack_get_u64(const struct atv_opack *dict, const char *key, uint64_t *out)
{
	const struct atv_opack *v = get_typed(dict, key, ATV_OPACK_INT);

	if (v && out)
		*out = (uint64_t)v->u.i;
	return v != NULL;
}

bool atv_opack_get_number(const struct atv_opack *dict, const char *key, double *out)
{
	const struct atv_opack *v = atv_opack_get(dict, key);

	if (!v || (v->type != ATV_OPACK_INT && v->type != ATV_OPACK_FLOAT))
		return false;
	if (out)
		*out = v->type == ATV_OPACK_INT ? (double)v->u.i : v->u.f;
	return true;
}

bool atv_opack_get_bool(const struct atv_opack *dict, const char *key, bool *out)
{
	const struct atv_opack *v = get_typed(dict, key, ATV_OPACK_BOOL);

	if (v && out)
		*out = v->u.b;
	return v != NULL;
}

const struct atv_opack *atv_opack_get_dict(const struct atv_opack *dict, const char *key)
{
	return get_typed(dict, key, ATV_OPACK_DICT);
}

const struct atv_opack *atv_opack_get_array(const struct atv_opack *dict, const char *key)
{
	return get_typed(dict, key, ATV_OPACK_ARRAY);
}

const char *atv_opack_type_name(enum atv_opack_type t)
{
	switch (t) {
	case ATV_OPACK_NULL: return "null";
	case ATV_OPACK_BOOL: return "bool";
	case ATV_OPACK_INT: return "int";
	case ATV_OPACK_FLOAT: return "float";
	case ATV_OPACK_STRING: return "string";
	case ATV_OPACK_DATA: return "data";
	case ATV_OPACK_UUID: return "uuid";
	case ATV_OPACK_DATE: return "date";
	case ATV_OPACK_ARRAY: return "array";
	case ATV_OPACK_DICT: return "dict";
	}
	return "unknown";
}
