/* airplay-server.c - the fake's AirPlay server: what an Apple TV (or an
 * AirPlay 2 speaker) answers on its _airplay._tcp port (protocols.md 4.4,
 * 4.9; the wire contract the controller in lib/airplay.c speaks too).
 *
 * Every accepted TCP connection gets a channel (lib/airplay_channel.h): the TCP
 * side stays with us, the other end of a socket pair goes to libmicrohttpd
 * through MHD_add_connection, so MHD only ever sees plain HTTP.  Once a
 * pair-verify (AirPlay 2) or a transient pair-setup finished and MHD has
 * written the M4 response into the pair, atv_channel_encrypt() makes every
 * later byte a HAP block both ways.  MHD runs on the fake's loop
 * (mhd-loop.c); the channels' fds are registered with the loop and pumped
 * when ready.
 *
 * MHD connections are matched to channels by the MHD side's fd
 * (MHD_CONNECTION_INFO_CONNECTION_FD); a channel whose MHD connection
 * closed forgets that fd (NOTIFY_CONNECTION), so a reused fd number never
 * finds an old channel.  A channel is freed as soon as it finishes or
 * fails; MHD then sees EOF on its end and cleans up by itself.
 *
 * The video is a small state machine driven by the clock: loading for
 * loading_ms, then playing from the start position at the current rate
 * until duration, then ended (or error instead of playing, for URLs the
 * test marked).  It is computed whenever it is looked at; no timers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <plist/plist.h>

#include "buf.h"
#include "bytes.h"
#include "airplay_channel.h"
#include "crypto.h"
#include "fake.h"
#include "hap.h"
#include "jsonl.h"
#include "log.h"
#include "tlv8.h"

#define AIRPLAY		   "_airplay._tcp"
#define RAOP		   "_raop._tcp"
#define MAX_CONNS	   32
#define MAX_PAIRINGS	   16
#define MAX_FAILS	   16
#define BODY_MAX	   ((size_t)64 << 10) /* request bodies: /play, TLV8 */
#define URL_MAX		   8192
#define REASON_MAX	   512
#define CONN_TIMEOUT_S	   120
#define HUGE_BODY	   ((uint64_t)64 << 20) /* hostile huge-body: announced bytes */
#define DEEP_PLIST	   1000			/* hostile deep-plist: nested arrays */
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

/* One TCP connection and its channel. */
struct conn {
	struct fake_airplay *ap;
	struct conn *next;
	struct atv_channel *ch;
	int local_fd;	      /* MHD's end of the pair; -1 once MHD closed it */
	struct pollfd reg[2]; /* what is registered with the loop */
	size_t n_reg;
	char name[32];	/* the peer, for logs */
	bool verified;	/* pair-verify or transient pair-setup done */
	bool switching; /* the M4 answer is on its way: encrypt once written */
	struct atv_hap_cipher pending;
	struct atv_hap_setup *setup;
	struct atv_hap_verify *verify;
};

/* One HTTP request (MHD's per-request context). */
struct req {
	struct fake_mhd_req http; /* the body, up to BODY_MAX */
	bool encrypt_after;	  /* switch the connection when this answer is written */
	int fd;			  /* MHD's fd of the connection */
};

struct fake_airplay {
	struct fake_loop *loop;
	struct fake_device *dev;
	struct fake_service *svc;
	struct fake_mhd mhd;
	int lfd, port;
	struct in_addr addr;
	/* identity */
	char *pi, *deviceid, *model, *srcvers;
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
	/* test knobs */
	struct fail_rule fails[MAX_FAILS];
	size_t n_fails;
	int hostile;
	double duration;
	int loading_ms;
	char *error_match;
	/* the player */
	struct video *video;
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

/* ---- connections and their channels ---- */

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
	for (size_t i = 0; i < c->n_reg; i++)
		fake_loop_remove_fd(ap->loop, c->reg[i].fd);
	/* closes the TCP socket and our end of the pair: MHD reads EOF */
	atv_channel_free(c->ch);
	atv_hap_setup_free(c->setup);
	atv_hap_verify_free(c->verify);
	atv_hap_cipher_wipe(&c->pending);
	free(c);
	fake_mhd_kick(&ap->mhd);
}

