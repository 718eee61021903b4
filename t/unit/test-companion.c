/* test-companion - Companion framing and its cipher (cmocka), with the
 * captures of protocols.md and vectors computed with python3-cryptography's
 * ChaCha20Poly1305 (an independent implementation). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "bytes.h"
#include "companion_frame.h"
#include "companion_rti.h"
#include "err.h"
#include "hap.h"
#include "plist_dl.h"

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	assert_int_equal(atv_unhex(s, strlen(s), out, max, &n), 0);
	return n;
}

static void append_hex(struct atv_buf *b, const char *s)
{
	uint8_t tmp[256];
	size_t n = unhex(s, tmp, sizeof tmp);

	assert_int_equal(atv_buf_append(b, tmp, n, NULL), 0);
}

static void assert_hex(const struct atv_buf *b, const char *want)
{
	uint8_t w[512];
	size_t n = unhex(want, w, sizeof w);

	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, w, n);
}

/* Keys 00 01 .. 1f for both directions: the vectors below used them. */
static void test_cipher(struct atv_hap_cipher *c)
{
	uint8_t k[ATV_AEAD_KEY_LEN];

	for (size_t i = 0; i < sizeof k; i++)
		k[i] = (uint8_t)i;
	atv_hap_cipher_init(c, k, k);
}

/* PS_Start M1 {_pd: 000100060101, _pwTy: 1} and PV M4 as an iOS device
 * sent them (protocols.md), in the clear. */
static const char ps_m1[] = "03000013e2435f706476000100060101455f7077547909";
static const char pv_m4[] = "06000009e1435f706473060104";
/* E_OPACK d20809 and then d2090a sealed with counters 0 and 1: the AAD is
 * the header 08000013 (3 bytes + 16 of tag). */
static const char sealed0[] = "08000013cab04b3052a488edb621baddcb99677401a990";
static const char sealed1[] = "08000013463671ad2e11b6bd038a86dff3f0afe45fec1b";

static void test_encode_clear(void **state)
{
	struct atv_buf b;
	struct atv_err err = {0};
	uint8_t pl[64];
	size_t n;

	(void)state;
	atv_buf_init(&b, 1024);
	n = unhex("e2435f706476000100060101455f7077547909", pl, sizeof pl);
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_PS_START, pl, n, NULL, &err),
			 0);
	assert_hex(&b, ps_m1);
	atv_buf_reset(&b);
	n = unhex("e1435f706473060104", pl, sizeof pl);
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_PV_NEXT, pl, n, NULL, &err),
			 0);
	assert_hex(&b, pv_m4);
	atv_buf_release(&b);
}

static void test_encode_sealed(void **state)
{
	struct atv_hap_cipher c;
	struct atv_buf b;
	struct atv_err err = {0};
	const uint8_t p0[] = {0xd2, 0x08, 0x09}, p1[] = {0xd2, 0x09, 0x0a};

	(void)state;
	test_cipher(&c);
	atv_buf_init(&b, 1024);
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_E_OPACK, p0, 3, &c, &err), 0);
	assert_hex(&b, sealed0);
	atv_buf_reset(&b);
	/* an empty frame stays clear and takes no nonce */
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_E_OPACK, NULL, 0, &c, &err),
			 0);
	assert_hex(&b, "08000000");
	assert_int_equal(c.out_ctr, 1);
	atv_buf_reset(&b);
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_E_OPACK, p1, 3, &c, &err), 0);
	assert_hex(&b, sealed1);
	assert_int_equal(c.out_ctr, 2);
	atv_buf_release(&b);
}

static void test_nonce(void **state)
{
	uint8_t n[ATV_AEAD_NONCE_LEN];
	const uint8_t one[ATV_AEAD_NONCE_LEN] = {1};
	const uint8_t big[ATV_AEAD_NONCE_LEN] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};

	(void)state;
	atv_companion_nonce(n, 1);
	assert_memory_equal(n, one, sizeof n);
	atv_companion_nonce(n, 0x0102030405060708ull);
	assert_memory_equal(n, big, sizeof n);
}

/* Decode p in pieces of step bytes; the frames' types and payloads are
 * appended to out as type, 3-byte length, payload. */
static int decode_all(const uint8_t *p, size_t len, size_t step, struct atv_hap_cipher *c,
		      struct atv_buf *out, size_t *nframes, struct atv_err *err)
{
	struct atv_companion_frame_dec d;
	struct atv_companion_frame f;
	size_t used, off = 0;
	int r = 0;

