/* companion-server.c - the device side of the Companion protocol, serving
 * the fake Apple TV's player (player.c) as a peer of MRP, DMAP and AirPlay.
 *
 * Companion (notes tunnel-companion.md §2, protocols.md 4.4 and 4.7): on a
 * TCP connection to the _companion-link._tcp port every message is a frame
 * (type byte, 3-byte big-endian length) holding an OPACK dict.  Pairing
 * rides in PS_Start/PS_Next and PV_Start/PV_Next frames as {_pd: TLV8}:
 * HAP pair-setup with the device's PIN, plus the Companion deltas (M2 has
 * TLV 0x1B = 01 and _pwTy 1; M6's sealed identity has a Name item holding
 * OPACK {name, model}), then pair-verify.  After verify M4 every non-empty
 * frame is ChaCha20-Poly1305 sealed (12-byte little-endian counter nonce,
 * the header as AAD, keys ServerEncrypt-main / ClientEncrypt-main).
 *
 * Messages are {_i name, _t 1 event | 2 request | 3 response, _x id, _c
 * content}; each request gets one response echoing _i and _x, with _c, or
 * _em/_ec/_ed for an error ("No request handler", 58822, RPErrorDomain)
 * like a device.  The state it serves: power (the player's, pushed as
 * SystemStatus and TVSystemStatus {state} to connections that registered
 * _interest), the attention state, an app list and the current app (the
 * player's app/app_id), user accounts, a text field (RTI sessions with
 * NSKeyedArchiver payloads), keys (the player's key log) and media control.
 *
 * Every length from the peer is bounded (frame cap, OPACK caps, bplist
 * nodes, text length); a peer that breaks the protocol is disconnected.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <plist/plist.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bplist.h"
#include "bytes.h"
#include "companion_frame.h"
#include "crypto.h"
#include "fake.h"
#include "hap.h"
#include "log.h"
#include "opack.h"
#include "tlv8.h"

#define COMPANION_SERVICE  "_companion-link._tcp"
#define MAX_CONNS	   32
#define IN_FRAME_MAX	   ((size_t)256 << 10) /* controllers send small messages */
#define OUT_MAX		   ((size_t)4 << 20)   /* queued for a peer that does not read */
#define READ_ROUNDS	   8
#define MAX_INTERESTS	   16	/* events one connection may register */
#define MAX_NAME	   128	/* bytes of an event name, client id, app name kept */
#define MAX_TEXT	   4096 /* bytes in the text field */
#define MAX_ENTRIES	   64	/* apps, accounts */
#define RTI_NODES_MAX	   1000 /* an RTI archive has about 10 objects */
#define TLV_COMPANION_FLAG 0x1B /* in pair-setup M2, value 01 (pyatv's fake, iOS) */
#define ERR_NO_HANDLER	   58822
#define ERR_DOMAIN	   "RPErrorDomain"
#define MCF_VOLUME	   0x100 /* _iMC _mcF: volume can be read */

/* _hidC codes (pyatv HidCommand; 19 is what pyatv's control_center sends) */
static const char *const hid_names[] = {
    NULL,	  "up",		"down",		"left",	 "right",	"menu",		  "select",
    "home",	  "volume_up",	"volume_down",	"siri",	 "screensaver", "sleep",	  "wake",
    "play_pause", "channel_up", "channel_down", "guide", "page_up",	"control_center",
};
#define N_HID		((int)(sizeof hid_names / sizeof hid_names[0]))
#define HID_SCREENSAVER 11
#define HID_SLEEP	12
#define HID_WAKE	13

/* FetchAttentionState / SystemStatus values (pyatv SystemStatus) */
enum { ATT_ASLEEP = 1, ATT_SCREENSAVER = 2, ATT_AWAKE = 3, ATT_IDLE = 4 };
static const char *const attention_names[] = {NULL, "asleep", "screensaver", "awake", "idle"};

enum hostile {
	H_NONE,
	H_HUGE_FRAME,
	H_TRUNCATED,
	H_BAD_TAG,
	H_GARBAGE_OPACK,
	H_DEEP_OPACK,
	H_SILENT,
	H_WRONG_XID,
	H_N
};
static const char *const hostile_names[] = {"none",    "huge-frame",	"truncated",
					    "bad-tag", "garbage-opack", "deep-opack",
					    "silent",  "wrong-xid",	NULL};
#define HOSTILE_LIST                                                                               \
	"none, huge-frame, truncated, bad-tag, garbage-opack, deep-opack, silent, wrong-xid"

enum exchange { X_NONE, X_SETUP, X_VERIFY };

struct cconn {
	struct fake_companion *cp;
	struct cconn *next;
	int fd;
	bool dead;
	char name[INET_ADDRSTRLEN + 8];
	struct atv_companion_frame_dec dec;
	struct atv_buf out;
	enum exchange exch;
	struct atv_hap_setup *setup;
	struct atv_hap_verify *verify;
	bool encrypted;
	struct atv_hap_cipher cipher;
	char peer[2 * ATV_HAP_ID_MAX + 1]; /* the verified controller */
	char client_i[MAX_NAME];	   /* _systemInfo's _i ("" before) */
	char client_name[MAX_NAME];	   /* _systemInfo's name */
	uint32_t local_sid, remote_sid;	   /* _sessionStart: ours, the client's */
	bool session, tvrc, touch, text_session;
	char *interests[MAX_INTERESTS];
	size_t n_interests;
	long long down_ms[N_HID]; /* key held down since, 0: up */
	int64_t event_xid;
};

struct fake_companion {
	struct fake_loop *loop;
	struct fake_device *dev;
	struct fake_service *svc; /* NULL: no Companion service */
	struct fake_player *pl;	  /* borrowed */
	char *id;		  /* our pairing identifier: TXT rpMRtID */
	char *model;
	uint8_t seed[ATV_ED25519_SEED_LEN];
	struct in_addr addr;
	int lfd, port;
	struct cconn *conns;
	int reap_timer;
	char pin[FAKE_MAX_PIN + 1];
	struct fake_pairings pairings; /* "protocol":"companion" */
	enum hostile hostile;
	json_t *apps;	  /* {bundle id: name} */
	json_t *accounts; /* {id: name} */
	char *account;	  /* the current account id */
	char *url;	  /* the last URL launched */
	json_t *url_apps; /* {scheme: bundle id}: which app a URL opens */
	bool keyboard;	  /* a text field has focus */
	char text[MAX_TEXT + 1];
	uint8_t ti_uuid[16]; /* the text session's UUID, new at each focus */
	int attention;	     /* while on: awake, screensaver or idle */
	bool attention_needs_tvrc;
	bool evict_shared_id;
	json_t *requests;    /* the last LOG_MAX "_i" received, "event:" for events */
	json_t *touch;	     /* the last _hidT */
	json_t *system_info; /* the last _systemInfo content, as text */
	uint32_t next_sid;
	struct atv_buf pt, ct; /* scratch */
};

/* ---- connections ---- */

static void exch_free(struct cconn *c)
{
	atv_hap_setup_free(c->setup);
	atv_hap_verify_free(c->verify);
	c->setup = NULL;
	c->verify = NULL;
	c->exch = X_NONE;
}

static void conn_free(struct cconn *c)
{
	exch_free(c);
	atv_hap_cipher_wipe(&c->cipher);
	atv_companion_frame_dec_release(&c->dec);
	atv_buf_release(&c->out);
	for (size_t i = 0; i < c->n_interests; i++)
		free(c->interests[i]);
	free(c);
}

