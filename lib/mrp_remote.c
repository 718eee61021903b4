/* mrp_remote.c - the MRP backend: remote control, now-playing and pairing
 * over an MRP session (mrp.h), state from mrp_state.h.
 *
 * Commands follow pyatv's MRP remote (pyatv/protocols/mrp/__init__.py):
 * keys as HID events (down, up; a double tap is two presses, a hold keeps
 * the key down 1 s), each followed by a GENERIC round trip so "done" means
 * the device has handled it; playback as SEND_COMMAND answered by
 * SEND_COMMAND_RESULT.
 *
 * Pairing: begin connects, sends DEVICE_INFO and M1 {Method 0, State 1};
 * the device answers M2 {Salt, PublicKey} and shows the PIN.  finish runs
 * SRP with the PIN (M3/M4), exchanges long-term keys (M5/M6) and formats
 * pyatv's "ltpk:ltsk:atv_id:client_id".  Our pairing id is a fresh
 * upper-case UUID: it is the client_id the device stores for us. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "airplay_info.h"
#include "airplay_tunnel.h"
#include "backend.h"
#include "crypto.h"
#include "hap.h"
#include "mrp.h"
#include "mrp_frame.h"
#include "mrp_msg.h"
#include "mrp_state.h"
#include "pair.h"
#include "tlv8.h"
#include "tcp.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS  5000
#define HOLD_MS		    1000 /* pyatv holds a key for one second */
#define BETWEEN_COMMANDS_MS 100	 /* pyatv's pause between turn_off's two keys */
#define ARTWORK_SIZE	    600.0 /* pixels asked for; the device may send another size */

/* HID usage pages (USB HID usage tables): generic desktop (1) for the
 * system keys, consumer (12) for the media ones. */
#define PAGE_DESKTOP  1
#define PAGE_CONSUMER 12

/* What each command is on the wire: a HID usage, or a SEND_COMMAND. */
static const struct mrp_cmd {
	uint16_t page, usage; /* keys; 0: not a key */
	Mrp__Command cmd;     /* SEND_COMMAND; 0: none */
} mrp_cmds[ATV_CMD_COUNT] = {
    [ATV_CMD_UP] = {PAGE_DESKTOP, 0x8c, 0},
    [ATV_CMD_DOWN] = {PAGE_DESKTOP, 0x8d, 0},
    [ATV_CMD_LEFT] = {PAGE_DESKTOP, 0x8b, 0},
    [ATV_CMD_RIGHT] = {PAGE_DESKTOP, 0x8a, 0},
    [ATV_CMD_SELECT] = {PAGE_DESKTOP, 0x89, 0},
    [ATV_CMD_MENU] = {PAGE_DESKTOP, 0x86, 0},
    [ATV_CMD_HOME] = {PAGE_CONSUMER, 0x40, 0},
    [ATV_CMD_HOME_HOLD] = {PAGE_CONSUMER, 0x40, 0},
    [ATV_CMD_TOP_MENU] = {PAGE_CONSUMER, 0x60, 0},
    [ATV_CMD_SUSPEND] = {PAGE_DESKTOP, 0x82, 0},
    [ATV_CMD_WAKEUP] = {PAGE_DESKTOP, 0x83, 0},
    [ATV_CMD_VOLUME_UP] = {PAGE_CONSUMER, 0xe9, 0},
    [ATV_CMD_VOLUME_DOWN] = {PAGE_CONSUMER, 0xea, 0},
    [ATV_CMD_PLAY] = {0, 0, MRP__COMMAND__CMD_PLAY},
    [ATV_CMD_PAUSE] = {0, 0, MRP__COMMAND__CMD_PAUSE},
    [ATV_CMD_PLAY_PAUSE] = {0, 0, MRP__COMMAND__CMD_TOGGLE_PLAY_PAUSE},
    [ATV_CMD_STOP] = {0, 0, MRP__COMMAND__CMD_STOP},
    [ATV_CMD_NEXT] = {0, 0, MRP__COMMAND__CMD_NEXT_TRACK},
    [ATV_CMD_PREVIOUS] = {0, 0, MRP__COMMAND__CMD_PREVIOUS_TRACK},
    [ATV_CMD_SKIP_FORWARD] = {0, 0, MRP__COMMAND__CMD_SKIP_FORWARD},
    [ATV_CMD_SKIP_BACKWARD] = {0, 0, MRP__COMMAND__CMD_SKIP_BACKWARD},
    [ATV_CMD_SET_POSITION] = {0, 0, MRP__COMMAND__CMD_SEEK_TO_PLAYBACK_POSITION},
    [ATV_CMD_SET_SHUFFLE] = {0, 0, MRP__COMMAND__CMD_CHANGE_SHUFFLE_MODE},
    [ATV_CMD_SET_REPEAT] = {0, 0, MRP__COMMAND__CMD_CHANGE_REPEAT_MODE},
};

