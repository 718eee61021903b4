/* test-dmap - DMAP tags: table, parser, getters, formatter, writer, hostile
 * bodies; Remote pairing's GUIDs, PINs and pairing code (cmocka). */
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
#include "dmap.h"
#include "dmap_pair.h"

/* Bodies are written out byte by byte, independently of the writer. */
#define T(s)	  (uint8_t)(s)[0], (uint8_t)(s)[1], (uint8_t)(s)[2], (uint8_t)(s)[3]
#define L(n)	  (uint8_t)((n) >> 24), (uint8_t)((n) >> 16), (uint8_t)((n) >> 8), (uint8_t)(n)
#define U8(t, v)  T(t), L(1), (uint8_t)(v)
#define U32(t, v) T(t), L(4), L(v)

/* clang-format off */
/* A login reply: mlog{mstt=200, mlid=0x1234abcd} */
static const uint8_t login[] = {
	T("mlog"), L(24), U32("mstt", 200), U32("mlid", 0x1234abcd),
};

/* A playstatusupdate reply as an Apple TV 3 sends it while a track plays */
static const uint8_t playstatus[] = {
	T("cmst"), L(216),
	U32("mstt", 200),
	U32("cmsr", 17),
	U8("caps", 4),
	U8("cash", 1),
	U8("carp", 2),
	U8("cafs", 0),
	U8("cavs", 0),
	U8("cavc", 1),
	U32("caas", 2),
	U32("caar", 6),
	T("canp"), L(16), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
	T("cann"), L(6), 'T', 'i', 't', 'l', 'e', '!',
	T("cana"), L(6), 'A', 'r', 't', 'i', 's', 't',
	T("canl"), L(6), 'C', 'a', 'f', 0xc3, 0xa9, '"',
	T("cang"), L(4), 'R', 'o', 'c', 'k',
	U32("cmmk", 2),
	U32("cant", 123456),
	U32("cast", 245000),
};

/* A getproperty?properties=dmcp.volume reply: cmgt{mstt=200, cmvo=30} */
static const uint8_t volume[] = {
	T("cmgt"), L(24), U32("mstt", 200), U32("cmvo", 30),
};

/* Containers four deep, the innermost with an unknown tag:
 * msrv{mlcl{mlit{minm, mdcl{zzzz}}}, mstt} */
static const uint8_t nested[] = {
	T("msrv"), L(61),
	T("mlcl"), L(41),
	T("mlit"), L(33),
	T("minm"), L(3), 'a', 'b', 'c',
	T("mdcl"), L(14), T("zzzz"), L(6), 'h', 'i', 0, 0, 0, 0,
	T("mstt"), L(4), 0, 0, 0, 200,
};
/* clang-format on */

static void parse_ok(struct atv_dmap *d, const uint8_t *p, size_t len)
{
	struct atv_err err = {0};
	int r = atv_dmap_parse(d, p, len, &err);

	if (r != 0)
		fail_msg("parse failed: %s", err.msg);
}

/* Parse from an exact-size heap copy so ASan sees any read past the end. */
static int parse_copy(const uint8_t *p, size_t len, struct atv_err *err)
{
	uint8_t *c = malloc(len ? len : 1);
	struct atv_dmap d;
	int r;

	assert_non_null(c);
	if (len)
		memcpy(c, p, len);
	r = atv_dmap_parse(&d, c, len, err);
	/* the tree owns a copy: the input may go at once */
	free(c);
	if (r == 0) {
		char line[256];

		atv_dmap_format(&d, line, sizeof line);
	}
	atv_dmap_release(&d);
	return r;
}

static void test_table(void **state)
{
	const struct atv_dmap_tagdef *t;
	size_t n;

	(void)state;
	t = atv_dmap_tags(&n);
	assert_true(n >= 96);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(t[i].tag), 4);
		if (i)
			assert_true(memcmp(t[i - 1].tag, t[i].tag, 4) < 0); /* sorted, unique */
		assert_ptr_equal(atv_dmap_lookup(t[i].tag), &t[i]);
		assert_non_null(t[i].name);
	}
	assert_int_equal(atv_dmap_lookup("cmst")->type, ATV_DMAP_CONTAINER);
	assert_string_equal(atv_dmap_lookup("cmst")->name, "dmcp.playstatus");
	assert_int_equal(atv_dmap_lookup("cann")->type, ATV_DMAP_STRING);
	assert_int_equal(atv_dmap_lookup("caps")->type, ATV_DMAP_UINT);
	assert_int_equal(atv_dmap_lookup("cavc")->type, ATV_DMAP_BOOL);
	assert_int_equal(atv_dmap_lookup("ceSD")->type, ATV_DMAP_BPLIST);
	assert_int_equal(atv_dmap_lookup("canp")->type, ATV_DMAP_BYTES);
	assert_int_equal(atv_dmap_lookup("cmcv")->type, ATV_DMAP_IGNORE);
	assert_non_null(atv_dmap_lookup("ceQu")); /* case matters: ceQU and ceQu */
	assert_ptr_not_equal(atv_dmap_lookup("ceQu"), atv_dmap_lookup("ceQU"));
	assert_null(atv_dmap_lookup("zzzz"));
	assert_null(atv_dmap_lookup("CMST"));
	assert_null(atv_dmap_lookup("cms"));
	assert_null(atv_dmap_lookup(""));
	assert_string_equal(atv_dmap_type_name(ATV_DMAP_CONTAINER), "container");
}

