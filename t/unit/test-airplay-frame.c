/* test-airplay-frame - the AirPlay 2 data channel's frames and payload
 * (cmocka), byte-exact against the captures in the tunnel notes (§4) and
 * Python's plistlib output for the payload. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airplay_frame.h"
#include "buf.h"
#include "bytes.h"
#include "err.h"

/* Hex (spaces allowed) to bytes in b. */
static void unhex(const char *s, struct atv_buf *b)
{
	struct atv_err err;

	atv_buf_reset(b);
	for (; *s; s++) {
		int hi, lo;
		uint8_t c;

		if (*s == ' ')
			continue;
		hi = atv_hexval(s[0]);
		lo = atv_hexval(s[1]);
		assert_true(hi >= 0 && lo >= 0);
		c = (uint8_t)(hi << 4 | lo);
		assert_int_equal(atv_buf_append(b, &c, 1, &err), 0);
		s++;
	}
}

/* iOS capture: the device's reply to a client sync, with {} as payload.
 * The notes' hex of the plist has one 00 too many (43 bytes, where the
 * header's size 0x4a leaves 42): this is plistlib's {} , which fits. */
static const char reply_hex[] =
    "0000004a 72706c79 0000000000000000 00000000 000000016155c3e0 00000000"
    "62706c6973743030d0080000000000000101000000000000000100000000000000000000000000000009";
/* iOS capture: a device request without payload. */
static const char empty_sync_hex[] =
    "00000020 73796e63 0000000000000000 636d6e64 cf4934469b4941ae 00000000";

static int decode_one(const struct atv_buf *in, size_t step, struct atv_ap_frame *f,
		      struct atv_ap_frame_dec *d, struct atv_err *err)
{
	size_t off = 0, used;
	int r = 0;

	while (off < in->len) {
		size_t piece = in->len - off < step ? in->len - off : step;

		r = atv_ap_frame_dec_push(d, in->data + off, piece, &used, f, err);
		if (r < 0)
			return r;
		assert_true(used <= piece);
		if (r == 0)
			assert_int_equal(used, piece);
		off += used;
		if (r == 1) {
			assert_int_equal(off, in->len);
			return 1;
		}
	}
	return r;
}

static void test_capture_reply(void **state)
{
	struct atv_buf in, out;
	struct atv_ap_frame_dec d;
	struct atv_ap_frame f;
	struct atv_err err;
	const uint8_t *data;
	size_t dl;

	(void)state;
	atv_buf_init(&in, 4096);
	atv_buf_init(&out, 4096);
	unhex(reply_hex, &in);
	assert_int_equal(in.len, 74);
	for (size_t step = 1; step <= 80; step += 7) {
		atv_ap_frame_dec_init(&d, 0);
		assert_int_equal(decode_one(&in, step, &f, &d, &err), 1);
		assert_true(atv_ap_frame_is(&f, "rply"));
		assert_false(atv_ap_frame_is(&f, "sync"));
		assert_true(atv_ap_frame_command_is(&f, ""));
		assert_true(f.seqno == 0x16155c3e0ULL);
		assert_int_equal(f.padding, 0);
		assert_int_equal(f.payload_len, 42);
		assert_memory_equal(f.payload, atv_ap_empty_dict, 42);
		assert_false(atv_ap_frame_dec_partial(&d));
		/* the payload is a plist without params.data */
		assert_int_equal(atv_ap_payload_data(f.payload, f.payload_len, &data, &dl, &err),
				 0);
		atv_ap_frame_dec_release(&d);
	}
	/* and the device's way of replying builds the same bytes */
	assert_int_equal(atv_ap_frame_reply(&out, 0x16155c3e0ULL, true, &err), 0);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.data, in.data, in.len);
	atv_buf_release(&in);
	atv_buf_release(&out);
}

