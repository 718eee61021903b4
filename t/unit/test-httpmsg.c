/* test-httpmsg - lib/httpmsg.c and lib/bplist.c: requests built byte for
 * byte (HTTP and RTSP with CSeq, injection refused), replies and requests
 * parsed whole and one byte at a time, body framing (Content-Length, no
 * body by status, empty on keep-alive without a length, to the close
 * otherwise, chunked refused), every bound (line, header count, head,
 * body), malformed start and header lines; binary plists whose shared
 * references expand past the cap (the 14 x 12 bomb), cycles, and bad
 * trailers (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bplist.h"
#include "httpmsg.h"

/* Parse all of s into m (kind, body max); the result of the last call,
 * with *used_all telling whether every byte was taken. */
static int parse_str(struct atv_httpmsg *m, const char *s, size_t len, int bytewise,
		     struct atv_err *err)
{
	size_t off = 0, used = 0;
	int r = 0;

	while (off < len) {
		size_t n = bytewise ? 1 : len - off;

		r = atv_httpmsg_parse(m, (const uint8_t *)s + off, n, &used, err);
		off += used;
		if (r != 0)
			break;
		if (used == 0)
			break;
	}
	return r;
}

static void test_build(void **state)
{
	static const char *const hdr[] = {"Host: 10.0.0.5:7000", "X-Apple-HKP: 3", NULL};
	static const char *const bad[] = {"X-A: 1\r\nX-Injected: 1", NULL};
	static const char *const nocolon[] = {"NoColon", NULL};
	struct atv_httpmsg_req req = {.method = "POST", .uri = "/pair-verify", .headers = hdr,
				      .body = "M1", .body_len = 2};
	struct atv_err err = {0};
	struct atv_buf b;
	const char *want = "POST /pair-verify HTTP/1.1\r\nHost: 10.0.0.5:7000\r\nX-Apple-HKP: "
			   "3\r\nContent-Length: 2\r\n\r\nM1";

	(void)state;
	atv_buf_init(&b, 4096);
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	/* RTSP: the CSeq first; a GET without a body has no length */
	atv_buf_reset(&b);
	req = (struct atv_httpmsg_req){.method = "SETUP", .uri = "rtsp://10.0.0.5/1", .proto =
					   "RTSP/1.0", .cseq = 7};
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), 0);
	want = "SETUP rtsp://10.0.0.5/1 RTSP/1.0\r\nCSeq: 7\r\n\r\n";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	/* no injection through a header, the uri or the method */
	req = (struct atv_httpmsg_req){.method = "GET", .uri = "/", .headers = bad};
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), -ATV_E_USAGE);
	req.headers = nocolon;
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), -ATV_E_USAGE);
	req = (struct atv_httpmsg_req){.method = "GET", .uri = "/a HTTP/1.1\r\nX: 1"};
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), -ATV_E_USAGE);
	req = (struct atv_httpmsg_req){.method = "GET", .uri = "/", .proto = "HTTP/2"};
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), -ATV_E_USAGE);
	/* the buffer's cap */
	atv_buf_release(&b);
	atv_buf_init(&b, 8);
	req = (struct atv_httpmsg_req){.method = "GET", .uri = "/playback-info"};
	assert_int_equal(atv_httpmsg_build(&req, &b, &err), -ATV_E_LIMIT);
	atv_buf_release(&b);
}

