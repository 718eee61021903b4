/* airplay_tunnel.c - MRP over AirPlay 2: the control, event and data
 * channels of one session, as one MRP transport (see airplay_tunnel.h).
 *
 * Everything runs from one place, service(): it moves bytes on the three
 * channels, answers the device's event requests and data "sync" frames at
 * once, queues the MRP messages that arrive, takes the control channel's
 * replies and runs the timers (feedback, reply deadlines, a data frame
 * stuck half way).  Bring-up, commands and the tool's poll loop all wait
 * through it, so the device is answered whatever we wait for. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "airplay.h"
#include "airplay_channel.h"
#include "airplay_frame.h"
#include "airplay_tunnel.h"
#include "bytes.h"
#include "crypto.h"
#include "hap.h"
#include "log.h"
#include "plist_dl.h"
#include "tcp.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 5000
#define FRAMES_PER_SERVICE 256		    /* data frames handled per service() */
#define REQUESTS_PER_SERVICE 16		    /* event requests answered per service() */
#define INQ_MAX ((size_t)16 << 20)	    /* MRP messages received, not yet taken */
#define EVENT_BODY_MAX ATV_AIRPLAY_BODY_MAX /* an updateInfo request */
#define TEARDOWN_MS 500			    /* the most each TEARDOWN is waited for */

/* What we say we are (pyatv's InfoSettings defaults, our name). */
#define OUR_MODEL      "iPhone10,6"
#define OUR_DEVICE_ID  "FF:61:74:76:74:6F"
#define OUR_MAC	       "02:61:74:76:74:6F"
#define OUR_OS_NAME    "iPhone OS"
#define OUR_OS_VERSION "14.7.1"
#define OUR_OS_BUILD   "18G82"

static const struct atv_plist *pl;

/* ---- the pure parts ---- */

void atv_ap_tunnel_data_salt(uint64_t seed, char out[ATV_AP_DATA_SALT_LEN])
{
	snprintf(out, ATV_AP_DATA_SALT_LEN, "%s%" PRIu64, ATV_AP_DATA_SALT, seed);
}

int atv_ap_plist_bin(plist_t d, struct atv_buf *out, struct atv_err *err)
{
	char *bin = NULL;
	uint32_t len = 0;
	int r;

	/* d was made with the loaded table, so this only sets ours */
	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	pl->to_bin(d, &bin, &len);
	pl->free(d);
	if (!bin || !len)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_buf_reset(out);
	r = atv_buf_append(out, bin, len, err);
	pl->to_bin_free(bin);
	return r;
}

int atv_ap_tunnel_session_body(const struct atv_ap_tunnel_ident *id, struct atv_buf *out,
			       struct atv_err *err)
{
	const char *keys[] = {"osName",	   "sourceVersion",  "timingProtocol", "model",
			      "deviceID",  "osVersion",	     "osBuildVersion", "macAddress",
			      "sessionUUID", "name"};
	const char *vals[] = {id->os_name,	"550.10",
			      "None",		id->model,
			      id->device_id,	id->os_version,
			      id->os_build,	id->mac,
			      id->session_uuid, id->name};
	plist_t d;
	int r;

	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	if (!(d = pl->new_dict()))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	pl->dict_set_item(d, "isRemoteControlOnly", pl->new_bool(1));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		pl->dict_set_item(d, keys[i], pl->new_string(vals[i] ? vals[i] : ""));
	return atv_ap_plist_bin(d, out, err);
}

