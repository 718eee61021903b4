/* test-tunnel - the MRP tunnel's steps that need no device (cmocka): the
 * data channel's salt, the RTSP header set byte for byte, the SETUP
 * bodies and replies, the answer to an event-channel request. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airplay_tunnel.h"
#include "buf.h"
#include "err.h"
#include "httpmsg.h"
#include "plist_dl.h"

static const struct atv_plist *pl;

static void test_data_salt(void **state)
{
	char s[ATV_AP_DATA_SALT_LEN];

	(void)state;
	atv_ap_tunnel_data_salt(0, s);
	assert_string_equal(s, "DataStream-Salt0");
	atv_ap_tunnel_data_salt(0x7fffffffffffffffULL, s);
	assert_string_equal(s, "DataStream-Salt9223372036854775807");
	/* iOS sends the seed as a signed integer; the salt is its unsigned form */
	atv_ap_tunnel_data_salt(0x8000000000000000ULL, s);
	assert_string_equal(s, "DataStream-Salt9223372036854775808");
	atv_ap_tunnel_data_salt(UINT64_MAX, s);
	assert_string_equal(s, "DataStream-Salt18446744073709551615");
}

static void test_rtsp_headers(void **state)
{
	static const char setup[] = "SETUP rtsp://10.0.0.2/42 RTSP/1.0\r\n"
				    "CSeq: 0\r\n"
				    "User-Agent: AirPlay/550.10\r\n"
				    "DACP-ID: ABCDEF0123456789\r\n"
				    "Active-Remote: 1234567890\r\n"
				    "Client-Instance: ABCDEF0123456789\r\n"
				    "Content-Type: application/x-apple-binary-plist\r\n"
				    "Content-Length: 2\r\n"
				    "\r\n"
				    "xy";
	static const char feedback[] = "POST /feedback RTSP/1.0\r\n"
				       "CSeq: 1\r\n"
				       "User-Agent: AirPlay/550.10\r\n"
				       "DACP-ID: ABCDEF0123456789\r\n"
				       "Active-Remote: 1234567890\r\n"
				       "Client-Instance: ABCDEF0123456789\r\n"
				       "Content-Length: 0\r\n"
				       "\r\n";
	static const char record[] = "RECORD rtsp://10.0.0.2/42 RTSP/1.0\r\n"
				     "CSeq: 2\r\n"
				     "User-Agent: AirPlay/550.10\r\n"
				     "DACP-ID: ABCDEF0123456789\r\n"
				     "Active-Remote: 1234567890\r\n"
				     "Client-Instance: ABCDEF0123456789\r\n"
				     "\r\n";
	struct atv_ap_rtsp r;
	struct atv_buf out;
	struct atv_err err;

	(void)state;
	atv_buf_init(&out, 4096);
	atv_ap_rtsp_init(&r, "10.0.0.2", 0xABCDEF0123456789ULL, 1234567890u, 42);
	assert_int_equal(atv_ap_rtsp_build(&r, "SETUP", NULL, "xy", 2, &out, &err), 0);
	assert_int_equal(out.len, strlen(setup));
	assert_memory_equal(out.data, setup, out.len);
	atv_buf_reset(&out);
	assert_int_equal(atv_ap_rtsp_build(&r, "POST", "/feedback", NULL, 0, &out, &err), 0);
	assert_int_equal(out.len, strlen(feedback));
	assert_memory_equal(out.data, feedback, out.len);
	atv_buf_reset(&out);
	assert_int_equal(atv_ap_rtsp_build(&r, "RECORD", NULL, NULL, 0, &out, &err), 0);
	assert_int_equal(out.len, strlen(record));
	assert_memory_equal(out.data, record, out.len);
	assert_int_equal(r.cseq, 3);
	/* DACP-ID unpadded, an IPv6 address in brackets */
	atv_ap_rtsp_init(&r, "fe80::1", 0xABULL, 7, 4294967295u);
	assert_string_equal(r.uri, "rtsp://[fe80::1]/4294967295");
	assert_string_equal(r.dacp_id, "DACP-ID: AB");
	assert_string_equal(r.instance, "Client-Instance: AB");
	assert_string_equal(r.active_remote, "Active-Remote: 7");
	assert_int_equal(r.cseq, 0);
	atv_buf_release(&out);
}

/* The string member key of dict d. */
static const char *str(plist_t d, const char *key)
{
	plist_t n = pl->dict_get_item(d, key);
	uint64_t len = 0;

	assert_non_null(n);
	assert_int_equal(pl->get_node_type(n), PLIST_STRING);
	return pl->get_string_ptr(n, &len);
}

static bool boolean(plist_t d, const char *key)
{
	plist_t n = pl->dict_get_item(d, key);
	uint8_t b = 0;

	assert_non_null(n);
	assert_int_equal(pl->get_node_type(n), PLIST_BOOLEAN);
	pl->get_bool_val(n, &b);
	return b;
}

