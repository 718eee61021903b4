/* test-mdns.c - mDNS packets (lib/dnssd_packet.c) and the unicast scan (lib/dnssd_unicast.c).
 *
 * Answer packets are written by hand with the small writer below, so each
 * test states the exact bytes a device (or an attacker) sends. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "dnssd.h"
#include "err.h"
#include "dnssd_packet.h"
#include "dnssd_unicast.h"

/* --- a tiny packet writer ---------------------------------------------- */

struct pkt {
	uint8_t b[ATV_MDNS_MAX_PACKET + 64];
	size_t len;
};

static void w_bytes(struct pkt *w, const void *p, size_t n)
{
	assert_true(w->len + n <= sizeof w->b);
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void w_u8(struct pkt *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct pkt *w, uint16_t v)
{
	uint8_t b[2];

	atv_put_be16(b, v);
	w_bytes(w, b, 2);
}

static void w_u32(struct pkt *w, uint32_t v)
{
	uint8_t b[4];

	atv_put_be32(b, v);
	w_bytes(w, b, 4);
}

/* QR=1 AA=1: a normal mDNS response */
#define F_RESP 0x8400

static void w_hdr(struct pkt *w, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		  uint16_t ar)
{
	w->len = 0;
	w_u16(w, 0);
	w_u16(w, flags);
	w_u16(w, qd);
	w_u16(w, an);
	w_u16(w, ns);
	w_u16(w, ar);
}

static void w_label(struct pkt *w, const char *l, size_t n)
{
	w_u8(w, (uint8_t)n);
	w_bytes(w, l, n);
}

/* Write a name: an optional first label taken verbatim (it may hold dots),
 * then the labels of the dotted string rest (may be ""), then the root. */
static void w_name(struct pkt *w, const char *first, const char *rest)
{
	if (first)
		w_label(w, first, strlen(first));
	while (*rest) {
		const char *dot = strchr(rest, '.');
		size_t n = dot ? (size_t)(dot - rest) : strlen(rest);

		w_label(w, rest, n);
		rest += n + (dot ? 1 : 0);
	}
	w_u8(w, 0);
}

/* Record header; returns where rdlength sits, for w_rr_end. */
static size_t w_rr(struct pkt *w, const char *first, const char *rest, uint16_t type,
		   uint16_t cls)
{
	size_t at;

	w_name(w, first, rest);
	w_u16(w, type);
	w_u16(w, cls);
	w_u32(w, 120);
	at = w->len;
	w_u16(w, 0);
	return at;
}

static void w_rr_end(struct pkt *w, size_t at)
{
	atv_put_be16(w->b + at, (uint16_t)(w->len - at - 2));
}

static void w_ptr(struct pkt *w, const char *type_dot_local, const char *inst)
{
	size_t at = w_rr(w, NULL, type_dot_local, 12, 1);

	w_name(w, inst, type_dot_local);
	w_rr_end(w, at);
}

static void w_srv(struct pkt *w, const char *inst, const char *type_dot_local, uint16_t port,
		  const char *target)
{
	size_t at = w_rr(w, inst, type_dot_local, 33, 0x8001);

	w_u16(w, 0);
	w_u16(w, 0);
	w_u16(w, port);
	w_name(w, NULL, target);
	w_rr_end(w, at);
}

/* TXT from NULL-terminated strings */
static void w_txt(struct pkt *w, const char *inst, const char *type_dot_local,
		  const char *const *strs)
{
	size_t at = w_rr(w, inst, type_dot_local, 16, 0x8001);

	for (; *strs; strs++)
		w_label(w, *strs, strlen(*strs));
	w_rr_end(w, at);
}

static void w_a(struct pkt *w, const char *host, const char *addr)
{
	size_t at = w_rr(w, NULL, host, 1, 0x8001);
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	w_bytes(w, a, 4);
	w_rr_end(w, at);
}

static void w_aaaa(struct pkt *w, const char *host, const char *addr)
{
	size_t at = w_rr(w, NULL, host, 28, 0x8001);
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	w_bytes(w, a, 16);
	w_rr_end(w, at);
}

/* The answer of a typical Apple TV to an _airplay._tcp browse. */
static void w_living_room(struct pkt *w)
{
	static const char *const txt[] = {
		"deviceid=AA:BB:CC:DD:EE:FF", "model=AppleTV6,2", "pw", "", "=ignored",
		"deviceid=11:22:33:44:55:66", "features=0x5A7FDFD5,0x3C155FDE", NULL,
	};

	w_hdr(w, F_RESP, 0, 1, 0, 3);
	w_ptr(w, "_airplay._tcp.local", "Living Room");
	w_srv(w, "Living Room", "_airplay._tcp.local", 7000, "Living-Room.local");
	w_txt(w, "Living Room", "_airplay._tcp.local", txt);
	w_a(w, "Living-Room.local", "10.0.0.10");
}

static int parse(const struct pkt *w, const char *const *types, struct atv_dnssd_svc **s,
		 size_t *n, struct atv_err *err)
{
	return atv_mdns_parse_response(w->b, w->len, types, s, n, err);
}

static const struct atv_dnssd_svc *find_svc(const struct atv_dnssd_svc *s, size_t n,
					    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

static void expect_proto(const struct pkt *w)
{
	struct atv_dnssd_svc *s = (struct atv_dnssd_svc *)1;
	struct atv_err err = {0};
	size_t n = 99;

	assert_int_equal(parse(w, NULL, &s, &n, &err), -ATV_E_PROTO);
	assert_int_equal(err.code, ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "malformed mdns answer: "));
	assert_null(s);
	assert_int_equal(n, 0);
}

/* --- queries ------------------------------------------------------------ */

static void test_build_query(void **state)
{
	static const char *const types[] = {"_airplay._tcp", "_raop._tcp"};
	static const uint8_t expect[] = {
		0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,                  /* header */
		8, '_', 'a', 'i', 'r', 'p', 'l', 'a', 'y', 4, '_', 't', 'c', 'p', /* @12 */
		5, 'l', 'o', 'c', 'a', 'l', 0, 0, 12, 0x80, 1,             /* PTR, QU|IN */
		5, '_', 'r', 'a', 'o', 'p', 0xc0, 21, 0, 12, 0x80, 1,      /* -> _tcp.local */
	};
	uint8_t out[512];
	size_t len;
	struct atv_err err = {0};

	(void)state;
	assert_int_equal(atv_mdns_build_query(types, 2, true, 0x1234, out, sizeof out, &len, &err),
			 0);
	assert_int_equal(len, sizeof expect);
	assert_memory_equal(out, expect, sizeof expect);

	/* QM question: class IN without the unicast-response bit */
	assert_int_equal(atv_mdns_build_query(types, 1, false, 0, out, sizeof out, &len, &err), 0);
	assert_int_equal(len, 12 + 21 + 4);
	assert_int_equal(atv_get_be16(out + len - 2), 1);
	assert_int_equal(atv_get_be16(out + 4), 1);
}

static void test_build_query_all_types(void **state)
{
	uint8_t out[ATV_MDNS_MAX_PACKET];
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	size_t len, n = 0, nq;

	(void)state;
	while (atv_mdns_service_types[n])
		n++;
	assert_int_equal(n, 8);
	assert_int_equal(atv_mdns_build_query(atv_mdns_service_types, n, true, 7, out, sizeof out,
					      &len, &err),
			 0);
	assert_int_equal(atv_get_be16(out + 4), 8);
	assert_true(len < 512);
	/* a query is not an answer */
	assert_int_equal(atv_mdns_parse_response(out, len, NULL, &s, &nq, &err), -ATV_E_PROTO);
	assert_non_null(strstr(err.msg, "qr bit"));
}

static void test_build_query_errors(void **state)
{
	static const char *const bad[] = {"_airplay.._tcp"};
	static const char *const empty[] = {""};
	static const char *const ok[] = {"_airplay._tcp"};
	uint8_t out[64];
	size_t len;
	struct atv_err err = {0};

	(void)state;
	assert_int_equal(atv_mdns_build_query(bad, 1, true, 0, out, sizeof out, &len, &err),
			 -ATV_E_USAGE);
	assert_int_equal(atv_mdns_build_query(empty, 1, true, 0, out, sizeof out, &len, &err),
			 -ATV_E_USAGE);
	assert_int_equal(atv_mdns_build_query(ok, 1, true, 0, out, 11, &len, &err), -ATV_E_LIMIT);
	assert_int_equal(atv_mdns_build_query(ok, 1, true, 0, out, 12 + 21 + 3, &len, &err),
			 -ATV_E_LIMIT);
	assert_int_equal(atv_mdns_build_query(ok, 1, true, 0, out, 12 + 21 + 4, &len, &err), 0);
	assert_int_equal(atv_mdns_build_query(ok, 0, true, 0, out, sizeof out, &len, &err), 0);
	assert_int_equal(len, 12);
}

static void test_build_resolve_query(void **state)
{
	char type[] = "_raop._tcp", name[] = "A.b c", type_bad[] = "_raop", name_bad[] = "x";
	struct atv_dnssd_svc a = {.type = type, .name = name};
	struct atv_dnssd_svc bad = {.type = type_bad, .name = name_bad};
	const struct atv_dnssd_svc *ask[] = {&a, &bad};
	static const uint8_t expect[] = {
		0, 9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
		5, 'A', '.', 'b', ' ', 'c', 5, '_', 'r', 'a', 'o', 'p', 4, '_', 't', 'c', 'p',
		5, 'l', 'o', 'c', 'a', 'l', 0, 0, 33, 0x80, 1, /* SRV */
		0xc0, 12, 0, 16, 0x80, 1,                      /* TXT, same name */
	};
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	uint8_t out[256];
	size_t len, n;

	(void)state;
	assert_int_equal(atv_mdns_build_resolve_query(ask, 1, true, 9, out, sizeof out, &len,
						      &err),
			 0);
	assert_int_equal(len, sizeof expect);
	assert_memory_equal(out, expect, sizeof expect);
	assert_int_equal(atv_mdns_build_resolve_query(ask, 2, true, 9, out, sizeof out, &len,
						      &err),
			 -ATV_E_USAGE);
	assert_int_equal(atv_mdns_build_resolve_query(ask, 1, true, 9, out, sizeof expect - 1,
						      &len, &err),
			 -ATV_E_LIMIT);
	/* the question, turned into an answer, names the same instance */
	out[2] = 0x84;
	assert_int_equal(atv_mdns_parse_response(out, sizeof expect, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* --- answers ------------------------------------------------------------ */

static void test_parse_full(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n;

	(void)state;
	w_living_room(&w);
	assert_int_equal(parse(&w, atv_mdns_service_types, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].type, "_airplay._tcp");
	assert_string_equal(s[0].name, "Living Room");
	assert_string_equal(s[0].host, "Living-Room.local");
	assert_string_equal(s[0].address, "10.0.0.10");
	assert_int_equal(s[0].port, 7000);
	/* empty string and "=ignored" skipped; the repeated deviceid keeps the first */
	assert_int_equal(s[0].n_txt, 4);
	assert_string_equal(atv_dnssd_txt(&s[0], "deviceid"), "AA:BB:CC:DD:EE:FF");
	assert_string_equal(atv_dnssd_txt(&s[0], "DeviceID"), "AA:BB:CC:DD:EE:FF");
	assert_string_equal(atv_dnssd_txt(&s[0], "model"), "AppleTV6,2");
	assert_string_equal(atv_dnssd_txt(&s[0], "features"), "0x5A7FDFD5,0x3C155FDE");
	/* a key without '=' is a boolean attribute: present, empty value */
	assert_string_equal(atv_dnssd_txt(&s[0], "pw"), "");
	assert_null(atv_dnssd_txt(&s[0], "ignored"));
	atv_dnssd_svcs_free(s, n);
}

/* Names written with compression pointers, as real responders do. */
static void test_parse_compressed(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n, at, type_at, inst_at, host_at;

	(void)state;
	w_hdr(&w, F_RESP, 0, 1, 0, 2);
	type_at = w.len;
	at = w_rr(&w, NULL, "_mediaremotetv._tcp.local", 12, 1);
	inst_at = w.len;
	w_label(&w, "Bedroom", 7);
	w_u16(&w, (uint16_t)(0xc000 | type_at));
	w_rr_end(&w, at);
	/* SRV owner: pointer to the instance name inside the PTR rdata */
	w_u16(&w, (uint16_t)(0xc000 | inst_at));
	w_u16(&w, 33);
	w_u16(&w, 0x8001);
	w_u32(&w, 120);
	at = w.len;
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_u16(&w, 49152);
	host_at = w.len;
	w_label(&w, "bedroom", 7);
	w_u16(&w, (uint16_t)(0xc000 | (type_at + 1 + 14 + 1 + 4))); /* -> "local" */
	w_rr_end(&w, at);
	/* A owner: pointer to the SRV target */
	w_u16(&w, (uint16_t)(0xc000 | host_at));
	w_u16(&w, 1);
	w_u16(&w, 0x8001);
	w_u32(&w, 120);
	at = w.len;
	w_u16(&w, 0);
	w_bytes(&w, "\x0a\x00\x00\x07", 4);
	w_rr_end(&w, at);

	assert_int_equal(parse(&w, atv_mdns_service_types, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].type, "_mediaremotetv._tcp");
	assert_string_equal(s[0].name, "Bedroom");
	assert_string_equal(s[0].host, "bedroom.local");
	assert_string_equal(s[0].address, "10.0.0.7");
	assert_int_equal(s[0].port, 49152);
	assert_int_equal(s[0].n_txt, 0);
	atv_dnssd_svcs_free(s, n);
}

/* RFC 6763 4.3: instance labels are free text - dots, spaces, UTF-8 and
 * backslashes come back raw, not in DNS presentation form. */
static void test_parse_instance_names(void **state)
{
	static const char *const names[] = {
		"Kitchen.Mini", "Wohnzimmer \xc3\xbc", "a\\b", "\xe5\xae\xa2\xe5\x8e\x85 (2)",
		"semi;colon\"quote\"$@", "tab\there",
	};
	size_t nn = sizeof names / sizeof *names;
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n;

	(void)state;
	w_hdr(&w, F_RESP, 0, (uint16_t)(2 * nn), 0, 0);
	for (size_t i = 0; i < nn; i++) {
		w_ptr(&w, "_airplay._tcp.local", names[i]);
		w_srv(&w, names[i], "_airplay._tcp.local", (uint16_t)(7000 + i), "h.local");
	}
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, nn);
	for (size_t i = 0; i < nn; i++) {
		assert_string_equal(s[i].name, names[i]);
		assert_int_equal(s[i].port, 7000 + i);
	}
	atv_dnssd_svcs_free(s, n);
}

static void test_parse_aaaa(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n;

	(void)state;
	w_hdr(&w, F_RESP, 0, 1, 0, 5);
	w_ptr(&w, "_raop._tcp.local", "AABBCCDDEEFF@Den");
	w_srv(&w, "AABBCCDDEEFF@Den", "_raop._tcp.local", 7000, "Den.local");
	w_aaaa(&w, "Den.local", "fe80::1");   /* link-local: useless without scope */
	w_aaaa(&w, "Den.local", "2001:db8::7");
	w_aaaa(&w, "Other.local", "2001:db8::9");
	w_aaaa(&w, "Den.local", "2001:db8::8");
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].name, "AABBCCDDEEFF@Den");
	assert_string_equal(s[0].address, "2001:db8::7");
	atv_dnssd_svcs_free(s, n);

	/* an A record wins over AAAA; only link-local AAAA gives "" */
	w_hdr(&w, F_RESP, 0, 1, 0, 3);
	w_srv(&w, "Den", "_raop._tcp.local", 7000, "Den.local");
	w_aaaa(&w, "Den.local", "2001:db8::7");
	w_a(&w, "den.LOCAL", "192.168.1.2");
	w_a(&w, "Den.local", "192.168.1.3");
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].address, "192.168.1.2");
	atv_dnssd_svcs_free(s, n);

	w_hdr(&w, F_RESP, 0, 1, 0, 1);
	w_srv(&w, "Den", "_raop._tcp.local", 7000, "Den.local");
	w_aaaa(&w, "Den.local", "fe80::1");
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].address, "");
	atv_dnssd_svcs_free(s, n);
}

