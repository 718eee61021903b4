/* mrp.c - an MRP session: connection, DEVICE_INFO, pair-verify, the
 * session cipher, requests and replies, the heartbeat.
 *
 * Connect sequence (pyatv/protocols/mrp/protocol.py): TCP -> DEVICE_INFO
 * (in the clear; the device answers nothing before it) -> pair-verify over
 * CRYPTO_PAIRING -> ChaCha20-Poly1305 on every frame with the
 * MediaRemote-Write/Read keys -> SET_CONNECTION_STATE(Connected) ->
 * CLIENT_UPDATES_CONFIG.  Replies repeat the request's identifier, except
 * CRYPTO_PAIRING replies, which have none (one exchange at a time). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mrp.h"
#include "mrp_frame.h"
#include "tcp.h"
#include "banned.h"

#define READ_CHUNK 16384
/* Reads per atv_mrp_process call (and ATV_MRP_PROCESS_MAX_MSGS): a peer
 * that floods us cannot keep the caller from its other work (a 16 KB read
 * holds 5,000 tiny messages); what is left is handled on the next call,
 * which atv_mrp_timeout_ms asks for at once. */
#define READS_PER_PROCESS 64

struct atv_mrp {
	/* NULL: our own TCP connection (fd, framing, cipher below) */
	const struct atv_mrp_transport *tr;
	void *tr_ctx;
	int fd;
	char peer[ATV_TCP_PEERLEN];
	char *device;
	char pairing_id[ATV_UUID_SIZE];
	char *name;
	int timeout_ms;
	atv_mrp_push_fn push;
	void *push_ctx;

	struct atv_mrp_frame_dec dec;
	uint8_t rbuf[READ_CHUNK]; /* bytes read, rbuf[roff..rlen) not yet framed */
	size_t rlen, roff;
	int64_t stall_deadline; /* a frame begun must be complete by then; 0: none */

	struct atv_buf pt;  /* an opened frame's plaintext */
	struct atv_buf ct;  /* a sealed message */
	struct atv_buf out; /* a framed message on its way out */
	bool encrypted;
	struct atv_hap_cipher cipher;

	Mrp__ProtocolMessage *devinfo;
	int64_t next_hb; /* 0: heartbeat not running */
	int64_t hb_deadline;
	char hb_id[ATV_UUID_SIZE]; /* the heartbeat waiting for its reply, or "" */

	struct atv_err dead; /* the sticky error once the session is broken */
};

/* What a waiting call accepts as its reply. */
struct match {
	const char *identifier; /* NULL: any */
	int type;		/* -1: any */
	bool either;		/* identifier or type is enough */
};

static const char *dev(const struct atv_mrp *s)
{
	return s->device;
}

/* The session is broken: remember why (later calls fail the same way)
 * and return -code. */
static int fail(struct atv_mrp *s, struct atv_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct atv_mrp *s, struct atv_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = atv_err_stick(&s->dead, err, 0, "mrp", code, fmt, ap);
	va_end(ap);
	return r;
}

/* The type of a packed message, for logs: protobuf-c writes fields in
 * number order, so a message with a type starts with field 1's varint. */
static const char *packed_type(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	if (len < 2 || p[0] != 0x08)
		return "UNKNOWN";
	for (size_t i = 1; i < len && i < 6; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * (i - 1));
		if (!(p[i] & 0x80))
			return atv_mrp_msg_type_name((int)v);
	}
	return "UNKNOWN";
}

