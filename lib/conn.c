/* conn.c - the connect facade: which backend, the command table, events.
 *
 * The protocols are backends (backend.h); this file knows none of their
 * messages.  Choice, as pyatv's: MRP when its service is enabled and
 * paired, else MRP over the AirPlay 2 tunnel (tvOS 15+, HomePods), else
 * DMAP when that is paired (a Remote pairing GUID, or the Home Sharing hG
 * the scan found); -p names one.  AirPlay is the whole
 * connection with -p airplay, else a second backend opened lazily for
 * play_url.  Companion, when paired next to MRP or DMAP, is a third
 * backend (opened on its first command, or at once for a watcher): power
 * goes to it first (as pyatv prefers it for power), the rest to the main
 * backend first.  A command goes to the first backend of the connection
 * that serves it; when none does, one "cannot do X over P" answer comes
 * from here, naming the atv-pair command when pairing Companion would
 * help.  Only -p companion makes Companion the whole connection (or a
 * device that has nothing else paired). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "conn.h"
#include "tcp.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
/* The position moved by more than the clock explains: a seek. */
#define POSITION_SLACK 2.0

/* What a command's value is. */
enum value {
	V_NONE,	   /* no value; remote keys take an action */
	V_KEY,	   /* a remote key: tap, double_tap or hold, no value */
	V_SKIP,	   /* skip_forward[=SECONDS]: number 0 is the backend's default */
	V_SECONDS, /* set_position=SECONDS */
	V_SHUFFLE, /* off|songs|albums */
	V_REPEAT,  /* off|track|all */
	V_PERCENT, /* set_volume=0..100 */
	V_URL,	   /* play_url=URL[ start=SECONDS] */
	V_ID,	   /* launch_app=BUNDLE_OR_URL, switch_account=ID: not empty */
	V_TEXT,	   /* text_set=TEXT, text_append=TEXT: any text */
	V_IDS	   /* add_output_devices=ID,...: 1 to ATV_CMD_MAX_IDS identifiers */
};