static void test_login(void **state)
{
	struct atv_err err = {0};
	struct atv_dmap d;
	uint32_t id, st;
	char line[128];

	(void)state;
	parse_ok(&d, login, sizeof login);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.first->tag, "mlog");
	assert_null(d.first->next);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "mlog/mlid"), &id, &err), 0);
	assert_int_equal(id, 0x1234abcd);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "mlog/mstt"), &st, &err), 0);
	assert_int_equal(st, 200);
	assert_int_equal(atv_dmap_path(&d, "mlog/mstt")->depth, 1);
	assert_int_equal(atv_dmap_path(&d, "mlog/mstt")->offset, 8);
	/* a missing item reads as an error, no separate NULL check needed */
	assert_null(atv_dmap_path(&d, "mlog/cmsr"));
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "mlog/cmsr"), &st, &err), -ATV_E_PROTO);
	assert_string_equal(err.msg, "malformed dmap data: missing item");
	assert_null(atv_dmap_path(&d, "mlid"));	       /* not at the top level */
	assert_null(atv_dmap_path(&d, "mlog/mlid/x")); /* bad step */
	assert_null(atv_dmap_path(&d, "mlo/mlid"));
	assert_null(atv_dmap_path(&d, ""));
	assert_non_null(atv_dmap_find(&d, NULL, "mlog"));
	assert_null(atv_dmap_find(&d, NULL, "mlogx"));
	atv_dmap_format(&d, line, sizeof line);
	assert_string_equal(line, "mlog{mstt=200 mlid=305441741}");
	atv_dmap_release(&d);
	atv_dmap_release(&d); /* twice is fine */
}

