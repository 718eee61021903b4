/* dmap_remote.c - the DMAP backend: DACP remote control and play status
 * over dmap_client.h.
 *
 * Commands as pyatv's DMAP remote (pyatv/protocols/dmap): arrows and
 * prompts for keys (DACP has no key-down/key-up, so a hold cannot be
 * told), ctrl-int paths for playback, setproperty for position, shuffle,
 * repeat and volume.
 * Pairing is in dmap_remote_pair.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "crypto.h"
#include "dmap_client.h"
#include "banned.h"

#define VOLUME_STEP	   5	 /* volume_up/volume_down: dmcp.volume +-5 */
#define ARTWORK_SIZE	   600

struct dmap_remote {
	char *name;
	struct atv_dmap_client *dmap;
	struct atv_dmap dst; /* the last play status */
	bool has_dst;
	int dvol; /* the last volume, -1: unknown */
	bool watching;
	atv_backend_changed_fn changed;
	void *ctx;
};

static void dmap_close(void *b)
{
	struct dmap_remote *c = b;

	if (!c)
		return;
	atv_dmap_client_close(c->dmap);
	atv_dmap_release(&c->dst);
	free(c->name);
	free(c);
}

/* The current status and volume, as a watcher's starting point. */
static int fetch_state(struct dmap_remote *c, struct atv_err *err)
{
	int r;

	atv_dmap_release(&c->dst);
	c->has_dst = false;
	if ((r = atv_dmap_client_status(c->dmap, &c->dst, err)) < 0)
		return r;
	c->has_dst = true;
	if (atv_dmap_client_volume(c->dmap, &c->dvol, NULL) < 0)
		c->dvol = -1;
	return 0;
}

static int dmap_watch(void *b, struct atv_err *err)
{
	struct dmap_remote *c = b;
	uint32_t rev = 0;
	int r;

	if (c->watching)
		return 0;
	/* a watcher starts from the current state, then long-polls changes */
	if (!c->has_dst && (r = fetch_state(c, err)) < 0)
		return r;
	atv_dmap_get_u32(atv_dmap_path(&c->dst, "cmst/cmsr"), &rev, NULL);
	if ((r = atv_dmap_client_watch(c->dmap, rev, err)) < 0)
		return r;
	c->watching = true;
	return 0;
}

