/* test-mrp - MRP framing and ProtocolMessages (cmocka). */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "mrp_frame.h"
#include "mrp_msg.h"

/* Decode all of p through a fresh decoder, step bytes at a time; append
 * each frame found to out as a 4-byte big-endian length and its bytes, and
 * count them in *nframes.  Returns 0 or the decoder's error. */
static int decode_all(const uint8_t *p, size_t len, size_t step, size_t max_frame,
                      struct atv_buf *out, size_t *nframes, struct atv_err *err)
{
	struct atv_mrp_frame_dec d;
	const uint8_t *f;
	size_t flen, used, off = 0;
	int r = 0;

	*nframes = 0;
	atv_mrp_frame_dec_init(&d, max_frame);
	while (off < len) {
		size_t piece = len - off < step ? len - off : step;

		r = atv_mrp_frame_dec_push(&d, p + off, piece, &used, &f, &flen, err);
		if (r < 0)
			break;
		assert_true(used <= piece);
		if (r == 0)
			assert_int_equal(used, piece);
		off += used;
		if (r > 0) {
			uint8_t hdr[4] = { (uint8_t)(flen >> 24), (uint8_t)(flen >> 16),
				           (uint8_t)(flen >> 8), (uint8_t)flen };

			assert_non_null(f);
			assert_int_equal(atv_buf_append(out, hdr, 4, err), 0);
			assert_int_equal(atv_buf_append(out, f, flen, err), 0);
			(*nframes)++;
			r = 0;
		}
	}
	if (r == 0)
		assert_false(atv_mrp_frame_dec_partial(&d));
	atv_mrp_frame_dec_release(&d);
	return r;
}

static void test_varint(void **state)
{
	uint8_t v[ATV_MRP_VARINT_MAX];

	(void)state;
	assert_int_equal(atv_mrp_varint_put(v, 0), 1);
	assert_int_equal(v[0], 0);
	assert_int_equal(atv_mrp_varint_put(v, 127), 1);
	assert_int_equal(v[0], 0x7f);
	assert_int_equal(atv_mrp_varint_put(v, 128), 2);
	assert_memory_equal(v, "\x80\x01", 2);
	assert_int_equal(atv_mrp_varint_put(v, 300), 2);
	assert_memory_equal(v, "\xac\x02", 2);
	assert_int_equal(atv_mrp_varint_put(v, UINT64_MAX), 10);
	assert_memory_equal(v, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
}

static void test_frame_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 127, 128, 300, 16383, 16384, 70000 };
	static const size_t steps[] = { 1, 2, 3, 7, 64, 4096, (size_t)1 << 30 };
	struct atv_buf wire, got, want;
	struct atv_err err;
	uint8_t *payload;
	size_t n;

	(void)state;
	payload = malloc(70000);
	assert_non_null(payload);
	for (size_t i = 0; i < 70000; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	atv_buf_init(&wire, 1 << 20);
	atv_buf_init(&want, 1 << 20);
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		uint8_t hdr[4] = { 0, (uint8_t)(sizes[i] >> 16), (uint8_t)(sizes[i] >> 8),
			           (uint8_t)sizes[i] };

		assert_int_equal(atv_mrp_frame_encode(&wire, payload, sizes[i], &err), 0);
		assert_int_equal(atv_buf_append(&want, hdr, 4, &err), 0);
		assert_int_equal(atv_buf_append(&want, payload, sizes[i], &err), 0);
	}
	/* Hand-checked headers: 300 is ac 02 and 70000 is f0 a2 04. */
	assert_memory_equal(wire.data, "\x00\x01", 2);
	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
		atv_buf_init(&got, 1 << 20);
		assert_int_equal(decode_all(wire.data, wire.len, steps[s], 0, &got, &n, &err), 0);
		assert_int_equal(n, sizeof sizes / sizeof *sizes);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
		atv_buf_release(&got);
	}
	atv_buf_reset(&wire);
	assert_int_equal(atv_mrp_frame_encode(&wire, payload, 70000, &err), 0);
	assert_memory_equal(wire.data, "\xf0\xa2\x04", 3);
	atv_buf_reset(&wire);
	assert_int_equal(atv_mrp_frame_encode(&wire, payload, 300, &err), 0);
	assert_memory_equal(wire.data, "\xac\x02", 2);
	atv_buf_release(&wire);
	atv_buf_release(&want);
	free(payload);
}