static void test_playstatus(void **state)
{
	struct atv_err err = {0};
	const struct atv_dmap_item *cmst, *it;
	struct atv_dmap d;
	uint32_t u32;
	uint8_t u8;
	uint16_t u16;
	uint64_t u64;
	int b;
	char *s;
	const char *sp;
	size_t n;
	char line[512];

	(void)state;
	parse_ok(&d, playstatus, sizeof playstatus);
	cmst = atv_dmap_find(&d, NULL, "cmst");
	assert_non_null(cmst);
	assert_int_equal(cmst->len, sizeof playstatus - 8);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_find(&d, cmst, "cmsr"), &u32, &err), 0);
	assert_int_equal(u32, 17);
	assert_int_equal(atv_dmap_get_u8(atv_dmap_find(&d, cmst, "caps"), &u8, &err), 0);
	assert_int_equal(u8, 4); /* playing */
	assert_int_equal(atv_dmap_get_u8(atv_dmap_find(&d, cmst, "cash"), &u8, &err), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(atv_dmap_get_u8(atv_dmap_find(&d, cmst, "carp"), &u8, &err), 0);
	assert_int_equal(u8, 2);
	assert_int_equal(atv_dmap_get_bool(atv_dmap_find(&d, cmst, "cavc"), &b, &err), 0);
	assert_true(b);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_find(&d, cmst, "cmmk"), &u32, &err), 0);
	assert_int_equal(u32, 2);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmst/cant"), &u32, &err), 0);
	assert_int_equal(u32, 123456);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmst/cast"), &u32, &err), 0);
	assert_int_equal(u32, 245000);
	/* a 4-byte value read narrower: fine while it fits */
	assert_int_equal(atv_dmap_get_u16(atv_dmap_path(&d, "cmst/caar"), &u16, &err), 0);
	assert_int_equal(u16, 6);
	assert_int_equal(atv_dmap_get_u16(atv_dmap_path(&d, "cmst/cant"), &u16, &err),
			 -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(atv_dmap_get_u64(atv_dmap_path(&d, "cmst/cast"), &u64, &err), 0);
	assert_true(u64 == 245000);
	/* a 16-byte value is no integer */
	assert_int_equal(atv_dmap_get_u64(atv_dmap_path(&d, "cmst/canp"), &u64, &err),
			 -ATV_E_PROTO);
	assert_string_equal(err.msg, "malformed dmap data: integer 'canp' has 16 bytes");
	assert_int_equal(atv_dmap_get_string(atv_dmap_path(&d, "cmst/cann"), &s, &err), 0);
	assert_string_equal(s, "Title!");
	free(s);
	assert_int_equal(atv_dmap_get_string(atv_dmap_path(&d, "cmst/canl"), &s, &err), 0);
	assert_string_equal(s, "Caf\xc3\xa9\"");
	free(s);
	assert_int_equal(atv_dmap_get_strn(atv_dmap_path(&d, "cmst/cang"), &sp, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(sp, "Rock", 4);
	it = atv_dmap_path(&d, "cmst/canp");
	assert_int_equal(it->type, ATV_DMAP_BYTES);
	assert_int_equal(it->len, 16);
	assert_int_equal(it->val[15], 4);
	atv_dmap_format(&d, line, sizeof line);
	assert_string_equal(line, "cmst{mstt=200 cmsr=17 caps=4 cash=1 carp=2 cafs=0 cavs=0 cavc=1 "
				  "caas=2 caar=6 canp=<16:00000001000000020000000300000004> "
				  "cann=\"Title!\" cana=\"Artist\" canl=\"Caf\xc3\xa9\\\"\" "
				  "cang=\"Rock\" cmmk=2 cant=123456 cast=245000}");
	/* cut short: ends in "...", never past the buffer */
	assert_int_equal(atv_dmap_format(&d, line, 20), 19);
	assert_string_equal(line, "cmst{mstt=200 cm...");
	assert_int_equal(atv_dmap_format(&d, line, 1), 0);
	assert_string_equal(line, "");
	atv_dmap_release(&d);
}

static void test_volume(void **state)
{
	/* clang-format off */
	/* cmgt{cmvo} with cmvo of 0, 9 and 8 bytes (the last too big for 32 bits) */
	static const uint8_t empty[] = {T("cmgt"), L(8), T("cmvo"), L(0)};
	static const uint8_t nine[] = {T("cmgt"), L(17), T("cmvo"), L(9), 0, 0, 0, 0, 0, 0, 0, 0, 30};
	static const uint8_t wide[] = {T("cmgt"), L(16), T("cmvo"), L(8), 0, 0, 0, 1, 0, 0, 0, 30};
	/* cmvo claims one byte more than cmgt holds */
	static const uint8_t lying[] = {T("cmgt"), L(12), T("cmvo"), L(5), 0, 0, 0, 30};
	/* clang-format on */
	struct atv_err err = {0};
	const struct atv_dmap_item *it;
	struct atv_dmap d;
	uint32_t v = 0;
	char line[128];

	(void)state;
	assert_int_equal(atv_dmap_lookup("cmgt")->type, ATV_DMAP_CONTAINER);
	assert_string_equal(atv_dmap_lookup("cmgt")->name, "dmcp.getpropertyresponse");
	assert_int_equal(atv_dmap_lookup("cmvo")->type, ATV_DMAP_UINT);
	assert_string_equal(atv_dmap_lookup("cmvo")->name, "dmcp.volume");

	parse_ok(&d, volume, sizeof volume);
	assert_int_equal(d.n, 3);
	it = atv_dmap_path(&d, "cmgt/cmvo");
	assert_non_null(it);
	assert_int_equal(it->type, ATV_DMAP_UINT);
	assert_int_equal(it->depth, 1);
	assert_int_equal(atv_dmap_get_u32(it, &v, &err), 0);
	assert_int_equal(v, 30);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmgt/mstt"), &v, &err), 0);
	assert_int_equal(v, 200);
	atv_dmap_format(&d, line, sizeof line);
	assert_string_equal(line, "cmgt{mstt=200 cmvo=30}");
	atv_dmap_release(&d);

	/* a wrong-length cmvo parses (lengths agree) but is no volume */
	parse_ok(&d, empty, sizeof empty);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmgt/cmvo"), &v, &err), -ATV_E_PROTO);
	assert_string_equal(err.msg, "malformed dmap data: integer 'cmvo' has 0 bytes");
	atv_dmap_release(&d);
	parse_ok(&d, nine, sizeof nine);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmgt/cmvo"), &v, &err), -ATV_E_PROTO);
	assert_string_equal(err.msg, "malformed dmap data: integer 'cmvo' has 9 bytes");
	atv_dmap_release(&d);
	parse_ok(&d, wide, sizeof wide);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmgt/cmvo"), &v, &err), -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "out of range"));
	atv_dmap_release(&d);
	/* now that cmgt is a container its contents are checked too */
	assert_int_equal(parse_copy(lying, sizeof lying, &err), -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "'cmvo' at byte 8 claims 5 bytes"));
}

static void test_nested_unknown(void **state)
{
	struct atv_err err = {0};
	const struct atv_dmap_item *z;
	struct atv_dmap d, inner;
	char line[256];
	char *s;

	(void)state;
	parse_ok(&d, nested, sizeof nested);
	assert_int_equal(d.n, 7);
	z = atv_dmap_path(&d, "msrv/mlcl/mlit/mdcl/zzzz");
	assert_non_null(z);
	assert_int_equal(z->type, ATV_DMAP_UNKNOWN);
	assert_int_equal(z->depth, 4);
	assert_null(z->child); /* unknown tags stay raw bytes */
	assert_int_equal(z->len, 6);
	assert_memory_equal(z->val, "hi\0\0\0\0", 6);
	/* a string with NUL bytes is not a string */
	assert_int_equal(atv_dmap_get_string(z, &s, &err), -ATV_E_PROTO);
	assert_string_equal(err.msg, "malformed dmap data: string 'zzzz' is not valid utf-8");
	assert_non_null(atv_dmap_path(&d, "msrv/mstt"));
	assert_int_equal(atv_dmap_get_string(atv_dmap_path(&d, "msrv/mlcl/mlit/minm"), &s, &err),
			 0);
	assert_string_equal(s, "abc");
	free(s);
	atv_dmap_format(&d, line, sizeof line);
	assert_string_equal(line,
			    "msrv{mlcl{mlit{minm=\"abc\" mdcl{zzzz=<6:686900000000>}}} mstt=200}");
	/* a caller may parse a raw value itself: here it is not DMAP */
	assert_int_equal(atv_dmap_parse(&inner, z->val, z->len, &err), -ATV_E_PROTO);
	atv_dmap_release(&inner);
	atv_dmap_release(&d);
}

static void test_empty_and_odd(void **state)
{
	static const uint8_t two[] = {U8("caps", 3), T("mlcl"), L(0), U8("ZZZ\x01", 9)};
	struct atv_err err = {0};
	struct atv_dmap d;
	char line[128];
	uint8_t u8;

	(void)state;
	parse_ok(&d, NULL, 0);
	assert_null(d.first);
	assert_int_equal(d.n, 0);
	assert_int_equal(atv_dmap_format(&d, line, sizeof line), 0);
	atv_dmap_release(&d);

	parse_ok(&d, two, sizeof two);
	assert_int_equal(d.n, 3);
	assert_null(atv_dmap_path(&d, "mlcl")->child); /* empty container */
	assert_int_equal(atv_dmap_get_u8(atv_dmap_path(&d, "caps"), &u8, &err), 0);
	assert_int_equal(u8, 3);
	atv_dmap_format(&d, line, sizeof line);
	assert_string_equal(line, "caps=3 mlcl{} ZZZ\\x01=<1:09>");
	atv_dmap_release(&d);
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} cases[] = {
	    {"plain", 5, 1},
	    {"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e", 14, 1}, /* 2, 3, 4 bytes */
	    {"\xef\xbf\xbf", 3, 1},				  /* U+FFFF */
	    {"\xf4\x8f\xbf\xbf", 4, 1},				  /* U+10FFFF */
	    {"\xc3\x28", 2, 0},					  /* bad continuation */
	    {"\xc0\xaf", 2, 0},					  /* overlong '/' */
	    {"\xe0\x80\xaf", 3, 0},				  /* overlong */
	    {"\xf0\x80\x80\xaf", 4, 0},				  /* overlong */
	    {"\xed\xa0\x80", 3, 0},				  /* surrogate */
	    {"\xf4\x90\x80\x80", 4, 0},				  /* past U+10FFFF */
	    {"\xf8\x88\x80\x80\x80", 5, 0},			  /* 5-byte form */
	    {"\x80", 1, 0},					  /* lone continuation */
	    {"ab\xe2\x98", 4, 0},				  /* truncated */
	    {"a\0b", 3, 0},					  /* NUL */
	    {"", 0, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(atv_dmap_utf8_check((const uint8_t *)cases[i].s, cases[i].n),
				 cases[i].ok ? 0 : -1);
}

static void test_getters_hostile(void **state)
{
	/* clang-format off */
	static const uint8_t body[] = {
		T("caps"), L(0),			     /* empty integer */
		T("cast"), L(9), 0, 0, 0, 0, 0, 0, 0, 0, 1, /* 9-byte integer */
		T("cash"), L(2), 1, 0,			     /* 256 does not fit a u8 */
		T("cmsr"), L(8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		T("cann"), L(2), 0xc3, 0x28,		     /* not UTF-8 */
		T("cana"), L(0),			     /* an empty string is fine */
	};
	/* clang-format on */
	struct atv_err err = {0};
	struct atv_dmap d;
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	char *s;

	(void)state;
	parse_ok(&d, body, sizeof body);
	assert_int_equal(atv_dmap_get_u8(atv_dmap_path(&d, "caps"), &u8, &err), -ATV_E_PROTO);
	assert_int_equal(atv_dmap_get_u64(atv_dmap_path(&d, "cast"), &u64, &err), -ATV_E_PROTO);
	assert_int_equal(atv_dmap_get_u8(atv_dmap_path(&d, "cash"), &u8, &err), -ATV_E_PROTO);
	assert_int_equal(atv_dmap_get_u64(atv_dmap_path(&d, "cmsr"), &u64, &err), 0);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(atv_dmap_get_u32(atv_dmap_path(&d, "cmsr"), &u32, &err), -ATV_E_PROTO);
	assert_int_equal(atv_dmap_get_string(atv_dmap_path(&d, "cann"), &s, &err), -ATV_E_PROTO);
	assert_int_equal(err.code, ATV_E_PROTO);
	assert_int_equal(atv_dmap_get_string(atv_dmap_path(&d, "cana"), &s, &err), 0);
	assert_string_equal(s, "");
	free(s);
	atv_dmap_release(&d);
}

/* Set each header's length field in turn to values past the end of its
 * container: every one must be refused, at every level.  Other values
 * (one more than the truth, anything shorter) re-frame the data and may
 * parse; they must never read out of bounds. */
static void lie_walk(uint8_t *c, size_t clen, const struct atv_dmap_item *it, size_t end,
		     size_t *headers)
{
	struct atv_err err;

	for (; it; it = it->next) {
		size_t at = it->offset + 4;
		uint32_t real = atv_get_be32(c + at);
		uint32_t room = (uint32_t)(end - it->offset - ATV_DMAP_HDR_LEN);
		uint32_t lies[] = {room + 1, room + 8, 0x7fffffff, 0xffffffff};

		(*headers)++;
		for (size_t k = 0; k < 4; k++) {
			atv_put_be32(c + at, lies[k]);
			atv_err_clear(&err);
			assert_int_equal(parse_copy(c, clen, &err), -ATV_E_PROTO);
			assert_non_null(strstr(err.msg, "malformed dmap data: "));
			assert_non_null(strstr(err.msg, "claims"));
		}
		for (uint32_t l = 0; l <= room; l++) {
			atv_put_be32(c + at, l);
			(void)parse_copy(c, clen, NULL);
		}
		atv_put_be32(c + at, real);
		lie_walk(c, clen, it->child, it->offset + ATV_DMAP_HDR_LEN + it->len, headers);
	}
}

static void test_lying_lengths(void **state)
{
	const uint8_t *bodies[] = {login, playstatus, nested};
	size_t lens[] = {sizeof login, sizeof playstatus, sizeof nested};

	(void)state;
	for (size_t b = 0; b < 3; b++) {
		uint8_t *c = malloc(lens[b]);
		struct atv_dmap d;
		size_t headers = 0;

		assert_non_null(c);
		memcpy(c, bodies[b], lens[b]);
		parse_ok(&d, c, lens[b]); /* the tree has its own copy */
		lie_walk(c, lens[b], d.first, lens[b], &headers);
		assert_int_equal(headers, d.n);
		assert_memory_equal(c, bodies[b], lens[b]);
		atv_dmap_release(&d);
		free(c);
	}
}

/* Every proper prefix of a one-container body is refused. */
static void test_truncated(void **state)
{
	const uint8_t *bodies[] = {login, playstatus, nested};
	size_t lens[] = {sizeof login, sizeof playstatus, sizeof nested};
	struct atv_err err;

	(void)state;
	for (size_t b = 0; b < 3; b++) {
		for (size_t n = 1; n < lens[b]; n++) {
			atv_err_clear(&err);
			assert_int_equal(parse_copy(bodies[b], n, &err), -ATV_E_PROTO);
			assert_int_equal(err.code, ATV_E_PROTO);
		}
		assert_int_equal(parse_copy(bodies[b], lens[b], NULL), 0);
		assert_int_equal(parse_copy(bodies[b], 0, NULL), 0);
	}
}

/* n mlcl containers, one inside the other, around an mstt. */
static uint8_t *deep(unsigned n, size_t *len)
{
	size_t total = (size_t)n * 8 + 12;
	uint8_t *p = malloc(total);

	assert_non_null(p);
	for (unsigned i = 0; i < n; i++) {
		memcpy(p + 8 * i, "mlcl", 4);
		atv_put_be32(p + 8 * i + 4, (uint32_t)(total - 8 * i - 8));
	}
	memcpy(p + 8 * n, "mstt", 4);
	atv_put_be32(p + 8 * n + 4, 4);
	memset(p + 8 * n + 8, 0, 4);
	*len = total;
	return p;
}

static void test_depth(void **state)
{
	struct atv_err err = {0};
	struct atv_dmap d;
	uint8_t *p;
	size_t len;

	(void)state;
	p = deep(ATV_DMAP_MAX_DEPTH, &len);
	parse_ok(&d, p, len);
	assert_int_equal(d.n, ATV_DMAP_MAX_DEPTH + 1);
	assert_int_equal(d.items[d.n - 1].depth, ATV_DMAP_MAX_DEPTH);
	atv_dmap_release(&d);
	free(p);

	p = deep(ATV_DMAP_MAX_DEPTH + 1, &len);
	assert_int_equal(atv_dmap_parse(&d, p, len, &err), -ATV_E_LIMIT);
	assert_string_equal(err.msg, "dmap data nests containers deeper than 16");
	assert_null(d.first);
	atv_dmap_release(&d);
	free(p);

	p = deep(1000, &len);
	assert_int_equal(atv_dmap_parse(&d, p, len, &err), -ATV_E_LIMIT);
	atv_dmap_release(&d);
	free(p);
}

static void test_counts(void **state)
{
	struct atv_err err = {0};
	struct atv_dmap d;
	size_t n = ATV_DMAP_MAX_ITEMS, len = n * 8;
	uint8_t *p = calloc(n + 2, 8);

	(void)state;
	assert_non_null(p);
	/* as many empty items as allowed: fine; one more is too many */
	for (size_t i = 0; i < n + 2; i++)
		memcpy(p + 8 * i, "abcd", 4);
	parse_ok(&d, p, len);
	assert_int_equal(d.n, n);
	atv_dmap_release(&d);
	assert_int_equal(atv_dmap_parse(&d, p, len + 8, &err), -ATV_E_LIMIT);
	assert_string_equal(err.msg, "dmap data has more than 65536 items");
	atv_dmap_release(&d);
	/* the same inside a container */
	memcpy(p, "mlcl", 4);
	atv_put_be32(p + 4, (uint32_t)(len + 8));
	assert_int_equal(atv_dmap_parse(&d, p, len + 16, &err), -ATV_E_LIMIT);
	atv_dmap_release(&d);
	free(p);
	/* a body over the size cap is refused before anything is copied */
	assert_int_equal(atv_dmap_parse(&d, login, (size_t)ATV_DMAP_MAX_SIZE + 1, &err),
			 -ATV_E_LIMIT);
	atv_dmap_release(&d);
}

static void test_writer(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		T("cmst"), L(66),
		U8("caps", 3),
		T("cmsr"), L(2), 0x01, 0x02,
		U32("cant", 0xdeadbeef),
		T("canp"), L(8), 1, 2, 3, 4, 5, 6, 7, 8,
		T("cann"), L(3), 'a', 'b', 'c',
		T("mlcl"), L(0),
	};
	/* clang-format on */
	struct atv_err err = {0};
	struct atv_buf b, small;
	struct atv_dmap d;
	size_t mark, inner;
	uint64_t u64;

	(void)state;
	atv_buf_init(&b, 4096);
	assert_int_equal(atv_dmap_open(&b, "cmst", &mark, &err), 0);
	assert_int_equal(mark, 0);
	assert_int_equal(atv_dmap_add_u8(&b, "caps", 3, &err), 0);
	assert_int_equal(atv_dmap_add_u16(&b, "cmsr", 0x0102, &err), 0);
	assert_int_equal(atv_dmap_add_u32(&b, "cant", 0xdeadbeef, &err), 0);
	assert_int_equal(atv_dmap_add_u64(&b, "canp", 0x0102030405060708ull, &err), 0);
	assert_int_equal(atv_dmap_add_string(&b, "cann", "abc", &err), 0);
	assert_int_equal(atv_dmap_open(&b, "mlcl", &inner, &err), 0);
	assert_int_equal(atv_dmap_close(&b, inner, &err), 0);
	assert_int_equal(atv_dmap_close(&b, mark, &err), 0);
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);

	/* and back */
	parse_ok(&d, b.data, b.len);
	assert_int_equal(atv_dmap_get_u64(atv_dmap_path(&d, "cmst/canp"), &u64, &err), 0);
	assert_true(u64 == 0x0102030405060708ull);
	atv_dmap_release(&d);

	/* misuse and caps: the buffer is left as it was */
	assert_int_equal(atv_dmap_add_u8(&b, "cap", 1, &err), -ATV_E_USAGE);
	assert_int_equal(atv_dmap_add_u8(&b, "capss", 1, &err), -ATV_E_USAGE);
	assert_int_equal(atv_dmap_add_string(&b, "cann", "\xc3\x28", &err), -ATV_E_USAGE);
	assert_int_equal(atv_dmap_close(&b, b.len - 4, &err), -ATV_E_USAGE);
	assert_int_equal(atv_dmap_close(&b, b.len + 1, &err), -ATV_E_USAGE);
	assert_int_equal(b.len, sizeof want);
	atv_buf_init(&small, 12);
	assert_int_equal(atv_dmap_add_u32(&small, "mstt", 200, &err), 0);
	assert_int_equal(atv_dmap_add_u8(&small, "caps", 1, &err), -ATV_E_LIMIT);
	assert_int_equal(small.len, 12);
	assert_int_equal(atv_dmap_open(&small, "cmst", &mark, &err), -ATV_E_LIMIT);
	atv_buf_release(&small);
	atv_buf_release(&b);
}

static void test_pair_answer(void **state)
{
	/* what the Remote app answers: cmpa{cmpg, cmnm, cmty} */
	/* clang-format off */
	static const uint8_t want[] = {
		T("cmpa"), L(43),
		T("cmpg"), L(8), 0x00, 0xf1, 0xe2, 0xd3, 0xc4, 0xb5, 0xa6, 0x97,
		T("cmnm"), L(5), 'a', 't', 'v', '-', 't',
		T("cmty"), L(6), 'i', 'P', 'h', 'o', 'n', 'e',
	};
	/* clang-format on */
	struct atv_err err = {0};
	struct atv_buf b;
	uint64_t guid;

	(void)state;
	atv_buf_init(&b, 1024);
	assert_int_equal(atv_dmap_pair_answer(&b, 0x00F1E2D3C4B5A697ull, "atv-t", NULL, &err), 0);
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);
	assert_int_equal(atv_dmap_pair_parse_answer(b.data, b.len, &guid, &err), 0);
	assert_true(guid == 0x00F1E2D3C4B5A697ull);
	/* a bad name leaves nothing behind */
	assert_int_equal(atv_dmap_pair_answer(&b, 1, "\xff", NULL, &err), -ATV_E_USAGE);
	assert_int_equal(b.len, sizeof want);
	assert_int_equal(atv_dmap_pair_parse_answer(login, sizeof login, &guid, &err),
			 -ATV_E_PROTO);
	assert_string_equal(err.msg, "pairing answer: malformed dmap data: missing item");
	assert_int_equal(atv_dmap_pair_parse_answer(want, sizeof want - 1, &guid, &err),
			 -ATV_E_PROTO);
	atv_buf_release(&b);
}

