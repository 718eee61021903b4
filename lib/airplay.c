/* airplay.c - AirPlay control over HTTP: pairing, the verified control
 * connection, video URL playback (see airplay.h).
 *
 * Facts (pyatv/protocols/airplay/{auth,player}.py, protocols.md §4.9):
 * pairing requests are TLV8 bodies (application/octet-stream) with an
 * X-Apple-HKP header (3: PIN pairing and verify, 4: transient); /play takes
 * a binary plist with Content-Location and a start (see play_body) and is
 * retried on 500, which devices answer while still busy with the previous
 * video; /playback-info has "duration" only while a video is loaded, and
 * an "error" dictionary when it failed. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "airplay.h"
#include "bplist.h"
#include "buf.h"
#include "airplay_channel.h"
#include "crypto.h"
#include "hap.h"
#include "httpmsg.h"
#include "plist_dl.h"
#include "tcp.h"
#include "tlv8.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
#define PLAY_ATTEMPTS	   3	/* /play answered 500 is tried again (pyatv: 3) */
#define PLAY_RETRY_MS	   1000 /* pause between those attempts */
#define LOAD_FACTOR	   3	/* a video may load for 3 x the timeout */
#define REASON_MAX	   200	/* characters of a refusal's body shown */

#define CONTROL_SALT  "Control-Salt"
#define CONTROL_WRITE "Control-Write-Encryption-Key"
#define CONTROL_READ  "Control-Read-Encryption-Key"

static const char *const pair_headers[] = {
    "Content-Type: application/octet-stream", "X-Apple-HKP: 3", NULL};
static const char *const transient_headers[] = {
    "Content-Type: application/octet-stream", "X-Apple-HKP: 4", NULL};

/* libplist's functions (lib/plist_dl.h), set by the first plist_api(). */
static const struct atv_plist *pl;

static int plist_api(struct atv_err *err)
{
	return atv_plist_load(&pl, err);
}

enum auth { AUTH_NONE, AUTH_HAP, AUTH_HAP_PLAIN, AUTH_TRANSIENT };

#define AGENT	       "User-Agent: AirPlay/320.20"
#define AGENT_AIRPLAY1 "User-Agent: MediaControl/1.0" /* pyatv's for AirPlay 1 /play */
#define EXTRA_HEADERS  4 /* the most headers a request adds to Host and User-Agent */

struct atv_airplay {
	struct atv_channel *ch; /* direct: our HTTP messages (httpmsg.h) go through it */
	char host[ATV_TCP_PEERLEN + 32]; /* "Host: ..." */
	int version;			   /* AirPlay 1 or 2 (airplay_info.h) */
	/* an exchange failed halfway (timeout, bad reply): what the device
	 * sends next may answer the old request, so none goes out any more */
	bool broken;
	char *device;
	int timeout_ms;
	enum auth auth;
	char session[ATV_UUID_SIZE]; /* X-Apple-Session-ID of our /play */
	bool played;			 /* a /play of ours was accepted */
	/* what the session's other channels take their keys from (the MRP
	 * tunnel): the pair-verify secret, or SRP's K after transient pairing */
	uint8_t secret[ATV_SRP_KEY_LEN];
	size_t secret_len;
};

struct atv_airplay_pairing {
	struct atv_airplay *a;
	char pairing_id[ATV_UUID_SIZE];
	char name[96]; /* "X-Apple-Client-Name: ..." */
	const char *headers[4];
	bool used;
};

/* ---- the connection ---- */

static const char *name_of(const struct atv_airplay_opts *o, const char *host)
{
	return o && o->device && o->device[0] ? o->device : host;
}

/* The Host header line for host:port: an IPv6 address in brackets, without
 * its scope ("%eth0" names our interface, not the device's host). */
static int host_header(const char *host, int port, char *out, size_t size, struct atv_err *err)
{
	size_t n = strcspn(host, "%");
	bool v6 = strchr(host, ':') != NULL;
	int w;

	w = snprintf(out, size, v6 ? "Host: [%.*s]:%d" : "Host: %.*s:%d", (int)n, host, port);
	if (w < 0 || (size_t)w >= size)
		return atv_err_set(err, ATV_E_USAGE, "address too long");
	return 0;
}

static void ap_free(struct atv_airplay *a)
{
	if (!a)
		return;
	atv_channel_free(a->ch);
	free(a->device);
	atv_crypto_wipe(a->secret, sizeof a->secret);
	free(a);
}