static const struct command {
	const char *name;
	enum atv_cmd_id id;
	enum value value;
} commands[] = {
    {"up", ATV_CMD_UP, V_KEY},
    {"down", ATV_CMD_DOWN, V_KEY},
    {"left", ATV_CMD_LEFT, V_KEY},
    {"right", ATV_CMD_RIGHT, V_KEY},
    {"select", ATV_CMD_SELECT, V_KEY},
    {"menu", ATV_CMD_MENU, V_KEY},
    {"home", ATV_CMD_HOME, V_KEY},
    {"home_hold", ATV_CMD_HOME_HOLD, V_NONE},
    {"top_menu", ATV_CMD_TOP_MENU, V_KEY},
    {"suspend", ATV_CMD_SUSPEND, V_KEY},
    {"wakeup", ATV_CMD_WAKEUP, V_KEY},
    {"play", ATV_CMD_PLAY, V_NONE},
    {"pause", ATV_CMD_PAUSE, V_NONE},
    {"play_pause", ATV_CMD_PLAY_PAUSE, V_NONE},
    {"stop", ATV_CMD_STOP, V_NONE},
    {"next", ATV_CMD_NEXT, V_NONE},
    {"previous", ATV_CMD_PREVIOUS, V_NONE},
    {"skip_forward", ATV_CMD_SKIP_FORWARD, V_SKIP},
    {"skip_backward", ATV_CMD_SKIP_BACKWARD, V_SKIP},
    {"set_position", ATV_CMD_SET_POSITION, V_SECONDS},
    {"set_shuffle", ATV_CMD_SET_SHUFFLE, V_SHUFFLE},
    {"set_repeat", ATV_CMD_SET_REPEAT, V_REPEAT},
    {"volume_up", ATV_CMD_VOLUME_UP, V_KEY},
    {"volume_down", ATV_CMD_VOLUME_DOWN, V_KEY},
    {"set_volume", ATV_CMD_SET_VOLUME, V_PERCENT},
    {"turn_on", ATV_CMD_TURN_ON, V_NONE},
    {"turn_off", ATV_CMD_TURN_OFF, V_NONE},
    {"playing", ATV_CMD_PLAYING, V_NONE},
    {"play_url", ATV_CMD_PLAY_URL, V_URL},
    {"output_devices", ATV_CMD_OUTPUT_DEVICES, V_NONE},
    {"add_output_devices", ATV_CMD_ADD_OUTPUT_DEVICES, V_IDS},
    {"remove_output_devices", ATV_CMD_REMOVE_OUTPUT_DEVICES, V_IDS},
    {"set_output_devices", ATV_CMD_SET_OUTPUT_DEVICES, V_IDS},
    {"power_state", ATV_CMD_POWER_STATE, V_NONE},
    {"volume", ATV_CMD_VOLUME, V_NONE},
    {"app_list", ATV_CMD_APP_LIST, V_NONE},
    {"launch_app", ATV_CMD_LAUNCH_APP, V_ID},
    {"account_list", ATV_CMD_ACCOUNT_LIST, V_NONE},
    {"switch_account", ATV_CMD_SWITCH_ACCOUNT, V_ID},
    {"text_get", ATV_CMD_TEXT_GET, V_NONE},
    {"text_set", ATV_CMD_TEXT_SET, V_TEXT},
    {"text_append", ATV_CMD_TEXT_APPEND, V_TEXT},
    {"text_clear", ATV_CMD_TEXT_CLEAR, V_NONE},
    {"channel_up", ATV_CMD_CHANNEL_UP, V_KEY},
    {"channel_down", ATV_CMD_CHANNEL_DOWN, V_KEY},
    {"guide", ATV_CMD_GUIDE, V_KEY},
    {"screensaver", ATV_CMD_SCREENSAVER, V_KEY},
    {"control_center", ATV_CMD_CONTROL_CENTER, V_KEY},
    {"device_info", ATV_CMD_DEVICE_INFO, V_NONE},
    {"features", ATV_CMD_FEATURES, V_NONE},
    {"artwork", ATV_CMD_ARTWORK, V_NONE},
    {"app", ATV_CMD_APP, V_NONE},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* set_shuffle and set_repeat values: the index is what backends get. */
static const char *const shuffle_names[] = {"off", "songs", "albums"};
static const char *const repeat_names[] = {"off", "track", "all"};

/* A backend of the connection and its state. */
struct slot {
	const struct atv_backend *be;
	void *b;
};

struct atv_conn {
	char *id, *name;
	json_t *info; /* device_info's members, from the config */
	struct slot main; /* MRP, DMAP, AirPlay or Companion */
	struct slot ap;	  /* AirPlay next to MRP or DMAP (play_url), or none */
	struct slot comp; /* Companion next to MRP or DMAP, or none */
	bool comp_offered; /* the device has a companion service (paired or not) */
	int epfd; /* main's and comp's fds together when both have events; -1 */
	atv_conn_event_cb progress; /* play_url --wait's "playback" events */
	void *progress_ctx;

	/* while atv_conn_process runs: where events go, and a failure */
	atv_conn_event_cb cb;
	void *cb_ctx;
	int emit_err;
	struct atv_err emit_errmsg;

	/* what the last events said */
	json_t *last_playing; /* without position */
	bool last_has_pos;
	double last_pos, last_rate, last_time;
	int last_power, last_volume, last_attention;
	json_t *last_outputs; /* the last output_devices event's list */
};

/* The entry named name[0..len), or NULL. */
static const struct command *find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strlen(commands[i].name) == len && strncmp(commands[i].name, name, len) == 0)
			return &commands[i];
	return NULL;
}

/* Each value's syntax, for messages and atv_conn_command_name. */
static const char *const syntax[] = {
    [V_SKIP] = "[=SECONDS]",	  [V_SECONDS] = "SECONDS",	  [V_SHUFFLE] = "off|songs|albums",
    [V_REPEAT] = "off|track|all", [V_PERCENT] = "0..100", [V_URL] = "URL",
    [V_ID] = "ID",		  [V_TEXT] = "TEXT",	  [V_IDS] = "ID[,ID...]"};

const char *atv_conn_command_name(size_t i, const char **value)
{
	if (i >= N_COMMANDS)
		return NULL;
	if (value)
		*value = syntax[commands[i].value];
	return commands[i].name;
}

bool atv_conn_knows(const char *item)
{
	size_t n = strcspn(item, "=");

	return n && find(item, n) != NULL;
}


/* ---- choosing the backend ---- */

/* The service and backend to use for d: MRP when enabled and paired,
 * else MRP over the AirPlay tunnel when the MRP service is disabled or
 * absent (tvOS 15+: AirPlay credentials; HomePods: none needed), else
 * DMAP when paired, else Companion when paired, else MRP when enabled
 * (its error says to pair), or an error naming what is missing. */