int atv_ap_streams_body(plist_t *d, plist_t *s, struct atv_err *err)
{
	plist_t a;
	int r;

	*d = *s = NULL;
	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	*d = pl->new_dict();
	a = pl->new_array();
	*s = pl->new_dict();
	if (!*d || !a || !*s) {
		pl->free(*d);
		pl->free(a);
		pl->free(*s);
		*d = *s = NULL;
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	pl->array_append_item(a, *s);
	pl->dict_set_item(*d, "streams", a);
	return 0;
}

plist_t atv_ap_plist_stream0(plist_t d)
{
	plist_t a, s = NULL;

	if (!d || atv_plist_load(&pl, NULL) < 0)
		return NULL;
	a = pl->dict_get_item(d, "streams");
	if (a && pl->get_node_type(a) == PLIST_ARRAY && pl->array_get_size(a) > 0)
		s = pl->array_get_item(a, 0);
	return s && pl->get_node_type(s) == PLIST_DICT ? s : NULL;
}

int atv_ap_tunnel_stream_body(uint64_t seed, const char *channel_id, const char *client_uuid,
			      struct atv_buf *out, struct atv_err *err)
{
	plist_t d, s;
	int r;

	if ((r = atv_ap_streams_body(&d, &s, err)) < 0)
		return r;
	pl->dict_set_item(s, "controlType", pl->new_uint(2));
	pl->dict_set_item(s, "channelID", pl->new_string(channel_id));
	/* libplist writes a value of 2^63 and more as a 16-byte integer,
	 * as Python's plistlib does for pyatv's seeds */
	pl->dict_set_item(s, "seed", pl->new_uint(seed));
	pl->dict_set_item(s, "clientUUID", pl->new_string(client_uuid));
	pl->dict_set_item(s, "type", pl->new_uint(ATV_AP_STREAM_TYPE_MRP));
	pl->dict_set_item(s, "wantsDedicatedSocket", pl->new_bool(1));
	pl->dict_set_item(s, "clientTypeUUID", pl->new_string(ATV_AP_CLIENT_TYPE_UUID));
	return atv_ap_plist_bin(d, out, err);
}

/* An integer member of d as a port (1..65535), else -1. */
int atv_ap_plist_port(plist_t d, const char *key)
{
	plist_t n;
	uint64_t v = 0;

	if (!d || atv_plist_load(&pl, NULL) < 0)
		return -1;
	n = pl->dict_get_item(d, key);
	if (!n || pl->get_node_type(n) != PLIST_UINT)
		return -1;
	pl->get_uint_val(n, &v);
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int atv_ap_tunnel_session_reply(const uint8_t *body, size_t len, int *event_port,
				bool *skip_record, struct atv_err *err)
{
	plist_t d = NULL, n;
	uint8_t b = 0;
	int r;

	*event_port = -1;
	*skip_record = false;
	if ((r = atv_airplay_plist_dict(body, len, &d, err)) < 0) {
		atv_err_prefix(err, "SETUP reply");
		return r;
	}
	*event_port = atv_ap_plist_port(d, "eventPort");
	n = pl->dict_get_item(d, "skipRecord");
	if (n && pl->get_node_type(n) == PLIST_BOOLEAN) {
		pl->get_bool_val(n, &b);
		*skip_record = b != 0;
	}
	pl->free(d);
	if (*event_port < 0)
		return atv_err_set(err, ATV_E_PROTO, "SETUP reply without a usable eventPort");
	return 0;
}

int atv_ap_tunnel_stream_reply(const uint8_t *body, size_t len, int *data_port,
			       int64_t *stream_id, struct atv_err *err)
{
	plist_t d = NULL, s, n;
	uint64_t v = 0;
	int r;

	*data_port = -1;
	*stream_id = -1;
	if ((r = atv_airplay_plist_dict(body, len, &d, err)) < 0) {
		atv_err_prefix(err, "stream SETUP reply");
		return r;
	}
	if ((s = atv_ap_plist_stream0(d))) {
		*data_port = atv_ap_plist_port(s, "dataPort");
		n = pl->dict_get_item(s, "streamID");
		if (n && pl->get_node_type(n) == PLIST_UINT) {
			pl->get_uint_val(n, &v);
			*stream_id = v <= INT64_MAX ? (int64_t)v : -1;
		}
	}
	pl->free(d);
	if (*data_port < 0)
		return atv_err_set(err, ATV_E_PROTO,
				   "stream SETUP reply without a usable streams[0].dataPort");
	return 0;
}

void atv_ap_rtsp_init(struct atv_ap_rtsp *r, const char *own_ip, uint64_t dacp_id,
		      uint32_t active_remote, uint32_t session)
{
	bool v6 = strchr(own_ip, ':') != NULL;

	snprintf(r->uri, sizeof r->uri, v6 ? "rtsp://[%.60s]/%" PRIu32 : "rtsp://%.60s/%" PRIu32,
		 own_ip, session);
	snprintf(r->dacp_id, sizeof r->dacp_id, "DACP-ID: %" PRIX64, dacp_id);
	snprintf(r->active_remote, sizeof r->active_remote, "Active-Remote: %" PRIu32,
		 active_remote);
	snprintf(r->instance, sizeof r->instance, "Client-Instance: %" PRIX64, dacp_id);
	r->cseq = 0;
}

int atv_ap_rtsp_build(struct atv_ap_rtsp *r, const char *method, const char *uri,
		      const void *body, size_t len, struct atv_buf *out, struct atv_err *err)
{
	const char *lines[] = {"User-Agent: " ATV_AP_USER_AGENT,
			       r->dacp_id,
			       r->active_remote,
			       r->instance,
			       len ? "Content-Type: application/x-apple-binary-plist" : NULL,
			       NULL};
	struct atv_httpmsg_req req = {0};
	int ret;

	req.method = method;
	req.uri = uri ? uri : r->uri;
	req.proto = "RTSP/1.0";
	req.headers = lines;
	req.body = body;
	req.body_len = len;
	req.cseq = r->cseq;
	ret = atv_httpmsg_build(&req, out, err);
	if (ret == 0)
		r->cseq++;
	return ret;
}

int atv_ap_tunnel_event_reply(const struct atv_httpmsg *req, struct atv_buf *out,
			      struct atv_err *err)
{
	const char *server = atv_httpmsg_header(req, "Server");
	char line[ATV_HTTPMSG_LINE_MAX];
	const char *lines[3] = {"Audio-Latency: 0", NULL, NULL};

	if (server && server[0] && !strpbrk(server, "\r\n") && strlen(server) < 200) {
		snprintf(line, sizeof line, "Server: %s", server);
		lines[1] = line;
	}
	return atv_httpmsg_build_reply(req, 200, "OK", lines, NULL, 0, out, err);
}

/* ---- the session ---- */

enum chan { CH_CONTROL, CH_EVENTS, CH_DATA, CH_COUNT };
static const char *const chan_name[CH_COUNT] = {"control connection", "event channel",
						"data channel"};

struct atv_ap_tunnel {
	struct atv_airplay *ap;		/* the control connection; owns ch[CH_CONTROL] */
	struct atv_channel *ch[CH_COUNT]; /* NULL until dialled */
	uint32_t armed[CH_COUNT];	/* the epoll events registered for each */
	int epfd;
	char *device, *host;
	int timeout_ms;
	struct atv_ap_rtsp rtsp;

	/* the control channel: replies, and the one request in flight */
	struct atv_httpmsg rep;
	bool pending, answered, is_feedback;
	unsigned pending_cseq;
	int status;
	struct atv_buf reply_body;
	int64_t reply_deadline;
	int64_t next_feedback; /* 0: not running yet */
	int feedback_tries;

	/* the event channel: the device's next request */
	struct atv_httpmsg evreq;

	/* the data channel */
	uint64_t seed;
	int64_t stream_id;
	struct atv_ap_frame_dec dec;
	int64_t stall_deadline; /* a frame or block begun must be complete by then */
	uint64_t seq_next, seq_last; /* ours: the next frame's, the last one sent */
	bool sent_any, last_answered;
	int64_t rply_deadline; /* the oldest frame unanswered must be answered by then */
	struct atv_buf frame, payload, msg;
	/* messages received: each a 4-byte length and its bytes, from inq_off */
	struct atv_buf inq;
	size_t inq_off, taken;

	struct atv_err dead; /* the sticky error once the session is broken */
};

static int die(struct atv_ap_tunnel *t, struct atv_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int die(struct atv_ap_tunnel *t, struct atv_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = atv_err_stick(&t->dead, err, 1, "tunnel", code, fmt, ap);
	va_end(ap);
	return r;
}

/* Register what each channel waits for in the epoll set. */
static void arm(struct atv_ap_tunnel *t)
{
	for (int i = 0; i < CH_COUNT; i++) {
		struct pollfd pfd[2];
		struct epoll_event ev = {0};
		size_t n;

		if (!t->ch[i])
			continue;
		n = atv_channel_pollfds(t->ch[i], pfd);
		ev.events = n ? ((pfd[0].events & POLLIN ? EPOLLIN : 0) |
				 (pfd[0].events & POLLOUT ? EPOLLOUT : 0))
			      : 0;
		if (ev.events == t->armed[i])
			continue;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, atv_channel_tcp_fd(t->ch[i]), &ev) == 0)
			t->armed[i] = ev.events;
	}
}

static int add_channel(struct atv_ap_tunnel *t, enum chan i, struct atv_channel *ch,
		       struct atv_err *err)
{
	struct epoll_event ev = {0};

	t->ch[i] = ch;
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, atv_channel_tcp_fd(ch), &ev) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "epoll_ctl");
	t->armed[i] = EPOLLIN;
	return 0;
}