/* Connect to host:port through a plain channel. */
static int ap_connect(const char *host, int port, const struct atv_airplay_info *info,
		      const struct atv_airplay_opts *o, struct atv_airplay **out,
		      struct atv_err *err)
{
	struct atv_airplay *a;
	int fd = -1, r;

	*out = NULL;
	if (port <= 0 || port > 65535)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s announces no airplay port",
				   name_of(o, host));
	a = calloc(1, sizeof *a);
	if (!a || !(a->device = strdup(name_of(o, host)))) {
		free(a);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	a->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	a->version = info->version;
	r = host_header(host, port, a->host, sizeof a->host, err);
	if (r == 0)
		r = atv_tcp_connect(host, port, a->timeout_ms, &fd, err);
	if (r < 0)
		goto out;
	a->ch = atv_channel_new_direct(fd, err);
	if (!a->ch)
		r = -err->code;
out:
	if (r < 0) {
		ap_free(a);
		return r;
	}
	*out = a;
	return 0;
}

/* The printable start of a refusal's body, for the message. */
static void reason(const struct atv_buf *b, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len && n + 1 < size && n < REASON_MAX; i++) {
		unsigned char ch = b->data[i];

		if (ch == '\r' || ch == '\n' || ch == '\t')
			ch = ' ';
		if (ch < 0x20 || ch > 0x7e)
			break; /* a binary body: no reason to show */
		out[n++] = (char)ch;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* A status other than 200 as an error for "what" ("/play"). */
static int status_error(const struct atv_airplay *a, const char *what, long status,
			const struct atv_buf *body, struct atv_err *err)
{
	char why[REASON_MAX + 1];

	reason(body, why, sizeof why);
	if (status == 470)
		return atv_err_set(err, ATV_E_AUTH,
				   "%s: %s needs pairing (470 connection authorization "
				   "required): pair with atv-pair -p airplay",
				   a->device, what);
	if (status == 403)
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %s (403 forbidden)%s%s",
				   a->device, what, why[0] ? ": " : "", why);
	if (status == 401)
		return atv_err_set(err, ATV_E_REFUSED, "%s refused %s (401: password protected)",
				   a->device, what);
	return atv_err_set(err, status >= 400 && status < 600 ? ATV_E_REFUSED : ATV_E_PROTO,
			   "%s answered %s with status %ld%s%s", a->device, what, status,
			   why[0] ? ": " : "", why);
}

/* One request; any status is returned (the caller judges it).  headers
 * (at most EXTRA_HEADERS; a User-Agent among them replaces ours) follow
 * Host and User-Agent.  The reply's body goes to reply, whose max caps
 * it. */
static int request(struct atv_airplay *a, const char *method, const char *path, const void *body,
		   size_t len, const char *const *headers, long *status, struct atv_buf *reply,
		   struct atv_err *err)
{
	struct atv_httpmsg_req req = {0};
	struct atv_httpmsg msg;
	const char *lines[2 + EXTRA_HEADERS + 1];
	size_t n = 0;
	int r;

	if (a->broken)
		return atv_err_set(err, ATV_E_UNREACHABLE,
				   "%s: %s %.200s: the connection failed on an earlier request",
				   a->device, method, path);
	lines[n++] = a->host;
	if (!headers || !headers[0] || strncmp(headers[0], "User-Agent:", 11) != 0)
		lines[n++] = AGENT;
	for (size_t i = 0; headers && headers[i] && i < EXTRA_HEADERS; i++)
		lines[n++] = headers[i];
	lines[n] = NULL;
	req.method = method;
	req.uri = path;
	req.body = body;
	req.body_len = len;
	req.headers = lines;
	atv_buf_reset(reply);
	atv_httpmsg_init(&msg, ATV_HTTPMSG_REPLY, reply->max);
	r = atv_httpmsg_exchange(a->ch, &req, &msg, a->timeout_ms, err);
	if (r == 0) {
		*status = msg.status;
		r = atv_buf_append(reply, msg.body.data, msg.body.len, err);
	}
	if (r < 0) {
		a->broken = true;
		atv_err_prefix(err, "%s", a->device);
	}
	atv_httpmsg_release(&msg);
	/* A block whose tag does not verify is the device's doing (hostile
	 * or broken), not a credentials problem: a protocol error, as MRP. */
	if (r == -ATV_E_AUTH)
		r = atv_err_set(err, ATV_E_PROTO, "%s", err->msg);
	return r;
}