static int dmap_open(const struct atv_device *d, const struct atv_service *svc,
		     const struct atv_backend_opts *o, void **out, struct atv_err *err)
{
	struct atv_dmap_client_opts dopts = {0};
	struct dmap_remote *c;
	int r;

	*out = NULL;
	if (!atv_service_paired(svc))
		return atv_err_set(err, ATV_E_AUTH,
				   "no dmap credentials for %s: pair with atv-pair -p dmap",
				   o->device);
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no dmap port (asleep?)",
				   o->device);
	c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(o->device))) {
		free(c);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	c->dvol = -1;
	c->changed = o->changed;
	c->ctx = o->ctx;
	dopts.timeout_ms = o->timeout_ms;
	dopts.device = o->device;
	r = atv_dmap_client_open(d->address, svc->port, svc->credentials, &dopts, &c->dmap, err);
	if (r == 0 && o->updates)
		r = dmap_watch(c, err);
	if (r < 0) {
		dmap_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- commands (DACP, pyatv protocols/dmap) ---- */

static int setprop(struct dmap_remote *c, const char *prop, long long v, struct atv_err *err)
{
	char what[128];

	snprintf(what, sizeof what, "setproperty?%s=%lld", prop, v);
	return atv_dmap_client_post(c->dmap, what, err);
}

static int key(struct dmap_remote *c, enum atv_cmd_id id, struct atv_err *err)
{
	int vol, r;

	switch (id) {
	case ATV_CMD_UP: return atv_dmap_client_arrow(c->dmap, "up", err);
	case ATV_CMD_DOWN: return atv_dmap_client_arrow(c->dmap, "down", err);
	case ATV_CMD_LEFT: return atv_dmap_client_arrow(c->dmap, "left", err);
	case ATV_CMD_RIGHT: return atv_dmap_client_arrow(c->dmap, "right", err);
	case ATV_CMD_SELECT: return atv_dmap_client_prompt(c->dmap, "select", 0, err);
	case ATV_CMD_MENU: return atv_dmap_client_prompt(c->dmap, "menu", 0, err);
	case ATV_CMD_TOP_MENU: return atv_dmap_client_prompt(c->dmap, "topmenu", 0, err);
	case ATV_CMD_VOLUME_UP:
	case ATV_CMD_VOLUME_DOWN:
		if ((r = atv_dmap_client_volume(c->dmap, &vol, err)) < 0)
			return r;
		vol += id == ATV_CMD_VOLUME_UP ? VOLUME_STEP : -VOLUME_STEP;
		return setprop(c, "dmcp.volume", vol < 0 ? 0 : vol > 100 ? 100 : vol, err);
	default: return -ATV_E_UNSUPPORTED;
	}
}

/* The position in ms from the current play status, or -1. */
static int position(struct dmap_remote *c, long long *ms, struct atv_err *err)
{
	struct atv_dmap st = {0};
	uint32_t cast = 0, cant = 0;
	int r = atv_dmap_client_status(c->dmap, &st, err);

	*ms = -1;
	if (r == 0 && atv_dmap_get_u32(atv_dmap_path(&st, "cmst/cast"), &cast, NULL) == 0 &&
	    atv_dmap_get_u32(atv_dmap_path(&st, "cmst/cant"), &cant, NULL) == 0 && cant <= cast)
		*ms = (long long)cast - cant;
	atv_dmap_release(&st);
	return r;
}

static int playing(struct dmap_remote *c, json_t **result, struct atv_err *err)
{
	struct atv_dmap st = {0};
	int r = atv_dmap_client_status(c->dmap, &st, err);

	if (r == 0) {
		json_t *p = atv_dmap_client_playing(&st);

		if (!p || !(*result = json_object()) ||
		    json_object_set_new(*result, "playing", p)) {
			json_decref(*result);
			*result = NULL;
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
	}
	atv_dmap_release(&st);
	return r;
}

/* pyatv's ctrl_int_cmd: POST with prompt-id=0 */
static const char *const ctrl_paths[ATV_CMD_COUNT] = {
    [ATV_CMD_PLAY] = "play?prompt-id=0",
    [ATV_CMD_PAUSE] = "pause?prompt-id=0",
    [ATV_CMD_PLAY_PAUSE] = "playpause?prompt-id=0",
    [ATV_CMD_STOP] = "stop?prompt-id=0",
    [ATV_CMD_NEXT] = "nextitem?prompt-id=0",
    [ATV_CMD_PREVIOUS] = "previtem?prompt-id=0",
};

static bool dmap_serves(enum atv_cmd_id id)
{
	switch (id) {
	case ATV_CMD_HOME:
	case ATV_CMD_HOME_HOLD:
	case ATV_CMD_SUSPEND:
	case ATV_CMD_WAKEUP:
	case ATV_CMD_TURN_ON:
	case ATV_CMD_TURN_OFF:
	case ATV_CMD_PLAY_URL:
	case ATV_CMD_OUTPUT_DEVICES: /* the speaker group is MRP's */
	case ATV_CMD_ADD_OUTPUT_DEVICES:
	case ATV_CMD_REMOVE_OUTPUT_DEVICES:
	case ATV_CMD_SET_OUTPUT_DEVICES: return false;
	default: return id < ATV_CMD_POWER_STATE; /* the rest are Companion's */
	}
}

static int dmap_command(void *b, const struct atv_cmd *k, json_t **result, struct atv_err *err)
{
	struct dmap_remote *c = b;
	long long ms, skip;
	int r;

	if (ctrl_paths[k->id])
		return atv_dmap_client_post(c->dmap, ctrl_paths[k->id], err);
	switch (k->id) {
	case ATV_CMD_SKIP_FORWARD:
	case ATV_CMD_SKIP_BACKWARD:
		/* as pyatv: seek from the current position */
		if ((r = position(c, &ms, err)) < 0)
			return r;
		if (ms < 0)
			return atv_err_set(err, ATV_E_REFUSED, "%s has no position to skip from",
					   c->name);
		skip = (long long)((k->number > 0 ? k->number : ATV_SKIP_SECONDS) * 1000 + 0.5);
		ms += k->id == ATV_CMD_SKIP_FORWARD ? skip : -skip;
		return setprop(c, "dacp.playingtime", ms < 0 ? 0 : ms, err);
	case ATV_CMD_SET_POSITION:
		return setprop(c, "dacp.playingtime", (long long)(k->number * 1000 + 0.5), err);
	case ATV_CMD_SET_SHUFFLE:
		/* DACP shuffle is on or off: albums is songs */
		return setprop(c, "dacp.shufflestate", k->mode != 0, err);
	case ATV_CMD_SET_REPEAT:
		/* dacp.repeatstate: 0 off, 1 track, 2 all, as the facade's index */
		return setprop(c, "dacp.repeatstate", k->mode, err);
	case ATV_CMD_SET_VOLUME:
		return setprop(c, "dmcp.volume", (long long)(k->number + 0.5), err);
	case ATV_CMD_PLAYING: return playing(c, result, err);
	default: break;
	}
	if (k->action == ATV_KEY_HOLD)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s cannot hold keys over dmap",
				   c->name);
	r = key(c, k->id, err);
	if (r == 0 && k->action == ATV_KEY_DOUBLE_TAP)
		r = key(c, k->id, err);
	return r;
}

/* ---- events ---- */

static int dmap_fd(const void *b)
{
	return atv_dmap_client_watch_fd(((const struct dmap_remote *)b)->dmap);
}

/* libcurl's next timer for the long poll (connect, timeouts) */
static int dmap_timeout_ms(const void *b)
{
	return atv_dmap_client_watch_timeout_ms(((const struct dmap_remote *)b)->dmap);
}

/* The long poll's due work, without blocking; each new state is one round
 * of events. */
static int dmap_step(void *b, struct atv_err *err)
{
	struct dmap_remote *c = b;

	for (;;) {
		struct atv_dmap st;
		int vol, r = atv_dmap_client_watch_take(c->dmap, &st, &vol, err);

		if (r <= 0) {
			atv_dmap_release(&st);
			return r;
		}
		atv_dmap_release(&c->dst);
		c->dst = st;
		c->has_dst = true;
		if (vol >= 0)
			c->dvol = vol;
		if (c->changed)
			c->changed(c->ctx);
	}
}

static int dmap_now(void *b, struct atv_now *now, struct atv_err *err)
{
	struct dmap_remote *c = b;

	now->playing = NULL;
	now->rate = 0;
	now->power = -1;
	now->volume = c->dvol;
	if (!c->has_dst)
		return 0;
	now->rate = atv_dmap_client_is_playing(&c->dst) ? 1.0 : 0.0;
	if (!(now->playing = atv_dmap_client_playing(&c->dst)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static int dmap_artwork(void *b, struct atv_buf *png, struct atv_err *err)
{
	return atv_dmap_client_artwork(((struct dmap_remote *)b)->dmap, ARTWORK_SIZE, png, err);
}

const struct atv_backend atv_dmap_backend = {
    .name = "dmap",
    .open = dmap_open,
    .close = dmap_close,
    .serves = dmap_serves,
    .command = dmap_command,
    .fd = dmap_fd,
    .timeout_ms = dmap_timeout_ms,
    .step = dmap_step,
    .watch = dmap_watch,
    .now = dmap_now,
    .artwork = dmap_artwork,
};
