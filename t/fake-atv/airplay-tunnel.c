/* airplay-tunnel.c - the device side of MRP over AirPlay 2
 * (tunnel-companion.md 1, protocols.md 4.6): what a tvOS 15+ Apple TV or
 * a HomePod does after pair-verify on its AirPlay port.
 *
 *   SETUP (session)  listen on a new event port, answer {eventPort} (and
 *                    skipRecord:true without timingPort on the variant
 *                    that says so)
 *   event channel    the controller dials it; sealed with Events-Salt
 *                    (our out = Events-Write, in = Events-Read); after
 *                    RECORD (at once under skipRecord) we are the RTSP
 *                    client: POST /command RTSP/1.0, CSeq 0, updateInfo
 *   RECORD           200, Audio-Latency: 0
 *   SETUP (stream)   type 130 with a seed: listen on a new data port,
 *                    answer {streams:[{type 130, streamID 1, dataPort}]}
 *   data channel     sealed with DataStream-Salt<seed as unsigned decimal>
 *                    (our out = DataStream-Input, in = DataStream-Output);
 *                    frames of airplay_frame.h: every sync gets a rply
 *                    (same seqno, {} payload) at once, the MRP messages in
 *                    params.data go to the MRP server as one tunnel peer,
 *                    and its messages come back as sync/cmnd frames
 *   POST /feedback   200;  TEARDOWN  with streams: the data channel, else
 *                    the whole session
 *
 * The channels are sealed here rather than by airplay_channel.c so that
 * the hostile modes can put exactly the bytes they want on the wire.
 * Every length from the controller is bounded: HAP blocks by their 2-byte
 * length, frames by ATV_AP_FRAME_MAX, event replies by httpmsg's limits. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <plist/plist.h>

#include "airplay_frame.h"
#include "buf.h"
#include "bytes.h"
#include "crypto.h"
#include "fake.h"
#include "hap.h"
#include "httpmsg.h"
#include "log.h"
#include "mrp_msg.h"
#include "banned.h"

#define EVENTS_SALT    "Events-Salt"
#define EVENTS_WRITE   "Events-Write-Encryption-Key"
#define EVENTS_READ    "Events-Read-Encryption-Key"
#define DATA_SALT      "DataStream-Salt"
#define DATA_OUTPUT    "DataStream-Output-Encryption-Key"
#define DATA_INPUT     "DataStream-Input-Encryption-Key"
#define STREAM_REMOTE  130 /* the remote-control stream type */
#define CHAN_OUT_MAX   ((size_t)16 << 20)
#define RAW_MAX	       (2 + 65535 + ATV_AEAD_TAG_LEN)
#define SETUP_BODY_MAX ((size_t)64 << 10)
#define TYPES_LOG      64
#define BIG_BLOCK      16384 /* big-blocks: plaintext per block, as tvOS 27 sends */

static const char *const hostile_names[] = {
    "none",	   "bad-frame-size", "huge-frame", "wrong-type",     "no-rply",
    "close-event", "huge-block",     "big-blocks", "garbage-bplist", NULL};
enum {
	T_NONE,
	T_BAD_SIZE,
	T_HUGE_FRAME,
	T_WRONG_TYPE,
	T_NO_RPLY,
	T_CLOSE_EVENT,
	T_HUGE_BLOCK,
	T_BIG_BLOCKS,
	T_GARBAGE
};

enum chan_kind { CH_EVENT, CH_DATA };

/* One sealed TCP channel of a session. */
struct chan {
	struct fake_tunnel *t;
	enum chan_kind kind;
	int fd;
	struct atv_hap_cipher c;
	struct atv_buf raw;	     /* received, not yet a whole block */
	struct atv_buf in;	     /* opened plaintext not yet used */
	struct atv_buf out;	     /* sealed, not yet written */
	bool closing;		     /* close once out is written */
	struct atv_httpmsg reply;    /* event: the controller's answers */
	struct atv_ap_frame_dec dec; /* data: frames */
};

struct fake_tunnel {
	struct fake_tunnels *ts;
	struct fake_tunnel *next;
	char name[48];
	fake_tunnel_keys_fn keys;
	void *kctx;
	int ev_lfd, data_lfd;
	struct chan *ev, *data;
	bool session, recorded, info_sent;
	int info_timer; /* pending: updateInfo not answered yet */
	uint64_t seed;
	struct fake_mrp_peer *peer;
};

struct fake_tunnels {
	struct fake_loop *loop;
	const struct fake_device *dev;
	const struct fake_service *svc; /* _airplay._tcp */
	struct in_addr addr;
	struct fake_mrp *mrp;
	bool skip_record;
	int info_timeout_ms; /* an unanswered updateInfo closes the event channel */
	int hostile;
	struct fake_tunnel *sessions;
	unsigned long setups, records, feedback, teardowns, info_sent, info_answered;
	unsigned long frames_in, syncs_in, rplys_in, messages, frames_out;
	json_t *types;
};

