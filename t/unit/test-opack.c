/* test-opack - OPACK decoding, encoding, builders and lookups against the
 * test vectors of pyatv's tests/support/test_opack.py and the Companion
 * captures in the notes (tunnel-companion.md §4) (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"
#include "opack.h"

/* ---- helpers ---- */

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	assert_int_equal(atv_unhex(hex, strlen(hex), out, max, &n), 0);
	return n;
}

static struct atv_opack *decode_hex(const char *hex)
{
	uint8_t b[512];
	size_t n = unhex(hex, b, sizeof(b));
	struct atv_opack *v = NULL;
	struct atv_err err = {0};

	if (atv_opack_decode(b, n, &v, &err) < 0)
		fail_msg("decode %s: %s", hex, err.msg);
	return v;
}

static int decode_fails(const char *hex)
{
	uint8_t b[512];
	size_t n = unhex(hex, b, sizeof(b));
	struct atv_opack *v = (struct atv_opack *)1;
	struct atv_err err = {0};
	int r = atv_opack_decode(b, n, &v, &err);

	assert_true(r < 0);
	assert_null(v);
	assert_int_equal(err.code, -r);
	assert_true(err.msg[0] != '\0');
	return r;
}

/* Encode v (consumed) and compare with hex. */
static void encodes_to(struct atv_opack *v, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want, sizeof(want));
	struct atv_buf b;

	assert_non_null(v);
	atv_buf_init(&b, 1 << 20);
	assert_int_equal(atv_opack_encode(v, &b, NULL), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	atv_buf_release(&b);
	atv_opack_free(v);
}

/* Decoding hex gives want, and want encodes back to hex (consumes want). */
static void round_trip(const char *hex, struct atv_opack *want)
{
	struct atv_opack *v = decode_hex(hex);

	assert_true(atv_opack_equal(v, want));
	atv_opack_free(v);
	encodes_to(want, hex);
}

static void decodes_to(const char *hex, struct atv_opack *want)
{
	struct atv_opack *v = decode_hex(hex);

	assert_non_null(want);
	assert_true(atv_opack_equal(v, want));
	atv_opack_free(v);
	atv_opack_free(want);
}

static struct atv_opack *array_of(int n, ...)
{
	struct atv_opack *a = atv_opack_array();
	va_list ap;

	va_start(ap, n);
	for (int k = 0; k < n; k++)
		assert_int_equal(atv_opack_array_add(a, va_arg(ap, struct atv_opack *)), 0);
	va_end(ap);
	return a;
}

/* ---- scalars (pyatv test_opack.py) ---- */

static void test_scalars(void **state)
{
	static const uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78,
					 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78};

	(void)state;
	round_trip("01", atv_opack_bool(true));
	round_trip("02", atv_opack_bool(false));
	round_trip("04", atv_opack_null());
	round_trip("0512345678123456781234567812345678", atv_opack_uuid(uuid));
	round_trip("08", atv_opack_int(0));
	round_trip("17", atv_opack_int(15));
	round_trip("2f", atv_opack_int(0x27));
	round_trip("3028", atv_opack_int(40));
	round_trip("31ff01", atv_opack_int(511));
	round_trip("32ffffff01", atv_opack_int(0x1FFFFFF));
	round_trip("33ffffffffffffff01", atv_opack_int(0x1FFFFFFFFFFFFFFLL));
	round_trip("36000000000000f03f", atv_opack_float(1.0));
	/* width is not kept: a 2-byte 1 decodes to 1 and encodes minimally */
	decodes_to("310100", atv_opack_int(1));
	decodes_to("3001", atv_opack_int(1));
	decodes_to("3201000000", atv_opack_int(1));
	decodes_to("330100000000000000", atv_opack_int(1));
	decodes_to("3401000000000000000000000000000000", atv_opack_int(1));
	decodes_to("350000803f", atv_opack_float(1.0));
	decodes_to("07", atv_opack_int(-1));
	round_trip("06000000000000f03f", atv_opack_date(1.0));
}