static uint64_t uintval(plist_t d, const char *key)
{
	plist_t n = pl->dict_get_item(d, key);
	uint64_t v = 0;

	assert_non_null(n);
	assert_int_equal(pl->get_node_type(n), PLIST_UINT);
	pl->get_uint_val(n, &v);
	return v;
}

static void test_session_body(void **state)
{
	const struct atv_ap_tunnel_ident id = {"Kitchen Remote", "iPhone10,6", "FF:61:74:76:74:6F",
					       "02:61:74:76:74:6F", "iPhone OS", "14.7.1",
					       "18G82", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"};
	struct atv_buf out;
	struct atv_err err;
	plist_t d = NULL;

	(void)state;
	atv_buf_init(&out, 65536);
	assert_int_equal(atv_ap_tunnel_session_body(&id, &out, &err), 0);
	assert_memory_equal(out.data, "bplist00", 8);
	pl->from_memory((const char *)out.data, (uint32_t)out.len, &d);
	assert_non_null(d);
	assert_int_equal(pl->get_node_type(d), PLIST_DICT);
	assert_int_equal(pl->dict_get_size(d), 11);
	assert_true(boolean(d, "isRemoteControlOnly"));
	assert_string_equal(str(d, "osName"), "iPhone OS");
	assert_string_equal(str(d, "sourceVersion"), "550.10");
	assert_string_equal(str(d, "timingProtocol"), "None");
	assert_string_equal(str(d, "model"), "iPhone10,6");
	assert_string_equal(str(d, "deviceID"), "FF:61:74:76:74:6F");
	assert_string_equal(str(d, "osVersion"), "14.7.1");
	assert_string_equal(str(d, "osBuildVersion"), "18G82");
	assert_string_equal(str(d, "macAddress"), "02:61:74:76:74:6F");
	assert_string_equal(str(d, "sessionUUID"), "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0");
	assert_string_equal(str(d, "name"), "Kitchen Remote");
	pl->free(d);
	atv_buf_release(&out);
}

static void test_stream_body(void **state)
{
	static const uint64_t seeds[] = {0, 1, 0x7fffffffffffffffULL, 0x8000000000000005ULL,
					 UINT64_MAX};
	struct atv_buf out;
	struct atv_err err;

	(void)state;
	atv_buf_init(&out, 65536);
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		plist_t d = NULL, a, s;

		assert_int_equal(atv_ap_tunnel_stream_body(seeds[i], "C0C0C0C0-0000-4000-8000-000000000001",
							   "C1C1C1C1-0000-4000-8000-000000000002",
							   &out, &err),
				 0);
		pl->from_memory((const char *)out.data, (uint32_t)out.len, &d);
		assert_non_null(d);
		assert_int_equal(pl->dict_get_size(d), 1);
		a = pl->dict_get_item(d, "streams");
		assert_non_null(a);
		assert_int_equal(pl->get_node_type(a), PLIST_ARRAY);
		assert_int_equal(pl->array_get_size(a), 1);
		s = pl->array_get_item(a, 0);
		assert_int_equal(pl->dict_get_size(s), 7);
		assert_int_equal(uintval(s, "controlType"), 2);
		assert_int_equal(uintval(s, "type"), 130);
		assert_true(uintval(s, "seed") == seeds[i]);
		assert_true(boolean(s, "wantsDedicatedSocket"));
		assert_string_equal(str(s, "channelID"), "C0C0C0C0-0000-4000-8000-000000000001");
		assert_string_equal(str(s, "clientUUID"), "C1C1C1C1-0000-4000-8000-000000000002");
		assert_string_equal(str(s, "clientTypeUUID"), "1910A70F-DBC0-4242-AF95-115DB30604E1");
		pl->free(d);
	}
	atv_buf_release(&out);
}

/* A plist dict body built with libplist: keys and values as given. */
static void body_of(plist_t d, struct atv_buf *out)
{
	char *bin = NULL;
	uint32_t len = 0;
	struct atv_err err;

	pl->to_bin(d, &bin, &len);
	pl->free(d);
	atv_buf_reset(out);
	assert_int_equal(atv_buf_append(out, bin, len, &err), 0);
	pl->to_bin_free(bin);
}

