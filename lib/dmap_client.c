/* dmap_client.c - DACP remote control over DMAP/HTTP: login, commands,
 * now-playing state and the playstatusupdate long poll (driven by the
 * caller's poll loop). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "dmap_client.h"
#include "dmap_pair.h"
#include "http.h"
#include "log.h"
#include "nowplaying.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
/* The device holds a playstatusupdate up to a minute (Apple TV 3; the fake
 * too): wait a little longer before calling it dead. */
#define LONGPOLL_MS  90000
#define PATH_MAX_LEN 512

/* DACP playstatus (caps) values, pyatv dmap playstate(). */
static const char *const caps_names[] = {"idle",    "loading", "stopped", "paused",
					 "playing", "seeking", "seeking"};

struct sess {
	struct atv_http *h;
	uint32_t id; /* 0: not logged in */
};

/* What the watcher's request under way is. */
enum wreq { W_LOGIN, W_POLL, W_VOLUME };

struct atv_dmap_client {
	char *base, *name, *cred;
	int timeout_ms;
	struct sess main;

	/* The watcher: its own connection and session (the long poll holds
	 * one), one request at a time, started here and driven by
	 * atv_dmap_client_watch_take (see watch_step). */
	bool watching;
	struct sess ws;
	enum wreq wreq;
	unsigned w_rev;	       /* the cmsr to wait past */
	int w_tries;	       /* attempts of the request under way (ctrl_status) */
	struct atv_buf wbody;  /* the body of the request under way */
	struct atv_dmap pend;  /* a play status waiting for its volume */
	struct atv_dmap ready; /* the next state for watch_take */
	int ready_vol;
	bool has_ready;
	int w_err; /* the watcher stopped with this error */
	struct atv_err w_errmsg;
};

static bool is_guid(const char *s)
{
	uint64_t g;

	return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) &&
	       atv_dmap_guid_parse(s, &g, NULL) == 0;
}

/* A device body: parse errors and bounds are the device's fault. */
static int parse_body(struct atv_dmap_client *c, const struct atv_buf *b, struct atv_dmap *d,
		      struct atv_err *err)
{
	struct atv_err e = {0};
	int r = atv_dmap_parse(d, b->data, b->len, &e);

	if (r == -ATV_E_NOMEM)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (r < 0)
		return atv_err_set(err, ATV_E_PROTO, "%s sent bad dmap data: %s", c->name, e.msg);
	return 0;
}

static int new_http(struct atv_dmap_client *c, struct atv_http **out, struct atv_err *err)
{
	struct atv_err e = {0};
	struct atv_http *h = atv_http_new(c->base, &e);
	int r;

	*out = NULL;
	if (!h) {
		if (err)
			*err = e;
		return e.code ? -e.code : -ATV_E_NOMEM;
	}
	atv_http_set_timeouts(h, c->timeout_ms, c->timeout_ms);
	if ((r = atv_http_add_remote_headers(h, err)) < 0) {
		atv_http_free(h);
		return r;
	}
	*out = h;
	return 0;
}

/* The login path for c's credential into path[0..PATH_MAX_LEN) (wipe it
 * after use: it holds the credential). */