/* Some responders answer the instance directly: SRV/TXT, no PTR. */
static void test_parse_no_ptr(void **state)
{
	static const char *const txt[] = {"UniqueIdentifier=01234567-89AB", "Name=Office", NULL};
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n;

	(void)state;
	w_hdr(&w, F_RESP, 0, 2, 0, 0);
	w_txt(&w, "Office", "_mediaremotetv._tcp.local", txt);
	w_srv(&w, "Office", "_mediaremotetv._tcp.local", 49153, "Office.local");
	assert_int_equal(parse(&w, atv_mdns_service_types, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].name, "Office");
	assert_string_equal(s[0].type, "_mediaremotetv._tcp");
	assert_string_equal(s[0].host, "Office.local");
	assert_int_equal(s[0].port, 49153);
	assert_string_equal(s[0].address, "");
	assert_string_equal(atv_dnssd_txt(&s[0], "name"), "Office");
	atv_dnssd_svcs_free(s, n);

	/* PTR only: the instance without host or port */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	w_ptr(&w, "_companion-link._tcp.local", "Office");
	assert_int_equal(parse(&w, atv_mdns_service_types, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_null(s[0].host);
	assert_int_equal(s[0].port, 0);
	atv_dnssd_svcs_free(s, n);
}

static void test_parse_types_filter(void **state)
{
	static const char *const only_raop[] = {"_raop._tcp", NULL};
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n, at;

	(void)state;
	w_hdr(&w, F_RESP, 0, 7, 0, 0);
	w_ptr(&w, "_AirPlay._TCP.local", "A");
	w_ptr(&w, "_printer._tcp.local", "P");
	w_ptr(&w, "_raop._tcp.local", "R");
	w_ptr(&w, "_raop._tcp.local", "R"); /* duplicate: one instance */
	w_ptr(&w, "_airplay._tcp.local", "a"); /* same instance, other case */
	/* service enumeration (RFC 6763 9) is not an instance */
	w_ptr(&w, "_services._dns-sd._udp.local", "_airplay._tcp.local"); /* dots in label */
	at = w_rr(&w, NULL, "_services._dns-sd._udp.local", 12, 1);
	w_name(&w, NULL, "_raop._tcp.local");
	w_rr_end(&w, at);
	assert_int_equal(parse(&w, atv_mdns_service_types, &s, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].type, "_airplay._tcp");
	assert_string_equal(s[0].name, "A");
	assert_string_equal(s[1].type, "_raop._tcp");
	atv_dnssd_svcs_free(s, n);

	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_non_null(find_svc(s, n, "P"));
	atv_dnssd_svcs_free(s, n);

	assert_int_equal(parse(&w, only_raop, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].name, "R");
	atv_dnssd_svcs_free(s, n);
}

static void test_parse_empty_and_ignored(void **state)
{
	struct atv_dnssd_svc *s = (struct atv_dnssd_svc *)1;
	struct atv_err err = {0};
	struct pkt w;
	size_t n = 5;

	(void)state;
	w_hdr(&w, F_RESP, 0, 0, 0, 0);
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_null(s);
	assert_int_equal(n, 0);

	/* RFC 6762 18.11: a non-zero rcode is silently ignored */
	w_living_room(&w);
	w.b[3] |= 3;
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 0);

	/* a legacy unicast answer repeats the question (RFC 6762 6.7) */
	w_hdr(&w, F_RESP, 1, 1, 0, 0);
	w_name(&w, NULL, "_airplay._tcp.local");
	w_u16(&w, 12);
	w_u16(&w, 1);
	w_ptr(&w, "_airplay._tcp.local", "Q");
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	atv_dnssd_svcs_free(s, n);

	/* other classes and types are skipped */
	w_hdr(&w, F_RESP, 0, 2, 0, 0);
	size_t at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 3); /* CHAOS */
	w_name(&w, "X", "_airplay._tcp.local");
	w_rr_end(&w, at);
	at = w_rr(&w, "X", "_airplay._tcp.local", 47, 0x8001); /* NSEC, junk rdata */
	w_bytes(&w, "\xff\xff\xff", 3);
	w_rr_end(&w, at);
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* NUL bytes cannot enter C strings: such instances and TXT strings are skipped. */
static void test_parse_nul_bytes(void **state)
{
	static const char *const txt[] = {"ok=1", NULL};
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n, at;

	(void)state;
	w_hdr(&w, F_RESP, 0, 3, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	w_label(&w, "Bad\0Name", 8);
	w_name(&w, NULL, "_airplay._tcp.local");
	w_rr_end(&w, at);
	w_txt(&w, "Good", "_airplay._tcp.local", txt);
	at = w_rr(&w, "Good", "_airplay._tcp.local", 16, 1);
	w_label(&w, "nul=a\0b", 7);
	w_label(&w, "k\0ey=v", 6);
	w_label(&w, "second=2", 8);
	w_rr_end(&w, at);
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].name, "Good");
	/* only the first TXT record of an instance counts */
	assert_int_equal(s[0].n_txt, 1);
	assert_string_equal(atv_dnssd_txt(&s[0], "ok"), "1");
	atv_dnssd_svcs_free(s, n);

	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, "Good", "_airplay._tcp.local", 16, 1);
	w_label(&w, "nul=a\0b", 7);
	w_label(&w, "k\0ey=v", 6);
	w_label(&w, "second=2", 8);
	w_label(&w, "x=\xff\xfe", 4); /* bytes are kept as they are */
	w_rr_end(&w, at);
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].n_txt, 2);
	assert_string_equal(atv_dnssd_txt(&s[0], "second"), "2");
	assert_string_equal(atv_dnssd_txt(&s[0], "x"), "\xff\xfe");
	atv_dnssd_svcs_free(s, n);
}