static void test_reply(void **state)
{
	static const char msg[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				  "content-length:  5 \r\nServer: AirTunes\r\n\r\nhelloNEXT";
	struct atv_err err = {0};
	struct atv_httpmsg m;
	size_t used;

	(void)state;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
		assert_int_equal(parse_str(&m, msg, sizeof msg - 1, bytewise, &err), 1);
		assert_int_equal(m.status, 200);
		assert_string_equal(m.reason, "OK");
		assert_string_equal(m.proto, "HTTP/1.1");
		assert_int_equal(m.n_headers, 3);
		assert_string_equal(atv_httpmsg_header(&m, "CONTENT-LENGTH"), "5");
		assert_string_equal(atv_httpmsg_header(&m, "server"), "AirTunes");
		assert_null(atv_httpmsg_header(&m, "X-None"));
		assert_int_equal(m.body.len, 5);
		assert_memory_equal(m.body.data, "hello", 5);
		assert_true(m.keep_alive);
		atv_httpmsg_release(&m);
	}
	/* the bytes after the message are not taken */
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(atv_httpmsg_parse(&m, (const uint8_t *)msg, sizeof msg - 1, &used, &err),
			 1);
	assert_int_equal(used, sizeof msg - 1 - 4);
	/* and the next message parses after a reset */
	atv_httpmsg_reset(&m);
	assert_int_equal(parse_str(&m, "RTSP/1.0 204 No Content\r\nCSeq: 3\r\n\r\n", 36, 0, &err),
			 1);
	assert_int_equal(m.status, 204);
	assert_string_equal(atv_httpmsg_header(&m, "CSeq"), "3");
	atv_httpmsg_release(&m);
}

/* Issue 9 point 6: an empty reply without Content-Length on a keep-alive
 * connection is complete after its head; no waiting for a close. */