static void reap(struct fake_loop *loop, void *ctx)
{
	struct fake_companion *cp = ctx;

	(void)loop;
	cp->reap_timer = 0;
	for (struct cconn **pp = &cp->conns; *pp;) {
		struct cconn *c = *pp;

		if (c->dead) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* Close now, free later (reap): callers walking the list go on safely. */
static void conn_kill(struct cconn *c)
{
	struct fake_companion *cp = c->cp;

	if (c->dead)
		return;
	c->dead = true;
	fake_loop_remove_fd(cp->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	exch_free(c);
	atv_hap_cipher_wipe(&c->cipher);
	if (!cp->reap_timer) {
		int t = fake_loop_add_timer(cp->loop, 0, reap, cp, NULL);

		cp->reap_timer = t > 0 ? t : 0;
	}
}

static void conn_fail(struct cconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_fail(struct cconn *c, const char *fmt, ...)
{
	char msg[ATV_ERR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	atv_info("companion %s: disconnecting: %s", c->name, msg);
	conn_kill(c);
}

static void conn_flush(struct cconn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(c, "write: %s", strerror(errno));
			return;
		}
		atv_buf_consume(&c->out, (size_t)n);
	}
}

static void want_write(struct cconn *c)
{
	if (!c->dead && c->out.len)
		fake_loop_set_events(c->cp->loop, c->fd, POLLIN | POLLOUT);
}

/* Queue raw payload bytes as one frame (sealed once verified). */
static int send_raw(struct cconn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct atv_err err = {0, ""};

	if (c->dead)
		return -ATV_E_IO;
	if (atv_companion_frame_encode(&c->out, type, p, len, c->encrypted ? &c->cipher : NULL,
				       &err) < 0) {
		conn_fail(c, "unable to send: %s", err.msg);
		return -ATV_E_IO;
	}
	want_write(c);
	return 0;
}

/* Encode v (consumed) and queue it as a frame of type. */
static int send_opack(struct cconn *c, uint8_t type, struct atv_opack *v)
{
	struct fake_companion *cp = c->cp;
	struct atv_err err = {0, ""};
	int r;

	if (!v) {
		conn_fail(c, "out of memory");
		return -ATV_E_NOMEM;
	}
	atv_buf_reset(&cp->pt);
	r = atv_opack_encode(v, &cp->pt, &err);
	atv_opack_free(v);
	if (r < 0) {
		conn_fail(c, "unable to encode: %s", err.msg);
		return r;
	}
	return send_raw(c, type, cp->pt.data, cp->pt.len);
}

/* {_i, _t, _x, _c (consumed; NULL: none)} */
static struct atv_opack *message(const char *name, int t, int64_t xid, struct atv_opack *content)
{
	struct atv_opack *m = atv_opack_dict();
	int r = atv_opack_dict_set(m, "_i", atv_opack_str(name));

	if (r == 0)
		r = atv_opack_dict_set(m, "_t", atv_opack_int(t));
	if (r == 0)
		r = atv_opack_dict_set(m, "_x", atv_opack_int(xid));
	if (r == 0 && content)
		r = atv_opack_dict_set(m, "_c", content);
	else
		atv_opack_free(content);
	if (r < 0) {
		atv_opack_free(m);
		return NULL;
	}
	return m;
}

static void send_event(struct cconn *c, const char *name, struct atv_opack *content)
{
	atv_debug("companion %s > event %s", c->name, name);
	send_opack(c, ATV_COMPANION_E_OPACK, message(name, 1, c->event_xid++, content));
}

/* What a hostile mode sends instead of a reply: true when it did. */
static bool send_hostile_reply(struct cconn *c)
{
	struct fake_companion *cp = c->cp;
	static const uint8_t garbage[] = {0x00, 0xff, 0x6e, 0x6f, 0x74, 0x20, 0x6f, 0x70};
	uint8_t hdr[4 + 10] = {ATV_COMPANION_E_OPACK, 0, 0, 100};
	uint8_t *deep;
	size_t depth = 1000;

	switch (cp->hostile) {
	case H_HUGE_FRAME: /* 16 MiB - 1 announced, nothing sent */
		hdr[1] = hdr[2] = hdr[3] = 0xff;
		atv_buf_append(&c->out, hdr, 4, NULL);
		break;
	case H_TRUNCATED: /* 100 bytes announced, 10 sent, the connection kept */
		atv_buf_append(&c->out, hdr, sizeof hdr, NULL);
		break;
	case H_BAD_TAG:
		if (send_raw(c, ATV_COMPANION_E_OPACK, garbage, sizeof garbage) == 0)
			c->out.data[c->out.len - 1] ^= 0x5a;
		break;
	case H_GARBAGE_OPACK: send_raw(c, ATV_COMPANION_E_OPACK, garbage, sizeof garbage); break;
	case H_DEEP_OPACK: /* 1000 nested one-item arrays */
		deep = malloc(depth + 1);
		if (!deep)
			return true;
		memset(deep, 0xd1, depth);
		deep[depth] = 0x09;
		send_raw(c, ATV_COMPANION_E_OPACK, deep, depth + 1);
		free(deep);
		break;
	case H_SILENT: break;
	default: return false;
	}
	atv_info("companion %s: hostile %s instead of a reply", c->name,
		 hostile_names[cp->hostile]);
	want_write(c);
	return true;
}

/* The response to request req: content (consumed; NULL: {}). */
static void reply(struct cconn *c, const struct atv_opack *req, struct atv_opack *content)
{
	const char *name = atv_opack_get_str(req, "_i");
	int64_t xid = 0;

	atv_opack_get_int(req, "_x", &xid);
	if (send_hostile_reply(c)) {
		atv_opack_free(content);
		return;
	}
	if (c->cp->hostile == H_WRONG_XID)
		xid++;
	if (!content)
		content = atv_opack_dict();
	atv_debug("companion %s > reply %s", c->name, name);
	send_opack(c, ATV_COMPANION_E_OPACK, message(name, 3, xid, content));
}

/* An error response, as a device sends it. */
static void reply_error(struct cconn *c, const struct atv_opack *req, int64_t code, const char *msg)
{
	const char *name = atv_opack_get_str(req, "_i");
	struct atv_opack *m;
	int64_t xid = 0;

	atv_opack_get_int(req, "_x", &xid);
	if (send_hostile_reply(c))
		return;
	if (c->cp->hostile == H_WRONG_XID)
		xid++;
	atv_info("companion %s: %s: error %s", c->name, name, msg);
	m = atv_opack_dict();
	if (atv_opack_dict_set(m, "_i", atv_opack_str(name)) < 0 ||
	    atv_opack_dict_set(m, "_t", atv_opack_int(3)) < 0 ||
	    atv_opack_dict_set(m, "_x", atv_opack_int(xid)) < 0 ||
	    atv_opack_dict_set(m, "_ec", atv_opack_int(code)) < 0 ||
	    atv_opack_dict_set(m, "_ed", atv_opack_str(ERR_DOMAIN)) < 0 ||
	    atv_opack_dict_set(m, "_em", atv_opack_str(msg)) < 0) {
		atv_opack_free(m);
		m = NULL;
	}
	send_opack(c, ATV_COMPANION_E_OPACK, m);
}

/* ---- state pushed to the clients ---- */

static bool interested(const struct cconn *c, const char *event)
{
	for (size_t i = 0; i < c->n_interests; i++)
		if (strcmp(c->interests[i], event) == 0)
			return true;
	return false;
}

static int attention(const struct fake_companion *cp)
{
	return cp->pl->power ? cp->attention : ATT_ASLEEP;
}

static struct atv_opack *int_dict(const char *key, int64_t v)
{
	struct atv_opack *d = atv_opack_dict();

	if (atv_opack_dict_set(d, key, atv_opack_int(v)) < 0) {
		atv_opack_free(d);
		return NULL;
	}
	return d;
}

/* SystemStatus and TVSystemStatus {state} to every connection that
 * registered for them (pyatv listens for either). */
static void push_status(struct fake_companion *cp)
{
	for (struct cconn *c = cp->conns; c; c = c->next) {
		if (c->dead || !c->encrypted)
			continue;
		if (interested(c, "SystemStatus"))
			send_event(c, "SystemStatus", int_dict("state", attention(cp)));
		if (interested(c, "TVSystemStatus"))
			send_event(c, "TVSystemStatus", int_dict("state", attention(cp)));
	}
}

static void push_media_control(struct fake_companion *cp)
{
	for (struct cconn *c = cp->conns; c; c = c->next)
		if (!c->dead && c->encrypted && interested(c, "_iMC"))
			send_event(c, "_iMC", int_dict("_mcF", MCF_VOLUME));
}

static void on_player_change(void *ctx, unsigned what)
{
	struct fake_companion *cp = ctx;

	if (what & FAKE_PUSH_POWER)
		push_status(cp);
	if (what & FAKE_PUSH_VOLUME)
		push_media_control(cp);
}

/* ---- RTI text sessions (NSKeyedArchiver payloads, notes §2.6) ---- */

static plist_t uid(uint64_t v)
{
	return plist_new_uid(v);
}

/* The _tiD of a focused text field: $top {sessionUUID, documentState} ->
 * {docSt -> {contextBeforeInput -> text}}, as a binary plist. */
static struct atv_opack *rti_document(const struct fake_companion *cp)
{
	plist_t root = plist_new_dict(), top = plist_new_dict(), objs = plist_new_array();
	plist_t doc = plist_new_dict(), st = plist_new_dict();
	char *bin = NULL;
	uint32_t len = 0;
	struct atv_opack *v;

	plist_dict_set_item(root, "$version", plist_new_uint(100000));
	plist_dict_set_item(root, "$archiver", plist_new_string("NSKeyedArchiver"));
	plist_dict_set_item(top, "sessionUUID", uid(1));
	plist_dict_set_item(top, "documentState", uid(2));
	plist_dict_set_item(root, "$top", top);
	plist_array_append_item(objs, plist_new_string("$null"));
	plist_array_append_item(objs, plist_new_data((const char *)cp->ti_uuid, 16));
	plist_dict_set_item(doc, "docSt", uid(3));
	plist_array_append_item(objs, doc);
	plist_dict_set_item(st, "contextBeforeInput", uid(4));
	plist_array_append_item(objs, st);
	plist_array_append_item(objs, plist_new_string(cp->text));
	plist_dict_set_item(root, "$objects", objs);
	plist_to_bin(root, &bin, &len);
	plist_free(root);
	if (!bin)
		return NULL;
	v = atv_opack_dict();
	if (atv_opack_dict_set(v, "_tiD", atv_opack_data(bin, len)) < 0) {
		atv_opack_free(v);
		v = NULL;
	}
	free(bin);
	return v;
}

/* Follow a UID of an archive to its object (or the node itself). */
static plist_t rti_deref(plist_t objs, plist_t node)
{
	uint64_t u;

	if (node && plist_get_node_type(node) == PLIST_UID) {
		plist_get_uid_val(node, &u);
		return u < plist_array_get_size(objs) ? plist_array_get_item(objs, (uint32_t)u)
						      : NULL;
	}
	return node;
}

static plist_t rti_get(plist_t objs, plist_t dict, const char *key)
{
	if (!dict || plist_get_node_type(dict) != PLIST_DICT)
		return NULL;
	return rti_deref(objs, plist_dict_get_item(dict, key));
}

static bool rti_string(plist_t node, char *out, size_t size)
{
	char *s = NULL;

	if (!node || plist_get_node_type(node) != PLIST_STRING)
		return false;
	plist_get_string_val(node, &s);
	if (!s)
		return false;
	snprintf(out, size, "%s", s);
	free(s);
	return true;
}

static void text_append(struct fake_companion *cp, const char *s)
{
	size_t n = strlen(cp->text);

	snprintf(cp->text + n, sizeof cp->text - n, "%s", s);
}

/* _tiC {_tiV 1, _tiD archive}: textOperations with targetSessionUUID,
 * textToAssert (replace) and keyboardOutput.insertionText (append). */
static void on_text_change(struct cconn *c, const struct atv_opack *content)
{
	struct fake_companion *cp = c->cp;
	struct atv_err err = {0, ""};
	size_t len = 0;
	const uint8_t *p = atv_opack_get_data(content, "_tiD", &len);
	plist_t root = NULL, objs, ops, uuidobj, uuid, kb;
	char *bytes = NULL, s[MAX_TEXT + 1];
	uint64_t ulen = 0;

	if (!p || atv_bplist_check(p, len, RTI_NODES_MAX, &err) < 0) {
		atv_info("companion %s: _tiC without a usable _tiD%s%s", c->name,
			 err.msg[0] ? ": " : "", err.msg);
		return;
	}
	plist_from_bin((const char *)p, (uint32_t)len, &root);
	objs = root ? plist_dict_get_item(root, "$objects") : NULL;
	if (!objs || plist_get_node_type(objs) != PLIST_ARRAY) {
		atv_info("companion %s: _tiC archive without $objects", c->name);
		goto out;
	}
	ops = rti_get(objs, plist_dict_get_item(root, "$top"), "textOperations");
	uuidobj = rti_get(objs, ops, "targetSessionUUID");
	uuid = rti_get(objs, uuidobj, "NS.uuidbytes");
	if (uuid && plist_get_node_type(uuid) == PLIST_DATA)
		plist_get_data_val(uuid, &bytes, &ulen);
	if (!cp->keyboard || !bytes || ulen != 16 || memcmp(bytes, cp->ti_uuid, 16) != 0) {
		atv_info("companion %s: _tiC for another text session: ignored", c->name);
		goto out;
	}
	if (rti_string(rti_get(objs, ops, "textToAssert"), s, sizeof s))
		snprintf(cp->text, sizeof cp->text, "%s", s);
	kb = rti_get(objs, ops, "keyboardOutput");
	if (rti_string(rti_get(objs, kb, "insertionText"), s, sizeof s))
		text_append(cp, s);
	atv_info("companion %s: text is now \"%s\"", c->name, cp->text);
out:
	free(bytes);
	if (root)
		plist_free(root);
}

/* A text field gains or loses focus: _tiStarted / _tiStopped to every
 * connection with a text session. */
static void set_keyboard(struct fake_companion *cp, bool on)
{
	if (on == cp->keyboard)
		return;
	cp->keyboard = on;
	if (on)
		atv_random(cp->ti_uuid, sizeof cp->ti_uuid, NULL);
	for (struct cconn *c = cp->conns; c; c = c->next) {
		if (c->dead || !c->encrypted || !c->text_session)
			continue;
		send_event(c, on ? "_tiStarted" : "_tiStopped",
			   on ? rti_document(cp) : atv_opack_dict());
	}
}

/* ---- requests ---- */

static void log_request(struct fake_companion *cp, const char *name, bool event)
{
	char entry[MAX_NAME + 8];

	snprintf(entry, sizeof entry, "%s%s", event ? "event:" : "", name);
	fake_player_log(cp->requests, entry);
}

static void copy_name(char *out, const char *s)
{
	snprintf(out, MAX_NAME, "%s", s ? s : "");
}

/* _systemInfo: the client's _i must be a non-empty string (tvOS 18.4 drops
 * clients without one, pyatv #2656).  With evict_shared_id a second
 * connection with the same _i closes the first (clients sharing an id evict
 * each other: pyatv #1912); off by default, as the details are unknown. */
static void on_system_info(struct cconn *c, const struct atv_opack *req, const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;
	const char *i = atv_opack_get_str(cc, "_i");
	struct atv_buf t;

	if (!i || !*i || strlen(i) >= MAX_NAME) {
		reply_error(c, req, 1, "Invalid client identifier");
		conn_fail(c, "_systemInfo without a usable _i");
		return;
	}
	for (struct cconn *o = cp->conns; cp->evict_shared_id && o; o = o->next)
		if (o != c && !o->dead && strcmp(o->client_i, i) == 0)
			conn_fail(o, "client id %s connected again", i);
	copy_name(c->client_i, i);
	copy_name(c->client_name, atv_opack_get_str(cc, "name"));
	atv_buf_init(&t, 16384);
	if (atv_opack_to_text(cc, &t, NULL) == 0 && atv_buf_append(&t, "", 1, NULL) == 0) {
		json_decref(cp->system_info);
		cp->system_info = json_string((const char *)t.data);
	}
	atv_buf_release(&t);
	reply(c, req, NULL);
}

static void on_session_start(struct cconn *c, const struct atv_opack *req,
			     const struct atv_opack *cc)
{
	const char *srv = atv_opack_get_str(cc, "_srvT");
	int64_t sid;

	if (!srv || strcmp(srv, "com.apple.tvremoteservices") != 0) {
		reply_error(c, req, 1, "Unsupported service type");
		return;
	}
	if (!atv_opack_get_int(cc, "_sid", &sid) || sid < 0 || sid > UINT32_MAX) {
		reply_error(c, req, 1, "Invalid SID");
		return;
	}
	c->remote_sid = (uint32_t)sid;
	c->local_sid = c->cp->next_sid++;
	c->session = true;
	reply(c, req, int_dict("_sid", c->local_sid));
}

static void on_session_stop(struct cconn *c, const struct atv_opack *req,
			    const struct atv_opack *cc)
{
	uint64_t sid;

	/* the client's 64-bit id: ours << 32 | its own */
	if (!c->session || !atv_opack_get_u64(cc, "_sid", &sid) ||
	    sid != ((uint64_t)c->local_sid << 32 | c->remote_sid)) {
		reply_error(c, req, 1, "Session not found");
		return;
	}
	c->session = false;
	reply(c, req, NULL);
}

static void on_touch_start(struct cconn *c, const struct atv_opack *req, const struct atv_opack *cc)
{
	double w = 0, h = 0;

	if (!atv_opack_get_number(cc, "_width", &w) || !atv_opack_get_number(cc, "_height", &h) ||
	    !(w > 0 && w <= 1000) || !(h > 0 && h <= 1000)) {
		reply_error(c, req, 1, "Invalid touchpad width or height");
		return;
	}
	c->touch = true;
	reply(c, req, NULL);
}

static void on_attention(struct cconn *c, const struct atv_opack *req)
{
	/* tvOS 26.5 answers only once a TV Remote session is registered
	 * (pyatv #2845): without TVRCSessionStart, no answer at all */
	if (c->cp->attention_needs_tvrc && !c->tvrc) {
		atv_info("companion %s: FetchAttentionState before TVRCSessionStart: unanswered",
			 c->name);
		return;
	}
	reply(c, req, int_dict("state", attention(c->cp)));
}

static void on_hid(struct cconn *c, const struct atv_opack *req, const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;
	int64_t st, code;
	long long now = fake_mono_ms();
	char msg[64];

	if (!atv_opack_get_int(cc, "_hBtS", &st) || !atv_opack_get_int(cc, "_hidC", &code) ||
	    (st != 1 && st != 2) || code < 1 || code >= N_HID) {
		reply_error(c, req, 1, "Invalid HID command");
		return;
	}
	if (st == 1) {
		c->down_ms[code] = now;
	} else if (code == HID_SLEEP || code == HID_WAKE) {
		/* release-only, as pyatv turns the device off and on */
		c->down_ms[code] = 0;
		fake_player_log_key(cp->pl, hid_names[code]);
		fake_player_set_power(cp->pl, code == HID_WAKE);
	} else if (!c->down_ms[code]) {
		snprintf(msg, sizeof msg, "Missing button DOWN for %s", hid_names[code]);
		reply_error(c, req, 1, msg);
		return;
	} else {
		fake_player_key(cp->pl, hid_names[code], c->down_ms[code], now);
		c->down_ms[code] = 0;
		if (code == HID_SCREENSAVER || cp->attention != ATT_AWAKE) {
			cp->attention = code == HID_SCREENSAVER ? ATT_SCREENSAVER : ATT_AWAKE;
			push_status(cp);
		}
		if (strcmp(hid_names[code], "play_pause") == 0)
			fake_player_command(cp->pl, "play_pause", 0, NULL);
	}
	reply(c, req, NULL);
}

/* _mcc {_mcc N}: 1 play, 2 pause, 3 next, 4 previous, 5 get volume, 6 set
 * volume (_vol 0-1), 7 skip by _skpS seconds, 8-11 fast-forward/rewind
 * begin/end, 12/13 get/set captions. */
static void on_media_control(struct cconn *c, const struct atv_opack *req,
			     const struct atv_opack *cc)
{
	static const char *const names[] = {NULL,
					    "play",
					    "pause",
					    "next",
					    "previous",
					    NULL,
					    NULL,
					    NULL,
					    "fast_forward_begin",
					    "fast_forward_end",
					    "rewind_begin",
					    "rewind_end",
					    "get_captions",
					    "set_captions"};
	struct fake_companion *cp = c->cp;
	struct atv_err err = {0, ""};
	int64_t n;
	double v;
	int r = 0;

	if (!atv_opack_get_int(cc, "_mcc", &n) || n < 1 || n > 13) {
		reply_error(c, req, 1, "Unsupported media control command");
		return;
	}
	if (n == 5) {
		struct atv_opack *d = atv_opack_dict();

		if (atv_opack_dict_set(d, "_vol", atv_opack_float(cp->pl->volume / 100.0)) < 0) {
			atv_opack_free(d);
			d = NULL;
		}
		reply(c, req, d);
		return;
	}
	if (n == 6) {
		if (!atv_opack_get_number(cc, "_vol", &v) || !(v >= 0 && v <= 1)) {
			reply_error(c, req, 1, "Invalid volume");
			return;
		}
		/* the _iMC push (player listener) comes before the reply */
		r = fake_player_set_volume(cp->pl, (int)(v * 100 + 0.5), &err);
	} else if (n == 7) {
		if (!atv_opack_get_number(cc, "_skpS", &v))
			v = 10;
		/* no libm: a NaN fails both comparisons */
		if (!(v >= -86400 && v <= 86400)) {
			reply_error(c, req, 1, "Invalid skip interval");
			return;
		}
		r = fake_player_command(cp->pl, v < 0 ? "skip_backward" : "skip_forward",
					v < 0 ? -v : v, &err);
	} else if (n <= 4) {
		r = fake_player_command(cp->pl, names[n], 0, &err);
	} else {
		fake_player_log(cp->pl->cmds, names[n]);
	}
	if (r < 0)
		reply_error(c, req, 1, err.msg);
	else
		reply(c, req, NULL);
}

/* {key: name} of a JSON object, as OPACK */
static struct atv_opack *names_dict(const json_t *o)
{
	struct atv_opack *d = atv_opack_dict();
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)o, k, v) {
		if (atv_opack_dict_set(d, k, atv_opack_str(json_string_value(v))) < 0) {
			atv_opack_free(d);
			return NULL;
		}
	}
	return d;
}

static void set_current_app(struct fake_companion *cp, const char *bundle)
{
	const char *name = json_string_value(json_object_get(cp->apps, bundle));

	if (fake_player_set_field(cp->pl, "app_id", bundle, true, NULL) == 0 &&
	    fake_player_set_field(cp->pl, "app", name ? name : bundle, true, NULL) == 0)
		fake_player_changed(cp->pl, FAKE_PUSH_PLAYING);
}

/* _launchApp {_bundleID} or {_urlS}: an installed app becomes the current
 * app; a URL is kept, and opens the app its scheme maps to (url_apps). */
static void on_launch(struct cconn *c, const struct atv_opack *req, const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;
	const char *bundle = atv_opack_get_str(cc, "_bundleID");
	const char *url = atv_opack_get_str(cc, "_urlS");
	char scheme[32];
	size_t n;

	if (bundle) {
		if (!json_object_get(cp->apps, bundle)) {
			reply_error(c, req, 1, "App not found");
			return;
		}
		set_current_app(cp, bundle);
	} else if (url && (n = strcspn(url, ":")) > 0 && url[n] == ':' && n < sizeof scheme) {
		free(cp->url);
		cp->url = strdup(url);
		memcpy(scheme, url, n);
		scheme[n] = '\0';
		bundle = json_string_value(json_object_get(cp->url_apps, scheme));
		if (bundle)
			set_current_app(cp, bundle);
	} else {
		reply_error(c, req, 1, "Invalid launch request");
		return;
	}
	atv_info("companion %s: launched %s", c->name, url ? url : bundle);
	reply(c, req, NULL);
}

static void on_switch_account(struct cconn *c, const struct atv_opack *req,
			      const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;
	const char *id = atv_opack_get_str(cc, "SwitchAccountID");

	if (!id || !json_object_get(cp->accounts, id)) {
		reply_error(c, req, 1, "Account not found");
		return;
	}
	free(cp->account);
	cp->account = strdup(id);
	reply(c, req, NULL);
}

static void on_text_start(struct cconn *c, const struct atv_opack *req)
{
	c->text_session = true;
	reply(c, req, c->cp->keyboard ? rti_document(c->cp) : NULL);
}

/* _interest {_regEvents [...]} / {_deregEvents [...]} (an event: no reply) */
static void on_interest(struct cconn *c, const struct atv_opack *cc)
{
	const struct atv_opack *reg = atv_opack_get_array(cc, "_regEvents");
	const struct atv_opack *dereg = atv_opack_get_array(cc, "_deregEvents");

	for (size_t k = 0; reg && k < reg->u.c.n; k++) {
		const char *e = atv_opack_str_value(reg->u.c.v[k]);
		char *dup;

		if (!e || strlen(e) >= MAX_NAME || interested(c, e))
			continue;
		if (c->n_interests == MAX_INTERESTS || !(dup = strdup(e))) {
			conn_fail(c, "more than %d events registered", MAX_INTERESTS);
			return;
		}
		c->interests[c->n_interests++] = dup;
		/* what pyatv's fake (and its volume code) expects at once */
		if (strcmp(e, "_iMC") == 0)
			send_event(c, "_iMC", int_dict("_mcF", MCF_VOLUME));
	}
	for (size_t k = 0; dereg && k < dereg->u.c.n; k++) {
		const char *e = atv_opack_str_value(dereg->u.c.v[k]);

		for (size_t i = 0; e && i < c->n_interests; i++) {
			if (strcmp(c->interests[i], e) == 0) {
				free(c->interests[i]);
				c->interests[i] = c->interests[--c->n_interests];
				break;
			}
		}
	}
}

static void on_touch(struct cconn *c, const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;
	int64_t x = -1, y = -1, ph = 0;

	atv_opack_get_int(cc, "_cx", &x);
	atv_opack_get_int(cc, "_cy", &y);
	atv_opack_get_int(cc, "_tPh", &ph);
	json_decref(cp->touch);
	cp->touch = json_pack("{s:I,s:I,s:I}", "x", (json_int_t)x, "y", (json_int_t)y, "phase",
			      (json_int_t)ph);
}

static void on_event(struct cconn *c, const char *name, const struct atv_opack *cc)
{
	if (strcmp(name, "_interest") == 0)
		on_interest(c, cc);
	else if (strcmp(name, "_hidT") == 0)
		on_touch(c, cc);
	else if (strcmp(name, "_tiC") == 0)
		on_text_change(c, cc);
	else
		atv_debug("companion %s: event %s ignored", c->name, name);
}

static void on_request(struct cconn *c, const char *name, const struct atv_opack *req,
		       const struct atv_opack *cc)
{
	struct fake_companion *cp = c->cp;

	if (strcmp(name, "_systemInfo") == 0)
		on_system_info(c, req, cc);
	else if (strcmp(name, "_sessionStart") == 0)
		on_session_start(c, req, cc);
	else if (strcmp(name, "_sessionStop") == 0)
		on_session_stop(c, req, cc);
	else if (strcmp(name, "TVRCSessionStart") == 0) {
		c->tvrc = true;
		reply(c, req, atv_opack_copy(cc)); /* echoed */
	} else if (strcmp(name, "_touchStart") == 0)
		on_touch_start(c, req, cc);
	else if (strcmp(name, "_touchStop") == 0) {
		c->touch = false;
		reply(c, req, NULL);
	} else if (strcmp(name, "_tiStart") == 0)
		on_text_start(c, req);
	else if (strcmp(name, "_tiStop") == 0) {
		c->text_session = false;
		reply(c, req, NULL);
	} else if (strcmp(name, "FetchAttentionState") == 0)
		on_attention(c, req);
	else if (strcmp(name, "_hidC") == 0)
		on_hid(c, req, cc);
	else if (strcmp(name, "_mcc") == 0)
		on_media_control(c, req, cc);
	else if (strcmp(name, "FetchLaunchableApplicationsEvent") == 0)
		reply(c, req, names_dict(cp->apps));
	else if (strcmp(name, "_launchApp") == 0)
		on_launch(c, req, cc);
	else if (strcmp(name, "FetchUserAccountsEvent") == 0)
		reply(c, req, names_dict(cp->accounts));
	else if (strcmp(name, "SwitchUserAccountEvent") == 0)
		on_switch_account(c, req, cc);
	else
		reply_error(c, req, ERR_NO_HANDLER, "No request handler");
}

/* One E_OPACK message: {_i, _t, _x, _c}. */
static void on_message(struct cconn *c, const uint8_t *p, size_t len)
{
	struct atv_err err = {0, ""};
	struct atv_opack *m = NULL;
	const struct atv_opack *cc;
	const char *name;
	int64_t t;

	if (atv_opack_decode(p, len, &m, &err) < 0) {
		conn_fail(c, "bad message: %s", err.msg);
		return;
	}
	name = atv_opack_get_str(m, "_i");
	if (!name || !atv_opack_get_int(m, "_t", &t) || strlen(name) >= MAX_NAME) {
		conn_fail(c, "message without _i or _t");
		goto out;
	}
	cc = atv_opack_get(m, "_c");
	if (cc && cc->type != ATV_OPACK_DICT) {
		conn_fail(c, "%s: _c is a %s", name, atv_opack_type_name(cc->type));
		goto out;
	}
	atv_debug("companion %s < %s %s", c->name,
		  t == 1   ? "event"
		  : t == 2 ? "request"
			   : "reply",
		  name);
	if (t == 1 || t == 2)
		log_request(c->cp, name, t == 1);
	if (t == 1)
		on_event(c, name, cc);
	else if (t == 2)
		on_request(c, name, m, cc);
	/* responses (_t 3) to requests we never send are dropped */
out:
	atv_opack_free(m);
}

/* ---- pairing ---- */

static int pairing_name(const struct fake_companion *cp, struct atv_buf *out)
{
	struct atv_opack *d = atv_opack_dict();
	int r = atv_opack_dict_set(d, "name", atv_opack_str(cp->dev->name));

	if (r == 0)
		r = atv_opack_dict_set(d, "model", atv_opack_str(cp->model));
	if (r == 0)
		r = atv_opack_encode(d, out, NULL);
	atv_opack_free(d);
	return r;
}

/* {_pd: tlv[, _pwTy: 1]} in a frame of type */
static void send_pairing(struct cconn *c, uint8_t type, const struct atv_buf *tlv, bool pwty)
{
	struct atv_opack *d = atv_opack_dict();
	int r = atv_opack_dict_set(d, "_pd", atv_opack_data(tlv->data, tlv->len));

	if (r == 0 && pwty)
		r = atv_opack_dict_set(d, "_pwTy", atv_opack_int(1));
	if (r < 0) {
		atv_opack_free(d);
		d = NULL;
	}
	send_opack(c, type, d);
}

static void pairing_done(struct cconn *c)
{
	struct fake_companion *cp = c->cp;
	struct atv_hap_peer peer;
	struct atv_err err = {0, ""};
	struct atv_opack *nm = NULL;
	const uint8_t *name;
	size_t nlen;

	if (c->exch == X_SETUP) {
		if (atv_hap_setup_server_peer(c->setup, &peer, &err) == 0) {
			if (fake_pairings_add(&cp->pairings, peer.id, peer.idlen, peer.ltpk, &err) <
			    0)
				atv_warn("companion: %s", err.msg);
			name = atv_hap_setup_peer_name(c->setup, &nlen);
			if (name)
				atv_opack_decode(name, nlen, &nm, NULL);
			fake_pairing_id_text(c->peer, sizeof c->peer, peer.id, peer.idlen);
			atv_info("companion %s: paired with controller %s (%s)", c->name, c->peer,
				 atv_opack_get_str(nm, "name") ? atv_opack_get_str(nm, "name")
							       : "no name");
			atv_opack_free(nm);
		}
	} else if (atv_hap_verify_server_peer(c->verify, &peer, &err) < 0 ||
		   atv_hap_verify_cipher(c->verify, ATV_COMPANION_SALT, ATV_COMPANION_WRITE,
					 ATV_COMPANION_READ, &c->cipher, &err) < 0) {
		conn_fail(c, "%s", err.msg);
		return;
	} else {
		/* M4 went in the clear; every later frame is sealed */
		c->encrypted = true;
		fake_pairing_id_text(c->peer, sizeof c->peer, peer.id, peer.idlen);
		atv_info("companion %s: verified controller %s", c->name, c->peer);
	}
	exch_free(c);
}

static int pairing_state(const uint8_t *p, size_t len, uint64_t *state, struct atv_err *err)
{
	struct atv_tlv8 t;
	const struct atv_tlv8_item *it;
	int r = atv_tlv8_parse(&t, p, len, err);

	if (r == 0) {
		it = atv_tlv8_find(&t, ATV_TLV8_STATE);
		r = it ? atv_tlv8_uint(it, state, err)
		       : atv_err_set(err, ATV_E_PROTO, "pairing data without a state");
	}
	atv_tlv8_release(&t);
	return r;
}

/* Start the exchange an M1 asks for; false when the connection is gone or
 * a refusal was sent. */
static bool pairing_begin(struct cconn *c, bool setup, struct atv_buf *out)
{
	struct fake_companion *cp = c->cp;
	struct atv_err err = {0, ""};

	exch_free(c);
	if (setup && cp->pairings.n == cp->pairings.max) {
		atv_info("companion %s: pair-setup refused: %zu pairings", c->name, cp->pairings.n);
		if (atv_hap_error_message(out, 2, ATV_TLV8_ERR_MAX_PEERS, 0, &err) == 0)
			send_pairing(c, ATV_COMPANION_PS_NEXT, out, false);
		return false;
	}
	if (setup) {
		c->setup = atv_hap_setup_server_new(cp->pin, cp->id, cp->seed, &err);
		atv_buf_reset(&cp->ct);
		if (c->setup &&
		    (pairing_name(cp, &cp->ct) < 0 ||
		     atv_hap_setup_set_name(c->setup, cp->ct.data, cp->ct.len, &err) < 0)) {
			atv_hap_setup_free(c->setup);
			c->setup = NULL;
		}
		c->exch = c->setup ? X_SETUP : X_NONE;
		atv_info("companion %s: pair-setup started, showing the pin", c->name);
	} else {
		c->verify = atv_hap_verify_server_new(cp->id, cp->seed, fake_pairings_lookup,
						      &cp->pairings, &err);
		c->exch = c->verify ? X_VERIFY : X_NONE;
	}
	if (c->exch == X_NONE) {
		conn_fail(c, "%s", err.msg[0] ? err.msg : "out of memory");
		return false;
	}
	return true;
}

static void on_pairing(struct cconn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct atv_err err = {0, ""};
	struct atv_opack *m = NULL;
	const uint8_t *pd;
	size_t pdlen = 0;
	uint64_t state = 0;
	struct atv_buf out;
	bool setup = type == ATV_COMPANION_PS_START || type == ATV_COMPANION_PS_NEXT;
	int r;

	if (c->encrypted) {
		conn_fail(c, "pairing frame on a verified connection");
		return;
	}
	if (atv_opack_decode(p, len, &m, &err) < 0 ||
	    !(pd = atv_opack_get_data(m, "_pd", &pdlen)) ||
	    pairing_state(pd, pdlen, &state, &err) < 0) {
		conn_fail(c, "bad pairing frame: %s", err.msg[0] ? err.msg : "no _pd");
		atv_opack_free(m);
		return;
	}
	atv_buf_init(&out, ATV_HAP_MSG_MAX);
	if (type == ATV_COMPANION_PS_START || type == ATV_COMPANION_PV_START) {
		if (!pairing_begin(c, setup, &out))
			goto out;
	} else if (c->exch != (setup ? X_SETUP : X_VERIFY)) {
		conn_fail(c, "pair-%s M%llu without M1", setup ? "setup" : "verify",
			  (unsigned long long)state);
		goto out;
	}
	atv_debug("companion %s: pair-%s M%llu", c->name, setup ? "setup" : "verify",
		  (unsigned long long)state);
	r = setup ? atv_hap_setup_step(c->setup, pd, pdlen, &out, &err)
		  : atv_hap_verify_step(c->verify, pd, pdlen, &out, &err);
	/* the Companion deltas of M2: TLV 0x1B = 01 and _pwTy 1 */
	if (r >= 0 && setup && state == 1)
		atv_tlv8_add_u8(&out, TLV_COMPANION_FLAG, 1, NULL);
	if (out.len)
		send_pairing(c, setup ? ATV_COMPANION_PS_NEXT : ATV_COMPANION_PV_NEXT, &out,
			     r >= 0 && setup && state == 1);
	if (r < 0) {
		atv_info("companion %s: pair-%s failed: %s", c->name, setup ? "setup" : "verify",
			 err.msg);
		exch_free(c);
	} else if (r == ATV_HAP_DONE) {
		pairing_done(c);
	}
out:
	atv_buf_release(&out);
	atv_opack_free(m);
}

static void on_frame(struct cconn *c, const struct atv_companion_frame *f)
{
	switch (f->type) {
	case ATV_COMPANION_PS_START:
	case ATV_COMPANION_PS_NEXT:
	case ATV_COMPANION_PV_START:
	case ATV_COMPANION_PV_NEXT: on_pairing(c, f->type, f->payload, f->len); break;
	case ATV_COMPANION_E_OPACK:
	case ATV_COMPANION_U_OPACK:
	case ATV_COMPANION_P_OPACK:
		if (!c->encrypted)
			conn_fail(c, "OPACK frame before pair-verify");
		else if (f->len)
			on_message(c, f->payload, f->len);
		break;
	default: atv_debug("companion %s: frame type 0x%02x ignored", c->name, f->type);
	}
}

static void conn_read(struct cconn *c)
{
	struct atv_err err = {0, ""};
	uint8_t buf[16384];

	for (int round = 0; round < READ_ROUNDS && !c->dead; round++) {
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		const uint8_t *p = buf;
		size_t len;

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				conn_fail(c, "read: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			atv_debug("companion %s: closed by the controller", c->name);
			conn_kill(c);
			return;
		}
		len = (size_t)n;
		while (len > 0 && !c->dead) {
			struct atv_companion_frame f;
			size_t used = 0;
			int r = atv_companion_frame_dec_push(
			    &c->dec, c->encrypted ? &c->cipher : NULL, p, len, &used, &f, &err);

			if (r < 0) {
				conn_fail(c, "%s", err.msg);
				return;
			}
			p += used;
			len -= used;
			if (r > 0)
				on_frame(c, &f);
		}
	}
}

static void on_conn(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct cconn *c = ctx;

	(void)fd;
	if (revents & POLLOUT)
		conn_flush(c);
	if (!c->dead && (revents & (POLLIN | POLLHUP | POLLERR)))
		conn_read(c);
	if (!c->dead)
		fake_loop_set_events(loop, c->fd, c->out.len ? POLLIN | POLLOUT : POLLIN);
}

static size_t live_conns(const struct fake_companion *cp, bool verified)
{
	size_t n = 0;

	for (const struct cconn *c = cp->conns; c; c = c->next)
		if (!c->dead && (!verified || c->encrypted))
			n++;
	return n;
}

static void on_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_companion *cp = ctx;
	struct atv_err err = {0, ""};

	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		char a[INET_ADDRSTRLEN];
		int one = 1;
		int cfd = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct cconn *c;

		if (cfd < 0)
			return;
		if (live_conns(cp, false) >= MAX_CONNS || !(c = calloc(1, sizeof *c))) {
			atv_warn("companion: refusing a connection");
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->cp = cp;
		c->fd = cfd;
		c->event_xid = 1234; /* as pyatv's fake numbers its events */
		inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a);
		snprintf(c->name, sizeof c->name, "%s:%u", a, ntohs(sa.sin_port));
		atv_companion_frame_dec_init(&c->dec, IN_FRAME_MAX);
		atv_buf_init(&c->out, OUT_MAX);
		if (fake_loop_add_fd(loop, cfd, POLLIN, on_conn, c, &err) < 0) {
			atv_warn("companion: %s", err.msg);
			close(cfd);
			conn_free(c);
			continue;
		}
		c->next = cp->conns;
		cp->conns = c;
		atv_debug("companion %s: connected", c->name);
	}
}

