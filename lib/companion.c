/* companion.c - a Companion link session: connection, pairing frames,
 * pair-verify, the session cipher, requests and replies by _x, events.
 *
 * Pairing messages are OPACK dicts {_pd: TLV8, ...} in PS_Start/PS_Next
 * and PV_Start/PV_Next frames; the device answers in PS_Next/PV_Next, one
 * exchange at a time, so the frame type is the match.  Everything after
 * pair-verify is an E_OPACK dict sealed with the ClientEncrypt-main /
 * ServerEncrypt-main keys (companion_frame.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "companion.h"
#include "companion_frame.h"
#include "log.h"
#include "tcp.h"
#include "banned.h"

#define READ_CHUNK 16384
/* Frames one atv_companion_process call handles at most: a device that
 * floods us cannot keep the caller from its other work. */
#define PROCESS_MAX_FRAMES 512
#define MSG_MAX		   ATV_COMPANION_MAX_FRAME

/* _t of a message */
enum { T_EVENT = 1, T_REQUEST = 2, T_RESPONSE = 3 };

struct atv_companion {
	int fd;
	char peer[ATV_TCP_PEERLEN];
	char *device;
	int timeout_ms;
	atv_companion_event_fn event;
	void *event_ctx;

	struct atv_companion_frame_dec dec;
	uint8_t rbuf[READ_CHUNK]; /* bytes read, rbuf[roff..rlen) not yet framed */
	size_t rlen, roff;
	int64_t stall_deadline; /* a frame begun must be complete by then; 0: none */

	struct atv_buf msg; /* an encoded message */
	struct atv_buf out; /* a frame on its way out */
	bool encrypted;
	struct atv_hap_cipher cipher;
	int64_t first_x, next_x; /* the _x values we have used: [first_x, next_x) */

	struct atv_err dead; /* the sticky error once the session is broken */
};

/* What a waiting call accepts. */
struct wait {
	int auth;	       /* the pairing frame type answered, or 0 */
	int64_t xid;	       /* else the _x of the reply */
	struct atv_opack *got; /* the message, once it came */
};

static int fail(struct atv_companion *s, struct atv_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct atv_companion *s, struct atv_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = atv_err_stick(&s->dead, err, 0, "companion", code, fmt, ap);
	va_end(ap);
	return r;
}

/* Frame and send the message in s->msg. */
static int send_msg(struct atv_companion *s, uint8_t type, struct atv_err *err)
{
	struct atv_err e = {0};
	int r;

	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	atv_buf_reset(&s->out);
	r = atv_companion_frame_encode(&s->out, type, s->msg.data, s->msg.len,
				       s->encrypted ? &s->cipher : NULL, err);
	if (r < 0)
		return r;
	r = atv_tcp_write(s->fd, s->out.data, s->out.len, atv_deadline_ms(s->timeout_ms), &e);
	if (r < 0)
		return fail(s, err, ATV_E_UNREACHABLE, "unable to send to %s: %s", s->device,
			    e.msg);
	return 0;
}

/* Encode v (consumed) into s->msg. */
static int encode(struct atv_companion *s, struct atv_opack *v, struct atv_err *err)
{
	int r;

	if (!v)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_buf_reset(&s->msg);
	r = atv_opack_encode(v, &s->msg, err);
	atv_opack_free(v);
	return r;
}

/* The next frame: 1 and *f, 0 when none is complete by deadline (one in
 * the past: only what one read brings now), or an error.  As mrp.c's
 * next_msg: the clock is checked after every read, and a frame begun must
 * be complete within the timeout once we have read all there is. */