const char *fake_tunnels_hostile_names(void)
{
	return "none, bad-frame-size, huge-frame, wrong-type, no-rply, close-event, huge-block, "
	       "big-blocks, garbage-bplist";
}

/* ---- channels ---- */

static void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	fake_loop_remove_fd(ch->t->ts->loop, ch->fd);
	close(ch->fd);
	atv_hap_cipher_wipe(&ch->c);
	atv_buf_release(&ch->raw);
	atv_buf_release(&ch->in);
	atv_buf_release(&ch->out);
	atv_httpmsg_release(&ch->reply);
	atv_ap_frame_dec_release(&ch->dec);
	free(ch);
}

/* Close the session's channel of kind (and the MRP peer with the data
 * channel). */
static void chan_close(struct fake_tunnel *t, enum chan_kind kind, const char *why)
{
	struct chan **pp = kind == CH_EVENT ? &t->ev : &t->data;

	if (!*pp)
		return;
	if (kind == CH_EVENT && t->info_timer) {
		fake_loop_cancel_timer(t->ts->loop, t->info_timer);
		t->info_timer = 0;
	}
	atv_info("tunnel %s: closing the %s channel%s%s", t->name,
		 kind == CH_EVENT ? "event" : "data", why ? ": " : "", why ? why : "");
	if (kind == CH_DATA) {
		fake_mrp_peer_free(t->peer);
		t->peer = NULL;
	}
	chan_free(*pp);
	*pp = NULL;
}

static void chan_want(struct chan *ch)
{
	/* closing: POLLOUT brings chan_io back to finish it */
	fake_loop_set_events(ch->t->ts->loop, ch->fd,
			     ch->out.len || ch->closing ? POLLIN | POLLOUT : POLLIN);
}

/* Seal p[0..len) onto ch's output in blocks of at most block bytes. */
static int chan_seal(struct chan *ch, const uint8_t *p, size_t len, size_t block,
		     struct atv_err *err)
{
	while (len > 0) {
		size_t n = len < block ? len : block;
		uint8_t nonce[ATV_AEAD_NONCE_LEN], *o;
		int r = atv_buf_reserve(&ch->out, 2 + n + ATV_AEAD_TAG_LEN, err);

		if (r < 0)
			return r;
		o = ch->out.data + ch->out.len;
		atv_put_le16(o, (uint16_t)n);
		atv_nonce_counter(nonce, ch->c.out_ctr++);
		if ((r = atv_aead_seal(ch->c.out_key, nonce, o, 2, p, n, o + 2, err)) < 0)
			return r;
		ch->out.len += 2 + n + ATV_AEAD_TAG_LEN;
		p += n;
		len -= n;
	}
	chan_want(ch);
	return 0;
}

static int chan_send(struct chan *ch, const uint8_t *p, size_t len, struct atv_err *err)
{
	bool big = ch->kind == CH_DATA && ch->t->ts->hostile == T_BIG_BLOCKS;

	return chan_seal(ch, p, len, big ? BIG_BLOCK : ATV_HAP_BLOCK_MAX, err);
}

static void on_event_bytes(struct chan *ch);
static void on_data_bytes(struct chan *ch);

/* 0 while the channel lives, -1 once it is closed (ch freed). */
static int chan_io(struct chan *ch, short revents)
{
	struct fake_tunnel *t = ch->t;
	struct atv_err err = {0, ""};
	uint8_t buf[16384];

	while (ch->out.len) {
		ssize_t n = send(ch->fd, ch->out.data, ch->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			chan_close(t, ch->kind, strerror(errno));
			return -1;
		}
		atv_buf_consume(&ch->out, (size_t)n);
	}
	if (ch->closing && !ch->out.len) {
		chan_close(t, ch->kind, NULL);
		return -1;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR))) {
		chan_want(ch);
		return 0;
	}
	for (int round = 0; round < 8; round++) {
		size_t room = ch->raw.max - ch->raw.len, used = 0;
		ssize_t n;
		int r;

		if (room > sizeof buf)
			room = sizeof buf;
		n = recv(ch->fd, buf, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			chan_close(t, ch->kind,
				   n == 0 ? "closed by the controller" : strerror(errno));
			return -1;
		}
		if (atv_buf_append(&ch->raw, buf, (size_t)n, &err) < 0)
			break;
		r = atv_hap_cipher_open_blocks(&ch->c, ch->raw.data, ch->raw.len, &used, &ch->in,
					       &err);
		atv_buf_consume(&ch->raw, used);
		if (r < 0) {
			chan_close(t, ch->kind, err.msg);
			return -1;
		}
		if (ch->kind == CH_EVENT)
			on_event_bytes(ch);
		else
			on_data_bytes(ch);
		/* the handlers may have closed it */
		if ((ch->kind == CH_EVENT ? t->ev : t->data) != ch)
			return -1;
		if (ch->closing)
			break;
	}
	if (ch->closing && !ch->out.len) {
		chan_close(t, ch->kind, NULL);
		return -1;
	}
	chan_want(ch);
	return 0;
}