/* ---- the control channel ---- */

size_t fake_companion_drop(struct fake_companion *cp)
{
	size_t n = 0;

	for (struct cconn *c = cp->conns; c; c = c->next) {
		if (!c->dead) {
			n++;
			conn_kill(c);
		}
	}
	return n;
}

int fake_companion_port(const struct fake_companion *cp)
{
	return cp && cp->svc ? cp->port : -1;
}

static json_t *conn_state(const struct cconn *c)
{
	json_t *o = json_object(), *in = json_array();

	for (size_t i = 0; i < c->n_interests; i++)
		json_array_append_new(in, json_string(c->interests[i]));
	json_object_set_new(o, "peer", json_string(c->peer));
	json_object_set_new(o, "verified", json_boolean(c->encrypted));
	json_object_set_new(o, "client_id",
			    c->client_i[0] ? json_string(c->client_i) : json_null());
	json_object_set_new(o, "name", json_string(c->client_name));
	json_object_set_new(o, "session", json_boolean(c->session));
	json_object_set_new(o, "tvrc", json_boolean(c->tvrc));
	json_object_set_new(o, "touch", json_boolean(c->touch));
	json_object_set_new(o, "text_session", json_boolean(c->text_session));
	json_object_set_new(o, "interests", in);
	return o;
}

