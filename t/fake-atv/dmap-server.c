/* dmap-server.c - the fake's DMAP (DAAP/DACP) server: what an Apple TV 3
 * answers on port 3689 to the Remote app (protocols.md 4.8).
 *
 * libmicrohttpd runs on the fake's loop (mhd-loop.c), so everything
 * happens on the loop's one thread and the player state needs no lock.
 * A held long poll (playstatusupdate with the current revision) is a
 * suspended MHD connection; a change of the player (fake_player_changed,
 * which every command and every control `set' ends in) bumps the revision and
 * resumes them, which MHD signals through its inter-thread channel on its
 * epoll fd. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "avahi_dl.h"
#include "buf.h"
#include "dmap.h"
#include "dmap_pair.h"
#include "fake.h"
#include "http.h"
#include "log.h"

#define TOUCHABLE	"_touch-able._tcp"
#define APPLETV_V2	"_appletv-v2._tcp"
#define MAX_SESSIONS	64
#define MAX_GUIDS	64
#define BODY_MAX	((size_t)64 << 10) /* request bodies: controlpromptentry is tiny */
#define OUT_MAX		((size_t)1 << 20)
#define LONGPOLL_MS	60000 /* a held playstatusupdate answers after this anyway */
#define CONN_TIMEOUT_S	120   /* idle keep-alive connections: longer than a long poll */
#define MAX_CONNS	256   /* a held poll whose client left stays until LONGPOLL_MS */
#define FIRST_SESSION	0x2a5c
#define DEEP_NESTING	200 /* containers in hostile deep-nesting bodies */
#define DMAP_TYPE	"application/x-dmap-tagged"
#define DAAP_SERVER	"iTunes/11.1b37 (Fake)"
#define PAIR_TIMEOUT_MS 10000
#define LOOKUP_MS	5000 /* browsing for _touch-remote._tcp */
#define TOUCH_REMOTE	"_touch-remote._tcp"

/* DACP playstatus (caps) values (pyatv dmap/__init__.py device_state) */
enum { CAPS_IDLE = 0, CAPS_STOPPED = 2, CAPS_PAUSED = 3, CAPS_PLAYING = 4 };

static const char *const hostile_names[] = {"none",	 "lying-length", "deep-nesting",
					    "truncated", "garbage",	 NULL};
enum { H_NONE, H_LYING, H_DEEP, H_TRUNCATED, H_GARBAGE };

/* One HTTP request (MHD's per-request context). */
struct req {
	struct fake_mhd_req http; /* the body, up to BODY_MAX */
	struct fake_dmap *d;
	struct req *next; /* in d->held while suspended */
	bool held;	  /* suspended, waiting for a change */
	bool woken;	  /* resumed: answer now, whatever the revision */
	int timer;
	struct MHD_Connection *conn;
};

struct fake_dmap {
	struct fake_loop *loop;
	struct fake_device *dev;
	struct fake_player *player; /* borrowed */
	struct fake_mhd mhd;
	int port;
	uint32_t revision;
	uint32_t sessions[MAX_SESSIONS];
	size_t n_sessions;
	uint32_t next_session;
	uint64_t guids[MAX_GUIDS];
	size_t n_guids;
	char *hsgid;
	char *servicename; /* the _touch-able instance name, sent in /pair */
	int hostile;
	struct req *held;
	bool drag; /* a touchDown was seen: the arrow is decided at touchUp */
	long drag_x0, drag_y0, drag_x, drag_y;
};

const char *fake_dmap_hostile_names(void)
{
	return "none, lying-length, deep-nesting, truncated, garbage";
}

/* ---- long polls ---- */

static void unhold(struct req *r)
{
	struct fake_dmap *d = r->d;

	for (struct req **pp = &d->held; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->timer)
		fake_loop_cancel_timer(d->loop, r->timer);
	r->timer = 0;
	r->held = false;
	r->woken = true;
	MHD_resume_connection(r->conn);
}

static void wake_all(struct fake_dmap *d)
{
	while (d->held)
		unhold(d->held);
	fake_mhd_kick(&d->mhd);
}

static void on_longpoll_timeout(struct fake_loop *loop, void *ctx)
{
	struct req *r = ctx;

	(void)loop;
	r->timer = 0;
	unhold(r);
	fake_mhd_kick(&r->d->mhd);
}

/* A fake_player_change_fn: the player changed (a command, a control
 * `set', ...). */
static void on_change(void *ctx, unsigned what)
{
	struct fake_dmap *d = ctx;

	(void)what;
	d->revision++;
	if (d->held)
		wake_all(d);
}