static void on_chan_fd(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	(void)loop;
	(void)fd;
	chan_io(ctx, revents);
}

static struct chan *chan_new(struct fake_tunnel *t, enum chan_kind kind, int fd,
			     const struct atv_hap_cipher *c, struct atv_err *err)
{
	struct chan *ch = calloc(1, sizeof *ch);

	if (!ch) {
		close(fd);
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	ch->t = t;
	ch->kind = kind;
	ch->fd = fd;
	ch->c = *c;
	atv_buf_init(&ch->raw, RAW_MAX);
	atv_buf_init(&ch->in, ATV_AP_FRAME_MAX + 65536);
	atv_buf_init(&ch->out, CHAN_OUT_MAX);
	atv_httpmsg_init(&ch->reply, ATV_HTTPMSG_REPLY, 4096);
	atv_ap_frame_dec_init(&ch->dec, 0);
	if (fake_loop_add_fd(t->ts->loop, fd, POLLIN, on_chan_fd, ch, err) < 0) {
		chan_free(ch);
		return NULL;
	}
	return ch;
}

/* A listener on an ephemeral port of the device's address: 0 and *port,
 * or -ATV_E_IO. */
static int listen_ephemeral(struct fake_tunnels *ts, int *lfd, int *port, fake_fd_fn fn, void *ctx,
			    struct atv_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = ts->addr};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to listen for a tunnel channel");
		close(fd);
		return r;
	}
	if ((r = fake_loop_add_fd(ts->loop, fd, POLLIN, fn, ctx, err)) < 0) {
		close(fd);
		return r;
	}
	*lfd = fd;
	*port = ntohs(sa.sin_port);
	return 0;
}

static void close_listener(struct fake_tunnels *ts, int *lfd)
{
	if (*lfd < 0)
		return;
	fake_loop_remove_fd(ts->loop, *lfd);
	close(*lfd);
	*lfd = -1;
}

/* The one connection a listener waits for; the listener closes. */
static int accept_one(struct fake_tunnel *t, int *lfd)
{
	int fd = accept4(*lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0)
		close_listener(t->ts, lfd);
	return fd;
}

/* ---- the event channel ---- */

static void dict_set(plist_t d, const char *key, plist_t v)
{
	plist_dict_set_item(d, key, v); /* steals v */
}

static char *txt(const struct fake_tunnels *ts, const char *key)
{
	return ts->svc ? fake_service_txt(ts->svc, key) : NULL;
}

/* {type:"updateInfo", value:{...}}: what /info says, as the device tells
 * a new session (tunnel-companion.md 1.2) */
static plist_t update_info(const struct fake_tunnels *ts)
{
	plist_t d = plist_new_dict(), v = plist_new_dict();
	static const char *const keys[][2] = {
	    {"deviceid", "deviceID"}, {"model", "model"},	    {"pi", "pi"},
	    {"psi", "psi"},	      {"srcvers", "sourceVersion"}, {"osvers", "osVersion"}};
	uint8_t rdata[FAKE_MAX_TXT_TOTAL];
	size_t n = 0;
	char *f;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char *s = txt(ts, keys[i][0]);

		if (s)
			dict_set(v, keys[i][1], plist_new_string(s));
		free(s);
	}
	if ((f = txt(ts, "features"))) {
		char *end;
		uint64_t lo = strtoull(f, &end, 0),
			 hi = *end == ',' ? strtoull(end + 1, NULL, 0) : 0;

		dict_set(v, "features",
			 plist_new_uint((hi & 0xffffffffu) << 32 | (lo & 0xffffffffu)));
		free(f);
	}
	if ((f = txt(ts, "flags"))) {
		dict_set(v, "statusFlags", plist_new_uint(strtoull(f, NULL, 0)));
		free(f);
	}
	dict_set(v, "name", plist_new_string(ts->dev->name));
	/* the TXT record as it is on the wire: length-prefixed strings */
	for (size_t i = 0; ts->svc && i < ts->svc->n_txt; i++) {
		if (n + 1 + ts->svc->txt[i].len > sizeof rdata)
			break;
		rdata[n++] = (uint8_t)ts->svc->txt[i].len;
		memcpy(rdata + n, ts->svc->txt[i].data, ts->svc->txt[i].len);
		n += ts->svc->txt[i].len;
	}
	dict_set(v, "txtAirPlay", plist_new_data((const char *)rdata, n));
	dict_set(d, "type", plist_new_string("updateInfo"));
	dict_set(d, "value", v);
	return d;
}

/* A real device closes the event channel about 30 s after an updateInfo
 * nobody answered (tunnel-companion.md 1.2). */