static void test_no_length(void **state)
{
	static const char *const complete[] = {
	    "HTTP/1.1 200 OK\r\nServer: AirTunes/366.0\r\n\r\n",
	    "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n",
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	    "HTTP/1.1 100 Continue\r\n\r\n",
	    /* LF line ends and empty lines before the start line */
	    "\r\n\nHTTP/1.1 200 OK\nServer: x\n\n",
	};
	struct atv_err err = {0};
	struct atv_httpmsg m;

	(void)state;
	for (size_t i = 0; i < sizeof complete / sizeof complete[0]; i++) {
		atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
		if (parse_str(&m, complete[i], strlen(complete[i]), 0, &err) != 1)
			fail_msg("not complete: %s (%s)", complete[i], err.msg);
		assert_int_equal(m.body.len, 0);
		atv_httpmsg_release(&m);
	}
	/* a reply to HEAD has no body whatever its length says */
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	m.head_request = true;
	assert_int_equal(parse_str(&m, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 38, 0, &err),
			 1);
	atv_httpmsg_release(&m);
	/* a connection that closes: the body runs to the close */
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(
	    parse_str(&m, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", 47, 0, &err), 0);
	assert_false(m.keep_alive);
	assert_int_equal(atv_httpmsg_finish(&m, &err), 1);
	assert_int_equal(m.body.len, 9);
	atv_httpmsg_release(&m);
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 4);
	assert_int_equal(parse_str(&m, "HTTP/1.0 200 OK\r\n\r\ntoo long", 27, 0, &err),
			 -ATV_E_LIMIT);
	atv_httpmsg_release(&m);
	/* a close in the middle, or before anything */
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(parse_str(&m, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 41, 0, &err),
			 0);
	assert_int_equal(atv_httpmsg_finish(&m, &err), -ATV_E_PROTO);
	atv_httpmsg_reset(&m);
	assert_int_equal(atv_httpmsg_finish(&m, &err), -ATV_E_UNREACHABLE);
	atv_httpmsg_release(&m);
}

/* Requests, as the device sends them on the event channel. */
static void test_request(void **state)
{
	static const char msg[] = "POST /command RTSP/1.0\r\nCSeq: 12\r\nContent-Length: 3\r\n"
				  "Content-Type: application/x-apple-binary-plist\r\n\r\nabc";
	struct atv_err err = {0};
	struct atv_httpmsg m;

	(void)state;
	atv_httpmsg_init(&m, ATV_HTTPMSG_REQUEST, 64);
	assert_int_equal(parse_str(&m, msg, sizeof msg - 1, 1, &err), 1);
	assert_string_equal(m.method, "POST");
	assert_string_equal(m.uri, "/command");
	assert_string_equal(m.proto, "RTSP/1.0");
	assert_string_equal(atv_httpmsg_header(&m, "cseq"), "12");
	assert_int_equal(m.body.len, 3);
	/* without a length a request has no body, also when the stream closes */
	atv_httpmsg_reset(&m);
	assert_int_equal(parse_str(&m, "GET /info HTTP/1.1\r\nConnection: close\r\n\r\n", 41, 0, &err),
			 1);
	assert_int_equal(m.body.len, 0);
	/* the reply to it */
	{
		static const char *const hdr[] = {"Server: AirTunes/366.0", NULL};
		const char *want = "RTSP/1.0 200 OK\r\nCSeq: 12\r\nServer: AirTunes/366.0\r\n"
				   "Content-Length: 0\r\n\r\n";
		struct atv_httpmsg again;
		struct atv_buf b;

		atv_httpmsg_reset(&m);
		assert_int_equal(parse_str(&m, msg, sizeof msg - 1, 0, &err), 1);
		atv_buf_init(&b, 1024);
		assert_int_equal(atv_httpmsg_build_reply(&m, 200, "OK", hdr, NULL, 0, &b, &err), 0);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		/* and it parses back */
		atv_httpmsg_init(&again, ATV_HTTPMSG_REPLY, 64);
		assert_int_equal(parse_str(&again, (const char *)b.data, b.len, 0, &err), 1);
		assert_int_equal(again.status, 200);
		atv_httpmsg_release(&again);
		assert_int_equal(atv_httpmsg_build_reply(&m, 99, "OK", NULL, NULL, 0, &b, &err),
				 -ATV_E_USAGE);
		assert_int_equal(atv_httpmsg_build_reply(&m, 200, "OK\r\nX: 1", NULL, NULL, 0, &b,
							 &err),
				 -ATV_E_USAGE);
		/* RTSP without a CSeq cannot be answered */
		atv_httpmsg_reset(&m);
		assert_int_equal(parse_str(&m, "OPTIONS * RTSP/1.0\r\n\r\n", 22, 0, &err), 1);
		assert_int_equal(atv_httpmsg_build_reply(&m, 200, "OK", NULL, NULL, 0, &b, &err),
				 -ATV_E_PROTO);
		atv_buf_release(&b);
	}
	atv_httpmsg_reset(&m);
	assert_int_equal(parse_str(&m, "GET /info\r\n\r\n", 13, 0, &err), -ATV_E_PROTO);
	atv_httpmsg_reset(&m);
	assert_int_equal(parse_str(&m, "GET /info HTTP/9.9\r\n\r\n", 22, 0, &err), -ATV_E_PROTO);
	atv_httpmsg_release(&m);
}

static void expect_error(const char *s, size_t len, int code, const char *msg)
{
	struct atv_err err = {0};
	struct atv_httpmsg m;

	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	if (parse_str(&m, s, len, 0, &err) != -code)
		fail_msg("%.60s: %s", s, err.msg);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, msg))
		fail_msg("%s, not %s", err.msg, msg);
	/* a failed parser stays failed */
	assert_int_equal(parse_str(&m, "HTTP/1.1 200 OK\r\n\r\n", 19, 0, &err), -ATV_E_USAGE);
	atv_httpmsg_release(&m);
}

#define E(s, code, msg) expect_error(s, sizeof s - 1, code, msg)