static int send_raw(struct atv_mrp *s, const uint8_t *p, size_t len, struct atv_err *err)
{
	struct atv_err e = {0};
	int r;

	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	if (s->tr) {
		atv_debug("mrp: -> %s (%zu bytes)", packed_type(p, len), len);
		r = s->tr->send(s->tr_ctx, p, len, &e);
		return r < 0 ? fail(s, err, -r, "%s", e.msg) : 0;
	}
	atv_buf_reset(&s->out);
	if (s->encrypted) {
		atv_buf_reset(&s->ct);
		r = atv_hap_cipher_seal(&s->cipher, p, len, &s->ct, err);
		if (r == 0)
			r = atv_mrp_frame_encode(&s->out, s->ct.data, s->ct.len, err);
	} else {
		r = atv_mrp_frame_encode(&s->out, p, len, err);
	}
	if (r < 0)
		return r;
	atv_debug("mrp: -> %s (%zu bytes)", packed_type(p, len), len);
	r = atv_tcp_write(s->fd, s->out.data, s->out.len, atv_deadline_ms(s->timeout_ms), &e);
	if (r < 0)
		return fail(s, err, ATV_E_UNREACHABLE, "unable to send to %s: %s", dev(s), e.msg);
	return 0;
}

int atv_mrp_send(struct atv_mrp *s, const struct atv_buf *msg, struct atv_err *err)
{
	return send_raw(s, msg->data, msg->len, err);
}

/* One whole frame: open it (after verify) and unpack it. */
static int decode(struct atv_mrp *s, const uint8_t *f, size_t flen, Mrp__ProtocolMessage **m,
		  struct atv_err *err)
{
	struct atv_err e = {0};
	int r;

	if (s->encrypted) {
		atv_buf_reset(&s->pt);
		r = atv_hap_cipher_open(&s->cipher, f, flen, &s->pt, &e);
		if (r == -ATV_E_AUTH)
			return fail(s, err, ATV_E_PROTO,
				    "bad ciphertext from %s: a message failed authentication",
				    dev(s));
		if (r < 0)
			return fail(s, err, ATV_E_PROTO, "bad encrypted message from %s: %s",
				    dev(s), e.msg);
		f = s->pt.data ? s->pt.data : (const uint8_t *)"";
		flen = s->pt.len;
	}
	r = atv_mrp_msg_unpack(f, flen, m, &e);
	if (r < 0)
		return fail(s, err, ATV_E_PROTO, "%s from %s", e.msg, dev(s));
	atv_debug("mrp: <- %s (%zu bytes)",
		  (*m)->has_type ? atv_mrp_msg_type_name((*m)->type) : "no type", flen);
	return 1;
}

/* The next message: 1 and *m, 0 when none is complete by deadline (a
 * deadline in the past: only what one read brings now), or an error.
 * The clock is checked after every read, so a peer that keeps sending
 * (a frame trickling in, or an endless stream) cannot hold us past the
 * deadline.  A frame begun must be complete within the session timeout:
 * that is checked once we have read all the peer has sent (a short read
 * or none), so frames that piled up while the caller was busy elsewhere
 * are not held against the peer. */
static int next_msg(struct atv_mrp *s, int64_t deadline, Mrp__ProtocolMessage **m,
		    struct atv_err *err)
{
	struct atv_err e = {0};
	const uint8_t *f;
	size_t flen, used, got = 0;
	bool eof, tried = false;
	int64_t now, until;
	int r;