/* Close channel i (not the control connection) and forget it. */
static void drop_channel(struct atv_ap_tunnel *t, enum chan i)
{
	if (!t->ch[i])
		return;
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, atv_channel_tcp_fd(t->ch[i]), NULL);
	atv_channel_free(t->ch[i]);
	t->ch[i] = NULL;
}

/* A control reply came: the one we wait for, or a stray one. */
static int control_reply(struct atv_ap_tunnel *t, struct atv_err *err)
{
	const char *cs = atv_httpmsg_header(&t->rep, "CSeq");
	char *end;
	unsigned long n;

	if (!cs || !cs[0])
		return die(t, err, ATV_E_PROTO, "%s answered a request without a CSeq",
			   t->device);
	errno = 0;
	n = strtoul(cs, &end, 10);
	if (*end || errno || cs[0] == '-')
		return die(t, err, ATV_E_PROTO, "%s answered with a malformed CSeq", t->device);
	if (!t->pending || n != t->pending_cseq) {
		atv_debug("tunnel: ignoring the reply to CSeq %lu", n);
		return 0;
	}
	t->answered = true;
	t->status = t->rep.status;
	atv_buf_reset(&t->reply_body);
	return atv_buf_append(&t->reply_body, t->rep.body.data, t->rep.body.len, err) < 0
		   ? die(t, err, ATV_E_NOMEM, "out of memory")
		   : 0;
}