static void test_capture_empty_sync(void **state)
{
	struct atv_buf in, out;
	struct atv_ap_frame_dec d;
	struct atv_ap_frame f;
	struct atv_err err;

	(void)state;
	atv_buf_init(&in, 4096);
	atv_buf_init(&out, 4096);
	unhex(empty_sync_hex, &in);
	atv_ap_frame_dec_init(&d, 0);
	assert_int_equal(decode_one(&in, 5, &f, &d, &err), 1);
	assert_true(atv_ap_frame_is(&f, "sync"));
	assert_true(atv_ap_frame_command_is(&f, "cmnd"));
	assert_false(atv_ap_frame_command_is(&f, "comm"));
	assert_true(f.seqno == 0xcf4934469b4941aeULL);
	assert_int_equal(f.payload_len, 0);
	assert_non_null(f.payload);
	/* our reply: pyatv's, 32 bytes, no payload, same seqno */
	assert_int_equal(atv_ap_frame_reply(&out, f.seqno, false, &err), 0);
	unhex("00000020 72706c79 0000000000000000 00000000 cf4934469b4941ae 00000000", &in);
	assert_int_equal(out.len, 32);
	assert_memory_equal(out.data, in.data, 32);
	/* the same request built by the encoder */
	atv_buf_reset(&out);
	assert_int_equal(atv_ap_frame_encode(&out, "sync", "cmnd", 0xcf4934469b4941aeULL, NULL, 0,
					     &err),
			 0);
	unhex(empty_sync_hex, &in);
	assert_memory_equal(out.data, in.data, 32);
	atv_ap_frame_dec_release(&d);
	atv_buf_release(&in);
	atv_buf_release(&out);
}

/* {params:{data}} as plistlib writes it, for data of several sizes (the
 * length marker's forms: inline, one and two bytes), and the notes'
 * SET_CONNECTION_STATE (48 bytes, prefix 0x30). */
static void test_payload_plistlib(void **state)
{
	static const struct {
		size_t len;
		uint8_t fill;
		const char *hex;
	} v[] = {
	    {0, 0,
	     "62706c6973743030d1010256706172616d73d10304546461746140080b12151a0000000000000101"
	     "00000000000000050000000000000000000000000000001b"},
	    {14, 1,
	     "62706c6973743030d1010256706172616d73d1030454646174614e01010101010101010101010101"
	     "01080b12151a0000000000000101000000000000000500000000000000000000000000000029"},
	    {15, 2,
	     "62706c6973743030d1010256706172616d73d1030454646174614f100f0202020202020202020202"
	     "02020202080b12151a000000000000010100000000000000050000000000000000000000000000002c"},
	};
	struct atv_buf out, want, data;
	struct atv_err err;
	uint8_t fill[300];
	const uint8_t *got, *p, *m;
	size_t gl, left, ml;

	(void)state;
	atv_buf_init(&out, 1 << 16);
	atv_buf_init(&want, 1 << 16);
	atv_buf_init(&data, 1 << 16);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(fill, v[i].fill, sizeof fill);
		atv_buf_reset(&out);
		assert_int_equal(atv_ap_payload_encode(&out, fill, v[i].len, &err), 0);
		unhex(v[i].hex, &want);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.data, want.data, want.len);
		assert_int_equal(atv_ap_payload_data(out.data, out.len, &got, &gl, &err), 1);
		assert_int_equal(gl, v[i].len);
		if (gl)
			assert_memory_equal(got, fill, gl);
	}
	/* 300 bytes: a two-byte length and two-byte offsets (table at 0x14a) */
	memset(fill, 3, sizeof fill);
	atv_buf_reset(&out);
	assert_int_equal(atv_ap_payload_encode(&out, fill, 300, &err), 0);
	assert_int_equal(out.len, 26 + 4 + 300 + 10 + 32);
	assert_memory_equal(out.data + 26, "\x4f\x11\x01\x2c", 4);
	assert_memory_equal(out.data + 330, "\x00\x08\x00\x0b\x00\x12\x00\x15\x00\x1a", 10);
	assert_int_equal(out.data[out.len - 32 + 6], 2);
	assert_int_equal(atv_get_be32(out.data + out.len - 4), 0x14a);
	assert_int_equal(atv_ap_payload_data(out.data, out.len, &got, &gl, &err), 1);
	assert_int_equal(gl, 300);
	/* SET_CONNECTION_STATE(Connected) from the notes, with its prefix */
	unhex("08262000d202020802aa0524"
	      "45363639353244312d463846332d344635382d383931342d344235303734343342333231",
	      &want);
	assert_int_equal(want.len, 48);
	assert_int_equal(atv_ap_data_add(&data, want.data, want.len, &err), 0);
	assert_int_equal(data.len, 49);
	assert_int_equal(data.data[0], 0x30);
	atv_buf_reset(&out);
	assert_int_equal(atv_ap_payload_encode(&out, data.data, data.len, &err), 0);
	unhex("62706c6973743030d1010256706172616d73d1030454646174614f10313008262000d202020802aa05"
	      "2445363639353244312d463846332d344635382d383931342d344235303734343342333231080b1215"
	      "1a000000000000010100000000000000050000000000000000000000000000004e",
	      &want);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	assert_int_equal(atv_ap_payload_data(out.data, out.len, &got, &gl, &err), 1);
	p = got;
	left = gl;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(ml, 48);
	assert_memory_equal(m, data.data + 1, 48);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 0);
	atv_buf_release(&out);
	atv_buf_release(&want);
	atv_buf_release(&data);
}