	*m = NULL;
	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	if (s->tr) {
		r = s->tr->recv(s->tr_ctx, deadline, &f, &flen, &e);
		if (r < 0)
			return fail(s, err, -r, "%s", e.msg);
		return r == 0 ? 0 : decode(s, f ? f : (const uint8_t *)"", flen, m, err);
	}
	for (;;) {
		while (s->roff < s->rlen) {
			r = atv_mrp_frame_dec_push(&s->dec, s->rbuf + s->roff, s->rlen - s->roff,
						   &used, &f, &flen, &e);
			if (r < 0)
				return fail(s, err, r == -ATV_E_NOMEM ? ATV_E_NOMEM : ATV_E_PROTO,
					    "hostile frame from %s: %s", dev(s), e.msg);
			s->roff += used;
			if (r > 0) {
				s->stall_deadline = 0;
				return decode(s, f, flen, m, err);
			}
		}
		if (atv_mrp_frame_dec_partial(&s->dec) && !s->stall_deadline)
			s->stall_deadline = atv_deadline_ms(s->timeout_ms);
		now = atv_clock_ms();
		if (tried) {
			if (s->stall_deadline && now >= s->stall_deadline && got < sizeof s->rbuf)
				return fail(s, err, ATV_E_PROTO,
					    "%s did not finish a message within %.1f s", dev(s),
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
			return fail(s, err, ATV_E_UNREACHABLE, "connection to %s lost: %s", dev(s),
				    e.msg);
		if (eof)
			return fail(s, err, ATV_E_UNREACHABLE, "%s closed the connection%s", dev(s),
				    atv_mrp_frame_dec_partial(&s->dec)
					? " in the middle of a message"
					: "");
		s->rlen = got;
		s->roff = 0;
	}
}

/* A message no call waits for: the heartbeat's reply, or a push. */
static void dispatch(struct atv_mrp *s, const Mrp__ProtocolMessage *m)
{
	if (s->hb_id[0] && m->identifier && strcmp(m->identifier, s->hb_id) == 0) {
		s->hb_id[0] = 0;
		return;
	}
	if (s->push)
		s->push(s->push_ctx, m);
}

static bool matches(const Mrp__ProtocolMessage *m, const struct match *w)
{
	bool id = !w->identifier || (m->identifier && strcmp(m->identifier, w->identifier) == 0);
	bool type = w->type < 0 || (m->has_type && (int)m->type == w->type);

	if (w->either)
		return (w->identifier && m->identifier && id) || (w->type >= 0 && type);
	return id && type;
}

/* Wait until deadline for the message w describes, handing others on.
 * The deadline holds whatever else arrives: a device that sends other
 * messages without end does not answer either. */
static int wait_for(struct atv_mrp *s, const struct match *w, const char *what,
		    Mrp__ProtocolMessage **reply, struct atv_err *err)
{
	int64_t deadline = atv_deadline_ms(s->timeout_ms);
	Mrp__ProtocolMessage *m;
	int r;

	for (;;) {
		r = next_msg(s, deadline, &m, err);
		if (r < 0)
			return r;
		if (r > 0 && matches(m, w)) {
			*reply = m;
			return 0;
		}
		if (r > 0) {
			dispatch(s, m);
			atv_mrp_msg_free(m);
		}
		if (atv_clock_ms() >= deadline)
			return atv_err_set(err, ATV_E_UNREACHABLE,
					   "%s did not answer %s within %.1f s", dev(s), what,
					   s->timeout_ms / 1000.0);
	}
}

int atv_mrp_request(struct atv_mrp *s, const struct atv_buf *msg, const char *identifier,
		    Mrp__ProtocolMessage **reply, struct atv_err *err)
{
	struct match w = {identifier, -1, false};
	int r;

	*reply = NULL;
	r = send_raw(s, msg->data, msg->len, err);
	if (r == 0)
		r = wait_for(s, &w, packed_type(msg->data, msg->len), reply, err);
	return r;
}

int atv_mrp_sync(struct atv_mrp *s, struct atv_err *err)
{
	struct atv_buf b;
	struct atv_mrp_ids ids;
	Mrp__ProtocolMessage *reply = NULL;
	struct atv_err e = {0};
	int r;

	/* over a transport, first its own sync (the tunnel: the device took
	 * our last frame), then the round trip: it handled it */
	if (s->tr && s->tr->sync) {
		if (s->dead.code)
			return atv_err_stuck(&s->dead, err);
		if ((r = s->tr->sync(s->tr_ctx, &e)) < 0)
			return fail(s, err, -r, "%s", e.msg);
	}
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_empty(&b, &ids, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE, err);
	if (r == 0)
		r = atv_mrp_request(s, &b, ids.identifier, &reply, err);
	atv_mrp_msg_free(reply);
	atv_buf_release(&b);
	return r;
}

int atv_mrp_pump_until(struct atv_mrp *s, int ms, bool (*done)(void *ctx), void *ctx,
		       struct atv_err *err)
{
	int64_t deadline = atv_clock_ms() + (ms > 0 ? ms : 0);
	Mrp__ProtocolMessage *m;
	int r;

	for (;;) {
		if (done && done(ctx))
			return 1;
		r = next_msg(s, deadline, &m, err);
		if (r < 0)
			return r;
		if (r > 0) {
			dispatch(s, m);
			atv_mrp_msg_free(m);
		}
		if (atv_clock_ms() >= deadline)
			return done && done(ctx) ? 1 : 0;
	}
}

int atv_mrp_pump(struct atv_mrp *s, int ms, struct atv_err *err)
{
	return atv_mrp_pump_until(s, ms, NULL, NULL, err);
}

int atv_mrp_broken(const struct atv_mrp *s)
{
	return -s->dead.code;
}

int atv_mrp_fd(const struct atv_mrp *s)
{
	return s->tr ? s->tr->fd(s->tr_ctx) : s->fd;
}

int atv_mrp_timeout_ms(const struct atv_mrp *s)
{
	int64_t now = atv_clock_ms(), t = -1;

	if (s->dead.code || s->roff < s->rlen)
		return 0; /* report the error / handle bytes already read */
	if (s->tr)
		return s->tr->timeout_ms(s->tr_ctx);
	if (s->next_hb)
		t = s->hb_id[0] ? s->hb_deadline : s->next_hb;
	if (s->stall_deadline && (t < 0 || s->stall_deadline < t))
		t = s->stall_deadline;
	if (t < 0)
		return -1;
	t -= now;
	return t <= 0 ? 0 : t > 3600000 ? 3600000 : (int)t;
}

static int heartbeat(struct atv_mrp *s, struct atv_err *err)
{
	int64_t now = atv_clock_ms();
	struct atv_buf b;
	struct atv_mrp_ids ids;
	int r;

	if (!s->next_hb)
		return 0;
	if (s->hb_id[0]) {
		if (now < s->hb_deadline)
			return 0;
		return fail(s, err, ATV_E_UNREACHABLE,
			    "%s did not answer the heartbeat within %.1f s", dev(s),
			    s->timeout_ms / 1000.0);
	}
	if (now < s->next_hb)
		return 0;
	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_empty(&b, &ids, MRP__PROTOCOL_MESSAGE__TYPE__GENERIC_MESSAGE, err);
	if (r == 0)
		r = send_raw(s, b.data, b.len, err);
	atv_buf_release(&b);
	if (r < 0)
		return r;
	memcpy(s->hb_id, ids.identifier, sizeof s->hb_id);
	s->hb_deadline = now + s->timeout_ms;
	s->next_hb = now + ATV_MRP_HEARTBEAT_MS;
	return 0;
}

int atv_mrp_process(struct atv_mrp *s, struct atv_err *err)
{
	Mrp__ProtocolMessage *m;
	int r, reads = 0;

	if (s->dead.code)
		return atv_err_stuck(&s->dead, err);
	/* Complete frames already read first, then one read at a time. */
	for (int n = 0; n < ATV_MRP_PROCESS_MAX_MSGS; n++) {
		size_t before = s->rlen - s->roff;

		r = next_msg(s, 0, &m, err);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		dispatch(s, m);
		atv_mrp_msg_free(m);
		if (before == 0 && ++reads >= READS_PER_PROCESS)
			break;
		if (s->dead.code)
			return atv_err_stuck(&s->dead, err);
	}
	return heartbeat(s, err);
}

/* A session not connected yet, named peer unless o names the device. */
static int session_new(const char *peer, const struct atv_mrp_opts *o, struct atv_mrp **out,
		       struct atv_err *err)
{
	struct atv_mrp *s = calloc(1, sizeof *s);
	int r = 0;

	*out = NULL;
	if (!s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	s->fd = -1;
	atv_mrp_frame_dec_init(&s->dec, ATV_MRP_MAX_FRAME);
	atv_buf_init(&s->pt, ATV_MRP_MAX_FRAME);
	atv_buf_init(&s->ct, ATV_MRP_MAX_FRAME + ATV_AEAD_TAG_LEN);
	atv_buf_init(&s->out, ATV_MRP_MAX_FRAME + ATV_MRP_VARINT_MAX);
	s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
	s->push = o ? o->push : NULL;
	s->push_ctx = o ? o->push_ctx : NULL;
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	s->device = strdup(o && o->device ? o->device : s->peer);
	s->name = strdup(o && o->name ? o->name : "atv-tools");
	if (!s->device || !s->name)
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	else if (o && o->pairing_id && strlen(o->pairing_id) >= sizeof s->pairing_id)
		r = atv_err_set(err, ATV_E_USAGE, "pairing id too long");
	else if (o && o->pairing_id)
		memcpy(s->pairing_id, o->pairing_id, strlen(o->pairing_id) + 1);
	else
		r = atv_uuid(s->pairing_id, err);
	if (r < 0) {
		atv_mrp_close(s);
		return r;
	}
	*out = s;
	return 0;
}

/* DEVICE_INFO both ways: ours, then the device's answer. */
static int hello(struct atv_mrp *s, struct atv_err *err)
{
	struct atv_buf b;
	struct atv_mrp_ids ids;
	struct atv_mrp_identity me = {0};
	struct match w = {NULL, MRP__PROTOCOL_MESSAGE__TYPE__DEVICE_INFO_MESSAGE, true};
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	me.unique_id = s->pairing_id;
	me.name = s->name;
	r = atv_mrp_msg_device_info(&b, &ids, &me, false, err);
	if (r == 0)
		r = send_raw(s, b.data, b.len, err);
	w.identifier = ids.identifier;
	if (r == 0)
		r = wait_for(s, &w, "DEVICE_INFO", &s->devinfo, err);
	if (r == 0 && !s->devinfo->deviceinfomessage)
		r = atv_err_set(err, ATV_E_PROTO, "%s answered DEVICE_INFO without device info",
				dev(s));
	atv_buf_release(&b);
	return r;
}

int atv_mrp_connect(const char *host, int port, const struct atv_mrp_opts *o, struct atv_mrp **out,
		    struct atv_err *err)
{
	char peer[ATV_TCP_PEERLEN];
	struct atv_mrp *s;
	int r;

	*out = NULL;
	atv_tcp_peer_name(peer, sizeof peer, host, port);
	if ((r = session_new(peer, o, &s, err)) < 0)
		return r;
	r = atv_tcp_connect(host, port, s->timeout_ms, &s->fd, err);
	if (r == 0) {
		atv_debug("mrp: connected to %s", s->peer);
		r = hello(s, err);
	}
	if (r < 0) {
		atv_mrp_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int atv_mrp_open_transport(const struct atv_mrp_transport *tr, void *t,
			   const struct atv_mrp_opts *o, struct atv_mrp **out, struct atv_err *err)
{
	struct atv_mrp *s;
	int r;

	*out = NULL;
	if ((r = session_new("the device", o, &s, err)) < 0) {
		tr->close(t);
		return r;
	}
	s->tr = tr;
	s->tr_ctx = t;
	r = hello(s, err);
	if (r < 0) {
		atv_mrp_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void atv_mrp_close(struct atv_mrp *s)
{
	if (!s)
		return;
	if (s->tr)
		s->tr->close(s->tr_ctx);
	if (s->fd >= 0)
		close(s->fd);
	atv_mrp_frame_dec_release(&s->dec);
	atv_buf_release(&s->pt);
	atv_buf_release(&s->ct);
	atv_buf_release(&s->out);
	atv_hap_cipher_wipe(&s->cipher);
	atv_mrp_msg_free(s->devinfo);
	free(s->device);
	free(s->name);
	free(s);
}

const Mrp__ProtocolMessage *atv_mrp_device_info(const struct atv_mrp *s)
{
	return s->devinfo;
}

int atv_mrp_pair_exchange(struct atv_mrp *s, const struct atv_buf *tlv, bool first,
			  bool expect_reply, struct atv_buf *reply, struct atv_err *err)
{
	struct match w = {NULL, MRP__PROTOCOL_MESSAGE__TYPE__CRYPTO_PAIRING_MESSAGE, false};
	Mrp__ProtocolMessage *m = NULL;
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_crypto_pairing(&b, NULL, tlv->data, tlv->len, first, err);
	if (r == 0)
		r = send_raw(s, b.data, b.len, err);
	atv_buf_release(&b);
	if (r < 0 || !expect_reply)
		return r;
	r = wait_for(s, &w, "pairing", &m, err);
	if (r < 0)
		return r;
	atv_buf_reset(reply);
	if (!m->cryptopairingmessage || !m->cryptopairingmessage->has_pairingdata)
		r = fail(s, err, ATV_E_PROTO, "%s sent a pairing message without pairing data",
			 dev(s));
	else
		r = atv_buf_append(reply, m->cryptopairingmessage->pairingdata.data,
				   m->cryptopairingmessage->pairingdata.len, err);
	atv_mrp_msg_free(m);
	return r;
}

int atv_mrp_verify(struct atv_mrp *s, const struct atv_hap_creds *c, struct atv_err *err)
{
	struct atv_hap_verify *v;
	struct atv_buf msg, reply;
	struct atv_err e = {0};
	int r;

	v = atv_hap_verify_client_new(c, err);
	if (!v)
		return err && err->code ? -err->code : -ATV_E_NOMEM;
	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	r = atv_hap_verify_step(v, NULL, 0, &msg, &e);
	while (r == ATV_HAP_CONTINUE) {
		r = atv_mrp_pair_exchange(s, &msg, false, true, &reply, err);
		if (r < 0)
			goto out;
		r = atv_hap_verify_step(v, reply.data, reply.len, &msg, &e);
	}
	if (r == -ATV_E_AUTH) {
		atv_debug("mrp: pair-verify: %s", e.msg);
		r = atv_err_set(err, ATV_E_AUTH, "mrp credentials rejected by %s: pair again",
				dev(s));
		goto out;
	}
	if (r < 0) {
		r = atv_err_set(err, -r, "pair-verify with %s failed: %s", dev(s), e.msg);
		goto out;
	}
	if (msg.len > 0 && (r = atv_mrp_pair_exchange(s, &msg, false, false, NULL, err)) < 0)
		goto out;
	r = atv_hap_verify_cipher(v, ATV_HAP_MRP_SALT, ATV_HAP_MRP_WRITE, ATV_HAP_MRP_READ,
				  &s->cipher, err);
	if (r == 0) {
		/* The device switches after sending M4: every later frame is
		 * sealed, in both directions, counters from 0. */
		s->encrypted = true;
		atv_debug("mrp: pair-verify done, session encrypted");
	}
out:
	atv_buf_release(&msg);
	atv_buf_release(&reply);
	atv_hap_verify_free(v);
	return r;
}

int atv_mrp_start(struct atv_mrp *s, unsigned updates, struct atv_err *err)
{
	struct atv_buf b;
	int r;

	atv_buf_init(&b, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_set_connection_state(
	    &b, NULL, MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED, err);
	if (r == 0)
		r = send_raw(s, b.data, b.len, err);
	if (r == 0 && updates) {
		atv_buf_reset(&b);
		r = atv_mrp_msg_client_updates_config(&b, NULL, updates, err);
		if (r == 0)
			r = send_raw(s, b.data, b.len, err);
	}
	atv_buf_release(&b);
	if (r == 0 && !s->tr)
		s->next_hb = atv_clock_ms() + ATV_MRP_HEARTBEAT_MS;
	return r;
}