/* ---- replies ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const void *p, size_t len,
			       const char *type)
{
	return fake_mhd_respond(c, status, p, len, type, "DAAP-Server", DAAP_SERVER);
}

static enum MHD_Result respond_status(struct MHD_Connection *c, unsigned status)
{
	return respond(c, status, "", 0, NULL);
}

static enum MHD_Result respond_dmap(struct MHD_Connection *c, const struct atv_buf *b)
{
	return respond(c, MHD_HTTP_OK, b->data, b->len, DMAP_TYPE);
}

/* Replace a good body in b by a hostile one (d->hostile). */
static void make_hostile(struct fake_dmap *d, struct atv_buf *b)
{
	static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0xff, 0x7f,
					  'c',	'm',  's',  't',  0xff, 0xff, 0xff};
	size_t marks[DEEP_NESTING];

	switch (d->hostile) {
	case H_LYING:
		/* the outer container claims far more than there is */
		if (b->len >= ATV_DMAP_HDR_LEN) {
			b->data[4] = 0x00;
			b->data[5] = 0x10;
		}
		break;
	case H_TRUNCATED:
		/* the headers are right, the body stops half-way */
		if (b->len > ATV_DMAP_HDR_LEN)
			b->len = ATV_DMAP_HDR_LEN + (b->len - ATV_DMAP_HDR_LEN) / 2;
		break;
	case H_DEEP:
		atv_buf_reset(b);
		for (size_t i = 0; i < DEEP_NESTING; i++)
			atv_dmap_open(b, "cmst", &marks[i], NULL);
		atv_dmap_add_u32(b, "mstt", 200, NULL);
		for (size_t i = DEEP_NESTING; i-- > 0;)
			atv_dmap_close(b, marks[i], NULL);
		break;
	case H_GARBAGE:
		atv_buf_reset(b);
		atv_buf_append(b, garbage, sizeof garbage, NULL);
		break;
	}
}

/* The answer for a body built into b (ok false: building it failed, a
 * 500), made hostile as asked when hostile is set; releases b. */
static enum MHD_Result respond_built(struct fake_dmap *d, struct MHD_Connection *c,
				     struct atv_buf *b, bool ok, bool hostile)
{
	enum MHD_Result r;

	if (!ok) {
		r = respond_status(c, MHD_HTTP_INTERNAL_SERVER_ERROR);
	} else {
		if (hostile)
			make_hostile(d, b);
		r = respond_dmap(c, b);
	}
	atv_buf_release(b);
	return r;
}

static uint32_t ms(json_t *v)
{
	double x = json_number_value(v) * 1000;

	return x <= 0 ? 0 : x >= 4294967295.0 ? UINT32_MAX : (uint32_t)x;
}

static int add_str(struct atv_buf *b, const char *tag, json_t *v)
{
	return json_is_string(v) ? atv_dmap_add_string(b, tag, json_string_value(v), NULL) : 0;
}

/* cmst: the now-playing state, as an Apple TV 3 sends it. */
static int playstatus(struct fake_dmap *d, struct atv_buf *b)
{
	json_t *st = fake_player_state(d->player), *p = json_object_get(st, "playing");
	const char *ds = json_string_value(json_object_get(p, "device_state"));
	const char *mt = json_string_value(json_object_get(p, "media_type"));
	const char *sh = json_string_value(json_object_get(p, "shuffle"));
	const char *rp = json_string_value(json_object_get(p, "repeat"));
	json_t *total = json_object_get(p, "total_time"), *pos = json_object_get(p, "position");
	uint8_t caps = CAPS_IDLE;
	uint32_t kind = 1;
	size_t mark;
	int r = -ATV_E_NOMEM;

	if (!p)
		goto out;
	if (ds && strcmp(ds, "playing") == 0)
		caps = CAPS_PLAYING;
	else if (ds && strcmp(ds, "paused") == 0)
		caps = CAPS_PAUSED;
	else if (ds && strcmp(ds, "stopped") == 0)
		caps = CAPS_STOPPED;
	/* cmmk media kinds (pyatv dmap media_kind): 2 music, 3 video, 64 tv */
	if (mt && strcmp(mt, "music") == 0)
		kind = 2;
	else if (mt && strcmp(mt, "video") == 0)
		kind = 3;
	else if (mt && strcmp(mt, "tv") == 0)
		kind = 64;
	if ((r = atv_dmap_open(b, "cmst", &mark, NULL)) < 0 ||
	    (r = atv_dmap_add_u32(b, "mstt", 200, NULL)) < 0 ||
	    (r = atv_dmap_add_u32(b, "cmsr", d->revision, NULL)) < 0 ||
	    (r = atv_dmap_add_u8(b, "caps", caps, NULL)) < 0 ||
	    (r = atv_dmap_add_u8(b, "cash", sh && strcmp(sh, "off") != 0, NULL)) < 0 ||
	    (r = atv_dmap_add_u8(b, "carp",
				 rp && strcmp(rp, "track") == 0 ? 1
				 : rp && strcmp(rp, "all") == 0 ? 2
								: 0,
				 NULL)) < 0 ||
	    (r = atv_dmap_add_u8(b, "cavc", 1, NULL)) < 0 ||
	    (r = atv_dmap_add_u32(b, "caas", 2, NULL)) < 0 ||
	    (r = atv_dmap_add_u32(b, "caar", 6, NULL)) < 0)
		goto out;
	if (caps != CAPS_IDLE) {
		if ((r = atv_dmap_add_u32(b, "cmmk", kind, NULL)) < 0 ||
		    (r = add_str(b, "cann", json_object_get(p, "title"))) < 0 ||
		    (r = add_str(b, "cana", json_object_get(p, "artist"))) < 0 ||
		    (r = add_str(b, "canl", json_object_get(p, "album"))) < 0 ||
		    (r = add_str(b, "cang", json_object_get(p, "genre"))) < 0)
			goto out;
		/* cant is the time remaining, cast the length, both in ms */
		if (json_is_number(total) && json_is_number(pos) &&
		    (r = atv_dmap_add_u32(b, "cant",
					  ms(total) - (ms(pos) > ms(total) ? ms(total) : ms(pos)),
					  NULL)) < 0)
			goto out;
		if (json_is_number(total) && (r = atv_dmap_add_u32(b, "cast", ms(total), NULL)) < 0)
			goto out;
	}
	r = atv_dmap_close(b, mark, NULL);
out:
	json_decref(st);
	return r;
}