static void on_info_timeout(struct fake_loop *loop, void *ctx)
{
	struct fake_tunnel *t = ctx;

	(void)loop;
	t->info_timer = 0;
	chan_close(t, CH_EVENT, "updateInfo unanswered");
}

/* After RECORD (or at once under skipRecord), once the event channel is
 * up: the device's one request on it. */
static void maybe_send_info(struct fake_tunnel *t)
{
	static const char *const headers[] = {
	    "Server: AirTunes/366.0", "Content-Type: application/x-apple-binary-plist", NULL};
	struct fake_tunnels *ts = t->ts;
	struct atv_err err = {0, ""};
	struct atv_buf out;
	plist_t p;
	char *bin = NULL;
	uint32_t len = 0;

	if (!t->ev || t->info_sent || !(t->recorded || ts->skip_record))
		return;
	p = update_info(ts);
	plist_to_bin(p, &bin, &len);
	plist_free(p);
	if (!bin)
		return;
	atv_buf_init(&out, ATV_HTTPMSG_HEAD_MAX + len);
	struct atv_httpmsg_req req = {.method = "POST",
				      .uri = "/command",
				      .proto = "RTSP/1.0",
				      .headers = headers,
				      .body = bin,
				      .body_len = len,
				      .cseq = 0};
	if (atv_httpmsg_build(&req, &out, &err) < 0 ||
	    chan_send(t->ev, out.data, out.len, &err) < 0) {
		chan_close(t, CH_EVENT, err.msg);
	} else {
		int tm =
		    fake_loop_add_timer(ts->loop, ts->info_timeout_ms, on_info_timeout, t, NULL);

		t->info_timer = tm > 0 ? tm : 0;
		t->info_sent = true;
		ts->info_sent++;
		atv_info("tunnel %s: sent updateInfo on the event channel", t->name);
	}
	atv_buf_release(&out);
	plist_to_bin_free(bin);
}

static void on_event_bytes(struct chan *ch)
{
	struct fake_tunnel *t = ch->t;
	struct atv_err err = {0, ""};

	while (ch->in.len > 0) {
		size_t used = 0;
		int r = atv_httpmsg_parse(&ch->reply, ch->in.data, ch->in.len, &used, &err);

		atv_buf_consume(&ch->in, used);
		if (r < 0) {
			chan_close(t, CH_EVENT, err.msg);
			return;
		}
		if (r == 0)
			return;
		if (ch->reply.status == 200)
			t->ts->info_answered++;
		if (t->info_timer) {
			fake_loop_cancel_timer(t->ts->loop, t->info_timer);
			t->info_timer = 0;
		}
		atv_info("tunnel %s: event channel answer %d", t->name, ch->reply.status);
		atv_httpmsg_reset(&ch->reply);
	}
}

static void on_event_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_tunnel *t = ctx;
	struct atv_err err = {0, ""};
	struct atv_hap_cipher c;
	int cfd;

	(void)loop;
	(void)fd;
	(void)revents;
	if ((cfd = accept_one(t, &t->ev_lfd)) < 0)
		return;
	/* the controller's out key is Events-Read (pyatv ap2_session): ours
	 * is Events-Write */
	if (t->keys(t->kctx, EVENTS_SALT, EVENTS_READ, EVENTS_WRITE, &c, &err) < 0 ||
	    !(t->ev = chan_new(t, CH_EVENT, cfd, &c, &err))) {
		atv_info("tunnel %s: event channel: %s", t->name, err.msg);
		atv_hap_cipher_wipe(&c);
		return;
	}
	atv_hap_cipher_wipe(&c);
	atv_info("tunnel %s: event channel up", t->name);
	if (t->ts->hostile == T_CLOSE_EVENT) {
		chan_close(t, CH_EVENT, "hostile close-event");
		return;
	}
	maybe_send_info(t);
}

/* ---- the data channel ---- */

/* Put one frame on the data channel the way the hostile mode says (or as
 * it is). */
static int data_frame(struct chan *ch, const char *type, const char *cmd, uint64_t seqno,
		      const uint8_t *payload, size_t len, struct atv_err *err)
{
	struct fake_tunnels *ts = ch->t->ts;
	struct atv_buf f;
	int r;

	atv_buf_init(&f, ATV_AP_FRAME_MAX);
	switch (ts->hostile) {
	case T_BAD_SIZE:
	case T_HUGE_FRAME:
		/* a header whose size field lies: 16 (below the header) or
		 * 2^32 - 1 (past any cap) */
		r = atv_ap_frame_encode(&f, type, cmd, seqno, NULL, 0, err);
		if (r == 0)
			atv_put_be32(f.data, ts->hostile == T_BAD_SIZE ? 16 : UINT32_MAX);
		break;
	case T_WRONG_TYPE:
		r = atv_ap_frame_encode(&f, "junk", cmd, seqno, payload, len, err);
		break;
	case T_GARBAGE: {
		static const uint8_t junk[] = "bplist00\xd1\x01\x7f garbage";

		r = atv_ap_frame_encode(&f, type, cmd, seqno, junk, sizeof junk - 1, err);
		break;
	}
	case T_HUGE_BLOCK: {
		/* a block header announcing 65535 bytes, a few of them, then
		 * the end of the connection inside the block */
		uint8_t b[32];

		atv_put_le16(b, 0xffff);
		memset(b + 2, 0x5a, sizeof b - 2);
		atv_buf_release(&f);
		r = atv_buf_append(&ch->out, b, sizeof b, err);
		/* and the channel ends inside the block */
		ch->closing = true;
		chan_want(ch);
		return r;
	}
	default: r = atv_ap_frame_encode(&f, type, cmd, seqno, payload, len, err); break;
	}
	if (r == 0)
		r = chan_send(ch, f.data, f.len, err);
	if (r == 0)
		ts->frames_out++;
	atv_buf_release(&f);
	return r;
}