json_t *fake_companion_state(const struct fake_companion *cp)
{
	json_t *o = json_object(), *ids = json_array(), *clients = json_array();
	char id[2 * ATV_HAP_ID_MAX + 1];
	const struct fake_playing *p = &cp->pl->playing;

	for (size_t i = 0; i < cp->pairings.n; i++) {
		fake_pairing_id_text(id, sizeof id, cp->pairings.p[i].id, cp->pairings.p[i].idlen);
		json_array_append_new(ids, json_string(id));
	}
	for (const struct cconn *c = cp->conns; c; c = c->next)
		if (!c->dead)
			json_array_append_new(clients, conn_state(c));
	json_object_set_new(o, "companion_port", json_integer(fake_companion_port(cp)));
	json_object_set_new(o, "connections", json_integer((json_int_t)live_conns(cp, false)));
	json_object_set_new(o, "verified", json_integer((json_int_t)live_conns(cp, true)));
	json_object_set_new(o, "pairings", json_integer((json_int_t)cp->pairings.n));
	json_object_set_new(o, "pairing_ids", ids);
	json_object_set_new(o, "clients", clients);
	json_object_set_new(o, "power", json_boolean(cp->pl->power));
	json_object_set_new(o, "attention", json_string(attention_names[attention(cp)]));
	json_object_set_new(o, "apps", json_deep_copy(cp->apps));
	json_object_set_new(o, "app", p->app_id ? json_string(p->app_id) : json_null());
	json_object_set_new(o, "url", cp->url ? json_string(cp->url) : json_null());
	json_object_set_new(o, "accounts", json_deep_copy(cp->accounts));
	json_object_set_new(o, "account", cp->account ? json_string(cp->account) : json_null());
	json_object_set_new(o, "keyboard", json_boolean(cp->keyboard));
	json_object_set_new(o, "text", json_string(cp->text));
	json_object_set_new(o, "keys", json_deep_copy(cp->pl->keys));
	json_object_set_new(o, "requests", json_deep_copy(cp->requests));
	json_object_set_new(o, "touch", cp->touch ? json_deep_copy(cp->touch) : json_null());
	json_object_set_new(o, "system_info",
			    cp->system_info ? json_deep_copy(cp->system_info) : json_null());
	json_object_set_new(o, "hostile", json_string(hostile_names[cp->hostile]));
	return o;
}