static void test_parse_limits(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n, at;
	char name[16];

	(void)state;
	w_hdr(&w, F_RESP, 0, 100, 0, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "TV %d", i);
		w_ptr(&w, "_airplay._tcp.local", name);
	}
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, ATV_DNSSD_MAX_SERVICES);
	assert_string_equal(s[0].name, "TV 0");
	assert_string_equal(s[n - 1].name, "TV 63");
	atv_dnssd_svcs_free(s, n);

	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, "T", "_airplay._tcp.local", 16, 1);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "k%d=%d", i, i);
		w_label(&w, name, strlen(name));
	}
	w_rr_end(&w, at);
	assert_int_equal(parse(&w, NULL, &s, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].n_txt, ATV_DNSSD_MAX_TXT);
	assert_string_equal(atv_dnssd_txt(&s[0], "k63"), "63");
	assert_null(atv_dnssd_txt(&s[0], "k64"));
	atv_dnssd_svcs_free(s, n);
}

/* --- hostile answers ---------------------------------------------------- */

static void test_hostile_truncated(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w;
	size_t n, full;
	int r;

	(void)state;
	w_living_room(&w);
	full = w.len;
	for (size_t len = 0; len < full; len++) {
		/* exact-size heap copy so ASan sees any read past the end */
		uint8_t *p = malloc(len ? len : 1);

		memcpy(p, w.b, len);
		r = atv_mdns_parse_response(p, len, NULL, &s, &n, &err);
		assert_true(r == 0 || r == -ATV_E_PROTO);
		/* the header's counts promise more records than the bytes hold */
		assert_int_equal(r, -ATV_E_PROTO);
		free(p);
	}
	r = parse(&w, NULL, &s, &n, &err);
	assert_int_equal(r, 0);
	atv_dnssd_svcs_free(s, n);
}

