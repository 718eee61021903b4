/* dmap_client.c - DACP remote control over DMAP/HTTP: login, commands,
 * now-playing state and the playstatusupdate long poll (on a thread). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

struct qitem {
	uint8_t *data;
	size_t len;
	int vol;
	struct qitem *next;
};

struct atv_dmap_client {
	char *base, *name, *cred;
	int timeout_ms;
	struct sess main;

	/* watcher */
	bool watching;
	pthread_t thread;
	struct sess ws;
	unsigned w_rev;
	int cancel[2], notify[2];
	pthread_mutex_t lock; /* the queue and the error below */
	struct qitem *head, *tail;
	size_t n_queued;
	int w_err;
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

static int login(struct atv_dmap_client *c, struct sess *s, struct atv_err *err)
{
	char path[PATH_MAX_LEN];
	struct atv_buf b;
	struct atv_dmap d = {0};
	char *esc = NULL;
	long status = 0;
	uint32_t id = 0;
	int r;

	s->id = 0;
	if (is_guid(c->cred)) {
		uint64_t g;
		char gs[ATV_DMAP_GUID_STRLEN];

		atv_dmap_guid_parse(c->cred, &g, NULL);
		atv_dmap_guid_format(g, gs);
		snprintf(path, sizeof path, "/login?pairing-guid=%s", gs);
	} else {
		if (!(esc = atv_http_escape(c->cred)))
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		if ((size_t)snprintf(path, sizeof path, "/login?hsgid=%s", esc) >= sizeof path) {
			r = atv_err_set(err, ATV_E_AUTH, "unusable dmap credentials for %s",
					c->name);
			goto out;
		}
	}
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = atv_http_get(s->h, path, &status, &b, err);
	if (r == -ATV_E_LIMIT)
		r = atv_err_set(err, ATV_E_PROTO, "%s sent an oversized login reply", c->name);
	if (r < 0)
		goto out_buf;
	if (status == 503 || status == 401 || status == 403) {
		r = atv_err_set(err, ATV_E_AUTH,
				"%s refused the dmap login (http %ld): pair again with "
				"atv-pair -p dmap",
				c->name, status);
		goto out_buf;
	}
	if (status != 200) {
		r = atv_err_set(err, ATV_E_PROTO, "%s answered the dmap login with http %ld",
				c->name, status);
		goto out_buf;
	}
	r = parse_body(c, &b, &d, err);
	if (r == 0 && atv_dmap_get_u32(atv_dmap_path(&d, "mlog/mlid"), &id, NULL) < 0)
		r = atv_err_set(err, ATV_E_PROTO, "%s sent a login reply without mlid", c->name);
	if (r == 0)
		s->id = id;
	atv_dmap_release(&d);
out_buf:
	atv_buf_release(&b);
out:
	atv_crypto_wipe(path, sizeof path);
	if (esc) {
		atv_crypto_wipe(esc, strlen(esc));
		free(esc);
	}
	return r;
}

/* One request on /ctrl-int/1/<what> with the session id; a 403 (session
 * lost) logs in again once.  0 on 2xx with the body in b. */