/* ---- requests ---- */

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static bool session_known(const struct fake_dmap *d, const char *s)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	for (size_t i = 0; i < d->n_sessions; i++)
		if (d->sessions[i] == v)
			return true;
	return false;
}

static bool guid_known(const struct fake_dmap *d, uint64_t g)
{
	for (size_t i = 0; i < d->n_guids; i++)
		if (d->guids[i] == g)
			return true;
	return false;
}

static void add_guid(struct fake_dmap *d, uint64_t g)
{
	if (guid_known(d, g))
		return;
	if (d->n_guids == MAX_GUIDS)
		memmove(d->guids, d->guids + 1, --d->n_guids * sizeof d->guids[0]);
	d->guids[d->n_guids++] = g;
}

static enum MHD_Result do_login(struct fake_dmap *d, struct MHD_Connection *c)
{
	const char *g = arg(c, "pairing-guid"), *hs = arg(c, "hsgid");
	struct atv_buf b;
	uint64_t guid;
	uint32_t id;
	size_t mark;
	bool ok;

	if (!((g && atv_dmap_guid_parse(g, &guid, NULL) == 0 && guid_known(d, guid)) ||
	      (hs && d->hsgid && strcasecmp(hs, d->hsgid) == 0))) {
		atv_debug("dmap: login refused");
		return respond_status(c, MHD_HTTP_SERVICE_UNAVAILABLE);
	}
	id = d->next_session++;
	if (d->n_sessions == MAX_SESSIONS)
		memmove(d->sessions, d->sessions + 1, --d->n_sessions * sizeof d->sessions[0]);
	d->sessions[d->n_sessions++] = id;
	atv_buf_init(&b, OUT_MAX);
	ok = atv_dmap_open(&b, "mlog", &mark, NULL) == 0 &&
	     atv_dmap_add_u32(&b, "mstt", 200, NULL) == 0 &&
	     atv_dmap_add_u32(&b, "mlid", id, NULL) == 0 &&
	     atv_dmap_close(&b, mark, NULL) == 0;
	return respond_built(d, c, &b, ok, false);
}

static enum MHD_Result do_playstatus(struct fake_dmap *d, struct req *rq, struct MHD_Connection *c)
{
	const char *rev = arg(c, "revision-number");
	struct atv_buf b;
	unsigned long want = 0;
	char *end;

	if (rev) {
		errno = 0;
		want = strtoul(rev, &end, 10);
		if (errno || end == rev || *end || want > UINT32_MAX)
			return respond_status(c, MHD_HTTP_BAD_REQUEST);
	}
	/* held until the state changes past the revision the client has;
	 * 0 and 1 mean "now" (the first request of a session) */
	if (!rq->woken && want > 1 && want == d->revision && d->hostile == H_NONE) {
		int t = fake_loop_add_timer(d->loop, LONGPOLL_MS, on_longpoll_timeout, rq, NULL);

		if (t <= 0)
			return respond_status(c, MHD_HTTP_INTERNAL_SERVER_ERROR);
		rq->timer = t;
		rq->held = true;
		rq->conn = c;
		rq->next = d->held;
		d->held = rq;
		MHD_suspend_connection(c);
		atv_debug("dmap: holding playstatusupdate at revision %lu", want);
		return MHD_YES;
	}
	atv_buf_init(&b, OUT_MAX);
	return respond_built(d, c, &b, playstatus(d, &b) == 0, true);
}