static void test_hostile_bytes_everywhere(void **state)
{
	struct atv_dnssd_svc *s;
	struct atv_err err = {0};
	struct pkt w, v;
	size_t n;
	int r;

	(void)state;
	/* every byte of a valid packet set to each interesting value */
	static const uint8_t vals[] = {0x00, 0x01, 0x3f, 0x40, 0x7f, 0xc0, 0xff};
	w_living_room(&w);
	for (size_t i = 0; i < w.len; i++) {
		for (size_t k = 0; k < sizeof vals; k++) {
			v = w;
			v.b[i] = vals[k];
			r = parse(&v, NULL, &s, &n, &err);
			assert_true(r == 0 || r == -ATV_E_PROTO);
			if (r == 0)
				atv_dnssd_svcs_free(s, n);
		}
	}
}

static void test_hostile_compression_loop(void **state)
{
	struct pkt w;
	size_t at, self;

	(void)state;
	/* the PTR target points at itself */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	self = w.len;
	w_u16(&w, (uint16_t)(0xc000 | self));
	w_rr_end(&w, at);
	expect_proto(&w);

	/* two labels pointing at each other, reached through an owner name */
	w_hdr(&w, F_RESP, 0, 2, 0, 0);
	at = w_rr(&w, NULL, "", 999, 1); /* unknown type: its rdata holds the loop */
	self = w.len;
	w_label(&w, "a", 1);
	w_u16(&w, (uint16_t)(0xc000 | (self + 4)));
	w_label(&w, "b", 1);
	w_u16(&w, (uint16_t)(0xc000 | self));
	w_rr_end(&w, at);
	w_u16(&w, (uint16_t)(0xc000 | self));
	w_u16(&w, 12);
	w_u16(&w, 1);
	w_u32(&w, 0);
	w_u16(&w, 1);
	w_u8(&w, 0);
	expect_proto(&w);
}

