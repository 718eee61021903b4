/* test-raop - the audio session's pure parts (cmocka), byte-exact:
 * uncompressed ALAC frames (vectors worked out bit by bit from the ALAC
 * escape-frame layout, see raop_packet.h, and matching OwnTone's
 * alac_encode_uncompressed for full frames), RTP/sync/timing/resend
 * packets (pyatv's packets.py layouts), the AirPlay 2 sealed packet
 * (pyatv's Chacha20Cipher8byteNonce output for the same key, header and
 * payload), SDP, Digest (RFC 2617's example inputs without qop, as pyatv's
 * get_digest_payload computes it), Transport, Audio-Latency, volume and
 * the DMAP metadata body (pyatv's tags.container_tag output). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "bytes.h"
#include "err.h"
#include "airplay.h"
#include "plist_dl.h"
#include "raop_ap2.h"
#include "raop_packet.h"
#include "raop_rtsp.h"

/* Hex (spaces allowed) to bytes; returns the count. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; *s; s++) {
		int hi, lo;

		if (*s == ' ')
			continue;
		hi = atv_hexval(s[0]);
		lo = atv_hexval(s[1]);
		assert_true(hi >= 0 && lo >= 0 && n < max);
		out[n++] = (uint8_t)(hi << 4 | lo);
		s++;
	}
	return n;
}

static void test_alac_full(void **state)
{
	int16_t pcm[352 * 2] = {0x1234, -2};
	uint8_t out[ATV_ALAC_MAX_LEN(352, 2)], want[8];
	size_t n;

	(void)state;
	n = atv_alac_frame(pcm, 352, 2, out);
	/* 23 header bits, 11264 sample bits, 3 end bits: 11290 bits */
	assert_int_equal(n, 1412);
	unhex("20 00 02 24 69 ff fc 00", want, sizeof want);
	assert_memory_equal(out, want, 8);
	for (size_t i = 8; i < 1410; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[1410], 0x01); /* end tag 111 across the last bytes */
	assert_int_equal(out[1411], 0xc0);
	/* silence */
	memset(pcm, 0, sizeof pcm);
	n = atv_alac_frame(pcm, 352, 2, out);
	assert_int_equal(n, 1412);
	unhex("20 00 02 00", want, sizeof want);
	assert_memory_equal(out, want, 4);
}

static void test_alac_partial(void **state)
{
	int16_t pcm[2] = {0x1234, -2};
	uint8_t out[ATV_ALAC_MAX_LEN(1, 2)], want[12];
	size_t n;

	(void)state;
	/* partial flag, shift 0, escape, then the 32-bit count 1 */
	n = atv_alac_frame(pcm, 1, 2, out);
	assert_int_equal(n, unhex("20 00 12 00 00 00 02 24 69 ff fd c0", want, sizeof want));
	assert_memory_equal(out, want, n);
	/* mono: element 0 (single channel) */
	n = atv_alac_frame(pcm, 1, 1, out);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(n, 10); /* 23 + 32 + 16 + 3 = 74 bits */
}