/* A fake_mrp_send_fn: one of the MRP server's messages as a sync/cmnd
 * frame with a random seqno. */
static int send_mrp(void *ctx, const uint8_t *msg, size_t len, struct atv_err *err)
{
	struct fake_tunnel *t = ctx;
	struct atv_buf data, payload;
	uint64_t seqno = 0;
	int r;

	if (!t->data)
		return atv_err_set(err, ATV_E_IO, "no data channel");
	atv_buf_init(&data, ATV_AP_FRAME_MAX);
	atv_buf_init(&payload, ATV_AP_FRAME_MAX);
	atv_random(&seqno, sizeof seqno, NULL);
	r = atv_ap_data_add(&data, msg, len, err);
	if (r == 0)
		r = atv_ap_payload_encode(&payload, data.data, data.len, err);
	if (r == 0)
		r = data_frame(t->data, "sync", "cmnd", seqno, payload.data, payload.len, err);
	atv_buf_release(&data);
	atv_buf_release(&payload);
	return r;
}

/* A fake_mrp_closed_fn: the MRP side ended the peer. */
static void mrp_closed(void *ctx)
{
	struct fake_tunnel *t = ctx;

	t->peer = NULL;
	if (t->data) {
		t->data->closing = true;
		chan_want(t->data);
	}
}

static void log_type(struct fake_tunnels *ts, const uint8_t *msg, size_t len)
{
	uint64_t type = 0;
	unsigned shift = 0;

	/* field 1 (tag 0x08) comes first: the message's type */
	for (size_t i = 1; len > 0 && msg[0] == 0x08 && i < len && i < 11; i++, shift += 7) {
		type |= (uint64_t)(msg[i] & 0x7f) << shift;
		if (!(msg[i] & 0x80))
			break;
	}
	json_array_append_new(ts->types, json_string(atv_mrp_msg_type_name((int)type)));
	while (json_array_size(ts->types) > TYPES_LOG)
		json_array_remove(ts->types, 0);
}

static void on_frame(struct chan *ch, const struct atv_ap_frame *f)
{
	struct fake_tunnel *t = ch->t;
	struct fake_tunnels *ts = t->ts;
	struct atv_err err = {0, ""};
	const uint8_t *data, *msg;
	size_t dlen, mlen;
	int r;

	ts->frames_in++;
	if (atv_ap_frame_is(f, "rply")) {
		ts->rplys_in++;
		return;
	}
	if (!atv_ap_frame_is(f, "sync")) {
		ch->closing = true;
		atv_info("tunnel %s: a data frame of unknown type", t->name);
		return;
	}
	ts->syncs_in++;
	/* answered at once, before what it carries is handled */
	if (ts->hostile != T_NO_RPLY) {
		struct atv_buf rp;

		atv_buf_init(&rp, 128);
		if (ts->hostile == T_NONE || ts->hostile == T_CLOSE_EVENT ||
		    ts->hostile == T_BIG_BLOCKS) {
			r = atv_ap_frame_reply(&rp, f->seqno, true, &err);
			if (r == 0)
				r = chan_send(ch, rp.data, rp.len, &err);
			if (r == 0)
				ts->frames_out++;
		} else {
			r = data_frame(ch, "rply", "", f->seqno, atv_ap_empty_dict,
				       sizeof atv_ap_empty_dict, &err);
		}
		atv_buf_release(&rp);
		if (r < 0) {
			ch->closing = true;
			return;
		}
	}
	if (f->payload_len == 0)
		return;
	r = atv_ap_payload_data(f->payload, f->payload_len, &data, &dlen, &err);
	if (r < 0) {
		atv_info("tunnel %s: %s", t->name, err.msg);
		ch->closing = true;
		return;
	}
	while (r > 0 && (r = atv_ap_data_next(&data, &dlen, &msg, &mlen, &err)) > 0) {
		ts->messages++;
		log_type(ts, msg, mlen);
		if (t->peer)
			fake_mrp_peer_message(t->peer, msg, mlen);
		if (t->data != ch)
			return; /* the MRP side closed it */
	}
	if (r < 0) {
		atv_info("tunnel %s: %s", t->name, err.msg);
		ch->closing = true;
	}
}