static void test_integers_encode(void **state)
{
	(void)state;
	encodes_to(atv_opack_int(39), "2f");
	encodes_to(atv_opack_int(255), "30ff");
	encodes_to(atv_opack_int(256), "310001");
	encodes_to(atv_opack_int(0xFFFFFFFFLL), "32ffffffff");
	encodes_to(atv_opack_int(0x100000000LL), "330000000001000000");
	/* negative numbers: two's complement in 8 bytes, never 0x07 */
	encodes_to(atv_opack_int(-1), "33ffffffffffffffff");
	/* a u64 id >= 2^63 keeps its 64 bits both ways */
	{
		struct atv_opack *v = decode_hex("e1445f7369643300000000010000f0");
		uint64_t u;

		assert_true(atv_opack_get_u64(v, "_sid", &u));
		assert_true(u == 0xF000000100000000ULL);
		encodes_to(v, "e1445f7369643300000000010000f0");
	}
}

static void test_strings(void **state)
{
	char s[300];
	char hex[2 * 300 + 16];

	(void)state;
	round_trip("4161", atv_opack_str("a"));
	round_trip("43616263", atv_opack_str("abc"));
	round_trip("40", atv_opack_str(""));
	memset(s, 'a', sizeof(s));
	/* 32 bytes in the type byte, 33 with a one-byte length, 256 with two */
	strcpy(hex, "60");
	for (int k = 0; k < 32; k++)
		strcat(hex, "61");
	round_trip(hex, atv_opack_strn(s, 32));
	strcpy(hex, "6121");
	for (int k = 0; k < 33; k++)
		strcat(hex, "61");
	round_trip(hex, atv_opack_strn(s, 33));
	strcpy(hex, "620001");
	for (int k = 0; k < 256; k++)
		strcat(hex, "61");
	round_trip(hex, atv_opack_strn(s, 256));
	/* 3- and 4-byte lengths and the NUL-terminated form decode */
	decodes_to("630200006162", atv_opack_str("ab"));
	decodes_to("64020000006162", atv_opack_str("ab"));
	decodes_to("6f616200", atv_opack_str("ab"));
}

static void test_data(void **state)
{
	uint8_t d[300];
	char hex[2 * 300 + 16];

	(void)state;
	memset(d, 0xad, sizeof(d));
	round_trip("71ac", atv_opack_data("\xac", 1));
	round_trip("73123456", atv_opack_data("\x12\x34\x56", 3));
	round_trip("70", atv_opack_data(NULL, 0));
	strcpy(hex, "90");
	for (int k = 0; k < 32; k++)
		strcat(hex, "ad");
	round_trip(hex, atv_opack_data(d, 32));
	strcpy(hex, "9121");
	for (int k = 0; k < 33; k++)
		strcat(hex, "ad");
	round_trip(hex, atv_opack_data(d, 33));
	strcpy(hex, "920001");
	for (int k = 0; k < 256; k++)
		strcat(hex, "ad");
	round_trip(hex, atv_opack_data(d, 256));
	decodes_to("9402000000000000001234", atv_opack_data("\x12\x34", 2));
}

/* 9300000100 + 65536 bytes: data with a 4-byte length, both ways */
static void test_data_64k(void **state)
{
	size_t n = 5 + 65536;
	uint8_t *in = malloc(n);
	struct atv_opack *v = NULL;
	struct atv_buf b;

	(void)state;
	assert_non_null(in);
	memcpy(in, "\x93\x00\x00\x01\x00", 5);
	memset(in + 5, 0x61, 65536);
	assert_int_equal(atv_opack_decode(in, n, &v, NULL), 0);
	assert_int_equal(v->type, ATV_OPACK_DATA);
	assert_int_equal(v->u.s.len, 65536);
	assert_int_equal(v->u.s.p[65535], 0x61);
	atv_buf_init(&b, 1 << 20);
	assert_int_equal(atv_opack_encode(v, &b, NULL), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, in, n);
	atv_buf_release(&b);
	atv_opack_free(v);
	free(in);
}

/* ---- containers ---- */