/* A request that must answer 200. */
static int request_ok(struct atv_airplay *a, const char *method, const char *path,
		      const void *body, size_t len, const char *const *headers,
		      struct atv_buf *reply, struct atv_err *err)
{
	long status = 0;
	int r = request(a, method, path, body, len, headers, &status, reply, err);

	if (r == 0 && status != 200)
		r = status_error(a, path, status, reply, err);
	return r;
}

/* Run a HAP exchange (setup or verify, through step) over POST path. */
typedef int (*step_fn)(void *ctx, const uint8_t *in, size_t inlen, struct atv_buf *out,
		       struct atv_err *err);

static int setup_step(void *ctx, const uint8_t *in, size_t inlen, struct atv_buf *out,
		      struct atv_err *err)
{
	return atv_hap_setup_step(ctx, in, inlen, out, err);
}

static int verify_step(void *ctx, const uint8_t *in, size_t inlen, struct atv_buf *out,
		       struct atv_err *err)
{
	return atv_hap_verify_step(ctx, in, inlen, out, err);
}

static int hap_run(struct atv_airplay *a, const char *path, const char *const *headers,
		   step_fn step, void *ctx, struct atv_err *err)
{
	struct atv_buf msg, reply;
	int r;

	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	r = step(ctx, NULL, 0, &msg, err);
	while (r == ATV_HAP_CONTINUE) {
		r = request_ok(a, "POST", path, msg.data, msg.len, headers, &reply, err);
		if (r == 0)
			r = step(ctx, reply.data, reply.len, &msg, err);
	}
	atv_buf_release(&msg);
	atv_buf_release(&reply);
	return r < 0 ? r : 0;
}

static int verify(struct atv_airplay *a, const struct atv_airplay_info *info, const char *creds,
		  struct atv_err *err)
{
	struct atv_hap_creds c;
	struct atv_hap_verify *v = NULL;
	struct atv_hap_cipher cipher;
	struct atv_err e = {0};
	int r;

	memset(&cipher, 0, sizeof cipher);
	if (atv_hap_creds_parse(creds, &c, &e) < 0) {
		atv_hap_creds_wipe(&c);
		return atv_err_set(err, ATV_E_AUTH,
				   "unusable airplay credentials for %s (%s): pair again with "
				   "atv-pair -p airplay",
				   a->device, e.msg);
	}
	v = atv_hap_verify_client_new(&c, err);
	atv_hap_creds_wipe(&c);
	if (!v)
		return -err->code;
	r = hap_run(a, "/pair-verify", pair_headers, verify_step, v, &e);
	if (r == -ATV_E_AUTH)
		r = atv_err_set(err, ATV_E_AUTH,
				"%s rejected the airplay credentials (%s): pair again with "
				"atv-pair -p airplay",
				a->device, e.msg);
	else if (r < 0)
		r = atv_err_set(err, -r, "pair-verify with %s: %s", a->device, e.msg);
	if (r == 0 && info->version >= 2) {
		r = atv_hap_verify_cipher(v, CONTROL_SALT, CONTROL_WRITE, CONTROL_READ, &cipher,
					  err);
		if (r == 0)
			r = atv_channel_encrypt(a->ch, &cipher, err);
		if (r == 0) {
			memcpy(a->secret, atv_hap_verify_shared(v), ATV_X25519_LEN);
			a->secret_len = ATV_X25519_LEN;
		}
	}
	if (r == 0)
		a->auth = info->version >= 2 ? AUTH_HAP : AUTH_HAP_PLAIN;
	atv_hap_cipher_wipe(&cipher);
	atv_hap_verify_free(v);
	return r;
}

/* Transient pair-setup: SRP with the fixed PIN up to M4, then the channel
 * keys from the SRP session key. */
static int transient(struct atv_airplay *a, struct atv_err *err)
{
	struct atv_hap_setup *h;
	struct atv_hap_cipher cipher;
	struct atv_err e = {0};
	int r;

	memset(&cipher, 0, sizeof cipher);
	h = atv_hap_setup_client_new_transient(err);
	if (!h)
		return -err->code;
	r = hap_run(a, "/pair-setup", transient_headers, setup_step, h, &e);
	if (r < 0)
		r = atv_err_set(err, -r, "transient pairing with %s failed: %s", a->device, e.msg);
	if (r == 0)
		r = atv_hap_setup_cipher(h, CONTROL_SALT, CONTROL_WRITE, CONTROL_READ, &cipher, err);
	if (r == 0)
		r = atv_channel_encrypt(a->ch, &cipher, err);
	if (r == 0) {
		a->auth = AUTH_TRANSIENT;
		memcpy(a->secret, atv_hap_setup_srp_key(h), ATV_SRP_KEY_LEN);
		a->secret_len = ATV_SRP_KEY_LEN;
	}
	atv_hap_cipher_wipe(&cipher);
	atv_hap_setup_free(h);
	return r;
}