static void test_hostile_pointer_past_end(void **state)
{
	struct pkt w;
	size_t at;

	(void)state;
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	w_label(&w, "X", 1);
	w_u16(&w, 0xc000 | 0x3fff);
	w_rr_end(&w, at);
	expect_proto(&w);

	/* SRV target pointing past the end */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, "X", "_airplay._tcp.local", 33, 1);
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_u16(&w, 7000);
	w_u16(&w, (uint16_t)(0xc000 | (w.len + 10)));
	w_rr_end(&w, at);
	expect_proto(&w);
}

static void test_hostile_lying_rdlength(void **state)
{
	struct pkt w;
	size_t at;

	(void)state;
	/* rdlength beyond the packet */
	w_living_room(&w);
	atv_put_be16(w.b + w.len - 6, 200);
	expect_proto(&w);

	/* PTR rdlength shorter than the name: the name runs into the next record */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	w_name(&w, "Lie", "_airplay._tcp.local");
	atv_put_be16(w.b + at, 3);
	expect_proto(&w);

	/* SRV shorter than priority+weight+port+root */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, "X", "_airplay._tcp.local", 33, 1);
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_u16(&w, 7000);
	w_rr_end(&w, at);
	expect_proto(&w);

	/* SRV whose target runs past its rdlength */
	w_hdr(&w, F_RESP, 0, 1, 0, 1);
	at = w_rr(&w, "X", "_airplay._tcp.local", 33, 1);
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_u16(&w, 7000);
	w_name(&w, NULL, "host.local");
	atv_put_be16(w.b + at, 8);
	expect_proto(&w);

	/* TXT string longer than its record */
	w_hdr(&w, F_RESP, 0, 2, 0, 0);
	at = w_rr(&w, "X", "_airplay._tcp.local", 16, 1);
	w_u8(&w, 10);
	w_bytes(&w, "abc", 3);
	w_rr_end(&w, at);
	w_ptr(&w, "_airplay._tcp.local", "Y");
	expect_proto(&w);

	/* A record of 3 bytes, AAAA of 4 */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "h.local", 1, 1);
	w_bytes(&w, "\x0a\x00\x00", 3);
	w_rr_end(&w, at);
	expect_proto(&w);
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "h.local", 28, 1);
	w_bytes(&w, "\x0a\x00\x00\x01", 4);
	w_rr_end(&w, at);
	expect_proto(&w);
}