static void test_arrays(void **state)
{
	struct atv_opack *a, *d;
	char hex[128];

	(void)state;
	round_trip("d0", atv_opack_array());
	round_trip("d309447465737402",
		   array_of(3, atv_opack_int(1), atv_opack_str("test"), atv_opack_bool(false)));
	round_trip("d1d101", array_of(1, array_of(1, atv_opack_bool(true))));

	/* pyatv packs 15 x "a" as df 4161 + 14 x a0 + 03; we decode that and
	 * write the plain form, which decodes to the same */
	a = atv_opack_array();
	for (int k = 0; k < 15; k++)
		assert_int_equal(atv_opack_array_add(a, atv_opack_str("a")), 0);
	strcpy(hex, "df4161");
	for (int k = 0; k < 14; k++)
		strcat(hex, "a0");
	strcat(hex, "03");
	d = decode_hex(hex);
	assert_true(atv_opack_equal(d, a));
	atv_opack_free(d);
	strcpy(hex, "df");
	for (int k = 0; k < 15; k++)
		strcat(hex, "4161");
	strcat(hex, "03");
	round_trip(hex, a);

	/* two endless lists in a list, referring back across them */
	strcpy(hex, "d2df4161");
	for (int k = 0; k < 15; k++)
		strcat(hex, "a0");
	strcat(hex, "03df4162");
	for (int k = 0; k < 15; k++)
		strcat(hex, "a1");
	strcat(hex, "03");
	d = decode_hex(hex);
	assert_int_equal(d->u.c.n, 2);
	assert_int_equal(d->u.c.v[0]->u.c.n, 16);
	assert_int_equal(d->u.c.v[1]->u.c.n, 16);
	assert_string_equal(d->u.c.v[0]->u.c.v[15]->u.s.p, "a");
	assert_string_equal(d->u.c.v[1]->u.c.v[15]->u.s.p, "b");
	atv_opack_free(d);
}

static void test_dicts(void **state)
{
	struct atv_opack *d, *inner;
	char hex[128];

	(void)state;
	round_trip("e0", atv_opack_dict());
	/* {"a": 12, False: None}: a non-string key */
	d = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(d, "a", atv_opack_int(12)), 0);
	assert_int_equal(atv_opack_dict_add(d, atv_opack_bool(false), atv_opack_null()), 0);
	round_trip("e24161140204", d);
	/* {True: {"a": 2}} */
	d = atv_opack_dict();
	inner = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(inner, "a", atv_opack_int(2)), 0);
	assert_int_equal(atv_opack_dict_add(d, atv_opack_bool(true), inner), 0);
	round_trip("e101e141610a", d);
	/* 15 pairs: the endless form */
	d = atv_opack_dict();
	strcpy(hex, "ef");
	for (char c = 'a'; c < 'a' + 30; c += 2) {
		char k[2] = {c, 0}, v[2] = {(char)(c + 1), 0};
		char pair[16];

		assert_int_equal(atv_opack_dict_set(d, k, atv_opack_str(v)), 0);
		snprintf(pair, sizeof(pair), "41%02x41%02x", c, c + 1);
		strcat(hex, pair);
	}
	strcat(hex, "03");
	round_trip(hex, d);
}

/* ---- back-references ---- */