/* %XX escapes in place (so names may hold spaces); -1 for a bad one */
static int unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (*r == '%') {
			int hi = r[1] ? atv_hexval(r[1]) : -1, lo = hi >= 0 ? atv_hexval(r[2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* KEY=NAME... as a new {KEY: NAME} object, or NULL for a bad word */
static json_t *parse_pairs(char **w, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n && i < MAX_ENTRIES; i++) {
		char *eq = strchr(w[i], '=');

		if (!eq || eq == w[i] || unescape(eq + 1) < 0) {
			json_decref(o);
			return NULL;
		}
		*eq = '\0';
		if (unescape(w[i]) < 0 || strlen(eq + 1) >= MAX_NAME || strlen(w[i]) >= MAX_NAME) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, w[i], json_string(eq + 1));
	}
	return n > MAX_ENTRIES ? (json_decref(o), NULL) : o;
}

static const char control_usage[] =
    "companion-state | companion-apps BUNDLE=NAME... | companion-accounts ID=NAME... | "
    "companion-account ID | companion-text [TEXT...] | companion-keyboard on|off | "
    "companion-attention awake|screensaver|idle | companion-hostile MODE | "
    "companion-pin DIGITS | companion-drop | companion-revoke";

const char *fake_companion_usage(void)
{
	return control_usage;
}

/* One control command (words w[0..n), w[0] starting "companion-"): the
 * reply line "ok [...]" or "error ..." as a new string. */
char *fake_companion_control(struct fake_companion *cp, char **w, size_t n)
{
	char buf[MAX_TEXT + 64];
	json_t *o;
	int k;

	buf[0] = '\0';
	if (!cp || !cp->svc)
		return strdup("error the device serves no companion");
	if (strcmp(w[0], "companion-state") == 0 && n == 1) {
		char *js, *line = NULL;

		o = fake_companion_state(cp);
		js = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (js && (line = malloc(strlen(js) + 4)))
			snprintf(line, strlen(js) + 4, "ok %s", js);
		free(js);
		return line ? line : strdup("error out of memory");
	} else if ((strcmp(w[0], "companion-apps") == 0 ||
		    strcmp(w[0], "companion-accounts") == 0) &&
		   n >= 1) {
		if (!(o = parse_pairs(w + 1, n - 1)))
			return strdup("error usage: companion-apps|companion-accounts KEY=NAME... "
				      "(%XX escapes, at most 64)");
		if (strcmp(w[0], "companion-apps") == 0) {
			json_decref(cp->apps);
			cp->apps = o;
		} else {
			json_decref(cp->accounts);
			cp->accounts = o;
		}
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-account") == 0 && n == 2) {
		if (!json_object_get(cp->accounts, w[1]))
			return strdup("error no such account");
		free(cp->account);
		cp->account = strdup(w[1]);
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-text") == 0) {
		cp->text[0] = '\0';
		for (size_t i = 1; i < n; i++) {
			if (i > 1)
				text_append(cp, " ");
			text_append(cp, w[i]);
		}
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-keyboard") == 0 && n == 2 &&
		   (strcmp(w[1], "on") == 0 || strcmp(w[1], "off") == 0)) {
		set_keyboard(cp, w[1][1] == 'n');
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-attention") == 0 && n == 2) {
		for (k = ATT_SCREENSAVER; k <= ATT_IDLE; k++)
			if (strcmp(w[1], attention_names[k]) == 0)
				break;
		if (k > ATT_IDLE)
			return strdup("error attention is awake, screensaver or idle "
				      "(asleep: power off)");
		cp->attention = k;
		push_status(cp);
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-hostile") == 0 && n == 2) {
		for (k = 0; hostile_names[k]; k++)
			if (strcmp(w[1], hostile_names[k]) == 0)
				break;
		if (!hostile_names[k])
			snprintf(buf, sizeof buf,
				 "error unknown companion hostile mode \"%.64s\" "
				 "(one of: %s)",
				 w[1], HOSTILE_LIST);
		else {
			cp->hostile = (enum hostile)k;
			snprintf(buf, sizeof buf, "ok");
		}
	} else if (strcmp(w[0], "companion-pin") == 0 && n == 2) {
		if (!fake_pin_valid(w[1]))
			return strdup("error a pin is 1 to 32 digits");
		snprintf(cp->pin, sizeof cp->pin, "%s", w[1]);
		snprintf(buf, sizeof buf, "ok");
	} else if (strcmp(w[0], "companion-drop") == 0 && n == 1) {
		snprintf(buf, sizeof buf, "ok %zu", fake_companion_drop(cp));
	} else if (strcmp(w[0], "companion-revoke") == 0 && n == 1) {
		struct atv_err err = {0, ""};
		size_t had = cp->pairings.n;

		if (fake_pairings_forget(&cp->pairings, &err) < 0)
			atv_warn("companion: %s", err.msg);
		snprintf(buf, sizeof buf, "ok %zu", had);
	} else {
		snprintf(buf, sizeof buf, "error wrong arguments; %s", control_usage);
	}
	return strdup(buf);
}

/* ---- listening, life cycle ---- */

static int listen_on(struct fake_companion *cp, int port, struct atv_err *err)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = cp->addr};
	socklen_t sl = sizeof sa;
	char a[INET_ADDRSTRLEN];
	int one = 1, r, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	inet_ntop(AF_INET, &cp->addr, a, sizeof a);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to listen on %s:%d", a, port);
		close(fd);
		return r;
	}
	if ((r = fake_loop_add_fd(cp->loop, fd, POLLIN, on_accept, cp, err)) < 0) {
		close(fd);
		return r;
	}
	cp->lfd = fd;
	cp->port = ntohs(sa.sin_port);
	cp->svc->port = (uint16_t)cp->port;
	cp->svc->served = true;
	atv_info("companion on %s:%d", a, cp->port);
	return 0;
}