static const struct {
	const char *path, *cmd;
} ctrl_cmds[] = {
    {"play", "play"}, {"pause", "pause"},   {"playpause", "play_pause"},
    {"stop", "stop"}, {"nextitem", "next"}, {"previtem", "previous"},
};

static enum MHD_Result cmd_result(struct MHD_Connection *c, int r)
{
	if (r == -ATV_E_REFUSED)
		return respond_status(c, MHD_HTTP_INTERNAL_SERVER_ERROR);
	if (r < 0)
		return respond_status(c, MHD_HTTP_BAD_REQUEST);
	return respond_status(c, MHD_HTTP_NO_CONTENT);
}

static int parse_num(const char *s, double min, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || !(*v >= min && *v <= max) ? -1 : 0;
}

struct setprop {
	struct fake_dmap *d;
	int n;	    /* properties set */
	int bad;    /* a property we do not know or a bad value */
	bool apply; /* false: only check */
};

static enum MHD_Result setprop_one(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct setprop *sp = cls;
	struct fake_dmap *d = sp->d;
	double v;
	int r = 0;

	(void)kind;
	if (strcmp(key, "session-id") == 0 || strcmp(key, "prompt-id") == 0)
		return MHD_YES;
	sp->n++;
	if (!value) {
		sp->bad = -ATV_E_USAGE;
		return MHD_NO;
	}
	if (strcmp(key, "dacp.playingtime") == 0) {
		if (parse_num(value, 0, 1e10, &v) < 0)
			r = -ATV_E_USAGE;
		else if (sp->apply)
			r = fake_player_command(d->player, "set_position", v / 1000, NULL);
	} else if (strcmp(key, "dacp.shufflestate") == 0) {
		if (parse_num(value, 0, 1, &v) < 0 || v != (int)v)
			r = -ATV_E_USAGE;
		else if (sp->apply)
			r = fake_player_command(d->player, "set_shuffle", v, NULL);
	} else if (strcmp(key, "dacp.repeatstate") == 0) {
		if (parse_num(value, 0, 2, &v) < 0 || v != (int)v)
			r = -ATV_E_USAGE;
		else if (sp->apply)
			r = fake_player_command(d->player, "set_repeat", v, NULL);
	} else if (strcmp(key, "dmcp.volume") == 0) {
		if (parse_num(value, 0, 100, &v) < 0)
			r = -ATV_E_USAGE;
		else if (sp->apply)
			r = fake_player_set_volume(d->player, (int)(v + 0.5), NULL);
	} else {
		r = -ATV_E_USAGE;
	}
	if (r < 0) {
		sp->bad = r;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result do_setproperty(struct fake_dmap *d, struct MHD_Connection *c)
{
	struct setprop sp = {d, 0, 0, false};

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, setprop_one, &sp);
	if (sp.bad || sp.n == 0)
		return respond_status(c, MHD_HTTP_BAD_REQUEST);
	sp = (struct setprop){d, 0, 0, true};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, setprop_one, &sp);
	return cmd_result(c, sp.bad);
}

static enum MHD_Result do_getproperty(struct fake_dmap *d, struct MHD_Connection *c)
{
	const char *props = arg(c, "properties");
	json_t *st;
	struct atv_buf b;
	size_t mark;
	int vol;
	bool ok;

	if (!props || strcmp(props, "dmcp.volume") != 0)
		return respond_status(c, MHD_HTTP_BAD_REQUEST);
	st = fake_player_state(d->player);
	vol = (int)json_integer_value(json_object_get(st, "volume"));
	json_decref(st);
	atv_buf_init(&b, OUT_MAX);
	ok = atv_dmap_open(&b, "cmgt", &mark, NULL) == 0 &&
	     atv_dmap_add_u32(&b, "mstt", 200, NULL) == 0 &&
	     atv_dmap_add_u32(&b, "cmvo", (uint32_t)vol, NULL) == 0 &&
	     atv_dmap_close(&b, mark, NULL) == 0;
	return respond_built(d, c, &b, ok, true);
}

/* "touchDown&time=0&point=20,275": the kind and the point. */
static int parse_touch(const char *s, size_t len, char *kind, size_t ksize, long *x, long *y)
{
	char buf[128], *amp, *pt, *end;

	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	amp = strchr(buf, '&');
	pt = strstr(buf, "&point=");
	if (!amp || !pt || (size_t)(amp - buf) >= ksize)
		return -1;
	memcpy(kind, buf, (size_t)(amp - buf));
	kind[amp - buf] = '\0';
	errno = 0;
	*x = strtol(pt + 7, &end, 10);
	if (errno || *end != ',')
		return -1;
	*y = strtol(end + 1, &end, 10);
	return errno || (*end && *end != '&') ? -1 : 0;
}