static void test_refs(void **state)
{
	struct atv_opack *want, *c;

	(void)state;
	decodes_to("d24161a0", array_of(2, atv_opack_str("a"), atv_opack_str("a")));
	decodes_to("d443666f6f43626172a0a1", array_of(4, atv_opack_str("foo"), atv_opack_str("bar"),
						      atv_opack_str("foo"), atv_opack_str("bar")));
	/* {"a":"b","c":{"d":"a"},"d":True}: keys are indexed before values */
	want = atv_opack_dict();
	c = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(c, "d", atv_opack_str("a")), 0);
	assert_int_equal(atv_opack_dict_set(want, "a", atv_opack_str("b")), 0);
	assert_int_equal(atv_opack_dict_set(want, "c", c), 0);
	assert_int_equal(atv_opack_dict_set(want, "d", atv_opack_bool(true)), 0);
	decodes_to("e3416141624163e14164a0a301", want);
	/* C1-C4: the low nibble is the index's byte count (pyatv unpack) */
	decodes_to("df30013002c10103",
		   array_of(3, atv_opack_int(1), atv_opack_int(2), atv_opack_int(2)));
	decodes_to("df30013002c2010003",
		   array_of(3, atv_opack_int(1), atv_opack_int(2), atv_opack_int(2)));
	decodes_to("df30013002c301000003",
		   array_of(3, atv_opack_int(1), atv_opack_int(2), atv_opack_int(2)));
	decodes_to("df30013002c40100000003",
		   array_of(3, atv_opack_int(1), atv_opack_int(2), atv_opack_int(2)));
	/* small ints, booleans, null and containers take no index */
	decode_fails("d30901a0");
	decode_fails("d2d109a0");
	/* pyatv's pack indexes containers ([[1,2],"a","a"] -> d3d2090a4161a1);
	 * neither its unpack nor we do: index 1 does not exist */
	decode_fails("d3d2090a4161a1");
	/* empty strings and data take no index (pyatv's pack, itsytv) */
	decode_fails("d24040a0");
	decodes_to("d440704161a0", array_of(4, atv_opack_str(""), atv_opack_data(NULL, 0),
					    atv_opack_str("a"), atv_opack_str("a")));
	/* an equal value seen again is not indexed twice */
	decodes_to("d4416141614162a1", array_of(4, atv_opack_str("a"), atv_opack_str("a"),
						atv_opack_str("b"), atv_opack_str("b")));
	/* a string and data with the same bytes are different values */
	decodes_to("d4416171614161a1", array_of(4, atv_opack_str("a"), atv_opack_data("a", 1),
						atv_opack_str("a"), atv_opack_data("a", 1)));
}

/* 257 one- and two-byte data items twice: references a0..c0, c121..c1ff,
 * c20001, as pyatv packs them */
static void test_refs_257(void **state)
{
	uint8_t in[4096];
	size_t n = 0;
	struct atv_opack *v = NULL;
	struct atv_err err;

	(void)state;
	in[n++] = 0xdf;
	for (unsigned x = 0; x < 257; x++) {
		if (x < 0x80) {
			in[n++] = 0x71;
			in[n++] = (uint8_t)x;
		} else { /* chr(x).encode(): UTF-8 */
			in[n++] = 0x72;
			in[n++] = (uint8_t)(0xc0 | x >> 6);
			in[n++] = (uint8_t)(0x80 | (x & 0x3f));
		}
	}
	for (unsigned x = 0; x < 257; x++) {
		if (x <= 32) {
			in[n++] = (uint8_t)(0xa0 + x);
		} else if (x <= 0xff) {
			in[n++] = 0xc1;
			in[n++] = (uint8_t)x;
		} else {
			in[n++] = 0xc2;
			in[n++] = (uint8_t)x;
			in[n++] = (uint8_t)(x >> 8);
		}
	}
	in[n++] = 0x03;
	assert_int_equal(atv_opack_decode(in, n, &v, &err), 0);
	assert_int_equal(v->u.c.n, 514);
	for (unsigned x = 0; x < 257; x++)
		assert_true(atv_opack_equal(v->u.c.v[x], v->u.c.v[257 + x]));
	assert_int_equal(v->u.c.v[513]->u.s.len, 2);
	assert_memory_equal(v->u.c.v[513]->u.s.p, "\xc4\x80", 2);
	atv_opack_free(v);
}

/* ---- Companion messages (notes §4) ---- */