static void test_malformed(void **state)
{
	(void)state;
	E("HTTP/1.1 20 OK\r\n\r\n", ATV_E_PROTO, "status line");
	E("HTTP/1.1 099 OK\r\n\r\n", ATV_E_PROTO, "status line");
	E("HTTP/1.1 2000 OK\r\n\r\n", ATV_E_PROTO, "status line");
	E("ICY 200 OK\r\n\r\n", ATV_E_PROTO, "status line");
	E("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", ATV_E_PROTO, "header line");
	E("HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", ATV_E_PROTO, "header line");
	E("HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n", ATV_E_PROTO, "header line");
	E("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", ATV_E_PROTO, "header line");
	E("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", ATV_E_PROTO, "NUL");
	E("HTTP/1.1 200 OK\r\nX: a\rContent-Length: 3\r\n\r\nabc", ATV_E_PROTO, "bare CR");
	E("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ATV_E_PROTO, "Content-Length");
	E("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", ATV_E_PROTO, "Content-Length");
	E("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", ATV_E_PROTO, "Content-Length");
	E("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", ATV_E_PROTO,
	  "Content-Length");
	E("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ATV_E_PROTO,
	  "conflicting");
	E("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", ATV_E_LIMIT, "65 bytes (limit 64)");
	E("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ATV_E_PROTO,
	  "Transfer-Encoding");
}

/* Issue 9 point 15: a 10 MB header line is a limit, not out of memory,
 * and the parser never holds more than its bounds. */
static void test_bounds(void **state)
{
	size_t big = 10 * 1024 * 1024;
	char *s = malloc(big);
	struct atv_err err = {0};
	struct atv_httpmsg m;
	size_t n;

	(void)state;
	assert_non_null(s);
	n = (size_t)snprintf(s, big, "HTTP/1.1 200 OK\r\nX-Long: ");
	memset(s + n, 'a', big - n);
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
		assert_int_equal(parse_str(&m, s, bytewise ? 20000 : big, bytewise, &err),
				 -ATV_E_LIMIT);
		assert_string_equal(err.msg, "a header line longer than 8192 bytes");
		assert_true(m.head.len <= ATV_HTTPMSG_LINE_MAX + 64);
		atv_httpmsg_release(&m);
	}
	/* the start line too */
	memcpy(s, "HTTP/1.1 200 ", 13);
	memset(s + 13, 'a', 9000);
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(parse_str(&m, s, 9000, 0, &err), -ATV_E_LIMIT);
	atv_httpmsg_release(&m);
	/* many short lines: the header count */
	n = (size_t)snprintf(s, big, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < ATV_HTTPMSG_HEADERS_MAX + 1; i++)
		n += (size_t)snprintf(s + n, big - n, "X-%d: 1\r\n", i);
	n += (size_t)snprintf(s + n, big - n, "\r\n");
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(parse_str(&m, s, n, 0, &err), -ATV_E_LIMIT);
	assert_non_null(strstr(err.msg, "header lines"));
	atv_httpmsg_release(&m);
	/* long lines under the line cap: the head's */
	n = (size_t)snprintf(s, big, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 8; i++) {
		n += (size_t)snprintf(s + n, big - n, "X-%d: ", i);
		memset(s + n, 'b', 8000);
		n += 8000;
		n += (size_t)snprintf(s + n, big - n, "\r\n");
	}
	atv_httpmsg_init(&m, ATV_HTTPMSG_REPLY, 64);
	assert_int_equal(parse_str(&m, s, n, 0, &err), -ATV_E_LIMIT);
	assert_non_null(strstr(err.msg, "message head over"));
	atv_httpmsg_release(&m);
	free(s);
}

/* ---- binary plists ---- */

/* bplist00 of objs (each given as bytes) with 1-byte offsets and refs. */
static size_t bplist(uint8_t *out, const uint8_t *const *objs, const size_t *lens, size_t n,
		     uint8_t top)
{
	size_t len = 8, offs[64], table;

	memcpy(out, "bplist00", 8);
	for (size_t i = 0; i < n; i++) {
		offs[i] = len;
		memcpy(out + len, objs[i], lens[i]);
		len += lens[i];
	}
	table = len;
	for (size_t i = 0; i < n; i++)
		out[len++] = (uint8_t)offs[i];
	memset(out + len, 0, 32);
	out[len + 6] = 1;
	out[len + 7] = 1;
	out[len + 15] = (uint8_t)n;
	out[len + 23] = top;
	out[len + 31] = (uint8_t)table;
	return len + 32;
}