/* set_shuffle / set_repeat values, by the facade's index (off, songs or
 * track, albums or all). */
static const Mrp__ShuffleMode shuffle_modes[] = {MRP__SHUFFLE_MODE__SHUFFLE_OFF,
						  MRP__SHUFFLE_MODE__SHUFFLE_SONGS,
						  MRP__SHUFFLE_MODE__SHUFFLE_ALBUMS};
static const Mrp__RepeatMode repeat_modes[] = {
    MRP__REPEAT_MODE__REPEAT_OFF, MRP__REPEAT_MODE__REPEAT_ONE, MRP__REPEAT_MODE__REPEAT_ALL};

struct mrp_remote {
	char *name;
	struct atv_mrp *mrp;
	struct atv_mrp_state *st;
	unsigned updates; /* what CLIENT_UPDATES_CONFIG asked for */
	/* the MODIFY_OUTPUT_CONTEXT_REQUEST waited for ("" none) and the error
	 * code of the device's answer to it (0: none, or no answer) */
	char modify_id[ATV_UUID_SIZE];
	int modify_err;
	int st_err;	  /* a failure while handling a push (no memory) */
	struct atv_err st_errmsg;
	int timeout_ms;
	atv_backend_changed_fn changed;
	void *ctx;
};

static void on_push(void *ctx, const Mrp__ProtocolMessage *m)
{
	struct mrp_remote *c = ctx;
	struct atv_err e = {0};
	int r = atv_mrp_state_update(c->st, m, &e);

	/* A device may answer a change of the speaker group (the fake does,
	 * with ERROR_OUTPUT_DEVICE_NOT_FOUND for an identifier it does not
	 * know); pyatv waits for no answer, only for the new list. */
	if (c->modify_id[0] && m->identifier && strcmp(m->identifier, c->modify_id) == 0) {
		c->modify_id[0] = 0;
		if (m->has_errorcode && m->errorcode != MRP__ERROR_CODE__ERROR_NONE)
			c->modify_err = m->errorcode;
	}

	if (r < 0 && !c->st_err) {
		c->st_err = -r;
		c->st_errmsg = e;
	}
}


static void mrp_close(void *b)
{
	struct mrp_remote *c = b;

	if (!c)
		return;
	atv_mrp_close(c->mrp);
	atv_mrp_state_free(c->st);
	free(c->name);
	free(c);
}

static int start(struct mrp_remote *c, const struct atv_backend_opts *o, struct atv_err *err);

/* The backend's state before any connection. */
static int remote_new(const struct atv_backend_opts *o, struct mrp_remote **out,
		      struct atv_err *err)
{
	struct mrp_remote *c = calloc(1, sizeof *c);

	*out = c;
	if (!c || !(c->name = strdup(o->device)) || !(c->st = atv_mrp_state_new()))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	c->timeout_ms = o->timeout_ms;
	c->changed = o->changed;
	c->ctx = o->ctx;
	return 0;
}