static void test_companion_frames(void **state)
{
	struct atv_opack *d, *c;

	(void)state;
	/* PS_Start M1 payload (frame 03 000013): {_pd: TLV8, _pwTy: 1} */
	d = atv_opack_dict();
	assert_int_equal(
	    atv_opack_dict_set(d, "_pd", atv_opack_data("\x00\x01\x00\x06\x01\x01", 6)), 0);
	assert_int_equal(atv_opack_dict_set(d, "_pwTy", atv_opack_int(1)), 0);
	round_trip("e2435f706476000100060101455f7077547909", d);
	/* PV M4 payload (frame 06 000009): {_pd: State 4} */
	d = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(d, "_pd", atv_opack_data("\x06\x01\x04", 3)), 0);
	round_trip("e1435f706473060104", d);
	/* M5's inner Name TLV: {"name": "pyatv"} */
	d = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(d, "name", atv_opack_str("pyatv")), 0);
	round_trip("e1446e616d65457079617476", d);

	/* a _hidC request as pyatv writes it: the inner "_hidC" key is a
	 * reference (a1) to the _i value; we write it out in full */
	d = atv_opack_dict();
	c = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(c, "_hBtS", atv_opack_int(1)), 0);
	assert_int_equal(atv_opack_dict_set(c, "_hidC", atv_opack_int(1)), 0);
	assert_int_equal(atv_opack_dict_set(d, "_i", atv_opack_str("_hidC")), 0);
	assert_int_equal(atv_opack_dict_set(d, "_t", atv_opack_int(2)), 0);
	assert_int_equal(atv_opack_dict_set(d, "_c", c), 0);
	assert_int_equal(atv_opack_dict_set(d, "_x", atv_opack_int(4660)), 0);
	decodes_to("e4425f69455f68696443425f740a425f63e2455f6842745309a109425f78313412",
		   atv_opack_copy(d));
	encodes_to(d, "e4425f69455f68696443425f740a425f63e2455f6842745309455f686964430942"
		      "5f78313412");
}

/* ---- hostile input ---- */

static void test_hostile(void **state)
{
	uint8_t *big;
	struct atv_opack *v = NULL;
	struct atv_err err;
	size_t n;

	(void)state;
	assert_int_equal(decode_fails(""), -ATV_E_PROTO);
	assert_int_equal(decode_fails("00"), -ATV_E_PROTO);	      /* unknown type */
	assert_int_equal(decode_fails("03"), -ATV_E_PROTO);	      /* stray terminator */
	assert_int_equal(decode_fails("0512"), -ATV_E_PROTO);	      /* short UUID */
	assert_int_equal(decode_fails("31ff"), -ATV_E_PROTO);	      /* short int */
	assert_int_equal(decode_fails("4361"), -ATV_E_PROTO);	      /* short string */
	assert_int_equal(decode_fails("61"), -ATV_E_PROTO);	      /* no length */
	assert_int_equal(decode_fails("64ffffffff61"), -ATV_E_PROTO); /* length past end */
	assert_int_equal(decode_fails("94ffffffffffffffff61"), -ATV_E_PROTO);
	assert_int_equal(decode_fails("6f6162"), -ATV_E_PROTO); /* no NUL */
	assert_int_equal(decode_fails("d2"), -ATV_E_PROTO);	/* missing items */
	assert_int_equal(decode_fails("df09"), -ATV_E_PROTO);	/* no terminator */
	assert_int_equal(decode_fails("e14161"), -ATV_E_PROTO); /* key without value */
	assert_int_equal(decode_fails("ef416103"), -ATV_E_PROTO);
	assert_int_equal(decode_fails("a0"), -ATV_E_PROTO); /* empty table */
	assert_int_equal(decode_fails("c4ffffffff"), -ATV_E_PROTO);
	assert_int_equal(decode_fails("0909"), -ATV_E_PROTO); /* trailing byte */
	assert_int_equal(decode_fails("3400000000000000000100000000000000"), -ATV_E_PROTO);
	assert_int_equal(decode_fails("f0"), -ATV_E_PROTO);

	/* nesting: 32 arrays are fine, 33 are not */
	{
		char hex[128] = "";

		for (int k = 0; k < ATV_OPACK_MAX_DEPTH; k++)
			strcat(hex, "d1");
		strcat(hex, "09");
		v = decode_hex(hex);
		atv_opack_free(v);
		hex[0] = '\0';
		for (int k = 0; k <= ATV_OPACK_MAX_DEPTH; k++)
			strcat(hex, "d1");
		strcat(hex, "09");
		assert_int_equal(decode_fails(hex), -ATV_E_LIMIT);
	}

	/* too many values */
	n = 2 + ATV_OPACK_MAX_ITEMS + 1;
	big = malloc(n);
	assert_non_null(big);
	big[0] = 0xdf;
	memset(big + 1, 0x09, n - 2);
	big[n - 1] = 0x03;
	assert_int_equal(atv_opack_decode(big, n, &v, &err), -ATV_E_LIMIT);
	assert_null(v);
	free(big);

	/* a reference bomb: one 64 KB string referred to 100 times */
	n = 1 + 5 + 65536 + 100 + 1;
	big = malloc(n);
	assert_non_null(big);
	big[0] = 0xdf;
	memcpy(big + 1, "\x64\x00\x00\x01\x00", 5);
	memset(big + 6, 'x', 65536);
	memset(big + 6 + 65536, 0xa0, 100);
	big[n - 1] = 0x03;
	assert_int_equal(atv_opack_decode(big, n, &v, &err), -ATV_E_LIMIT);
	assert_null(v);
	free(big);

	/* input over the size cap */
	n = ATV_OPACK_MAX_SIZE + 1;
	big = calloc(1, n);
	assert_non_null(big);
	assert_int_equal(atv_opack_decode(big, n, &v, &err), -ATV_E_LIMIT);
	free(big);
}