	*nframes = 0;
	atv_companion_frame_dec_init(&d, 4096);
	while (off < len) {
		size_t piece = len - off < step ? len - off : step;

		r = atv_companion_frame_dec_push(&d, c, p + off, piece, &used, &f, err);
		if (r < 0)
			break;
		assert_true(used <= piece);
		if (r == 0)
			assert_int_equal(used, piece);
		off += used;
		if (r > 0) {
			uint8_t h[4] = {f.type, (uint8_t)(f.len >> 16), (uint8_t)(f.len >> 8),
					(uint8_t)f.len};

			assert_non_null(f.payload);
			assert_int_equal(atv_buf_append(out, h, 4, err), 0);
			assert_int_equal(atv_buf_append(out, f.payload, f.len, err), 0);
			(*nframes)++;
			r = 0;
		}
	}
	if (r == 0)
		assert_false(atv_companion_frame_dec_partial(&d));
	atv_companion_frame_dec_release(&d);
	return r;
}

static void test_decode(void **state)
{
	struct atv_buf in, out;
	struct atv_err err = {0};
	size_t frames;

	(void)state;
	atv_buf_init(&in, 4096);
	atv_buf_init(&out, 4096);
	append_hex(&in, ps_m1);
	/* an unknown type (0x30) and a NoOp (0x01) are dropped */
	append_hex(&in, "30000002aaaa01000000");
	append_hex(&in, pv_m4);
	for (size_t step = 1; step <= in.len; step++) {
		atv_buf_reset(&out);
		assert_int_equal(decode_all(in.data, in.len, step, NULL, &out, &frames, &err), 0);
		assert_int_equal(frames, 2);
		assert_int_equal(out.len, in.len - 10);
		assert_hex(&out, "03000013e2435f706476000100060101455f707754790906000009e1435f7064"
				 "73060104");
	}
	atv_buf_release(&in);
	atv_buf_release(&out);
}

static void test_decode_sealed(void **state)
{
	struct atv_hap_cipher c;
	struct atv_buf in, out;
	struct atv_err err = {0};
	uint8_t tmp[256];
	size_t n, frames;

	(void)state;
	atv_buf_init(&in, 4096);
	atv_buf_init(&out, 4096);
	append_hex(&in, sealed0);
	append_hex(&in, "08000000");
	append_hex(&in, sealed1);
	n = unhex(sealed1, tmp, sizeof tmp);
	for (size_t step = 1; step <= in.len; step++) {
		test_cipher(&c);
		atv_buf_reset(&out);
		assert_int_equal(decode_all(in.data, in.len, step, &c, &out, &frames, &err), 0);
		assert_int_equal(frames, 3);
		assert_hex(&out, "08000003d2080908000000080000"
				 "03d2090a");
		assert_int_equal(c.in_ctr, 2);
	}
	/* out of order: the second frame under counter 0 fails */
	test_cipher(&c);
	atv_buf_reset(&out);
	assert_int_equal(decode_all(tmp, n, 7, &c, &out, &frames, &err), -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "authentication"));
	/* a flipped header byte (the AAD) fails too */
	n = unhex(sealed0, tmp, sizeof tmp);
	tmp[0] = ATV_COMPANION_P_OPACK;
	test_cipher(&c);
	assert_int_equal(decode_all(tmp, n, n, &c, &out, &frames, &err), -ATV_E_PROTO);
	atv_buf_release(&in);
	atv_buf_release(&out);
}

