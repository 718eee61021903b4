/* conn.c - the connect facade: protocol choice, the command table, events.
 *
 * MRP when its service is enabled and paired, else DMAP when that is
 * paired (a Remote pairing GUID, or the Home Sharing hG the scan found),
 * as pyatv prefers MRP over DMAP.  Commands follow pyatv's MRP remote
 * (pyatv/protocols/mrp/__init__.py): keys as HID events (down, up; a
 * double tap is two presses, a hold keeps the key down 1 s), each followed
 * by a GENERIC round trip so "done" means the device has handled it;
 * playback as SEND_COMMAND answered by SEND_COMMAND_RESULT. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "airplay.h"
#include "apinfo.h"
#include "conn.h"
#include "dmap_client.h"
#include "hap.h"
#include "log.h"
#include "mrp.h"
#include "mrp_frame.h"
#include "mrp_msg.h"
#include "mrp_state.h"

#define DEFAULT_TIMEOUT_MS  5000
#define HOLD_MS		    1000 /* pyatv holds a key for one second */
#define BETWEEN_COMMANDS_MS 100	 /* pyatv's pause between turn_off's two keys */
#define SKIP_SECONDS	    15.0f
#define ARTWORK_SIZE	    600.0 /* pixels asked for; the device may send another size */
/* The position moved by more than the clock explains: a seek. */
#define POSITION_SLACK 2.0

/* HID usage pages and usages (USB HID usage tables): generic desktop (1)
 * for the system keys, consumer (12) for the media ones. */
#define PAGE_DESKTOP  1
#define PAGE_CONSUMER 12

enum kind {
	K_KEY,	    /* a remote key: tap, double_tap or hold */
	K_HOLD,	    /* a key that is always held (home_hold) */
	K_COMMAND,  /* SEND_COMMAND without options */
	K_SKIP,	    /* SEND_COMMAND with skipInterval */
	K_POSITION, /* set_position=SECONDS */
	K_SHUFFLE,  /* set_shuffle=off|songs|albums */
	K_REPEAT,   /* set_repeat=off|track|all */
	K_VOLUME,   /* set_volume=0..100 */
	K_TURN_ON,
	K_TURN_OFF,
	K_PLAYING,
	K_PLAY_URL /* play_url=URL[ start=SECONDS]: always over AirPlay */
};

struct command {
	const char *name;
	enum kind kind;
	uint16_t page, usage; /* keys */
	Mrp__Command cmd;     /* SEND_COMMAND */
};

static const struct command commands[] = {
    {"up", K_KEY, PAGE_DESKTOP, 0x8c, 0},
    {"down", K_KEY, PAGE_DESKTOP, 0x8d, 0},
    {"left", K_KEY, PAGE_DESKTOP, 0x8b, 0},
    {"right", K_KEY, PAGE_DESKTOP, 0x8a, 0},
    {"select", K_KEY, PAGE_DESKTOP, 0x89, 0},
    {"menu", K_KEY, PAGE_DESKTOP, 0x86, 0},
    {"home", K_KEY, PAGE_CONSUMER, 0x40, 0},
    {"home_hold", K_HOLD, PAGE_CONSUMER, 0x40, 0},
    {"top_menu", K_KEY, PAGE_CONSUMER, 0x60, 0},
    {"suspend", K_KEY, PAGE_DESKTOP, 0x82, 0},
    {"wakeup", K_KEY, PAGE_DESKTOP, 0x83, 0},
    {"play", K_COMMAND, 0, 0, MRP__COMMAND__CMD_PLAY},
    {"pause", K_COMMAND, 0, 0, MRP__COMMAND__CMD_PAUSE},
    {"play_pause", K_COMMAND, 0, 0, MRP__COMMAND__CMD_TOGGLE_PLAY_PAUSE},
    {"stop", K_COMMAND, 0, 0, MRP__COMMAND__CMD_STOP},
    {"next", K_COMMAND, 0, 0, MRP__COMMAND__CMD_NEXT_TRACK},
    {"previous", K_COMMAND, 0, 0, MRP__COMMAND__CMD_PREVIOUS_TRACK},
    {"skip_forward", K_SKIP, 0, 0, MRP__COMMAND__CMD_SKIP_FORWARD},
    {"skip_backward", K_SKIP, 0, 0, MRP__COMMAND__CMD_SKIP_BACKWARD},
    {"set_position", K_POSITION, 0, 0, MRP__COMMAND__CMD_SEEK_TO_PLAYBACK_POSITION},
    {"set_shuffle", K_SHUFFLE, 0, 0, MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE},
    {"set_repeat", K_REPEAT, 0, 0, MRP__COMMAND__CMD_CHANGE_REPEAT_MODE},
    {"volume_up", K_KEY, PAGE_CONSUMER, 0xe9, 0},
    {"volume_down", K_KEY, PAGE_CONSUMER, 0xea, 0},
    {"set_volume", K_VOLUME, 0, 0, 0},
    {"turn_on", K_TURN_ON, 0, 0, 0},
    {"turn_off", K_TURN_OFF, 0, 0, 0},
    {"playing", K_PLAYING, 0, 0, 0},
    {"play_url", K_PLAY_URL, 0, 0, 0},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const char *const atv_conn_commands[] = {
    "up",	   "down",	   "left",	    "right",
    "select",	   "menu",	   "home",	    "home_hold",
    "top_menu",	   "suspend",	   "wakeup",	    "play",
    "pause",	   "play_pause",   "stop",	    "next",
    "previous",	   "skip_forward", "skip_backward", "set_position",
    "set_shuffle", "set_repeat",   "volume_up",	    "volume_down",
    "set_volume",  "turn_on",	   "turn_off",	    "playing",
    "play_url",	   NULL,
};

enum action { A_TAP, A_DOUBLE, A_HOLD };

/* The entry named name[0..len) (len 0: all of name), or NULL. */
static const struct command *find_n(const char *name, size_t len)
{
	if (!len)
		len = strlen(name);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strlen(commands[i].name) == len && strncmp(commands[i].name, name, len) == 0)
			return &commands[i];
	return NULL;
}