/* controlpromptentry: cmbe "select", "menu", "topmenu", or one step of a
 * touch drag; the drag becomes an arrow key at touchUp by its main
 * direction (pyatv moves 25 points up, down, left or right). */
static enum MHD_Result do_prompt(struct fake_dmap *d, struct req *rq, struct MHD_Connection *c)
{
	struct atv_dmap m;
	const char *s;
	size_t len;
	char kind[32];
	long x, y, dx, dy;
	enum MHD_Result r;

	if (atv_dmap_parse(&m, rq->http.body.data, rq->http.body.len, NULL) < 0 ||
	    atv_dmap_get_strn(atv_dmap_find(&m, NULL, "cmbe"), &s, &len, NULL) < 0) {
		atv_dmap_release(&m);
		return respond_status(c, MHD_HTTP_BAD_REQUEST);
	}
	r = MHD_YES;
	if (len == 6 && memcmp(s, "select", 6) == 0) {
		fake_player_log_key(d->player, "select");
	} else if (len == 4 && memcmp(s, "menu", 4) == 0) {
		fake_player_log_key(d->player, "menu");
	} else if (len == 7 && memcmp(s, "topmenu", 7) == 0) {
		fake_player_log_key(d->player, "top_menu");
	} else if (parse_touch(s, len, kind, sizeof kind, &x, &y) == 0) {
		if (strcmp(kind, "touchDown") == 0) {
			d->drag = true;
			d->drag_x0 = d->drag_x = x;
			d->drag_y0 = d->drag_y = y;
		} else if (strcmp(kind, "touchMove") == 0 && d->drag) {
			d->drag_x = x;
			d->drag_y = y;
		} else if (strcmp(kind, "touchUp") == 0 && d->drag) {
			d->drag = false;
			dx = x - d->drag_x0;
			dy = y - d->drag_y0;
			if (dx == 0 && dy == 0)
				fake_player_log_key(d->player, "select"); /* a tap */
			else if (labs(dx) > labs(dy))
				fake_player_log_key(d->player, dx > 0 ? "right" : "left");
			else
				fake_player_log_key(d->player, dy > 0 ? "down" : "up");
		} else {
			r = respond_status(c, MHD_HTTP_BAD_REQUEST);
		}
	} else {
		r = respond_status(c, MHD_HTTP_BAD_REQUEST);
	}
	atv_dmap_release(&m);
	if (r != MHD_YES)
		return r;
	return respond_status(c, MHD_HTTP_NO_CONTENT);
}

static enum MHD_Result do_artwork(struct fake_dmap *d, struct MHD_Connection *c)
{
	const uint8_t *png;
	size_t len;

	fake_player_artwork(d->player, &png, &len);
	return respond(c, MHD_HTTP_OK, png, len, "image/png");
}

static enum MHD_Result do_server_info(struct fake_dmap *d, struct MHD_Connection *c)
{
	struct atv_buf b;
	size_t mark;
	bool ok;

	atv_buf_init(&b, OUT_MAX);
	ok = atv_dmap_open(&b, "msrv", &mark, NULL) == 0 &&
	     atv_dmap_add_u32(&b, "mstt", 200, NULL) == 0 &&
	     atv_dmap_add_string(&b, "minm", d->dev->name, NULL) == 0 &&
	     atv_dmap_close(&b, mark, NULL) == 0;
	return respond_built(d, c, &b, ok, false);
}

static enum MHD_Result dispatch(struct fake_dmap *d, struct req *rq, struct MHD_Connection *c,
				const char *url, const char *method)
{
	static const char ctrl[] = "/ctrl-int/1/";

	if (!rq->woken) {
		atv_debug("dmap: %s %s", method, url);
		fake_mhd_log_request(&d->mhd, method, url);
	}
	if (strcmp(url, "/login") == 0)
		return do_login(d, c);
	if (strcmp(url, "/server-info") == 0)
		return do_server_info(d, c);
	if (!session_known(d, arg(c, "session-id")))
		return respond_status(c, MHD_HTTP_FORBIDDEN);
	if (strcmp(url, "/logout") == 0)
		return respond_status(c, MHD_HTTP_NO_CONTENT);
	if (strncmp(url, ctrl, sizeof ctrl - 1) != 0)
		return respond_status(c, MHD_HTTP_NOT_FOUND);
	url += sizeof ctrl - 1;
	if (strcmp(url, "playstatusupdate") == 0)
		return do_playstatus(d, rq, c);
	for (size_t i = 0; i < sizeof ctrl_cmds / sizeof ctrl_cmds[0]; i++)
		if (strcmp(url, ctrl_cmds[i].path) == 0)
			return cmd_result(c, fake_player_command(d->player, ctrl_cmds[i].cmd, 0, NULL));
	/* pyatv's volume_up/volume_down (POST, session-id only, empty 204
	 * answer like every other ctrl-int command): one key press each */
	if (strcmp(url, "volumeup") == 0 || strcmp(url, "volumedown") == 0) {
		fake_player_log_key(d->player, url[6] == 'u' ? "volume_up" : "volume_down");
		fake_player_volume_step(d->player, url[6] == 'u');
		return respond_status(c, MHD_HTTP_NO_CONTENT);
	}
	if (strcmp(url, "setproperty") == 0)
		return do_setproperty(d, c);
	if (strcmp(url, "getproperty") == 0)
		return do_getproperty(d, c);
	if (strcmp(url, "controlpromptentry") == 0)
		return do_prompt(d, rq, c);
	if (strcmp(url, "nowplayingartwork") == 0)
		return do_artwork(d, c);
	return respond_status(c, MHD_HTTP_NOT_FOUND);
}