static int next_frame(struct atv_companion *s, int64_t deadline, struct atv_companion_frame *f,
		      struct atv_err *err)
{
	struct atv_err e = {0};
	size_t used, got = 0;
	bool eof, tried = false;
	int64_t now, until;
	int r;

	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	for (;;) {
		while (s->roff < s->rlen) {
			r = atv_companion_frame_dec_push(&s->dec, s->encrypted ? &s->cipher : NULL,
							 s->rbuf + s->roff, s->rlen - s->roff,
							 &used, f, &e);
			if (r < 0)
				return fail(s, err, r == -ATV_E_NOMEM ? ATV_E_NOMEM : ATV_E_PROTO,
					    "hostile frame from %s: %s", s->device, e.msg);
			s->roff += used;
			if (r > 0) {
				s->stall_deadline = 0;
				return 1;
			}
		}
		if (atv_companion_frame_dec_partial(&s->dec) && !s->stall_deadline)
			s->stall_deadline = atv_deadline_ms(s->timeout_ms);
		now = atv_clock_ms();
		if (tried) {
			if (s->stall_deadline && now >= s->stall_deadline && got < sizeof s->rbuf)
				return fail(s, err, ATV_E_PROTO,
					    "%s did not finish a message within %.1f s", s->device,
					    s->timeout_ms / 1000.0);
			if (now >= deadline)
				return 0;
		}
		until = deadline;
		if (s->stall_deadline && s->stall_deadline < until)
			until = s->stall_deadline;
		r = atv_tcp_read(s->fd, s->rbuf, sizeof s->rbuf, until, &got, &eof, &e);
		tried = true;
		if (r < 0)
			return fail(s, err, ATV_E_UNREACHABLE, "connection to %s lost: %s",
				    s->device, e.msg);
		if (eof)
			return fail(
			    s, err, ATV_E_UNREACHABLE, "%s closed the connection%s", s->device,
			    atv_companion_frame_dec_partial(&s->dec) ? " in the middle of a message"
								     : "");
		s->rlen = got;
		s->roff = 0;
	}
}

/* Take one frame: the reply w waits for goes to w->got, events to the
 * callback; the rest is dropped.  A message that is not an OPACK dict is
 * hostile. */
static int handle(struct atv_companion *s, const struct atv_companion_frame *f, struct wait *w,
		  struct atv_err *err)
{
	struct atv_opack *m = NULL;
	struct atv_err e = {0};
	int64_t t = 0, x;
	bool auth = f->type >= ATV_COMPANION_PS_START && f->type <= ATV_COMPANION_PV_NEXT;

	if (!auth && (f->type < ATV_COMPANION_U_OPACK || f->type > ATV_COMPANION_P_OPACK))
		return 0; /* PA_*, session and family frames: unused, as in pyatv */
	if (atv_opack_decode(f->payload, f->len, &m, &e) < 0)
		return fail(s, err, e.code == ATV_E_NOMEM ? ATV_E_NOMEM : ATV_E_PROTO,
			    "undecodable message from %s: %s", s->device, e.msg);
	if (m->type != ATV_OPACK_DICT) {
		atv_opack_free(m);
		return fail(s, err, ATV_E_PROTO, "message from %s is not a dictionary", s->device);
	}
	if (auth) {
		if (w && w->auth == f->type && !w->got)
			w->got = m, m = NULL;
		atv_opack_free(m);
		return 0;
	}
	atv_opack_get_int(m, "_t", &t);
	if (t == T_EVENT) {
		const char *name = atv_opack_get_str(m, "_i");

		atv_debug("companion: <- event %s", name ? name : "?");
		if (name && s->event)
			s->event(s->event_ctx, name, atv_opack_get(m, "_c"));
	} else if (t == T_RESPONSE) {
		if (!atv_opack_get_int(m, "_x", &x) || x < s->first_x || x >= s->next_x) {
			atv_opack_free(m);
			return fail(s, err, ATV_E_PROTO, "%s answered a request never sent",
				    s->device);
		}
		if (w && !w->auth && x == w->xid && !w->got)
			w->got = m, m = NULL;
	}
	/* requests from the device are not for a remote control */
	atv_opack_free(m);
	return 0;
}

/* Handle frames until w (may be NULL) got its message (1) or deadline
 * (0), or an error. */
static int run_until(struct atv_companion *s, int64_t deadline, struct wait *w, struct atv_err *err)
{
	struct atv_companion_frame f;
	int r;

	for (;;) {
		r = next_frame(s, deadline, &f, err);
		if (r > 0)
			r = handle(s, &f, w, err);
		if (r < 0)
			return r;
		if (w && w->got)
			return 1;
		if (atv_clock_ms() >= deadline)
			return 0;
	}
}

/* Wait for what w describes until the timeout, handing the rest on. */
static int wait_for(struct atv_companion *s, struct wait *w, const char *what, struct atv_err *err)
{
	int r = run_until(s, atv_deadline_ms(s->timeout_ms), w, err);

	if (r == 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "%s did not answer %s within %.1f s",
				   s->device, what, s->timeout_ms / 1000.0);
	return r < 0 ? r : 0;
}

