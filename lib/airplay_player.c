/* airplay_player.c - the AirPlay backend: video URL playback and its
 * transport controls over airplay.h, HAP pairing over /pair-setup.
 *
 * The whole connection with -p airplay, or next to MRP or DMAP for
 * play_url: then it is opened lazily, on the first play_url, so a command
 * that never plays a video never touches the AirPlay port.  AirPlay has no
 * remote keys and pushes nothing here: a backend without events. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "airplay.h"
#include "airplay_info.h"
#include "backend.h"
#include "crypto.h"
#include "pair.h"
#include "log.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000

struct airplay_player {
	struct atv_airplay *ap; /* NULL until connected */
	char *name, *host;
	int port;
	char *creds; /* secret: wiped on close */
	struct atv_airplay_info info;
	int timeout_ms;
	bool wait; /* play_url follows the video to its end */
	atv_backend_progress_fn progress;
	void *ctx;
};

static void ap_close(void *b)
{
	struct airplay_player *c = b;

	if (!c)
		return;
	atv_airplay_close(c->ap);
	if (c->creds) {
		atv_crypto_wipe(c->creds, strlen(c->creds));
		free(c->creds);
	}
	free(c->host);
	free(c->name);
	free(c);
}

static int ap_connect(struct airplay_player *c, struct atv_err *err)
{
	struct atv_airplay_opts ao = {0};

	if (c->ap)
		return 0;
	ao.timeout_ms = c->timeout_ms;
	ao.device = c->name;
	return atv_airplay_open(c->host, c->port, &c->info, c->creds, &ao, &c->ap, err);
}

static int ap_open(const struct atv_device *d, const struct atv_service *svc,
		   const struct atv_backend_opts *o, void **out, struct atv_err *err)
{
	struct airplay_player *c;
	struct atv_err e = {0};
	int r = 0;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	/* malformed TXT facts: AirPlay 1 defaults, the device will tell */
	if (atv_airplay_info_parse(svc->properties, &c->info, &e) < 0)
		memset(&c->info, 0, sizeof c->info);
	c->info.pairing_id = c->info.public_key = NULL; /* borrowed from d */
	c->port = svc->port;
	c->timeout_ms = o->timeout_ms;
	c->wait = o->wait;
	c->progress = o->progress;
	c->ctx = o->ctx;
	if (!(c->name = strdup(o->device)) || !(c->host = strdup(d->address)) ||
	    (atv_service_paired(svc) && !(c->creds = strdup(svc->credentials))))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (r == 0 && !o->lazy)
		r = ap_connect(c, err);
	if (r < 0) {
		ap_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* The playback state as result or event members. */
static json_t *playback_json(const struct atv_airplay_playback *pb)
{
	json_t *j = json_pack("{s:s}", "state", atv_airplay_state_name(pb->state));

	if (j && pb->has_duration &&
	    (json_object_set_new(j, "position", json_real(pb->position)) ||
	     json_object_set_new(j, "duration", json_real(pb->duration)) ||
	     json_object_set_new(j, "rate", json_real(pb->rate)))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void on_progress(void *ctx, const struct atv_airplay_playback *pb)
{
	struct airplay_player *c = ctx;
	json_t *ev;

	/* -v: what the polling of /playback-info is waiting for */
	if (pb->state == ATV_AP_LOADING)
		atv_info("play_url: the device is loading the video; waiting for it to play");
	else
		atv_info("play_url: %s%s", atv_airplay_state_name(pb->state),
			 c->wait && pb->state != ATV_AP_ENDED ? "; following it until it ends"
							      : "");
	if (!c->wait || !c->progress || !(ev = playback_json(pb)))
		return;
	if (json_object_set_new(ev, "event", json_string("playback")) == 0)
		c->progress(c->ctx, ev);
	json_decref(ev);
}

static int play_url(struct airplay_player *c, const struct atv_cmd *k, json_t **result,
		    struct atv_err *err)
{
	struct atv_airplay_playback pb;
	int r = atv_airplay_play_url(c->ap, k->url, k->number, c->wait, on_progress, c, &pb, err);

	if (r == 0 && !(*result = playback_json(&pb)))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return r;
}

static int playing(struct airplay_player *c, json_t **result, struct atv_err *err)
{
	struct atv_airplay_playback pb;
	json_t *p;
	int r = atv_airplay_playback(c->ap, &pb, err);

	if (r < 0)
		return r;
	if (!(p = playback_json(&pb)) || !(*result = json_object()) ||
	    json_object_set_new(*result, "playback", p)) {
		json_decref(*result);
		*result = NULL;
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return 0;
}

/* What AirPlay can do: /play, /rate, /scrub, /stop, /playback-info. */
static bool ap_serves(enum atv_cmd_id id)
{
	switch (id) {
	case ATV_CMD_PLAY_URL:
	case ATV_CMD_PLAY:
	case ATV_CMD_PAUSE:
	case ATV_CMD_STOP:
	case ATV_CMD_SET_POSITION:
	case ATV_CMD_PLAYING: return true;
	default: return false;
	}
}

static int ap_command(void *b, const struct atv_cmd *k, json_t **result, struct atv_err *err)
{
	struct airplay_player *c = b;
	int r = ap_connect(c, err);

	if (r < 0)
		return r;
	switch (k->id) {
	case ATV_CMD_PLAY_URL: return play_url(c, k, result, err);
	case ATV_CMD_PLAY: return atv_airplay_rate(c->ap, 1, err);
	case ATV_CMD_PAUSE: return atv_airplay_rate(c->ap, 0, err);
	case ATV_CMD_STOP: return atv_airplay_stop(c->ap, err);
	case ATV_CMD_SET_POSITION: return atv_airplay_scrub(c->ap, k->number, err);
	case ATV_CMD_PLAYING: return playing(c, result, err);
	default: return atv_err_set(err, ATV_E_UNSUPPORTED, "%s over airplay", k->name);
	}
}

/* ---- pairing: POST /pair-pin-start (the device shows a PIN), then HAP
 * pair-setup over HTTP in finish (airplay.h) ---- */

static int ap_pair_begin(const struct atv_device *d, const struct atv_service *svc,
			 const struct atv_pair_opts *o, void **out, struct atv_err *err)
{
	struct atv_airplay_opts ao = {0};
	struct atv_airplay_info info;
	struct atv_airplay_pairing *p = NULL;
	const char *name = atv_device_label(d);
	struct atv_err e = {0};
	int r;

	*out = NULL;
	if (atv_airplay_info_parse(svc->properties, &info, &e) < 0)
		return atv_err_set(err, ATV_E_PROTO, "airplay service of %s: %s", name, e.msg);
	ao.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	ao.device = name;
	ao.name = o && o->name ? o->name : "atv-tools";
	r = atv_airplay_pair_begin(d->address, svc->port, &info, &ao, &p, err);
	*out = p;
	return r;
}

static const char *ap_pair_pin(const void *p)
{
	(void)p;
	return NULL; /* the device shows it */
}

static int ap_pair_finish(void *p, const char *pin, char **credentials, struct atv_err *err)
{
	return atv_airplay_pair_finish(p, pin, credentials, err);
}

static void ap_pair_free(void *p)
{
	atv_airplay_pair_free(p);
}

const struct atv_backend atv_airplay_backend = {
    .name = "airplay",
    .open = ap_open,
    .close = ap_close,
    .serves = ap_serves,
    .command = ap_command,
};

const struct atv_pairer atv_airplay_pairer = {
    .name = "airplay",
    .begin = ap_pair_begin,
    .pin = ap_pair_pin,
    .finish = ap_pair_finish,
    .free = ap_pair_free,
};