static void test_frame_byte_by_byte(void **state)
{
	struct atv_mrp_frame_dec d;
	struct atv_err err;
	const uint8_t in[] = { 0x03, 'a', 'b', 'c', 0x00, 0x01, 'z' };
	const uint8_t *f;
	size_t flen, used;

	(void)state;
	atv_mrp_frame_dec_init(&d, 0);
	assert_false(atv_mrp_frame_dec_partial(&d));
	assert_int_equal(atv_mrp_frame_dec_push(&d, in, 1, &used, &f, &flen, &err), 0);
	assert_int_equal(used, 1);
	assert_true(atv_mrp_frame_dec_partial(&d));
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 1, 1, &used, &f, &flen, &err), 0);
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 2, 1, &used, &f, &flen, &err), 0);
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 3, 1, &used, &f, &flen, &err), 1);
	assert_int_equal(used, 1);
	assert_int_equal(flen, 3);
	assert_memory_equal(f, "abc", 3);
	assert_false(atv_mrp_frame_dec_partial(&d));
	/* An empty frame is a frame. */
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 4, 1, &used, &f, &flen, &err), 1);
	assert_int_equal(flen, 0);
	assert_non_null(f);
	/* Nothing in, nothing out. */
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 5, 0, &used, &f, &flen, &err), 0);
	assert_int_equal(used, 0);
	/* Several frames in one piece: one at a time, *used says how far. */
	assert_int_equal(atv_mrp_frame_dec_push(&d, in, sizeof in, &used, &f, &flen, &err), 1);
	assert_int_equal(used, 4);
	assert_ptr_equal(f, in + 1); /* whole in the input: not copied */
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 4, 3, &used, &f, &flen, &err), 1);
	assert_int_equal(used, 1);
	assert_int_equal(atv_mrp_frame_dec_push(&d, in + 5, 2, &used, &f, &flen, &err), 1);
	assert_int_equal(used, 2);
	assert_memory_equal(f, "z", 1);
	/* Cut short: the decoder says so. */
	assert_int_equal(atv_mrp_frame_dec_push(&d, in, 2, &used, &f, &flen, &err), 0);
	assert_true(atv_mrp_frame_dec_partial(&d));
	atv_mrp_frame_dec_release(&d);
}

static void expect_push_error(const uint8_t *p, size_t len, size_t max_frame, int code)
{
	struct atv_mrp_frame_dec d;
	struct atv_err err = { 0 };
	const uint8_t *f;
	size_t flen, used, off = 0;
	int r;

	/* Byte by byte and all at once must agree. */
	for (int pass = 0; pass < 2; pass++) {
		atv_mrp_frame_dec_init(&d, max_frame);
		off = 0;
		do {
			r = atv_mrp_frame_dec_push(&d, p + off, pass ? len - off : 1, &used, &f,
			                           &flen, &err);
			off += used;
		} while (r == 0 && off < len);
		assert_int_equal(r, -code);
		assert_int_equal(err.code, code);
		assert_null(f);
		/* Sticky. */
		assert_int_equal(atv_mrp_frame_dec_push(&d, (const uint8_t *)"\x00", 1, &used, &f,
		                                        &flen, &err),
		                 -code);
		assert_int_equal(used, 0);
		atv_mrp_frame_dec_release(&d);
	}
}