/* Parse what the control channel received. */
static int take_control(struct atv_ap_tunnel *t, struct atv_err *err)
{
	struct atv_buf *in = atv_channel_input(t->ch[CH_CONTROL]);
	struct atv_err e = {0};
	size_t used;
	int r;

	while (in->len) {
		r = atv_httpmsg_parse(&t->rep, in->data, in->len, &used, &e);
		atv_buf_consume(in, used);
		if (r < 0)
			return die(t, err, ATV_E_PROTO, "%s sent a bad RTSP reply: %s", t->device,
				   e.msg);
		if (r == 0)
			break;
		r = t->rep.status >= 200 ? control_reply(t, err) : 0;
		atv_httpmsg_reset(&t->rep);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Answer what the device asked on the event channel. */
static int take_events(struct atv_ap_tunnel *t, struct atv_err *err)
{
	struct atv_buf *in = atv_channel_input(t->ch[CH_EVENTS]);
	struct atv_buf out;
	struct atv_err e = {0};
	size_t used;
	int r = 0;

	atv_buf_init(&out, 4096);
	for (int n = 0; in->len && n < REQUESTS_PER_SERVICE; n++) {
		r = atv_httpmsg_parse(&t->evreq, in->data, in->len, &used, &e);
		atv_buf_consume(in, used);
		if (r < 0) {
			r = die(t, err, ATV_E_PROTO, "%s sent a bad request on the event channel: %s",
				t->device, e.msg);
			break;
		}
		if (r == 0)
			break;
		atv_debug("tunnel: event channel: %s %.100s", t->evreq.method,
			  t->evreq.uri ? t->evreq.uri : "");
		atv_buf_reset(&out);
		r = atv_ap_tunnel_event_reply(&t->evreq, &out, &e);
		if (r == 0)
			r = atv_channel_send(t->ch[CH_EVENTS], out.data, out.len, &e);
		atv_httpmsg_reset(&t->evreq);
		if (r < 0) {
			r = die(t, err, r == -ATV_E_PROTO ? ATV_E_PROTO : ATV_E_UNREACHABLE,
				"event channel of %s: %s", t->device, e.msg);
			break;
		}
		r = 0;
	}
	atv_buf_release(&out);
	return r;
}

/* The MRP messages in a frame's payload, into the queue. */
static int queue_messages(struct atv_ap_tunnel *t, const struct atv_ap_frame *f,
			  struct atv_err *err)
{
	const uint8_t *data, *m;
	size_t len, ml;
	struct atv_err e = {0};
	uint8_t hdr[4];
	int r;

	if (f->payload_len == 0)
		return 0;
	r = atv_ap_payload_data(f->payload, f->payload_len, &data, &len, &e);
	if (r < 0)
		return die(t, err, ATV_E_PROTO, "%s sent a bad data frame: %s", t->device, e.msg);
	if (r == 0) {
		atv_debug("tunnel: data frame without params.data");
		return 0;
	}
	while ((r = atv_ap_data_next(&data, &len, &m, &ml, &e)) == 1) {
		if (ml > UINT32_MAX)
			return die(t, err, ATV_E_PROTO, "%s sent an oversized message", t->device);
		atv_put_be32(hdr, (uint32_t)ml);
		if (atv_buf_reserve(&t->inq, 4 + ml, &e) < 0)
			return die(t, err, e.code == ATV_E_NOMEM ? ATV_E_NOMEM : ATV_E_PROTO,
				   "%s sends more messages than we take (%zu bytes queued)",
				   t->device, t->inq.len - t->inq_off);
		atv_buf_append(&t->inq, hdr, 4, NULL);
		atv_buf_append(&t->inq, m, ml, NULL);
	}
	if (r < 0)
		return die(t, err, ATV_E_PROTO, "%s sent a bad data frame: %s", t->device, e.msg);
	return 0;
}

/* Handle the frames the data channel received. */
static int take_data(struct atv_ap_tunnel *t, struct atv_err *err)
{
	struct atv_buf *in = atv_channel_input(t->ch[CH_DATA]);
	struct atv_ap_frame f;
	struct atv_err e = {0};
	size_t used, off = 0;
	int r = 0;

	for (int n = 0; off < in->len && n < FRAMES_PER_SERVICE;) {
		r = atv_ap_frame_dec_push(&t->dec, in->data + off, in->len - off, &used, &f, &e);
		off += used;
		if (r < 0) {
			r = die(t, err, ATV_E_PROTO, "%s sent a bad data frame: %s", t->device,
				e.msg);
			break;
		}
		if (r == 0)
			break;
		n++;
		t->stall_deadline = 0;
		if (atv_ap_frame_is(&f, "sync")) {
			/* answered at once, before what it carries is handled */
			atv_buf_reset(&t->frame);
			r = atv_ap_frame_reply(&t->frame, f.seqno, false, &e);
			if (r == 0)
				r = atv_channel_send(t->ch[CH_DATA], t->frame.data, t->frame.len, &e);
			if (r < 0) {
				r = die(t, err, ATV_E_UNREACHABLE, "data channel of %s: %s",
					t->device, e.msg);
				break;
			}
			if ((r = queue_messages(t, &f, err)) < 0)
				break;
		} else if (atv_ap_frame_is(&f, "rply")) {
			/* ours count up: a reply to one answers those before */
			if (t->sent_any && f.seqno == t->seq_last) {
				t->last_answered = true;
				t->rply_deadline = 0;
			} else if (t->sent_any && f.seqno < t->seq_last) {
				t->rply_deadline = atv_deadline_ms(t->timeout_ms);
			}
		} else {
			r = die(t, err, ATV_E_PROTO, "%s sent a data frame of unknown type",
				t->device);
			break;
		}
		r = 0;
	}
	atv_buf_consume(in, off);
	return r < 0 ? r : 0;
}

/* Part of a data frame, or of an encrypted block on any channel, has
 * arrived and waits for the rest. */
static bool partial(const struct atv_ap_tunnel *t)
{
	if (atv_ap_frame_dec_partial(&t->dec))
		return true;
	for (int i = 0; i < CH_COUNT; i++)
		if (t->ch[i] && atv_channel_partial(t->ch[i]))
			return true;
	return false;
}

static int stalled(struct atv_ap_tunnel *t, struct atv_err *err)
{
	return die(t, err, ATV_E_PROTO, "%s did not finish a message it began within %.1f s",
		   t->device, t->timeout_ms / 1000.0);
}

/* Move bytes on every channel and handle what came: twice, so that the
 * answers the first pass queued go out, and what the second pass reads
 * is handled too (nothing is left read but not looked at while we wait
 * on the sockets). */
static int pump(struct atv_ap_tunnel *t, struct atv_err *err)
{
	struct atv_err e = {0};
	int r;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < CH_COUNT; i++) {
			if (!t->ch[i])
				continue;
			r = atv_channel_pump(t->ch[i], &e);
			/* what arrived before a close is still handled */
			if (r == 0 || r == -ATV_E_UNREACHABLE) {
				int h = i == CH_CONTROL  ? take_control(t, err)
					: i == CH_EVENTS ? take_events(t, err)
							 : take_data(t, err);

				if (h < 0)
					return h;
			}
			if (r == -ATV_E_UNREACHABLE)
				return die(t, err, ATV_E_UNREACHABLE, "%s closed the %s", t->device,
					   chan_name[i]);
			if (r == -ATV_E_AUTH)
				return die(t, err, ATV_E_PROTO,
					   "bad ciphertext from %s on the %s: a block failed "
					   "authentication",
					   t->device, chan_name[i]);
			if (r < 0)
				return die(t, err, -r, "%s of %s: %s", chan_name[i], t->device,
					   e.msg);
		}
	}
	if (!partial(t))
		t->stall_deadline = 0;
	else if (!t->stall_deadline)
		t->stall_deadline = atv_deadline_ms(t->timeout_ms);
	return 0;
}

