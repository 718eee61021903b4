/* airplay-server.c - the fake's AirPlay server: what an Apple TV (or an
 * AirPlay 2 speaker) answers on its _airplay._tcp port (protocols.md 4.4,
 * 4.6, 4.9; tunnel-companion.md 1; the wire contract the controller in
 * lib/airplay.c speaks too).
 *
 * Every accepted TCP connection is a direct channel (lib/airplay_channel.h)
 * whose requests are parsed by lib/httpmsg.c, HTTP/1.1 and RTSP/1.0 alike:
 * AirPlay 2 controllers speak RTSP (SETUP, RECORD, POST /feedback,
 * TEARDOWN) on the same connection after pair-verify, which an HTTP
 * library would refuse.  Once a pair-verify (AirPlay 2) or a transient
 * pair-setup finished, its M4 answer goes out plain and every later byte
 * is a HAP block both ways.  The RTSP side, the event and data channels
 * and MRP through them are airplay-tunnel.c's.
 *
 * Requests are answered in order, one at a time, as they complete; a
 * connection that breaks HTTP, or that a hostile mode ends, is closed once
 * its answer is written.
 *
 * The video is a small state machine driven by the clock: loading for
 * loading_ms, then playing from the start position at the current rate
 * until duration, then ended (or error instead of playing, for URLs the
 * test marked).  It is computed whenever it is looked at; no timers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <plist/plist.h>

#include "airplay_channel.h"
#include "buf.h"
#include "bytes.h"
#include "crypto.h"
#include "fake.h"
#include "hap.h"
#include "httpmsg.h"
#include "jsonl.h"
#include "log.h"
#include "raop.h"
#include "tlv8.h"

#define AIRPLAY		   "_airplay._tcp"
#define RAOP		   "_raop._tcp"
#define MAX_CONNS	   32
#define MAX_PAIRINGS	   16
#define MAX_FAILS	   16
#define LOG_MAX		   64			/* requests kept in the log */
#define BODY_MAX	   ((size_t)64 << 10)	/* request bodies: /play, TLV8, SETUP */
#define REPLY_MAX	   ((size_t)1 << 20)	/* one answer, head and body */
#define URL_MAX		   8192
#define REASON_MAX	   512
#define HUGE_BODY	   ((uint64_t)64 << 20) /* hostile huge-body: announced bytes */
#define HUGE_CHUNK	   16384
#define DEEP_PLIST	   1000 /* hostile deep-plist: nested arrays */
#define BPLIST_TYPE	   "application/x-apple-binary-plist"
#define SERVER		   "AirTunes/366.0"
#define DEFAULT_DURATION   2.0
#define DEFAULT_LOADING_MS 300
#define VIDEO_ERROR_CODE   (-11800) /* AVErrorUnknown */

/* AirPlay control channel keys (pyatv airplay/auth hap_session): HKDF on
 * the pair-verify secret or the transient SRP key K */
#define CONTROL_SALT  "Control-Salt"
#define CONTROL_WRITE "Control-Write-Encryption-Key"
#define CONTROL_READ  "Control-Read-Encryption-Key"

/* TXT flags bits that make pairing mandatory (pyatv airplay utils:
 * PairingRequired 0x200, PINRequired 0x8) */
#define FLAGS_PAIRING_MANDATORY 0x208u
/* features bits of AirPlay 2: SupportsUnifiedMediaControl (38) and
 * SupportsCoreUtilsPairingAndEncryption (48) */
#define FEATURE_UNIFIED	  (UINT64_C(1) << 38)
#define FEATURE_COREUTILS (UINT64_C(1) << 48)

static const char *const hostile_names[] = {"none",	 "plist",      "deep-plist", "huge-body",
					    "bad-block", "huge-block", "plist-bomb", NULL};
enum { H_NONE, H_PLIST, H_DEEP, H_HUGE_BODY, H_BAD_BLOCK, H_HUGE_BLOCK, H_BOMB };

enum vstate { V_LOADING, V_PLAYING, V_ENDED, V_ERROR };

struct video {
	char *url;
	double start; /* Start-Position-Seconds */
	long long t0; /* when /play came (ms, monotonic) */
	enum vstate state;
	bool fails; /* goes to V_ERROR after loading */
	double pos; /* position at t_pos (while playing) */
	long long t_pos;
	double rate;
};

struct fail_rule {
	char path[128];
	unsigned status;
	unsigned left;
	char reason[REASON_MAX];
};

/* One TCP connection, its channel and the request being received. */
struct conn {
	struct fake_airplay *ap;
	struct conn *next;
	struct atv_channel *ch;
	int fd;	      /* the TCP socket, registered with the loop */
	char name[32]; /* the peer, for logs */
	bool verified; /* pair-verify or transient pair-setup done */
	bool closing;  /* close once what is queued is written */
	struct atv_hap_setup *setup;
	/* the pairing whose secret keys the session's channels: the
	 * finished pair-verify, or the transient pair-setup (its K) */
	struct atv_hap_verify *verify;
	struct atv_hap_setup *transient;
	struct atv_httpmsg rq;
	char path[URL_MAX + 1], *query; /* rq's URI split at '?' */
	uint64_t huge_left;		/* hostile huge-body: bytes still to send */
	struct fake_tunnel *tun;	/* the RTSP session, once SETUP came */
};

struct fake_airplay {
	struct fake_loop *loop;
	struct fake_device *dev;
	struct fake_service *svc;
	int lfd, port;
	struct in_addr addr;
	bool serving;
	/* identity */
	char *pi, *deviceid, *model, *srcvers, *osvers;
	uint64_t features;
	uint32_t flags;
	bool ap2;
	uint8_t seed[ATV_ED25519_SEED_LEN], pub[ATV_ED25519_PUB_LEN];
	char pin[FAKE_MAX_PIN + 1];
	struct fake_pairings pairings; /* ours: "protocol":"airplay" */
	/* connections */
	struct conn *conns;
	size_t n_conns;
	unsigned long n_encrypted, n_verified, n_transient;
	json_t *log; /* the last LOG_MAX requests, "METHOD /path" */
	struct atv_buf reply; /* scratch: one answer */
	/* test knobs */
	struct fail_rule fails[MAX_FAILS];
	size_t n_fails;
	int hostile;
	double duration;
	int loading_ms;
	char *error_match;
	/* the player */
	struct video *video;
	/* the MRP tunnel's device-wide part */
	struct fake_tunnels *tunnels;
	struct fake_mrp *mrp;
	/* the audio receiver: RAOP and AirPlay 2 audio (raop-server.c) */
	struct fake_audio *audio;
};