/* The device file's optional "companion": {"apps": {bundle: name},
 * "accounts": {id: name}, "account": id, "url_apps": {scheme: bundle},
 * "text": s, "keyboard": bool, "attention_needs_tvrc": bool,
 * "evict_shared_id": bool}. */
static int load_config(struct fake_companion *cp, struct atv_err *err)
{
	json_t *c = json_object_get(cp->dev->json, "companion");
	json_t *apps = json_object_get(c, "apps"), *acc = json_object_get(c, "accounts");
	json_t *urls = json_object_get(c, "url_apps");
	const char *text = json_string_value(json_object_get(c, "text"));
	const char *account = json_string_value(json_object_get(c, "account"));
	json_t *kb = json_object_get(c, "keyboard"),
	       *tvrc = json_object_get(c, "attention_needs_tvrc");
	json_t *evict = json_object_get(c, "evict_shared_id");

	cp->apps = json_is_object(apps)
		       ? json_deep_copy(apps)
		       : json_pack("{s:s,s:s,s:s,s:s}", "com.apple.TVWatchList", "TV",
				   "com.apple.TVMusic", "Music", "com.netflix.Netflix", "Netflix",
				   "com.google.ios.youtube", "YouTube");
	cp->accounts = json_is_object(acc)
			   ? json_deep_copy(acc)
			   : json_pack("{s:s,s:s}", "A1B2C3D4", "Alice", "E5F6A7B8", "Bob");
	cp->url_apps = json_is_object(urls)
			   ? json_deep_copy(urls)
			   : json_pack("{s:s,s:s}", "https", "com.apple.TVWatchList", "music",
				       "com.apple.TVMusic");
	cp->account = strdup(account ? account : "A1B2C3D4");
	cp->requests = json_array();
	if (!cp->apps || !cp->accounts || !cp->url_apps || !cp->account || !cp->requests)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	snprintf(cp->text, sizeof cp->text, "%s", text ? text : "");
	cp->keyboard = kb ? json_is_true(kb) : true;
	cp->attention_needs_tvrc = tvrc ? json_is_true(tvrc) : true;
	cp->evict_shared_id = json_is_true(evict);
	cp->attention = ATT_AWAKE;
	cp->next_sid = 5555; /* pyatv's fake's first session id */
	return atv_random(cp->ti_uuid, sizeof cp->ti_uuid, err);
}