/* Send a control request (none may be in flight). */
static int send_request(struct atv_ap_tunnel *t, const char *method, const char *uri,
			const struct atv_buf *body, bool feedback, struct atv_err *err)
{
	struct atv_buf out;
	struct atv_err e = {0};
	int r;

	atv_buf_init(&out, ATV_CHANNEL_BUF_MAX);
	t->pending_cseq = t->rtsp.cseq;
	r = atv_ap_rtsp_build(&t->rtsp, method, uri, body ? body->data : NULL,
			      body ? body->len : 0, &out, &e);
	if (r == 0)
		r = atv_channel_send(t->ch[CH_CONTROL], out.data, out.len, &e);
	atv_buf_release(&out);
	if (r < 0)
		return die(t, err, r == -ATV_E_USAGE ? ATV_E_USAGE : ATV_E_UNREACHABLE,
			   "unable to send %s to %s: %s", method, t->device, e.msg);
	atv_debug("tunnel: -> %s %s (CSeq %u)", method, uri ? uri : t->rtsp.uri, t->pending_cseq);
	t->pending = true;
	t->answered = false;
	t->is_feedback = feedback;
	t->reply_deadline = atv_deadline_ms(t->timeout_ms);
	return 0;
}

/* The feedback clock: send one when due, judge the answer. */
static int feedback(struct atv_ap_tunnel *t, struct atv_err *err)
{
	int64_t now = atv_clock_ms();
	bool failed = false;

	if (!t->next_feedback)
		return 0;
	if (t->pending && t->is_feedback) {
		if (t->answered && t->status >= 200 && t->status < 300) {
			t->pending = false;
			t->feedback_tries = 0;
			t->next_feedback = now + ATV_AP_FEEDBACK_MS;
			return 0;
		}
		if (!t->answered && now < t->reply_deadline)
			return 0;
		failed = true;
		t->pending = false;
	}
	if (failed && t->feedback_tries++ > 0)
		return die(t, err, ATV_E_UNREACHABLE, "%s stopped answering /feedback", t->device);
	/* a failed one is tried again at once (pyatv's heartbeat) */
	if (t->pending || (!failed && now < t->next_feedback))
		return 0;
	return send_request(t, "POST", "/feedback", NULL, true, err);
}

static int timers(struct atv_ap_tunnel *t, struct atv_err *err)
{
	int64_t now = atv_clock_ms();
	int r = feedback(t, err);

	if (r == 0 && t->stall_deadline && now >= t->stall_deadline)
		r = stalled(t, err);
	if (r == 0 && t->rply_deadline && now >= t->rply_deadline)
		r = die(t, err, ATV_E_PROTO, "%s did not answer data frame %" PRIu64 " within %.1f s",
			t->device, t->seq_last, t->timeout_ms / 1000.0);
	return r;
}

/* The next time a timer runs (monotonic ms), or 0. */
static int64_t next_timer(const struct atv_ap_tunnel *t)
{
	int64_t n = 0;

	if (t->pending && !t->answered)
		n = t->reply_deadline;
	else if (t->next_feedback)
		n = t->next_feedback;
	if (t->stall_deadline && (!n || t->stall_deadline < n))
		n = t->stall_deadline;
	if (t->rply_deadline && (!n || t->rply_deadline < n))
		n = t->rply_deadline;
	return n;
}

typedef bool (*cond_fn)(const struct atv_ap_tunnel *t);

static bool has_message(const struct atv_ap_tunnel *t)
{
	return t->inq.len > t->inq_off + t->taken;
}

static bool last_answered(const struct atv_ap_tunnel *t)
{
	return t->last_answered;
}

static bool answered(const struct atv_ap_tunnel *t)
{
	return t->answered;
}