static void on_conn_fd(struct fake_loop *loop, int fd, short revents, void *ctx);

/* Register what the channel wants to wait for now (nothing while the
 * encryption switch is pending: the controller cannot send sealed bytes
 * before it has M4, and M4 must not leave before we switch). */
static void conn_watch(struct conn *c)
{
	struct fake_airplay *ap = c->ap;
	struct pollfd want[2];
	size_t n = c->switching ? 0 : atv_channel_pollfds(c->ch, want);

	for (size_t i = 0; i < c->n_reg; i++) {
		bool keep = false;

		for (size_t j = 0; j < n; j++)
			keep |= want[j].fd == c->reg[i].fd;
		if (!keep)
			fake_loop_remove_fd(ap->loop, c->reg[i].fd);
	}
	for (size_t j = 0; j < n; j++) {
		bool had = false;

		for (size_t i = 0; i < c->n_reg; i++)
			had |= want[j].fd == c->reg[i].fd;
		if (had)
			fake_loop_set_events(ap->loop, want[j].fd, want[j].events);
		else if (fake_loop_add_fd(ap->loop, want[j].fd, want[j].events, on_conn_fd, c,
					  NULL) < 0)
			atv_warn("airplay %s: unable to watch fd %d", c->name, want[j].fd);
	}
	memcpy(c->reg, want, n * sizeof want[0]);
	c->n_reg = n;
}

/* Move bytes; 0 while the connection lives (else c is freed). */
static int conn_pump(struct conn *c)
{
	struct atv_err err = {0, ""};
	int r = atv_channel_pump(c->ch, &err);

	if (r == -ATV_E_UNREACHABLE) {
		conn_close(c, NULL);
		return r;
	}
	if (r < 0) {
		conn_close(c, err.msg);
		return r;
	}
	conn_watch(c);
	return 0;
}

static void on_conn_fd(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	(void)loop;
	(void)fd;
	(void)revents;
	conn_pump(ctx);
}

static struct conn *conn_by_fd(struct fake_airplay *ap, int fd)
{
	for (struct conn *c = ap->conns; c; c = c->next)
		if (fd >= 0 && c->local_fd == fd)
			return c;
	return NULL;
}

static int mhd_fd(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

	return i ? i->connect_fd : -1;
}

static void on_mhd_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct conn *c;

	(void)socket_ctx;
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	/* called before MHD closes the fd, so the number is still ours */
	c = conn_by_fd(cls, mhd_fd(mc));
	if (c)
		c->local_fd = -1;
}

static void on_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_airplay *ap = ctx;
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	struct atv_err err = {0, ""};
	char a[INET_ADDRSTRLEN];
	struct conn *c;
	int tfd, lfd;

	(void)loop;
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
	inet_ntop(AF_INET, &peer.sin_addr, a, sizeof a);
	snprintf(c->name, sizeof c->name, "%s:%u", a, ntohs(peer.sin_port));
	c->ch = atv_channel_new(tfd, &err); /* owns tfd, even when it fails */
	if (!c->ch) {
		atv_warn("airplay %s: %s", c->name, err.msg);
		free(c);
		return;
	}
	c->next = ap->conns;
	ap->conns = c;
	ap->n_conns++;
	/* MHD owns (and closes) its end from here; the peer address it
	 * records is the TCP peer's */
	lfd = atv_channel_take_local(c->ch);
	c->local_fd = lfd;
	if (MHD_add_connection(ap->mhd.daemon, lfd, (struct sockaddr *)&peer, sizeof peer) !=
	    MHD_YES) {
		c->local_fd = -1;
		conn_close(c, "libmicrohttpd refused the connection");
		return;
	}
	atv_debug("airplay %s: connected", c->name);
	conn_watch(c);
	fake_mhd_run(&ap->mhd);
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