static void test_hostile_counts(void **state)
{
	struct pkt w;

	(void)state;
	w_living_room(&w);
	atv_put_be16(w.b + 6, 65535);
	expect_proto(&w);
	w_living_room(&w);
	atv_put_be16(w.b + 4, 65535);
	expect_proto(&w);
	w_living_room(&w);
	atv_put_be16(w.b + 10, 65535);
	expect_proto(&w);
	/* fewer records announced than sent: trailing junk */
	w_living_room(&w);
	atv_put_be16(w.b + 10, 2);
	expect_proto(&w);
	/* shorter than a header */
	w.len = 11;
	expect_proto(&w);
	/* over the mDNS packet size */
	w_living_room(&w);
	w.len = ATV_MDNS_MAX_PACKET + 1;
	expect_proto(&w);
}

static void test_hostile_huge_label(void **state)
{
	struct pkt w;
	char big[64];
	size_t at;

	(void)state;
	memset(big, 'x', sizeof big);
	/* label length 64 (0x40: the reserved extended label type) */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	w_label(&w, big, 64);
	w_name(&w, NULL, "_airplay._tcp.local");
	w_rr_end(&w, at);
	expect_proto(&w);

	/* a name over 255 bytes, in the owner and in rdata */
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	for (int i = 0; i < 5; i++)
		w_label(&w, big, 63);
	w_name(&w, NULL, "local");
	w_u16(&w, 1);
	w_u16(&w, 1);
	w_u32(&w, 0);
	w_u16(&w, 4);
	w_u32(&w, 0x0a000001);
	expect_proto(&w);

	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	at = w_rr(&w, NULL, "_airplay._tcp.local", 12, 1);
	for (int i = 0; i < 5; i++)
		w_label(&w, big, 63);
	w_name(&w, NULL, "local");
	w_rr_end(&w, at);
	expect_proto(&w);
}

/* --- HOST[:PORT] ------------------------------------------------------- */

static void test_hostport(void **state)
{
	struct atv_hostport hp;
	struct atv_err err = {0};
	char big[300];

	(void)state;
	assert_int_equal(atv_hostport_parse("10.0.0.1", &hp, &err), 0);
	assert_string_equal(hp.host, "10.0.0.1");
	assert_int_equal(hp.port, 5353);
	assert_int_equal(atv_hostport_parse("tv.local:5354", &hp, &err), 0);
	assert_string_equal(hp.host, "tv.local");
	assert_int_equal(hp.port, 5354);
	assert_int_equal(atv_hostport_parse("[fe80::1%eth0]:1", &hp, &err), 0);
	assert_string_equal(hp.host, "fe80::1%eth0");
	assert_int_equal(hp.port, 1);
	assert_int_equal(atv_hostport_parse("[::1]", &hp, &err), 0);
	assert_string_equal(hp.host, "::1");
	assert_int_equal(hp.port, 5353);
	assert_int_equal(atv_hostport_parse("2001:db8::1", &hp, &err), 0);
	assert_string_equal(hp.host, "2001:db8::1");
	assert_int_equal(hp.port, 5353);
	assert_int_equal(atv_hostport_parse("h:65535", &hp, &err), 0);
	assert_int_equal(hp.port, 65535);

	static const char *const bad[] = {
		"", "h:", "h:0", "h:65536", "h:99999999999999999999", "h:-1", "h:+5", "h: 5",
		"h:5x", ":5353", "[::1", "[]:5", "[::1]x", "[::1]:", "[::1]:0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		atv_err_clear(&err);
		assert_int_equal(atv_hostport_parse(bad[i], &hp, &err), -ATV_E_USAGE);
		assert_int_equal(err.code, ATV_E_USAGE);
	}
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(atv_hostport_parse(big, &hp, &err), -ATV_E_USAGE);
	assert_int_equal(atv_hostport_parse(NULL, &hp, &err), -ATV_E_USAGE);
}

/* --- the unicast scan against a forked responder on loopback ----------- */

struct seen {
	int calls;
	char address[INET6_ADDRSTRLEN];
	char name[64];
	char svc_address[INET6_ADDRSTRLEN];
	uint16_t port;
	int ret;
};

static int on_answer(void *ctx, const char *address, const struct atv_dnssd_svc *svcs, size_t n)
{
	struct seen *seen = ctx;

	seen->calls++;
	snprintf(seen->address, sizeof seen->address, "%s", address);
	if (n) {
		snprintf(seen->name, sizeof seen->name, "%s", svcs[0].name);
		snprintf(seen->svc_address, sizeof seen->svc_address, "%s", svcs[0].address);
		seen->port = svcs[0].port;
	}
	return seen->ret;
}

/* Bind a UDP socket on 127.0.0.1, ephemeral port. */
static int responder_socket(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* One query the fake host expects and what it answers (NULL: nothing). */
struct exchange {
	uint16_t qdcount;    /* questions expected */
	uint16_t last_qtype; /* type of the last question */
	const struct pkt *answer;
};

/* Child: for each exchange, wait for a query, check it, answer it echoing
 * the query ID (RFC 6762 6.7).  Exit 0 if every query was as expected and
 * every question had the QU bit. */
static pid_t responder(int fd, const struct exchange *ex, int n)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (int i = 0; i < n; i++) {
		uint8_t q[ATV_MDNS_MAX_PACKET], a[sizeof ex[0].answer->b];
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t len;

		if (poll(&p, 1, 10000) != 1)
			_exit(3);
		len = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		if (len < 12 || (q[2] & 0x80) || atv_get_be16(q + len - 2) != 0x8001)
			_exit(2);
		if (atv_get_be16(q + 4) != ex[i].qdcount ||
		    atv_get_be16(q + len - 4) != ex[i].last_qtype)
			_exit(10 + i);
		if (!ex[i].answer)
			continue;
		memcpy(a, ex[i].answer->b, ex[i].answer->len);
		memcpy(a, q, 2);
		sendto(fd, a, ex[i].answer->len, 0, (struct sockaddr *)&from, fl);
	}
	_exit(0);
}