static int ctrl_req(struct atv_dmap_client *c, struct sess *s, const char *what,
		    const struct atv_buf *post, long timeout_ms, struct atv_buf *b, long *status,
		    struct atv_err *err)
{
	char path[PATH_MAX_LEN];
	struct atv_http_req rq = {0};
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		if (!s->id && (r = login(c, s, err)) < 0)
			return r;
		if ((size_t)snprintf(path, sizeof path, "/ctrl-int/1/%s%csession-id=%u", what,
				     strchr(what, '?') ? '&' : '?', s->id) >= sizeof path)
			return atv_err_set(err, ATV_E_USAGE, "request too long");
		rq.method = post ? "POST" : "GET";
		rq.path = path;
		rq.body = post ? post->data : NULL;
		rq.body_len = post ? post->len : 0;
		rq.content_type = post ? "application/x-dmap-tagged" : NULL;
		rq.timeout_ms = timeout_ms;
		atv_buf_reset(b);
		r = atv_http_request(s->h, &rq, status, b, err);
		if (r == -ATV_E_LIMIT)
			return atv_err_set(err, ATV_E_PROTO, "%s sent an oversized reply", c->name);
		if (r < 0)
			return r;
		if (*status != 403)
			break;
		s->id = 0; /* the device forgot us: log in again */
	}
	if (*status == 403)
		return atv_err_set(err, ATV_E_AUTH, "%s keeps refusing the dmap session", c->name);
	if (*status < 200 || *status > 299)
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %.*s (http %ld)", c->name,
				   (int)strcspn(what, "?"), what, *status);
	return 0;
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
	c->cancel[0] = c->cancel[1] = c->notify[0] = c->notify[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
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
	struct qitem *q;
	char ch = 1;

	if (c->watching) {
		if (write(c->cancel[1], &ch, 1) < 0)
			atv_debug("dmap: cannot stop the watcher: %s", strerror(errno));
		pthread_join(c->thread, NULL);
		c->watching = false;
	}
	atv_http_free(c->ws.h);
	c->ws.h = NULL;
	for (int i = 0; i < 2; i++) {
		if (c->cancel[i] >= 0)
			close(c->cancel[i]);
		if (c->notify[i] >= 0)
			close(c->notify[i]);
		c->cancel[i] = c->notify[i] = -1;
	}
	while ((q = c->head)) {
		c->head = q->next;
		free(q->data);
		free(q);
	}
	c->tail = NULL;
	c->n_queued = 0;
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
	pthread_mutex_destroy(&c->lock);
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

static int get_volume(struct atv_dmap_client *c, struct sess *s, int *vol, struct atv_err *err)
{
	struct atv_buf b;
	struct atv_dmap d = {0};
	long status = 0;
	uint32_t v = 0;
	int r;

	*vol = -1;
	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	r = ctrl_req(c, s, "getproperty?properties=dmcp.volume", NULL, 0, &b, &status, err);
	if (r == 0)
		r = parse_body(c, &b, &d, err);
	if (r == 0) {
		/* cmgt{mstt cmvo}: the parser has checked every length; the
		 * getter refuses a cmvo of 0 or more than 8 bytes and a value
		 * past 32 bits */
		const struct atv_dmap_item *it = atv_dmap_path(&d, "cmgt/cmvo");
		struct atv_err e = {0};

		if (!it)
			r = atv_err_set(err, ATV_E_PROTO,
					"%s sent a volume reply without cmgt/cmvo", c->name);
		else if (atv_dmap_get_u32(it, &v, &e) < 0)
			r = atv_err_set(err, ATV_E_PROTO, "%s sent a bad volume reply: %s", c->name,
					e.msg);
	}
	if (r == 0)
		*vol = v > 100 ? 100 : (int)v;
	atv_dmap_release(&d);
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

/* ---- the watcher ---- */

static void notify(struct atv_dmap_client *c)
{
	char ch = 1;

	if (write(c->notify[1], &ch, 1) < 0)
		atv_debug("dmap: notify: %s", strerror(errno));
}

static void watch_fail(struct atv_dmap_client *c, int r, const struct atv_err *e)
{
	pthread_mutex_lock(&c->lock);
	c->w_err = r;
	c->w_errmsg = *e;
	notify(c);
	pthread_mutex_unlock(&c->lock);
}

static int enqueue(struct atv_dmap_client *c, const struct atv_buf *b, int vol, struct atv_err *err)
{
	struct qitem *q = calloc(1, sizeof *q), *old = NULL;

	if (!q || !(q->data = malloc(b->len ? b->len : 1))) {
		free(q);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	memcpy(q->data, b->data, b->len);
	q->len = b->len;
	q->vol = vol;
	pthread_mutex_lock(&c->lock);
	/* a reader that stopped reading loses the oldest states, not memory */
	if (c->n_queued == ATV_DMAP_WATCH_QUEUE) {
		old = c->head;
		c->head = old->next;
		c->n_queued--;
	}
	if (c->tail && c->head)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->n_queued++;
	notify(c);
	pthread_mutex_unlock(&c->lock);
	if (old) {
		free(old->data);
		free(old);
	}
	return 0;
}

static void *watcher(void *arg)
{
	struct atv_dmap_client *c = arg;
	struct atv_err e = {0};
	struct atv_buf b;
	char what[64];
	unsigned rev = c->w_rev;
	int r = 0;

	atv_buf_init(&b, ATV_DMAP_BODY_MAX);
	for (;;) {
		struct atv_dmap st = {0};
		uint32_t v = 0, cavc = 0;
		long status = 0;
		int vol = -1;

		snprintf(what, sizeof what, "playstatusupdate?revision-number=%u", rev);
		r = ctrl_req(c, &c->ws, what, NULL, LONGPOLL_MS, &b, &status, &e);
		if (r == 0)
			r = parse_body(c, &b, &st, &e);
		if (r == 0)
			r = check_cmst(c, &st, &e);
		if (r == 0 && u32_of(&st, "cmst/cmsr", &v))
			rev = v;
		if (r == 0 && u32_of(&st, "cmst/cavc", &cavc) && cavc)
			r = get_volume(c, &c->ws, &vol, &e);
		atv_dmap_release(&st);
		if (r == 0)
			r = enqueue(c, &b, vol, &e);
		if (r < 0)
			break;
	}
	atv_buf_release(&b);
	if (!atv_http_cancelled(c->ws.h))
		watch_fail(c, r, &e);
	return NULL;
}

int atv_dmap_client_watch(struct atv_dmap_client *c, unsigned rev, struct atv_err *err)
{
	int r;

	if (c->watching)
		return 0;
	if (pipe2(c->cancel, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(c->notify, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "pipe");
		goto out;
	}
	/* its own connection and session: the long poll holds one */
	if ((r = new_http(c, &c->ws.h, err)) < 0)
		goto out;
	atv_http_set_cancel_fd(c->ws.h, c->cancel[0]);
	c->ws.id = 0;
	c->w_rev = rev;
	c->w_err = 0;
	if ((r = pthread_create(&c->thread, NULL, watcher, c)) != 0) {
		r = atv_err_sys(err, ATV_E_IO, r, "unable to start the dmap watcher");
		goto out;
	}
	c->watching = true;
	return 0;
out:
	stop_watch(c);
	return r;
}

int atv_dmap_client_watch_fd(const struct atv_dmap_client *c)
{
	return c->watching ? c->notify[0] : -1;
}

int atv_dmap_client_watch_take(struct atv_dmap_client *c, struct atv_dmap *st, int *vol,
			       struct atv_err *err)
{
	struct qitem *q;
	char drain[64];
	int r = 0;

	memset(st, 0, sizeof *st);
	*vol = -1;
	if (!c->watching)
		return 0;
	pthread_mutex_lock(&c->lock);
	q = c->head;
	if (q) {
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->n_queued--;
	}
	if (!q && c->w_err) {
		r = c->w_err;
		if (err)
			*err = c->w_errmsg;
	}
	/* the pipe holds bytes while the queue does (written under the lock) */
	if (!c->head && !c->w_err)
		while (read(c->notify[0], drain, sizeof drain) > 0)
			;
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return r;
	if (!q)
		return 0;
	r = atv_dmap_parse(st, q->data, q->len, err);
	*vol = q->vol;
	free(q->data);
	free(q);
	return r < 0 ? r : 1;
}