/* Several messages in one frame; the bare ConfigureConnection. */
static void test_data_messages(void **state)
{
	static const uint8_t a[] = {0x08, 0x0f, 0x12, 0x01, 'a'};
	static const uint8_t b[] = {0x08, 0x26};
	uint8_t big[200];
	struct atv_buf data;
	struct atv_err err;
	const uint8_t *p, *m;
	size_t left, ml;

	(void)state;
	memset(big, 0x55, sizeof big);
	big[0] = 0x08;
	atv_buf_init(&data, 4096);
	assert_int_equal(atv_ap_data_add(&data, a, sizeof a, &err), 0);
	assert_int_equal(atv_ap_data_add(&data, big, sizeof big, &err), 0);
	assert_int_equal(atv_ap_data_add(&data, b, sizeof b, &err), 0);
	assert_int_equal(data.len, 1 + 5 + 2 + 200 + 1 + 2);
	assert_memory_equal(data.data + 6, "\xc8\x01", 2);
	p = data.data;
	left = data.len;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(ml, sizeof a);
	assert_memory_equal(m, a, sizeof a);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(ml, sizeof big);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(ml, sizeof b);
	assert_memory_equal(m, b, sizeof b);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 0);

	/* unprefixed: the whole rest is one message */
	p = big;
	left = sizeof big;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_ptr_equal(m, big);
	assert_int_equal(ml, sizeof big);
	assert_int_equal(left, 0);

	/* a prefixed message, then a bare one */
	atv_buf_reset(&data);
	assert_int_equal(atv_ap_data_add(&data, a, sizeof a, &err), 0);
	assert_int_equal(atv_buf_append(&data, b, sizeof b, &err), 0);
	p = data.data;
	left = data.len;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 1);
	assert_int_equal(ml, 2);
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), 0);

	/* hostile: a length past the end, a varint cut short, one overlong */
	p = (const uint8_t *)"\x05\x08\x01";
	left = 3;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), -ATV_E_PROTO);
	p = (const uint8_t *)"\x85";
	left = 1;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), -ATV_E_PROTO);
	p = (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
	left = 10;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), -ATV_E_PROTO);
	p = (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
	left = 11;
	assert_int_equal(atv_ap_data_next(&p, &left, &m, &ml, &err), -ATV_E_PROTO);
	atv_buf_release(&data);
}