static void test_frame_hostile(void **state)
{
	struct atv_buf out;
	struct atv_err err;
	uint8_t big[ATV_MRP_VARINT_MAX];
	size_t n;
	static const uint8_t small_ok[] = { 0x10, 0, 1,  2,  3,  4,  5,  6, 7,
		                            8,    9, 10, 11, 12, 13, 14, 15 };
	struct atv_buf got;

	(void)state;
	/* One byte over the cap, declared: refused before any allocation. */
	n = atv_mrp_varint_put(big, ATV_MRP_MAX_FRAME + 1);
	expect_push_error(big, n, 0, ATV_E_LIMIT);
	/* 2^63: a valid varint, absurd length. */
	expect_push_error((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10, 0,
	                  ATV_E_LIMIT);
	/* 2^64 - 1 is still a varint; also refused by the cap. */
	expect_push_error((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 0,
	                  ATV_E_LIMIT);
	/* Eleven bytes. */
	expect_push_error((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, 0,
	                  ATV_E_PROTO);
	/* Ten bytes whose last carries more than bit 63. */
	expect_push_error((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, 0,
	                  ATV_E_PROTO);
	/* A caller's smaller cap: 16 passes, 17 does not. */
	atv_buf_init(&got, 1 << 10);
	assert_int_equal(decode_all(small_ok, sizeof small_ok, 1, 16, &got, &n, &err), 0);
	assert_int_equal(n, 1);
	atv_buf_release(&got);
	expect_push_error((const uint8_t *)"\x11", 1, 16, ATV_E_LIMIT);

	/* Encoding refuses what the decoder would, and leaves out untouched. */
	atv_buf_init(&out, ATV_MRP_MAX_FRAME + 100);
	assert_int_equal(atv_mrp_frame_encode(&out, NULL, ATV_MRP_MAX_FRAME + 1, &err),
	                 -ATV_E_LIMIT);
	assert_int_equal(out.len, 0);
	atv_buf_release(&out);
	atv_buf_init(&out, 4);
	assert_int_equal(atv_mrp_frame_encode(&out, (const uint8_t *)"abcd", 4, &err),
	                 -ATV_E_LIMIT);
	assert_int_equal(out.len, 0);
	assert_int_equal(atv_mrp_frame_encode(&out, (const uint8_t *)"abc", 3, &err), 0);
	assert_memory_equal(out.data,
	                    "\x03"
	                    "abc",
	                    4);
	atv_buf_release(&out);
}

static void assert_uuid(const char *s)
{
	assert_non_null(s);
	assert_int_equal(strlen(s), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else
			assert_true(isxdigit((unsigned char)s[i]) && !islower((unsigned char)s[i]));
	}
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89AB", s[19]));
}

static Mrp__ProtocolMessage *unpack_buf(const struct atv_buf *b)
{
	Mrp__ProtocolMessage *m = NULL;
	struct atv_err err;

	assert_int_equal(atv_mrp_msg_unpack(b->data, b->len, &m, &err), 0);
	assert_non_null(m);
	return m;
}

/* A ProtocolMessage with a payload, through pack and unpack. */
static void test_msg_round_trip(void **state)
{
	struct atv_mrp_cmd_opts opts = { 0 };
	struct atv_mrp_ids ids, ids2;
	struct atv_buf b;
	struct atv_err err;
	Mrp__ProtocolMessage *m;

	(void)state;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	opts.has_position = true;
	opts.position = 42.5;
	assert_int_equal(atv_mrp_msg_command(&b, &ids, MRP__COMMAND__CMD_SEEK_TO_PLAYBACK_POSITION,
	                                     &opts, &err),
	                 0);
	m = unpack_buf(&b);
	assert_true(m->has_type);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__SEND_COMMAND_MESSAGE);
	assert_uuid(ids.identifier);
	assert_uuid(ids.unique_id);
	assert_string_equal(m->identifier, ids.identifier);
	assert_string_equal(m->uniqueidentifier, ids.unique_id);
	assert_string_not_equal(ids.identifier, ids.unique_id);
	assert_true(m->has_errorcode);
	assert_int_equal(m->errorcode, 0);
	assert_non_null(m->sendcommandmessage);
	assert_int_equal(m->sendcommandmessage->command,
	                 MRP__COMMAND__CMD_SEEK_TO_PLAYBACK_POSITION);
	assert_non_null(m->sendcommandmessage->options);
	assert_true(m->sendcommandmessage->options->has_playbackposition);
	assert_true(m->sendcommandmessage->options->playbackposition == 42.5);
	assert_false(m->sendcommandmessage->options->has_shufflemode);
	assert_false(m->sendcommandmessage->options->has_sendoptions);
	assert_int_equal(m->base.n_unknown_fields, 0);
	atv_mrp_msg_free(m);

	/* Fresh identifiers every time. */
	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_command(&b, &ids2, MRP__COMMAND__CMD_PLAY, NULL, &err), 0);
	assert_string_not_equal(ids.identifier, ids2.identifier);
	assert_string_not_equal(ids.unique_id, ids2.unique_id);
	m = unpack_buf(&b);
	assert_null(m->sendcommandmessage->options);
	atv_mrp_msg_free(m);

	/* Mode changes carry sendOptions 0. */
	atv_buf_reset(&b);
	memset(&opts, 0, sizeof opts);
	opts.has_shuffle = true;
	opts.shuffle = MRP__SHUFFLE_MODE__SHUFFLE_SONGS;
	assert_int_equal(
	        atv_mrp_msg_command(&b, NULL, MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE, &opts, &err),
	        0);
	m = unpack_buf(&b);
	assert_true(m->sendcommandmessage->options->has_shufflemode);
	assert_int_equal(m->sendcommandmessage->options->shufflemode,
	                 MRP__SHUFFLE_MODE__SHUFFLE_SONGS);
	assert_true(m->sendcommandmessage->options->has_sendoptions);
	assert_int_equal(m->sendcommandmessage->options->sendoptions, 0);
	atv_mrp_msg_free(m);
	atv_buf_release(&b);
}

static void pack_expect(const Mrp__ProtocolMessage *m, const void *want, size_t len)
{
	struct atv_buf b;
	struct atv_err err;
	Mrp__ProtocolMessage *u;
	struct atv_buf b2;

	atv_buf_init(&b, 1024);
	assert_int_equal(atv_mrp_msg_pack(m, &b, &err), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, want, len);
	/* And the hand-made bytes unpack to a message that packs the same. */
	assert_int_equal(atv_mrp_msg_unpack(want, len, &u, &err), 0);
	atv_buf_init(&b2, 1024);
	assert_int_equal(atv_mrp_msg_pack(u, &b2, &err), 0);
	assert_int_equal(b2.len, len);
	assert_memory_equal(b2.data, want, len);
	atv_mrp_msg_free(u);
	atv_buf_release(&b);
	atv_buf_release(&b2);
}

/* Exact bytes, worked out by hand from the protobuf encoding rules (tag =
 * field << 3 | wire type, as a varint), prove the field numbers. */
static void test_wire_bytes(void **state)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	Mrp__SetConnectionStateMessage s = MRP__SET_CONNECTION_STATE_MESSAGE__INIT;
	Mrp__SendHIDEventMessage h = MRP__SEND_HIDEVENT_MESSAGE__INIT;
	Mrp__CryptoPairingMessage c = MRP__CRYPTO_PAIRING_MESSAGE__INIT;
	Mrp__DeviceInfoMessage d = MRP__DEVICE_INFO_MESSAGE__INIT;
	Mrp__SendCommandMessage sc = MRP__SEND_COMMAND_MESSAGE__INIT;
	Mrp__SetStateMessage st = MRP__SET_STATE_MESSAGE__INIT;
	Mrp__SetVolumeMessage sv = MRP__SET_VOLUME_MESSAGE__INIT;
	Mrp__WakeDeviceMessage w = MRP__WAKE_DEVICE_MESSAGE__INIT;

	(void)state;
	/* type 38 (08 26); field 42 length-delimited: (42 << 3 | 2) = 338 =
	 * d2 02, length 2, state 2 (08 02). */
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_CONNECTION_STATE_MESSAGE;
	s.has_state = 1;
	s.state = MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED;
	m.setconnectionstatemessage = &s;
	pack_expect(&m, "\x08\x26\xd2\x02\x02\x08\x02", 7);

	/* type 8; identifier (field 2) "A"; errorCode (4) 0; field 13 =
	 * 6a {hidEventData "xy"}; uniqueIdentifier (85 << 3 | 2 = 682 = aa 05)
	 * "B". */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SEND_HID_EVENT_MESSAGE;
	m.identifier = (char *)"A";
	m.has_errorcode = 1;
	m.errorcode = 0;
	h.has_hideventdata = 1;
	h.hideventdata.data = (uint8_t *)"xy";
	h.hideventdata.len = 2;
	m.sendhideventmessage = &h;
	m.uniqueidentifier = (char *)"B";
	pack_expect(&m,
	            "\x08\x08\x12\x01"
	            "A"
	            "\x20\x00\x6a\x04\x0a\x02xy\xaa\x05\x01"
	            "B",
	            17);

	/* CRYPTO_PAIRING (34 = 22): field 39 = ba 02 {pairingData 0a 03 00 01 01,
	 * state (5) 28 02}. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE;
	c.has_pairingdata = 1;
	c.pairingdata.data = (uint8_t *)"\x00\x01\x01";
	c.pairingdata.len = 3;
	c.has_state = 1;
	c.state = 2;
	m.cryptopairingmessage = &c;
	pack_expect(&m, "\x08\x22\xba\x02\x07\x0a\x03\x00\x01\x01\x28\x02", 12);

	/* DEVICE_INFO (15 = 0f): field 20 = a2 01 {uniqueIdentifier 0a 01 "U",
	 * name 12 01 "N", lastSupportedMessageType (8) 40 6c}. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE;
	d.uniqueidentifier = (char *)"U";
	d.name = (char *)"N";
	d.has_lastsupportedmessagetype = 1;
	d.lastsupportedmessagetype = 108;
	m.deviceinfomessage = &d;
	pack_expect(&m, "\x08\x0f\xa2\x01\x08\x0a\x01U\x12\x01N\x40\x6c", 13);

	/* SEND_COMMAND (1): field 6 = 32 {command 08 01}. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SEND_COMMAND_MESSAGE;
	sc.has_command = 1;
	sc.command = MRP__COMMAND__CMD_PLAY;
	m.sendcommandmessage = &sc;
	pack_expect(&m, "\x08\x01\x32\x02\x08\x01", 6);

	/* SET_STATE (4): field 9 = 4a {playbackState (6) 30 01}. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_STATE_MESSAGE;
	st.has_playbackstate = 1;
	st.playbackstate = MRP__PLAYBACK_STATE__PLAYBACK_PLAYING;
	m.setstatemessage = &st;
	pack_expect(&m, "\x08\x04\x4a\x02\x30\x01", 6);

	/* SET_VOLUME (51 = 33): field 55 = ba 03 {volume 0.5f: 0d 00 00 00 3f,
	 * outputDeviceUID 12 01 "D"}. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__SET_VOLUME_MESSAGE;
	sv.has_volume = 1;
	sv.volume = 0.5f;
	sv.outputdeviceuid = (char *)"D";
	m.setvolumemessage = &sv;
	pack_expect(&m,
	            "\x08\x33\xba\x03\x08\x0d\x00\x00\x00\x3f\x12\x01"
	            "D",
	            13);

	/* MODIFY_OUTPUT_CONTEXT_REQUEST (48 = 30): field 52 = a2 03 {type 08 01,
	 * addingDevices (2) 12 01 "A", clusterAwareAddingDevices (5) 2a 01
	 * "A"}. */
	{
		Mrp__ModifyOutputContextRequestMessage mo =
		    MRP__MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE__INIT;
		char *ids[] = {(char *)"A"};

		m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
		m.has_type = 1;
		m.type = MRP__PROTOCOL_MESSAGE__TYPE__MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE;
		mo.has_type = 1;
		mo.type = 1;
		mo.n_addingdevices = mo.n_clusterawareaddingdevices = 1;
		mo.addingdevices = mo.clusterawareaddingdevices = ids;
		m.modifyoutputcontextrequestmessage = &mo;
		pack_expect(&m, "\x08\x30\xa2\x03\x08\x08\x01\x12\x01" "A" "\x2a\x01" "A", 13);
	}

	/* DEVICE_INFO (15): field 20 = a2 01 {isProxyGroupPlayer (24) c0 01 01,
	 * groupedDevices (28) e2 01 {name 12 01 "K", deviceUID (19) 9a 01 01
	 * "k"}, isGroupLeader (29) e8 01 01, clusterID (35) 9a 02 01 "C"}. */
	{
		Mrp__GroupedDevice g = MRP__GROUPED_DEVICE__INIT, *gp[] = {&g};

		m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
		d = (Mrp__DeviceInfoMessage)MRP__DEVICE_INFO_MESSAGE__INIT;
		m.has_type = 1;
		m.type = MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE;
		d.has_isproxygroupplayer = d.isproxygroupplayer = 1;
		g.name = (char *)"K";
		g.deviceuid = (char *)"k";
		d.n_groupeddevices = 1;
		d.groupeddevices = gp;
		d.has_isgroupleader = d.isgroupleader = 1;
		d.clusterid = (char *)"C";
		m.deviceinfomessage = &d;
		pack_expect(&m,
			    "\x08\x0f\xa2\x01\x14\xc0\x01\x01\xe2\x01\x07\x12\x01"
			    "K"
			    "\x9a\x01\x01"
			    "k"
			    "\xe8\x01\x01\x9a\x02\x01"
			    "C",
			    25);
	}

	/* WAKE_DEVICE (41 = 29) with its empty payload: field 45 = ea 02 00. */
	m = (Mrp__ProtocolMessage)MRP__PROTOCOL_MESSAGE__INIT;
	m.has_type = 1;
	m.type = MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE;
	m.wakedevicemessage = &w;
	pack_expect(&m, "\x08\x29\xea\x02\x00", 5);
}

/* Fields the schema does not declare survive unpack and pack, at the top
 * level and inside a payload. */
static void test_unknown_fields(void **state)
{
	/* type 4; setStateMessage (4a) {displayName (5) 2a 01 "x", field 7
	 * varint 5 (38 05) undeclared}; field 100 (a2 06) "hello"
	 * undeclared; field 77 varint (e8 04 01) undeclared. */
	static const uint8_t in[] = {
		0x08, 0x04, 0x4a, 0x05, 0x2a, 0x01, 'x', 0x38, 0x05, 0xa2,
		0x06, 0x05, 'h',  'e',  'l',  'l',  'o', 0xe8, 0x04, 0x01,
	};
	Mrp__ProtocolMessage *m = NULL;
	struct atv_buf b;
	struct atv_err err;

	(void)state;
	assert_int_equal(atv_mrp_msg_unpack(in, sizeof in, &m, &err), 0);
	assert_int_equal(m->base.n_unknown_fields, 2);
	assert_int_equal(m->base.unknown_fields[0].tag, 100);
	/* protobuf-c keeps the length prefix with the data. */
	assert_int_equal(m->base.unknown_fields[0].len, 6);
	assert_memory_equal(m->base.unknown_fields[0].data, "\x05hello", 6);
	assert_int_equal(m->base.unknown_fields[1].tag, 77);
	assert_non_null(m->setstatemessage);
	assert_string_equal(m->setstatemessage->displayname, "x");
	assert_int_equal(m->setstatemessage->base.n_unknown_fields, 1);
	assert_int_equal(m->setstatemessage->base.unknown_fields[0].tag, 7);
	atv_buf_init(&b, 1024);
	assert_int_equal(atv_mrp_msg_pack(m, &b, &err), 0);
	assert_int_equal(b.len, sizeof in);
	assert_memory_equal(b.data, in, sizeof in);
	atv_buf_release(&b);
	atv_mrp_msg_free(m);
}

static void expect_unpack_fails(const void *p, size_t len)
{
	Mrp__ProtocolMessage *m = (Mrp__ProtocolMessage *)&m;
	struct atv_err err = { 0 };

	assert_int_equal(atv_mrp_msg_unpack(p, len, &m, &err), -ATV_E_PROTO);
	assert_null(m);
	assert_int_equal(err.code, ATV_E_PROTO);
}

static void test_unpack_hostile(void **state)
{
	struct atv_buf b;
	struct atv_err err;
	Mrp__ProtocolMessage *m;
	size_t per, n;

	(void)state;
	expect_unpack_fails("\x08", 1);             /* varint cut short */
	expect_unpack_fails("\x4a\x05\x30\x01", 4); /* submessage longer than the rest */
	expect_unpack_fails("\x0a\x00", 2);         /* type as bytes: wrong wire type */
	expect_unpack_fails("\x0b\x0c", 2);         /* groups are not protobuf 2 MRP */
	expect_unpack_fails("\x12\x01", 2);         /* string cut short */
	expect_unpack_fails("\x00\x00", 2);         /* field 0 */

	/* An empty message is a message. */
	assert_int_equal(atv_mrp_msg_unpack((const uint8_t *)"", 0, &m, &err), 0);
	assert_false(m->has_type);
	atv_mrp_msg_free(m);

	/* tvOS sends AudioRoute.type as an enum varint: it must unpack. */
	{
		/* type 4; setState {playbackQueue (1a) {contentItems (12)
		 * {metadata (12) {audioRoute (96 << 3 | 2 = 82 06) {type 08 08,
		 * name 12 01 "T"}}}}} */
		static const uint8_t in[] = { 0x08, 0x04, 0x4a, 0x0e, 0x1a, 0x0c, 0x12, 0x0a, 0x12,
			                      0x08, 0x82, 0x06, 0x05, 0x08, 0x08, 0x12, 0x01, 'T' };
		Mrp__AudioRoute *ar;

		assert_int_equal(atv_mrp_msg_unpack(in, sizeof in, &m, &err), 0);
		assert_int_equal(m->setstatemessage->playbackqueue->n_contentitems, 1);
		ar = m->setstatemessage->playbackqueue->contentitems[0]->metadata->audioroute;
		assert_non_null(ar);
		assert_true(ar->has_type);
		assert_int_equal(ar->type, MRP__AUDIO_ROUTE_TYPE__ROUTE_HDMI);
		assert_string_equal(ar->name, "T");
		atv_mrp_msg_free(m);
	}

	/* Memory amplification: each 4-byte item (0a 02 12 00: a content item
	 * with empty metadata) costs two C structs.  A few are fine; a frame
	 * full of them is refused instead of allocated. */
	per = sizeof(Mrp__ContentItem) + sizeof(Mrp__ContentItemMetadata);
	assert_true(per > 4 * 64 + 64);
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	assert_int_equal(atv_buf_append(&b, "\x08\x38\xe2\x03\x80\x80\x40", 7, &err), 0);
	for (n = 0; n < (1 << 20) / 4; n++)
		assert_int_equal(atv_buf_append(&b, "\x0a\x02\x12\x00", 4, &err), 0);
	expect_unpack_fails(b.data, b.len);
	atv_buf_reset(&b);
	assert_int_equal(atv_buf_append(&b, "\x08\x38\xe2\x03\x28", 5, &err), 0);
	for (n = 0; n < 10; n++)
		assert_int_equal(atv_buf_append(&b, "\x0a\x02\x12\x00", 4, &err), 0);
	assert_int_equal(atv_mrp_msg_unpack(b.data, b.len, &m, &err), 0);
	assert_int_equal(m->updatecontentitemmessage->n_contentitems, 10);
	atv_mrp_msg_free(m);
	atv_buf_release(&b);

	/* Too big to be a frame. */
	{
		Mrp__ProtocolMessage *none = NULL;

		assert_int_equal(
		        atv_mrp_msg_unpack((const uint8_t *)"", ATV_MRP_MAX_FRAME + 1, &none, &err),
		        -ATV_E_LIMIT);
		assert_null(none);
	}
}

static void test_hid(void **state)
{
	/* Layout as recorded in pyatv's messages.py for "up" pressed. */
	static const uint8_t want[ATV_MRP_HID_LEN] = {
		0x43, 0x89, 0x22, 0xcf, 0x08, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x8c, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	uint8_t blob[ATV_MRP_HID_LEN];
	uint16_t page, usage;
	bool down;
	struct atv_buf b;
	struct atv_err err;
	Mrp__ProtocolMessage *m;

	(void)state;
	atv_mrp_hid_encode(blob, 1, 0x8c, true);
	assert_memory_equal(blob, want, sizeof want);
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob, &page, &usage, &down, &err), 0);
	assert_int_equal(page, 1);
	assert_int_equal(usage, 0x8c);
	assert_true(down);
	atv_mrp_hid_encode(blob, 12, 0xe9, false);
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob, &page, &usage, &down, &err), 0);
	assert_int_equal(page, 12);
	assert_int_equal(usage, 0xe9);
	assert_false(down);
	/* Any timestamp goes; the rest must be the layout. */
	blob[0] = 0;
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob, &page, &usage, &down, &err), 0);
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob - 1, &page, &usage, &down, &err),
	                 -ATV_E_PROTO);
	blob[20] ^= 1;
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob, &page, &usage, &down, &err),
	                 -ATV_E_PROTO);
	blob[20] ^= 1;
	blob[48] = 2;
	assert_int_equal(atv_mrp_hid_decode(blob, sizeof blob, &page, &usage, &down, &err),
	                 -ATV_E_PROTO);

	atv_buf_init(&b, 1024);
	assert_int_equal(atv_mrp_msg_hid_event(&b, NULL, 1, 0x8c, true, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__SEND_HID_EVENT_MESSAGE);
	assert_non_null(m->sendhideventmessage);
	assert_int_equal(m->sendhideventmessage->hideventdata.len, ATV_MRP_HID_LEN);
	assert_memory_equal(m->sendhideventmessage->hideventdata.data, want, sizeof want);
	atv_mrp_msg_free(m);
	atv_buf_release(&b);
}