const char *fake_airplay_hostile_names(void)
{
	return "none, plist, deep-plist, huge-body, bad-block, huge-block, plist-bomb";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ---- */

static void conn_close(struct conn *c, const char *why)
{
	struct fake_airplay *ap = c->ap;

	for (struct conn **pp = &ap->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ap->n_conns--;
	if (why)
		atv_info("airplay %s: disconnecting: %s", c->name, why);
	else
		atv_debug("airplay %s: closed", c->name);
	fake_tunnel_free(c->tun);
	fake_loop_remove_fd(ap->loop, c->fd);
	atv_channel_free(c->ch); /* closes the socket */
	atv_hap_setup_free(c->setup);
	atv_hap_setup_free(c->transient);
	atv_hap_verify_free(c->verify);
	atv_httpmsg_release(&c->rq);
	free(c);
}

/* The session keys of the connection's pairing (fake_tunnel_keys_fn):
 * salt and the controller-to-accessory (write_info) and back (read_info)
 * strings, swapped on our side as for the control channel. */
static int conn_keys(void *ctx, const char *salt, const char *write_info, const char *read_info,
		     struct atv_hap_cipher *out, struct atv_err *err)
{
	struct conn *c = ctx;

	if (c->verify)
		return atv_hap_verify_cipher(c->verify, salt, write_info, read_info, out, err);
	if (c->transient)
		return atv_hap_setup_cipher(c->transient, salt, write_info, read_info, out, err);
	return atv_err_set(err, ATV_E_AUTH, "the connection is not verified");
}

/* Queue bytes for the peer (sealed once encrypted); on failure the
 * connection is closed after what is queued already. */
static void conn_send(struct conn *c, const void *p, size_t len)
{
	struct atv_err err = {0, ""};

	if (atv_channel_send(c->ch, p, len, &err) < 0) {
		atv_info("airplay %s: %s", c->name, err.msg);
		c->closing = true;
	}
}

/* hostile huge-body: as much of the announced body as fits now */
static void conn_feed_huge(struct conn *c)
{
	static const char chunk[HUGE_CHUNK] = {[0 ... HUGE_CHUNK - 1] = 'A'};

	while (c->huge_left > 0) {
		size_t n = c->huge_left < sizeof chunk ? (size_t)c->huge_left : sizeof chunk;

		if (atv_channel_send(c->ch, chunk, n, NULL) < 0)
			return; /* full: more when it drained */
		c->huge_left -= n;
	}
}

static void conn_watch(struct conn *c)
{
	struct pollfd want[2];
	size_t n = atv_channel_pollfds(c->ch, want);
	short ev = 0;

	for (size_t i = 0; i < n; i++)
		if (want[i].fd == c->fd)
			ev = want[i].events;
	/* a huge body being fed needs to hear when there is room again */
	if (c->huge_left)
		ev |= POLLOUT;
	fake_loop_set_events(c->ap->loop, c->fd, ev);
}

/* True when nothing waits to be written. */
static bool conn_drained(const struct conn *c)
{
	struct pollfd want[2];
	size_t n = atv_channel_pollfds(c->ch, want);

	for (size_t i = 0; i < n; i++)
		if (want[i].events & POLLOUT)
			return false;
	return c->huge_left == 0;
}

static void conn_request(struct conn *c);

/* Parse and answer every complete request in the input.  False once the
 * connection is to close. */
static bool conn_requests(struct conn *c)
{
	struct atv_err err = {0, ""};
	struct atv_buf *in = atv_channel_input(c->ch);

	while (!c->closing && in->len > 0) {
		size_t used = 0;
		int p = atv_httpmsg_parse(&c->rq, in->data, in->len, &used, &err);

		atv_buf_consume(in, used);
		if (p < 0) {
			static const char bad[] = "HTTP/1.1 400 Bad Request\r\nServer: " SERVER
						  "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			static const char big[] = "HTTP/1.1 413 Content Too Large\r\nServer: " SERVER
						  "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

			atv_info("airplay %s: bad request: %s", c->name, err.msg);
			if (p == -ATV_E_LIMIT)
				conn_send(c, big, sizeof big - 1);
			else
				conn_send(c, bad, sizeof bad - 1);
			c->closing = true;
			break;
		}
		if (p == 0)
			break;
		conn_request(c);
		if (!c->closing && !c->rq.keep_alive)
			c->closing = true;
		atv_httpmsg_reset(&c->rq);
	}
	return !c->closing;
}

static void on_conn_fd(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct conn *c = ctx;
	struct atv_err err = {0, ""};
	int r = 0;

	(void)loop;
	(void)fd;
	(void)revents;
	/* a pump may bring the next request while it writes an answer:
	 * go on until a pump brings nothing new */
	r = atv_channel_pump(c->ch, &err);
	for (int round = 0; round < 16; round++) {
		/* the parser takes every byte it is given */
		conn_requests(c);
		conn_feed_huge(c);
		if (r == 0)
			r = atv_channel_pump(c->ch, &err);
		if (r < 0 || c->closing || atv_channel_input(c->ch)->len == 0)
			break;
	}
	if (r == -ATV_E_UNREACHABLE) {
		conn_close(c, NULL);
		return;
	}
	if (r < 0) {
		conn_close(c, err.msg);
		return;
	}
	if (c->closing && conn_drained(c)) {
		conn_close(c, NULL);
		return;
	}
	conn_watch(c);
}

static void on_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_airplay *ap = ctx;
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	struct atv_err err = {0, ""};
	char a[INET_ADDRSTRLEN];
	struct conn *c;
	int tfd;

	(void)revents;
	tfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (tfd < 0)
		return;
	if (ap->n_conns >= MAX_CONNS) {
		atv_warn("airplay: refusing a connection: %d open already", MAX_CONNS);
		close(tfd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		close(tfd);
		return;
	}
	c->ap = ap;
	c->fd = tfd;
	inet_ntop(AF_INET, &peer.sin_addr, a, sizeof a);
	snprintf(c->name, sizeof c->name, "%s:%u", a, ntohs(peer.sin_port));
	c->ch = atv_channel_new_direct(tfd, &err); /* owns tfd, even when it fails */
	if (!c->ch) {
		atv_warn("airplay %s: %s", c->name, err.msg);
		free(c);
		return;
	}
	atv_httpmsg_init(&c->rq, ATV_HTTPMSG_REQUEST, BODY_MAX);
	if (fake_loop_add_fd(loop, tfd, POLLIN, on_conn_fd, c, &err) < 0) {
		atv_warn("airplay %s: %s", c->name, err.msg);
		atv_channel_free(c->ch);
		atv_httpmsg_release(&c->rq);
		free(c);
		return;
	}
	c->next = ap->conns;
	ap->conns = c;
	ap->n_conns++;
	atv_debug("airplay %s: connected", c->name);
}

/* ---- pairings ---- */

static void add_pairing(struct fake_airplay *ap, const struct atv_hap_peer *peer)
{
	struct atv_err err = {0, ""};

	/* the same controller pairing again replaces its key; a full store
	 * was refused at M1 already */
	if (fake_pairings_add(&ap->pairings, peer->id, peer->idlen, peer->ltpk, &err) < 0)
		atv_warn("airplay: %s", err.msg);
}

/* ---- replies ---- */

static const char *reason_of(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 455: return "Method Not Valid in This State";
	case 470: return "Connection Authorization Required";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

/* Answer the current request: status, the body p[0..len) of type (NULL:
 * none), and one more header line "Name: value" (NULL: none). */
static void respond_hdr(struct conn *c, unsigned status, const void *p, size_t len,
			const char *type, const char *extra)
{
	struct fake_airplay *ap = c->ap;
	struct atv_err err = {0, ""};
	char ct[128];
	const char *h[4];
	size_t n = 0;

	h[n++] = "Server: " SERVER;
	if (type) {
		snprintf(ct, sizeof ct, "Content-Type: %s", type);
		h[n++] = ct;
	}
	if (extra)
		h[n++] = extra;
	h[n] = NULL;
	atv_buf_reset(&ap->reply);
	if (atv_httpmsg_build_reply(&c->rq, (int)status, reason_of(status), h, p, len, &ap->reply,
				    &err) < 0) {
		atv_info("airplay %s: unable to answer: %s", c->name, err.msg);
		c->closing = true;
		return;
	}
	conn_send(c, ap->reply.data, ap->reply.len);
}

static void respond(struct conn *c, unsigned status, const void *p, size_t len, const char *type)
{
	respond_hdr(c, status, p, len, type, NULL);
}

static void respond_status(struct conn *c, unsigned status)
{
	respond(c, status, "", 0, NULL);
}

static void respond_plist(struct conn *c, plist_t p)
{
	char *bin = NULL;
	uint32_t len = 0;

	plist_to_bin(p, &bin, &len);
	plist_free(p);
	if (!bin) {
		respond_status(c, 500);
		return;
	}
	respond(c, 200, bin, len, BPLIST_TYPE);
	plist_to_bin_free(bin);
}

/* hostile huge-body: HUGE_BODY bytes announced, produced as the peer
 * reads them (conn_feed_huge) */
static void respond_huge(struct conn *c)
{
	char head[256];
	int n = snprintf(head, sizeof head,
			 "%s 200 OK\r\nServer: " SERVER "\r\nContent-Type: " BPLIST_TYPE
			 "\r\nContent-Length: %" PRIu64 "\r\n\r\n",
			 c->rq.proto, HUGE_BODY);

	conn_send(c, head, (size_t)n);
	c->huge_left = HUGE_BODY;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* hostile deep-plist: a valid binary plist of DEEP_PLIST arrays each
 * holding the next one, the innermost empty.  Object i is at offset
 * 8 + 3 i ("bplist00", then 0xA1 + a 2-byte reference each). */
static void respond_deep(struct conn *c)
{
	size_t n = DEEP_PLIST + 1, objs = 8 + 3 * DEEP_PLIST + 1, len = objs + 4 * n + 32;
	uint8_t *b = calloc(1, len), *t;

	if (!b) {
		c->closing = true;
		return;
	}
	memcpy(b, "bplist00", 8);
	for (size_t i = 0; i < DEEP_PLIST; i++) {
		b[8 + 3 * i] = 0xa1;
		put_be(b + 8 + 3 * i + 1, i + 1, 2);
	}
	b[objs - 1] = 0xa0; /* the innermost, empty */
	for (size_t i = 0; i < n; i++)
		put_be(b + objs + 4 * i, i < DEEP_PLIST ? 8 + 3 * i : objs - 1, 4);
	/* trailer: 6 unused, offset size, ref size, objects, top, table */
	t = b + objs + 4 * n;
	t[6] = 4;
	t[7] = 2;
	put_be(t + 8, n, 8);
	put_be(t + 16, 0, 8);
	put_be(t + 24, objs, 8);
	respond(c, 200, b, len, BPLIST_TYPE);
	free(b);
}

/* hostile plist-bomb: {"duration": arrays of 14 references to the next
 * one, 12 deep} in 249 bytes, 14^12 nodes for a parser that copies shared
 * references (issue 9 point 11).  Objects: the dict, its key, the 12
 * arrays, an integer; 1-byte offsets and references. */
static void respond_bomb(struct conn *c)
{
	uint8_t b[256];
	size_t len = 8, off[15], n = 0, table;

	memcpy(b, "bplist00", 8);
	off[n++] = len;
	memcpy(b + len, "\xd1\x01\x02\x58" "duration", 12);
	off[n++] = len + 3;
	len += 12;
	for (int l = 0; l < 12; l++, len += 15) {
		off[n++] = len;
		b[len] = 0xae;
		memset(b + len + 1, (int)n, 14);
	}
	off[n++] = len;
	b[len++] = 0x10;
	b[len++] = 0;
	table = len;
	for (size_t i = 0; i < n; i++)
		b[len++] = (uint8_t)off[i];
	memset(b + len, 0, 32);
	b[len + 6] = b[len + 7] = 1;
	b[len + 15] = (uint8_t)n;
	b[len + 31] = (uint8_t)table;
	respond(c, 200, b, len + 32, BPLIST_TYPE);
}

/* hostile bad-block / huge-block: raw bytes on the TCP socket where a
 * sealed answer belongs, then the connection ends. */
static void send_hostile_block(struct conn *c, int mode)
{
	uint8_t b[2 + 48 + 16];
	size_t n;

	if (mode == H_BAD_BLOCK) {
		/* a well-formed block whose tag cannot verify */
		atv_put_le16(b, 48);
		atv_random(b + 2, 48 + 16, NULL);
		n = sizeof b;
	} else {
		/* announces 65535 bytes, delivers a few, then EOF */
		atv_put_le16(b, 0xffff);
		memset(b + 2, 0x5a, 30);
		n = 32;
	}
	atv_info("airplay %s: sending a hostile %s", c->name, hostile_names[mode]);
	if (send(c->fd, b, n, MSG_NOSIGNAL) < 0)
		atv_debug("airplay %s: %s", c->name, strerror(errno));
	c->closing = true;
}

/* ---- the video ---- */

static const char *vstate_name(const struct video *v)
{
	switch (v->state) {
	case V_LOADING: return "loading";
	case V_PLAYING: return v->rate == 0 ? "paused" : "playing";
	case V_ENDED: return "ended";
	default: return "error";
	}
}

static double clamp_pos(double p, double duration)
{
	return p < 0 ? 0 : p > duration ? duration : p;
}

/* Bring v up to now: loading ends after loading_ms (into playing or
 * error), playing ends at duration. */
static void video_update(struct fake_airplay *ap, struct video *v, long long now)
{
	if (v->state == V_LOADING && now - v->t0 >= ap->loading_ms) {
		v->state = v->fails ? V_ERROR : V_PLAYING;
		v->t_pos = v->t0 + ap->loading_ms;
		v->pos = clamp_pos(v->start, ap->duration);
	}
	if (v->state == V_PLAYING) {
		double p = v->pos + v->rate * (double)(now - v->t_pos) / 1000.0;

		v->pos = clamp_pos(p, ap->duration);
		v->t_pos = now;
		if (v->pos >= ap->duration && v->rate > 0) {
			v->state = V_ENDED;
			atv_info("airplay: the video ended");
		}
	}
}

static void video_free(struct video *v)
{
	if (v) {
		free(v->url);
		free(v);
	}
}

static double video_position(const struct fake_airplay *ap, const struct video *v)
{
	return v->state == V_LOADING ? clamp_pos(v->start, ap->duration) : v->pos;
}

/* ---- requests ---- */

/* The value of key in the request's query ("position=3.5&x=y"), copied
 * into buf, or NULL. */
static const char *arg(const struct conn *c, const char *key, char *buf, size_t size)
{
	size_t kl = strlen(key);

	for (const char *p = c->query; p && *p;) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			snprintf(buf, size, "%.*s", (int)(n - kl - 1), p + kl + 1);
			return buf;
		}
		p = end ? end + 1 : p + n;
	}
	return NULL;
}

static int parse_double(const char *s, double *v)
{
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*v) ? -1 : 0;
}

static void dict_set(plist_t d, const char *key, plist_t v)
{
	plist_dict_set_item(d, key, v); /* steals v */
}

static void do_info(struct fake_airplay *ap, struct conn *c)
{
	plist_t d = plist_new_dict();

	dict_set(d, "deviceID", plist_new_string(ap->deviceid ? ap->deviceid : ""));
	dict_set(d, "features", plist_new_uint(ap->features));
	dict_set(d, "model", plist_new_string(ap->model ? ap->model : ""));
	dict_set(d, "name", plist_new_string(ap->dev->name));
	dict_set(d, "pi", plist_new_string(ap->pi));
	dict_set(d, "pk", plist_new_data((const char *)ap->pub, sizeof ap->pub));
	dict_set(d, "protocolVersion", plist_new_string("1.1"));
	dict_set(d, "sourceVersion", plist_new_string(ap->srcvers ? ap->srcvers : "220.68"));
	dict_set(d, "statusFlags", plist_new_uint(ap->flags));
	if (ap->osvers)
		dict_set(d, "osBuildVersion", plist_new_string(ap->osvers));
	if (ap->hostile == H_HUGE_BODY) {
		plist_free(d);
		respond_huge(c);
		return;
	}
	respond_plist(c, d);
}

static void do_pin_start(struct fake_airplay *ap, struct conn *c)
{
	const char *who = atv_httpmsg_header(&c->rq, "X-Apple-Client-Name");

	/* a real device shows the PIN on screen (and who asks); the tests
	 * read the log */
	atv_info("airplay pin: %s (for %.64s)", ap->pin, who ? who : "an unnamed client");
	respond_status(c, 200);
}

static void respond_tlv(struct conn *c, const struct atv_buf *out)
{
	respond(c, 200, out->data ? out->data : (const uint8_t *)"", out->len,
		"application/octet-stream");
}

/* State and Flags of a pairing message (0 when absent). */
static int tlv_state(const struct atv_buf *body, uint64_t *state, uint64_t *flags,
		     struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	const struct atv_tlv8_item *it;
	int r = atv_tlv8_parse(&t, body->data, body->len, err);

	*state = *flags = 0;
	if (r == 0) {
		it = atv_tlv8_find(&t, ATV_TLV8_STATE);
		r = it ? atv_tlv8_uint(it, state, err)
		       : atv_err_set(err, ATV_E_PROTO, "pairing data without a state");
	}
	if (r == 0 && (it = atv_tlv8_find(&t, ATV_TLV8_FLAGS)))
		r = atv_tlv8_uint(it, flags, err);
	atv_tlv8_release(&t);
	return r;
}

/* The answer just queued (M4) is the last plain message: from the next
 * byte on, both directions are sealed (out with the Control-Read key, in
 * with the Control-Write key, as cipher says). */
static void start_encryption(struct conn *c, struct atv_hap_cipher *cipher)
{
	struct atv_err err = {0, ""};

	if (atv_channel_encrypt(c->ch, cipher, &err) < 0) {
		atv_info("airplay %s: %s", c->name, err.msg);
		c->closing = true;
	} else {
		c->ap->n_encrypted++;
		atv_info("airplay %s: encrypted from here on", c->name);
	}
	atv_hap_cipher_wipe(cipher);
}

static void do_pair_setup(struct fake_airplay *ap, struct conn *c)
{
	struct atv_err err = {0, ""};
	struct atv_hap_peer peer;
	struct atv_hap_cipher cipher;
	struct atv_buf out;
	uint64_t state, flags;
	bool transient, encrypt = false;
	int r;

	if (tlv_state(&c->rq.body, &state, &flags, &err) < 0) {
		atv_info("airplay %s: bad pair-setup message: %s", c->name, err.msg);
		respond_status(c, 400);
		return;
	}
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	transient = flags & ATV_TLV8_FLAG_TRANSIENT;
	if (state == 1) {
		atv_hap_setup_free(c->setup);
		c->setup = NULL;
		/* transient pairing is for AirPlay 2 devices that do not
		 * insist on a PIN; the others answer Authentication */
		if (transient && (!ap->ap2 || (ap->flags & FLAGS_PAIRING_MANDATORY))) {
			atv_info("airplay %s: transient pair-setup refused", c->name);
			atv_hap_error_message(&out, 2, ATV_TLV8_ERR_AUTHENTICATION, 0, NULL);
			goto reply;
		}
		if (!transient && ap->pairings.n == ap->pairings.max) {
			atv_info("airplay %s: pair-setup refused: %zu pairings", c->name,
				 ap->pairings.n);
			atv_hap_error_message(&out, 2, ATV_TLV8_ERR_MAX_PEERS, 0, NULL);
			goto reply;
		}
		c->setup = atv_hap_setup_server_new_flags(ap->pin, ap->pi, ap->seed,
							  ATV_HAP_SETUP_ALLOW_TRANSIENT, &err);
		if (!c->setup) {
			atv_warn("airplay %s: %s", c->name, err.msg);
			atv_buf_release(&out);
			respond_status(c, 500);
			return;
		}
		atv_info("airplay %s: %spair-setup started", c->name,
			 transient ? "transient " : "");
	} else if (!c->setup) {
		atv_info("airplay %s: pair-setup M%" PRIu64 " without M1", c->name, state);
		atv_hap_error_message(&out, (uint8_t)(state + 1), ATV_TLV8_ERR_UNKNOWN, 0, NULL);
		goto reply;
	}
	r = atv_hap_setup_step(c->setup, c->rq.body.data, c->rq.body.len, &out, &err);
	if (r < 0) {
		atv_info("airplay %s: pair-setup failed: %s", c->name, err.msg);
		atv_hap_setup_free(c->setup);
		c->setup = NULL;
	} else if (r == ATV_HAP_DONE && atv_hap_setup_transient(c->setup)) {
		if (atv_hap_setup_cipher(c->setup, CONTROL_SALT, CONTROL_WRITE, CONTROL_READ,
					 &cipher, &err) < 0) {
			atv_warn("airplay %s: %s", c->name, err.msg);
			atv_buf_release(&out);
			c->closing = true;
			return;
		}
		c->verified = true;
		ap->n_transient++;
		atv_info("airplay %s: transient pairing done", c->name);
		/* K keys the tunnel's channels too */
		atv_hap_setup_free(c->transient);
		c->transient = c->setup;
		c->setup = NULL;
		encrypt = true;
	} else if (r == ATV_HAP_DONE) {
		if (atv_hap_setup_server_peer(c->setup, &peer, &err) == 0) {
			char id[2 * ATV_HAP_ID_MAX + 1];

			add_pairing(ap, &peer);
			fake_pairing_id_text(id, sizeof id, peer.id, peer.idlen);
			atv_info("airplay %s: paired with controller %s", c->name, id);
		}
		atv_hap_setup_free(c->setup);
		c->setup = NULL;
	}
reply:
	respond_tlv(c, &out);
	atv_buf_release(&out);
	if (encrypt)
		start_encryption(c, &cipher);
}

static void do_pair_verify(struct fake_airplay *ap, struct conn *c)
{
	struct atv_err err = {0, ""};
	struct atv_hap_peer peer;
	struct atv_hap_cipher cipher;
	struct atv_buf out;
	uint64_t state, flags;
	bool encrypt = false;
	int r;

	if (tlv_state(&c->rq.body, &state, &flags, &err) < 0) {
		atv_info("airplay %s: bad pair-verify message: %s", c->name, err.msg);
		respond_status(c, 400);
		return;
	}
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	if (state == 1) {
		atv_hap_verify_free(c->verify);
		c->verify = atv_hap_verify_server_new(ap->pi, ap->seed, fake_pairings_lookup,
						      &ap->pairings, &err);
		if (!c->verify) {
			atv_warn("airplay %s: %s", c->name, err.msg);
			atv_buf_release(&out);
			respond_status(c, 500);
			return;
		}
	} else if (!c->verify || c->verified) {
		atv_hap_error_message(&out, (uint8_t)(state + 1), ATV_TLV8_ERR_UNKNOWN, 0, NULL);
		goto reply;
	}
	r = atv_hap_verify_step(c->verify, c->rq.body.data, c->rq.body.len, &out, &err);
	if (r < 0) {
		atv_info("airplay %s: pair-verify failed: %s", c->name, err.msg);
		atv_hap_verify_free(c->verify);
		c->verify = NULL;
	} else if (r == ATV_HAP_DONE) {
		if (atv_hap_verify_server_peer(c->verify, &peer, &err) == 0)
			atv_info("airplay %s: verified controller %.*s", c->name, (int)peer.idlen,
				 (const char *)peer.id);
		c->verified = true;
		ap->n_verified++;
		/* AirPlay 2 seals everything after M4; AirPlay 1 stays plain.
		 * The verify is kept: its secret keys the tunnel's channels. */
		if (ap->ap2) {
			if (atv_hap_verify_cipher(c->verify, CONTROL_SALT, CONTROL_WRITE,
						  CONTROL_READ, &cipher, &err) < 0) {
				atv_warn("airplay %s: %s", c->name, err.msg);
				atv_buf_release(&out);
				c->closing = true;
				return;
			}
			encrypt = true;
		}
	}
reply:
	respond_tlv(c, &out);
	atv_buf_release(&out);
	if (encrypt)
		start_encryption(c, &cipher);
}
static void do_play(struct fake_airplay *ap, struct conn *c)
{
	plist_t p = NULL, loc, start;
	char *url = NULL;
	double pos = 0;
	struct video *v;

	if (c->rq.body.len > 0 && c->rq.body.len <= UINT32_MAX)
		plist_from_memory((const char *)c->rq.body.data, (uint32_t)c->rq.body.len,
				  &p);
	if (!p || plist_get_node_type(p) != PLIST_DICT) {
		atv_info("airplay: /play without a plist dict");
		plist_free(p);
		respond_status(c, 400);
		return;
	}
	loc = plist_dict_get_item(p, "Content-Location");
	if (loc && plist_get_node_type(loc) == PLIST_STRING)
		plist_get_string_val(loc, &url);
	start = plist_dict_get_item(p, "Start-Position-Seconds");
	if (!start)
		start = plist_dict_get_item(p, "Start-Position");
	if (start && plist_get_node_type(start) == PLIST_REAL)
		plist_get_real_val(start, &pos);
	else if (start && plist_get_node_type(start) == PLIST_UINT) {
		uint64_t u = 0;

		plist_get_uint_val(start, &u);
		pos = (double)u;
	}
	plist_free(p);
	if (!url || !*url || strlen(url) > URL_MAX || !isfinite(pos) || pos < 0) {
		atv_info("airplay: /play without a usable Content-Location or start");
		free(url);
		respond_status(c, 400);
		return;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		free(url);
		respond_status(c, 500);
		return;
	}
	v->url = url;
	v->start = pos;
	v->t0 = now_ms();
	v->state = V_LOADING;
	v->rate = 1;
	v->fails = ap->error_match && strstr(url, ap->error_match);
	video_free(ap->video);
	ap->video = v;
	atv_info("airplay: playing %.200s from %.3f s", url, pos);
	respond_status(c, 200);
}

static void do_playback_info(struct fake_airplay *ap, struct conn *c)
{
	struct video *v = ap->video;
	plist_t d = plist_new_dict(), e, ranges, range;
	char *bin = NULL;
	uint32_t len = 0;

	if (v)
		video_update(ap, v, now_ms());
	if (!v || v->state == V_ENDED) {
		/* nothing plays: an empty dict (no duration means ended) */
	} else if (v->state == V_LOADING) {
		dict_set(d, "readyToPlay", plist_new_bool(0));
		dict_set(d, "rate", plist_new_real(0));
		dict_set(d, "position", plist_new_real(0));
	} else if (v->state == V_ERROR) {
		e = plist_new_dict();
		dict_set(e, "code", plist_new_uint((uint64_t)(int64_t)VIDEO_ERROR_CODE));
		dict_set(e, "domain", plist_new_string("AVFoundationErrorDomain"));
		dict_set(e, "localizedDescription",
			 plist_new_string("The operation could not be completed"));
		dict_set(d, "error", e);
	} else {
		dict_set(d, "duration", plist_new_real(ap->duration));
		dict_set(d, "position", plist_new_real(v->pos));
		dict_set(d, "rate", plist_new_real(v->rate));
		dict_set(d, "readyToPlay", plist_new_bool(1));
		dict_set(d, "playbackBufferEmpty", plist_new_bool(0));
		dict_set(d, "playbackBufferFull", plist_new_bool(1));
		dict_set(d, "playbackLikelyToKeepUp", plist_new_bool(1));
		ranges = plist_new_array();
		range = plist_new_dict();
		dict_set(range, "start", plist_new_real(0));
		dict_set(range, "duration", plist_new_real(ap->duration));
		plist_array_append_item(ranges, range);
		dict_set(d, "loadedTimeRanges", plist_copy(ranges));
		dict_set(d, "seekableTimeRanges", ranges);
	}
	switch (ap->hostile) {
	case H_HUGE_BODY: plist_free(d); respond_huge(c); return;
	case H_DEEP: plist_free(d); respond_deep(c); return;
	case H_BOMB: plist_free(d); respond_bomb(c); return;
	case H_PLIST:
		/* the header and half the objects, with a Content-Length
		 * that is right for what is sent */
		plist_to_bin(d, &bin, &len);
		plist_free(d);
		if (!bin) {
			c->closing = true;
			return;
		}
		respond(c, 200, bin, len > 16 ? len / 2 : len, BPLIST_TYPE);
		plist_to_bin_free(bin);
		return;
	default: respond_plist(c, d); return;
	}
}

static void do_scrub(struct fake_airplay *ap, struct conn *c, const char *method)
{
	struct video *v = ap->video;
	char text[128], abuf[64];
	double pos;

	if (v)
		video_update(ap, v, now_ms());
	if (strcmp(method, "GET") == 0) {
		/* AirPlay 1's text/parameters answer */
		snprintf(text, sizeof text, "duration: %.6f\nposition: %.6f\n",
			 v && v->state == V_PLAYING ? ap->duration : 0.0,
			 v ? video_position(ap, v) : 0.0);
		respond(c, 200, text, strlen(text), "text/parameters");
		return;
	}
	if (parse_double(arg(c, "position", abuf, sizeof abuf), &pos) < 0 || pos < 0) {
		respond_status(c, 400);
		return;
	}
	if (v && v->state == V_LOADING) {
		v->start = pos;
	} else if (v && v->state == V_PLAYING) {
		v->pos = clamp_pos(pos, ap->duration);
		v->t_pos = now_ms();
	}
	atv_debug("airplay: scrub to %.3f", pos);
	respond_status(c, 200);
}

static void do_rate(struct fake_airplay *ap, struct conn *c)
{
	struct video *v = ap->video;
	char abuf[64];
	double rate;

	if (parse_double(arg(c, "value", abuf, sizeof abuf), &rate) < 0 || rate < -64 || rate > 64) {
		respond_status(c, 400);
		return;
	}
	if (v) {
		/* the position so far at the old rate, then the new one */
		video_update(ap, v, now_ms());
		v->rate = rate;
	}
	respond_status(c, 200);
}

static void do_stop(struct fake_airplay *ap, struct conn *c)
{
	if (ap->video)
		atv_info("airplay: video stopped");
	video_free(ap->video);
	ap->video = NULL;
	respond_status(c, 200);
}

/* A refusal the test asked for: the rule for this path (or "*"). */
static struct fail_rule *fail_for(struct fake_airplay *ap, const char *url)
{
	for (size_t i = 0; i < ap->n_fails; i++)
		if (strcmp(ap->fails[i].path, url) == 0 || strcmp(ap->fails[i].path, "*") == 0)
			return &ap->fails[i];
	return NULL;
}

static void do_fail(struct fake_airplay *ap, struct fail_rule *f,
			       struct conn *c)
{
	unsigned status = f->status;
	char reason[REASON_MAX];

	snprintf(reason, sizeof reason, "%s", f->reason);
	atv_info("airplay: answering %s with %u as told", f->path, status);
	if (--f->left == 0) {
		size_t i = (size_t)(f - ap->fails);

		memmove(f, f + 1, (ap->n_fails - i - 1) * sizeof *f);
		ap->n_fails--;
	}
	respond(c, status, reason, strlen(reason), reason[0] ? "text/plain" : NULL);
}

static bool is_pairing_path(const char *url)
{
	return strcmp(url, "/info") == 0 || strcmp(url, "/pair-pin-start") == 0 ||
	       strcmp(url, "/pair-setup") == 0 || strcmp(url, "/pair-verify") == 0;
}

static void log_request(struct fake_airplay *ap, const char *method, const char *url)
{
	char line[200];

	snprintf(line, sizeof line, "%s %.140s", method, url);
	json_array_append_new(ap->log, json_string(line));
	while (json_array_size(ap->log) > LOG_MAX)
		json_array_remove(ap->log, 0);
}

/* The RTSP requests of the tunnel's session (the others, GET /info or PUT
 * /setProperty in RTSP/1.0, are answered as in HTTP). */
static bool is_tunnel_request(const struct conn *c)
{
	static const char *const methods[] = {"SETUP", "RECORD", "TEARDOWN", "FLUSH",
					      "SET_PARAMETER", "GET_PARAMETER", NULL};

	if (strcmp(c->rq.proto, "RTSP/1.0") != 0)
		return false;
	for (size_t i = 0; methods[i]; i++)
		if (strcmp(c->rq.method, methods[i]) == 0)
			return true;
	return strcmp(c->rq.method, "POST") == 0 && strcmp(c->path, "/feedback") == 0;
}

static struct in_addr conn_peer(const struct conn *c)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof sa;

	if (getpeername(c->fd, (struct sockaddr *)&sa, &len) < 0)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa.sin_addr;
}

