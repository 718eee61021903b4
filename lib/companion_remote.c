/* companion_remote.c - the Companion backend: power, apps, accounts, text
 * input, keys and media control over a Companion session (companion.h),
 * and its pairer.
 *
 * Connect sequence as pyatv 0.18 (protocols/companion/api.py): pair-verify,
 * then _systemInfo with our client id, _touchStart, _sessionStart,
 * TVRCSessionStart (tvOS 26.5 answers FetchAttentionState only after it;
 * a refusal is ignored), _tiStart, the _iMC interest, FetchAttentionState
 * (the power state; a refusal is ignored) and the SystemStatus and
 * TVSystemStatus interests, which push {state} on every change.
 *
 * The client id (_i of _systemInfo) must be non-null, persistent and ours
 * alone: tvOS 18.4 drops clients without one (pyatv #2656) and clients
 * sharing one evict each other (#1912).  atv-pair makes a random one and
 * stores it as "rp_id" next to the credentials (atv-credentials(5)); a
 * config whose credentials came from elsewhere (pyatv) gets one derived
 * from our pairing id in them, which is as stable and unique.
 *
 * Commands: keys are _hidC requests, down then up (pyatv _press_button);
 * turn_on/turn_off the release of Wake/Sleep alone; media control _mcc;
 * apps FetchLaunchableApplicationsEvent/_launchApp; accounts
 * FetchUserAccountsEvent/SwitchUserAccountEvent; text through RTI
 * (companion_rti.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bytes.h"
#include "companion.h"
#include "companion_frame.h"
#include "companion_rti.h"
#include "crypto.h"
#include "log.h"
#include "pair.h"
#include "tlv8.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
#define HOLD_MS		   1000 /* pyatv holds a key for one second */
#define RP_ID_LEN	   12	/* hex digits of our client id */
#define SERVICE_TYPE	   "com.apple.tvremoteservices"
#define OUR_MODEL	   "iPhone10,6" /* pyatv's default: what devices expect of a remote */
#define MCF_VOLUME	   0x100	/* _iMC's _mcF: volume can be read */

/* _hidC codes (pyatv HidCommand) */
enum hid {
	HID_UP = 1,
	HID_DOWN,
	HID_LEFT,
	HID_RIGHT,
	HID_MENU,
	HID_SELECT,
	HID_HOME,
	HID_VOLUME_UP,
	HID_VOLUME_DOWN,
	HID_SIRI,
	HID_SCREENSAVER,
	HID_SLEEP,
	HID_WAKE,
	HID_PLAY_PAUSE,
	HID_CHANNEL_UP,
	HID_CHANNEL_DOWN,
	HID_GUIDE,
	HID_PAGE_UP,
	HID_PAGE_DOWN
};

/* _mcc codes (pyatv MediaControlCommand) */
enum mcc {
	MCC_PLAY = 1,
	MCC_PAUSE,
	MCC_NEXT,
	MCC_PREVIOUS,
	MCC_GET_VOLUME,
	MCC_SET_VOLUME,
	MCC_SKIP_BY
};

static const uint8_t hid_keys[ATV_CMD_COUNT] = {
    [ATV_CMD_UP] = HID_UP,
    [ATV_CMD_DOWN] = HID_DOWN,
    [ATV_CMD_LEFT] = HID_LEFT,
    [ATV_CMD_RIGHT] = HID_RIGHT,
    [ATV_CMD_MENU] = HID_MENU,
    [ATV_CMD_SELECT] = HID_SELECT,
    [ATV_CMD_HOME] = HID_HOME,
    [ATV_CMD_HOME_HOLD] = HID_HOME,
    [ATV_CMD_VOLUME_UP] = HID_VOLUME_UP,
    [ATV_CMD_VOLUME_DOWN] = HID_VOLUME_DOWN,
    [ATV_CMD_PLAY_PAUSE] = HID_PLAY_PAUSE,
    [ATV_CMD_SCREENSAVER] = HID_SCREENSAVER,
    [ATV_CMD_CHANNEL_UP] = HID_CHANNEL_UP,
    [ATV_CMD_CHANNEL_DOWN] = HID_CHANNEL_DOWN,
    [ATV_CMD_GUIDE] = HID_GUIDE,
    /* pyatv's control_center is PageDown */
    [ATV_CMD_CONTROL_CENTER] = HID_PAGE_DOWN,
};