static void test_builders(void **state)
{
	const struct atv_mrp_identity me = { .unique_id = "11111111-2222-4333-8444-555555555555",
		                             .name = "Den" };
	const struct atv_mrp_identity anon = { 0 };
	struct atv_mrp_ids ids;
	struct atv_buf b;
	struct atv_err err;
	Mrp__ProtocolMessage *m;
	Mrp__DeviceInfoMessage *d;

	(void)state;
	atv_buf_init(&b, 4096);

	assert_int_equal(atv_mrp_msg_device_info(&b, &ids, &me, false, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE);
	d = m->deviceinfomessage;
	assert_non_null(d);
	assert_string_equal(d->uniqueidentifier, me.unique_id);
	assert_string_equal(d->name, "Den");
	assert_string_equal(d->localizedmodelname, "iPhone");
	assert_string_equal(d->applicationbundleidentifier, "com.apple.TVRemote");
	assert_true(d->has_protocolversion && d->protocolversion == 1);
	assert_true(d->has_lastsupportedmessagetype && d->lastsupportedmessagetype == 108);
	assert_true(d->has_allowspairing && d->allowspairing);
	assert_true(d->has_supportssystempairing && d->supportssystempairing);
	assert_true(d->has_supportsacl && d->supportsacl);
	assert_true(d->has_supportssharedqueue && d->supportssharedqueue);
	assert_true(d->has_deviceclass && d->deviceclass == MRP__DEVICE_CLASS__DEVICE_CLASS_IPHONE);
	assert_string_equal(m->identifier, ids.identifier);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_device_info(&b, NULL, &anon, true, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_UPDATE_MESSAGE);
	assert_uuid(m->deviceinfomessage->uniqueidentifier);
	assert_string_equal(m->deviceinfomessage->name, "atv-tools");
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_crypto_pairing(&b, &ids, (const uint8_t *)"\x06\x01\x01", 3,
	                                            true, &err),
	                 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE);
	assert_string_equal(ids.identifier, "");
	assert_null(m->identifier);
	assert_uuid(m->uniqueidentifier);
	assert_true(m->cryptopairingmessage->has_pairingdata);
	assert_int_equal(m->cryptopairingmessage->pairingdata.len, 3);
	assert_memory_equal(m->cryptopairingmessage->pairingdata.data, "\x06\x01\x01", 3);
	assert_int_equal(m->cryptopairingmessage->state, 2);
	assert_true(m->cryptopairingmessage->has_isretrying);
	atv_mrp_msg_free(m);
	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_crypto_pairing(&b, NULL, NULL, 0, false, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->cryptopairingmessage->state, 0);
	assert_int_equal(m->cryptopairingmessage->pairingdata.len, 0);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(
	        atv_mrp_msg_set_connection_state(
	                &b, NULL, MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED, &err),
	        0);
	m = unpack_buf(&b);
	assert_int_equal(m->setconnectionstatemessage->state,
	                 MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_client_updates_config(
	                         &b, NULL, ATV_MRP_UPDATES_ARTWORK | ATV_MRP_UPDATES_VOLUME, &err),
	                 0);
	m = unpack_buf(&b);
	assert_true(m->clientupdatesconfigmessage->artworkupdates);
	assert_true(m->clientupdatesconfigmessage->volumeupdates);
	assert_true(m->clientupdatesconfigmessage->has_nowplayingupdates);
	assert_false(m->clientupdatesconfigmessage->nowplayingupdates);
	assert_false(m->clientupdatesconfigmessage->keyboardupdates);
	assert_false(m->clientupdatesconfigmessage->outputdeviceupdates);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_button_event(&b, NULL, 12, 0x40, true, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__SEND_BUTTON_EVENT_MESSAGE);
	assert_int_equal(m->sendbuttoneventmessage->usagepage, 12);
	assert_int_equal(m->sendbuttoneventmessage->usage, 0x40);
	assert_true(m->sendbuttoneventmessage->buttondown);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_set_volume(&b, NULL, "DEV", 0.25f, &err), 0);
	m = unpack_buf(&b);
	assert_true(m->setvolumemessage->volume == 0.25f);
	assert_string_equal(m->setvolumemessage->outputdeviceuid, "DEV");
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_get_volume(&b, NULL, "DEV", &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__GET_VOLUME_MESSAGE);
	assert_string_equal(m->getvolumemessage->outputdeviceuid, "DEV");
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_playback_queue_request(&b, NULL, 3, -1, 400, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->playbackqueuerequestmessage->location, 3);
	assert_int_equal(m->playbackqueuerequestmessage->length, 1);
	assert_true(m->playbackqueuerequestmessage->artworkwidth == -1);
	assert_true(m->playbackqueuerequestmessage->artworkheight == 400);
	assert_true(m->playbackqueuerequestmessage->returncontentitemassetsinusercompletion);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(atv_mrp_msg_wake(&b, &ids, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE);
	assert_null(m->wakedevicemessage);
	assert_string_equal(m->identifier, ids.identifier);
	atv_mrp_msg_free(m);

	atv_buf_reset(&b);
	assert_int_equal(
	        atv_mrp_msg_empty(&b, NULL, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE, &err), 0);
	m = unpack_buf(&b);
	assert_int_equal(m->type, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE);
	atv_mrp_msg_free(m);

	/* A full buffer: the builder fails and out is unchanged. */
	atv_buf_release(&b);
	atv_buf_init(&b, 20);
	assert_int_equal(atv_mrp_msg_wake(&b, NULL, &err), -ATV_E_LIMIT);
	assert_int_equal(b.len, 0);
	atv_buf_release(&b);

	assert_string_equal(atv_mrp_msg_type_name(4), "SET_STATE_MESSAGE");
	assert_string_equal(atv_mrp_msg_type_name(37), "DEVICE_INFO_UPDATE_MESSAGE");
	assert_string_equal(atv_mrp_msg_type_name(99), "UNKNOWN");
	assert_string_equal(atv_mrp_msg_type_name(-1), "UNKNOWN");
}