static const struct command *find(const char *name)
{
	return find_n(name, 0);
}

struct atv_conn {
	char *id, *name;
	struct atv_mrp *mrp;
	struct atv_dmap_client *dmap; /* instead of mrp */
	struct atv_dmap dst;	      /* the last DMAP play status */
	bool has_dst;
	int dvol; /* the last DMAP volume, -1: unknown */
	struct atv_mrp_state *st;
	unsigned updates; /* what CLIENT_UPDATES_CONFIG asked for */
	char *artwork_dir;
	int st_err; /* a failure while handling a push (no memory) */
	struct atv_err st_errmsg;

	/* what the last events said */
	json_t *last_playing; /* without position */
	bool last_has_pos;
	double last_pos, last_rate, last_time;
	int last_power, last_volume;
	char *art_hash, *art_path; /* the artwork saved last */

	/* AirPlay: the whole connection (-p airplay), or opened for the
	 * first play_url next to MRP or DMAP */
	struct atv_airplay *ap;
	bool ap_only;
	bool has_ap;	/* the device has an airplay service */
	char *ap_host;
	int ap_port;
	char *ap_creds; /* secret: wiped on close */
	struct atv_airplay_info ap_info;
	int timeout_ms;
	bool wait; /* play_url follows the video to its end */
	atv_conn_event_cb progress;
	void *progress_ctx;
};

static const char *dev_name(const struct atv_device *d)
{
	if (d->name && d->name[0])
		return d->name;
	if (d->identifier)
		return d->identifier;
	return d->address ? d->address : "the device";
}

static void on_push(void *ctx, const Mrp__ProtocolMessage *m)
{
	struct atv_conn *c = ctx;
	struct atv_err e = {0};
	int r = atv_mrp_state_update(c->st, m, &e);

	if (r < 0 && !c->st_err) {
		c->st_err = -r;
		c->st_errmsg = e;
	}
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool has_creds(const struct atv_service *s)
{
	return s && s->credentials && s->credentials[0];
}

/* The service to use for d: MRP when enabled and paired, else DMAP when
 * paired, else MRP when enabled (its error says to pair), or an error
 * naming what is missing. */
static int pick(const struct atv_device *d, const char *want, const struct atv_service **svc,
		struct atv_err *err)
{
	const struct atv_service *mrp = atv_device_service(d, "mrp");
	const struct atv_service *dmap = atv_device_service(d, "dmap");
	const char *name = dev_name(d);

	if (want && strcmp(want, "mrp") != 0 && strcmp(want, "dmap") != 0 &&
	    strcmp(want, "airplay") != 0)
		return atv_err_set(err, ATV_E_USAGE, "unknown protocol %s (mrp, dmap or airplay)",
				   want);
	if (want && strcmp(want, "airplay") == 0) {
		*svc = atv_device_service(d, "airplay");
		if (!*svc)
			return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no airplay service",
					   name);
		return 0;
	}
	if (want && strcmp(want, "dmap") == 0) {
		if (!dmap)
			return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no dmap service", name);
		*svc = dmap;
		return 0;
	}
	if (mrp && mrp->enabled && (want || has_creds(mrp) || !has_creds(dmap))) {
		*svc = mrp;
		return 0;
	}
	if (want)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   mrp ? "the mrp service of %s is disabled (tvOS 15+)"
				       : "%s has no mrp service",
				   name);
	if (has_creds(dmap)) {
		*svc = dmap;
		return 0;
	}
	return atv_err_set(err, ATV_E_UNSUPPORTED, "no usable protocol for %s: %s, %s", name,
			   mrp ? "mrp service disabled (tvOS 15+)" : "no mrp service",
			   dmap ? "dmap not paired (atv-pair -p dmap)" : "no dmap service");
}

static int open_dmap(const struct atv_device *d, const struct atv_service *svc,
		     const struct atv_conn_opts *o, struct atv_conn *c, struct atv_err *err)
{
	struct atv_dmap_client_opts dopts = {0};
	uint32_t rev = 0;
	int r;

	if (!has_creds(svc))
		return atv_err_set(err, ATV_E_AUTH,
				   "no dmap credentials for %s: pair with atv-pair -p dmap",
				   c->name);
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no dmap port (asleep?)",
				   c->name);
	dopts.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	dopts.device = c->name;
	r = atv_dmap_client_open(d->address, svc->port, svc->credentials, &dopts, &c->dmap, err);
	if (r < 0 || !o || !o->updates)
		return r;
	/* a watcher starts from the current state, then long-polls changes */
	r = atv_dmap_client_status(c->dmap, &c->dst, err);
	if (r < 0)
		return r;
	c->has_dst = true;
	atv_dmap_get_u32(atv_dmap_path(&c->dst, "cmst/cmsr"), &rev, NULL);
	if (atv_dmap_client_volume(c->dmap, &c->dvol, NULL) < 0)
		c->dvol = -1;
	return atv_dmap_client_watch(c->dmap, rev, err);
}