static void test_setup_replies(void **state)
{
	struct atv_buf b;
	struct atv_err err;
	plist_t d, a, s;
	int port;
	int64_t sid;
	bool skip;

	(void)state;
	atv_buf_init(&b, 65536);
	d = pl->new_dict();
	pl->dict_set_item(d, "eventPort", pl->new_uint(50000));
	pl->dict_set_item(d, "skipRecord", pl->new_bool(1));
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_session_reply(b.data, b.len, &port, &skip, &err), 0);
	assert_int_equal(port, 50000);
	assert_true(skip);
	d = pl->new_dict();
	pl->dict_set_item(d, "eventPort", pl->new_uint(7001));
	pl->dict_set_item(d, "timingPort", pl->new_uint(7002));
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_session_reply(b.data, b.len, &port, &skip, &err), 0);
	assert_int_equal(port, 7001);
	assert_false(skip);
	/* no port, a port out of range, a string, not a plist */
	d = pl->new_dict();
	pl->dict_set_item(d, "eventPort", pl->new_uint(70000));
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_session_reply(b.data, b.len, &port, &skip, &err),
			 -ATV_E_PROTO);
	d = pl->new_dict();
	pl->dict_set_item(d, "eventPort", pl->new_string("7001"));
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_session_reply(b.data, b.len, &port, &skip, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_ap_tunnel_session_reply((const uint8_t *)"{}", 2, &port, &skip, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_ap_tunnel_session_reply(NULL, 0, &port, &skip, &err), -ATV_E_PROTO);

	/* iOS capture: {streams:[{type 130, streamID 1, dataPort}]} */
	d = pl->new_dict();
	a = pl->new_array();
	s = pl->new_dict();
	pl->dict_set_item(s, "type", pl->new_uint(130));
	pl->dict_set_item(s, "streamID", pl->new_uint(1));
	pl->dict_set_item(s, "dataPort", pl->new_uint(50001));
	pl->array_append_item(a, s);
	pl->dict_set_item(d, "streams", a);
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_stream_reply(b.data, b.len, &port, &sid, &err), 0);
	assert_int_equal(port, 50001);
	assert_int_equal(sid, 1);
	d = pl->new_dict();
	pl->dict_set_item(d, "streams", pl->new_array());
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_stream_reply(b.data, b.len, &port, &sid, &err),
			 -ATV_E_PROTO);
	d = pl->new_dict();
	pl->dict_set_item(d, "dataPort", pl->new_uint(50001));
	body_of(d, &b);
	assert_int_equal(atv_ap_tunnel_stream_reply(b.data, b.len, &port, &sid, &err),
			 -ATV_E_PROTO);
	atv_buf_release(&b);
}

static int parse_request(const char *s, struct atv_httpmsg *m)
{
	struct atv_err err;
	size_t used;

	atv_httpmsg_init(m, ATV_HTTPMSG_REQUEST, 4096);
	return atv_httpmsg_parse(m, (const uint8_t *)s, strlen(s), &used, &err);
}

static void test_event_reply(void **state)
{
	static const char want[] = "RTSP/1.0 200 OK\r\n"
				   "CSeq: 0\r\n"
				   "Audio-Latency: 0\r\n"
				   "Server: AirTunes/720.8\r\n"
				   "Content-Length: 0\r\n"
				   "\r\n";
	static const char want_bare[] = "RTSP/1.0 200 OK\r\n"
					"CSeq: 17\r\n"
					"Audio-Latency: 0\r\n"
					"Content-Length: 0\r\n"
					"\r\n";
	struct atv_httpmsg m;
	struct atv_buf out;
	struct atv_err err;

	(void)state;
	atv_buf_init(&out, 4096);
	assert_int_equal(parse_request("POST /command RTSP/1.0\r\nCSeq: 0\r\n"
				       "Server: AirTunes/720.8\r\nContent-Length: 4\r\n\r\nabcd",
				       &m),
			 1);
	assert_int_equal(atv_ap_tunnel_event_reply(&m, &out, &err), 0);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	atv_httpmsg_release(&m);
	atv_buf_reset(&out);
	assert_int_equal(parse_request("GET /info RTSP/1.0\r\nCSeq: 17\r\n\r\n", &m), 1);
	assert_int_equal(atv_ap_tunnel_event_reply(&m, &out, &err), 0);
	assert_int_equal(out.len, strlen(want_bare));
	assert_memory_equal(out.data, want_bare, out.len);
	atv_httpmsg_release(&m);
	/* RTSP without a CSeq cannot be answered */
	assert_int_equal(parse_request("POST /command RTSP/1.0\r\n\r\n", &m), 1);
	assert_int_equal(atv_ap_tunnel_event_reply(&m, &out, &err), -ATV_E_PROTO);
	atv_httpmsg_release(&m);
	atv_buf_release(&out);
}

static int setup(void **state)
{
	struct atv_err err;

	(void)state;
	return atv_plist_load(&pl, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_salt),	  cmocka_unit_test(test_rtsp_headers),
	    cmocka_unit_test(test_session_body),  cmocka_unit_test(test_stream_body),
	    cmocka_unit_test(test_setup_replies), cmocka_unit_test(test_event_reply),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