static int setup_service(struct fake_companion *cp, const struct fake_companion_opts *o,
			 struct atv_err *err)
{
	struct fake_service *air = fake_device_service(cp->dev, "_airplay._tcp");
	uint8_t h[ATV_SHA512_LEN];
	char s[32 + ATV_HAP_ID_MAX];
	int r;

	cp->svc = fake_device_service(cp->dev, COMPANION_SERVICE);
	if (!cp->svc)
		return 0;
	cp->id = fake_service_txt(cp->svc, "rpMRtID");
	if (!cp->id || !*cp->id || strlen(cp->id) > ATV_HAP_ID_MAX) {
		atv_warn("companion: the %s service has no usable rpMRtID: not serving companion",
			 COMPANION_SERVICE);
		cp->svc = NULL;
		return 0;
	}
	cp->model = fake_service_txt(cp->svc, "rpMd");
	if (!cp->model && air)
		cp->model = fake_service_txt(air, "model");
	if (!cp->model && !(cp->model = strdup("AppleTV6,2")))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (!o->address || inet_pton(AF_INET, o->address, &cp->addr) != 1)
		return atv_err_set(err, ATV_E_USAGE, "companion: no IPv4 address to listen on");
	/* the long-term key from the identifier: the same accessory after a
	 * restart */
	snprintf(s, sizeof s, "fake-atv-companion:%s", cp->id);
	r = atv_sha512(s, strlen(s), h, err);
	memcpy(cp->seed, h, sizeof cp->seed);
	atv_crypto_wipe(h, sizeof h);
	if (r < 0 || (r = load_config(cp, err)) < 0)
		return r;
	if (o->pairings && (r = fake_pairings_load(&cp->pairings, o->pairings, err)) < 0)
		return r;
	return listen_on(cp, o->port < 0 ? cp->svc->port : o->port, err);
}