static int login_path(struct atv_dmap_client *c, char *path, struct atv_err *err)
{
	char *esc;
	int r = 0;

	if (is_guid(c->cred)) {
		uint64_t g;
		char gs[ATV_DMAP_GUID_STRLEN];

		atv_dmap_guid_parse(c->cred, &g, NULL);
		atv_dmap_guid_format(g, gs);
		snprintf(path, PATH_MAX_LEN, "/login?pairing-guid=%s", gs);
		return 0;
	}
	if (!(esc = atv_http_escape(c->cred)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if ((size_t)snprintf(path, PATH_MAX_LEN, "/login?hsgid=%s", esc) >= PATH_MAX_LEN)
		r = atv_err_set(err, ATV_E_AUTH, "unusable dmap credentials for %s", c->name);
	atv_crypto_wipe(esc, strlen(esc));
	free(esc);
	return r;
}

/* The session id from a login answer (status and body b). */
static int login_reply(struct atv_dmap_client *c, long status, const struct atv_buf *b,
		       uint32_t *id, struct atv_err *err)
{
	struct atv_dmap d = {0};
	int r;

	if (status == 503 || status == 401 || status == 403)
		return atv_err_set(err, ATV_E_AUTH,
				   "%s refused the dmap login (http %ld): pair again with "
				   "atv-pair -p dmap",
				   c->name, status);
	if (status != 200)
		return atv_err_set(err, ATV_E_PROTO, "%s answered the dmap login with http %ld",
				   c->name, status);
	r = parse_body(c, b, &d, err);
	if (r == 0 && atv_dmap_get_u32(atv_dmap_path(&d, "mlog/mlid"), id, NULL) < 0)
		r = atv_err_set(err, ATV_E_PROTO, "%s sent a login reply without mlid", c->name);
	atv_dmap_release(&d);
	return r;
}

/* An HTTP error of a request: a body past its cap is the device's fault. */
static int req_fail(struct atv_dmap_client *c, int r, const char *what, struct atv_err *err)
{
	if (r == -ATV_E_LIMIT)
		return atv_err_set(err, ATV_E_PROTO, "%s sent an oversized %s", c->name, what);
	return r;
}

static int login(struct atv_dmap_client *c, struct sess *s, struct atv_err *err)
{
	char path[PATH_MAX_LEN];
	struct atv_buf b;
	long status = 0;
	uint32_t id = 0;
	int r;

	s->id = 0;
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = login_path(c, path, err);
	if (r == 0)
		r = req_fail(c, atv_http_get(s->h, path, &status, &b, err), "login reply", err);
	if (r == 0)
		r = login_reply(c, status, &b, &id, err);
	if (r == 0)
		s->id = id;
	atv_buf_release(&b);
	atv_crypto_wipe(path, sizeof path);
	return r;
}

/* /ctrl-int/1/<what> with s's session id into path[0..PATH_MAX_LEN). */
static int ctrl_path(const struct sess *s, const char *what, char *path, struct atv_err *err)
{
	if ((size_t)snprintf(path, PATH_MAX_LEN, "/ctrl-int/1/%s%csession-id=%u", what,
			     strchr(what, '?') ? '&' : '?', s->id) >= PATH_MAX_LEN)
		return atv_err_set(err, ATV_E_USAGE, "request too long");
	return 0;
}

/* What the status of a ctrl-int request means: 0 for 2xx, 1 for a 403
 * (the device forgot the session: log in again and repeat, once: tries
 * is the count of this request's attempts so far), else the error. */
static int ctrl_status(struct atv_dmap_client *c, const char *what, long status, int tries,
		       struct atv_err *err)
{
	if (status == 403 && tries < 2)
		return 1;
	if (status == 403)
		return atv_err_set(err, ATV_E_AUTH, "%s keeps refusing the dmap session", c->name);
	if (status < 200 || status > 299)
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %.*s (http %ld)", c->name,
				   (int)strcspn(what, "?"), what, status);
	return 0;
}

/* One request on /ctrl-int/1/<what> with the session id; a 403 (session
 * lost) logs in again once.  0 on 2xx with the body in b. */
static int ctrl_req(struct atv_dmap_client *c, struct sess *s, const char *what,
		    const struct atv_buf *post, long timeout_ms, struct atv_buf *b, long *status,
		    struct atv_err *err)
{
	char path[PATH_MAX_LEN];
	struct atv_http_req rq = {0};
	int r, tries = 0;

	for (;;) {
		if (!s->id && (r = login(c, s, err)) < 0)
			return r;
		tries++;
		if ((r = ctrl_path(s, what, path, err)) < 0)
			return r;
		rq.method = post ? "POST" : "GET";
		rq.path = path;
		rq.body = post ? post->data : NULL;
		rq.body_len = post ? post->len : 0;
		rq.content_type = post ? "application/x-dmap-tagged" : NULL;
		rq.timeout_ms = timeout_ms;
		atv_buf_reset(b);
		r = atv_http_request(s->h, &rq, status, b, err);
		if (r < 0)
			return req_fail(c, r, "reply", err);
		if ((r = ctrl_status(c, what, *status, tries, err)) <= 0)
			return r;
		s->id = 0; /* the device forgot us: log in again */
	}
}

int atv_dmap_client_open(const char *address, int port, const char *credentials,
			 const struct atv_dmap_client_opts *o, struct atv_dmap_client **out,
			 struct atv_err *err)
{
	struct atv_dmap_client *c;
	size_t n;
	int r;

	*out = NULL;
	if (!credentials || !credentials[0])
		return atv_err_set(err, ATV_E_AUTH, "no dmap credentials");
	c = calloc(1, sizeof *c);
	if (!c)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_buf_init(&c->wbody, ATV_DMAP_BODY_MAX);
	c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	n = strlen(address) + 32;
	c->base = malloc(n);
	c->name = strdup(o && o->device ? o->device : address);
	c->cred = strdup(credentials);
	if (!c->base || !c->name || !c->cred) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(c->base, n, strchr(address, ':') ? "http://[%s]:%d" : "http://%s:%d", address,
		 port);
	r = new_http(c, &c->main.h, err);
	if (r == 0)
		r = login(c, &c->main, err);
out:
	if (r < 0) {
		atv_dmap_client_close(c);
		return r;
	}
	*out = c;
	return 0;
}

static void stop_watch(struct atv_dmap_client *c)
{
	/* a long poll under way is abandoned with its connection */
	atv_http_free(c->ws.h);
	c->ws.h = NULL;
	c->ws.id = 0;
	atv_dmap_release(&c->pend);
	atv_dmap_release(&c->ready);
	c->has_ready = false;
	c->watching = false;
}

void atv_dmap_client_close(struct atv_dmap_client *c)
{
	if (!c)
		return;
	stop_watch(c);
	if (c->main.h && c->main.id) {
		char path[64];
		struct atv_buf b;
		long status;

		/* be polite: the device keeps a few sessions only */
		snprintf(path, sizeof path, "/logout?session-id=%u", c->main.id);
		atv_buf_init(&b, 4096);
		atv_http_get(c->main.h, path, &status, &b, NULL);
		atv_buf_release(&b);
	}
	atv_http_free(c->main.h);
	atv_buf_release(&c->wbody);
	if (c->cred) {
		atv_crypto_wipe(c->cred, strlen(c->cred));
		free(c->cred);
	}
	free(c->base);
	free(c->name);
	free(c);
}

int atv_dmap_client_ctrl(struct atv_dmap_client *c, const char *what, struct atv_dmap *reply,
			 struct atv_err *err)
{
	struct atv_buf b;
	long status = 0;
	int r;

	if (reply)
		memset(reply, 0, sizeof *reply);
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = ctrl_req(c, &c->main, what, NULL, 0, &b, &status, err);
	if (r == 0 && reply)
		r = parse_body(c, &b, reply, err);
	atv_buf_release(&b);
	return r;
}

int atv_dmap_client_post(struct atv_dmap_client *c, const char *what, struct atv_err *err)
{
	struct atv_buf empty, b;
	long status = 0;
	int r;

	atv_buf_init(&empty, 0);
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = ctrl_req(c, &c->main, what, &empty, 0, &b, &status, err);
	atv_buf_release(&b);
	return r;
}

int atv_dmap_client_prompt(struct atv_dmap_client *c, const char *cmd, unsigned code,
			   struct atv_err *err)
{
	struct atv_buf body, b;
	char cc[16];
	long status = 0;
	int r;

	snprintf(cc, sizeof cc, "%u", code);
	atv_buf_init(&body, 1024);
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = atv_dmap_add_string(&body, "cmcc", cc, err);
	if (r == 0)
		r = atv_dmap_add_string(&body, "cmbe", cmd, err);
	if (r == 0)
		r = ctrl_req(c, &c->main, "controlpromptentry?prompt-id=0", &body, 0, &b, &status,
			     err);
	atv_buf_release(&body);
	atv_buf_release(&b);
	return r;
}

int atv_dmap_client_arrow(struct atv_dmap_client *c, const char *dir, struct atv_err *err)
{
	/* start point and step, as the Remote app drags (pyatv dmap up/down/
	 * left/right): 25 points in five moves */
	static const struct {
		const char *dir;
		int x, y, dx, dy;
	} arrows[] = {
	    {"up", 20, 275, 0, -5},
	    {"down", 20, 250, 0, 5},
	    {"left", 75, 100, -5, 0},
	    {"right", 50, 100, 5, 0},
	};
	char step[64];
	int i, t, r = 0, x, y;

	for (i = 0; i < 4; i++)
		if (strcmp(arrows[i].dir, dir) == 0)
			break;
	if (i == 4)
		return atv_err_set(err, ATV_E_USAGE, "unknown direction %s", dir);
	x = arrows[i].x;
	y = arrows[i].y;
	snprintf(step, sizeof step, "touchDown&time=0&point=%d,%d", x, y);
	r = atv_dmap_client_prompt(c, step, 0, err);
	for (t = 1; r == 0 && t <= 5; t++) {
		x += arrows[i].dx;
		y += arrows[i].dy;
		snprintf(step, sizeof step, "touchMove&time=%d&point=%d,%d", t, x, y);
		r = atv_dmap_client_prompt(c, step, 0, err);
	}
	if (r == 0) {
		snprintf(step, sizeof step, "touchUp&time=6&point=%d,%d", x, y);
		r = atv_dmap_client_prompt(c, step, 0, err);
	}
	return r;
}

static int check_cmst(struct atv_dmap_client *c, const struct atv_dmap *st, struct atv_err *err)
{
	if (!atv_dmap_find(st, NULL, "cmst"))
		return atv_err_set(err, ATV_E_PROTO, "%s sent a play status without cmst", c->name);
	return 0;
}

int atv_dmap_client_status(struct atv_dmap_client *c, struct atv_dmap *st, struct atv_err *err)
{
	int r = atv_dmap_client_ctrl(c, "playstatusupdate?revision-number=0", st, err);

	return r < 0 ? r : check_cmst(c, st, err);
}

/* dmcp.volume from a getproperty answer's body b into *vol (0..100). */
static int volume_reply(struct atv_dmap_client *c, const struct atv_buf *b, int *vol,
			struct atv_err *err)
{
	struct atv_dmap d = {0};
	const struct atv_dmap_item *it;
	struct atv_err e = {0};
	uint32_t v = 0;
	int r = parse_body(c, b, &d, err);

	/* cmgt{mstt cmvo}: the parser has checked every length; the getter
	 * refuses a cmvo of 0 or more than 8 bytes and a value past 32 bits */
	if (r == 0 && !(it = atv_dmap_path(&d, "cmgt/cmvo")))
		r = atv_err_set(err, ATV_E_PROTO, "%s sent a volume reply without cmgt/cmvo",
				c->name);
	else if (r == 0 && atv_dmap_get_u32(it, &v, &e) < 0)
		r = atv_err_set(err, ATV_E_PROTO, "%s sent a bad volume reply: %s", c->name, e.msg);
	if (r == 0)
		*vol = v > 100 ? 100 : (int)v;
	atv_dmap_release(&d);
	return r;
}

#define VOLUME_WHAT "getproperty?properties=dmcp.volume"

static int get_volume(struct atv_dmap_client *c, struct sess *s, int *vol, struct atv_err *err)
{
	struct atv_buf b;
	long status = 0;
	int r;

	*vol = -1;
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = ctrl_req(c, s, VOLUME_WHAT, NULL, 0, &b, &status, err);
	if (r == 0)
		r = volume_reply(c, &b, vol, err);
	atv_buf_release(&b);
	return r;
}

int atv_dmap_client_volume(struct atv_dmap_client *c, int *vol, struct atv_err *err)
{
	return get_volume(c, &c->main, vol, err);
}

int atv_dmap_client_artwork(struct atv_dmap_client *c, unsigned size, struct atv_buf *png,
			    struct atv_err *err)
{
	char what[96];
	long status = 0;
	int r;

	snprintf(what, sizeof what, "nowplayingartwork?mw=%u&mh=%u", size, size);
	r = ctrl_req(c, &c->main, what, NULL, 0, png, &status, err);
	if (r == 0 && status == 204)
		atv_buf_reset(png);
	return r;
}

/* ---- the state ---- */

static bool u32_of(const struct atv_dmap *st, const char *path, uint32_t *v)
{
	return atv_dmap_get_u32(atv_dmap_path(st, path), v, NULL) == 0;
}

/* pyatv dmap media_kind() */
static const char *media_kind(uint32_t k)
{
	static const uint32_t video[] = {3, 7, 11, 12, 13, 18, 32};
	static const uint32_t music[] = {2, 4, 10, 14, 17, 21, 36};

	for (size_t i = 0; i < sizeof video / sizeof video[0]; i++)
		if (k == video[i])
			return "video";
	for (size_t i = 0; i < sizeof music / sizeof music[0]; i++)
		if (k == music[i])
			return "music";
	if (k == 8 || k == 64)
		return "tv";
	return "unknown";
}

int atv_dmap_client_is_playing(const struct atv_dmap *st)
{
	uint32_t caps = 0;

	return u32_of(st, "cmst/caps", &caps) && caps == 4;
}

json_t *atv_dmap_client_playing(const struct atv_dmap *st)
{
	uint32_t caps = 0, kind = 0, cast = 0, cant = 0, cash = 0, carp = 0;
	bool has_total, has_left;
	char *title = NULL, *artist = NULL, *album = NULL, *genre = NULL;
	struct atv_nowplaying np = {.total_time = -1, .position = -1};
	json_t *o;

	u32_of(st, "cmst/caps", &caps);
	np.media_type = u32_of(st, "cmst/cmmk", &kind) ? media_kind(kind) : "unknown";
	np.device_state =
	    caps < sizeof caps_names / sizeof caps_names[0] ? caps_names[caps] : "idle";
	has_total = u32_of(st, "cmst/cast", &cast);
	has_left = u32_of(st, "cmst/cant", &cant);
	if (has_total)
		np.total_time = cast / 1000;
	if (has_total && has_left && cant <= cast)
		np.position = (cast - cant) / 1000;
	u32_of(st, "cmst/cash", &cash);
	u32_of(st, "cmst/carp", &carp);
	np.shuffle = cash ? "songs" : "off";
	np.repeat = carp == 1 ? "track" : carp == 2 ? "all" : "off";
	/* not text (hostile or broken): as absent */
	atv_dmap_get_string(atv_dmap_path(st, "cmst/cann"), &title, NULL);
	atv_dmap_get_string(atv_dmap_path(st, "cmst/cana"), &artist, NULL);
	atv_dmap_get_string(atv_dmap_path(st, "cmst/canl"), &album, NULL);
	atv_dmap_get_string(atv_dmap_path(st, "cmst/cang"), &genre, NULL);
	np.title = title;
	np.artist = artist;
	np.album = album;
	np.genre = genre;
	o = atv_nowplaying_json(&np);
	free(title);
	free(artist);
	free(album);
	free(genre);
	return o;
}

/* ---- the watcher ----
 *
 * One request of the watcher's session at a time, started with
 * atv_http_start and finished by watch_step when atv_http_step says it
 * ended: a login (first, and again when the device answers 403), the
 * playstatusupdate long poll, and after a status whose cavc says the
 * volume is adjustable, a getproperty for the volume that goes with it.
 * Each completed status is one state for watch_take, which is where the
 * caller's poll loop comes in. */

static int start_login(struct atv_dmap_client *c, struct atv_err *err)
{
	char path[PATH_MAX_LEN];
	struct atv_http_req rq = {0};
	int r;

	c->ws.id = 0;
	c->wreq = W_LOGIN;
	atv_buf_reset(&c->wbody);
	r = login_path(c, path, err);
	rq.path = path;
	if (r == 0)
		r = atv_http_start(c->ws.h, &rq, &c->wbody, err);
	atv_crypto_wipe(path, sizeof path);
	return r;
}

/* A ctrl-int request of the watcher: the long poll, or the volume. */
static int start_ctrl(struct atv_dmap_client *c, enum wreq w, struct atv_err *err)
{
	char what[64], path[PATH_MAX_LEN];
	struct atv_http_req rq = {0};
	int r;

	if (!c->ws.id)
		return start_login(c, err);
	if (w == W_POLL)
		snprintf(what, sizeof what, "playstatusupdate?revision-number=%u", c->w_rev);
	else
		snprintf(what, sizeof what, "%s", VOLUME_WHAT);
	if ((r = ctrl_path(&c->ws, what, path, err)) < 0)
		return r;
	c->wreq = w;
	c->w_tries++;
	rq.path = path;
	rq.timeout_ms = w == W_POLL ? LONGPOLL_MS : 0;
	atv_buf_reset(&c->wbody);
	return atv_http_start(c->ws.h, &rq, &c->wbody, err);
}

/* A state for watch_take (st is moved), then the next long poll. */
static int deliver(struct atv_dmap_client *c, struct atv_dmap *st, int vol, struct atv_err *err)
{
	c->ready = *st;
	memset(st, 0, sizeof *st);
	c->ready_vol = vol;
	c->has_ready = true;
	c->w_tries = 0;
	return start_ctrl(c, W_POLL, err);
}

/* The watcher's request ended with status: act on the answer in wbody and
 * start the next request. */
static int watch_answer(struct atv_dmap_client *c, long status, struct atv_err *err)
{
	struct atv_dmap st = {0};
	uint32_t v = 0, cavc = 0, id = 0;
	int r, vol = -1;

	if (c->wreq == W_LOGIN) {
		if ((r = login_reply(c, status, &c->wbody, &id, err)) < 0)
			return r;
		c->ws.id = id;
		return start_ctrl(c, W_POLL, err);
	}
	r = ctrl_status(c, c->wreq == W_POLL ? "playstatusupdate" : VOLUME_WHAT, status, c->w_tries,
			err);
	if (r < 0)
		return r;
	if (r == 1) {
		/* the device forgot the session: the status waiting for its
		 * volume goes without, the long poll starts after a login */
		if (c->wreq == W_VOLUME) {
			c->ready_vol = -1;
			st = c->pend;
			memset(&c->pend, 0, sizeof c->pend);
			c->ready = st;
			c->has_ready = true;
		}
		return start_login(c, err);
	}
	if (c->wreq == W_VOLUME) {
		r = volume_reply(c, &c->wbody, &vol, err);
		if (r == 0)
			r = deliver(c, &c->pend, vol, err);
		return r;
	}
	r = parse_body(c, &c->wbody, &st, err);
	if (r == 0)
		r = check_cmst(c, &st, err);
	if (r == 0 && u32_of(&st, "cmst/cmsr", &v))
		c->w_rev = v;
	if (r == 0 && u32_of(&st, "cmst/cavc", &cavc) && cavc) {
		atv_dmap_release(&c->pend);
		c->pend = st;
		c->w_tries = 0;
		return start_ctrl(c, W_VOLUME, err);
	}
	if (r == 0)
		r = deliver(c, &st, -1, err);
	atv_dmap_release(&st);
	return r;
}

/* Run what is due without blocking, until a state is ready for watch_take
 * or nothing more can be done now. */
static void watch_step(struct atv_dmap_client *c)
{
	struct atv_err e = {0};
	long status = 0;
	int r;

	while (!c->has_ready && !c->w_err) {
		r = atv_http_step(c->ws.h, &status, &e);
		if (r == 0)
			return;
		if (r > 0)
			r = watch_answer(c, status, &e);
		else
			r = req_fail(c, r, c->wreq == W_POLL ? "play status" : "reply", &e);
		if (r < 0) {
			c->w_err = r;
			c->w_errmsg = e;
		}
	}
}

int atv_dmap_client_watch(struct atv_dmap_client *c, unsigned rev, struct atv_err *err)
{
	int r;

	if (c->watching)
		return 0;
	/* its own connection and session: the long poll holds one */
	if ((r = new_http(c, &c->ws.h, err)) < 0)
		return r;
	c->w_rev = rev;
	c->w_err = 0;
	c->w_tries = 0;
	if ((r = start_login(c, err)) < 0) {
		stop_watch(c);
		return r;
	}
	c->watching = true;
	return 0;
}

int atv_dmap_client_watch_fd(const struct atv_dmap_client *c)
{
	return c->watching ? atv_http_fd(c->ws.h) : -1;
}

int atv_dmap_client_watch_timeout_ms(const struct atv_dmap_client *c)
{
	if (!c->watching || c->w_err)
		return -1;
	return c->has_ready ? 0 : atv_http_timeout_ms(c->ws.h);
}

int atv_dmap_client_watch_take(struct atv_dmap_client *c, struct atv_dmap *st, int *vol,
			       struct atv_err *err)
{
	memset(st, 0, sizeof *st);
	*vol = -1;
	if (!c->watching)
		return 0;
	watch_step(c);
	if (c->has_ready) {
		*st = c->ready;
		*vol = c->ready_vol;
		memset(&c->ready, 0, sizeof c->ready);
		c->has_ready = false;
		return 1;
	}
	if (c->w_err) {
		if (err)
			*err = c->w_errmsg;
		return c->w_err;
	}
	return 0;
}