/* Keep what a later play_url needs to reach the AirPlay service. */
static int keep_airplay(const struct atv_device *d, struct atv_conn *c, struct atv_err *err)
{
	const struct atv_service *svc = atv_device_service(d, "airplay");
	struct atv_err e = {0};

	if (!svc || !d->address || !d->address[0])
		return 0;
	/* malformed TXT facts: AirPlay 1 defaults, the device will tell */
	if (atv_airplay_info_parse(svc->properties, &c->ap_info, &e) < 0)
		memset(&c->ap_info, 0, sizeof c->ap_info);
	c->ap_info.pairing_id = c->ap_info.public_key = NULL; /* borrowed from d */
	c->ap_port = svc->port;
	if (!(c->ap_host = strdup(d->address)) ||
	    (has_creds(svc) && !(c->ap_creds = strdup(svc->credentials))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	c->has_ap = true;
	return 0;
}

static int open_airplay(struct atv_conn *c, struct atv_err *err)
{
	struct atv_airplay_opts ao = {0};

	if (c->ap)
		return 0;
	if (!c->has_ap)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no airplay service", c->name);
	ao.timeout_ms = c->timeout_ms;
	ao.device = c->name;
	return atv_airplay_open(c->ap_host, c->ap_port, &c->ap_info, c->ap_creds, &ao, &c->ap,
				err);
}

static int open_mrp(const struct atv_device *d, const struct atv_service *svc,
		    const struct atv_conn_opts *o, struct atv_conn *c, struct atv_err *err)
{
	struct atv_hap_creds creds;
	struct atv_mrp_opts mo = {0};
	char client_id[ATV_HAP_ID_MAX + 1];
	const Mrp__ProtocolMessage *info;
	struct atv_err e = {0};
	int r;

	memset(&creds, 0, sizeof creds);
	if (!has_creds(svc))
		return atv_err_set(err, ATV_E_AUTH,
				   "no mrp credentials for %s: pair with atv-pair -p mrp", c->name);
	if (atv_hap_creds_parse(svc->credentials, &creds, &e) < 0) {
		atv_hap_creds_wipe(&creds);
		return atv_err_set(
		    err, ATV_E_AUTH,
		    "unusable mrp credentials for %s (%s): pair again with atv-pair -p mrp",
		    c->name, e.msg);
	}
	if (svc->port <= 0) {
		r = atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no mrp port (asleep?)",
				c->name);
		goto out;
	}
	if (!(c->st = atv_mrp_state_new())) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	/* Our DEVICE_INFO carries the pairing id the device knows us by. */
	memcpy(client_id, creds.client_id, creds.client_id_len);
	client_id[creds.client_id_len] = 0;
	mo.timeout_ms = c->timeout_ms;
	mo.device = c->name;
	mo.pairing_id = client_id;
	mo.push = on_push;
	mo.push_ctx = c;
	r = atv_mrp_connect(d->address, svc->port, &mo, &c->mrp, err);
	if (r < 0)
		goto out;
	info = atv_mrp_device_info(c->mrp);
	on_push(c, info); /* the power state */
	r = atv_mrp_verify(c->mrp, &creds, err);
	if (r < 0)
		goto out;
	if (o && o->updates) {
		c->updates = ATV_MRP_UPDATES_NOW_PLAYING | ATV_MRP_UPDATES_VOLUME |
			     ATV_MRP_UPDATES_OUTPUT_DEVICES;
		if (c->artwork_dir)
			c->updates |= ATV_MRP_UPDATES_ARTWORK;
	}
	r = atv_mrp_start(c->mrp, c->updates, err);
	/* The state pushed for CLIENT_UPDATES_CONFIG is in once the device has
	 * answered a message sent after it: a snapshot starts complete. */
	if (r == 0 && c->updates)
		r = atv_mrp_sync(c->mrp, err);
	if (r == 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
out:
	atv_hap_creds_wipe(&creds);
	atv_crypto_wipe(client_id, sizeof client_id);
	return r;
}

int atv_conn_open(const struct atv_device *d, const struct atv_conn_opts *o, struct atv_conn **out,
		  struct atv_err *err)
{
	const struct atv_service *svc = NULL;
	struct atv_conn *c = NULL;
	const char *name = dev_name(d);
	int r;

	*out = NULL;
	r = pick(d, o ? o->protocol : NULL, &svc, err);
	if (r < 0)
		return r;
	if (!d->address || !d->address[0])
		return atv_err_set(err, ATV_E_UNREACHABLE, "no address known for %s", name);
	c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name)) ||
	    !(c->id = strdup(d->identifier ? d->identifier : name)) ||
	    (o && o->artwork_dir && !(c->artwork_dir = strdup(o->artwork_dir)))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	c->last_power = c->last_volume = c->dvol = -1;
	c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	if (o) {
		c->wait = o->wait;
		c->progress = o->progress;
		c->progress_ctx = o->progress_ctx;
	}
	r = keep_airplay(d, c, err);
	if (r < 0)
		goto out;
	if (strcmp(svc->protocol, "airplay") == 0) {
		c->ap_only = true;
		r = open_airplay(c, err);
	} else if (strcmp(svc->protocol, "dmap") == 0) {
		r = open_dmap(d, svc, o, c, err);
	} else {
		r = open_mrp(d, svc, o, c, err);
	}
out:
	if (r < 0) {
		atv_conn_close(c);
		return r;
	}
	*out = c;
	return 0;
}

void atv_conn_close(struct atv_conn *c)
{
	if (!c)
		return;
	atv_mrp_close(c->mrp);
	atv_mrp_state_free(c->st);
	atv_dmap_client_close(c->dmap);
	atv_dmap_release(&c->dst);
	atv_airplay_close(c->ap);
	if (c->ap_creds) {
		atv_crypto_wipe(c->ap_creds, strlen(c->ap_creds));
		free(c->ap_creds);
	}
	free(c->ap_host);
	json_decref(c->last_playing);
	free(c->id);
	free(c->name);
	free(c->artwork_dir);
	free(c->art_hash);
	free(c->art_path);
	free(c);
}

const char *atv_conn_protocol(const struct atv_conn *c)
{
	return c->ap_only ? "airplay" : c->dmap ? "dmap" : "mrp";
}

const char *atv_conn_device_id(const struct atv_conn *c)
{
	return c->id;
}

int atv_conn_fd(const struct atv_conn *c)
{
	if (c->ap_only)
		return -1; /* AirPlay has no events here */
	return c->dmap ? atv_dmap_client_watch_fd(c->dmap) : atv_mrp_fd(c->mrp);
}