static enum MHD_Result respond(struct MHD_Connection *mc, unsigned status, const void *p,
			       size_t len, const char *type)
{
	return fake_mhd_respond(mc, status, p, len, type, MHD_HTTP_HEADER_SERVER, SERVER);
}

static enum MHD_Result respond_status(struct MHD_Connection *mc, unsigned status)
{
	return respond(mc, status, "", 0, NULL);
}

static enum MHD_Result respond_plist(struct MHD_Connection *mc, plist_t p)
{
	char *bin = NULL;
	uint32_t len = 0;
	enum MHD_Result r;

	plist_to_bin(p, &bin, &len);
	plist_free(p);
	if (!bin)
		return respond_status(mc, MHD_HTTP_INTERNAL_SERVER_ERROR);
	r = respond(mc, MHD_HTTP_OK, bin, len, BPLIST_TYPE);
	plist_to_bin_free(bin);
	return r;
}

/* hostile huge-body: HUGE_BODY bytes announced, produced as read */
static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	memset(buf, 'A', max);
	return (ssize_t)max;
}

static enum MHD_Result respond_huge(struct MHD_Connection *mc)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(HUGE_BODY, 16384, huge_reader, NULL, NULL);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, BPLIST_TYPE);
	r = MHD_queue_response(mc, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* hostile deep-plist: a valid binary plist of DEEP_PLIST arrays each
 * holding the next one, the innermost empty.  Object i is at offset
 * 8 + 3 i ("bplist00", then 0xA1 + a 2-byte reference each). */
static enum MHD_Result respond_deep(struct MHD_Connection *mc)
{
	size_t n = DEEP_PLIST + 1, objs = 8 + 3 * DEEP_PLIST + 1, len = objs + 4 * n + 32;
	uint8_t *b = calloc(1, len), *t;
	enum MHD_Result r;

	if (!b)
		return MHD_NO;
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
	r = respond(mc, MHD_HTTP_OK, b, len, BPLIST_TYPE);
	free(b);
	return r;
}

/* hostile plist-bomb: {"duration": arrays of 14 references to the next
 * one, 12 deep} in 249 bytes, 14^12 nodes for a parser that copies shared
 * references (issue 9 point 11).  Objects: the dict, its key, the 12
 * arrays, an integer; 1-byte offsets and references. */
static enum MHD_Result respond_bomb(struct MHD_Connection *mc)
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
	return respond(mc, MHD_HTTP_OK, b, len + 32, BPLIST_TYPE);
}

/* hostile bad-block / huge-block: raw bytes on the TCP socket where a
 * sealed answer belongs, then the connection ends (the handler returns
 * MHD_NO, MHD closes its end, the channel shuts TCP down). */
static enum MHD_Result send_hostile_block(struct conn *c, int mode)
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
	if (send(atv_channel_tcp_fd(c->ch), b, n, MSG_NOSIGNAL) < 0)
		atv_debug("airplay %s: %s", c->name, strerror(errno));
	return MHD_NO;
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

static const char *arg(struct MHD_Connection *mc, const char *key)
{
	return MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, key);
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

static enum MHD_Result do_info(struct fake_airplay *ap, struct MHD_Connection *mc)
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
	if (ap->hostile == H_HUGE_BODY) {
		plist_free(d);
		return respond_huge(mc);
	}
	return respond_plist(mc, d);
}

static enum MHD_Result do_pin_start(struct fake_airplay *ap, struct MHD_Connection *mc)
{
	const char *who = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Apple-Client-Name");

	/* a real device shows the PIN on screen (and who asks); the tests
	 * read the log */
	atv_info("airplay pin: %s (for %.64s)", ap->pin, who ? who : "an unnamed client");
	return respond_status(mc, MHD_HTTP_OK);
}