static void wait_child(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static const struct exchange PTR_QUERY = {8, 12, NULL};

static void test_unicast_answer(void **state)
{
	static const char *const txt[] = {"Name=Living Room", NULL};
	struct exchange ex[1] = {PTR_QUERY};
	struct atv_hostport hp;
	struct seen seen = {0};
	struct atv_err err = {0};
	struct pkt w;
	char spec[64];
	uint16_t port;
	int fd = responder_socket(&port);
	pid_t pid;

	(void)state;
	/* no A record: the address comes from the host */
	w_hdr(&w, F_RESP, 0, 1, 0, 2);
	w_ptr(&w, "_mediaremotetv._tcp.local", "Living Room");
	w_srv(&w, "Living Room", "_mediaremotetv._tcp.local", 49152, "Living-Room.local");
	w_txt(&w, "Living Room", "_mediaremotetv._tcp.local", txt);
	ex[0].answer = &w;
	pid = responder(fd, ex, 1);
	snprintf(spec, sizeof spec, "127.0.0.1:%u", (unsigned)port);
	assert_int_equal(atv_hostport_parse(spec, &hp, &err), 0);
	assert_int_equal(atv_unicast_scan(&hp, 1, 5000, on_answer, &seen, &err), 0);
	wait_child(pid);
	close(fd);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.address, "127.0.0.1");
	assert_string_equal(seen.name, "Living Room");
	assert_string_equal(seen.svc_address, "127.0.0.1");
	assert_int_equal(seen.port, 49152);
}

/* The responder ignores the first query: the scan must resend (after 1 s). */
static void test_unicast_resend(void **state)
{
	struct exchange ex[2] = {PTR_QUERY, PTR_QUERY};
	struct atv_hostport hp;
	struct seen seen = {0};
	struct atv_err err = {0};
	struct pkt w;
	uint16_t port;
	int fd = responder_socket(&port);
	pid_t pid;

	(void)state;
	w_living_room(&w);
	ex[1].answer = &w;
	pid = responder(fd, ex, 2);
	snprintf(hp.host, sizeof hp.host, "127.0.0.1");
	hp.port = port;
	assert_int_equal(atv_unicast_scan(&hp, 1, 5000, on_answer, &seen, &err), 0);
	wait_child(pid);
	close(fd);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.svc_address, "10.0.0.10");
}

static void test_unicast_hostile(void **state)
{
	struct exchange ex[1] = {PTR_QUERY};
	struct atv_hostport hp[2];
	struct seen seen = {0};
	struct atv_err err = {0};
	struct pkt w;
	uint16_t port, dead;
	int fd = responder_socket(&port), fd2 = responder_socket(&dead);
	pid_t pid;

	(void)state;
	/* nobody listens on the second host's port: ICMP unreachable, no answer */
	close(fd2);
	w_living_room(&w);
	atv_put_be16(w.b + 6, 65535);
	ex[0].answer = &w;
	pid = responder(fd, ex, 1);
	snprintf(hp[0].host, sizeof hp[0].host, "127.0.0.1");
	hp[0].port = port;
	snprintf(hp[1].host, sizeof hp[1].host, "localhost");
	hp[1].port = dead;
	assert_int_equal(atv_unicast_scan(hp, 2, 1500, on_answer, &seen, &err), -ATV_E_PROTO);
	wait_child(pid);
	close(fd);
	assert_int_equal(seen.calls, 0);
	assert_int_equal(err.code, ATV_E_PROTO);
	assert_string_equal(err.msg, "127.0.0.1: malformed mdns answer: record counts do not "
				     "match the packet length");
}

static void test_unicast_silence_and_stop(void **state)
{
	struct exchange ex[1] = {PTR_QUERY};
	struct atv_hostport hp[2];
	struct seen seen = {.ret = 1};
	struct atv_err err = {0};
	struct pkt w;
	uint16_t port, dead;
	int fd = responder_socket(&port), fd2 = responder_socket(&dead);
	pid_t pid;

	(void)state;
	/* a silent host is not an error */
	snprintf(hp[0].host, sizeof hp[0].host, "127.0.0.1");
	hp[0].port = dead;
	assert_int_equal(atv_unicast_scan(hp, 1, 300, on_answer, &seen, &err), 0);
	assert_int_equal(seen.calls, 0);

	/* cb returning nonzero ends the scan before the silent host times out */
	w_living_room(&w);
	ex[0].answer = &w;
	pid = responder(fd, ex, 1);
	hp[1] = hp[0];
	hp[0].port = port;
	assert_int_equal(atv_unicast_scan(hp, 2, 60000, on_answer, &seen, &err), 0);
	wait_child(pid);
	close(fd);
	close(fd2);
	assert_int_equal(seen.calls, 1);
}

struct seen_all {
	int calls;
	struct atv_dnssd_svc svcs[4];
	size_t n;
};

static int keep_answer(void *ctx, const char *address, const struct atv_dnssd_svc *svcs, size_t n)
{
	struct seen_all *seen = ctx;

	(void)address;
	seen->calls++;
	for (size_t i = 0; i < n && seen->n < 4; i++) {
		struct atv_dnssd_svc *c = &seen->svcs[seen->n++];

		c->type = strdup(svcs[i].type);
		c->name = strdup(svcs[i].name);
		c->host = svcs[i].host ? strdup(svcs[i].host) : NULL;
		c->port = svcs[i].port;
		memcpy(c->address, svcs[i].address, sizeof c->address);
		for (size_t k = 0; k < svcs[i].n_txt; k++)
			atv_dnssd_add_txt(c, svcs[i].txt[k].key, svcs[i].txt[k].value,
					  svcs[i].txt[k].value_len);
	}
	return 0;
}