static int pick(const struct atv_device *d, const char *want, const struct atv_service **svc,
		const struct atv_backend **be, struct atv_err *err)
{
	const struct atv_service *mrp = atv_device_service(d, "mrp");
	const struct atv_service *dmap = atv_device_service(d, "dmap");
	const struct atv_service *comp = atv_device_service(d, "companion");
	const char *name = atv_device_label(d);
	struct atv_err terr = {0};
	int tunnel;

	if (want && !atv_backend_find(want))
		return atv_err_set(err, ATV_E_USAGE,
				   "unknown protocol %s (mrp, dmap, airplay or companion)", want);
	if (want && strcmp(want, "mrp") != 0) {
		if (!(*svc = atv_device_service(d, want)))
			return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no %s service", name,
					   want);
		*be = atv_backend_find(want);
		return 0;
	}
	*be = &atv_mrp_backend;
	if (mrp && mrp->enabled &&
	    (want || atv_service_paired(mrp) ||
	     (!atv_service_paired(dmap) && !atv_service_paired(comp)))) {
		*svc = mrp;
		return 0;
	}
	tunnel = atv_mrp_tunnel_usable(d, svc, &terr);
	if (tunnel > 0) {
		*be = &atv_mrp_tunnel_backend;
		return 0;
	}
	if (tunnel < 0 && (want || (!atv_service_paired(dmap) && !atv_service_paired(comp)))) {
		if (err)
			*err = terr;
		return tunnel;
	}
	if (want)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   mrp ? "the mrp service of %s is disabled (tvOS 15+)"
				       : "%s has no mrp service",
				   name);
	if (atv_service_paired(dmap) || atv_service_paired(comp)) {
		*svc = atv_service_paired(dmap) ? dmap : comp;
		*be = atv_service_paired(dmap) ? &atv_dmap_backend : &atv_companion_backend;
		return 0;
	}
	return atv_err_set(err, ATV_E_UNSUPPORTED, "no usable protocol for %s: %s, %s%s", name,
			   mrp ? "mrp service disabled (tvOS 15+)" : "no mrp service",
			   dmap ? "dmap not paired (atv-pair -p dmap)" : "no dmap service",
			   comp ? ", companion not paired (atv-pair -p companion)" : "");
}

static void on_changed(void *ctx);

/* main and comp both have events: one epoll fd stands for both, so the
 * tool's poll loop still sees one fd (backend.h's I/O model). */
static int join_fds(struct atv_conn *c, struct atv_err *err)
{
	struct slot *slots[] = {&c->main, &c->comp};

	if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "epoll_create1");
	for (size_t i = 0; i < 2; i++) {
		struct epoll_event ev = {.events = EPOLLIN};
		int fd = slots[i]->be->fd ? slots[i]->be->fd(slots[i]->b) : -1;

		if (fd >= 0 && epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "epoll_ctl");
	}
	return 0;
}

static void on_progress(void *ctx, json_t *event)
{
	struct atv_conn *c = ctx;

	if (c->progress)
		c->progress(c->progress_ctx, event);
}

/* device_info's members: what the config knows (atv-scan's names); the
 * protocol is added when the command runs. */