static void test_payload_hostile(void **state)
{
	struct atv_buf in;
	struct atv_err err;
	const uint8_t *d;
	size_t dl;

	(void)state;
	atv_buf_init(&in, 4096);
	/* not a plist, too short, XML */
	assert_int_equal(atv_ap_payload_data((const uint8_t *)"hello", 5, &d, &dl, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_ap_payload_data(atv_ap_empty_dict, 41, &d, &dl, &err),
			 -ATV_E_PROTO);
	/* top object not a dict: [ ] */
	unhex("62706c6973743030a008000000000000010100000000000000010000000000000000000000000000"
	      "0009",
	      &in);
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	/* params is a string: {params: "x"} */
	unhex("62706c6973743030d1010256706172616d735178080b120000000000000101000000000000000300"
	      "000000000000000000000000000014",
	      &in);
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	/* a trailer whose table lies past the end */
	unhex("62706c6973743030d0080000000000000101000000000000000100000000000000000000000000000"
	      "0ff",
	      &in);
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	/* a reference past the objects: {params: ref 9} */
	unhex("62706c6973743030d10109"
	      "56706172616d731001080b120000000000000101000000000000000300000000000000000000000000"
	      "000014",
	      &in);
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	/* data whose length runs past the offset table */
	atv_buf_reset(&in);
	assert_int_equal(atv_ap_payload_encode(&in, (const uint8_t *)"abc", 3, &err), 0);
	in.data[26] = 0x4e;
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	/* params.data of another type (an ASCII string) */
	in.data[26] = 0x53;
	assert_int_equal(atv_ap_payload_data(in.data, in.len, &d, &dl, &err), -ATV_E_PROTO);
	atv_buf_release(&in);
}

static void test_decoder_hostile(void **state)
{
	struct atv_ap_frame_dec d;
	struct atv_ap_frame f;
	struct atv_buf in;
	struct atv_err err;
	size_t used;

	(void)state;
	atv_buf_init(&in, 4096);
	/* a size below the header */
	unhex("0000001f 73796e63 0000000000000000 636d6e64 0000000000000001 00000000", &in);
	atv_ap_frame_dec_init(&d, 0);
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data, in.len, &used, &f, &err),
			 -ATV_E_PROTO);
	/* sticky */
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data, in.len, &used, &f, &err),
			 -ATV_E_PROTO);
	atv_ap_frame_dec_release(&d);
	/* a size above the cap */
	in.data[3] = 0x21;
	in.data[2] = 0x10;
	atv_ap_frame_dec_init(&d, 4096);
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data, in.len, &used, &f, &err),
			 -ATV_E_LIMIT);
	atv_ap_frame_dec_release(&d);
	/* two frames in one piece, the second cut short */
	atv_buf_reset(&in);
	assert_int_equal(atv_ap_frame_encode(&in, "sync", "comm", 7, (const uint8_t *)"xy", 2, &err),
			 0);
	assert_int_equal(atv_ap_frame_reply(&in, 7, false, &err), 0);
	atv_ap_frame_dec_init(&d, 0);
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data, in.len - 1, &used, &f, &err), 1);
	assert_int_equal(used, 34);
	assert_int_equal(f.payload_len, 2);
	assert_memory_equal(f.payload, "xy", 2);
	assert_int_equal(f.seqno, 7);
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data + 34, in.len - 35, &used, &f, &err), 0);
	assert_true(atv_ap_frame_dec_partial(&d));
	assert_int_equal(atv_ap_frame_dec_push(&d, in.data + in.len - 1, 1, &used, &f, &err), 1);
	assert_true(atv_ap_frame_is(&f, "rply"));
	atv_ap_frame_dec_release(&d);
	/* bad arguments to the encoder */
	assert_int_equal(atv_ap_frame_encode(&in, "", "comm", 1, NULL, 0, &err), -ATV_E_USAGE);
	assert_int_equal(atv_ap_frame_encode(&in, "thirteen_char", "", 1, NULL, 0, &err),
			 -ATV_E_USAGE);
	assert_int_equal(atv_ap_frame_encode(&in, "sync", "comms", 1, NULL, 0, &err),
			 -ATV_E_USAGE);
	atv_buf_release(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capture_reply),    cmocka_unit_test(test_capture_empty_sync),
	    cmocka_unit_test(test_payload_plistlib), cmocka_unit_test(test_data_messages),
	    cmocka_unit_test(test_payload_hostile),  cmocka_unit_test(test_decoder_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