static enum MHD_Result respond_tlv(struct MHD_Connection *mc, const struct atv_buf *out)
{
	return respond(mc, MHD_HTTP_OK, out->data ? out->data : (const uint8_t *)"", out->len,
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

/* Both directions sealed from the next byte on: out seals with the
 * Control-Read key, in opens with the Control-Write key. */
static void plan_encrypt(struct conn *c, struct req *rq)
{
	c->switching = true;
	rq->encrypt_after = true;
	conn_watch(c); /* stop pumping until the answer is written */
}

static enum MHD_Result do_pair_setup(struct fake_airplay *ap, struct conn *c, struct req *rq,
				     struct MHD_Connection *mc)
{
	struct atv_err err = {0, ""};
	struct atv_hap_peer peer;
	struct atv_buf out;
	uint64_t state, flags;
	bool transient;
	enum MHD_Result res;
	int r;

	if (!c)
		return MHD_NO;
	if (tlv_state(&rq->http.body, &state, &flags, &err) < 0) {
		atv_info("airplay %s: bad pair-setup message: %s", c->name, err.msg);
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
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
			return respond_status(mc, MHD_HTTP_INTERNAL_SERVER_ERROR);
		}
		atv_info("airplay %s: %spair-setup started", c->name,
			 transient ? "transient " : "");
	} else if (!c->setup) {
		atv_info("airplay %s: pair-setup M%" PRIu64 " without M1", c->name, state);
		atv_hap_error_message(&out, (uint8_t)(state + 1), ATV_TLV8_ERR_UNKNOWN, 0, NULL);
		goto reply;
	}
	r = atv_hap_setup_step(c->setup, rq->http.body.data, rq->http.body.len, &out, &err);
	if (r < 0) {
		atv_info("airplay %s: pair-setup failed: %s", c->name, err.msg);
		atv_hap_setup_free(c->setup);
		c->setup = NULL;
	} else if (r == ATV_HAP_DONE && atv_hap_setup_transient(c->setup)) {
		if (atv_hap_setup_cipher(c->setup, CONTROL_SALT, CONTROL_WRITE, CONTROL_READ,
					 &c->pending, &err) < 0) {
			atv_warn("airplay %s: %s", c->name, err.msg);
			atv_buf_release(&out);
			return MHD_NO;
		}
		c->verified = true;
		ap->n_transient++;
		atv_info("airplay %s: transient pairing done", c->name);
		plan_encrypt(c, rq);
		atv_hap_setup_free(c->setup);
		c->setup = NULL;
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
	res = respond_tlv(mc, &out);
	atv_buf_release(&out);
	return res;
}

static enum MHD_Result do_pair_verify(struct fake_airplay *ap, struct conn *c, struct req *rq,
				      struct MHD_Connection *mc)
{
	struct atv_err err = {0, ""};
	struct atv_hap_peer peer;
	struct atv_buf out;
	uint64_t state, flags;
	enum MHD_Result res;
	int r;

	if (!c)
		return MHD_NO;
	if (tlv_state(&rq->http.body, &state, &flags, &err) < 0) {
		atv_info("airplay %s: bad pair-verify message: %s", c->name, err.msg);
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
	}
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	if (state == 1) {
		atv_hap_verify_free(c->verify);
		c->verify = atv_hap_verify_server_new(ap->pi, ap->seed, fake_pairings_lookup,
						      &ap->pairings, &err);
		if (!c->verify) {
			atv_warn("airplay %s: %s", c->name, err.msg);
			atv_buf_release(&out);
			return respond_status(mc, MHD_HTTP_INTERNAL_SERVER_ERROR);
		}
	} else if (!c->verify) {
		atv_hap_error_message(&out, (uint8_t)(state + 1), ATV_TLV8_ERR_UNKNOWN, 0, NULL);
		goto reply;
	}
	r = atv_hap_verify_step(c->verify, rq->http.body.data, rq->http.body.len, &out, &err);
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
		/* AirPlay 2 seals everything after M4; AirPlay 1 stays plain */
		if (ap->ap2) {
			if (atv_hap_verify_cipher(c->verify, CONTROL_SALT, CONTROL_WRITE,
						  CONTROL_READ, &c->pending, &err) < 0) {
				atv_warn("airplay %s: %s", c->name, err.msg);
				atv_buf_release(&out);
				return MHD_NO;
			}
			plan_encrypt(c, rq);
		}
		atv_hap_verify_free(c->verify);
		c->verify = NULL;
	}
reply:
	res = respond_tlv(mc, &out);
	atv_buf_release(&out);
	return res;
}

static enum MHD_Result do_play(struct fake_airplay *ap, struct req *rq, struct MHD_Connection *mc)
{
	plist_t p = NULL, loc, start;
	char *url = NULL;
	double pos = 0;
	struct video *v;