static int mrp_open(const struct atv_device *d, const struct atv_service *svc,
		    const struct atv_backend_opts *o, void **out, struct atv_err *err)
{
	struct atv_hap_creds creds;
	struct atv_mrp_opts mo = {0};
	char client_id[ATV_HAP_ID_MAX + 1];
	struct mrp_remote *c;
	struct atv_err e = {0};
	int r;

	memset(&creds, 0, sizeof creds);
	*out = NULL;
	if (!atv_service_paired(svc))
		return atv_err_set(err, ATV_E_AUTH,
				   "no mrp credentials for %s: pair with atv-pair -p mrp", o->device);
	if (atv_hap_creds_parse(svc->credentials, &creds, &e) < 0) {
		atv_hap_creds_wipe(&creds);
		return atv_err_set(
		    err, ATV_E_AUTH,
		    "unusable mrp credentials for %s (%s): pair again with atv-pair -p mrp",
		    o->device, e.msg);
	}
	if (svc->port <= 0) {
		atv_hap_creds_wipe(&creds);
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no mrp port (asleep?)",
				   o->device);
	}
	if ((r = remote_new(o, &c, err)) < 0)
		goto out;
	/* Our DEVICE_INFO carries the pairing id the device knows us by. */
	memcpy(client_id, creds.client_id, creds.client_id_len);
	client_id[creds.client_id_len] = 0;
	mo.timeout_ms = o->timeout_ms;
	mo.device = o->device;
	mo.pairing_id = client_id;
	mo.push = on_push;
	mo.push_ctx = c;
	r = atv_mrp_connect(d->address, svc->port, &mo, &c->mrp, err);
	if (r < 0)
		goto out;
	on_push(c, atv_mrp_device_info(c->mrp)); /* the power state */
	r = atv_mrp_verify(c->mrp, &creds, err);
	if (r == 0)
		r = start(c, o, err);