/* An audio request (RAOP, or the audio part of an AirPlay 2 session):
 * raop-server.c's answer. */
static void do_audio(struct fake_airplay *ap, struct conn *c, bool ap2)
{
	struct fake_audio_reply r = {0};
	const char *h[8];
	size_t n = 0;

	atv_buf_init(&r.body, REPLY_MAX);
	atv_buf_init(&r.raw, REPLY_MAX);
	fake_audio_request(ap->audio, &c->rq, c->path, conn_peer(c), ap2, &r);
	if (r.raw.len) {
		conn_send(c, r.raw.data, r.raw.len);
	} else {
		char ct[128], cseq[48];
		const char *cs = atv_httpmsg_header(&c->rq, "CSeq");

		h[n++] = "Server: " SERVER;
		/* pyatv matches answers by CSeq, HTTP ones (/auth-setup) too */
		if (cs && strcmp(c->rq.proto, "RTSP/1.0") != 0 && strlen(cs) < 20) {
			snprintf(cseq, sizeof cseq, "CSeq: %s", cs);
			h[n++] = cseq;
		}
		if (r.type) {
			snprintf(ct, sizeof ct, "Content-Type: %s", r.type);
			h[n++] = ct;
		}
		for (size_t i = 0; i < r.n_headers && n < 7; i++)
			h[n++] = r.headers[i];
		h[n] = NULL;
		atv_buf_reset(&ap->reply);
		if (atv_httpmsg_build_reply(&c->rq, (int)r.status, reason_of(r.status), h,
					    r.body.data ? r.body.data : (const uint8_t *)"",
					    r.body.len, &ap->reply, NULL) < 0)
			c->closing = true;
		else
			conn_send(c, ap->reply.data, ap->reply.len);
	}
	atv_buf_release(&r.body);
	atv_buf_release(&r.raw);
	if (r.close)
		c->closing = true;
}