	if (rq->http.body.len > 0 && rq->http.body.len <= UINT32_MAX)
		plist_from_memory((const char *)rq->http.body.data, (uint32_t)rq->http.body.len,
				  &p);
	if (!p || plist_get_node_type(p) != PLIST_DICT) {
		atv_info("airplay: /play without a plist dict");
		plist_free(p);
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
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
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		free(url);
		return respond_status(mc, MHD_HTTP_INTERNAL_SERVER_ERROR);
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
	return respond_status(mc, MHD_HTTP_OK);
}

static enum MHD_Result do_playback_info(struct fake_airplay *ap, struct MHD_Connection *mc)
{
	struct video *v = ap->video;
	plist_t d = plist_new_dict(), e, ranges, range;
	char *bin = NULL;
	uint32_t len = 0;
	enum MHD_Result r;

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
	case H_HUGE_BODY: plist_free(d); return respond_huge(mc);
	case H_DEEP: plist_free(d); return respond_deep(mc);
	case H_BOMB: plist_free(d); return respond_bomb(mc);
	case H_PLIST:
		/* the header and half the objects, with a Content-Length
		 * that is right for what is sent */
		plist_to_bin(d, &bin, &len);
		plist_free(d);
		if (!bin)
			return MHD_NO;
		r = respond(mc, MHD_HTTP_OK, bin, len > 16 ? len / 2 : len, BPLIST_TYPE);
		plist_to_bin_free(bin);
		return r;
	default: return respond_plist(mc, d);
	}
}

static enum MHD_Result do_scrub(struct fake_airplay *ap, struct MHD_Connection *mc,
				const char *method)
{
	struct video *v = ap->video;
	char text[128];
	double pos;

	if (v)
		video_update(ap, v, now_ms());
	if (strcmp(method, "GET") == 0) {
		/* AirPlay 1's text/parameters answer */
		snprintf(text, sizeof text, "duration: %.6f\nposition: %.6f\n",
			 v && v->state == V_PLAYING ? ap->duration : 0.0,
			 v ? video_position(ap, v) : 0.0);
		return respond(mc, MHD_HTTP_OK, text, strlen(text), "text/parameters");
	}
	if (parse_double(arg(mc, "position"), &pos) < 0 || pos < 0)
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
	if (v && v->state == V_LOADING) {
		v->start = pos;
	} else if (v && v->state == V_PLAYING) {
		v->pos = clamp_pos(pos, ap->duration);
		v->t_pos = now_ms();
	}
	atv_debug("airplay: scrub to %.3f", pos);
	return respond_status(mc, MHD_HTTP_OK);
}

static enum MHD_Result do_rate(struct fake_airplay *ap, struct MHD_Connection *mc)
{
	struct video *v = ap->video;
	double rate;