/* The speaker group's builder: each operation fills its plain and its
 * cluster-aware list and nothing else; with the envelope's stamps taken
 * out it is the message pyatv sends. */
static void test_modify_outputs(void **state)
{
	static const char *const ids[] = {"A", "B"};
	static const enum atv_mrp_outputs_op ops[] = {ATV_MRP_OUTPUTS_ADD, ATV_MRP_OUTPUTS_REMOVE,
						      ATV_MRP_OUTPUTS_SET};
	struct atv_mrp_ids mid;
	struct atv_err err;

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		struct atv_buf b, b2;
		Mrp__ProtocolMessage *u;
		const Mrp__ModifyOutputContextRequestMessage *mo;
		char *id, *uid;
		/* the lists: field 2/5 add, 3/6 remove, 4/7 set */
		uint8_t want[] = {0x08, 0x30, 0xa2, 0x03, 0x0e, 0x08, 0x01,
				  0, 1, 'A', 0, 1, 'B', 0, 1, 'A', 0, 1, 'B'};

		want[7] = want[10] = (uint8_t)((2 + k) << 3 | 2);
		want[13] = want[16] = (uint8_t)((5 + k) << 3 | 2);
		atv_buf_init(&b, 1024);
		assert_int_equal(atv_mrp_msg_modify_outputs(&b, &mid, ops[k], ids, 2, &err), 0);
		assert_uuid(mid.identifier);
		assert_int_equal(atv_mrp_msg_unpack(b.data, b.len, &u, &err), 0);
		assert_string_equal(u->identifier, mid.identifier);
		mo = u->modifyoutputcontextrequestmessage;
		assert_non_null(mo);
		assert_true(mo->has_type && mo->type == ATV_MRP_OUTPUT_CONTEXT_SHARED_AUDIO);
		id = u->identifier;
		uid = u->uniqueidentifier;
		u->identifier = u->uniqueidentifier = NULL;
		u->has_errorcode = 0;
		atv_buf_init(&b2, 1024);
		assert_int_equal(atv_mrp_msg_pack(u, &b2, &err), 0);
		assert_int_equal(b2.len, sizeof want);
		assert_memory_equal(b2.data, want, sizeof want);
		/* back, so that the message frees what it allocated */
		u->identifier = id;
		u->uniqueidentifier = uid;
		atv_mrp_msg_free(u);
		atv_buf_release(&b);
		atv_buf_release(&b2);
	}
}