/* The type of a SETUP or TEARDOWN body's first stream, or -1. */
static long long stream_type(const struct conn *c)
{
	plist_t p = NULL, s, t;
	uint64_t v = 0;
	long long r = -1;

	if (c->rq.body.len == 0 || c->rq.body.len > BODY_MAX)
		return -1;
	plist_from_memory((const char *)c->rq.body.data, (uint32_t)c->rq.body.len, &p);
	if (p && plist_get_node_type(p) == PLIST_DICT &&
	    (s = plist_dict_get_item(p, "streams")) && plist_get_node_type(s) == PLIST_ARRAY &&
	    plist_array_get_size(s) > 0 && plist_get_node_type(s = plist_array_get_item(s, 0)) ==
					       PLIST_DICT &&
	    (t = plist_dict_get_item(s, "type")) && plist_get_node_type(t) == PLIST_UINT) {
		plist_get_uint_val(t, &v);
		r = (long long)(v & 0xffffffffu);
	}
	plist_free(p);
	return r;
}

/* SETUP of an audio stream (type 96) in an AirPlay 2 session. */
static void do_audio_setup(struct fake_airplay *ap, struct conn *c)
{
	plist_t p = NULL, d, a, s, out;
	unsigned status;

	plist_from_memory((const char *)c->rq.body.data, (uint32_t)c->rq.body.len, &p);
	s = plist_array_get_item(plist_dict_get_item(p, "streams"), 0);
	out = plist_new_dict();
	status = fake_audio_setup_ap2(ap->audio, s, conn_peer(c), out);
	plist_free(p);
	if (status != 200) {
		plist_free(out);
		respond_status(c, status);
		return;
	}
	d = plist_new_dict();
	a = plist_new_array();
	plist_array_append_item(a, out);
	dict_set(d, "streams", a);
	respond_plist(c, d);
}