/* An answer naming an instance by PTR alone makes the scan ask SRV+TXT of
 * that instance, and merge the reply in. */
static void test_unicast_resolve(void **state)
{
	static const char *const air_txt[] = {"deviceid=AA:BB", NULL};
	static const char *const mrp_txt[] = {"UniqueIdentifier=0123", NULL};
	struct exchange ex[2] = {PTR_QUERY, {2, 16, NULL}};
	struct seen_all seen = {0};
	struct atv_hostport hp = {.host = "127.0.0.1"};
	struct atv_err err = {0};
	struct pkt w1, w2;
	uint16_t port;
	int fd = responder_socket(&port);
	const struct atv_dnssd_svc *mrp, *air;
	pid_t pid;

	(void)state;
	w_hdr(&w1, F_RESP, 0, 2, 0, 3);
	w_ptr(&w1, "_mediaremotetv._tcp.local", "Den");
	w_ptr(&w1, "_airplay._tcp.local", "Den");
	w_srv(&w1, "Den", "_airplay._tcp.local", 7000, "Den.local");
	w_txt(&w1, "Den", "_airplay._tcp.local", air_txt);
	w_a(&w1, "Den.local", "10.1.2.3");
	w_hdr(&w2, F_RESP, 0, 2, 0, 1);
	w_srv(&w2, "den", "_mediaremotetv._tcp.local", 49152, "Den.local");
	w_txt(&w2, "Den", "_mediaremotetv._tcp.local", mrp_txt);
	w_a(&w2, "Den.local", "10.1.2.3");
	ex[0].answer = &w1;
	ex[1].answer = &w2;
	pid = responder(fd, ex, 2);
	hp.port = port;
	assert_int_equal(atv_unicast_scan(&hp, 1, 5000, keep_answer, &seen, &err), 0);
	wait_child(pid);
	close(fd);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.n, 2);
	mrp = &seen.svcs[0];
	air = &seen.svcs[1];
	assert_string_equal(mrp->type, "_mediaremotetv._tcp");
	assert_int_equal(mrp->port, 49152);
	assert_string_equal(mrp->host, "Den.local");
	assert_string_equal(mrp->address, "10.1.2.3");
	assert_string_equal(atv_dnssd_txt(mrp, "UniqueIdentifier"), "0123");
	assert_string_equal(air->type, "_airplay._tcp");
	assert_int_equal(air->port, 7000);
	assert_string_equal(atv_dnssd_txt(air, "deviceid"), "AA:BB");
	for (size_t i = 0; i < seen.n; i++)
		atv_dnssd_svc_release(&seen.svcs[i]);
}

/* The host never answers the resolve query: the first answer is taken as
 * it is after a bounded wait, not at the scan's timeout. */
static void test_unicast_resolve_unanswered(void **state)
{
	struct exchange ex[2] = {PTR_QUERY, {2, 16, NULL}};
	struct seen_all seen = {0};
	struct atv_hostport hp = {.host = "127.0.0.1"};
	struct atv_err err = {0};
	struct timespec t0, t1;
	struct pkt w;
	uint16_t port;
	int fd = responder_socket(&port);
	pid_t pid;

	(void)state;
	w_hdr(&w, F_RESP, 0, 1, 0, 0);
	w_ptr(&w, "_mediaremotetv._tcp.local", "Den");
	ex[0].answer = &w;
	pid = responder(fd, ex, 2);
	hp.port = port;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(atv_unicast_scan(&hp, 1, 30000, keep_answer, &seen, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wait_child(pid);
	close(fd);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.svcs[0].port, 0);
	assert_null(seen.svcs[0].host);
	assert_string_equal(seen.svcs[0].address, "127.0.0.1");
	atv_dnssd_svc_release(&seen.svcs[0]);
}

static void test_unicast_unresolvable(void **state)
{
	struct atv_hostport hp = {.port = 5353};
	struct atv_err err = {0};

	(void)state;
	snprintf(hp.host, sizeof hp.host, "no such host");
	assert_int_equal(atv_unicast_scan(&hp, 1, 100, on_answer, NULL, &err), -ATV_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "unable to resolve no such host: "));
	assert_int_equal(atv_unicast_scan(&hp, 0, 100, on_answer, NULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_build_query_all_types),
		cmocka_unit_test(test_build_query_errors),
		cmocka_unit_test(test_build_resolve_query),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_compressed),
		cmocka_unit_test(test_parse_instance_names),
		cmocka_unit_test(test_parse_aaaa),
		cmocka_unit_test(test_parse_no_ptr),
		cmocka_unit_test(test_parse_types_filter),
		cmocka_unit_test(test_parse_empty_and_ignored),
		cmocka_unit_test(test_parse_nul_bytes),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_hostile_truncated),
		cmocka_unit_test(test_hostile_bytes_everywhere),
		cmocka_unit_test(test_hostile_compression_loop),
		cmocka_unit_test(test_hostile_pointer_past_end),
		cmocka_unit_test(test_hostile_lying_rdlength),
		cmocka_unit_test(test_hostile_counts),
		cmocka_unit_test(test_hostile_huge_label),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_unicast_answer),
		cmocka_unit_test(test_unicast_resend),
		cmocka_unit_test(test_unicast_hostile),
		cmocka_unit_test(test_unicast_silence_and_stop),
		cmocka_unit_test(test_unicast_resolve),
		cmocka_unit_test(test_unicast_resolve_unanswered),
		cmocka_unit_test(test_unicast_unresolvable),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