static void test_rtp_packets(void **state)
{
	uint8_t out[64], want[64];
	struct atv_rtp_timing t;
	struct atv_rtp_resend_req rr;
	struct atv_err err;
	size_t n;

	(void)state;
	atv_rtp_audio_header(out, true, 0x1234, 0x01020304, 0xdeadbeef);
	unhex("80 e0 12 34 01 02 03 04 de ad be ef", want, sizeof want);
	assert_memory_equal(out, want, 12);
	atv_rtp_audio_header(out, false, 0xffff, 0, 1);
	unhex("80 60 ff ff 00 00 00 00 00 00 00 01", want, sizeof want);
	assert_memory_equal(out, want, 12);

	atv_rtp_sync(out, true, 0x11111111, 0xe8f2a3b480000000ull, 0x22222222);
	unhex("90 d4 00 07 11 11 11 11 e8 f2 a3 b4 80 00 00 00 22 22 22 22", want, sizeof want);
	assert_memory_equal(out, want, ATV_RTP_SYNC_LEN);
	atv_rtp_sync(out, false, 1, 2, 3);
	assert_int_equal(out[0], 0x80);

	n = unhex("80 d2 00 07 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		  " 01 02 03 04 05 06 07 08",
		  want, sizeof want);
	assert_int_equal(atv_rtp_timing_parse(want, n, &t, &err), 0);
	assert_int_equal(t.send_ntp, 0x0102030405060708ull);
	atv_rtp_timing_reply(&t, 0xaabbccdd00112233ull, 0xaabbccdd00112244ull, out);
	unhex("80 d3 00 07 00 00 00 00 01 02 03 04 05 06 07 08 aa bb cc dd 00 11 22 33"
	      " aa bb cc dd 00 11 22 44",
	      want, sizeof want);
	assert_memory_equal(out, want, ATV_RTP_TIMING_LEN);
	/* hostile: short, wrong type */
	assert_int_equal(atv_rtp_timing_parse(want, 31, &t, &err), -ATV_E_PROTO);
	want[1] = 0xd4;
	assert_int_equal(atv_rtp_timing_parse(want, 32, &t, &err), -ATV_E_PROTO);

	n = unhex("80 d5 00 01 00 10 00 03", want, sizeof want);
	assert_int_equal(atv_rtp_resend_parse(want, n, &rr, &err), 0);
	assert_int_equal(rr.seq, 16);
	assert_int_equal(rr.count, 3);
	assert_int_equal(atv_rtp_resend_parse(want, 7, &rr, &err), -ATV_E_PROTO);
	unhex("80 d5 00 01 00 10 00 00", want, sizeof want);
	assert_int_equal(atv_rtp_resend_parse(want, 8, &rr, &err), -ATV_E_PROTO);
	unhex("80 d4 00 01 00 10 00 01", want, sizeof want);
	assert_int_equal(atv_rtp_resend_parse(want, 8, &rr, &err), -ATV_E_PROTO);

	n = unhex("80 60 00 10 00 00 00 01 00 00 00 02 aa", want, sizeof want);
	assert_int_equal(atv_rtp_resend(want, n, out), n + 4);
	unhex("80 d6 00 10 80 60 00 10 00 00 00 01 00 00 00 02 aa", want, sizeof want);
	assert_memory_equal(out, want, n + 4);

	/* 1970 + 1.5 s */
	assert_int_equal(atv_ntp_from_ns(1500000000ull),
			 (uint64_t)(0x83aa7e80u + 1) << 32 | 0x80000000u);
}

static void test_seal(void **state)
{
	uint8_t key[32], hdr[12], out[12 + 5 + ATV_RTP_SEAL_EXTRA], want[64];
	struct atv_err err;

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	unhex("80 60 00 01 00 00 01 60 12 34 56 78", hdr, sizeof hdr);
	assert_int_equal(atv_rtp_seal(key, 0, hdr, (const uint8_t *)"hello", 5, out, &err), 0);
	unhex("806000010000016012345678 70dd2e5dc2 ee6cc4add63d04994cf18b9b6d2daf26"
	      " 0000000000000000",
	      want, sizeof want);
	assert_memory_equal(out, want, sizeof out);
	assert_int_equal(atv_rtp_seal(key, 1, hdr, (const uint8_t *)"hello", 5, out, &err), 0);
	unhex("806000010000016012345678 f7329f33da e25d821ad444ccaea747433c49617503"
	      " 0100000000000000",
	      want, sizeof want);
	assert_memory_equal(out, want, sizeof out);
}

static void test_sdp(void **state)
{
	struct atv_buf b;
	struct atv_err err;
	const char *want;

	(void)state;
	atv_buf_init(&b, 1024);
	assert_int_equal(atv_raop_sdp(3735928559u, "IP4", "127.0.0.1", "127.0.0.2", &b, &err), 0);
	want = "v=0\r\n"
	       "o=iTunes 3735928559 0 IN IP4 127.0.0.1\r\n"
	       "s=iTunes\r\n"
	       "c=IN IP4 127.0.0.2\r\n"
	       "t=0 0\r\n"
	       "m=audio 0 RTP/AVP 96\r\n"
	       "a=rtpmap:96 AppleLossless\r\n"
	       "a=fmtp:96 352 0 16 40 10 14 2 255 0 0 44100\r\n";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	atv_buf_release(&b);
}