static void test_pair_code(void **state)
{
	struct atv_err err = {0};
	char code[ATV_DMAP_PAIRCODE_LEN];

	(void)state;
	/* vectors from python3: hashlib.md5(b"00F1E2D3C4B5A697" +
	 * b"".join(d + b"\0" for d in b"1234")).hexdigest() */
	assert_int_equal(atv_dmap_pair_code(0x00F1E2D3C4B5A697ull, 1234, code, &err), 0);
	assert_string_equal(code, "9b9e5dbd71f1d97cddb0f81316ee3997");
	assert_int_equal(atv_dmap_pair_code(0x00F1E2D3C4B5A697ull, 7, code, &err), 0);
	assert_string_equal(code, "01ef4e00794928687d9b9e3db318d9fe");
	assert_int_equal(atv_dmap_pair_code(1, 9999, code, &err), 0);
	assert_string_equal(code, "b40b335177d1f1d5a3eb4515e383d53c");
	assert_int_equal(atv_dmap_pair_code(1, 10000, code, &err), -ATV_E_USAGE);

	assert_int_equal(atv_dmap_pair_check(0x00F1E2D3C4B5A697ull, 1234,
					     "9b9e5dbd71f1d97cddb0f81316ee3997", &err),
			 0);
	assert_int_equal(atv_dmap_pair_check(0x00F1E2D3C4B5A697ull, 1234,
					     "9B9E5DBD71F1D97CDDB0F81316EE3997", &err),
			 0);
	assert_int_equal(atv_dmap_pair_check(0x00F1E2D3C4B5A697ull, 1235,
					     "9b9e5dbd71f1d97cddb0f81316ee3997", &err),
			 -ATV_E_AUTH);
	assert_string_equal(err.msg, "pairing code does not match the pin");
	assert_int_equal(
	    atv_dmap_pair_check(0x00F1E2D3C4B5A697ull, 7, "01ef4e00794928687d9b9e3db318d9fe", &err),
	    0);
	assert_int_equal(atv_dmap_pair_check(1, 1234, "9b9e5dbd71f1d97cddb0f81316ee399", &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_dmap_pair_check(1, 1234, "9b9e5dbd71f1d97cddb0f81316ee39970", &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_dmap_pair_check(1, 1234, "9b9e5dbd71f1d97cddb0f81316ee399g", &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_dmap_pair_check(1, 1234, "", &err), -ATV_E_PROTO);
	assert_int_equal(atv_dmap_pair_check(1, 1234, NULL, &err), -ATV_E_PROTO);
}

static void test_guid(void **state)
{
	struct atv_err err = {0};
	char s[ATV_DMAP_GUID_STRLEN], hex[ATV_DMAP_GUID_HEXLEN + 1];
	uint64_t g, g2;

	(void)state;
	atv_dmap_guid_format(1, s);
	assert_string_equal(s, "0x0000000000000001");
	atv_dmap_guid_format(0x00F1E2D3C4B5A697ull, s);
	assert_string_equal(s, "0x00F1E2D3C4B5A697");
	atv_dmap_guid_format(UINT64_MAX, s);
	assert_string_equal(s, "0xFFFFFFFFFFFFFFFF");
	atv_dmap_guid_hex(0xabcull, hex);
	assert_string_equal(hex, "0000000000000ABC");

	assert_int_equal(atv_dmap_guid_parse("0x00f1e2d3c4b5a697", &g, &err), 0);
	assert_true(g == 0x00F1E2D3C4B5A697ull);
	assert_int_equal(atv_dmap_guid_parse("0XF1E2D3C4B5A697", &g, &err), 0);
	assert_true(g == 0x00F1E2D3C4B5A697ull);
	assert_int_equal(atv_dmap_guid_parse("abc", &g, &err), 0); /* pyatv's short form */
	assert_true(g == 0xabc);
	assert_int_equal(atv_dmap_guid_parse("0xFFFFFFFFFFFFFFFF", &g, &err), 0);
	assert_true(g == UINT64_MAX);
	assert_int_equal(atv_dmap_guid_parse("0x", &g, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_guid_parse("", &g, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_guid_parse("0x10000000000000000", &g, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_guid_parse("0x12 ", &g, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_guid_parse("0xg", &g, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_guid_parse("-1", &g, &err), -ATV_E_INPUT);

	assert_int_equal(atv_dmap_guid_random(&g, &err), 0);
	assert_int_equal(atv_dmap_guid_random(&g2, &err), 0);
	assert_true(g != 0 && g != g2);
	atv_dmap_guid_format(g, s);
	assert_int_equal(strlen(s), 18);
	assert_int_equal(atv_dmap_guid_parse(s, &g2, &err), 0);
	assert_true(g == g2);
}

static void test_pin(void **state)
{
	struct atv_err err = {0};
	unsigned pin, seen_low = 0, seen_high = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(atv_dmap_pin_random(&pin, &err), 0);
		assert_true(pin <= ATV_DMAP_PIN_MAX);
		seen_low |= pin < 1000;
		seen_high |= pin >= 9000;
	}
	/* 2000 draws miss a tenth of the range with odds of 0.9^2000 */
	assert_true(seen_low && seen_high);
	assert_int_equal(atv_dmap_pin_parse("1234", &pin, &err), 0);
	assert_int_equal(pin, 1234);
	assert_int_equal(atv_dmap_pin_parse("0007", &pin, &err), 0);
	assert_int_equal(pin, 7);
	assert_int_equal(atv_dmap_pin_parse("123", &pin, &err), 0);
	assert_int_equal(pin, 123);
	assert_int_equal(atv_dmap_pin_parse("12345", &pin, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_pin_parse("", &pin, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_pin_parse("12a", &pin, &err), -ATV_E_INPUT);
	assert_int_equal(atv_dmap_pin_parse("-123", &pin, &err), -ATV_E_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_login),
	    cmocka_unit_test(test_playstatus),
	    cmocka_unit_test(test_volume),
	    cmocka_unit_test(test_nested_unknown),
	    cmocka_unit_test(test_empty_and_odd),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_getters_hostile),
	    cmocka_unit_test(test_lying_lengths),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_writer),
	    cmocka_unit_test(test_pair_answer),
	    cmocka_unit_test(test_pair_code),
	    cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