int atv_companion_pair_exchange(struct atv_companion *s, uint8_t type, const struct atv_buf *tlv,
				bool expect_reply, struct atv_buf *reply, struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();
	struct wait w = {0};
	const uint8_t *pd;
	size_t len;
	int r;

	/* pyatv 0.18: {_pd, _pwTy 1} for setup, {_pd, _auTy 4} to start a
	 * verify, and an _x on every frame */
	r = atv_opack_dict_set(d, "_pd", atv_opack_data(tlv->data, tlv->len));
	if (r == 0 && (type == ATV_COMPANION_PS_START || type == ATV_COMPANION_PS_NEXT))
		r = atv_opack_dict_set(d, "_pwTy", atv_opack_int(1));
	if (r == 0 && type == ATV_COMPANION_PV_START)
		r = atv_opack_dict_set(d, "_auTy", atv_opack_int(4));
	if (r == 0)
		r = atv_opack_dict_set(d, "_x", atv_opack_int(s->next_x++));
	if (r < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	r = encode(s, d, err);
	if (r == 0)
		r = send_msg(s, type, err);
	if (r < 0 || !expect_reply)
		return r;
	w.auth = type <= ATV_COMPANION_PS_NEXT ? ATV_COMPANION_PS_NEXT : ATV_COMPANION_PV_NEXT;
	r = wait_for(s, &w, "pairing", err);
	if (r < 0)
		return r;
	atv_buf_reset(reply);
	pd = atv_opack_get_data(w.got, "_pd", &len);
	if (!pd)
		r = fail(s, err, ATV_E_PROTO, "%s sent a pairing message without pairing data",
			 s->device);
	else
		r = atv_buf_append(reply, pd, len, err);
	atv_opack_free(w.got);
	return r;
}

int atv_companion_verify(struct atv_companion *s, const struct atv_hap_creds *c,
			 struct atv_err *err)
{
	struct atv_hap_verify *v;
	struct atv_buf msg, reply;
	struct atv_err e = {0};
	uint8_t type = ATV_COMPANION_PV_START;
	int r;

	v = atv_hap_verify_client_new(c, err);
	if (!v)
		return err && err->code ? -err->code : -ATV_E_NOMEM;
	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	r = atv_hap_verify_step(v, NULL, 0, &msg, &e);
	while (r == ATV_HAP_CONTINUE) {
		r = atv_companion_pair_exchange(s, type, &msg, true, &reply, err);
		if (r < 0)
			goto out;
		type = ATV_COMPANION_PV_NEXT;
		r = atv_hap_verify_step(v, reply.data, reply.len, &msg, &e);
	}
	if (r == -ATV_E_AUTH) {
		atv_debug("companion: pair-verify: %s", e.msg);
		r = atv_err_set(err, ATV_E_AUTH,
				"companion credentials rejected by %s: pair again with atv-pair -p "
				"companion",
				s->device);
		goto out;
	}
	if (r < 0) {
		r = atv_err_set(err, -r, "pair-verify with %s failed: %s", s->device, e.msg);
		goto out;
	}
	r = atv_hap_verify_cipher(v, ATV_COMPANION_SALT, ATV_COMPANION_WRITE, ATV_COMPANION_READ,
				  &s->cipher, err);
	if (r == 0) {
		/* every frame after M4 is sealed, both ways, counters from 0 */
		s->encrypted = true;
		atv_debug("companion: pair-verify done, session encrypted");
	}
out:
	atv_buf_release(&msg);
	atv_buf_release(&reply);
	atv_hap_verify_free(v);
	return r;
}

/* {_i name, _t t, _c content, _x next}: pyatv's key order. */
static int send_opack(struct atv_companion *s, const char *name, int t, struct atv_opack *content,
		      int64_t *xid, struct atv_err *err)
{
	struct atv_opack *d = atv_opack_dict();
	int r;

	*xid = s->next_x;
	r = atv_opack_dict_set(d, "_i", atv_opack_str(name));
	if (r == 0)
		r = atv_opack_dict_set(d, "_t", atv_opack_int(t));
	if (r == 0)
		r = atv_opack_dict_set(d, "_c", content ? content : atv_opack_dict());
	else
		atv_opack_free(content);
	if (r == 0)
		r = atv_opack_dict_set(d, "_x", atv_opack_int(s->next_x++));
	if (r < 0) {
		atv_opack_free(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	r = encode(s, d, err);
	if (r == 0) {
		atv_debug("companion: -> %s %s", t == T_EVENT ? "event" : "request", name);
		r = send_msg(s, ATV_COMPANION_E_OPACK, err);
	}
	return r;
}

int atv_companion_request(struct atv_companion *s, const char *name, struct atv_opack *content,
			  struct atv_opack **reply, struct atv_err *err)
{
	struct wait w = {0};
	const char *em;
	int64_t ec = 0;
	int r;

	*reply = NULL;
	r = send_opack(s, name, T_REQUEST, content, &w.xid, err);
	if (r == 0)
		r = wait_for(s, &w, name, err);
	if (r < 0)
		return r;
	if (atv_opack_get(w.got, "_em") || atv_opack_get(w.got, "_ec")) {
		/* pyatv: "Command failed: _em"; iOS devices add _ec (an
		 * RPErrorDomain code) and _ed */
		em = atv_opack_get_str(w.got, "_em");
		atv_opack_get_int(w.got, "_ec", &ec);
		r = atv_err_set(err, ATV_E_REFUSED, "%s refused %s: %.80s (%lld)", s->device, name,
				em ? em : "error", (long long)ec);
		atv_opack_free(w.got);
		return r;
	}
	*reply = w.got;
	return 0;
}

int atv_companion_event(struct atv_companion *s, const char *name, struct atv_opack *content,
			struct atv_err *err)
{
	int64_t xid;

	return send_opack(s, name, T_EVENT, content, &xid, err);
}

int atv_companion_send(struct atv_companion *s, const char *name, struct atv_opack *content,
		       struct atv_err *err)
{
	int64_t xid;

	return send_opack(s, name, T_REQUEST, content, &xid, err);
}

int atv_companion_pump(struct atv_companion *s, int ms, struct atv_err *err)
{
	int r = run_until(s, atv_clock_ms() + (ms > 0 ? ms : 0), NULL, err);

	return r < 0 ? r : 0;
}

int atv_companion_broken(const struct atv_companion *s)
{
	return -s->dead.code;
}

int atv_companion_fd(const struct atv_companion *s)
{
	return s->fd;
}

int atv_companion_timeout_ms(const struct atv_companion *s)
{
	int64_t t;

	if (s->dead.code || s->roff < s->rlen)
		return 0; /* report the error / handle bytes already read */
	if (!s->stall_deadline)
		return -1;
	t = s->stall_deadline - atv_clock_ms();
	return t <= 0 ? 0 : t > 3600000 ? 3600000 : (int)t;
}

int atv_companion_process(struct atv_companion *s, struct atv_err *err)
{
	struct atv_companion_frame f;
	int r;

	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	for (int n = 0; n < PROCESS_MAX_FRAMES; n++) {
		r = next_frame(s, 0, &f, err);
		if (r > 0)
			r = handle(s, &f, NULL, err);
		if (r <= 0)
			return r;
	}
	return 0;
}

int atv_companion_connect(const char *host, int port, const struct atv_companion_opts *o,
			  struct atv_companion **out, struct atv_err *err)
{
	struct atv_companion *s;
	uint16_t x0;
	int r;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	s->fd = -1;
	atv_companion_frame_dec_init(&s->dec, ATV_COMPANION_MAX_FRAME);
	atv_buf_init(&s->msg, MSG_MAX);
	atv_buf_init(&s->out, MSG_MAX + ATV_COMPANION_HEADER_LEN + ATV_AEAD_TAG_LEN);
	s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
	s->event = o ? o->event : NULL;
	s->event_ctx = o ? o->event_ctx : NULL;
	atv_tcp_peer_name(s->peer, sizeof s->peer, host, port);
	s->device = strdup(o && o->device ? o->device : s->peer);
	if (!s->device) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	/* pyatv starts _x at a random 0..65536 */
	r = atv_random(&x0, sizeof x0, err);
	if (r < 0)
		goto out;
	s->first_x = s->next_x = x0;
	r = atv_tcp_connect(host, port, s->timeout_ms, &s->fd, err);
	if (r == 0)
		atv_debug("companion: connected to %s", s->peer);
out:
	if (r < 0) {
		atv_companion_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void atv_companion_close(struct atv_companion *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	atv_companion_frame_dec_release(&s->dec);
	atv_buf_release(&s->msg);
	atv_buf_release(&s->out);
	atv_hap_cipher_wipe(&s->cipher);
	free(s->device);
	free(s);
}