static void test_digest(void **state)
{
	struct atv_raop_digest d;
	struct atv_err err;
	char resp[33], line[512];

	(void)state;
	assert_int_equal(atv_raop_digest_response("Mufasa", "testrealm@host.com", "Circle Of Life",
						  "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET",
						  "/dir/index.html", resp, &err),
			 0);
	assert_string_equal(resp, "670fd8c2df070c60b045671b8b24ff02");

	assert_int_equal(atv_raop_digest_parse("Digest realm=\"raop\", nonce=\"abc123\"", &d, &err),
			 0);
	assert_string_equal(d.realm, "raop");
	assert_string_equal(d.nonce, "abc123");
	assert_int_equal(atv_raop_digest_parse("Digest nonce=\"n\",realm=\"r\"", &d, &err), 0);
	assert_string_equal(d.realm, "r");
	assert_string_equal(d.nonce, "n");
	assert_int_equal(atv_raop_digest_parse("Basic realm=\"r\"", &d, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_digest_parse("Digest realm=\"r\"", &d, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_digest_parse("Digest realm=r, nonce=\"n\"", &d, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_raop_digest_parse("Digest realm=\"r, nonce=\"n", &d, &err),
			 -ATV_E_PROTO);

	snprintf(d.realm, sizeof d.realm, "testrealm@host.com");
	snprintf(d.nonce, sizeof d.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	assert_int_equal(atv_raop_digest_header("Mufasa", &d, "Circle Of Life", "GET",
						"/dir/index.html", line, sizeof line, &err),
			 0);
	assert_string_equal(line, "Authorization: Digest username=\"Mufasa\", "
				  "realm=\"testrealm@host.com\", "
				  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
				  "uri=\"/dir/index.html\", "
				  "response=\"670fd8c2df070c60b045671b8b24ff02\"");
	assert_int_equal(atv_raop_digest_header("Mufasa", &d, "Circle Of Life", "GET",
						"/dir/index.html", line, 40, &err),
			 -ATV_E_USAGE);
}

static void test_transport(void **state)
{
	struct atv_raop_transport t;
	struct atv_err err;
	uint32_t lat;

	(void)state;
	assert_int_equal(atv_raop_transport_parse("RTP/AVP/UDP;unicast;mode=record;server_port=6000;"
						  "control_port=6001;timing_port=6002",
						  &t, &err),
			 0);
	assert_int_equal(t.server_port, 6000);
	assert_int_equal(t.control_port, 6001);
	assert_int_equal(t.timing_port, 6002);
	assert_int_equal(atv_raop_transport_parse("RTP/AVP/UDP;server_port=6000;control_port=1",
						  &t, &err),
			 0);
	assert_int_equal(t.timing_port, 0);
	assert_int_equal(atv_raop_transport_parse("RTP/AVP/UDP;server_port=6000", &t, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_raop_transport_parse("server_port=70000;control_port=1", &t, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_raop_transport_parse("server_port=0;control_port=1", &t, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_raop_transport_parse("server_port=12a;control_port=1", &t, &err),
			 -ATV_E_PROTO);

	assert_int_equal(atv_raop_latency_parse("11025", &lat, &err), 0);
	assert_int_equal(lat, 11025);
	assert_int_equal(atv_raop_latency_parse("-1", &lat, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_latency_parse("99999999999", &lat, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_latency_parse("12 ", &lat, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_latency_parse("", &lat, &err), -ATV_E_PROTO);
}

static void test_volume_meta(void **state)
{
	struct atv_buf b;
	struct atv_err err;
	uint8_t want[64];
	size_t n;

	(void)state;
	assert_true(atv_raop_volume_db(0) == -144.0);
	assert_true(atv_raop_volume_db(100) == 0.0);
	assert_true(atv_raop_volume_db(50) == -15.0);
	assert_true(atv_raop_volume_db(1) > -30.0);

	atv_buf_init(&b, 1024);
	assert_int_equal(atv_raop_dmap_meta("T", "A", NULL, &b, &err), 0);
	n = unhex("6d6c6974000000126d696e6d0000000154617361720000000141", want, sizeof want);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	atv_buf_release(&b);
}

/* Member key of dict d, of type t. */
static plist_t member(const struct atv_plist *pl, plist_t d, const char *key, plist_type t)
{
	plist_t n = pl->dict_get_item(d, key);

	assert_non_null(n);
	assert_int_equal(pl->get_node_type(n), t);
	return n;
}

static void test_ap2_bodies(void **state)
{
	const struct atv_plist *pl;
	struct atv_buf b;
	struct atv_err err;
	plist_t d, st, n;
	uint8_t shk[32], bo = 0;
	uint64_t v = 0, len = 0;
	const char *p;

	(void)state;
	if (atv_plist_load(&pl, &err) < 0)
		skip();
	atv_buf_init(&b, 64 * 1024);
	assert_int_equal(atv_raop_ap2_session_body(6002, "0F0E-UUID", "atv-tools", &b, &err), 0);
	assert_int_equal(atv_airplay_plist_dict(b.data, b.len, &d, &err), 0);
	pl->get_uint_val(member(pl, d, "timingPort", PLIST_UINT), &v);
	assert_int_equal(v, 6002);
	p = pl->get_string_ptr(member(pl, d, "timingProtocol", PLIST_STRING), &len);
	assert_string_equal(p, "NTP");
	p = pl->get_string_ptr(member(pl, d, "sessionUUID", PLIST_STRING), &len);
	assert_string_equal(p, "0F0E-UUID");
	pl->get_bool_val(member(pl, d, "isMultiSelectAirPlay", PLIST_BOOLEAN), &bo);
	assert_true(bo);
	pl->free(d);

	for (int i = 0; i < 32; i++)
		shk[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(atv_raop_ap2_stream_body(6001, shk, 77, &b, &err), 0);
	assert_int_equal(atv_airplay_plist_dict(b.data, b.len, &d, &err), 0);
	n = member(pl, d, "streams", PLIST_ARRAY);
	assert_int_equal(pl->array_get_size(n), 1);
	st = pl->array_get_item(n, 0);
	pl->get_uint_val(member(pl, st, "type", PLIST_UINT), &v);
	assert_int_equal(v, 96);
	pl->get_uint_val(member(pl, st, "ct", PLIST_UINT), &v);
	assert_int_equal(v, 2);
	pl->get_uint_val(member(pl, st, "audioFormat", PLIST_UINT), &v);
	assert_int_equal(v, 0x40000);
	pl->get_uint_val(member(pl, st, "spf", PLIST_UINT), &v);
	assert_int_equal(v, 352);
	pl->get_uint_val(member(pl, st, "controlPort", PLIST_UINT), &v);
	assert_int_equal(v, 6001);
	pl->get_uint_val(member(pl, st, "streamConnectionID", PLIST_UINT), &v);
	assert_int_equal(v, 77);
	p = pl->get_data_ptr(member(pl, st, "shk", PLIST_DATA), &len);
	assert_int_equal(len, 32);
	assert_memory_equal(p, shk, 32);
	pl->free(d);
	atv_buf_release(&b);
}

static void test_ap2_reply(void **state)
{
	uint8_t body[256];
	struct atv_err err;
	const struct atv_plist *pl;
	int dp, cp;
	size_t n;

	(void)state;
	if (atv_plist_load(&pl, &err) < 0)
		skip();
	/* Python's plistlib: {streams:[{type 96, dataPort 7100, controlPort 7101}]} */
	n = unhex("62706c6973743030d101025773747265616d73a103d30405060708095b636f6e74726f6c506f72"
		  "745864617461506f72745474797065111bbd111bbc1060080b13151c283136393c00000000000001"
		  "01000000000000000a0000000000000000000000000000003e",
		  body, sizeof body);
	assert_int_equal(atv_raop_ap2_stream_reply(body, n, &dp, &cp, &err), 0);
	assert_int_equal(dp, 7100);
	assert_int_equal(cp, 7101);
	/* the same without controlPort */
	n = unhex("62706c6973743030d101025773747265616d73a103d2040506075864617461506f72745474797065"
		  "111bbc1060080b13151a23282b000000000000010100000000000000080000000000000000000000"
		  "000000002d",
		  body, sizeof body);
	assert_int_equal(atv_raop_ap2_stream_reply(body, n, &dp, &cp, &err), -ATV_E_PROTO);
	assert_int_equal(atv_raop_ap2_stream_reply(body, 10, &dp, &cp, &err) < 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alac_full),  cmocka_unit_test(test_alac_partial),
	    cmocka_unit_test(test_rtp_packets), cmocka_unit_test(test_seal),
	    cmocka_unit_test(test_sdp),	       cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_transport),   cmocka_unit_test(test_volume_meta),
	    cmocka_unit_test(test_ap2_bodies),  cmocka_unit_test(test_ap2_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