int atv_conn_timeout_ms(const struct atv_conn *c)
{
	if (c->dmap)
		return atv_dmap_client_watch_timeout_ms(c->dmap);
	return c->ap_only ? -1 : atv_mrp_timeout_ms(c->mrp);
}

/* ---- commands ---- */

/* "SEND_ERROR_APPLICATION_NOT_FOUND" -> "application not found". */
static void enum_text(const ProtobufCEnumDescriptor *desc, int v, const char *prefix, char *out,
		      size_t size)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(desc, v);
	const char *n = ev ? ev->name : NULL;
	size_t i;

	if (!n) {
		snprintf(out, size, "%d", v);
		return;
	}
	if (strncmp(n, prefix, strlen(prefix)) == 0)
		n += strlen(prefix);
	for (i = 0; n[i] && i + 1 < size; i++)
		out[i] = n[i] == '_' ? ' ' : (char)(n[i] | 0x20);
	out[i] = 0;
}

/* The verdict in a SEND_COMMAND_RESULT: 0, or -ATV_E_REFUSED naming why. */
static int command_result(const struct atv_conn *c, const char *item, const Mrp__ProtocolMessage *m,
			  struct atv_err *err)
{
	const Mrp__SendCommandResultMessage *r = m->sendcommandresultmessage;
	char why[64];

	if (m->has_errorcode && m->errorcode != MRP__ERROR_CODE__ERROR_NONE) {
		enum_text(&mrp__error_code__descriptor, m->errorcode, "ERROR_", why, sizeof why);
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %s: %s", c->name, item, why);
	}
	if (!r)
		return 0;
	if (r->has_senderror && r->senderror != MRP__SEND_ERROR__SEND_ERROR_NONE) {
		enum_text(&mrp__send_error__descriptor, r->senderror, "SEND_ERROR_", why,
			  sizeof why);
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %s: %s", c->name, item, why);
	}
	if (r->has_handlerreturnstatus &&
	    r->handlerreturnstatus != MRP__HANDLER_STATUS__HANDLER_SUCCESS) {
		enum_text(&mrp__handler_status__descriptor, r->handlerreturnstatus, "HANDLER_", why,
			  sizeof why);
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %s: %s", c->name, item, why);
	}
	return 0;
}

static int send_command(struct atv_conn *c, const char *item, Mrp__Command cmd,
			const struct atv_mrp_cmd_opts *opts, struct atv_err *err)
{
	struct atv_buf b;
	struct atv_mrp_ids ids;
	Mrp__ProtocolMessage *reply = NULL;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_command(&b, &ids, cmd, opts, err);
	if (r == 0)
		r = atv_mrp_request(c->mrp, &b, ids.identifier, &reply, err);
	if (r == 0)
		r = command_result(c, item, reply, err);
	atv_mrp_msg_free(reply);
	atv_buf_release(&b);
	return r;
}

static int hid(struct atv_conn *c, const struct command *k, bool down, struct atv_err *err)
{
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_hid_event(&b, NULL, k->page, k->usage, down, err);
	if (r == 0)
		r = atv_mrp_send(c->mrp, &b, err);
	atv_buf_release(&b);
	return r;
}

static int press(struct atv_conn *c, const struct command *k, enum action a, struct atv_err *err)
{
	int r = hid(c, k, true, err);

	if (r == 0 && a == A_HOLD)
		r = atv_mrp_pump(c->mrp, HOLD_MS, err);
	if (r == 0)
		r = hid(c, k, false, err);
	if (r == 0 && a == A_DOUBLE)
		r = hid(c, k, true, err);
	if (r == 0 && a == A_DOUBLE)
		r = hid(c, k, false, err);
	/* HID events have no reply: a round trip tells they were handled. */
	if (r == 0)
		r = atv_mrp_sync(c->mrp, err);
	return r;
}

static int simple(struct atv_conn *c, Mrp__ProtocolMessage__Type type, struct atv_err *err)
{
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_empty(&b, NULL, type, err);
	if (r == 0)
		r = atv_mrp_send(c->mrp, &b, err);
	if (r == 0)
		r = atv_mrp_sync(c->mrp, err);
	atv_buf_release(&b);
	return r;
}

static int set_volume(struct atv_conn *c, double pct, struct atv_err *err)
{
	const Mrp__ProtocolMessage *info = atv_mrp_device_info(c->mrp);
	const char *uid = atv_mrp_state_output(c->st);
	struct atv_buf b;
	int r;

	/* The output device whose volume we are told about; before the device
	 * named one, the one its DEVICE_INFO gives. */
	if (!uid && info->deviceinfomessage)
		uid = info->deviceinfomessage->deviceuid;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_set_volume(&b, NULL, uid, (float)(pct / 100.0), err);
	if (r == 0)
		r = atv_mrp_send(c->mrp, &b, err);
	if (r == 0)
		r = atv_mrp_sync(c->mrp, err);
	atv_buf_release(&b);
	return r;
}

/* Now-playing pushes are needed for the state: ask for them if the
 * connection was opened without, and wait until they are in. */
static int want_updates(struct atv_conn *c, struct atv_err *err)
{
	struct atv_buf b;
	unsigned want = ATV_MRP_UPDATES_NOW_PLAYING | ATV_MRP_UPDATES_VOLUME;
	int r;

	if ((c->updates & want) == want)
		return 0;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_client_updates_config(&b, NULL, c->updates | want, err);
	if (r == 0)
		r = atv_mrp_send(c->mrp, &b, err);
	if (r == 0)
		r = atv_mrp_sync(c->mrp, err);
	atv_buf_release(&b);
	if (r == 0)
		c->updates |= want;
	return r;
}

static int parse_number(const char *item, const char *v, double lo, double hi, double *out,
			struct atv_err *err)
{
	char *end;
	double d;

	errno = 0;
	d = v && *v ? strtod(v, &end) : NAN;
	if (!v || !*v || *end || errno || !isfinite(d) || d < lo || d > hi)
		return atv_err_set(err, ATV_E_USAGE, "%s needs a number from %g to %g", item, lo,
				   hi);
	*out = d;
	return 0;
}

