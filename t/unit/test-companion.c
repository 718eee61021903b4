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
#include "err.h"
#include "hap.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_clear),  cmocka_unit_test(test_encode_sealed),
	    cmocka_unit_test(test_nonce),	  cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_decode_sealed), cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