static bool idle(const struct atv_ap_tunnel *t)
{
	return !t->pending;
}

/* Serve every channel until done(t) or deadline: 1 when done, 0 at the
 * deadline (one round when it has passed), or an error. */
static int service(struct atv_ap_tunnel *t, int64_t deadline, cond_fn done, struct atv_err *err)
{
	struct epoll_event ev[CH_COUNT];
	int64_t now, until, nt, start = atv_clock_ms();
	int r;

	for (;;) {
		if (t->dead.code)
			return atv_err_stuck(&t->dead, err);
		if ((r = pump(t, err)) < 0 || (r = timers(t, err)) < 0)
			return r;
		if (done && done(t))
			return 1;
		now = atv_clock_ms();
		/* a wait that ends on a message begun half a timeout ago and
		 * never finished: the device is stuck, not just slow */
		if (now >= deadline && deadline > start && t->stall_deadline &&
		    t->stall_deadline <= now + t->timeout_ms / 2)
			return stalled(t, err);
		if (now >= deadline)
			return 0;
		until = deadline;
		nt = next_timer(t);
		if (nt && nt < until)
			until = nt;
		arm(t);
		if (until > now &&
		    epoll_wait(t->epfd, ev, CH_COUNT, (int)(until - now)) < 0 && errno != EINTR)
			return die(t, err, ATV_E_IO, "epoll_wait: %s", strerror(errno));
	}
}

/* One control request answered within the timeout, or an error.  A
 * feedback in flight is waited for first. */
static int request(struct atv_ap_tunnel *t, const char *method, const char *uri,
		   const struct atv_buf *body, struct atv_err *err)
{
	int r;

	if (t->pending && (r = service(t, atv_deadline_ms(t->timeout_ms), idle, err)) <= 0)
		return r < 0 ? r
			     : die(t, err, ATV_E_UNREACHABLE, "%s did not answer /feedback",
				   t->device);
	if ((r = send_request(t, method, uri, body, false, err)) < 0)
		return r;
	r = service(t, t->reply_deadline, answered, err);
	if (r < 0)
		return r;
	t->pending = false;
	if (r == 0)
		return die(t, err, ATV_E_UNREACHABLE, "%s did not answer %s within %.1f s",
			   t->device, method, t->timeout_ms / 1000.0);
	if (t->status == 401 || t->status == 403 || t->status == 470)
		return die(t, err, ATV_E_AUTH,
			   "%s refused %s (%d): pair again with atv-pair -p airplay", t->device,
			   method, t->status);
	if (t->status < 200 || t->status >= 300)
		return die(t, err, ATV_E_PROTO, "%s answered %s with status %d", t->device, method,
			   t->status);
	return 0;
}

/* Dial port on the device and encrypt the connection with salt and our
 * out/in key names. */
static int dial(struct atv_ap_tunnel *t, enum chan i, int port, const char *salt,
		const char *out_info, const char *in_info, struct atv_err *err)
{
	struct atv_hap_cipher c;
	struct atv_channel *ch;
	int fd = -1, r;

	memset(&c, 0, sizeof c);
	r = atv_tcp_connect(t->host, port, t->timeout_ms, &fd, err);
	if (r < 0) {
		atv_err_prefix(err, "%s", chan_name[i]);
		return r;
	}
	if (!(ch = atv_channel_new_direct(fd, err)))
		return -err->code;
	r = add_channel(t, i, ch, err);
	if (r == 0)
		r = atv_airplay_cipher(t->ap, salt, out_info, in_info, &c, err);
	if (r == 0)
		r = atv_channel_encrypt(ch, &c, err);
	atv_hap_cipher_wipe(&c);
	atv_debug("tunnel: %s on port %d", chan_name[i], port);
	return r;
}

void atv_ap_own_address(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	snprintf(out, size, "127.0.0.1");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out,
			  (socklen_t)size);
}