int atv_airplay_open(const char *host, int port, const struct atv_airplay_info *info,
		     const char *credentials, const struct atv_airplay_opts *o,
		     struct atv_airplay **out, struct atv_err *err)
{
	struct atv_airplay *a = NULL;
	const char *name = name_of(o, host);
	bool creds = credentials && credentials[0];
	int r;

	*out = NULL;
	if (info->pairing == ATV_AP_PAIRING_DISABLED)
		return atv_err_set(err, ATV_E_REFUSED,
				   "airplay is disabled on %s (allow it under AirPlay settings)",
				   name);
	if (info->password && !creds)
		return atv_err_set(err, ATV_E_REFUSED,
				   "airplay on %s is password protected (not supported)", name);
	if (!creds && info->pairing == ATV_AP_PAIRING_MANDATORY && !info->hap)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "%s requires legacy airplay 1 pairing (/pair-setup-pin), which "
				   "is not supported",
				   name);
	if (!creds && info->pairing == ATV_AP_PAIRING_MANDATORY)
		return atv_err_set(err, ATV_E_AUTH,
				   "%s requires airplay pairing: pair with atv-pair -p airplay",
				   name);
	r = ap_connect(host, port, info, o, &a, err);
	if (r < 0)
		return r;
	if (creds)
		r = verify(a, info, credentials, err);
	else if (info->version >= 2 && info->transient)
		r = transient(a, err);
	if (r < 0) {
		ap_free(a);
		return r;
	}
	*out = a;
	return 0;
}

void atv_airplay_close(struct atv_airplay *a)
{
	ap_free(a);
}

const char *atv_airplay_auth(const struct atv_airplay *a)
{
	switch (a->auth) {
	case AUTH_HAP: return "hap";
	case AUTH_HAP_PLAIN: return "hap-plain";
	case AUTH_TRANSIENT: return "transient";
	default: return "none";
	}
}

struct atv_channel *atv_airplay_channel(struct atv_airplay *a)
{
	return a->ch;
}

const char *atv_airplay_device(const struct atv_airplay *a)
{
	return a->device;
}

int atv_airplay_cipher(const struct atv_airplay *a, const char *salt, const char *out_info,
		       const char *in_info, struct atv_hap_cipher *c, struct atv_err *err)
{
	uint8_t o[ATV_AEAD_KEY_LEN], i[ATV_AEAD_KEY_LEN];
	int r;

	if (!a->secret_len)
		return atv_err_set(err, ATV_E_USAGE, "no encrypted airplay 2 session with %s",
				   a->device);
	r = atv_hkdf(a->secret, a->secret_len, salt, out_info, o, err);
	if (r == 0)
		r = atv_hkdf(a->secret, a->secret_len, salt, in_info, i, err);
	if (r == 0)
		atv_hap_cipher_init(c, o, i);
	atv_crypto_wipe(o, sizeof o);
	atv_crypto_wipe(i, sizeof i);
	return r;
}

/* ---- pairing ---- */

/* The X-Apple-Client-Name header line for name: printable ASCII only (a
 * header line cannot hold CR or LF), cut to fit. */
static void client_name(const char *name, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "X-Apple-Client-Name: ");

	for (const char *c = name; *c && n + 1 < size; c++)
		out[n++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
	out[n] = '\0';
}

int atv_airplay_pair_begin(const char *host, int port, const struct atv_airplay_info *info,
			   const struct atv_airplay_opts *o, struct atv_airplay_pairing **out,
			   struct atv_err *err)
{
	struct atv_airplay_pairing *p;
	struct atv_buf reply;
	int r;