/* RTSP on a verified AirPlay 2 connection: the tunnel's session. */
static void do_rtsp(struct fake_airplay *ap, struct conn *c)
{
	struct atv_err err = {0, ""};
	struct fake_tunnel_reply tr = {0};
	const char *m = c->rq.method;
	int status;

	if (!c->verified || !ap->ap2) {
		/* pyatv: 470 means the credentials are missing */
		respond_status(c, c->verified ? 501 : 470);
		return;
	}
	if (!c->tun) {
		c->tun = fake_tunnel_new(ap->tunnels, c->name, conn_keys, c, &err);
		if (!c->tun) {
			atv_info("airplay %s: %s", c->name, err.msg);
			respond_status(c, 500);
			return;
		}
	}
	/* the audio stream's part of the session */
	if (ap->audio && (strcmp(m, "SET_PARAMETER") == 0 || strcmp(m, "GET_PARAMETER") == 0 ||
			  strcmp(m, "FLUSH") == 0)) {
		do_audio(ap, c, true);
		return;
	}
	if (ap->audio && strcmp(m, "SETUP") == 0 && stream_type(c) == 96) {
		do_audio_setup(ap, c);
		return;
	}
	if (ap->audio && strcmp(m, "RECORD") == 0)
		fake_audio_record(ap->audio);
	if (ap->audio && strcmp(m, "POST") == 0 && strcmp(c->path, "/feedback") == 0)
		fake_audio_feedback(ap->audio);
	if (ap->audio && strcmp(m, "TEARDOWN") == 0) {
		long long t = stream_type(c);

		if (t == 96 || t < 0)
			fake_audio_teardown(ap->audio);
		if (t == 96) {
			respond_status(c, 200);
			return;
		}
	}
	atv_buf_init(&tr.body, REPLY_MAX);
	status = fake_tunnel_request(c->tun, c->rq.method, c->path, c->rq.body.data,
				     c->rq.body.len, &tr);
	respond_hdr(c, (unsigned)status, tr.body.data ? tr.body.data : (const uint8_t *)"",
		    tr.body.len, tr.body.len ? BPLIST_TYPE : NULL, tr.header);
	atv_buf_release(&tr.body);
	if (tr.close)
		c->closing = true;
}