/* The bring-up after the control connection is verified. */
static int bring_up(struct atv_ap_tunnel *t, const char *name, struct atv_err *err)
{
	struct atv_ap_tunnel_ident id = {name,	       OUR_MODEL,      OUR_DEVICE_ID, OUR_MAC,
					 OUR_OS_NAME, OUR_OS_VERSION, OUR_OS_BUILD,  NULL};
	char session[ATV_UUID_SIZE], chan[ATV_UUID_SIZE], client[ATV_UUID_SIZE];
	char addr[INET6_ADDRSTRLEN], salt[ATV_AP_DATA_SALT_LEN];
	struct { uint64_t dacp, seq, seed; uint32_t active, uri; } rnd;
	struct atv_buf body;
	int event_port, data_port, r;
	bool skip_record;

	atv_buf_init(&body, ATV_AIRPLAY_BODY_MAX);
	r = atv_random(&rnd, sizeof rnd, err);
	if (r == 0)
		r = atv_uuid(session, err);
	if (r == 0)
		r = atv_uuid(chan, err);
	if (r == 0)
		r = atv_uuid(client, err);
	if (r < 0)
		goto out;
	atv_ap_own_address(atv_channel_tcp_fd(t->ch[CH_CONTROL]), addr, sizeof addr);
	atv_ap_rtsp_init(&t->rtsp, addr, rnd.dacp, rnd.active, rnd.uri);
	/* pyatv: a seqno in [2^32, 2^33); ours then counts up */
	t->seq_next = ((uint64_t)1 << 32) | (rnd.seq & 0x7fffffffULL);
	t->seed = rnd.seed;
	id.session_uuid = session;

	r = atv_ap_tunnel_session_body(&id, &body, err);
	if (r == 0)
		r = request(t, "SETUP", NULL, &body, err);
	if (r == 0)
		r = atv_ap_tunnel_session_reply(t->reply_body.data, t->reply_body.len, &event_port,
						&skip_record, err);
	if (r < 0)
		goto out;
	r = dial(t, CH_EVENTS, event_port, ATV_AP_EVENTS_SALT, ATV_AP_EVENTS_READ,
		 ATV_AP_EVENTS_WRITE, err);
	/* tvOS 27 says skipRecord and holds the tunnel without RECORD */
	if (r == 0 && !skip_record)
		r = request(t, "RECORD", NULL, NULL, err);
	if (r == 0)
		r = atv_ap_tunnel_stream_body(t->seed, chan, client, &body, err);
	if (r == 0)
		r = request(t, "SETUP", NULL, &body, err);
	if (r == 0)
		r = atv_ap_tunnel_stream_reply(t->reply_body.data, t->reply_body.len, &data_port,
					       &t->stream_id, err);
	if (r < 0)
		goto out;
	atv_ap_tunnel_data_salt(t->seed, salt);
	r = dial(t, CH_DATA, data_port, salt, ATV_AP_DATA_OUTPUT, ATV_AP_DATA_INPUT, err);
	if (r == 0)
		t->next_feedback = atv_clock_ms() + ATV_AP_FEEDBACK_MS;
out:
	atv_buf_release(&body);
	atv_crypto_wipe(&rnd, sizeof rnd);
	atv_crypto_wipe(salt, sizeof salt);
	return r;
}

static void tunnel_free(struct atv_ap_tunnel *t)
{
	drop_channel(t, CH_EVENTS);
	drop_channel(t, CH_DATA);
	atv_airplay_close(t->ap);
	if (t->epfd >= 0)
		close(t->epfd);
	atv_httpmsg_release(&t->rep);
	atv_httpmsg_release(&t->evreq);
	atv_buf_release(&t->reply_body);
	atv_ap_frame_dec_release(&t->dec);
	atv_buf_release(&t->frame);
	atv_buf_release(&t->payload);
	atv_buf_release(&t->msg);
	atv_buf_release(&t->inq);
	free(t->device);
	free(t->host);
	free(t);
}

int atv_ap_tunnel_open(const char *host, int port, const struct atv_airplay_info *info,
		       const char *credentials, const struct atv_ap_tunnel_opts *o,
		       struct atv_ap_tunnel **out, struct atv_err *err)
{
	struct atv_airplay_opts ao = {0};
	const char *name = o && o->device ? o->device : host;
	struct atv_ap_tunnel *t;
	int r;

	*out = NULL;
	if (info->version < 2 || !info->hap)
		return atv_err_set(err, ATV_E_UNSUPPORTED,
				   "%s does not speak airplay 2: no mrp tunnel", name);
	if ((r = atv_plist_load(&pl, err)) < 0)
		return r;
	t = calloc(1, sizeof *t);
	if (!t)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	t->epfd = -1;
	t->stream_id = -1;
	t->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	atv_httpmsg_init(&t->rep, ATV_HTTPMSG_REPLY, ATV_AIRPLAY_BODY_MAX);
	atv_httpmsg_init(&t->evreq, ATV_HTTPMSG_REQUEST, EVENT_BODY_MAX);
	atv_buf_init(&t->reply_body, ATV_AIRPLAY_BODY_MAX);
	atv_ap_frame_dec_init(&t->dec, ATV_AP_FRAME_MAX);
	atv_buf_init(&t->frame, ATV_AP_FRAME_MAX);
	atv_buf_init(&t->payload, ATV_AP_FRAME_MAX);
	atv_buf_init(&t->msg, ATV_AP_FRAME_MAX);
	atv_buf_init(&t->inq, INQ_MAX);
	if (!(t->device = strdup(name)) || !(t->host = strdup(host))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "epoll_create1");
		goto out;
	}
	ao.timeout_ms = t->timeout_ms;
	ao.device = t->device;
	r = atv_airplay_open(host, port, info, credentials, &ao, &t->ap, err);
	if (r < 0)
		goto out;
	if (!atv_channel_encrypted(atv_airplay_channel(t->ap))) {
		r = atv_err_set(err, ATV_E_AUTH,
				"%s needs airplay pairing for the mrp tunnel: pair with atv-pair "
				"-p airplay",
				name);
		goto out;
	}
	r = add_channel(t, CH_CONTROL, atv_airplay_channel(t->ap), err);
	if (r == 0)
		r = bring_up(t, o && o->name ? o->name : "atv-tools", err);