/* A complete request (fake_mhd_request_fn), again after a resume. */
static enum MHD_Result on_request(void *cls, void *req, struct MHD_Connection *c, const char *url,
				  const char *method)
{
	struct req *rq = req;

	rq->d = cls;
	if (rq->held)
		return MHD_YES;
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		return respond_status(c, MHD_HTTP_METHOD_NOT_ALLOWED);
	if (rq->http.too_big)
		return respond_status(c, MHD_HTTP_CONTENT_TOO_LARGE);
	return dispatch(rq->d, rq, c, url, method);
}

static void on_completed(void *cls, void *req, enum MHD_RequestTerminationCode toe)
{
	struct fake_dmap *d = cls;
	struct req *rq = req;

	(void)toe;
	if (rq->held) {
		/* only at daemon shutdown: a held request is resumed first */
		for (struct req **pp = &d->held; *pp; pp = &(*pp)->next) {
			if (*pp == rq) {
				*pp = rq->next;
				break;
			}
		}
	}
	if (rq->timer)
		fake_loop_cancel_timer(d->loop, rq->timer);
}

/* ---- control ---- */

int fake_dmap_port(const struct fake_dmap *d)
{
	return d && d->mhd.daemon ? d->port : -1;
}

int fake_dmap_hostile(struct fake_dmap *d, const char *mode, struct atv_err *err)
{
	int i = fake_mhd_hostile(hostile_names, mode, "dmap", fake_dmap_hostile_names(), err);

	if (i < 0)
		return i;
	d->hostile = i;
	/* held long polls get the hostile body at once */
	if (i != H_NONE && d->held)
		wake_all(d);
	return 0;
}

size_t fake_dmap_drop(struct fake_dmap *d)
{
	size_t n = d->n_sessions;

	d->n_sessions = 0;
	if (d->held)
		wake_all(d);
	return n;
}

/* Finding the Remote: like an Apple TV, browse _touch-remote._tcp (through
 * avahi-daemon, in a test's namespace) and take the first instance that
 * resolves over IPv4: its address and port, and its GUID from TXT Pair.
 * Blocks the loop for up to LOOKUP_MS. */
struct lookup {
	const struct atv_avahi *a;
	AvahiSimplePoll *sp;
	AvahiClient *client;
	bool found;
	char hostport[AVAHI_ADDRESS_STR_MAX + 8];
	char guid[ATV_DMAP_GUID_STRLEN + 2];
	int error;
};

static void lookup_resolved(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
			    AvahiResolverEvent ev, const char *name, const char *type,
			    const char *domain, const char *host, const AvahiAddress *addr,
			    uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
			    void *ctx)
{
	struct lookup *lk = ctx;
	char a[AVAHI_ADDRESS_STR_MAX], *key, *val;
	size_t vlen;

	(void)iface, (void)proto, (void)name, (void)type, (void)domain, (void)host, (void)flags;
	if (ev == AVAHI_RESOLVER_FOUND && !lk->found) {
		lk->a->address_snprint(a, sizeof a, addr);
		for (AvahiStringList *t = txt; t; t = lk->a->string_list_get_next(t)) {
			if (lk->a->string_list_get_pair(t, &key, &val, &vlen) < 0)
				continue;
			if (strcasecmp(key, "Pair") == 0 && val && vlen <= ATV_DMAP_GUID_HEXLEN)
				snprintf(lk->guid, sizeof lk->guid, "0x%s", val);
			lk->a->free(key);
			lk->a->free(val);
		}
		if (lk->guid[0]) {
			snprintf(lk->hostport, sizeof lk->hostport, "%s:%u", a, port);
			lk->found = true;
			lk->a->simple_poll_quit(lk->sp);
		}
	}
	lk->a->service_resolver_free(r);
}