	*out = NULL;
	if (info->pairing == ATV_AP_PAIRING_DISABLED)
		return atv_err_set(err, ATV_E_REFUSED,
				   "airplay is disabled on %s (allow it under AirPlay settings)",
				   name_of(o, host));
	/* AirPlay 1 pairs with /pair-setup-pin (SRP-2048/SHA-1, AES-GCM,
	 * bplist bodies) and verifies with AES-CTR: not implemented */
	if (!info->hap)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "%s speaks airplay 1, whose pairing (/pair-setup-pin) is not "
				   "supported; it plays without pairing unless it asks for a pin",
				   name_of(o, host));
	p = calloc(1, sizeof *p);
	if (!p)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	client_name(o && o->name ? o->name : "atv-tools", p->name, sizeof p->name);
	p->headers[0] = pair_headers[0];
	p->headers[1] = pair_headers[1];
	p->headers[2] = p->name;
	r = atv_uuid(p->pairing_id, err);
	if (r == 0)
		r = ap_connect(host, port, info, o, &p->a, err);
	if (r == 0)
		r = request_ok(p->a, "POST", "/pair-pin-start", NULL, 0, p->headers + 2, &reply,
			       err);
	atv_buf_release(&reply);
	if (r < 0) {
		atv_airplay_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int atv_airplay_pair_finish(struct atv_airplay_pairing *p, const char *pin, char **credentials,
			    struct atv_err *err)
{
	struct atv_hap_setup *h;
	struct atv_err e = {0};
	int r;

	*credentials = NULL;
	if (p->used)
		return atv_err_set(err, ATV_E_USAGE, "pairing already finished");
	p->used = true;
	h = atv_hap_setup_client_new(pin, p->pairing_id, NULL, err);
	if (!h)
		return -err->code;
	r = hap_run(p->a, "/pair-setup", p->headers, setup_step, h, &e);
	if (r == -ATV_E_AUTH) {
		r = atv_err_set(err, ATV_E_AUTH, "%s: %s", p->a->device, e.msg);
		goto out;
	}
	if (r < 0) {
		r = atv_err_set(err, -r, "airplay pairing with %s failed: %s", p->a->device,
				e.msg);
		goto out;
	}
	r = atv_hap_setup_client_creds_string(h, credentials, err);
out:
	atv_hap_setup_free(h);
	return r;
}

void atv_airplay_pair_free(struct atv_airplay_pairing *p)
{
	if (!p)
		return;
	ap_free(p->a);
	atv_crypto_wipe(p, sizeof *p);
	free(p);
}

/* ---- playback ---- */

const char *atv_airplay_state_name(enum atv_airplay_state s)
{
	static const char *const names[] = {"idle",   "loading", "playing",
					    "paused", "ended",	 "failed"};

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* A real or integer node as a double, or false. */
static bool number(plist_t n, double *v)
{
	uint64_t u;

	if (!n)
		return false;
	switch (pl->get_node_type(n)) {
	case PLIST_REAL: pl->get_real_val(n, v); break;
	case PLIST_UINT:
		pl->get_uint_val(n, &u);
		*v = (double)(int64_t)u; /* bplist integers are signed 64-bit */
		break;
	default: return false;
	}
	return isfinite(*v);
}

/* Parse body as a plist dictionary (binary or XML).  Only the few
 * members we need are looked up by name: libplist 2.2 asserts (aborts)
 * when a dictionary it iterates has a key with a NUL in it, which a
 * device can send, so never iterate.  The body cap bounds the nesting
 * libplist recurses through (a 64 KiB binary plist nests at most ~16,000
 * deep; tested under ASan), and atv_bplist_check what shared references
 * expand to (libplist copies each one). */
int atv_airplay_plist_dict(const uint8_t *body, size_t len, plist_t *out, struct atv_err *err)
{
	plist_t p = NULL;
	int r;

	*out = NULL;
	if ((r = plist_api(err)) < 0)
		return r;
	if (len == 0)
		return atv_err_set(err, ATV_E_PROTO, "empty plist");
	if (len > ATV_AIRPLAY_BODY_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "plist of %zu bytes (limit %d)", len,
				   ATV_AIRPLAY_BODY_MAX);
	if ((r = atv_bplist_check(body, len, ATV_BPLIST_NODES_MAX, err)) < 0)
		return r;
	pl->from_memory((const char *)body, (uint32_t)len, &p);
	if (!p)
		return atv_err_set(err, ATV_E_PROTO, "not a plist");
	if (pl->get_node_type(p) != PLIST_DICT) {
		pl->free(p);
		return atv_err_set(err, ATV_E_PROTO, "plist is not a dictionary");
	}
	*out = p;
	return 0;
}

int atv_airplay_parse_playback(const uint8_t *body, size_t len, struct atv_airplay_playback *pb,
			       struct atv_err *err)
{
	plist_t d = NULL, e, n;
	double v = 0;
	int r;

	memset(pb, 0, sizeof *pb);
	pb->state = ATV_AP_IDLE;
	r = atv_airplay_plist_dict(body, len, &d, err);
	if (r < 0) {
		atv_err_prefix(err, "playback-info");
		return r;
	}
	e = pl->dict_get_item(d, "error");
	if (e) {
		pb->state = ATV_AP_FAILED;
		snprintf(pb->error, sizeof pb->error, "unknown error");
		if (pl->get_node_type(e) == PLIST_DICT) {
			n = pl->dict_get_item(e, "localizedDescription");
			if (n && pl->get_node_type(n) == PLIST_STRING) {
				uint64_t sl = 0;
				const char *s = pl->get_string_ptr(n, &sl);
				size_t k = 0;

				for (uint64_t i = 0; s && i < sl && k + 1 < sizeof pb->error; i++)
					if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
						pb->error[k++] = s[i];
				pb->error[k] = '\0';
			}
			if (number(pl->dict_get_item(e, "code"), &v) && fabs(v) < 1e15)
				pb->error_code = (long long)v;
		}
		goto out;
	}
	if (number(pl->dict_get_item(d, "position"), &v))
		pb->position = v;
	if (number(pl->dict_get_item(d, "rate"), &v))
		pb->rate = v;
	if (number(pl->dict_get_item(d, "duration"), &v)) {
		pb->has_duration = true;
		pb->duration = v;
		pb->state = pb->rate == 0 ? ATV_AP_PAUSED : ATV_AP_PLAYING;
	} else if (pl->dict_get_size(d) > 0) {
		/* a video is there but has no duration yet: loading */
		pb->state = ATV_AP_LOADING;
	}
out:
	pl->free(d);
	return 0;
}

int atv_airplay_playback(struct atv_airplay *a, struct atv_airplay_playback *pb,
			 struct atv_err *err)
{
	struct atv_buf body;
	int r;

	atv_buf_init(&body, ATV_AIRPLAY_BODY_MAX);
	r = request_ok(a, "GET", "/playback-info", NULL, 0, NULL, &body, err);
	if (r == 0) {
		r = atv_airplay_parse_playback(body.data, body.len, pb, err);
		if (r < 0)
			atv_err_prefix(err, "%s", a->device);
	}
	atv_buf_release(&body);
	return r;
}

/* The /play body: a binary plist dictionary.  AirPlay 1 receivers get
 * what pyatv sends them (protocols/airplay/player.py): Content-Location,
 * Start-Position as a real and X-Apple-Session-ID; AirPlay 2 devices the
 * fuller form with Start-Position-Seconds and uuid. */
static int play_body(const struct atv_airplay *a, const char *url, double start, char **bin,
		     uint32_t *len, struct atv_err *err)
{
	plist_t d;
	int r;

	*bin = NULL;
	*len = 0;
	if ((r = plist_api(err)) < 0)
		return r;
	d = pl->new_dict();
	if (!d)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	pl->dict_set_item(d, "Content-Location", pl->new_string(url));
	if (a->version < 2) {
		pl->dict_set_item(d, "Start-Position", pl->new_real(start));
		pl->dict_set_item(d, "X-Apple-Session-ID", pl->new_string(a->session));
	} else {
		pl->dict_set_item(d, "Start-Position-Seconds", pl->new_real(start));
		pl->dict_set_item(d, "uuid", pl->new_string(a->session));
		pl->dict_set_item(d, "streamType", pl->new_uint(1));
		pl->dict_set_item(d, "mediaType", pl->new_string("file"));
		pl->dict_set_item(d, "volume", pl->new_real(1.0));
	}
	pl->to_bin(d, bin, len);
	pl->free(d);
	if (!*bin || !*len)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static int post_play(struct atv_airplay *a, const char *url, double start, struct atv_err *err)
{
	char hdr[64], *bin = NULL;
	const char *headers[3];
	struct atv_buf reply;
	uint32_t len = 0;
	long status = 0;
	int r;

	if (!url || !url[0] || strlen(url) > ATV_AIRPLAY_URL_MAX)
		return atv_err_set(err, ATV_E_USAGE, "play_url needs a url of 1..%d characters",
				   ATV_AIRPLAY_URL_MAX);
	if (!isfinite(start) || start < 0)
		return atv_err_set(err, ATV_E_USAGE, "start must be a number of seconds >= 0");
	r = atv_uuid(a->session, err);
	if (r == 0)
		r = play_body(a, url, start, &bin, &len, err);
	if (r < 0)
		goto out;
	snprintf(hdr, sizeof hdr, "X-Apple-Session-ID: %s", a->session);
	if (a->version < 2) {
		headers[0] = AGENT_AIRPLAY1;
		headers[1] = "Content-Type: application/x-apple-binary-plist";
	} else {
		headers[0] = "Content-Type: application/x-apple-binary-plist";
		headers[1] = hdr;
	}
	headers[2] = NULL;
	atv_buf_init(&reply, ATV_AIRPLAY_BODY_MAX);
	for (int i = 0; i < PLAY_ATTEMPTS; i++) {
		if (i)
			sleep_ms(PLAY_RETRY_MS);
		r = request(a, "POST", "/play", bin, len, headers, &status, &reply, err);
		if (r < 0 || status != 500)
			break;
	}
	if (r == 0 && status != 200)
		r = status_error(a, "/play", status, &reply, err);
	if (r == 0)
		a->played = true;
	atv_buf_release(&reply);
out:
	if (bin)
		pl->to_bin_free(bin);
	return r;
}

int atv_airplay_play_url(struct atv_airplay *a, const char *url, double start, bool wait_end,
			 atv_airplay_progress_fn progress, void *ctx,
			 struct atv_airplay_playback *pb, struct atv_err *err)
{
	enum atv_airplay_state last = ATV_AP_IDLE;
	int64_t load_deadline;
	bool started = false;
	int r;

	memset(pb, 0, sizeof *pb);
	r = post_play(a, url, start, err);
	if (r < 0)
		return r;
	load_deadline = atv_clock_ms() + (int64_t)LOAD_FACTOR * a->timeout_ms;
	for (;;) {
		r = atv_airplay_playback(a, pb, err);
		if (r < 0)
			return r;
		if (pb->state == ATV_AP_FAILED)
			return atv_err_set(err, ATV_E_REFUSED, "%s could not play the video: %s",
					   a->device, pb->error);
		if (pb->state == ATV_AP_IDLE)
			/* pyatv: no duration after playing means it ended; before
			 * that the device has not picked the video up yet */
			pb->state = started ? ATV_AP_ENDED : ATV_AP_LOADING;
		if (pb->state == ATV_AP_PLAYING || pb->state == ATV_AP_PAUSED)
			started = true;
		if (pb->state != last && progress)
			progress(ctx, pb);
		last = pb->state;
		if (pb->state == ATV_AP_ENDED || (started && !wait_end))
			return 0;
		if (!started && atv_clock_ms() > load_deadline)
			return atv_err_set(err, ATV_E_UNREACHABLE,
					   "%s did not start the video within %d s", a->device,
					   LOAD_FACTOR * a->timeout_ms / 1000);
		sleep_ms(ATV_AIRPLAY_POLL_MS);
	}
}

static int post_simple(struct atv_airplay *a, const char *path, struct atv_err *err)
{
	struct atv_buf reply;
	int r;

	atv_buf_init(&reply, ATV_AIRPLAY_BODY_MAX);
	r = request_ok(a, "POST", path, NULL, 0, NULL, &reply, err);
	atv_buf_release(&reply);
	return r;
}

int atv_airplay_scrub(struct atv_airplay *a, double seconds, struct atv_err *err)
{
	char path[64];

	if (!isfinite(seconds) || seconds < 0 || seconds > 1e9)
		return atv_err_set(err, ATV_E_USAGE, "position out of range");
	snprintf(path, sizeof path, "/scrub?position=%.6f", seconds);
	return post_simple(a, path, err);
}

int atv_airplay_rate(struct atv_airplay *a, double rate, struct atv_err *err)
{
	char path[64];

	if (!isfinite(rate) || fabs(rate) > 64)
		return atv_err_set(err, ATV_E_USAGE, "rate out of range");
	snprintf(path, sizeof path, "/rate?value=%.6f", rate);
	return post_simple(a, path, err);
}

int atv_airplay_stop(struct atv_airplay *a, struct atv_err *err)
{
	return post_simple(a, "/stop", err);
}