/* set_shuffle and set_repeat values: the index in these lists is also
 * the DACP value and the index of the MRP enum below. */
static const char *const shuffle_names[] = {"off", "songs", "albums"};
static const char *const repeat_names[] = {"off", "track", "all"};
static const Mrp__ShuffleMode shuffle_modes[] = {MRP__SHUFFLE_MODE__SHUFFLE_OFF,
						  MRP__SHUFFLE_MODE__SHUFFLE_SONGS,
						  MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS};
static const Mrp__RepeatMode repeat_modes[] = {
    MRP__REPEAT_MODE__REPEAT_OFF, MRP__REPEAT_MODE__REPEAT_ONE, MRP__REPEAT_MODE__REPEAT_ALL};

/* The index (0..2) of val among k's (K_SHUFFLE or K_REPEAT) names. */
static int parse_mode(const struct command *k, const char *val, struct atv_err *err)
{
	const char *const *names = k->kind == K_SHUFFLE ? shuffle_names : repeat_names;

	for (int i = 0; i < 3; i++)
		if (strcmp(val, names[i]) == 0)
			return i;
	return atv_err_set(err, ATV_E_USAGE, "%s takes %s, %s or %s", k->name, names[0],
			   names[1], names[2]);
}

static int parse_action(const char *s, enum action *a, struct atv_err *err)
{
	if (!s || strcmp(s, "tap") == 0)
		*a = A_TAP;
	else if (strcmp(s, "double_tap") == 0)
		*a = A_DOUBLE;
	else if (strcmp(s, "hold") == 0)
		*a = A_HOLD;
	else
		return atv_err_set(err, ATV_E_USAGE, "unknown action %s (tap, double_tap or hold)",
				   s);
	return 0;
}

static int run(struct atv_conn *c, const struct command *k, const char *item, const char *val,
	       enum action a, json_t **result, struct atv_err *err)
{
	struct atv_mrp_cmd_opts opts = {0};
	double d;
	json_t *p;
	int r;

	switch (k->kind) {
	case K_KEY: return press(c, k, a, err);
	case K_HOLD: return press(c, k, A_HOLD, err);
	case K_COMMAND: return send_command(c, k->name, k->cmd, NULL, err);
	case K_SKIP:
		opts.has_skip_interval = true;
		opts.skip_interval = SKIP_SECONDS;
		return send_command(c, k->name, k->cmd, &opts, err);
	case K_POSITION:
		if ((r = parse_number(item, val, 0, 1e9, &d, err)) < 0)
			return r;
		opts.has_position = true;
		opts.position = d;
		return send_command(c, item, k->cmd, &opts, err);
	case K_SHUFFLE:
		if ((r = parse_mode(k, val, err)) < 0)
			return r;
		opts.has_shuffle = true;
		opts.shuffle = shuffle_modes[r];
		return send_command(c, item, k->cmd, &opts, err);
	case K_REPEAT:
		if ((r = parse_mode(k, val, err)) < 0)
			return r;
		opts.has_repeat = true;
		opts.repeat = repeat_modes[r];
		return send_command(c, item, k->cmd, &opts, err);
	case K_VOLUME:
		if ((r = parse_number(item, val, 0, 100, &d, err)) < 0)
			return r;
		return set_volume(c, d, err);
	case K_TURN_ON: return simple(c, MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE, err);
	case K_TURN_OFF:
		/* pyatv: hold home, then select "Sleep" in the menu that opens. */
		r = press(c, find("home"), A_HOLD, err);
		if (r == 0)
			r = atv_mrp_pump(c->mrp, BETWEEN_COMMANDS_MS, err);
		if (r == 0)
			r = press(c, find("select"), A_TAP, err);
		return r;
	case K_PLAYING:
		if ((r = want_updates(c, err)) < 0)
			return r;
		p = atv_mrp_state_playing(c->st, wall_now());
		if (!p || !(*result = json_object()) ||
		    json_object_set_new(*result, "playing", p)) {
			json_decref(*result);
			*result = NULL;
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
		return 0;
	case K_PLAY_URL: break; /* atv_conn_command sends it over AirPlay */
	}
	return atv_err_set(err, ATV_E_USAGE, "unknown command %s", item);
}

/* ---- commands over DMAP (DACP, pyatv protocols/dmap) ---- */

#define DMAP_VOLUME_STEP 5 /* volume_up/volume_down: dmcp.volume +-5 */

static int dmap_setprop(struct atv_conn *c, const char *prop, long long v, struct atv_err *err)
{
	char what[128];

	snprintf(what, sizeof what, "setproperty?%s=%lld", prop, v);
	return atv_dmap_client_ctrl(c->dmap, what, NULL, err);
}

static int dmap_unsupported(const struct atv_conn *c, const char *item, struct atv_err *err)
{
	return atv_err_set(err, ATV_E_UNSUPPORTED, "%s cannot do %s over dmap", c->name, item);
}

static int dmap_key(struct atv_conn *c, const struct command *k, struct atv_err *err)
{
	const char *n = k->name;
	int vol, r;

	if (!strcmp(n, "up") || !strcmp(n, "down") || !strcmp(n, "left") || !strcmp(n, "right"))
		return atv_dmap_client_arrow(c->dmap, n, err);
	if (!strcmp(n, "select") || !strcmp(n, "menu"))
		return atv_dmap_client_prompt(c->dmap, n, 0, err);
	if (!strcmp(n, "top_menu"))
		return atv_dmap_client_prompt(c->dmap, "topmenu", 0, err);
	if (!strcmp(n, "volume_up") || !strcmp(n, "volume_down")) {
		if ((r = atv_dmap_client_volume(c->dmap, &vol, err)) < 0)
			return r;
		vol += n[7] == 'u' ? DMAP_VOLUME_STEP : -DMAP_VOLUME_STEP;
		return dmap_setprop(c, "dmcp.volume", vol < 0 ? 0 : vol > 100 ? 100 : vol, err);
	}
	return dmap_unsupported(c, n, err);
}

/* The position in ms from the current play status, or -1. */
static int dmap_position(struct atv_conn *c, long long *ms, struct atv_err *err)
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

static int run_dmap(struct atv_conn *c, const struct command *k, const char *item, const char *val,
		    enum action a, json_t **result, struct atv_err *err)
{
	static const struct {
		const char *name, *path;
	} ctrl[] = {
	    {"play", "play"}, {"pause", "pause"},   {"play_pause", "playpause"},
	    {"stop", "stop"}, {"next", "nextitem"}, {"previous", "previtem"},
	};
	struct atv_dmap st = {0};
	long long ms;
	double d;
	int r = 0;