static json_t *device_info(const struct atv_device *d)
{
	const struct atv_device_info *i = &d->info;
	json_t *o = json_object();
	const char *const keys[] = {"name",	"identifier", "address", "model",
				    "operating_system", "version", "build", "mac"};
	const char *const vals[] = {d->name,  d->identifier,	 d->address, i->model,
				    i->operating_system, i->version, i->build, i->mac};

	for (size_t k = 0; o && k < sizeof keys / sizeof keys[0]; k++)
		if (json_object_set_new(o, keys[k], vals[k] ? json_string(vals[k]) : json_null()) <
		    0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int atv_conn_open(const struct atv_device *d, const struct atv_conn_opts *o, struct atv_conn **out,
		  struct atv_err *err)
{
	static const struct atv_conn_opts defaults;
	const struct atv_service *svc = NULL, *ap, *comp;
	const struct atv_backend *be = NULL;
	struct atv_backend_opts bo = {0};
	struct atv_conn *c = NULL;
	const char *name = atv_device_label(d);
	int r;

	*out = NULL;
	if (!o)
		o = &defaults;
	r = pick(d, o->protocol, &svc, &be, err);
	if (r < 0)
		return r;
	if (!d->address || !d->address[0])
		return atv_err_set(err, ATV_E_UNREACHABLE, "no address known for %s", name);
	c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name)) ||
	    !(c->id = strdup(d->identifier ? d->identifier : name))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	c->last_power = c->last_volume = c->last_attention = -1;
	c->epfd = -1;
	if (!(c->info = device_info(d))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	bo.device = c->name;
	bo.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	bo.updates = o->updates;
	bo.artwork = o->artwork;
	bo.wait = o->wait;
	bo.progress = on_progress;
	bo.changed = on_changed;
	bo.ctx = c;
	c->progress = o->progress;
	c->progress_ctx = o->progress_ctx;
	c->main.be = be;
	r = c->main.be->open(d, svc, &bo, &c->main.b, err);
	comp = atv_device_service(d, "companion");
	c->comp_offered = comp != NULL;
	if (r == 0 && c->main.be != &atv_companion_backend && atv_service_paired(comp)) {
		/* a watcher wants its power events from the start */
		bo.lazy = !o->updates;
		c->comp.be = &atv_companion_backend;
		r = c->comp.be->open(d, comp, &bo, &c->comp.b, err);
		if (r == 0 && !bo.lazy)
			r = join_fds(c, err);
	}
	if (r == 0 && c->main.be != &atv_airplay_backend &&
	    (ap = atv_device_service(d, "airplay"))) {
		bo.lazy = true;
		c->ap.be = &atv_airplay_backend;
		r = c->ap.be->open(d, ap, &bo, &c->ap.b, err);
	}
out:
	if (r < 0) {
		atv_conn_close(c);
		return r;
	}
	*out = c;
	return 0;
}

static void slot_close(struct slot *s)
{
	if (s->be)
		s->be->close(s->b);
}

void atv_conn_close(struct atv_conn *c)
{
	if (!c)
		return;
	slot_close(&c->main);
	slot_close(&c->ap);
	slot_close(&c->comp);
	if (c->epfd >= 0)
		close(c->epfd);
	json_decref(c->last_playing);
	json_decref(c->last_outputs);
	json_decref(c->info);
	free(c->id);
	free(c->name);
	free(c);
}

const char *atv_conn_protocol(const struct atv_conn *c)
{
	return c->main.be->name;
}

const char *atv_conn_device_id(const struct atv_conn *c)
{
	return c->id;
}

int atv_conn_fd(const struct atv_conn *c)
{
	if (c->epfd >= 0)
		return c->epfd;
	return c->main.be->fd ? c->main.be->fd(c->main.b) : -1;
}

static int slot_timeout(const struct slot *s)
{
	return s->be && s->be->timeout_ms ? s->be->timeout_ms(s->b) : -1;
}

int atv_conn_timeout_ms(const struct atv_conn *c)
{
	int a = slot_timeout(&c->main), b = c->epfd >= 0 ? slot_timeout(&c->comp) : -1;

	return a < 0 ? b : b < 0 || a < b ? a : b;
}

/* ---- commands ---- */

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

/* The index (0..2) of val among names. */
static int parse_mode(const char *cmd, const char *const names[3], const char *val,
		      struct atv_err *err)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(val, names[i]) == 0)
			return i;
	return atv_err_set(err, ATV_E_USAGE, "%s takes %s, %s or %s", cmd, names[0], names[1],
			   names[2]);
}

static int parse_action(const char *s, enum atv_key_action *a, struct atv_err *err)
{
	if (!s || strcmp(s, "tap") == 0)
		*a = ATV_KEY_TAP;
	else if (strcmp(s, "double_tap") == 0)
		*a = ATV_KEY_DOUBLE_TAP;
	else if (strcmp(s, "hold") == 0)
		*a = ATV_KEY_HOLD;
	else
		return atv_err_set(err, ATV_E_USAGE, "unknown action %s (tap, double_tap or hold)",
				   s);
	return 0;
}

/* play_url=URL[ start=SECONDS]: a URL has no spaces (RFC 3986), so the
 * first space ends it.  *url is a new string. */
static int parse_url(const char *item, const char *val, char **url, double *start,
		     struct atv_err *err)
{
	const char *sp = strchr(val, ' ');
	int r = 0;

	*start = 0;
	if (sp) {
		const char *opt = sp + strspn(sp, " ");

		if (strncmp(opt, "start=", 6) != 0)
			return atv_err_set(err, ATV_E_USAGE,
					   "play_url takes URL[ start=SECONDS], not \"%.40s\"", opt);
		if ((r = parse_number(item, opt + 6, 0, 1e9, start, err)) < 0)
			return r;
	}
	if (!(*url = strndup(val, sp ? (size_t)(sp - val) : strlen(val))))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

/* ID,ID,...: *copy is a new string that cmd->ids point into.  Each
 * identifier 1 to ATV_CMD_MAX_ID_LEN bytes without control characters,
 * at most ATV_CMD_MAX_IDS of them. */
static int parse_ids(const char *name, const char *val, struct atv_cmd *cmd, char **copy,
		     struct atv_err *err)
{
	char *p;