int fake_companion_new(struct fake_loop *loop, struct fake_device *dev, struct fake_player *player,
		       const struct fake_companion_opts *o, struct fake_companion **out,
		       struct atv_err *err)
{
	struct fake_companion *cp = calloc(1, sizeof *cp);
	int r;

	*out = cp;
	if (!cp)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	cp->loop = loop;
	cp->dev = dev;
	cp->lfd = -1;
	cp->port = -1;
	fake_pairings_init(&cp->pairings, "companion", FAKE_MAX_PAIRINGS);
	snprintf(cp->pin, sizeof cp->pin, "%s", dev->pin ? dev->pin : FAKE_DEFAULT_PIN);
	atv_buf_init(&cp->pt, ATV_COMPANION_MAX_FRAME);
	atv_buf_init(&cp->ct, ATV_HAP_MSG_MAX);
	cp->pl = player;
	if ((r = fake_player_listen(player, on_player_change, cp, err)) < 0) {
		cp->pl = NULL;
		return r;
	}
	return setup_service(cp, o, err);
}

void fake_companion_free(struct fake_companion *cp)
{
	if (!cp)
		return;
	fake_companion_drop(cp);
	if (cp->reap_timer)
		fake_loop_cancel_timer(cp->loop, cp->reap_timer);
	reap(cp->loop, cp);
	if (cp->lfd >= 0) {
		fake_loop_remove_fd(cp->loop, cp->lfd);
		close(cp->lfd);
	}
	if (cp->pl)
		fake_player_unlisten(cp->pl, cp);
	atv_buf_release(&cp->pt);
	atv_buf_release(&cp->ct);
	json_decref(cp->apps);
	json_decref(cp->accounts);
	json_decref(cp->url_apps);
	json_decref(cp->requests);
	json_decref(cp->touch);
	json_decref(cp->system_info);
	free(cp->account);
	free(cp->url);
	free(cp->id);
	free(cp->model);
	fake_pairings_release(&cp->pairings);
	atv_crypto_wipe(cp, sizeof *cp);
	free(cp);
}