static void dispatch(struct fake_airplay *ap, struct conn *c)
{
	const char *url = c->path, *method = c->rq.method;
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	struct fail_rule *f;

	atv_debug("airplay %s: %s %s %s", c->name, method, c->rq.uri, c->rq.proto);
	log_request(ap, method, url);
	if (atv_channel_encrypted(c->ch) &&
	    (ap->hostile == H_BAD_BLOCK || ap->hostile == H_HUGE_BLOCK)) {
		send_hostile_block(c, ap->hostile);
		return;
	}
	if ((f = fail_for(ap, url))) {
		do_fail(ap, f, c);
		return;
	}
	/* pairing required: only pairing itself without it (pyatv: 470
	 * Connection Authorization Required) */
	if ((ap->flags & FLAGS_PAIRING_MANDATORY) && !is_pairing_path(url) && !c->verified) {
		respond(c, 470, "", 0, NULL);
		return;
	}
	if (ap->audio && fake_audio_is_raop(ap->audio, &c->rq, url, c->verified && ap->ap2))
		do_audio(ap, c, false);
	else if (is_tunnel_request(c))
		do_rtsp(ap, c);
	else if (strcmp(url, "/info") == 0 && get)
		do_info(ap, c);
	else if (strcmp(url, "/pair-pin-start") == 0 && post)
		do_pin_start(ap, c);
	else if (strcmp(url, "/pair-setup") == 0 && post)
		do_pair_setup(ap, c);
	else if (strcmp(url, "/pair-verify") == 0 && post)
		do_pair_verify(ap, c);
	else if (strcmp(url, "/play") == 0 && post)
		do_play(ap, c);
	else if (strcmp(url, "/playback-info") == 0 && get)
		do_playback_info(ap, c);
	else if (strcmp(url, "/scrub") == 0 && (get || post))
		do_scrub(ap, c, method);
	else if (strcmp(url, "/rate") == 0 && post)
		do_rate(ap, c);
	else if (strcmp(url, "/stop") == 0 && post)
		do_stop(ap, c);
	else if (strcmp(url, "/setProperty") == 0 && strcmp(method, "PUT") == 0)
		/* pyatv asks for isInterestedInDateRange after /play; taken
		 * note of, nothing more */
		respond_status(c, 200);
	else if (strcmp(url, "/info") == 0 || strcmp(url, "/pair-pin-start") == 0 ||
		 strcmp(url, "/pair-setup") == 0 || strcmp(url, "/pair-verify") == 0 ||
		 strcmp(url, "/play") == 0 || strcmp(url, "/playback-info") == 0 ||
		 strcmp(url, "/rate") == 0 || strcmp(url, "/stop") == 0)
		respond_status(c, 405);
	else
		respond_status(c, 404);
}