static void test_prefix(void **state)
{
	struct atv_opack *v;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    atv_opack_decode_prefix((const uint8_t *)"\x41\x61\x09\x0a", 4, &v, &used, NULL), 0);
	assert_int_equal(used, 2);
	assert_string_equal(atv_opack_str_value(v), "a");
	atv_opack_free(v);
}

/* ---- builders and lookups ---- */

static void test_lookups(void **state)
{
	struct atv_opack *d, *c;
	const uint8_t *p;
	size_t len;
	int64_t i;
	double f;
	bool b;

	(void)state;
	d = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(d, "_i", atv_opack_str("_systemInfo")), 0);
	assert_int_equal(atv_opack_dict_set(d, "_t", atv_opack_int(2)), 0);
	assert_int_equal(atv_opack_dict_set(d, "_vol", atv_opack_float(0.5)), 0);
	assert_int_equal(atv_opack_dict_set(d, "_idsID", atv_opack_data("\x01\x02", 2)), 0);
	assert_int_equal(atv_opack_dict_set(d, "ok", atv_opack_bool(true)), 0);
	assert_int_equal(atv_opack_dict_set(d, "nul", atv_opack_strn("a\0b", 3)), 0);
	c = atv_opack_dict();
	assert_int_equal(atv_opack_dict_set(d, "_c", c), 0);
	assert_int_equal(atv_opack_dict_set(c, "_sid", atv_opack_int(5555)), 0);
	assert_int_equal(atv_opack_dict_set(d, "l", atv_opack_array()), 0);

	assert_string_equal(atv_opack_get_str(d, "_i"), "_systemInfo");
	assert_null(atv_opack_get_str(d, "_t"));
	assert_null(atv_opack_get_str(d, "nul")); /* embedded NUL */
	assert_null(atv_opack_get_str(d, "missing"));
	assert_true(atv_opack_get_int(d, "_t", &i));
	assert_int_equal(i, 2);
	assert_false(atv_opack_get_int(d, "_vol", &i));
	assert_true(atv_opack_get_number(d, "_vol", &f));
	assert_true(f == 0.5);
	assert_true(atv_opack_get_number(d, "_t", &f));
	assert_true(f == 2.0);
	p = atv_opack_get_data(d, "_idsID", &len);
	assert_non_null(p);
	assert_int_equal(len, 2);
	assert_true(atv_opack_get_bool(d, "ok", &b) && b);
	assert_non_null(atv_opack_get_array(d, "l"));
	assert_null(atv_opack_get_array(d, "_c"));
	assert_true(atv_opack_get_int(atv_opack_get_dict(d, "_c"), "_sid", &i));
	assert_int_equal(i, 5555);
	assert_null(atv_opack_get(NULL, "_i"));
	assert_null(atv_opack_get(c->u.c.v[0], "_i")); /* not a dict */

	/* dict_set replaces the first pair with that key */
	assert_int_equal(atv_opack_dict_set(d, "_t", atv_opack_int(3)), 0);
	assert_true(atv_opack_get_int(d, "_t", &i));
	assert_int_equal(i, 3);
	assert_int_equal(d->u.c.n, 8);

	/* a failed constructor gives NOMEM; a non-container USAGE */
	assert_int_equal(atv_opack_dict_set(d, "x", NULL), -ATV_E_NOMEM);
	assert_int_equal(atv_opack_array_add(d, atv_opack_int(1)), -ATV_E_USAGE);
	assert_int_equal(atv_opack_dict_add(c->u.c.v[1], atv_opack_int(1), atv_opack_int(2)),
			 -ATV_E_USAGE);
	assert_int_equal(atv_opack_dict_add(d, atv_opack_int(1), NULL), -ATV_E_NOMEM);

	/* a copy is equal and independent */
	c = atv_opack_copy(d);
	assert_true(atv_opack_equal(c, d));
	assert_int_equal(atv_opack_dict_set(c, "_t", atv_opack_int(4)), 0);
	assert_false(atv_opack_equal(c, d));
	atv_opack_free(c);
	atv_opack_free(d);
	atv_opack_free(NULL);
	assert_string_equal(atv_opack_type_name(ATV_OPACK_DICT), "dict");
}