	switch (k->kind) {
	case K_KEY:
		/* DACP has no key-down/key-up: a hold cannot be told */
		if (a == A_HOLD)
			return atv_err_set(err, ATV_E_UNSUPPORTED, "%s cannot hold keys over dmap",
					   c->name);
		r = dmap_key(c, k, err);
		if (r == 0 && a == A_DOUBLE)
			r = dmap_key(c, k, err);
		return r;
	case K_COMMAND:
		for (size_t i = 0; i < sizeof ctrl / sizeof ctrl[0]; i++)
			if (strcmp(ctrl[i].name, k->name) == 0)
				return atv_dmap_client_ctrl(c->dmap, ctrl[i].path, NULL, err);
		return dmap_unsupported(c, k->name, err);
	case K_SKIP:
		/* as pyatv: seek from the current position */
		if ((r = dmap_position(c, &ms, err)) < 0)
			return r;
		if (ms < 0)
			return atv_err_set(err, ATV_E_REFUSED, "%s has no position to skip from",
					   c->name);
		ms += (long long)(k->cmd == MRP__COMMAND__CMD_SKIP_FORWARD ? SKIP_SECONDS * 1000
									   : -SKIP_SECONDS * 1000);
		return dmap_setprop(c, "dacp.playingtime", ms < 0 ? 0 : ms, err);
	case K_POSITION:
		if ((r = parse_number(item, val, 0, 1e9, &d, err)) < 0)
			return r;
		return dmap_setprop(c, "dacp.playingtime", (long long)(d * 1000 + 0.5), err);
	case K_SHUFFLE:
		if ((r = parse_mode(k, val, err)) < 0)
			return r;
		/* DACP shuffle is on or off: albums is songs */
		return dmap_setprop(c, "dacp.shufflestate", r != 0, err);
	case K_REPEAT:
		/* dacp.repeatstate: 0 off, 1 track, 2 all, as our index */
		if ((r = parse_mode(k, val, err)) < 0)
			return r;
		return dmap_setprop(c, "dacp.repeatstate", r, err);
	case K_VOLUME:
		if ((r = parse_number(item, val, 0, 100, &d, err)) < 0)
			return r;
		return dmap_setprop(c, "dmcp.volume", (long long)(d + 0.5), err);
	case K_HOLD:
	case K_TURN_ON:
	case K_TURN_OFF: return dmap_unsupported(c, k->name, err);
	case K_PLAYING:
		if ((r = atv_dmap_client_status(c->dmap, &st, err)) == 0) {
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
	case K_PLAY_URL: break; /* atv_conn_command sends it over AirPlay */
	}
	return atv_err_set(err, ATV_E_USAGE, "unknown command %s", item);
}

/* ---- commands over AirPlay ---- */

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
	struct atv_conn *c = ctx;
	json_t *ev;

	if (!c->wait || !c->progress || !(ev = playback_json(pb)))
		return;
	if (json_object_set_new(ev, "event", json_string("playback")) == 0)
		c->progress(c->progress_ctx, ev);
	json_decref(ev);
}

/* play_url=URL[ start=SECONDS]: a URL has no spaces (RFC 3986), so the
 * first space ends it. */
static int play_url(struct atv_conn *c, const char *item, const char *val, json_t **result,
		    struct atv_err *err)
{
	struct atv_airplay_playback pb;
	const char *sp = strchr(val, ' ');
	char *url = NULL;
	double start = 0;
	int r = 0;