static void lookup_browsed(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
			   AvahiBrowserEvent ev, const char *name, const char *type,
			   const char *domain, AvahiLookupResultFlags flags, void *ctx)
{
	struct lookup *lk = ctx;

	(void)b, (void)flags;
	if (ev == AVAHI_BROWSER_NEW)
		lk->a->service_resolver_new(lk->client, iface, proto, name, type, domain,
					    AVAHI_PROTO_INET, 0, lookup_resolved, lk);
	else if (ev == AVAHI_BROWSER_FAILURE)
		lk->a->simple_poll_quit(lk->sp);
}

static void lookup_timeout(AvahiTimeout *t, void *ctx)
{
	struct lookup *lk = ctx;

	(void)t;
	lk->a->simple_poll_quit(lk->sp);
}

static void lookup_client(AvahiClient *c, AvahiClientState state, void *ctx)
{
	(void)c, (void)state, (void)ctx;
}

static int lookup_remote(struct lookup *lk, struct atv_err *err)
{
	const AvahiPoll *poll_api;
	AvahiServiceBrowser *b = NULL;
	struct timeval tv;
	int r;

	if ((r = atv_avahi_load(&lk->a, err)) < 0)
		return r;
	if (!(lk->sp = lk->a->simple_poll_new()))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	poll_api = lk->a->simple_poll_get(lk->sp);
	lk->client = lk->a->client_new(poll_api, 0, lookup_client, lk, &lk->error);
	if (!lk->client) {
		r = atv_err_set(err, ATV_E_UNREACHABLE, "avahi: %s", lk->a->strerror(lk->error));
		goto out;
	}
	b = lk->a->service_browser_new(lk->client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, TOUCH_REMOTE,
				       NULL, 0, lookup_browsed, lk);
	if (!b) {
		r = atv_err_set(err, ATV_E_UNREACHABLE, "avahi: unable to browse %s", TOUCH_REMOTE);
		goto out;
	}
	poll_api->timeout_new(poll_api, lk->a->elapse_time(&tv, LOOKUP_MS, 0), lookup_timeout, lk);
	lk->a->simple_poll_loop(lk->sp);
	r = lk->found ? 0
		      : atv_err_set(err, ATV_E_NOTFOUND, "no %s service with a Pair GUID found",
				    TOUCH_REMOTE);
out:
	if (b)
		lk->a->service_browser_free(b);
	if (lk->client)
		lk->a->client_free(lk->client);
	lk->a->simple_poll_free(lk->sp);
	return r;
}

int fake_dmap_pair(struct fake_dmap *d, const char *pin, const char *hostport,
		   const char *servicename, const char *guid, long *status, struct atv_err *err)
{
	char url[300], path[512], code[ATV_DMAP_PAIRCODE_LEN], *name = NULL;
	struct atv_http *h = NULL;
	struct lookup lk = {.found = false};
	struct atv_buf body;
	uint64_t g, answer;
	unsigned p;
	int r;

	atv_buf_init(&body, OUT_MAX);
	if ((r = atv_dmap_pin_parse(pin, &p, err)) < 0)
		goto out;
	if (!guid || !hostport) {
		if ((r = lookup_remote(&lk, err)) < 0)
			goto out;
		guid = guid ? guid : lk.guid;
		hostport = hostport ? hostport : lk.hostport;
		atv_info("dmap: found the remote at %s", hostport);
	}
	if ((r = atv_dmap_guid_parse(guid, &g, err)) < 0 ||
	    (r = atv_dmap_pair_code(g, p, code, err)) < 0)
		goto out;
	if ((size_t)snprintf(url, sizeof url, "http://%s", hostport) >= sizeof url) {
		r = atv_err_set(err, ATV_E_USAGE, "HOST:PORT too long");
		goto out;
	}
	name = atv_http_escape(servicename ? servicename : d->servicename);
	if (!name) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if ((size_t)snprintf(path, sizeof path, "/pair?pairingcode=%s&servicename=%s", code,
			     name) >= sizeof path) {
		r = atv_err_set(err, ATV_E_USAGE, "service name too long");
		goto out;
	}
	if (!(h = atv_http_new(url, err))) {
		r = -ATV_E_USAGE;
		goto out;
	}
	atv_http_set_timeouts(h, PAIR_TIMEOUT_MS, PAIR_TIMEOUT_MS);
	if ((r = atv_http_get(h, path, status, &body, err)) < 0)
		goto out;
	if (*status == 200) {
		if ((r = atv_dmap_pair_parse_answer(body.data, body.len, &answer, err)) < 0)
			goto out;
		add_guid(d, answer);
	}
	r = 0;
out:
	atv_http_free(h);
	atv_buf_release(&body);
	free(name);
	return r;
}