static void test_stamp_reply(void **state)
{
	Mrp__ProtocolMessage m = MRP__PROTOCOL_MESSAGE__INIT;
	struct atv_mrp_ids ids;
	struct atv_err err;
	char long_id[64];

	(void)state;
	assert_int_equal(atv_mrp_msg_stamp(&m, &ids, "REQ-1", &err), 0);
	assert_string_equal(m.identifier, "REQ-1");
	assert_ptr_equal(m.identifier, ids.identifier);
	assert_uuid(m.uniqueidentifier);
	assert_int_equal(atv_mrp_msg_stamp(&m, &ids, "", &err), 0);
	assert_null(m.identifier);
	memset(long_id, 'A', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = 0;
	assert_int_equal(atv_mrp_msg_stamp(&m, &ids, long_id, &err), -ATV_E_LIMIT);
	long_id[36] = 0;
	assert_int_equal(atv_mrp_msg_stamp(&m, &ids, long_id, &err), 0);
	assert_string_equal(m.identifier, long_id);
}

/* protobuf-c unpacks submessages recursively with no depth limit, so the
 * schema must not contain itself anywhere (see mrp_common.proto): walk it
 * from ProtocolMessage and fail on a cycle. */
static int schema_depth(const ProtobufCMessageDescriptor *d,
                        const ProtobufCMessageDescriptor **stack, int depth)
{
	int max = depth;

	for (int i = 0; i < depth; i++)
		assert_ptr_not_equal(stack[i], d);
	assert_true(depth < 32);
	stack[depth] = d;
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
			int sub = schema_depth(d->fields[i].descriptor, stack, depth + 1);

			if (sub > max)
				max = sub;
		}
	}
	return max;
}