	if (parse_double(arg(mc, "value"), &rate) < 0 || rate < -64 || rate > 64)
		return respond_status(mc, MHD_HTTP_BAD_REQUEST);
	if (v) {
		/* the position so far at the old rate, then the new one */
		video_update(ap, v, now_ms());
		v->rate = rate;
	}
	return respond_status(mc, MHD_HTTP_OK);
}

static enum MHD_Result do_stop(struct fake_airplay *ap, struct MHD_Connection *mc)
{
	if (ap->video)
		atv_info("airplay: video stopped");
	video_free(ap->video);
	ap->video = NULL;
	return respond_status(mc, MHD_HTTP_OK);
}

/* A refusal the test asked for: the rule for this path (or "*"). */
static struct fail_rule *fail_for(struct fake_airplay *ap, const char *url)
{
	for (size_t i = 0; i < ap->n_fails; i++)
		if (strcmp(ap->fails[i].path, url) == 0 || strcmp(ap->fails[i].path, "*") == 0)
			return &ap->fails[i];
	return NULL;
}

static enum MHD_Result do_fail(struct fake_airplay *ap, struct fail_rule *f,
			       struct MHD_Connection *mc)
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
	return respond(mc, status, reason, strlen(reason), reason[0] ? "text/plain" : NULL);
}

static bool is_pairing_path(const char *url)
{
	return strcmp(url, "/info") == 0 || strcmp(url, "/pair-pin-start") == 0 ||
	       strcmp(url, "/pair-setup") == 0 || strcmp(url, "/pair-verify") == 0;
}

static enum MHD_Result dispatch(struct fake_airplay *ap, struct req *rq, struct MHD_Connection *mc,
				const char *url, const char *method)
{
	struct conn *c = conn_by_fd(ap, rq->fd);
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	struct fail_rule *f;

	atv_debug("airplay %s: %s %s", c ? c->name : "?", method, url);
	fake_mhd_log_request(&ap->mhd, method, url);
	if (c && atv_channel_encrypted(c->ch) &&
	    (ap->hostile == H_BAD_BLOCK || ap->hostile == H_HUGE_BLOCK))
		return send_hostile_block(c, ap->hostile);
	if ((f = fail_for(ap, url)))
		return do_fail(ap, f, mc);
	if (rq->http.too_big)
		return respond_status(mc, MHD_HTTP_CONTENT_TOO_LARGE);
	/* pairing required: only pairing itself without it (pyatv: 470
	 * Connection Authorization Required) */
	if ((ap->flags & FLAGS_PAIRING_MANDATORY) && !is_pairing_path(url) && !(c && c->verified))
		return respond(mc, 470, "", 0, NULL);
	if (strcmp(url, "/info") == 0 && get)
		return do_info(ap, mc);
	if (strcmp(url, "/pair-pin-start") == 0 && post)
		return do_pin_start(ap, mc);
	if (strcmp(url, "/pair-setup") == 0 && post)
		return do_pair_setup(ap, c, rq, mc);
	if (strcmp(url, "/pair-verify") == 0 && post)
		return do_pair_verify(ap, c, rq, mc);
	if (strcmp(url, "/play") == 0 && post)
		return do_play(ap, rq, mc);
	if (strcmp(url, "/playback-info") == 0 && get)
		return do_playback_info(ap, mc);
	if (strcmp(url, "/scrub") == 0 && (get || post))
		return do_scrub(ap, mc, method);
	if (strcmp(url, "/rate") == 0 && post)
		return do_rate(ap, mc);
	if (strcmp(url, "/stop") == 0 && post)
		return do_stop(ap, mc);
	if (strcmp(url, "/info") == 0 || strcmp(url, "/pair-pin-start") == 0 ||
	    strcmp(url, "/pair-setup") == 0 || strcmp(url, "/pair-verify") == 0 ||
	    strcmp(url, "/play") == 0 || strcmp(url, "/playback-info") == 0 ||
	    strcmp(url, "/rate") == 0 || strcmp(url, "/stop") == 0)
		return respond_status(mc, MHD_HTTP_METHOD_NOT_ALLOWED);
	return respond_status(mc, MHD_HTTP_NOT_FOUND);
}