	if (!(*copy = strdup(val)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (p = *copy;; p++) {
		char *end = p + strcspn(p, ",");
		bool last = !*end;
		size_t len = (size_t)(end - p);

		if (!len)
			return atv_err_set(err, ATV_E_USAGE, "%s: an empty output device identifier",
					   name);
		if (len > ATV_CMD_MAX_ID_LEN)
			return atv_err_set(err, ATV_E_USAGE,
					   "%s: an output device identifier longer than %d bytes",
					   name, ATV_CMD_MAX_ID_LEN);
		if (cmd->n_ids == ATV_CMD_MAX_IDS)
			return atv_err_set(err, ATV_E_USAGE,
					   "%s takes at most %d output device identifiers", name,
					   ATV_CMD_MAX_IDS);
		for (const char *q = p; q < end; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				return atv_err_set(err, ATV_E_USAGE,
						   "%s: a control character in an identifier", name);
		*end = '\0';
		cmd->ids[cmd->n_ids++] = p;
		if (last)
			return 0;
		p = end;
	}
}

/* Check item's value against k and fill cmd; *url is set for play_url
 * (the copy the identifiers point into for V_IDS). */
static int parse_value(const struct command *k, const char *item, const char *val,
		       struct atv_cmd *cmd, char **url, struct atv_err *err)
{
	int r;

	/* skip_forward alone: the backend's interval (pyatv sends the app's
	 * preferred one, else 15 s); with a value, that many seconds */
	if (k->value == V_SKIP)
		return val ? parse_number(item, val, 1, 86400, &cmd->number, err) : 0;
	if (k->value <= V_KEY) {
		if (val)
			return atv_err_set(err, ATV_E_USAGE, "%s takes no value", k->name);
		return 0;
	}
	if (!val || (k->value == V_URL && !*val))
		return atv_err_set(err, ATV_E_USAGE, "%s needs a value: %s=%s", k->name, k->name,
				   syntax[k->value]);
	switch (k->value) {
	case V_SECONDS: return parse_number(item, val, 0, 1e9, &cmd->number, err);
	case V_PERCENT: return parse_number(item, val, 0, 100, &cmd->number, err);
	case V_SHUFFLE:
	case V_REPEAT:
		r = parse_mode(k->name, k->value == V_SHUFFLE ? shuffle_names : repeat_names, val,
			       err);
		cmd->mode = r;
		return r < 0 ? r : 0;
	case V_URL:
		if ((r = parse_url(item, val, url, &cmd->number, err)) == 0)
			cmd->url = *url;
		return r;
	case V_ID:
		if (!*val)
			return atv_err_set(err, ATV_E_USAGE, "%s needs a value", k->name);
		cmd->text = val;
		return 0;
	case V_TEXT: cmd->text = val; return 0;
	case V_IDS: return parse_ids(k->name, val, cmd, url, err);
	default: return 0;
	}
}

static bool is_power(enum atv_cmd_id id)
{
	return id == ATV_CMD_TURN_ON || id == ATV_CMD_TURN_OFF || id == ATV_CMD_POWER_STATE;
}

/* The backend of c that runs id, or NULL with err set. */
static struct slot *route(struct atv_conn *c, const struct command *k, struct atv_err *err)
{
	/* power prefers Companion, as pyatv's facade does */
	if (is_power(k->id) && c->comp.be && c->comp.be->serves(k->id))
		return &c->comp;
	if (c->main.be->serves(k->id))
		return &c->main;
	if (c->comp.be && c->comp.be->serves(k->id))
		return &c->comp;
	if (c->ap.be && c->ap.be->serves(k->id))
		return &c->ap;
	if (k->id == ATV_CMD_PLAY_URL)
		atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no airplay service", c->name);
	else if (atv_companion_backend.serves(k->id) && c->comp_offered)
		atv_err_set(err, ATV_E_UNSUPPORTED,
			    "%s cannot do %s over %s: pair companion with atv-pair -p companion",
			    c->name, k->name, c->main.be->name);
	else if (atv_companion_backend.serves(k->id))
		atv_err_set(err, ATV_E_UNSUPPORTED,
			    "%s cannot do %s over %s (it needs companion, which %s does not offer)",
			    c->name, k->name, c->main.be->name, c->name);
	else
		atv_err_set(err, ATV_E_UNSUPPORTED, "%s cannot do %s over %s", c->name, k->name,
			    c->main.be->name);
	return NULL;
}

/* The slot of c that runs id, or NULL (no message). */
static struct slot *server(struct atv_conn *c, enum atv_cmd_id id)
{
	struct slot *const slots[] = {&c->main, &c->comp, &c->ap};

	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
		if (slots[i]->be && slots[i]->be->serves(id))
			return slots[i];
	return NULL;
}

/* What the main backend knows now, made complete first (its watch, as a
 * watcher's start: MRP learns the volume and the playing client there). */
static int main_now(struct atv_conn *c, struct atv_now *now, struct atv_err *err)
{
	int r = 0;

	now->power = now->volume = -1;
	if (!c->main.be->now)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s cannot tell this over %s", c->name,
				   c->main.be->name);
	if (c->main.be->watch)
		r = c->main.be->watch(c->main.b, err);
	return r < 0 ? r : c->main.be->now(c->main.b, now, err);
}

/* features: every command of the table, "available" when a protocol of
 * the connection serves it and the device offers it now (MRP's supported
 * commands), "unavailable" when not, "unknown" when the device has not
 * said yet. */
static int features(struct atv_conn *c, json_t **res, struct atv_err *err)
{
	static const char *const states[] = {"unknown", "unavailable", "available"};
	json_t *f;
	int r = c->main.be->watch ? c->main.be->watch(c->main.b, err) : 0;

	if (r < 0 || !(f = json_object()))
		return r;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		enum atv_cmd_id id = commands[i].id;
		struct slot *s = server(c, id);
		int v = s != NULL;

		if (id >= ATV_CMD_DEVICE_INFO)
			v = id != ATV_CMD_ARTWORK || c->main.be->artwork;
		else if (s && s->be->supports)
			v = s->be->supports(s->b, id);
		if (json_object_set_new(f, commands[i].name, json_string(states[v + 1])) < 0) {
			json_decref(f);
			return 0; /* answer() says out of memory */
		}
	}
	*res = json_pack("{s:o}", "features", f);
	return 0;
}

/* The read-only commands the facade answers itself (and power_state and
 * volume when no backend serves them: from the main backend's state). */
static int answer(struct atv_conn *c, enum atv_cmd_id id, json_t **res, struct atv_err *err)
{
	struct atv_now now = {0};
	struct atv_buf png;
	int r = 0;

	switch (id) {
	case ATV_CMD_DEVICE_INFO:
		*res = json_deep_copy(c->info);
		if (*res && json_object_set_new(*res, "protocol", json_string(c->main.be->name)) < 0)
			json_decref(*res), *res = NULL;
		break;
	case ATV_CMD_FEATURES: r = features(c, res, err); break;
	case ATV_CMD_ARTWORK:
		atv_buf_init(&png, ATV_ARTWORK_MAX);
		if ((r = atv_conn_artwork_now(c, &png, err)) == 0)
			*res = atv_artwork_info(&png);
		atv_buf_release(&png);
		break;
	default:
		if ((r = main_now(c, &now, err)) < 0) {
			json_decref(now.playing);
			json_decref(now.output_devices);
			break;
		}
		if (id == ATV_CMD_POWER_STATE && now.power < 0)
			r = atv_err_set(err, ATV_E_UNSUPPORTED, "%s does not tell its power state over %s",
					c->name, c->main.be->name);
		else if (id == ATV_CMD_POWER_STATE)
			*res = json_pack("{s:s}", "power_state", now.power ? "on" : "off");
		else if (id == ATV_CMD_VOLUME && now.volume < 0)
			r = atv_err_set(err, ATV_E_UNSUPPORTED, "%s does not tell its volume over %s",
					c->name, c->main.be->name);
		else if (id == ATV_CMD_VOLUME)
			*res = json_pack("{s:i}", "volume", now.volume);
		else /* null and null when no app shows */
			*res = json_pack("{s:s?,s:s?}", "app",
					 json_string_value(json_object_get(now.playing, "app")),
					 "app_id",
					 json_string_value(json_object_get(now.playing, "app_id")));
		json_decref(now.playing);
		json_decref(now.output_devices);
	}
	if (r == 0 && !*res)
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return r;
}

int atv_conn_command(struct atv_conn *c, const char *item, const char *action, json_t **result,
		     struct atv_err *err)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
	const struct command *k = nlen ? find(item, nlen) : NULL;
	struct atv_cmd cmd = {0};
	struct slot *s;
	json_t *res = NULL;
	char *url = NULL;
	int r;