	if (sp) {
		const char *opt = sp + strspn(sp, " ");

		if (strncmp(opt, "start=", 6) != 0)
			return atv_err_set(err, ATV_E_USAGE,
					   "play_url takes URL[ start=SECONDS], not \"%.40s\"", opt);
		r = parse_number(item, opt + 6, 0, 1e9, &start, err);
	}
	if (r == 0 && !(url = strndup(val, sp ? (size_t)(sp - val) : strlen(val))))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (r == 0)
		r = open_airplay(c, err);
	if (r == 0)
		r = atv_airplay_play_url(c->ap, url, start, c->wait, on_progress, c, &pb, err);
	if (r == 0 && !(*result = playback_json(&pb)))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	free(url);
	return r;
}

/* The commands AirPlay has (-p airplay): rate, scrub, stop, playback-info. */
static int run_airplay(struct atv_conn *c, const struct command *k, const char *item,
		       const char *val, json_t **result, struct atv_err *err)
{
	struct atv_airplay_playback pb;
	json_t *p;
	double d;
	int r;

	if ((r = open_airplay(c, err)) < 0)
		return r;
	switch (k->kind) {
	case K_COMMAND:
		if (strcmp(k->name, "play") == 0)
			return atv_airplay_rate(c->ap, 1, err);
		if (strcmp(k->name, "pause") == 0)
			return atv_airplay_rate(c->ap, 0, err);
		if (strcmp(k->name, "stop") == 0)
			return atv_airplay_stop(c->ap, err);
		break;
	case K_POSITION:
		if ((r = parse_number(item, val, 0, 1e9, &d, err)) < 0)
			return r;
		return atv_airplay_scrub(c->ap, d, err);
	case K_PLAYING:
		if ((r = atv_airplay_playback(c->ap, &pb, err)) < 0)
			return r;
		if (!(p = playback_json(&pb)) || !(*result = json_object()) ||
		    json_object_set_new(*result, "playback", p)) {
			json_decref(*result);
			*result = NULL;
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
		return 0;
	default: break;
	}
	return atv_err_set(err, ATV_E_UNSUPPORTED,
			   "%s over airplay: only play_url, play, pause, stop, set_position and "
			   "playing (use mrp or dmap)",
			   k->name);
}

int atv_conn_command(struct atv_conn *c, const char *item, const char *action, json_t **result,
		     struct atv_err *err)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
	const struct command *k = nlen ? find_n(item, nlen) : NULL;
	enum action a = A_TAP;
	int r;

	if (result)
		*result = NULL;
	if (!k)
		return atv_err_set(err, ATV_E_USAGE, "unknown command %.*s",
				   (int)(nlen > 64 ? 64 : nlen), item);
	/* The action is for remote keys; other commands ignore it, so one
	 * --action may cover a mixed list. */
	if ((r = parse_action(action, &a, err)) < 0)
		return r;
	if (k->kind == K_PLAY_URL && (!eq || !eq[1]))
		return atv_err_set(err, ATV_E_USAGE, "play_url needs a value: play_url=URL");
	if (k->kind >= K_POSITION && k->kind <= K_VOLUME && !eq)
		return atv_err_set(err, ATV_E_USAGE, "%s needs a value: %s=%s", k->name, k->name,
				   k->kind == K_POSITION  ? "SECONDS"
				   : k->kind == K_SHUFFLE ? "off|songs|albums"
				   : k->kind == K_REPEAT  ? "off|track|all"
							  : "0..100");
	if ((k->kind < K_POSITION || k->kind > K_VOLUME) && k->kind != K_PLAY_URL && eq)
		return atv_err_set(err, ATV_E_USAGE, "%s takes no value", k->name);
	{
		json_t *res = NULL;

		if (k->kind == K_PLAY_URL)
			r = play_url(c, item, eq + 1, &res, err);
		else if (c->ap_only)
			r = run_airplay(c, k, item, eq ? eq + 1 : NULL, &res, err);
		else if (c->dmap)
			r = run_dmap(c, k, item, eq ? eq + 1 : NULL, a, &res, err);
		else
			r = run(c, k, item, eq ? eq + 1 : NULL, a, &res, err);
		if (result)
			*result = res;
		else
			json_decref(res);
	}
	if (r == 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r;
}

/* ---- events ---- */

/* A name safe as a file name: the hash with anything but [A-Za-z0-9._-]
 * replaced, never starting with a dot, at most 128 characters. */
static void file_name(const char *hash, char *out, size_t size)
{
	size_t i;

	for (i = 0; hash[i] && i + 1 < size && i < 128; i++) {
		char ch = hash[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i);

		out[i] = ok ? ch : '_';
	}
	out[i] = 0;
}

/* Write len bytes to path atomically: a temp file beside it, fsync, rename. */
static int write_atomic(const char *dir, const char *path, const uint8_t *p, size_t len,
			struct atv_err *err)
{
	char tmp[4096];
	int fd, r = 0;
	size_t off = 0;

	if (snprintf(tmp, sizeof tmp, "%s/.artwork-XXXXXX", dir) >= (int)sizeof tmp)
		return atv_err_set(err, ATV_E_IO, "artwork directory name too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to write artwork in %s", dir);
	while (off < len && r == 0) {
		ssize_t n = write(fd, p + off, len - off);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EINTR)
			r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	}
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	if (close(fd) < 0 && r == 0)
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", path);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Ask the device for the artwork of the item at location (PLAYBACK_QUEUE_
 * REQUEST, answered by a SET_STATE with the same identifier whose queue
 * item carries artworkData).  0 with *data/len pointing into *reply (NULL
 * when there is none), or an error. */
static int fetch_artwork(struct atv_conn *c, int location, Mrp__ProtocolMessage **reply,
			 const uint8_t **data, size_t *len, struct atv_err *err)
{
	const Mrp__PlaybackQueue *q;
	const Mrp__ContentItem *it = NULL;
	struct atv_buf b;
	struct atv_mrp_ids ids;
	int r;

	*data = NULL;
	*len = 0;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_playback_queue_request(&b, &ids, location, ARTWORK_SIZE, -1, err);
	if (r == 0)
		r = atv_mrp_request(c->mrp, &b, ids.identifier, reply, err);
	atv_buf_release(&b);
	if (r < 0)
		return r;
	q = (*reply)->setstatemessage ? (*reply)->setstatemessage->playbackqueue : NULL;
	if (q && q->n_contentitems > 0) {
		int loc = q->has_location ? q->location : 0;

		it = loc >= 0 && (size_t)loc < q->n_contentitems ? q->contentitems[loc]
								 : q->contentitems[0];
	}
	if (it && it->has_artworkdata && it->artworkdata.len > 0) {
		*data = it->artworkdata.data;
		*len = it->artworkdata.len;
	}
	return 0;
}

/* The artwork file for what plays (hash), fetched once per item: its path
 * in *path (owned by c, NULL when the device has none). */
static int artwork(struct atv_conn *c, const char *hash, const char **path, struct atv_err *err)
{
	char fname[160], *full = NULL;
	Mrp__ProtocolMessage *reply = NULL;
	const uint8_t *data;
	size_t len;
	struct atv_err e = {0};
	struct atv_buf png;
	int loc = c->dmap ? 0 : atv_mrp_state_location(c->st), r = 0;

	*path = NULL;
	if (c->art_hash && strcmp(c->art_hash, hash) == 0) {
		*path = c->art_path;
		return 0;
	}
	free(c->art_hash);
	free(c->art_path);
	c->art_path = NULL;
	if (!(c->art_hash = strdup(hash)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (loc < 0)
		return 0;
	file_name(hash, fname, sizeof fname);
	len = strlen(c->artwork_dir) + strlen(fname) + sizeof "/.png";
	if (!(full = malloc(len)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	snprintf(full, len, "%s/%s.png", c->artwork_dir, fname);
	if (access(full, F_OK) == 0) {
		c->art_path = full;
		*path = full;
		return 0;
	}
	atv_buf_init(&png, ATV_DMAP_ARTWORK_MAX);
	if (c->dmap) {
		r = atv_dmap_client_artwork(c->dmap, (unsigned)ARTWORK_SIZE, &png, &e);
		data = png.len ? png.data : NULL;
		len = png.len;
	} else {
		r = fetch_artwork(c, loc, &reply, &data, &len, &e);
	}
	if (r < 0 && c->mrp && atv_mrp_broken(c->mrp)) {
		/* the connection is gone: the caller hears it from process */
		r = 0;
	} else if (r < 0) {
		/* no artwork is not worth losing the session */
		atv_warn("no artwork from %s: %s", c->name, e.msg);
		r = 0;
	} else if (data) {
		r = write_atomic(c->artwork_dir, full, data, len, err);
		if (r == 0) {
			c->art_path = full;
			full = NULL;
			*path = c->art_path;
		}
	}
	atv_mrp_msg_free(reply);
	atv_buf_release(&png);
	free(full);
	return r;
}

static bool jumped(double pos, double expected)
{
	return pos - expected > POSITION_SLACK || expected - pos > POSITION_SLACK;
}

static json_t *event(const char *name)
{
	json_t *e = json_object();

	if (e && json_object_set_new(e, "event", json_string(name)) < 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* Report what changed since the last events (everything when all). */
static int emit(struct atv_conn *c, bool all, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
	double now = wall_now(), rate, pos = 0;
	json_t *p, *jp, *ev;
	bool has_pos, changed;
	const char *key;
	json_t *v;
	int r = 0, power, volume;

	if (c->dmap) {
		if (!c->has_dst)
			return 0;
		p = atv_dmap_client_playing(&c->dst);
		rate = atv_dmap_client_is_playing(&c->dst) ? 1.0 : 0.0;
	} else {
		p = atv_mrp_state_playing(c->st, now);
		rate = atv_mrp_state_rate(c->st);
	}
	if (!p)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	jp = json_object_get(p, "position");
	has_pos = json_is_integer(jp);
	if (has_pos)
		pos = (double)json_integer_value(jp);
	json_incref(jp);
	json_object_del(p, "position");
	/* The position moves with the clock: only a jump (a seek, another
	 * item) is a change, besides every other field. */
	changed = all || !c->last_playing || !json_equal(p, c->last_playing) ||
		  has_pos != c->last_has_pos ||
		  (has_pos && jumped(pos, c->last_pos + (now - c->last_time) * c->last_rate));
	if (changed) {
		const char *art = NULL;

		json_decref(c->last_playing);
		c->last_playing = json_deep_copy(p);
		c->last_has_pos = has_pos;
		c->last_pos = pos;
		c->last_rate = rate;
		c->last_time = now;
		if (c->artwork_dir)
			r = artwork(c, json_string_value(json_object_get(p, "hash")), &art, err);
		ev = event("playing");
		if (!ev || !c->last_playing) {
			json_decref(ev);
			json_decref(jp);
			json_decref(p);
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		}
		/* atvscript's order, position in its place */
		json_object_foreach (p, key, v) {
			json_object_set(ev, key, v);
			if (strcmp(key, "total_time") == 0)
				json_object_set(ev, "position", jp);
		}
		if (art)
			json_object_set_new(ev, "artwork", json_string(art));
		cb(ctx, ev);
		json_decref(ev);
	}
	json_decref(jp);
	json_decref(p);
	if (r < 0)
		return r;
	power = c->dmap ? -1 : atv_mrp_state_power(c->st);
	if (power >= 0 && (all || power != c->last_power)) {
		c->last_power = power;
		if ((ev = event("power"))) {
			json_object_set_new(ev, "power_state", json_string(power ? "on" : "off"));
			cb(ctx, ev);
			json_decref(ev);
		}
	}
	volume = c->dmap ? c->dvol : atv_mrp_state_volume(c->st);
	if (volume >= 0 && (all || volume != c->last_volume)) {
		c->last_volume = volume;
		if ((ev = event("volume"))) {
			json_object_set_new(ev, "volume", json_integer(volume));
			cb(ctx, ev);
			json_decref(ev);
		}
	}
	return 0;
}

/* Each state the DMAP watcher queued is one round of events. */
static int process_dmap(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
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
		if ((r = emit(c, false, cb, ctx, err)) < 0)
			return r;
	}
}

int atv_conn_process(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
	struct atv_err e = {0};
	int r, r2;

	if (c->ap_only)
		return 0;
	if (c->dmap)
		return process_dmap(c, cb, ctx, err);
	r = atv_mrp_process(c->mrp, &e);

	/* What came in before a drop is still reported. */
	r2 = emit(c, false, cb, ctx, err);
	if (r < 0) {
		if (err)
			*err = e;
		return r;
	}
	if (c->st_err)
		return atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r2;
}

int atv_conn_snapshot(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
	int r;

	if (c->ap_only)
		return 0;
	if (c->dmap && !c->has_dst) {
		if ((r = atv_dmap_client_status(c->dmap, &c->dst, err)) < 0)
			return r;
		c->has_dst = true;
		if (atv_dmap_client_volume(c->dmap, &c->dvol, NULL) < 0)
			c->dvol = -1;
	}
	if (c->dmap)
		return emit(c, true, cb, ctx, err);
	r = want_updates(c, err);

	if (r < 0)
		return r;
	return emit(c, true, cb, ctx, err);
}