static void on_data_bytes(struct chan *ch)
{
	struct fake_tunnel *t = ch->t;
	struct atv_err err = {0, ""};

	while (ch->in.len > 0 && !ch->closing) {
		struct atv_ap_frame f;
		size_t used = 0;
		int r = atv_ap_frame_dec_push(&ch->dec, ch->in.data, ch->in.len, &used, &f, &err);

		if (r < 0) {
			atv_info("tunnel %s: %s", t->name, err.msg);
			ch->closing = true;
			return;
		}
		if (r > 0)
			on_frame(ch, &f);
		if (t->data != ch)
			return;
		atv_buf_consume(&ch->in, used);
	}
}

static void on_data_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_tunnel *t = ctx;
	struct atv_err err = {0, ""};
	struct atv_hap_cipher c;
	char salt[sizeof DATA_SALT + 24];
	int cfd;

	(void)loop;
	(void)fd;
	(void)revents;
	if ((cfd = accept_one(t, &t->data_lfd)) < 0)
		return;
	/* the seed as an unsigned decimal, whatever sign it was sent with */
	snprintf(salt, sizeof salt, "%s%" PRIu64, DATA_SALT, t->seed);
	if (t->keys(t->kctx, salt, DATA_OUTPUT, DATA_INPUT, &c, &err) < 0 ||
	    !(t->data = chan_new(t, CH_DATA, cfd, &c, &err))) {
		atv_info("tunnel %s: data channel: %s", t->name, err.msg);
		atv_hap_cipher_wipe(&c);
		return;
	}
	atv_hap_cipher_wipe(&c);
	if (!t->ts->mrp ||
	    !(t->peer = fake_mrp_peer_new(t->ts->mrp, t->name, send_mrp, mrp_closed, t, &err))) {
		chan_close(t, CH_DATA, t->ts->mrp ? err.msg : "no mrp on this device");
		return;
	}
	atv_info("tunnel %s: data channel up (seed %" PRIu64 ")", t->name, t->seed);
}

/* ---- RTSP requests ---- */

static int reply_plist(struct fake_tunnel_reply *r, plist_t p)
{
	char *bin = NULL;
	uint32_t len = 0;
	int st = 200;

	plist_to_bin(p, &bin, &len);
	plist_free(p);
	if (!bin || atv_buf_append(&r->body, bin, len, NULL) < 0)
		st = 500;
	plist_to_bin_free(bin);
	return st;
}

/* The first stream of a SETUP body, or NULL for a session SETUP. */
static plist_t first_stream(plist_t body)
{
	plist_t s = plist_dict_get_item(body, "streams");

	if (!s || plist_get_node_type(s) != PLIST_ARRAY || plist_array_get_size(s) < 1)
		return NULL;
	return plist_array_get_item(s, 0);
}

static int do_setup_session(struct fake_tunnel *t, struct fake_tunnel_reply *r)
{
	struct fake_tunnels *ts = t->ts;
	struct atv_err err = {0, ""};
	plist_t d;
	int port;

	/* a SETUP again starts over with a new event port */
	chan_close(t, CH_EVENT, "a new session SETUP");
	close_listener(ts, &t->ev_lfd);
	t->recorded = t->info_sent = false;
	if (listen_ephemeral(ts, &t->ev_lfd, &port, on_event_accept, t, &err) < 0) {
		atv_warn("tunnel %s: %s", t->name, err.msg);
		return 500;
	}
	t->session = true;
	ts->setups++;
	atv_info("tunnel %s: session SETUP, event port %d%s", t->name, port,
		 ts->skip_record ? ", skipRecord" : "");
	d = plist_new_dict();
	dict_set(d, "eventPort", plist_new_uint((uint64_t)port));
	if (ts->skip_record)
		dict_set(d, "skipRecord", plist_new_bool(1));
	else
		dict_set(d, "timingPort", plist_new_uint(0));
	return reply_plist(r, d);
}