	if (result)
		*result = NULL;
	if (!k)
		return atv_err_set(err, ATV_E_USAGE, "unknown command %.*s",
				   (int)(nlen > 64 ? 64 : nlen), item);
	cmd.id = k->id;
	cmd.name = k->name;
	cmd.item = item;
	/* The action is for remote keys; other commands ignore it, so one
	 * --action may cover a mixed list. */
	if ((r = parse_action(action, &cmd.action, err)) < 0)
		return r;
	if (k->value != V_KEY)
		cmd.action = ATV_KEY_TAP;
	if ((r = parse_value(k, item, eq ? eq + 1 : NULL, &cmd, &url, err)) < 0) {
		free(url); /* the identifiers' copy, made before one was refused */
		return r;
	}
	if (k->id >= ATV_CMD_DEVICE_INFO ||
	    ((k->id == ATV_CMD_POWER_STATE || k->id == ATV_CMD_VOLUME) && !server(c, k->id)))
		r = answer(c, k->id, &res, err);
	else if (!(s = route(c, k, err)))
		r = err ? -err->code : -ATV_E_UNSUPPORTED;
	else
		r = s->be->command(s->b, &cmd, &res, err);
	free(url);
	if (result)
		*result = res;
	else
		json_decref(res);
	return r;
}

/* ---- events ---- */

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

/* A "playing" event when what plays changed (all: in any case).  Takes
 * p (now->playing). */
static int emit_playing(struct atv_conn *c, bool all, json_t *p, double rate, struct atv_err *err)
{
	double now = atv_wall_clock(), pos = 0;
	json_t *jp, *ev, *v;
	const char *key;
	bool has_pos, changed;

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
	if (!changed) {
		json_decref(jp);
		json_decref(p);
		return 0;
	}
	json_decref(c->last_playing);
	c->last_playing = json_deep_copy(p);
	c->last_has_pos = has_pos;
	c->last_pos = pos;
	c->last_rate = rate;
	c->last_time = now;
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
	c->cb(c->cb_ctx, ev);
	json_decref(ev);
	json_decref(jp);
	json_decref(p);
	return 0;
}

/* An event name with one member, when v changed (all: when known). */
static void emit_int(struct atv_conn *c, bool all, const char *name, const char *member,
		     json_t *value, int v, int *last)
{
	json_t *ev;

	if (v < 0 || (!all && v == *last)) {
		json_decref(value);
		return;
	}
	*last = v;
	if ((ev = event(name)) && json_object_set_new(ev, member, value) == 0)
		c->cb(c->cb_ctx, ev);
	else if (!ev)
		json_decref(value);
	json_decref(ev);
}

/* Whether two output device lists hold the same devices under the same
 * names, in the same order (their levels aside). */
static bool same_outputs(json_t *a, json_t *b)
{
	size_t n = json_array_size(a);

	if (n != json_array_size(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(a, i), *y = json_array_get(b, i);

		if (!json_equal(json_object_get(x, "identifier"), json_object_get(y, "identifier")) ||
		    !json_equal(json_object_get(x, "name"), json_object_get(y, "name")))
			return false;
	}
	return true;
}

/* An "output_device_volume" event for each device of list whose level
 * changed since the last list (pyatv's volume_device_update). */
static void emit_levels(struct atv_conn *c, json_t *list)
{
	size_t i, j;
	json_t *d, *o;

	json_array_foreach (list, i, d) {
		json_t *level = json_object_get(d, "volume"), *old = NULL, *ev;

		json_array_foreach (c->last_outputs, j, o)
			if (json_equal(json_object_get(o, "identifier"), json_object_get(d, "identifier")))
				old = json_object_get(o, "volume");
		if (!json_is_integer(level) || json_equal(level, old))
			continue;
		ev = event("output_device_volume");
		if (ev && json_object_set(ev, "output_device_id", json_object_get(d, "identifier")) == 0 &&
		    json_object_set_new(ev, "old_level", old ? json_incref(old) : json_null()) == 0 &&
		    json_object_set(ev, "new_level", level) == 0)
			c->cb(c->cb_ctx, ev);
		json_decref(ev);
	}
}

/* An "output_devices" event when the devices changed (all: when known),
 * else level events.  Takes list (NULL: the protocol has none). */
static void emit_outputs(struct atv_conn *c, bool all, json_t *list)
{
	json_t *ev;

	if (!list)
		return;
	if (!all && c->last_outputs && same_outputs(list, c->last_outputs)) {
		emit_levels(c, list);
	} else if ((ev = event("output_devices"))) {
		if (json_object_set(ev, "output_devices", list) == 0)
			c->cb(c->cb_ctx, ev);
		json_decref(ev);
	}
	json_decref(c->last_outputs);
	c->last_outputs = list;
}

/* Companion's attention states (FetchAttentionState, SystemStatus). */
static const char *const attention_names[] = {NULL, "asleep", "screensaver", "awake", "idle"};

/* Report what changed since the last events (everything when all).  With
 * Companion next to the main backend, power and attention are its (its
 * system status pushes), the volume the main backend's when it knows. */
static int emit(struct atv_conn *c, bool all, struct atv_err *err)
{
	struct atv_now now = {.power = -1, .volume = -1}, cn = {.power = -1, .volume = -1};
	int r = c->main.be->now(c->main.b, &now, err);

	if (r == 0 && c->comp.be && c->epfd >= 0)
		r = c->comp.be->now(c->comp.b, &cn, err);
	if (r < 0) {
		json_decref(now.playing);
		json_decref(now.output_devices);
		return r;
	}
	json_decref(cn.playing);
	json_decref(cn.output_devices);
	if (cn.power >= 0 || cn.attention) {
		now.power = cn.power;
		now.attention = cn.attention;
	}
	if (now.volume < 0)
		now.volume = cn.volume;
	if (now.playing && (r = emit_playing(c, all, now.playing, now.rate, err)) < 0) {
		json_decref(now.output_devices);
		return r;
	}
	emit_int(c, all, "power", "power_state",
		 now.power >= 0 ? json_string(now.power ? "on" : "off") : NULL, now.power,
		 &c->last_power);
	emit_int(c, all, "volume", "volume", now.volume >= 0 ? json_integer(now.volume) : NULL,
		 now.volume, &c->last_volume);
	if (now.attention < 1 || now.attention > 4)
		now.attention = -1;
	emit_int(c, all, "attention", "attention",
		 now.attention > 0 ? json_string(attention_names[now.attention]) : NULL,
		 now.attention, &c->last_attention);
	emit_outputs(c, all, now.output_devices);
	return 0;
}

/* A backend's state moved on: report it while atv_conn_process runs. */
static void on_changed(void *ctx)
{
	struct atv_conn *c = ctx;
	struct atv_err e = {0};
	int r;

	if (!c->cb || c->emit_err)
		return;
	if ((r = emit(c, false, &e)) < 0) {
		c->emit_err = -r;
		c->emit_errmsg = e;
	}
}

int atv_conn_process(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
	int r = 0;

	c->cb = cb;
	c->cb_ctx = ctx;
	c->emit_err = 0;
	if (c->main.be->step)
		r = c->main.be->step(c->main.b, err);
	/* a lazy Companion slot is run at its next command */
	if (r == 0 && c->epfd >= 0)
		r = c->comp.be->step(c->comp.b, err);
	c->cb = NULL;
	if (r == 0 && c->emit_err)
		r = atv_err_set(err, c->emit_err, "%s", c->emit_errmsg.msg);
	return r;
}

int atv_conn_snapshot(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err)
{
	int r;

	if (c->main.be->watch && (r = c->main.be->watch(c->main.b, err)) < 0)
		return r;
	if (c->epfd >= 0 && (r = c->comp.be->watch(c->comp.b, err)) < 0)
		return r;
	if (!c->main.be->watch && c->epfd < 0)
		return 0;
	c->cb = cb;
	c->cb_ctx = ctx;
	r = emit(c, true, err);
	c->cb = NULL;
	return r;
}

int atv_conn_artwork_now(struct atv_conn *c, struct atv_buf *img, struct atv_err *err)
{
	int r = c->main.be->watch ? c->main.be->watch(c->main.b, err) : 0;

	return r < 0 ? r : atv_conn_artwork(c, img, err);
}

json_t *atv_artwork_info(const struct atv_buf *img)
{
	const uint8_t *p = img->data;
	size_t n = img->len;
	long long w = -1, h = -1;
	const char *mime = NULL;

	if (n >= 24 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(p + 12, "IHDR", 4) == 0) {
		mime = "image/png";
		w = (long long)p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
		h = (long long)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
	} else if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
		mime = "image/jpeg";
		/* walk the markers to the first start of frame (SOF0..SOF15
		 * but DHT, JPG, DAC), every length bounded by n */
		for (size_t i = 2; i + 9 <= n && p[i] == 0xff;) {
			uint8_t m = p[i + 1];
			size_t len = (size_t)p[i + 2] << 8 | p[i + 3];

			if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
				h = p[i + 5] << 8 | p[i + 6];
				w = p[i + 7] << 8 | p[i + 8];
				break;
			}
			if (len < 2)
				break;
			i += 2 + len;
		}
	}
	if (!n)
		return json_pack("{s:n,s:i}", "mime", "size", 0);
	return json_pack("{s:s?,s:o,s:o,s:I}", "mime", mime, "width",
			 w >= 0 ? json_integer(w) : json_null(), "height",
			 h >= 0 ? json_integer(h) : json_null(), "size", (json_int_t)n);
}

int atv_conn_artwork(struct atv_conn *c, struct atv_buf *png, struct atv_err *err)
{
	if (!c->main.be->artwork)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no artwork over %s", c->name,
				   c->main.be->name);
	return c->main.be->artwork(c->main.b, png, err);
}