/* A complete request in c->rq. */
static void conn_request(struct conn *c)
{
	const char *u = c->rq.uri;
	char *q;

	/* RTSP names the session "rtsp://host/id": the path is what follows
	 * the authority */
	if (strncmp(u, "rtsp://", 7) == 0)
		u = strchr(u + 7, '/') ? strchr(u + 7, '/') : "/";
	if (strlen(u) > URL_MAX) {
		respond_status(c, 414);
		return;
	}
	snprintf(c->path, sizeof c->path, "%s", u);
	q = strchr(c->path, '?');
	if (q)
		*q++ = '\0';
	c->query = q;
	dispatch(c->ap, c);
}

/* ---- control ---- */

int fake_airplay_port(const struct fake_airplay *ap)
{
	return ap && ap->serving ? ap->port : -1;
}

int fake_airplay_set_pin(struct fake_airplay *ap, const char *pin, struct atv_err *err)
{
	if (!fake_pin_valid(pin))
		return atv_err_set(err, ATV_E_USAGE, "a pin is 1 to %d digits", FAKE_MAX_PIN);
	snprintf(ap->pin, sizeof ap->pin, "%s", pin);
	return 0;
}

int fake_airplay_fail(struct fake_airplay *ap, const char *path, unsigned status, unsigned n,
		      const char *reason, struct atv_err *err)
{
	struct fail_rule *f = NULL;

	if (strlen(path) >= sizeof f->path || (path[0] != '/' && strcmp(path, "*") != 0))
		return atv_err_set(err, ATV_E_USAGE, "a path is /... or *, under %zu bytes",
				   sizeof f->path);
	if (status < 100 || status > 599 || n == 0)
		return atv_err_set(err, ATV_E_USAGE, "status 100 to 599, count at least 1");
	if (strlen(reason) >= sizeof f->reason)
		return atv_err_set(err, ATV_E_USAGE, "reason longer than %zu bytes",
				   sizeof f->reason - 1);
	/* one rule per path: a new one replaces the old */
	for (size_t i = 0; i < ap->n_fails; i++)
		if (strcmp(ap->fails[i].path, path) == 0)
			f = &ap->fails[i];
	if (!f && ap->n_fails == MAX_FAILS)
		return atv_err_set(err, ATV_E_USAGE, "more than %d refusal rules", MAX_FAILS);
	if (!f)
		f = &ap->fails[ap->n_fails++];
	snprintf(f->path, sizeof f->path, "%s", path);
	snprintf(f->reason, sizeof f->reason, "%s", reason);
	f->status = status;
	f->left = n;
	return 0;
}

void fake_airplay_fail_clear(struct fake_airplay *ap)
{
	ap->n_fails = 0;
}

int fake_airplay_video(struct fake_airplay *ap, const char *what, const char *value,
		       struct atv_err *err)
{
	char *end;
	double d;
	long ms;

	if (strcmp(what, "duration") == 0 && value) {
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end || !(d > 0 && d <= 1e6))
			return atv_err_set(err, ATV_E_USAGE, "duration is 0 to 1000000 seconds");
		if (ap->video)
			video_update(ap, ap->video, now_ms());
		ap->duration = d;
		return 0;
	}
	if (strcmp(what, "loading") == 0 && value) {
		errno = 0;
		ms = strtol(value, &end, 10);
		if (errno || end == value || *end || ms < 0 || ms > 600000)
			return atv_err_set(err, ATV_E_USAGE, "loading is 0 to 600000 ms");
		ap->loading_ms = (int)ms;
		return 0;
	}
	if (strcmp(what, "error") == 0) {
		char *m = value && *value ? strdup(value) : NULL;

		if (value && *value && !m)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		free(ap->error_match);
		ap->error_match = m;
		return 0;
	}
	return atv_err_set(err, ATV_E_USAGE,
			   "airplay-video duration SECONDS | loading MS | error [URL-SUBSTRING]");
}

int fake_airplay_hostile(struct fake_airplay *ap, const char *mode, struct atv_err *err)
{
	for (int i = 0; hostile_names[i]; i++) {
		if (strcmp(hostile_names[i], mode) == 0) {
			ap->hostile = i;
			return 0;
		}
	}
	return atv_err_set(err, ATV_E_USAGE, "unknown airplay hostile mode \"%s\" (one of: %s)", mode,
			   fake_airplay_hostile_names());
}

size_t fake_airplay_drop(struct fake_airplay *ap)
{
	size_t n = 0;

	while (ap->conns) {
		conn_close(ap->conns, "dropped");
		n++;
	}
	return n;
}

void fake_airplay_set_mrp(struct fake_airplay *ap, struct fake_mrp *mrp)
{
	ap->mrp = mrp;
	fake_tunnels_set_mrp(ap->tunnels, mrp);
}

int fake_airplay_tunnel_drop(struct fake_airplay *ap, const char *which, size_t *n,
			     struct atv_err *err)
{
	*n = 0;
	if (strcmp(which, "control") == 0) {
		/* the control connections that carry a session */
		for (struct conn *c = ap->conns, *next; c; c = next) {
			next = c->next;
			if (c->tun) {
				conn_close(c, "dropped with its tunnel");
				(*n)++;
			}
		}
		return 0;
	}
	return fake_tunnels_drop(ap->tunnels, which, n, err);
}

int fake_airplay_tunnel_hostile(struct fake_airplay *ap, const char *mode, struct atv_err *err)
{
	return fake_tunnels_hostile(ap->tunnels, mode, err);
}

struct fake_audio *fake_airplay_audio(struct fake_airplay *ap)
{
	return ap ? ap->audio : NULL;
}

json_t *fake_airplay_tunnel_state(struct fake_airplay *ap)
{
	json_t *o = fake_tunnels_state(ap->tunnels);

	if (json_is_object(o) && ap->mrp) {
		json_t *m = fake_mrp_state(ap->mrp);

		json_object_set(o, "mrp_peers", json_object_get(m, "tunnel_peers"));
		json_decref(m);
	}
	return o;
}

size_t fake_airplay_revoke(struct fake_airplay *ap)
{
	struct atv_err err = {0, ""};
	size_t n = ap->pairings.n;

	atv_info("airplay: forgetting %zu pairings", n);
	if (fake_pairings_forget(&ap->pairings, &err) < 0)
		atv_warn("airplay: %s", err.msg);
	return n;
}

json_t *fake_airplay_state(struct fake_airplay *ap)
{
	json_t *o = json_object(), *v = json_null(), *ids = json_array();
	char id[2 * ATV_HAP_ID_MAX + 1];
	size_t verified = 0, encrypted = 0;

	for (const struct conn *c = ap->conns; c; c = c->next) {
		verified += c->verified;
		encrypted += atv_channel_encrypted(c->ch) != 0;
	}
	for (size_t i = 0; i < ap->pairings.n; i++) {
		fake_pairing_id_text(id, sizeof id, ap->pairings.p[i].id, ap->pairings.p[i].idlen);
		json_array_append_new(ids, json_string(id));
	}
	if (ap->video) {
		struct video *vd = ap->video;

		/* looking at the video moves its clock, as /playback-info does */
		video_update(ap, vd, now_ms());
		v = json_pack("{s:s, s:f, s:s, s:f, s:f, s:f}", "url", vd->url, "start", vd->start,
			      "state", vstate_name(vd), "position", video_position(ap, vd), "rate",
			      vd->rate, "duration", ap->duration);
	}
	json_object_set_new(o, "airplay_port",
			    ap->serving ? json_integer(ap->port) : json_null());
	json_object_set_new(o, "pairings", json_integer((json_int_t)ap->pairings.n));
	json_object_set_new(o, "pairing_ids", ids);
	json_object_set_new(o, "connections", json_integer((json_int_t)ap->n_conns));
	json_object_set_new(o, "verified_connections", json_integer((json_int_t)verified));
	json_object_set_new(o, "encrypted_connections", json_integer((json_int_t)encrypted));
	json_object_set_new(o, "verified", json_integer((json_int_t)ap->n_verified));
	json_object_set_new(o, "transient", json_integer((json_int_t)ap->n_transient));
	json_object_set_new(o, "encrypted", json_integer((json_int_t)ap->n_encrypted));
	json_object_set_new(o, "requests", json_deep_copy(ap->log));
	json_object_set_new(o, "video", v ? v : json_null());
	json_object_set_new(o, "hostile", json_string(hostile_names[ap->hostile]));
	json_object_set_new(o, "fail_rules", json_integer((json_int_t)ap->n_fails));
	json_object_set_new(o, "duration", json_real(ap->duration));
	json_object_set_new(o, "loading_ms", json_integer(ap->loading_ms));
	json_object_set_new(o, "tunnel", fake_tunnels_state(ap->tunnels));
	return o;
}