static int do_setup_stream(struct fake_tunnel *t, plist_t stream, struct fake_tunnel_reply *r)
{
	struct fake_tunnels *ts = t->ts;
	struct atv_err err = {0, ""};
	plist_t type = plist_dict_get_item(stream, "type"),
		seed = plist_dict_get_item(stream, "seed");
	plist_t d, a, s;
	uint64_t v = 0;
	int port;

	if (!t->session)
		return 455; /* Method Not Valid in This State */
	if (!type || plist_get_node_type(type) != PLIST_UINT || !seed ||
	    plist_get_node_type(seed) != PLIST_UINT)
		return 400;
	plist_get_uint_val(type, &v);
	if (v != STREAM_REMOTE)
		return 400;
	/* pyatv's seeds reach 2^64 - 1 (16-byte integers in the plist): the
	 * salt takes the low 64 bits as unsigned */
	plist_get_uint_val(seed, &t->seed);
	chan_close(t, CH_DATA, "a new stream SETUP");
	close_listener(ts, &t->data_lfd);
	if (listen_ephemeral(ts, &t->data_lfd, &port, on_data_accept, t, &err) < 0) {
		atv_warn("tunnel %s: %s", t->name, err.msg);
		return 500;
	}
	ts->setups++;
	atv_info("tunnel %s: stream SETUP, data port %d", t->name, port);
	d = plist_new_dict();
	a = plist_new_array();
	s = plist_new_dict();
	dict_set(s, "type", plist_new_uint(STREAM_REMOTE));
	dict_set(s, "streamID", plist_new_uint(1));
	dict_set(s, "dataPort", plist_new_uint((uint64_t)port));
	plist_array_append_item(a, s);
	dict_set(d, "streams", a);
	return reply_plist(r, d);
}

static int do_setup(struct fake_tunnel *t, const uint8_t *body, size_t len,
		    struct fake_tunnel_reply *r)
{
	plist_t p = NULL, stream;
	int st;

	if (len > 0 && len <= SETUP_BODY_MAX)
		plist_from_memory((const char *)body, (uint32_t)len, &p);
	if (!p || plist_get_node_type(p) != PLIST_DICT) {
		atv_info("tunnel %s: SETUP without a plist dict", t->name);
		plist_free(p);
		return 400;
	}
	stream = first_stream(p);
	st = stream ? do_setup_stream(t, stream, r) : do_setup_session(t, r);
	plist_free(p);
	return st;
}

static void teardown_session(struct fake_tunnel *t)
{
	struct fake_tunnels *ts = t->ts;

	chan_close(t, CH_DATA, "TEARDOWN");
	chan_close(t, CH_EVENT, "TEARDOWN");
	close_listener(ts, &t->data_lfd);
	close_listener(ts, &t->ev_lfd);
	t->session = t->recorded = t->info_sent = false;
}

int fake_tunnel_request(struct fake_tunnel *t, const char *method, const char *path,
			const uint8_t *body, size_t len, struct fake_tunnel_reply *r)
{
	struct fake_tunnels *ts = t->ts;

	(void)path;
	if (strcmp(method, "SETUP") == 0)
		return do_setup(t, body, len, r);
	if (strcmp(method, "RECORD") == 0) {
		if (!t->session)
			return 455;
		t->recorded = true;
		ts->records++;
		r->header = "Audio-Latency: 0";
		maybe_send_info(t);
		return 200;
	}
	if (strcmp(method, "POST") == 0 && strcmp(path, "/feedback") == 0) {
		ts->feedback++;
		return 200;
	}
	if (strcmp(method, "TEARDOWN") == 0) {
		plist_t p = NULL;

		ts->teardowns++;
		if (len > 0 && len <= SETUP_BODY_MAX)
			plist_from_memory((const char *)body, (uint32_t)len, &p);
		if (p && plist_get_node_type(p) == PLIST_DICT && first_stream(p)) {
			atv_info("tunnel %s: TEARDOWN of the stream", t->name);
			chan_close(t, CH_DATA, "TEARDOWN");
			close_listener(ts, &t->data_lfd);
		} else {
			atv_info("tunnel %s: TEARDOWN of the session", t->name);
			teardown_session(t);
		}
		plist_free(p);
		return 200;
	}
	if (strcmp(method, "FLUSH") == 0 || strcmp(method, "SET_PARAMETER") == 0 ||
	    strcmp(method, "GET_PARAMETER") == 0)
		return 200;
	return 501;
}

/* ---- sessions ---- */

struct fake_tunnel *fake_tunnel_new(struct fake_tunnels *ts, const char *name,
				    fake_tunnel_keys_fn keys, void *ctx, struct atv_err *err)
{
	struct fake_tunnel *t = calloc(1, sizeof *t);

	if (!t) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	t->ts = ts;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->keys = keys;
	t->kctx = ctx;
	t->ev_lfd = t->data_lfd = -1;
	t->next = ts->sessions;
	ts->sessions = t;
	return t;
}