/* Arrays of fan references to the next one, levels deep, under a dict. */
static size_t bomb(uint8_t *out, unsigned fan, unsigned levels)
{
	static uint8_t arrays[16][16];
	static const uint8_t dict[] = {0xd1, 1, 2}, key[] = {0x58, 'd', 'u', 'r', 'a', 't', 'i',
							      'o', 'n'},
				    leaf[] = {0x10, 0};
	const uint8_t *objs[20] = {dict, key};
	size_t lens[20] = {sizeof dict, sizeof key}, n = 2;

	for (unsigned l = 0; l < levels; l++) {
		arrays[l][0] = (uint8_t)(0xa0 | fan);
		memset(arrays[l] + 1, (int)(n + 1), fan);
		objs[n] = arrays[l];
		lens[n++] = 1 + fan;
	}
	objs[n] = leaf;
	lens[n++] = sizeof leaf;
	return bplist(out, objs, lens, n, 0);
}

static void test_bplist(void **state)
{
	uint8_t b[1024];
	struct atv_err err = {0};
	size_t len;

	(void)state;
	/* the bomb: 14 references, 12 levels, ~5.7e13 nodes */
	len = bomb(b, 14, 12);
	assert_true(len < 464);
	assert_int_equal(atv_bplist_check(b, len, ATV_BPLIST_NODES_MAX, &err), -ATV_E_LIMIT);
	assert_non_null(strstr(err.msg, "expands to over"));
	/* shared references that stay small are fine: 2 x 2 x 2 + ... */
	len = bomb(b, 2, 3);
	assert_int_equal(atv_bplist_check(b, len, ATV_BPLIST_NODES_MAX, &err), 0);
	/* 1 dict + 1 key + 1 + 2 + 4 + 8 leaves = 17 nodes: the exact count */
	len = bomb(b, 2, 3);
	assert_int_equal(atv_bplist_check(b, len, 17, &err), 0);
	assert_int_equal(atv_bplist_check(b, len, 16, &err), -ATV_E_LIMIT);
	/* not a binary plist: left to libplist */
	assert_int_equal(atv_bplist_check((const uint8_t *)"<?xml", 5, 10, &err), 0);
	/* a cycle: an array holding itself */
	{
		static const uint8_t self[] = {0xa1, 0};
		const uint8_t *objs[] = {self};
		size_t lens[] = {sizeof self};

		len = bplist(b, objs, lens, 1, 0);
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		assert_non_null(strstr(err.msg, "cycle"));
	}
	/* references and offsets out of range, bad trailers */
	{
		static const uint8_t arr[] = {0xa1, 5}, many[] = {0xaf, 0x10, 200, 0};
		const uint8_t *objs[] = {arr};
		size_t lens[] = {sizeof arr};

		len = bplist(b, objs, lens, 1, 0);
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		objs[0] = many;
		lens[0] = sizeof many;
		len = bplist(b, objs, lens, 1, 0);
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		len = bplist(b, objs, lens, 1, 0);
		b[len - 32 + 6] = 3; /* offset size */
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		len = bplist(b, objs, lens, 1, 0);
		b[len - 32 + 23] = 1; /* top past the objects */
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		len = bplist(b, objs, lens, 1, 0);
		b[len - 32 + 15] = 200; /* more objects than the table holds */
		assert_int_equal(atv_bplist_check(b, len, 100, &err), -ATV_E_PROTO);
		assert_int_equal(atv_bplist_check(b, 20, 100, &err), -ATV_E_PROTO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build),      cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_no_length),  cmocka_unit_test(test_request),
	    cmocka_unit_test(test_malformed),  cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_bplist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