/* ---- setup ---- */

/* The accessory's long-term key: derived from its pairing identity, so a
 * restarted fake is the same accessory to controllers paired before. */
static int derive_seed(struct fake_airplay *ap, struct atv_err *err)
{
	static const char prefix[] = "fake-atv-airplay:";
	uint8_t h[ATV_SHA512_LEN];
	size_t n = strlen(ap->pi), p = sizeof prefix - 1;
	char *s = malloc(p + n + 1);
	int r;

	if (!s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(s, prefix, p);
	memcpy(s + p, ap->pi, n + 1);
	r = atv_sha512(s, p + n, h, err);
	free(s);
	if (r == 0)
		memcpy(ap->seed, h, sizeof ap->seed);
	atv_crypto_wipe(h, sizeof h);
	if (r == 0)
		r = atv_ed25519_pub(ap->seed, ap->pub, err);
	return r;
}

/* TXT features "0xLO,0xHI" (or one value) and flags "0x244". */
static void read_txt(struct fake_airplay *ap)
{
	char *f = fake_service_txt(ap->svc, "features"), *fl = fake_service_txt(ap->svc, "flags");
	char *end;

	if (f) {
		uint64_t lo = strtoull(f, &end, 0), hi = 0;

		if (*end == ',')
			hi = strtoull(end + 1, NULL, 0);
		ap->features = (hi & 0xffffffffu) << 32 | (lo & 0xffffffffu);
	}
	if (fl)
		ap->flags = (uint32_t)strtoul(fl, NULL, 0);
	free(f);
	free(fl);
	ap->ap2 = (ap->features & (FEATURE_UNIFIED | FEATURE_COREUTILS)) != 0;
	ap->deviceid = fake_service_txt(ap->svc, "deviceid");
	ap->model = fake_service_txt(ap->svc, "model");
	ap->srcvers = fake_service_txt(ap->svc, "srcvers");
	ap->osvers = fake_service_txt(ap->svc, "osvers");
}

/* The device file's optional "airplay":{"duration":S,"loading_ms":MS,
 * "error":"URL-SUBSTRING"}. */
static int read_settings(struct fake_airplay *ap, struct atv_err *err)
{
	json_t *o = json_object_get(ap->dev->json, "airplay"), *d, *l, *e;

	if (!o)
		return 0;
	d = json_object_get(o, "duration");
	l = json_object_get(o, "loading_ms");
	e = json_object_get(o, "error");
	if (!json_is_object(o) || (d && !(json_is_number(d) && json_number_value(d) > 0)) ||
	    (l && !(json_is_integer(l) && json_integer_value(l) >= 0 &&
		    json_integer_value(l) <= 600000)) ||
	    (e && !json_is_string(e)))
		return atv_err_set(err, ATV_E_INPUT,
				   "\"airplay\" must be {\"duration\":SECONDS, "
				   "\"loading_ms\":MS, \"error\":\"URL-SUBSTRING\"}");
	if (d)
		ap->duration = json_number_value(d);
	if (l)
		ap->loading_ms = (int)json_integer_value(l);
	if (e && !(ap->error_match = strdup(json_string_value(e))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static int listen_on(struct fake_airplay *ap, const char *address, int port, struct atv_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = ap->addr};
	socklen_t slen = sizeof sa;
	int one = 1, r;

	sa.sin_port = htons((uint16_t)port);
	ap->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ap->lfd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "airplay: socket");
	setsockopt(ap->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ap->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ap->lfd, 16) < 0 ||
	    getsockname(ap->lfd, (struct sockaddr *)&sa, &slen) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "airplay: unable to listen on %s:%d",
				   address, port);
	ap->port = ntohs(sa.sin_port);
	if ((r = fake_loop_add_fd(ap->loop, ap->lfd, POLLIN, on_accept, ap, err)) < 0)
		return r;
	return 0;
}

int fake_airplay_new(struct fake_loop *loop, struct fake_device *dev,
		     const struct fake_airplay_opts *o, struct fake_airplay **out,
		     struct atv_err *err)
{
	struct fake_service *raop = fake_device_service(dev, RAOP);
	struct fake_airplay *ap;
	int r;

	*out = ap = calloc(1, sizeof *ap);
	if (!ap)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	ap->loop = loop;
	ap->dev = dev;
	ap->lfd = ap->port = -1;
	fake_pairings_init(&ap->pairings, "airplay", MAX_PAIRINGS);
	ap->duration = DEFAULT_DURATION;
	ap->loading_ms = DEFAULT_LOADING_MS;
	snprintf(ap->pin, sizeof ap->pin, "%s", dev->pin ? dev->pin : FAKE_DEFAULT_PIN);
	atv_buf_init(&ap->reply, REPLY_MAX);
	ap->log = json_array();
	if (!ap->log)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if ((r = read_settings(ap, err)) < 0)
		return r;
	ap->svc = fake_device_service(dev, AIRPLAY);
	if (!ap->svc)
		return 0;
	read_txt(ap);
	/* the pairing identity is TXT pi; an old device without one pairs
	 * under its deviceid */
	ap->pi = fake_service_txt(ap->svc, "pi");
	if (!ap->pi && ap->deviceid)
		ap->pi = strdup(ap->deviceid);
	if (!ap->pi || !*ap->pi || strlen(ap->pi) > ATV_HAP_ID_MAX) {
		atv_warn("airplay: the %s service has no usable pi or deviceid: not serving it",
			 AIRPLAY);
		ap->svc = NULL;
		return 0;
	}
	if ((r = derive_seed(ap, err)) < 0)
		return r;
	if (o->pairings && (r = fake_pairings_load(&ap->pairings, o->pairings, err)) < 0)
		return r;
	if (!o->address || inet_pton(AF_INET, o->address, &ap->addr) != 1)
		return atv_err_set(err, ATV_E_USAGE, "airplay: no IPv4 address to listen on");
	if ((r = listen_on(ap, o->address, o->port < 0 ? ap->svc->port : o->port, err)) < 0)
		return r;
	if ((r = fake_tunnels_new(loop, dev, ap->addr, &ap->tunnels, err)) < 0)
		return r;
	if ((r = fake_audio_new(loop, dev, ap->addr, &ap->audio, err)) < 0)
		return r;
	ap->serving = true;
	/* mDNS announces the port really listened on (RAOP shares it) */
	if (raop && raop->port == ap->svc->port) {
		raop->port = (uint16_t)ap->port;
		raop->served = true;
	}
	ap->svc->port = (uint16_t)ap->port;
	ap->svc->served = true;
	atv_info("airplay on %s:%d (airplay %d%s)", o->address, ap->port, ap->ap2 ? 2 : 1,
		 ap->flags & FLAGS_PAIRING_MANDATORY ? ", pairing required" : "");
	return 0;
}

void fake_airplay_free(struct fake_airplay *ap)
{
	if (!ap)
		return;
	while (ap->conns)
		conn_close(ap->conns, NULL);
	if (ap->lfd >= 0) {
		fake_loop_remove_fd(ap->loop, ap->lfd);
		close(ap->lfd);
	}
	fake_tunnels_free(ap->tunnels);
	fake_audio_free(ap->audio);
	json_decref(ap->log);
	atv_buf_release(&ap->reply);
	video_free(ap->video);
	free(ap->pi);
	free(ap->deviceid);
	free(ap->model);
	free(ap->srcvers);
	free(ap->osvers);
	free(ap->error_match);
	fake_pairings_release(&ap->pairings);
	atv_crypto_wipe(ap->seed, sizeof ap->seed);
	free(ap);
}