void fake_tunnel_free(struct fake_tunnel *t)
{
	if (!t)
		return;
	/* what the controller sent on the channels before it closed the
	 * control connection still counts (an answer to updateInfo) */
	if (t->ev)
		chan_io(t->ev, POLLIN);
	if (t->data)
		chan_io(t->data, POLLIN);
	teardown_session(t);
	for (struct fake_tunnel **pp = &t->ts->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	free(t);
}

/* ---- the device's part ---- */

int fake_tunnels_new(struct fake_loop *loop, const struct fake_device *dev, struct in_addr addr,
		     struct fake_tunnels **out, struct atv_err *err)
{
	json_t *o = json_object_get(dev->json, "tunnel"), *sr = NULL, *to = NULL;
	struct fake_tunnels *ts;

	*out = NULL;
	if (o) {
		sr = json_object_get(o, "skip_record");
		to = json_object_get(o, "info_timeout_ms");
	}
	if (o && (!json_is_object(o) || (sr && !json_is_boolean(sr)) ||
		  (to && !(json_is_integer(to) && json_integer_value(to) > 0 &&
			   json_integer_value(to) <= 600000))))
		return atv_err_set(
		    err, ATV_E_INPUT,
		    "\"tunnel\" must be {\"skip_record\":BOOL, \"info_timeout_ms\":MS}");
	ts = calloc(1, sizeof *ts);
	if (!ts || !(ts->types = json_array())) {
		free(ts);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	ts->loop = loop;
	ts->dev = dev;
	ts->svc = fake_device_service((struct fake_device *)dev, "_airplay._tcp");
	ts->addr = addr;
	ts->skip_record = sr && json_is_true(sr);
	ts->info_timeout_ms = to ? (int)json_integer_value(to) : 30000;
	*out = ts;
	return 0;
}

void fake_tunnels_set_mrp(struct fake_tunnels *ts, struct fake_mrp *mrp)
{
	if (ts)
		ts->mrp = mrp;
}

int fake_tunnels_drop(struct fake_tunnels *ts, const char *which, size_t *n, struct atv_err *err)
{
	enum chan_kind k;

	*n = 0;
	if (strcmp(which, "event") == 0)
		k = CH_EVENT;
	else if (strcmp(which, "data") == 0)
		k = CH_DATA;
	else
		return atv_err_set(err, ATV_E_USAGE, "tunnel-drop control|event|data");
	for (struct fake_tunnel *t = ts ? ts->sessions : NULL; t; t = t->next) {
		if (k == CH_EVENT ? t->ev != NULL : t->data != NULL) {
			chan_close(t, k, "dropped");
			(*n)++;
		}
	}
	return 0;
}

int fake_tunnels_hostile(struct fake_tunnels *ts, const char *mode, struct atv_err *err)
{
	int k = -1;

	for (int i = 0; hostile_names[i]; i++)
		if (strcmp(hostile_names[i], mode) == 0)
			k = i;
	if (k < 0)
		return atv_err_set(err, ATV_E_USAGE,
				   "unknown tunnel hostile mode \"%s\" (one of: %s)", mode,
				   fake_tunnels_hostile_names());
	ts->hostile = k;
	for (struct fake_tunnel *t = ts->sessions; t; t = t->next) {
		if (k == T_CLOSE_EVENT && t->ev)
			chan_close(t, CH_EVENT, "hostile close-event");
		/* the frame modes show at once on an open data channel: a
		 * device request of the kind the mode makes */
		if (t->data && (k == T_BAD_SIZE || k == T_HUGE_FRAME || k == T_WRONG_TYPE ||
				k == T_GARBAGE || k == T_HUGE_BLOCK)) {
			uint64_t seqno = 0;

			atv_random(&seqno, sizeof seqno, NULL);
			atv_info("tunnel %s: sending a hostile %s", t->name, mode);
			if (data_frame(t->data, "sync", "cmnd", seqno, atv_ap_empty_dict,
				       sizeof atv_ap_empty_dict, err) < 0)
				chan_close(t, CH_DATA, err->msg);
		}
	}
	return 0;
}

json_t *fake_tunnels_state(const struct fake_tunnels *ts)
{
	size_t sessions = 0, ev = 0, data = 0;

	if (!ts)
		return json_null();
	for (const struct fake_tunnel *t = ts->sessions; t; t = t->next) {
		sessions += t->session;
		ev += t->ev != NULL;
		data += t->data != NULL;
	}
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:O, s:s, s:b}",
	    "sessions", (json_int_t)sessions, "event_channels", (json_int_t)ev, "data_channels",
	    (json_int_t)data, "setups", (json_int_t)ts->setups, "records", (json_int_t)ts->records,
	    "feedback", (json_int_t)ts->feedback, "teardowns", (json_int_t)ts->teardowns,
	    "updateinfo_sent", (json_int_t)ts->info_sent, "updateinfo_answered",
	    (json_int_t)ts->info_answered, "frames_in", (json_int_t)ts->frames_in, "syncs_in",
	    (json_int_t)ts->syncs_in, "rplys_in", (json_int_t)ts->rplys_in, "messages",
	    (json_int_t)ts->messages, "frames_out", (json_int_t)ts->frames_out, "message_types",
	    ts->types, "hostile", hostile_names[ts->hostile], "skip_record", ts->skip_record);
}

void fake_tunnels_free(struct fake_tunnels *ts)
{
	if (!ts)
		return;
	while (ts->sessions)
		fake_tunnel_free(ts->sessions);
	json_decref(ts->types);
	free(ts);
}