/* A complete request (fake_mhd_request_fn). */
static enum MHD_Result on_request(void *cls, void *req, struct MHD_Connection *mc, const char *url,
				  const char *method)
{
	struct req *rq = req;

	rq->fd = mhd_fd(mc);
	return dispatch(cls, rq, mc, url, method);
}

static void on_completed(void *cls, void *req, enum MHD_RequestTerminationCode toe)
{
	struct fake_airplay *ap = cls;
	const struct req *rq = req;
	struct atv_err err = {0, ""};
	struct conn *c = rq->encrypt_after ? conn_by_fd(ap, rq->fd) : NULL;

	if (!c)
		return;
	c->switching = false;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		conn_close(c, "the pairing answer was not delivered");
		return;
	}
	/* M4 is in the socket pair: the channel sends it plain, then seals */
	if (atv_channel_encrypt(c->ch, &c->pending, &err) < 0) {
		conn_close(c, err.msg);
		return;
	}
	atv_hap_cipher_wipe(&c->pending);
	ap->n_encrypted++;
	atv_info("airplay %s: encrypted from here on", c->name);
	conn_pump(c);
}

/* ---- control ---- */

int fake_airplay_port(const struct fake_airplay *ap)
{
	return ap && ap->mhd.daemon ? ap->port : -1;
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
	int i = fake_mhd_hostile(hostile_names, mode, "airplay", fake_airplay_hostile_names(), err);

	if (i < 0)
		return i;
	ap->hostile = i;
	return 0;
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
			    ap->mhd.daemon ? json_integer(ap->port) : json_null());
	json_object_set_new(o, "pairings", json_integer((json_int_t)ap->pairings.n));
	json_object_set_new(o, "pairing_ids", ids);
	json_object_set_new(o, "connections", json_integer((json_int_t)ap->n_conns));
	json_object_set_new(o, "verified_connections", json_integer((json_int_t)verified));
	json_object_set_new(o, "encrypted_connections", json_integer((json_int_t)encrypted));
	json_object_set_new(o, "verified", json_integer((json_int_t)ap->n_verified));
	json_object_set_new(o, "transient", json_integer((json_int_t)ap->n_transient));
	json_object_set_new(o, "encrypted", json_integer((json_int_t)ap->n_encrypted));
	json_object_set_new(o, "requests", json_deep_copy(ap->mhd.log));
	json_object_set_new(o, "video", v ? v : json_null());
	json_object_set_new(o, "hostile", json_string(hostile_names[ap->hostile]));
	json_object_set_new(o, "fail_rules", json_integer((json_int_t)ap->n_fails));
	json_object_set_new(o, "duration", json_real(ap->duration));
	json_object_set_new(o, "loading_ms", json_integer(ap->loading_ms));
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
	if ((r = fake_mhd_init(&ap->mhd, loop, sizeof(struct req), BODY_MAX, on_request,
			       on_completed, ap, err)) < 0 ||
	    (r = read_settings(ap, err)) < 0)
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
	/* no listening socket of its own: connections come through
	 * MHD_add_connection, one socket pair per TCP connection */
	ap->mhd.daemon = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, fake_mhd_on_request, &ap->mhd,
	    MHD_OPTION_NOTIFY_COMPLETED, fake_mhd_on_completed, &ap->mhd,
	    MHD_OPTION_NOTIFY_CONNECTION, on_mhd_connection, ap, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
	    MHD_OPTION_END);
	if (!ap->mhd.daemon)
		return atv_err_set(err, ATV_E_IO, "airplay: unable to start libmicrohttpd");
	if ((r = fake_mhd_attach(&ap->mhd, "airplay", err)) < 0)
		return r;
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
	fake_mhd_release(&ap->mhd);
	video_free(ap->video);
	free(ap->pi);
	free(ap->deviceid);
	free(ap->model);
	free(ap->srcvers);
	free(ap->error_match);
	fake_pairings_release(&ap->pairings);
	atv_crypto_wipe(ap->seed, sizeof ap->seed);
	free(ap);
}