static const uint8_t mcc_cmds[ATV_CMD_COUNT] = {
    [ATV_CMD_PLAY] = MCC_PLAY,
    [ATV_CMD_PAUSE] = MCC_PAUSE,
    [ATV_CMD_NEXT] = MCC_NEXT,
    [ATV_CMD_PREVIOUS] = MCC_PREVIOUS,
};

struct comp_remote {
	char *name, *host;
	int port;
	struct atv_companion *s;
	struct atv_hap_creds creds;
	char rp_id[RP_ID_LEN + 1];
	int timeout_ms;
	bool lazy; /* connect on the first command */
	atv_backend_changed_fn changed;
	void *ctx;

	uint64_t sid;	   /* remote << 32 | local, for _sessionStop */
	int attention;	   /* 1..4, 0: unknown */
	int volume;	   /* 0..100, -1: unknown */
	bool volume_stale; /* _iMC said volume can be read: read it */
	bool moved;	   /* an event changed the state: tell changed() */
};

/* ---- the client id ---- */

/* The stored "rp_id" of svc (12 hex digits), else one derived from our
 * pairing id: the first 6 bytes of its SHA-512 in hex. */
static int client_id(const struct atv_service *svc, const struct atv_hap_creds *c,
		     char out[RP_ID_LEN + 1], struct atv_err *err)
{
	const char *v = json_string_value(json_object_get(svc->extra, "rp_id"));
	uint8_t h[ATV_SHA512_LEN];
	size_t n;
	int r;

	if (v && strlen(v) == RP_ID_LEN && atv_unhex(v, RP_ID_LEN, h, sizeof h, &n) == 0) {
		memcpy(out, v, RP_ID_LEN + 1);
		return 0;
	}
	r = atv_sha512(c->client_id, c->client_id_len, h, err);
	for (int i = 0; r == 0 && i < RP_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return r;
}

/* ---- events ---- */

static void on_event(void *ctx, const char *name, const struct atv_opack *content)
{
	struct comp_remote *c = ctx;
	int64_t v;

	if (strcmp(name, "SystemStatus") == 0 || strcmp(name, "TVSystemStatus") == 0) {
		if (atv_opack_get_int(content, "state", &v) && v >= 1 && v <= 4 &&
		    v != c->attention) {
			c->attention = (int)v;
			c->moved = true;
		}
	} else if (strcmp(name, "_iMC") == 0) {
		/* media control flags: volume readable or not */
		if (atv_opack_get_int(content, "_mcF", &v) && (v & MCF_VOLUME)) {
			c->volume_stale = true;
		} else if (c->volume != -1) {
			c->volume = -1;
			c->moved = true;
		}
	}
}

/* ---- requests ---- */

/* A request whose reply is not needed. */
static int ask(struct comp_remote *c, const char *name, struct atv_opack *content,
	       struct atv_err *err)
{
	struct atv_opack *reply = NULL;
	int r = atv_companion_request(c->s, name, content, &reply, err);

	atv_opack_free(reply);
	return r;
}

/* A request whose refusal or silence is shrugged off, as pyatv does for
 * TVRCSessionStart and FetchAttentionState; a broken session is not. */
static int ask_optional(struct comp_remote *c, const char *name, struct atv_opack *content,
			struct atv_opack **reply, struct atv_err *err)
{
	struct atv_err e = {0};
	int r = atv_companion_request(c->s, name, content, reply, &e);

	if (r < 0 && !atv_companion_broken(c->s)) {
		atv_debug("companion: %s: %s (ignored)", name, e.msg);
		return 0;
	}
	if (r < 0 && err)
		*err = e;
	return r;
}

/* A dict built by the caller: NULL when out of memory (then the request
 * functions fail with -ATV_E_NOMEM). */
static struct atv_opack *dict1(const char *k, struct atv_opack *v)
{
	struct atv_opack *d = atv_opack_dict();

	if (atv_opack_dict_set(d, k, v) < 0) {
		atv_opack_free(d);
		return NULL;
	}
	return d;
}

static int interest(struct comp_remote *c, const char *verb, const char *event, struct atv_err *err)
{
	struct atv_opack *a = atv_opack_array();

	if (atv_opack_array_add(a, atv_opack_str(event)) < 0) {
		atv_opack_free(a);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return atv_companion_event(c->s, "_interest", dict1(verb, a), err);
}

/* The attention state now (FetchAttentionState), when the device says. */
static int fetch_attention(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *reply = NULL;
	int64_t v;
	int r = ask_optional(c, "FetchAttentionState", NULL, &reply, err);

	if (r == 0 && atv_opack_get_int(atv_opack_get_dict(reply, "_c"), "state", &v) && v >= 1 &&
	    v <= 4 && v != c->attention) {
		c->attention = (int)v;
		c->moved = true;
	}
	atv_opack_free(reply);
	return r;
}

static int system_info(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();
	char pub[18];
	int r;

	/* pyatv sends its device_id (a MAC) as _pubID: ours, from the id */
	snprintf(pub, sizeof pub, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", c->rp_id, c->rp_id + 2,
		 c->rp_id + 4, c->rp_id + 6, c->rp_id + 8, c->rp_id + 10);
	for (char *q = pub; *q; q++)
		*q = (char)toupper((unsigned char)*q); /* as pyatv's FF:70:79:61:74:76 */
	r = atv_opack_dict_set(d, "_bf", atv_opack_int(0));
	if (r == 0)
		r = atv_opack_dict_set(d, "_cf", atv_opack_int(512));
	if (r == 0)
		r = atv_opack_dict_set(d, "_clFl", atv_opack_int(128));
	if (r == 0)
		r = atv_opack_dict_set(d, "_i", atv_opack_str(c->rp_id));
	if (r == 0)
		r = atv_opack_dict_set(d, "_idsID",
				       atv_opack_data(c->creds.client_id, c->creds.client_id_len));
	if (r == 0)
		r = atv_opack_dict_set(d, "_pubID", atv_opack_str(pub));
	if (r == 0)
		r = atv_opack_dict_set(d, "_sf", atv_opack_int(256));
	if (r == 0)
		r = atv_opack_dict_set(d, "_sv", atv_opack_str("170.18"));
	if (r == 0)
		r = atv_opack_dict_set(d, "model", atv_opack_str(OUR_MODEL));
	if (r == 0)
		r = atv_opack_dict_set(d, "name", atv_opack_str("atv-tools"));
	if (r < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return ask(c, "_systemInfo", d, err);
}

static int touch_start(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();

	if (atv_opack_dict_set(d, "_height", atv_opack_float(1000.0)) < 0 ||
	    atv_opack_dict_set(d, "_tFl", atv_opack_int(0)) < 0 ||
	    atv_opack_dict_set(d, "_width", atv_opack_float(1000.0)) < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return ask(c, "_touchStart", d, err);
}

static int session_start(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *d, *reply = NULL;
	uint32_t local;
	uint64_t remote;
	int r = atv_random(&local, sizeof local, err);

	if (r < 0)
		return r;
	d = dict1("_srvT", atv_opack_str(SERVICE_TYPE));
	if (d && atv_opack_dict_set(d, "_sid", atv_opack_int(local)) < 0) {
		atv_opack_free(d);
		d = NULL;
	}
	r = atv_companion_request(c->s, "_sessionStart", d, &reply, err);
	if (r == 0 && !atv_opack_get_u64(atv_opack_get_dict(reply, "_c"), "_sid", &remote))
		r = atv_err_set(err, ATV_E_PROTO, "%s started a session without an id", c->name);
	if (r == 0)
		c->sid = remote << 32 | local;
	atv_opack_free(reply);
	return r;
}

/* Everything after pair-verify, in pyatv's order. */
static int start(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *reply = NULL;
	int r = system_info(c, err);

	if (r == 0)
		r = touch_start(c, err);
	if (r == 0)
		r = session_start(c, err);
	if (r == 0)
		r = ask_optional(c, "TVRCSessionStart",
				 dict1("ProtocolVersionKey", atv_opack_str("1.2")), &reply, err);
	atv_opack_free(reply);
	reply = NULL;
	if (r == 0)
		r = ask_optional(c, "_tiStart", NULL, &reply, err);
	atv_opack_free(reply);
	if (r == 0)
		r = interest(c, "_regEvents", "_iMC", err);
	if (r == 0)
		r = fetch_attention(c, err);
	if (r == 0)
		r = interest(c, "_regEvents", "SystemStatus", err);
	if (r == 0)
		r = interest(c, "_regEvents", "TVSystemStatus", err);
	return r;
}

static int connect_now(struct comp_remote *c, struct atv_err *err)
{
	struct atv_companion_opts so = {
	    .timeout_ms = c->timeout_ms, .device = c->name, .event = on_event, .event_ctx = c};
	int r = atv_companion_connect(c->host, c->port, &so, &c->s, err);

	if (r == 0)
		r = atv_companion_verify(c->s, &c->creds, err);
	if (r == 0)
		r = start(c, err);
	if (r < 0) {
		atv_companion_close(c->s);
		c->s = NULL;
	}
	return r;
}

/* Leave as pyatv does (errors ignored), without waiting for the replies:
 * the connection closes right after. */
static void stop(struct comp_remote *c)
{
	static const char *const events[] = {"_iMC", "SystemStatus", "TVSystemStatus"};
	struct atv_opack *d;

	if (!c->s || atv_companion_broken(c->s))
		return;
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		if (interest(c, "_deregEvents", events[i], NULL) < 0)
			return;
	d = atv_opack_dict();
	if (atv_opack_dict_set(d, "_srvT", atv_opack_str(SERVICE_TYPE)) == 0 &&
	    atv_opack_dict_set(d, "_sid", atv_opack_int((int64_t)c->sid)) == 0)
		atv_companion_send(c->s, "_sessionStop", d, NULL);
	else
		atv_opack_free(d);
	atv_companion_send(c->s, "_touchStop", dict1("_i", atv_opack_int(1)), NULL);
	atv_companion_send(c->s, "_tiStop", NULL, NULL);
}

static void comp_close(void *b)
{
	struct comp_remote *c = b;

	if (!c)
		return;
	stop(c);
	atv_companion_close(c->s);
	atv_hap_creds_wipe(&c->creds);
	free(c->name);
	free(c->host);
	free(c);
}

static int comp_open(const struct atv_device *d, const struct atv_service *svc,
		     const struct atv_backend_opts *o, void **out, struct atv_err *err)
{
	struct comp_remote *c;
	struct atv_err e = {0};
	int r;

	*out = NULL;
	if (!atv_service_paired(svc))
		return atv_err_set(
		    err, ATV_E_AUTH,
		    "no companion credentials for %s: pair with atv-pair -p companion", o->device);
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE,
				   "%s announces no companion port (asleep?)", o->device);
	c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(o->device)) || !(c->host = strdup(d->address))) {
		free(c ? c->name : NULL);
		free(c);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	c->port = svc->port;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->changed = o->changed;
	c->ctx = o->ctx;
	c->volume = -1;
	c->lazy = o->lazy;
	if (atv_hap_creds_parse(svc->credentials, &c->creds, &e) < 0) {
		r = atv_err_set(err, ATV_E_AUTH,
				"unusable companion credentials for %s (%s): pair again with "
				"atv-pair -p companion",
				o->device, e.msg);
		goto out;
	}
	r = client_id(svc, &c->creds, c->rp_id, err);
	if (r == 0 && !c->lazy)
		r = connect_now(c, err);
out:
	if (r < 0) {
		comp_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- commands ---- */

static int hid(struct comp_remote *c, int code, bool down, struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();

	if (atv_opack_dict_set(d, "_hBtS", atv_opack_int(down ? 1 : 2)) < 0 ||
	    atv_opack_dict_set(d, "_hidC", atv_opack_int(code)) < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return ask(c, "_hidC", d, err);
}

static int press(struct comp_remote *c, int code, enum atv_key_action a, struct atv_err *err)
{
	int r = hid(c, code, true, err);

	if (r == 0 && a == ATV_KEY_HOLD)
		r = atv_companion_pump(c->s, HOLD_MS, err);
	if (r == 0)
		r = hid(c, code, false, err);
	if (r == 0 && a == ATV_KEY_DOUBLE_TAP)
		r = hid(c, code, true, err);
	if (r == 0 && a == ATV_KEY_DOUBLE_TAP)
		r = hid(c, code, false, err);
	return r;
}

static int mcc(struct comp_remote *c, int code, const char *key, struct atv_opack *arg,
	       struct atv_opack **reply, struct atv_err *err)
{
	struct atv_opack *d = dict1("_mcc", atv_opack_int(code));
	struct atv_opack *ignored = NULL;
	int r;

	if (key && atv_opack_dict_set(d, key, arg) < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	r = atv_companion_request(c->s, "_mcc", d, reply ? reply : &ignored, err);
	atv_opack_free(ignored);
	return r;
}

/* GetVolume: _c._vol, 0..1. */
static int read_volume(struct comp_remote *c, struct atv_err *err)
{
	struct atv_opack *reply = NULL;
	double v;
	int r = mcc(c, MCC_GET_VOLUME, NULL, NULL, &reply, err);

	c->volume_stale = false;
	if (r == 0 && !atv_opack_get_number(atv_opack_get_dict(reply, "_c"), "_vol", &v))
		r = atv_err_set(err, ATV_E_PROTO, "%s sent a volume reply without a volume",
				c->name);
	if (r == 0) {
		int pct = (int)(v * 100.0 + 0.5);

		pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
		if (pct != c->volume)
			c->moved = true;
		c->volume = pct;
	}
	atv_opack_free(reply);
	return r;
}

static const char *power_name(int attention)
{
	return attention == 0 ? "unknown" : attention == 1 ? "off" : "on";
}

/* {bundle id: name} or {account id: name} as [{"identifier", "name"}]. */
static int id_names(struct comp_remote *c, const char *request, json_t **result,
		    struct atv_err *err)
{
	struct atv_opack *reply = NULL;
	const struct atv_opack *m;
	json_t *a = NULL;
	int r = atv_companion_request(c->s, request, NULL, &reply, err);

	if (r < 0)
		return r;
	m = atv_opack_get_dict(reply, "_c");
	if (!m) {
		r = atv_err_set(err, ATV_E_PROTO, "%s answered %s without a list", c->name,
				request);
		goto out;
	}
	if (!(a = json_array())) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->u.c.n; i++) {
		const char *id = atv_opack_str_value(m->u.c.v[2 * i]);
		const char *name = atv_opack_str_value(m->u.c.v[2 * i + 1]);

		json_t *o;

		/* pairs that are not two strings are skipped; so are names
		 * that are not UTF-8 (jansson refuses them) */
		if (!id || !name || !(o = json_pack("{s:s, s:s}", "identifier", id, "name", name)))
			continue;
		if (json_array_append_new(a, o) < 0) {
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	*result = a;
	a = NULL;
out:
	json_decref(a);
	atv_opack_free(reply);
	return r;
}

/* A URL or a scheme ("netflix://...", "https:..."): _urlS, else _bundleID
 * (pyatv support/url.is_url_or_scheme). */
static bool is_url(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

	return n > 0 && s[n] == ':';
}

static int text(struct comp_remote *c, const struct atv_cmd *k, json_t **result,
		struct atv_err *err)
{
	struct atv_companion_rti_op op = {0};
	char *now = NULL;
	int r;

	op.clear = k->id == ATV_CMD_TEXT_SET || k->id == ATV_CMD_TEXT_CLEAR;
	op.append = k->id == ATV_CMD_TEXT_SET || k->id == ATV_CMD_TEXT_APPEND ? k->text : NULL;
	r = atv_companion_rti_run(c->s, &op, &now, err);
	if (r == 0 && k->id == ATV_CMD_TEXT_GET && !(*result = json_pack("{s:s?}", "text", now)))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	free(now);
	return r;
}

static int run(struct comp_remote *c, const struct atv_cmd *k, json_t **result, struct atv_err *err)
{
	int r;

	switch (k->id) {
	case ATV_CMD_TURN_ON: return hid(c, HID_WAKE, false, err);
	case ATV_CMD_TURN_OFF: return hid(c, HID_SLEEP, false, err);
	case ATV_CMD_SUSPEND: return hid(c, HID_SLEEP, false, err);
	case ATV_CMD_WAKEUP: return hid(c, HID_WAKE, false, err);
	case ATV_CMD_HOME_HOLD: return press(c, HID_HOME, ATV_KEY_HOLD, err);
	case ATV_CMD_POWER_STATE:
		/* the connect fetched it and SystemStatus pushes keep it
		 * current: take those in; ask again only when it is unknown */
		r = atv_companion_process(c->s, err);
		if (r == 0 && !c->attention)
			r = fetch_attention(c, err);
		if (r == 0 &&
		    !(*result = json_pack("{s:s}", "power_state", power_name(c->attention))))
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return r;
	case ATV_CMD_VOLUME:
		r = read_volume(c, err);
		if (r == 0 && !(*result = json_pack("{s:i}", "volume", c->volume)))
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return r;
	case ATV_CMD_SET_VOLUME:
		return mcc(c, MCC_SET_VOLUME, "_vol", atv_opack_float(k->number / 100.0), NULL,
			   err);
	case ATV_CMD_SKIP_FORWARD:
	case ATV_CMD_SKIP_BACKWARD:
		/* a float: pyatv's OPACK cannot pack negative integers */
		return mcc(c, MCC_SKIP_BY, "_skpS",
			   atv_opack_float(k->id == ATV_CMD_SKIP_FORWARD ? ATV_SKIP_SECONDS
									 : -ATV_SKIP_SECONDS),
			   NULL, err);
	case ATV_CMD_APP_LIST: return id_names(c, "FetchLaunchableApplicationsEvent", result, err);
	case ATV_CMD_ACCOUNT_LIST: return id_names(c, "FetchUserAccountsEvent", result, err);
	case ATV_CMD_LAUNCH_APP:
		return ask(c, "_launchApp",
			   dict1(is_url(k->text) ? "_urlS" : "_bundleID", atv_opack_str(k->text)),
			   err);
	case ATV_CMD_SWITCH_ACCOUNT:
		return ask(c, "SwitchUserAccountEvent",
			   dict1("SwitchAccountID", atv_opack_str(k->text)), err);
	case ATV_CMD_TEXT_GET:
	case ATV_CMD_TEXT_SET:
	case ATV_CMD_TEXT_APPEND:
	case ATV_CMD_TEXT_CLEAR: return text(c, k, result, err);
	default: break;
	}
	if (hid_keys[k->id])
		return press(c, hid_keys[k->id], k->action, err);
	if (mcc_cmds[k->id])
		return mcc(c, mcc_cmds[k->id], NULL, NULL, NULL, err);
	return atv_err_set(err, ATV_E_UNSUPPORTED, "%s over companion", k->name);
}

static bool comp_serves(enum atv_cmd_id id)
{
	switch (id) {
	case ATV_CMD_TURN_ON:
	case ATV_CMD_TURN_OFF:
	case ATV_CMD_SUSPEND:
	case ATV_CMD_WAKEUP:
	case ATV_CMD_HOME_HOLD:
	case ATV_CMD_SET_VOLUME:
	case ATV_CMD_SKIP_FORWARD:
	case ATV_CMD_SKIP_BACKWARD: return true;
	default:
		return (id >= ATV_CMD_POWER_STATE && id < ATV_CMD_DEVICE_INFO) || hid_keys[id] ||
		       mcc_cmds[id];
	}
}

static int comp_command(void *b, const struct atv_cmd *k, json_t **result, struct atv_err *err)
{
	struct comp_remote *c = b;
	struct atv_err e = {0};
	int r;

	/* a session the device closed while we were idle (atv-send between
	 * two lines) is opened again rather than failing the command */
	if (c->s && (r = atv_companion_process(c->s, &e)) < 0) {
		if (r != -ATV_E_UNREACHABLE) {
			if (err)
				*err = e;
			return r;
		}
		atv_debug("companion: %s; connecting again", e.msg);
		atv_companion_close(c->s);
		c->s = NULL;
	}
	if (!c->s && (r = connect_now(c, err)) < 0)
		return r;
	r = run(c, k, result, err);
	/* a session the device broke is gone: the next command reconnects */
	if (r < 0 && atv_companion_broken(c->s)) {
		atv_companion_close(c->s);
		c->s = NULL;
	}
	return r;
}

/* ---- events ---- */

static int comp_fd(const void *b)
{
	const struct comp_remote *c = b;

	return c->s ? atv_companion_fd(c->s) : -1;
}

static int comp_timeout_ms(const void *b)
{
	const struct comp_remote *c = b;

	if (!c->s)
		return -1;
	return c->volume_stale ? 0 : atv_companion_timeout_ms(c->s);
}

static int comp_step(void *b, struct atv_err *err)
{
	struct comp_remote *c = b;
	int r;

	if (!c->s)
		return 0;
	r = atv_companion_process(c->s, err);
	/* _iMC said the volume moved or became readable: read it now */
	if (r == 0 && c->volume_stale)
		r = read_volume(c, err);
	if (c->moved && c->changed) {
		c->moved = false;
		c->changed(c->ctx);
	}
	return r;
}

static int comp_watch(void *b, struct atv_err *err)
{
	struct comp_remote *c = b;

	if (!c->s)
		return connect_now(c, err);
	return 0;
}

static int comp_now(void *b, struct atv_now *now, struct atv_err *err)
{
	struct comp_remote *c = b;

	(void)err;
	now->playing = NULL;
	now->power = c->attention == 0 ? -1 : c->attention != 1;
	now->volume = c->volume;
	now->attention = c->attention;
	return 0;
}

const struct atv_backend atv_companion_backend = {
    .name = "companion",
    .open = comp_open,
    .close = comp_close,
    .serves = comp_serves,
    .command = comp_command,
    .fd = comp_fd,
    .timeout_ms = comp_timeout_ms,
    .step = comp_step,
    .watch = comp_watch,
    .now = comp_now,
};

/* ---- pairing ---- */

struct comp_pairing {
	struct atv_companion *s;
	char pairing_id[ATV_UUID_SIZE];
	char rp_id[RP_ID_LEN + 1];
	char *device, *name;
	struct atv_buf m2; /* the device's answer to M1 */
};

static void comp_pair_free(void *pp)
{
	struct comp_pairing *p = pp;

	if (!p)
		return;
	atv_companion_close(p->s);
	atv_buf_release(&p->m2);
	free(p->device);
	free(p->name);
	atv_crypto_wipe(p, sizeof *p);
	free(p);
}

static int comp_pair_begin(const struct atv_device *d, const struct atv_service *svc,
			   const struct atv_pair_opts *o, void **out, struct atv_err *err)
{
	struct atv_companion_opts so = {0};
	struct comp_pairing *p = NULL;
	struct atv_buf m1;
	const char *name = atv_device_label(d);
	uint8_t id[RP_ID_LEN / 2];
	int r;

	*out = NULL;
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE,
				   "%s announces no companion port (asleep?)", name);
	atv_buf_init(&m1, ATV_HAP_MSG_MAX);
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(name)) ||
	    !(p->name = strdup(o && o->name ? o->name : "atv-tools"))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_buf_init(&p->m2, ATV_HAP_MSG_MAX);
	r = atv_uuid(p->pairing_id, err);
	/* our client id for _systemInfo, random and stored with the
	 * credentials (pyatv: rp_id, 6 random bytes in hex) */
	if (r == 0)
		r = atv_random(id, sizeof id, err);
	for (size_t i = 0; r == 0 && i < sizeof id; i++)
		snprintf(p->rp_id + 2 * i, 3, "%02x", id[i]);
	if (r < 0)
		goto out;
	so.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	so.device = name;
	r = atv_companion_connect(d->address, svc->port, &so, &p->s, err);
	if (r < 0)
		goto out;
	/* M1 needs no PIN: {Method pair-setup, State 1}; the PIN shows */
	r = atv_tlv8_add_u8(&m1, ATV_TLV8_METHOD, ATV_TLV8_METHOD_PAIR_SETUP, err);
	if (r == 0)
		r = atv_tlv8_add_u8(&m1, ATV_TLV8_STATE, 1, err);
	if (r == 0)
		r = atv_companion_pair_exchange(p->s, ATV_COMPANION_PS_START, &m1, true, &p->m2,
						err);
	if (r == 0)
		r = atv_hap_setup_m2_check(p->m2.data, p->m2.len, p->device, err);
out:
	atv_buf_release(&m1);
	if (r < 0) {
		comp_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static const char *comp_pair_pin(const void *p)
{
	(void)p;
	return NULL; /* the device shows it */
}

/* M5's Name item: OPACK {"name": our name}. */
static int name_item(const struct comp_pairing *p, struct atv_buf *out, struct atv_err *err)
{
	struct atv_opack *d = dict1("name", atv_opack_str(p->name));
	int r;

	if (!d)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	r = atv_opack_encode(d, out, err);
	atv_opack_free(d);
	return r;
}

static int comp_pair_exchange(void *ctx, const struct atv_buf *msg, struct atv_buf *reply,
			      struct atv_err *err)
{
	return atv_companion_pair_exchange(ctx, ATV_COMPANION_PS_NEXT, msg, true, reply, err);
}

static int comp_pair_finish(void *pp, const char *pin, char **credentials, struct atv_err *err)
{
	struct comp_pairing *p = pp;
	struct atv_buf name;
	int r;

	atv_buf_init(&name, ATV_HAP_MSG_MAX);
	r = name_item(p, &name, err);
	if (r == 0)
		r = atv_hap_setup_finish(pin, p->pairing_id, &name, &p->m2, comp_pair_exchange,
					 p->s, p->device, credentials, err);
	atv_buf_release(&name);
	return r;
}

static json_t *comp_pair_stored(const void *pp)
{
	const struct comp_pairing *p = pp;

	return json_pack("{s:s}", "rp_id", p->rp_id);
}

const struct atv_pairer atv_companion_pairer = {
    .name = "companion",
    .begin = comp_pair_begin,
    .pin = comp_pair_pin,
    .finish = comp_pair_finish,
    .free = comp_pair_free,
    .stored = comp_pair_stored,
};