out:
	atv_hap_creds_wipe(&creds);
	atv_crypto_wipe(client_id, sizeof client_id);
	if (r < 0) {
		mrp_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- MRP over the AirPlay 2 tunnel (tvOS 15+, HomePods) ---- */

/* The TXT value of key in s (keys in any case), or NULL. */
static const char *txt(const struct atv_service *s, const char *key)
{
	const char *k;
	json_t *v;

	json_object_foreach (s->properties, k, v)
		if (strcasecmp(k, key) == 0 && json_is_string(v))
			return json_string_value(v);
	return NULL;
}

static bool homepod(const struct atv_service *s)
{
	const char *model = txt(s, "model");

	return model && strncmp(model, "AudioAccessory", 14) == 0;
}

/* pyatv's rule (protocols/airplay/utils.py is_remote_control_supported):
 * an Apple TV on tvOS 13 or later with HAP credentials, or a HomePod
 * (AudioAccessory) with transient pairing. */
int atv_mrp_tunnel_usable(const struct atv_device *d, const struct atv_service **ap,
			  struct atv_err *err)
{
	const struct atv_service *s = atv_device_service(d, "airplay");
	const char *model, *osvers;
	struct atv_airplay_info info;
	struct atv_err e = {0};

	*ap = NULL;
	if (!s || atv_airplay_info_parse(s->properties, &info, &e) < 0 || info.version < 2 ||
	    !info.hap)
		return 0;
	if (homepod(s)) {
		*ap = s;
		return 1;
	}
	model = txt(s, "model");
	osvers = txt(s, "osvers");
	if (!model || strncmp(model, "AppleTV", 7) != 0 || !osvers || strtol(osvers, NULL, 10) < 13)
		return 0;
	if (!atv_service_paired(s))
		return atv_err_set(err, ATV_E_AUTH,
				   "no airplay credentials for %s (mrp runs over airplay on tvOS "
				   "15+): pair with atv-pair -p airplay",
				   atv_device_label(d));
	*ap = s;
	return 1;
}

static int tunnel_open(const struct atv_device *d, const struct atv_service *svc,
		       const struct atv_backend_opts *o, void **out, struct atv_err *err)
{
	struct atv_airplay_info info;
	struct atv_ap_tunnel_opts to = {0};
	struct atv_ap_tunnel *t = NULL;
	struct atv_mrp_opts mo = {0};
	struct atv_hap_creds creds;
	char client_id[ATV_HAP_ID_MAX + 1] = "";
	const char *cred = atv_service_paired(svc) ? svc->credentials : NULL;
	struct mrp_remote *c;
	struct atv_err e = {0};
	int r;

	*out = NULL;
	memset(&creds, 0, sizeof creds);
	if (atv_airplay_info_parse(svc->properties, &info, &e) < 0)
		return atv_err_set(err, ATV_E_INPUT, "airplay service of %s: %s", o->device, e.msg);
	/* HomePods only take transient pairing (pyatv) */
	if (homepod(svc))
		cred = NULL;
	if (cred && atv_hap_creds_parse(cred, &creds, &e) < 0) {
		atv_hap_creds_wipe(&creds);
		return atv_err_set(
		    err, ATV_E_AUTH,
		    "unusable airplay credentials for %s (%s): pair again with atv-pair -p airplay",
		    o->device, e.msg);
	}
	if (cred) {
		memcpy(client_id, creds.client_id, creds.client_id_len);
		client_id[creds.client_id_len] = 0;
	}
	atv_hap_creds_wipe(&creds);
	if ((r = remote_new(o, &c, err)) < 0)
		goto out;
	to.timeout_ms = o->timeout_ms;
	to.device = o->device;
	r = atv_ap_tunnel_open(d->address, svc->port, &info, cred, &to, &t, err);
	if (r < 0)
		goto out;
	mo.timeout_ms = o->timeout_ms;
	mo.device = o->device;
	mo.pairing_id = client_id[0] ? client_id : NULL;
	mo.push = on_push;
	mo.push_ctx = c;
	r = atv_mrp_open_transport(&atv_ap_tunnel_transport, t, &mo, &c->mrp, err);
	if (r < 0)
		goto out;
	on_push(c, atv_mrp_device_info(c->mrp));
	r = start(c, o, err);
out:
	atv_crypto_wipe(client_id, sizeof client_id);
	if (r < 0) {
		mrp_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* SET_CONNECTION_STATE, CLIENT_UPDATES_CONFIG for what o asks, and the
 * state that pushes in for it. */
static int start(struct mrp_remote *c, const struct atv_backend_opts *o, struct atv_err *err)
{
	int r;

	if (o->updates) {
		c->updates = ATV_MRP_UPDATES_NOW_PLAYING | ATV_MRP_UPDATES_VOLUME |
			     ATV_MRP_UPDATES_OUTPUT_DEVICES;
		if (o->artwork)
			c->updates |= ATV_MRP_UPDATES_ARTWORK;
	}
	r = atv_mrp_start(c->mrp, c->updates, err);
	/* The state pushed for CLIENT_UPDATES_CONFIG is in once the device has
	 * answered a message sent after it: a snapshot starts complete. */
	if (r == 0 && c->updates)
		r = atv_mrp_sync(c->mrp, err);
	if (r == 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r;
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
static int command_result(const struct mrp_remote *c, const char *item,
			  const Mrp__ProtocolMessage *m, struct atv_err *err)
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

static int send_command(struct mrp_remote *c, const char *item, Mrp__Command cmd,
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

/* Send the message built into b (built: the builder's result), then,
 * when sync, a round trip: "done" means the device has handled it
 * (messages without a reply of their own).  Releases b. */
static int send_synced(struct mrp_remote *c, struct atv_buf *b, int built, bool sync,
		       struct atv_err *err)
{
	int r = built < 0 ? built : atv_mrp_send(c->mrp, b, err);

	if (r == 0 && sync)
		r = atv_mrp_sync(c->mrp, err);
	atv_buf_release(b);
	return r;
}

static int hid(struct mrp_remote *c, enum atv_cmd_id id, bool down, struct atv_err *err)
{
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_hid_event(&b, NULL, mrp_cmds[id].page, mrp_cmds[id].usage, down, err);
	return send_synced(c, &b, r, false, err);
}

static int press(struct mrp_remote *c, enum atv_cmd_id id, enum atv_key_action a,
		 struct atv_err *err)
{
	int r = hid(c, id, true, err);

	if (r == 0 && a == ATV_KEY_HOLD)
		r = atv_mrp_pump(c->mrp, HOLD_MS, err);
	if (r == 0)
		r = hid(c, id, false, err);
	if (r == 0 && a == ATV_KEY_DOUBLE_TAP)
		r = hid(c, id, true, err);
	if (r == 0 && a == ATV_KEY_DOUBLE_TAP)
		r = hid(c, id, false, err);
	/* HID events have no reply: a round trip tells they were handled. */
	if (r == 0)
		r = atv_mrp_sync(c->mrp, err);
	return r;
}

static int set_volume(struct mrp_remote *c, double pct, struct atv_err *err)
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
	return send_synced(c, &b, r, true, err);
}

/* Now-playing pushes are needed for the state: ask for them if the
 * connection was opened without, and wait until they are in. */
static int want_updates(struct mrp_remote *c, struct atv_err *err)
{
	struct atv_buf b;
	unsigned want = ATV_MRP_UPDATES_NOW_PLAYING | ATV_MRP_UPDATES_VOLUME |
			ATV_MRP_UPDATES_OUTPUT_DEVICES;
	int r;

	if ((c->updates & want) == want)
		return 0;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_client_updates_config(&b, NULL, c->updates | want, err);
	r = send_synced(c, &b, r, true, err);
	if (r == 0)
		c->updates |= want;
	return r;
}

static int wake(struct mrp_remote *c, struct atv_err *err)
{
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_empty(&b, NULL, MRP__PROTOCOL_MESSAGE__TYPE__WAKE_DEVICE_MESSAGE, err);
	return send_synced(c, &b, r, true, err);
}

static int playing(struct mrp_remote *c, json_t **result, struct atv_err *err)
{
	json_t *p;
	int r = want_updates(c, err);

	if (r < 0)
		return r;
	p = atv_mrp_state_playing(c->st, atv_wall_clock());
	if (!p || !(*result = json_object()) || json_object_set_new(*result, "playing", p)) {
		json_decref(*result);
		*result = NULL;
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- the speaker group ---- */

/* The output devices as a result: {"output_devices":[...]}. */
static int outputs_result(struct mrp_remote *c, json_t **result, struct atv_err *err)
{
	json_t *list = atv_mrp_state_outputs(c->st);

	if (!list || !(*result = json_pack("{s:o}", "output_devices", list)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static int output_devices(struct mrp_remote *c, json_t **result, struct atv_err *err)
{
	/* the levels come with the volume updates */
	int r = want_updates(c, err);

	return r < 0 ? r : outputs_result(c, result, err);
}

/* What a change of the group asked for, to tell when the list shows it. */
struct modify_check {
	const struct mrp_remote *c;
	const struct atv_cmd *k;
};

static bool asked(const struct atv_cmd *k, const char *id)
{
	for (size_t i = 0; i < k->n_ids; i++)
		if (strcmp(k->ids[i], id) == 0)
			return true;
	return false;
}

static bool listed(const struct mrp_remote *c, const char *id)
{
	const char *o;

	for (size_t i = 0; (o = atv_mrp_state_output_id(c->st, i, NULL)); i++)
		if (strcmp(o, id) == 0)
			return true;
	return false;
}

/* add: every identifier listed; remove: none; set: every one, and no
 * other but the device itself (which leads the group whatever it plays). */
static bool modify_done(void *ctx)
{
	const struct modify_check *m = ctx;
	const struct atv_cmd *k = m->k;
	const char *o;
	bool self;

	for (size_t i = 0; i < k->n_ids; i++)
		if (listed(m->c, k->ids[i]) != (k->id != ATV_CMD_REMOVE_OUTPUT_DEVICES))
			return false;
	if (k->id == ATV_CMD_SET_OUTPUT_DEVICES)
		for (size_t i = 0; (o = atv_mrp_state_output_id(m->c->st, i, &self)); i++)
			if (!self && !asked(k, o))
				return false;
	return true;
}

/* MODIFY_OUTPUT_CONTEXT_REQUEST, then wait until the list the device
 * pushes (DEVICE_INFO_UPDATE) shows the change, at most the timeout (pyatv
 * waits 5 s).  The result is the new list. */
static int modify_outputs(struct mrp_remote *c, const struct atv_cmd *k, json_t **result,
			  struct atv_err *err)
{
	enum atv_mrp_outputs_op op = k->id == ATV_CMD_ADD_OUTPUT_DEVICES	? ATV_MRP_OUTPUTS_ADD
				     : k->id == ATV_CMD_REMOVE_OUTPUT_DEVICES ? ATV_MRP_OUTPUTS_REMOVE
									      : ATV_MRP_OUTPUTS_SET;
	struct modify_check chk = {c, k};
	struct atv_mrp_ids ids;
	struct atv_buf b;
	char why[64];
	int r = want_updates(c, err);

	if (r < 0)
		return r;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_modify_outputs(&b, &ids, op, k->ids, k->n_ids, err);
	if (r == 0) {
		memcpy(c->modify_id, ids.identifier, sizeof c->modify_id);
		c->modify_err = 0;
	}
	r = send_synced(c, &b, r, true, err);
	if (r == 0 && c->modify_err) {
		enum_text(&mrp__error_code__descriptor, c->modify_err, "ERROR_", why, sizeof why);
		r = atv_err_set(err, ATV_E_REFUSED, "%s refused %s: %s", c->name, k->item, why);
	} else if (r == 0) {
		r = atv_mrp_pump_until(c->mrp, c->timeout_ms, modify_done, &chk, err);
		if (r == 0)
			r = atv_err_set(err, ATV_E_REFUSED,
					"%s did not change its output devices as %s asked within %.1f s",
					c->name, k->item, c->timeout_ms / 1000.0);
	}
	c->modify_id[0] = 0;
	if (r > 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r > 0 ? outputs_result(c, result, err) : r;
}

static bool mrp_serves(enum atv_cmd_id id)
{
	return id != ATV_CMD_PLAY_URL && id < ATV_CMD_POWER_STATE; /* the rest are Companion's */
}

static int run(struct mrp_remote *c, const struct atv_cmd *k, json_t **result,
	       struct atv_err *err)
{
	struct atv_mrp_cmd_opts opts = {0};
	Mrp__Command cmd = mrp_cmds[k->id].cmd;
	int r;

	switch (k->id) {
	case ATV_CMD_HOME_HOLD: return press(c, k->id, ATV_KEY_HOLD, err);
	case ATV_CMD_SKIP_FORWARD:
	case ATV_CMD_SKIP_BACKWARD:
		opts.has_skip_interval = true;
		opts.skip_interval = (float)(k->number > 0 ? k->number : ATV_SKIP_SECONDS);
		return send_command(c, k->item, cmd, &opts, err);
	case ATV_CMD_SET_POSITION:
		opts.has_position = true;
		opts.position = k->number;
		return send_command(c, k->item, cmd, &opts, err);
	case ATV_CMD_SET_SHUFFLE:
		opts.has_shuffle = true;
		opts.shuffle = shuffle_modes[k->mode];
		return send_command(c, k->item, cmd, &opts, err);
	case ATV_CMD_SET_REPEAT:
		opts.has_repeat = true;
		opts.repeat = repeat_modes[k->mode];
		return send_command(c, k->item, cmd, &opts, err);
	case ATV_CMD_SET_VOLUME: return set_volume(c, k->number, err);
	case ATV_CMD_TURN_ON: return wake(c, err);
	case ATV_CMD_TURN_OFF:
		/* pyatv: hold home, then select "Sleep" in the menu that opens. */
		r = press(c, ATV_CMD_HOME, ATV_KEY_HOLD, err);
		if (r == 0)
			r = atv_mrp_pump(c->mrp, BETWEEN_COMMANDS_MS, err);
		if (r == 0)
			r = press(c, ATV_CMD_SELECT, ATV_KEY_TAP, err);
		return r;
	case ATV_CMD_PLAYING: return playing(c, result, err);
	case ATV_CMD_OUTPUT_DEVICES: return output_devices(c, result, err);
	case ATV_CMD_ADD_OUTPUT_DEVICES:
	case ATV_CMD_REMOVE_OUTPUT_DEVICES:
	case ATV_CMD_SET_OUTPUT_DEVICES: return modify_outputs(c, k, result, err);
	default: break;
	}
	if (mrp_cmds[k->id].page)
		return press(c, k->id, k->action, err);
	if (cmd)
		return send_command(c, k->name, cmd, NULL, err);
	return atv_err_set(err, ATV_E_UNSUPPORTED, "%s over mrp", k->name);
}

static int mrp_command(void *b, const struct atv_cmd *k, json_t **result, struct atv_err *err)
{
	struct mrp_remote *c = b;
	int r = run(c, k, result, err);

	if (r == 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r;
}

/* ---- events ---- */

static int mrp_fd(const void *b)
{
	return atv_mrp_fd(((const struct mrp_remote *)b)->mrp);
}

static int mrp_timeout_ms(const void *b)
{
	return atv_mrp_timeout_ms(((const struct mrp_remote *)b)->mrp);
}

static int mrp_step(void *b, struct atv_err *err)
{
	struct mrp_remote *c = b;
	int r = atv_mrp_process(c->mrp, err);

	/* What came in before a drop is still reported. */
	if (c->changed)
		c->changed(c->ctx);
	if (r == 0 && c->st_err)
		r = atv_err_set(err, c->st_err, "%s", c->st_errmsg.msg);
	return r;
}

static int mrp_watch(void *b, struct atv_err *err)
{
	return want_updates(b, err);
}

static int mrp_now(void *b, struct atv_now *now, struct atv_err *err)
{
	struct mrp_remote *c = b;

	now->playing = atv_mrp_state_playing(c->st, atv_wall_clock());
	now->rate = atv_mrp_state_rate(c->st);
	now->power = atv_mrp_state_power(c->st);
	now->volume = atv_mrp_state_volume(c->st);
	now->output_devices = atv_mrp_state_outputs(c->st);
	return now->playing && now->output_devices ? 0
						   : atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

static int mrp_supports(void *b, enum atv_cmd_id id)
{
	struct mrp_remote *c = b;

	/* keys are HID usages, always there; the rest as the player lists */
	if (!mrp_cmds[id].cmd)
		return 1;
	return atv_mrp_state_supports(c->st, mrp_cmds[id].cmd);
}

/* Ask the device for the artwork of the item shown (PLAYBACK_QUEUE_REQUEST
 * for the queue location, answered by a SET_STATE with the same identifier
 * whose queue item carries artworkData). */
static int mrp_artwork(void *b, struct atv_buf *png, struct atv_err *err)
{
	struct mrp_remote *c = b;
	int location = atv_mrp_state_location(c->st);
	const Mrp__PlaybackQueue *q;
	const Mrp__ContentItem *it = NULL;
	Mrp__ProtocolMessage *reply = NULL;
	struct atv_buf req;
	struct atv_mrp_ids ids;
	int r;

	if (location < 0)
		return 0;
	atv_buf_init(&req, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_playback_queue_request(&req, &ids, location, ARTWORK_SIZE, -1, err);
	if (r == 0)
		r = atv_mrp_request(c->mrp, &req, ids.identifier, &reply, err);
	atv_buf_release(&req);
	if (r < 0)
		return r;
	q = reply->setstatemessage ? reply->setstatemessage->playbackqueue : NULL;
	if (q && q->n_contentitems > 0) {
		int loc = q->has_location ? q->location : 0;

		it = loc >= 0 && (size_t)loc < q->n_contentitems ? q->contentitems[loc]
								 : q->contentitems[0];
	}
	if (it && it->has_artworkdata && it->artworkdata.len > 0)
		r = atv_buf_append(png, it->artworkdata.data, it->artworkdata.len, err);
	atv_mrp_msg_free(reply);
	return r;
}

/* ---- pairing ---- */

struct mrp_pairing {
	struct atv_mrp *mrp;
	char pairing_id[ATV_UUID_SIZE];
	char *device;
	struct atv_buf m2; /* the device's answer to M1 */
};

static void mrp_pair_free(void *pp)
{
	struct mrp_pairing *p = pp;

	if (!p)
		return;
	atv_mrp_close(p->mrp);
	atv_buf_release(&p->m2);
	free(p->device);
	atv_crypto_wipe(p, sizeof *p);
	free(p);
}

static int mrp_pair_begin(const struct atv_device *d, const struct atv_service *svc,
			  const struct atv_pair_opts *o, void **out, struct atv_err *err)
{
	struct atv_mrp_opts mo = {0};
	struct mrp_pairing *p = NULL;
	struct atv_buf m1;
	const char *name = atv_device_label(d);
	int r;

	*out = NULL;
	if (!svc->enabled)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "the mrp service of %s is disabled (tvOS 15+)", name);
	if (svc->port <= 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no mrp port (asleep?)",
				   name);
	atv_buf_init(&m1, ATV_HAP_MSG_MAX);
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(name))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_buf_init(&p->m2, ATV_HAP_MSG_MAX);
	r = atv_uuid(p->pairing_id, err);
	if (r < 0)
		goto out;
	mo.timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	mo.device = name;
	mo.pairing_id = p->pairing_id;
	mo.name = o && o->name ? o->name : "atv-tools";
	r = atv_mrp_connect(d->address, svc->port, &mo, &p->mrp, err);
	if (r < 0)
		goto out;
	/* M1 needs no PIN: {Method pair-setup, State 1}. */
	r = atv_tlv8_add_u8(&m1, ATV_TLV8_METHOD, ATV_TLV8_METHOD_PAIR_SETUP, err);
	if (r == 0)
		r = atv_tlv8_add_u8(&m1, ATV_TLV8_STATE, 1, err);
	if (r == 0)
		r = atv_mrp_pair_exchange(p->mrp, &m1, true, true, &p->m2, err);
	if (r == 0)
		r = atv_hap_setup_m2_check(p->m2.data, p->m2.len, p->device, err);
out:
	atv_buf_release(&m1);
	if (r < 0) {
		mrp_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static const char *mrp_pair_pin(const void *p)
{
	(void)p;
	return NULL; /* the device shows it */
}

static int mrp_pair_exchange(void *ctx, const struct atv_buf *msg, struct atv_buf *reply,
			     struct atv_err *err)
{
	return atv_mrp_pair_exchange(ctx, msg, false, true, reply, err);
}

static int mrp_pair_finish(void *pp, const char *pin, char **credentials, struct atv_err *err)
{
	struct mrp_pairing *p = pp;

	return atv_hap_setup_finish(pin, p->pairing_id, NULL, &p->m2, mrp_pair_exchange, p->mrp,
				    p->device, credentials, err);
}

/* Everything but open: the session underneath is the same either way. */
#define MRP_BACKEND_OPS                                                                            \
	.name = "mrp", .close = mrp_close, .serves = mrp_serves, .command = mrp_command,           \
	.fd = mrp_fd, .timeout_ms = mrp_timeout_ms, .step = mrp_step, .watch = mrp_watch,          \
	.now = mrp_now, .artwork = mrp_artwork, .supports = mrp_supports

const struct atv_backend atv_mrp_backend = {MRP_BACKEND_OPS, .open = mrp_open};

/* MRP over the AirPlay 2 tunnel, opened on the _airplay._tcp service. */
const struct atv_backend atv_mrp_tunnel_backend = {MRP_BACKEND_OPS, .open = tunnel_open};

const struct atv_pairer atv_mrp_pairer = {
    .name = "mrp",
    .begin = mrp_pair_begin,
    .pin = mrp_pair_pin,
    .finish = mrp_pair_finish,
    .free = mrp_pair_free,
};