out:
	if (r < 0) {
		tunnel_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void atv_ap_tunnel_close(struct atv_ap_tunnel *t)
{
	struct atv_buf body;

	if (!t)
		return;
	/* iOS: TEARDOWN {streams:[{streamID}]} for the stream, then a bare
	 * TEARDOWN for the session (pyatv just closes).  The device closes
	 * the stream's channel as it tears it down: ours go first, so that
	 * is no loss of the connection. */
	if (!t->dead.code && t->ch[CH_DATA] && atv_plist_load(&pl, NULL) == 0) {
		plist_t d, s;

		/* a session that failed above us (a hostile MRP message) may
		 * face a device that answers nothing: the goodbye is short */
		if (t->timeout_ms > TEARDOWN_MS)
			t->timeout_ms = TEARDOWN_MS;

		drop_channel(t, CH_DATA);

		atv_buf_init(&body, 4096);
		if (atv_ap_streams_body(&d, &s, NULL) == 0) {
			if (t->stream_id >= 0)
				pl->dict_set_item(s, "streamID", pl->new_uint((uint64_t)t->stream_id));
			pl->dict_set_item(s, "type", pl->new_uint(ATV_AP_STREAM_TYPE_MRP));
			if (atv_ap_plist_bin(d, &body, NULL) == 0)
				(void)request(t, "TEARDOWN", NULL, &body, NULL);
		}
		atv_buf_release(&body);
		drop_channel(t, CH_EVENTS);
		if (!t->dead.code)
			(void)request(t, "TEARDOWN", NULL, NULL, NULL);
	}
	tunnel_free(t);
}

/* ---- the MRP transport ---- */

static int tr_send(void *p, const uint8_t *msg, size_t len, struct atv_err *err)
{
	struct atv_ap_tunnel *t = p;
	struct atv_err e = {0};
	int r;

	if (t->dead.code)
		return atv_err_stuck(&t->dead, err);
	atv_buf_reset(&t->msg);
	atv_buf_reset(&t->payload);
	atv_buf_reset(&t->frame);
	r = atv_ap_data_add(&t->msg, msg, len, &e);
	if (r == 0)
		r = atv_ap_payload_encode(&t->payload, t->msg.data, t->msg.len, &e);
	if (r == 0)
		r = atv_ap_frame_encode(&t->frame, "sync", "comm", t->seq_next, t->payload.data,
					t->payload.len, &e);
	if (r < 0) {
		if (err)
			*err = e;
		return r; /* ours: the session is not broken by it */
	}
	r = atv_channel_send(t->ch[CH_DATA], t->frame.data, t->frame.len, &e);
	if (r < 0)
		return die(t, err, ATV_E_UNREACHABLE, "unable to send to %s: %s", t->device, e.msg);
	if (!t->sent_any || t->last_answered)
		t->rply_deadline = atv_deadline_ms(t->timeout_ms);
	t->seq_last = t->seq_next++;
	t->sent_any = true;
	t->last_answered = false;
	/* out now if the socket takes it; a wait that follows sends the rest */
	r = pump(t, err);
	arm(t);
	return r;
}

static int tr_recv(void *p, int64_t deadline, const uint8_t **msg, size_t *len,
		   struct atv_err *err)
{
	struct atv_ap_tunnel *t = p;
	int r;

	*msg = NULL;
	*len = 0;
	/* the message handed out last is done with */
	t->inq_off += t->taken;
	t->taken = 0;
	if (t->inq_off == t->inq.len) {
		atv_buf_reset(&t->inq);
		t->inq_off = 0;
	} else if (t->inq_off > t->inq.len / 2) {
		atv_buf_consume(&t->inq, t->inq_off);
		t->inq_off = 0;
	}
	if (!has_message(t)) {
		r = service(t, deadline, has_message, err);
		arm(t);
		if (r <= 0)
			return r;
	}
	*len = atv_get_be32(t->inq.data + t->inq_off);
	*msg = t->inq.data + t->inq_off + 4;
	t->taken = 4 + *len;
	return 1;
}

static int tr_sync(void *p, struct atv_err *err)
{
	struct atv_ap_tunnel *t = p;
	int r;

	if (!t->sent_any || t->last_answered)
		return t->dead.code ? atv_err_stuck(&t->dead, err) : 0;
	r = service(t, atv_deadline_ms(t->timeout_ms), last_answered, err);
	arm(t);
	if (r == 0)
		return die(t, err, ATV_E_PROTO, "%s did not answer data frame %" PRIu64
			   " within %.1f s", t->device, t->seq_last, t->timeout_ms / 1000.0);
	return r < 0 ? r : 0;
}

static int tr_fd(const void *p)
{
	return ((const struct atv_ap_tunnel *)p)->epfd;
}

static int tr_timeout_ms(const void *p)
{
	const struct atv_ap_tunnel *t = p;
	int64_t n, now;

	if (t->dead.code || t->inq.len > t->inq_off + t->taken)
		return 0;
	for (int i = 0; i < CH_COUNT; i++)
		if (t->ch[i] && atv_channel_input(t->ch[i])->len)
			return 0; /* frames left for the next round */
	if (!(n = next_timer(t)))
		return -1;
	now = atv_clock_ms();
	return n <= now ? 0 : n - now > 3600000 ? 3600000 : (int)(n - now);
}

static void tr_close(void *p)
{
	atv_ap_tunnel_close(p);
}

const struct atv_mrp_transport atv_ap_tunnel_transport = {
    .send = tr_send,
    .recv = tr_recv,
    .sync = tr_sync,
    .fd = tr_fd,
    .timeout_ms = tr_timeout_ms,
    .close = tr_close,
};