static void test_limits(void **state)
{
	struct atv_companion_frame_dec d;
	struct atv_companion_frame f;
	struct atv_hap_cipher c;
	struct atv_buf b;
	struct atv_err err = {0};
	size_t used;
	const uint8_t big[] = {0x08, 0x00, 0x10, 0x01}; /* 4097 bytes */
	const uint8_t short_[] = {0x08, 0x00, 0x00, 0x03, 1, 2, 3};

	(void)state;
	atv_companion_frame_dec_init(&d, 4096);
	assert_int_equal(atv_companion_frame_dec_push(&d, NULL, big, 4, &used, &f, &err),
			 -ATV_E_LIMIT);
	/* sticky */
	assert_int_equal(atv_companion_frame_dec_push(&d, NULL, short_, 7, &used, &f, &err),
			 -ATV_E_LIMIT);
	atv_companion_frame_dec_release(&d);
	/* a sealed frame shorter than a tag */
	test_cipher(&c);
	atv_companion_frame_dec_init(&d, 4096);
	assert_int_equal(atv_companion_frame_dec_push(&d, &c, short_, 7, &used, &f, &err),
			 -ATV_E_PROTO);
	atv_companion_frame_dec_release(&d);
	/* the encoder refuses what the decoder would */
	atv_buf_init(&b, 16);
	assert_int_equal(atv_companion_frame_encode(&b, ATV_COMPANION_E_OPACK, short_, 7, &c, &err),
			 -ATV_E_LIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(c.out_ctr, 0);
	atv_buf_release(&b);
	assert_true(atv_companion_type_known(ATV_COMPANION_E_OPACK));
	assert_true(atv_companion_type_known(ATV_COMPANION_FAMILY_IDENTITY_UPDATE));
	assert_false(atv_companion_type_known(0x01));
	assert_false(atv_companion_type_known(0x0C));
	assert_false(atv_companion_type_known(0x23));
}

/* A _tiD as pyatv's fake device writes it (plistlib, binary): session
 * 00 01 .. 0f, text "hello". */
static const char ti_hello[] =
    "62706c6973743030d2010203085424746f7058246f626a65637473d2040506075b73657373696f6e5555"
    "49445d646f63756d656e74537461746580018002a5090a0b0e1155246e756c6c4f1010000102030405"
    "060708090a0b0c0d0e0fd10c0d55646f6353748003d10f105f1012636f6e746578744265666f726549"
    "6e70757480045568656c6c6f080d121b202c3a3c3e444a5d6066686b808200000000000001010000000"
    "00000001200000000000000000000000000000088";

static void test_rti_parse(void **state)
{
	uint8_t p[256], uuid[16], want[16];
	size_t n = unhex(ti_hello, p, sizeof p);
	struct atv_err err = {0};
	char *text = NULL;

	(void)state;
	for (int i = 0; i < 16; i++)
		want[i] = (uint8_t)i;
	assert_int_equal(atv_companion_rti_parse(p, n, uuid, &text, &err), 0);
	assert_memory_equal(uuid, want, 16);
	assert_string_equal(text, "hello");
	free(text);
	/* cut short: refused with a message, nothing returned */
	assert_true(atv_companion_rti_parse(p, n - 20, uuid, &text, &err) < 0);
	assert_null(text);
	assert_true(err.msg[0] != 0);
	assert_int_equal(atv_companion_rti_parse(p, 0, uuid, &text, &err), -ATV_E_PROTO);
}

/* The object at UID member key of dict d, in objects. */
static plist_t deref(const struct atv_plist *pl, plist_t objects, plist_t d, const char *key)
{
	plist_t v = pl->dict_get_item(d, key);
	uint64_t uid = 0;

	assert_non_null(v);
	assert_int_equal(pl->get_node_type(v), PLIST_UID);
	pl->get_uid_val(v, &uid);
	assert_true(uid < pl->array_get_size(objects));
	return pl->array_get_item(objects, (uint32_t)uid);
}

/* pyatv's RTITextOperations archives, read back: the session's UUID, and
 * the inserted text or the asserted empty text. */
static void test_rti_payload(void **state)
{
	const struct atv_plist *pl;
	uint8_t uuid[16];
	struct atv_buf b;
	plist_t root = NULL, objs, ops, v;
	uint64_t n = 0;

	(void)state;
	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(atv_plist_load(&pl, NULL), 0);
	atv_buf_init(&b, 1 << 16);
	for (int insert = 0; insert < 2; insert++) {
		atv_buf_reset(&b);
		assert_int_equal(atv_companion_rti_payload(uuid, insert ? "wörld" : NULL, &b, NULL),
				 0);
		assert_memory_equal(b.data, "bplist00", 8);
		pl->from_memory((const char *)b.data, (uint32_t)b.len, &root);
		assert_non_null(root);
		assert_string_equal(pl->get_string_ptr(pl->dict_get_item(root, "$archiver"), NULL),
				    "RTIKeyedArchiver");
		objs = pl->dict_get_item(root, "$objects");
		assert_int_equal(pl->array_get_size(objs), 8);
		ops = deref(pl, objs, pl->dict_get_item(root, "$top"), "textOperations");
		v = deref(pl, objs, ops, "targetSessionUUID");
		assert_memory_equal(pl->get_data_ptr(pl->dict_get_item(v, "NS.uuidbytes"), &n),
				    uuid, 16);
		assert_int_equal(n, 16);
		if (insert) {
			v = deref(pl, objs, deref(pl, objs, ops, "keyboardOutput"),
				  "insertionText");
			assert_string_equal(pl->get_string_ptr(v, NULL), "wörld");
			assert_null(pl->dict_get_item(ops, "textToAssert"));
		} else {
			v = deref(pl, objs, ops, "textToAssert");
			assert_string_equal(pl->get_string_ptr(v, NULL), "");
		}
		v = deref(pl, objs, ops, "$class");
		assert_string_equal(pl->get_string_ptr(pl->dict_get_item(v, "$classname"), NULL),
				    "RTITextOperations");
		pl->free(root);
		root = NULL;
	}
	atv_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_clear),  cmocka_unit_test(test_encode_sealed),
	    cmocka_unit_test(test_nonce),	  cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_decode_sealed), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_rti_parse),	  cmocka_unit_test(test_rti_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