static void test_text(void **state)
{
	struct atv_opack *v = decode_hex("e4425f69455f68696443425f740a425f63e2455f6842745309a109"
					 "425f78313412");
	struct atv_buf b;
	static const char want[] = "{\"_i\":\"_hidC\",\"_t\":2,\"_c\":{\"_hBtS\":1,\"_hidC\":1},"
				   "\"_x\":4660}";

	(void)state;
	atv_buf_init(&b, 4096);
	assert_int_equal(atv_opack_to_text(v, &b, NULL), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	atv_opack_free(v);
	atv_buf_reset(&b);
	v = decode_hex("d60204350000c03f0512345678123456781234567812345678720a22e20102436122"
		       "0a07");
	assert_int_equal(atv_opack_to_text(v, &b, NULL), 0);
	{
		static const char w2[] = "[false,null,1.5,12345678-1234-5678-1234-567812345678,"
					 "<0a22>,{true:false,\"a\\\"\\n\":-1}]";

		assert_int_equal(b.len, strlen(w2));
		assert_memory_equal(b.data, w2, b.len);
	}
	atv_opack_free(v);
	atv_buf_release(&b);
}

/* encoding into a buffer that is too small appends nothing */
static void test_encode_limit(void **state)
{
	struct atv_opack *v = array_of(2, atv_opack_str("hello"), atv_opack_str("world"));
	struct atv_buf b;
	struct atv_err err;

	(void)state;
	atv_buf_init(&b, 8);
	assert_int_equal(atv_buf_append(&b, "x", 1, NULL), 0);
	assert_int_equal(atv_opack_encode(v, &b, &err), -ATV_E_LIMIT);
	assert_int_equal(b.len, 1);
	atv_buf_release(&b);
	atv_opack_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),	 cmocka_unit_test(test_integers_encode),
	    cmocka_unit_test(test_strings),	 cmocka_unit_test(test_data),
	    cmocka_unit_test(test_data_64k),	 cmocka_unit_test(test_arrays),
	    cmocka_unit_test(test_dicts),	 cmocka_unit_test(test_refs),
	    cmocka_unit_test(test_refs_257),	 cmocka_unit_test(test_companion_frames),
	    cmocka_unit_test(test_hostile),	 cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_lookups),	 cmocka_unit_test(test_text),
	    cmocka_unit_test(test_encode_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