json_t *fake_dmap_state(const struct fake_dmap *d)
{
	json_t *o = json_object(), *guids = json_array();
	char g[ATV_DMAP_GUID_STRLEN];

	for (size_t i = 0; i < d->n_guids; i++) {
		atv_dmap_guid_format(d->guids[i], g);
		json_array_append_new(guids, json_string(g));
	}
	json_object_set_new(o, "dmap_port", d->mhd.daemon ? json_integer(d->port) : json_null());
	json_object_set_new(o, "dmap_revision", json_integer(d->revision));
	json_object_set_new(o, "dmap_sessions", json_integer((json_int_t)d->n_sessions));
	json_object_set_new(o, "dmap_guids", guids);
	json_object_set_new(o, "dmap_hostile", json_string(hostile_names[d->hostile]));
	json_object_set_new(o, "dmap_requests", json_deep_copy(d->mhd.log));
	{
		size_t held = 0;

		for (const struct req *r = d->held; r; r = r->next)
			held++;
		json_object_set_new(o, "dmap_held", json_integer((json_int_t)held));
	}
	return o;
}

/* ---- setup ---- */

static int load_guids(struct fake_dmap *d, struct atv_err *err)
{
	json_t *dm = json_object_get(d->dev->json, "dmap"), *gs, *v;
	size_t i;
	uint64_t g;

	if (!dm)
		return 0;
	gs = json_object_get(dm, "guids");
	if (!json_is_object(dm) || (gs && !json_is_array(gs)))
		return atv_err_set(err, ATV_E_INPUT, "\"dmap\" must be {\"guids\":[\"0x...\"]}");
	json_array_foreach (gs, i, v) {
		if (!json_is_string(v) || atv_dmap_guid_parse(json_string_value(v), &g, err) < 0)
			return atv_err_set(err, ATV_E_INPUT, "dmap.guids[%zu] is not a GUID", i);
		add_guid(d, g);
	}
	return 0;
}

int fake_dmap_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		  const struct fake_dmap_opts *o, struct fake_dmap **out, struct atv_err *err)
{
	struct fake_service *touch = fake_device_service(dev, TOUCHABLE);
	struct fake_service *v2 = fake_device_service(dev, APPLETV_V2);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;
	struct fake_dmap *d;
	int r;

	*out = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	d->loop = loop;
	d->dev = dev;
	d->player = player;
	d->port = -1;
	d->revision = 2;
	d->next_session = FIRST_SESSION;
	*out = d;
	if ((r = fake_mhd_init(&d->mhd, loop, sizeof(struct req), BODY_MAX, on_request,
			       on_completed, d, err)) < 0 ||
	    (r = load_guids(d, err)) < 0)
		return r;
	if (v2)
		d->hsgid = fake_service_txt(v2, "hG");
	if (!touch)
		return 0;
	if (!(d->servicename = strdup(touch->name)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (!o->address || inet_pton(AF_INET, o->address, &sa.sin_addr) != 1)
		return atv_err_set(err, ATV_E_USAGE, "dmap: no IPv4 address to listen on");
	sa.sin_port = htons((uint16_t)(o->port < 0 ? touch->port : o->port));
	d->mhd.daemon = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, fake_mhd_on_request, &d->mhd,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
	    fake_mhd_on_completed, &d->mhd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS, MHD_OPTION_END);
	if (!d->mhd.daemon)
		return atv_err_set(err, ATV_E_IO, "dmap: unable to listen on %s:%u", o->address,
				   ntohs(sa.sin_port));
	info = MHD_get_daemon_info(d->mhd.daemon, MHD_DAEMON_INFO_BIND_PORT);
	d->port = info ? info->port : ntohs(sa.sin_port);
	if ((r = fake_mhd_attach(&d->mhd, "dmap", err)) < 0)
		return r;
	/* mDNS announces the port really listened on (_appletv-v2 too when
	 * it had the same) */
	if (v2 && v2->port == touch->port) {
		v2->port = (uint16_t)d->port;
		v2->served = true;
	}
	touch->port = (uint16_t)d->port;
	touch->served = true;
	if ((r = fake_player_listen(player, on_change, d, err)) < 0)
		return r;
	sa.sin_port = htons((uint16_t)d->port);
	atv_info("dmap on %s:%d", o->address, d->port);
	return 0;
}

void fake_dmap_free(struct fake_dmap *d)
{
	if (!d)
		return;
	if (d->mhd.daemon) {
		fake_player_unlisten(d->player, d);
		while (d->held) {
			struct req *r = d->held;

			d->held = r->next;
			r->held = false;
			if (r->timer)
				fake_loop_cancel_timer(d->loop, r->timer);
			r->timer = 0;
			MHD_resume_connection(r->conn);
		}
	}
	fake_mhd_release(&d->mhd);
	free(d->hsgid);
	free(d->servicename);
	free(d);
}