static void test_schema_acyclic(void **state)
{
	const ProtobufCMessageDescriptor *stack[32];

	(void)state;
	/* ProtocolMessage > SetState > PlaybackQueue > ContentItem > Metadata
	 * > AudioRoute is among the deepest paths. */
	assert_true(schema_depth(&mrp__protocol_message__descriptor, stack, 0) >= 5);
}

/* A frame carrying a message, the way the session will use the pair. */
static void test_frame_and_message(void **state)
{
	struct atv_buf msg, wire;
	struct atv_err err;
	struct atv_mrp_frame_dec d;
	const uint8_t *f;
	size_t flen, used, off = 0;
	int frames = 0, r;
	Mrp__ProtocolMessage *m;

	(void)state;
	atv_buf_init(&msg, ATV_MRP_MAX_FRAME);
	atv_buf_init(&wire, 2 * ATV_MRP_MAX_FRAME);
	for (int i = 0; i < 3; i++) {
		atv_buf_reset(&msg);
		assert_int_equal(
		        atv_mrp_msg_hid_event(&msg, NULL, 1, (uint16_t)(0x89 + i), i & 1, &err), 0);
		assert_int_equal(atv_mrp_frame_encode(&wire, msg.data, msg.len, &err), 0);
	}
	atv_mrp_frame_dec_init(&d, 0);
	while (off < wire.len) {
		r = atv_mrp_frame_dec_push(&d, wire.data + off,
		                           5 < wire.len - off ? 5 : wire.len - off, &used, &f,
		                           &flen, &err);
		assert_true(r >= 0);
		off += used;
		if (r) {
			uint16_t page, usage;
			bool down;

			assert_int_equal(atv_mrp_msg_unpack(f, flen, &m, &err), 0);
			assert_int_equal(
			        atv_mrp_hid_decode(m->sendhideventmessage->hideventdata.data,
			                           m->sendhideventmessage->hideventdata.len, &page,
			                           &usage, &down, &err),
			        0);
			assert_int_equal(usage, 0x89 + frames);
			assert_int_equal(down, frames & 1);
			atv_mrp_msg_free(m);
			frames++;
		}
	}
	assert_int_equal(frames, 3);
	atv_mrp_frame_dec_release(&d);
	atv_buf_release(&msg);
	atv_buf_release(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_byte_by_byte),
		cmocka_unit_test(test_frame_hostile),
		cmocka_unit_test(test_msg_round_trip),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_unpack_hostile),
		cmocka_unit_test(test_hid),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_modify_outputs),
		cmocka_unit_test(test_stamp_reply),
		cmocka_unit_test(test_schema_acyclic),
		cmocka_unit_test(test_frame_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
