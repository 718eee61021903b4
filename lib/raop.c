/* raop.c - the audio session of raop.h: RTSP on the AirPlay connection
 * (airplay.c: plain, verified or transient), RTP audio and its control and
 * timing sockets, paced by one monotonic clock.
 *
 * Pacing: the packet that starts at frame pos (counted from the first one)
 * is due at t0 + pos / rate; it is sent once due, never earlier, so the
 * receiver's buffer holds its latency and no more.  Packets that are late
 * (the process was not scheduled for a while) are caught up, MAX_BEHIND a
 * call, while the receiver's latency still covers them, so the stream does
 * not drift; later than that (a slow pipe starved us) the clock is moved
 * (t0 later) instead of a burst, and the sync packets tell the receiver
 * the new mapping of RTP time to wall time.
 *
 * RTSP requests wait for their reply (atv_httpmsg_exchange, within the
 * timeout); they are few (set-up, volume, metadata, /feedback every 2 s)
 * and answered in well under a packet's 8 ms on a working network. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "airplay.h"
#include "airplay_channel.h"
#include "airplay_info.h"
#include "airplay_tunnel.h"
#include "crypto.h"
#include "hap.h"
#include "httpmsg.h"
#include "log.h"
#include "raop.h"
#include "raop_ap2.h"
#include "raop_packet.h"
#include "raop_rtsp.h"
#include "tcp.h"

#include "banned.h"

#define FPP		  ATV_RAOP_FRAMES_PER_PACKET
#define RING		  512		     /* packets kept for resends: 4 s */
#define QUEUE_FRAMES	  (FPP * 12)	     /* PCM waiting for its time: 96 ms */
#define MAX_BEHIND	  3		     /* packets a call while catching up */
#define SYNC_MS		  1000
#define FEEDBACK_MS	  2000
#define DEFAULT_LATENCY	  (22050 + 44100)    /* pyatv's StreamContext */
#define PKT_MAX		  (ATV_RTP_HEADER_LEN + ATV_ALAC_MAX_LEN(FPP, 2) + ATV_RTP_SEAL_EXTRA)
#define BODY_MAX	  (64 * 1024)
#define DIGEST_USER	  "iTunes"
#define SESSION_MAX	  64
#define DGRAMS_PER_CALL	  64		     /* datagrams read per socket and call */
#define RESENDS_PER_CALL  256		     /* packets resent per call: a flood of
						requests cannot starve the audio */

/* Extra header lines for one request. */
#define X1(a)	 ((const char *const[]){(a), NULL})
#define X2(a, b) ((const char *const[]){(a), (b), NULL})

/* A static Curve25519 public key for /auth-setup: receivers that ask
 * (AirPort Express) accept any key after the 0x01 "unencrypted" byte, and
 * we never check their answer (pyatv support/rtsp.py, OwnTone raop.c). */
static const uint8_t auth_setup_body[33] = {
	0x01, 0x59, 0x02, 0xed, 0xe9, 0x0d, 0x4e, 0xf2, 0xbd, 0x4c, 0xb6, 0x8a,
	0x63, 0x30, 0x03, 0x82, 0x07, 0xa9, 0x4d, 0xbd, 0x50, 0xd8, 0xaa, 0x46,
	0x5b, 0x5d, 0x8c, 0x01, 0x2a, 0x0c, 0x7e, 0x1d, 0x4e};

struct slot {
	bool used;
	uint16_t seq;
	uint16_t len;
	uint8_t p[PKT_MAX];
};

struct atv_raop {
	struct atv_airplay *ap;
	struct atv_channel *ch;	    /* the RTSP connection (ap's) */
	struct atv_channel *events; /* AirPlay 2: the event channel */
	struct atv_httpmsg reply, evreq;
	struct atv_ap_rtsp rtsp;
	char device[128];
	char session[SESSION_MAX]; /* "Session: ..." */
	bool v2;
	int timeout_ms;

	/* password and its Digest challenge */
	char *password;
	bool have_digest;
	struct atv_raop_digest digest;

	/* what the receiver takes (TXT md) */
	bool md_text, md_artwork, md_progress;

	int epfd, ctrl_fd, timing_fd, data_fd;
	struct sockaddr_storage ctrl_peer;
	socklen_t ctrl_peer_len;

	uint8_t shk[ATV_RAOP_AP2_SHK_LEN];
	uint64_t seal_ctr;

	/* RTP */
	uint32_t ssrc, rtp_base, latency;
	uint16_t seq;
	uint64_t pos; /* frames sent so far (the next packet's offset) */
	bool first_sent;
	int64_t t0_ns; /* monotonic time of frame 0 */
	int64_t next_sync_ms, next_feedback_ms;
	bool feedback;
	double duration;

	int16_t q[QUEUE_FRAMES * ATV_RAOP_CHANNELS];
	size_t q_frames;

	struct slot ring[RING];
	struct atv_raop_stats st;
	bool stopped;
	int dead;		      /* a negative ATV_E_* once broken */
	char dead_msg[ATV_ERR_MSGLEN];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return atv_ntp_from_ns((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Remember the first fatal error: every later call returns it. */
static int die(struct atv_raop *s, struct atv_err *err, int r)
{
	if (!s->dead) {
		s->dead = r;
		snprintf(s->dead_msg, sizeof s->dead_msg, "%s",
			 err && err->msg[0] ? err->msg : "audio session failed");
	}
	return r;
}

static int check(struct atv_raop *s, struct atv_err *err)
{
	if (s->dead)
		return atv_err_set(err, -s->dead, "%s", s->dead_msg);
	if (s->stopped)
		return atv_err_set(err, ATV_E_USAGE, "audio session already stopped");
	return 0;
}

/* ---- RTSP ---- */

/* One request and its reply in s->reply: the status (2xx checked by the
 * caller), or a negative error. */
static int rtsp(struct atv_raop *s, const char *method, const char *uri, const char *proto,
		const char *ctype, const char *const *extra, const void *body, size_t len,
		struct atv_err *err)
{
	char auth[512], type[128];
	const char *lines[12];
	size_t n = 0;
	struct atv_httpmsg_req req = {0};
	int r;

	if (!uri)
		uri = s->rtsp.uri;
	lines[n++] = "User-Agent: " ATV_AP_USER_AGENT;
	lines[n++] = s->rtsp.dacp_id;
	lines[n++] = s->rtsp.active_remote;
	lines[n++] = s->rtsp.instance;
	if (s->have_digest) {
		r = atv_raop_digest_header(DIGEST_USER, &s->digest, s->password, method, uri,
					   auth, sizeof auth, err);
		if (r < 0)
			return r;
		lines[n++] = auth;
	}
	if (s->session[0])
		lines[n++] = s->session;
	if (ctype) {
		snprintf(type, sizeof type, "Content-Type: %s", ctype);
		lines[n++] = type;
	}
	for (; extra && *extra && n < sizeof lines / sizeof lines[0] - 1; extra++)
		lines[n++] = *extra;
	lines[n] = NULL;
	req.method = method;
	req.uri = uri;
	req.proto = proto ? proto : "RTSP/1.0";
	req.headers = lines;
	req.body = body;
	req.body_len = len;
	req.cseq = s->rtsp.cseq++;
	atv_debug("raop: %s %s", method, uri);
	r = atv_httpmsg_exchange(s->ch, &req, &s->reply, s->timeout_ms, err);
	atv_crypto_wipe(auth, sizeof auth);
	if (r < 0)
		return die(s, err, r);
	atv_debug("raop: %s answered %d", method, s->reply.status);
	return s->reply.status;
}

/* A request that must succeed (2xx). */
static int rtsp_ok(struct atv_raop *s, const char *method, const char *uri, const char *ctype,
		   const char *const *extra, const void *body, size_t len, struct atv_err *err)
{
	int st = rtsp(s, method, uri, NULL, ctype, extra, body, len, err);

	if (st < 0)
		return st;
	if (st == 401 || st == 403 || st == 470)
		return die(s, err,
			   atv_err_set(err, ATV_E_AUTH, "%s refused %s (%d)%s", s->device, method,
				       st, s->password ? ": wrong password?" : ""));
	if (st == 453)
		return die(s, err,
			   atv_err_set(err, ATV_E_REFUSED, "%s is busy (453 not enough bandwidth)",
				       s->device));
	if (st < 200 || st >= 300)
		return die(s, err,
			   atv_err_set(err, ATV_E_PROTO, "%s answered %s with status %d",
				       s->device, method, st));
	return 0;
}

/* "RTP-Info: seq=N;rtptime=T" for the next packet. */
static void rtp_info(const struct atv_raop *s, char *out, size_t size)
{
	snprintf(out, size, "RTP-Info: seq=%u;rtptime=%" PRIu32, s->seq,
		 (uint32_t)(s->rtp_base + s->pos));
}

/* ANNOUNCE, with HTTP Digest when the receiver asks for it. */
static int announce(struct atv_raop *s, const char *family, const char *own,
		    const char *peer, struct atv_err *err)
{
	struct atv_buf sdp;
	const char *chal;
	int st;

	atv_buf_init(&sdp, 1024);
	st = atv_raop_sdp(s->ssrc, family, own, peer, &sdp, err);
	if (st == 0)
		st = rtsp(s, "ANNOUNCE", NULL, NULL, "application/sdp", NULL, sdp.data, sdp.len,
			  err);
	if (st == 401) {
		chal = atv_httpmsg_header(&s->reply, "WWW-Authenticate");
		if (!s->password)
			st = atv_err_set(err, ATV_E_AUTH, "%s wants a password (--password-file)",
					 s->device);
		else if (!chal)
			st = atv_err_set(err, ATV_E_PROTO, "%s answered 401 without a challenge",
					 s->device);
		else if ((st = atv_raop_digest_parse(chal, &s->digest, err)) == 0) {
			s->have_digest = true;
			st = rtsp(s, "ANNOUNCE", NULL, NULL, "application/sdp", NULL, sdp.data,
				  sdp.len, err);
			if (st == 401 || st == 403)
				st = atv_err_set(err, ATV_E_AUTH, "%s refused the password",
						 s->device);
		}
		if (st < 0)
			st = die(s, err, st);
	}
	atv_buf_release(&sdp);
	if (st < 0)
		return st;
	if (st == 470) {
		s->reply.status = st;
		return die(s, err,
			   atv_err_set(err, ATV_E_AUTH,
				       "%s wants a pairing for audio (470): pair with atv-pair -p airplay",
				       s->device));
	}
	if (st < 200 || st >= 300) {
		s->reply.status = st;
		return die(s, err,
			   atv_err_set(err, st == 403 ? ATV_E_AUTH : ATV_E_PROTO,
				       "%s answered ANNOUNCE with status %d", s->device, st));
	}
	return 0;
}

static int keep_session(struct atv_raop *s, struct atv_err *err)
{
	const char *v = atv_httpmsg_header(&s->reply, "Session");
	size_t n;

	if (!v)
		return 0;
	n = strcspn(v, ";");
	if (n == 0 || n > SESSION_MAX - 10)
		return die(s, err, atv_err_set(err, ATV_E_PROTO, "%s sent a bad Session header",
					       s->device));
	snprintf(s->session, sizeof s->session, "Session: %.*s", (int)n, v);
	return 0;
}

/* ---- sockets ---- */

static int udp_socket(struct atv_raop *s, const struct sockaddr_storage *local, int *port,
		      struct atv_err *err)
{
	struct sockaddr_storage a = *local;
	socklen_t al = sizeof a;
	int fd;

	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "udp socket");
	if (bind(fd, (struct sockaddr *)&a,
		 a.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) <
		    0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		int e = errno;

		close(fd);
		return atv_err_sys(err, ATV_E_IO, e, "udp bind");
	}
	if (port)
		*port = ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
						     : ((struct sockaddr_in6 *)&a)->sin6_port);
	(void)s;
	return fd;
}

static void set_port(struct sockaddr_storage *a, int port)
{
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

static int watch(struct atv_raop *s, int fd, struct atv_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "epoll");
	return 0;
}

/* ---- what the receiver sends ---- */

static void on_timing(struct atv_raop *s)
{
	uint8_t p[128], out[ATV_RTP_TIMING_LEN];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	struct atv_rtp_timing t;
	struct atv_err e;
	ssize_t n;

	for (int k = 0; k < DGRAMS_PER_CALL &&
			(n = recvfrom(s->timing_fd, p, sizeof p, 0, (struct sockaddr *)&from, &fl)) >= 0;
	     k++) {
		uint64_t now = ntp_now();

		if (atv_rtp_timing_parse(p, (size_t)n, &t, &e) < 0) {
			atv_debug("raop: timing port: %s (ignored)", e.msg);
		} else {
			atv_rtp_timing_reply(&t, now, ntp_now(), out);
			if (sendto(s->timing_fd, out, sizeof out, 0, (struct sockaddr *)&from, fl) >=
			    0)
				s->st.timing_replies++;
		}
		fl = sizeof from;
	}
}

static void on_control(struct atv_raop *s)
{
	uint8_t p[128], out[PKT_MAX + 4];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	struct atv_rtp_resend_req rr;
	struct atv_err e;
	ssize_t n;
	unsigned budget = RESENDS_PER_CALL;

	for (int k = 0; k < DGRAMS_PER_CALL &&
			(n = recvfrom(s->ctrl_fd, p, sizeof p, 0, (struct sockaddr *)&from, &fl)) >= 0;
	     k++) {
		if (atv_rtp_resend_parse(p, (size_t)n, &rr, &e) < 0) {
			atv_debug("raop: control port: %s (ignored)", e.msg);
			fl = sizeof from;
			continue;
		}
		/* never more than the ring holds, whatever the count says */
		for (unsigned i = 0; i < rr.count && i < RING; i++) {
			uint16_t seq = (uint16_t)(rr.seq + i);
			const struct slot *sl = &s->ring[seq % RING];

			if (budget == 0) {
				atv_debug("raop: resend requests over %d a call, the rest ignored",
					  RESENDS_PER_CALL);
				break;
			}
			budget--;
			if (!sl->used || sl->seq != seq) {
				s->st.resend_missed++;
				continue;
			}
			n = (ssize_t)atv_rtp_resend(sl->p, sl->len, out);
			if (sendto(s->ctrl_fd, out, (size_t)n, 0, (struct sockaddr *)&from, fl) >= 0)
				s->st.retransmits++;
		}
		atv_debug("raop: resend of %u from %u asked", rr.count, rr.seq);
		fl = sizeof from;
	}
}

/* Bytes on the RTSP connection outside an exchange: nothing is expected;
 * they are dropped, and its close ends the session. */
static int on_rtsp(struct atv_raop *s, struct atv_err *err)
{
	int r = atv_channel_pump(s->ch, err);
	struct atv_buf *in = atv_channel_input(s->ch);

	if (in->len) {
		atv_debug("raop: %zu unexpected bytes from %s dropped", in->len, s->device);
		atv_buf_consume(in, in->len);
	}
	if (r < 0) {
		atv_err_prefix(err, "%s", s->device);
		return die(s, err, r);
	}
	return 0;
}

/* AirPlay 2's event channel: the receiver's requests, each answered 200. */
static int on_events(struct atv_raop *s, struct atv_err *err)
{
	struct atv_buf *in;
	struct atv_buf out;
	size_t used;
	int r;

	r = atv_channel_pump(s->events, err);
	in = atv_channel_input(s->events);
	while (r == 0 && in->len) {
		r = atv_httpmsg_parse(&s->evreq, in->data, in->len, &used, err);
		atv_buf_consume(in, used);
		if (r <= 0)
			break;
		atv_buf_init(&out, 4096);
		r = atv_ap_tunnel_event_reply(&s->evreq, &out, err);
		if (r == 0)
			r = atv_channel_send(s->events, out.data, out.len, err);
		atv_buf_release(&out);
		atv_httpmsg_reset(&s->evreq);
		if (r == 0)
			r = atv_channel_pump(s->events, err);
	}
	if (r < 0) {
		atv_err_prefix(err, "%s event channel", s->device);
		return die(s, err, r);
	}
	return 0;
}

/* ---- audio ---- */

static uint32_t rtp_at(const struct atv_raop *s, int64_t t)
{
	int64_t d = t - s->t0_ns;

	if (!s->first_sent || d < 0)
		return (uint32_t)(s->rtp_base + s->pos);
	return (uint32_t)(s->rtp_base + (uint64_t)(d / 1000) * ATV_RAOP_SAMPLE_RATE / 1000000);
}

static int send_sync(struct atv_raop *s, bool first)
{
	uint8_t p[ATV_RTP_SYNC_LEN];
	uint32_t rtp = rtp_at(s, now_ns());

	atv_rtp_sync(p, first, rtp - s->latency, ntp_now(), rtp);
	if (sendto(s->ctrl_fd, p, sizeof p, 0, (struct sockaddr *)&s->ctrl_peer, s->ctrl_peer_len) <
	    0)
		atv_debug("raop: sync: %s", strerror(errno));
	s->next_sync_ms = atv_clock_ms() + SYNC_MS;
	return 0;
}

/* Send one packet of n frames from the queue's head. */
static int send_packet(struct atv_raop *s, size_t n, struct atv_err *err)
{
	uint8_t hdr[ATV_RTP_HEADER_LEN], alac[ATV_ALAC_MAX_LEN(FPP, 2)];
	struct slot *sl = &s->ring[s->seq % RING];
	size_t alen, len;
	int r;

	if (!s->first_sent) {
		s->t0_ns = now_ns();
		s->first_sent = true;
		send_sync(s, true);
	}
	atv_rtp_audio_header(hdr, s->pos == 0, s->seq, (uint32_t)(s->rtp_base + s->pos), s->ssrc);
	alen = atv_alac_frame(s->q, n, ATV_RAOP_CHANNELS, alac);
	if (s->v2) {
		r = atv_rtp_seal(s->shk, s->seal_ctr++, hdr, alac, alen, sl->p, err);
		if (r < 0)
			return die(s, err, r);
		len = ATV_RTP_HEADER_LEN + alen + ATV_RTP_SEAL_EXTRA;
	} else {
		memcpy(sl->p, hdr, sizeof hdr);
		memcpy(sl->p + sizeof hdr, alac, alen);
		len = sizeof hdr + alen;
	}
	sl->used = true;
	sl->seq = s->seq;
	sl->len = (uint16_t)len;
	if (send(s->data_fd, sl->p, len, 0) < 0 && errno != EAGAIN && errno != ENOBUFS &&
	    errno != ECONNREFUSED)
		return die(s, err, atv_err_sys(err, ATV_E_UNREACHABLE, errno, "audio to %s",
					       s->device));
	s->seq++;
	s->pos += n;
	s->st.packets_sent++;
	s->st.frames_sent += n;
	s->q_frames -= n;
	memmove(s->q, s->q + n * ATV_RAOP_CHANNELS, s->q_frames * ATV_RAOP_CHANNELS * sizeof s->q[0]);
	return 0;
}

/* ns until the next packet is due (<= 0: due). */
static int64_t due_in(const struct atv_raop *s, int64_t now)
{
	if (!s->first_sent)
		return 0;
	return s->t0_ns + (int64_t)(s->pos * 1000000000u / ATV_RAOP_SAMPLE_RATE) - now;
}

/* Send every packet that is due; with flush, a last partial one too.
 * Behind time (the process was not scheduled, the input was late), the
 * missed packets go out MAX_BEHIND a call (the caller comes back at once:
 * the timeout is 0) as long as the receiver's latency still covers them;
 * past that its buffer ran dry anyway, and the clock moves instead of a
 * burst the receiver could not hold. */
static int send_due(struct atv_raop *s, bool flush, struct atv_err *err)
{
	int64_t now = now_ns(), d;
	int64_t slack = (int64_t)s->latency * 1000000000 / ATV_RAOP_SAMPLE_RATE;
	int sent = 0, r;

	while ((s->q_frames >= FPP || (flush && s->q_frames > 0)) && sent < MAX_BEHIND) {
		d = due_in(s, now);
		if (d > 0)
			break;
		if (-d > slack) {
			s->t0_ns -= d;
			atv_debug("raop: %" PRId64 " ms behind, over the latency: clock moved",
				  -d / 1000000);
		}
		r = send_packet(s, s->q_frames >= FPP ? FPP : s->q_frames, err);
		if (r < 0)
			return r;
		sent++;
	}
	/* here too, so a caller that only writes still sends them */
	if (s->first_sent && atv_clock_ms() >= s->next_sync_ms)
		send_sync(s, false);
	return 0;
}

static int feedback(struct atv_raop *s, struct atv_err *err)
{
	int st;

	s->next_feedback_ms = atv_clock_ms() + FEEDBACK_MS;
	st = rtsp(s, "POST", "/feedback", NULL, NULL, NULL, NULL, 0, err);
	if (st < 0)
		return st;
	if (st < 200 || st >= 300) {
		/* pyatv: no keep-alive for a receiver that does not take it */
		atv_debug("raop: /feedback answered %d, not sent again", st);
		s->feedback = false;
	}
	return 0;
}

/* ---- the loop ---- */

/* The earlier of *t (-1: none yet) and d (clamped at 0: overdue). */
static void earliest(int64_t *t, int64_t d)
{
	if (d < 0)
		d = 0;
	if (*t < 0 || d < *t)
		*t = d;
}

int atv_raop_timeout_ms(const struct atv_raop *s)
{
	int64_t now = atv_clock_ms(), t = -1;

	if (s->dead || s->stopped)
		return -1;
	if (s->q_frames >= FPP)
		earliest(&t, (due_in(s, now_ns()) + 999999) / 1000000);
	if (s->first_sent)
		earliest(&t, s->next_sync_ms - now);
	if (s->feedback)
		earliest(&t, s->next_feedback_ms - now);
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

int atv_raop_fd(const struct atv_raop *s)
{
	return s->epfd;
}

int atv_raop_service(struct atv_raop *s, int timeout_ms, struct atv_err *err)
{
	struct epoll_event ev[4];
	int n, r;

	if ((r = check(s, err)) < 0)
		return r;
	n = epoll_wait(s->epfd, ev, 4, timeout_ms < 0 ? 0 : timeout_ms);
	if (n < 0 && errno != EINTR)
		return die(s, err, atv_err_sys(err, ATV_E_IO, errno, "epoll"));
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;

		if (fd == s->timing_fd)
			on_timing(s);
		else if (fd == s->ctrl_fd)
			on_control(s);
		else if (fd == atv_channel_tcp_fd(s->ch))
			r = on_rtsp(s, err);
		else if (s->events && fd == atv_channel_tcp_fd(s->events))
			r = on_events(s, err);
		if (r < 0)
			return r;
	}
	if ((r = send_due(s, false, err)) < 0)
		return r;
	if (s->feedback && atv_clock_ms() >= s->next_feedback_ms)
		return feedback(s, err);
	return 0;
}

/* Service until the deadline or until the next thing is due. */
static int wait_a_bit(struct atv_raop *s, struct atv_err *err)
{
	int t = atv_raop_timeout_ms(s);

	return atv_raop_service(s, t < 0 || t > 100 ? 100 : t, err);
}

size_t atv_raop_writable(const struct atv_raop *s)
{
	return s->dead || s->stopped ? 0 : QUEUE_FRAMES - s->q_frames;
}

int atv_raop_write(struct atv_raop *s, const int16_t *pcm, size_t frames, struct atv_err *err)
{
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	while (frames) {
		size_t n = QUEUE_FRAMES - s->q_frames;

		if (n > frames)
			n = frames;
		memcpy(s->q + s->q_frames * ATV_RAOP_CHANNELS, pcm,
		       n * ATV_RAOP_CHANNELS * sizeof *pcm);
		s->q_frames += n;
		s->st.frames_queued += n;
		pcm += n * ATV_RAOP_CHANNELS;
		frames -= n;
		if ((r = send_due(s, false, err)) < 0)
			return r;
		if (frames && (r = wait_a_bit(s, err)) < 0)
			return r;
	}
	return send_due(s, false, err);
}

int atv_raop_drain(struct atv_raop *s, struct atv_err *err)
{
	int64_t end;
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	while (s->q_frames) {
		if ((r = send_due(s, true, err)) < 0)
			return r;
		if (s->q_frames && (r = wait_a_bit(s, err)) < 0)
			return r;
	}
	if (!s->first_sent)
		return 0;
	/* the last frame plays latency after its own time */
	end = s->t0_ns + (int64_t)((s->pos + s->latency) * 1000000000u / ATV_RAOP_SAMPLE_RATE);
	while (now_ns() < end) {
		int64_t left = (end - now_ns() + 999999) / 1000000;
		int t = atv_raop_timeout_ms(s);

		if (t < 0 || t > left)
			t = (int)left;
		if ((r = atv_raop_service(s, t, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- requests of the caller ---- */

static int set_param_text(struct atv_raop *s, const char *text, struct atv_err *err)
{
	return rtsp_ok(s, "SET_PARAMETER", NULL, "text/parameters", NULL, text, strlen(text), err);
}

int atv_raop_set_volume(struct atv_raop *s, double percent, struct atv_err *err)
{
	char text[64];
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	if (!(percent >= 0.0 && percent <= 100.0))
		return atv_err_set(err, ATV_E_USAGE, "volume %g is not in 0..100", percent);
	snprintf(text, sizeof text, "volume: %.6f\r\n", atv_raop_volume_db(percent));
	return set_param_text(s, text, err);
}

int atv_raop_set_progress(struct atv_raop *s, struct atv_err *err)
{
	char text[96];
	uint32_t start = s->rtp_base, now, end;
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	if (s->duration <= 0 || !s->md_progress)
		return 0;
	now = rtp_at(s, now_ns()) - (s->first_sent ? s->latency : 0);
	if ((uint32_t)(now - start) > (uint32_t)INT32_MAX)
		now = start; /* not playing yet */
	end = start + (uint32_t)(s->duration * ATV_RAOP_SAMPLE_RATE);
	snprintf(text, sizeof text, "progress: %" PRIu32 "/%" PRIu32 "/%" PRIu32 "\r\n", start,
		 now, end);
	return set_param_text(s, text, err);
}

static int text_ok(const char *t, struct atv_err *err)
{
	if (t && strlen(t) > ATV_RAOP_TEXT_MAX)
		return atv_err_set(err, ATV_E_USAGE, "metadata text over %d bytes",
				   ATV_RAOP_TEXT_MAX);
	return 0;
}

int atv_raop_set_metadata(struct atv_raop *s, const struct atv_raop_meta *m, struct atv_err *err)
{
	char info[96];
	struct atv_buf b;
	int r;

	if ((r = check(s, err)) < 0 || (r = text_ok(m->title, err)) < 0 ||
	    (r = text_ok(m->artist, err)) < 0 || (r = text_ok(m->album, err)) < 0)
		return r;
	s->duration = m->duration;
	if (s->md_text && (m->title || m->artist || m->album)) {
		atv_buf_init(&b, 4 * ATV_RAOP_TEXT_MAX);
		rtp_info(s, info, sizeof info);
		r = atv_raop_dmap_meta(m->title, m->artist, m->album, &b, err);
		if (r == 0)
			r = rtsp_ok(s, "SET_PARAMETER", NULL, "application/x-dmap-tagged", X1(info),
				    b.data, b.len, err);
		atv_buf_release(&b);
		if (r < 0)
			return r;
	} else if (!s->md_text) {
		atv_debug("raop: %s takes no text metadata (TXT md)", s->device);
	}
	return atv_raop_set_progress(s, err);
}

int atv_raop_set_artwork(struct atv_raop *s, const char *mime, const void *p, size_t len,
			 struct atv_err *err)
{
	char info[96];
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	if (!mime || (strcmp(mime, "image/jpeg") != 0 && strcmp(mime, "image/png") != 0))
		return atv_err_set(err, ATV_E_USAGE, "artwork must be image/jpeg or image/png");
	if (len == 0 || len > ATV_RAOP_ARTWORK_MAX)
		return atv_err_set(err, ATV_E_USAGE, "artwork of %zu bytes (1..%d)", len,
				   ATV_RAOP_ARTWORK_MAX);
	if (!s->md_artwork) {
		atv_debug("raop: %s takes no artwork (TXT md)", s->device);
		return 0;
	}
	rtp_info(s, info, sizeof info);
	return rtsp_ok(s, "SET_PARAMETER", NULL, mime, X1(info), p, len, err);
}

int atv_raop_stop(struct atv_raop *s, struct atv_err *err)
{
	char info[96];
	int r;

	if ((r = check(s, err)) < 0)
		return r;
	s->q_frames = 0;
	rtp_info(s, info, sizeof info);
	r = rtsp_ok(s, "FLUSH", NULL, NULL, X1(info), NULL, 0, err);
	if (r == 0)
		r = rtsp_ok(s, "TEARDOWN", NULL, NULL, NULL, NULL, 0, err);
	s->stopped = true;
	return r;
}

void atv_raop_format(const struct atv_raop *s, struct atv_raop_format *f)
{
	(void)s;
	f->rate = ATV_RAOP_SAMPLE_RATE;
	f->channels = ATV_RAOP_CHANNELS;
	f->bits = 16;
	f->big_endian = false;
}

void atv_raop_stats(const struct atv_raop *s, struct atv_raop_stats *st)
{
	*st = s->st;
}

void atv_raop_close(struct atv_raop *s)
{
	struct atv_err e;

	if (!s)
		return;
	if (s->ap && !s->dead && !s->stopped) {
		s->timeout_ms = s->timeout_ms > 1000 ? 1000 : s->timeout_ms;
		if (rtsp_ok(s, "TEARDOWN", NULL, NULL, NULL, NULL, 0, &e) < 0)
			atv_debug("raop: teardown: %s", e.msg);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->ctrl_fd >= 0)
		close(s->ctrl_fd);
	if (s->timing_fd >= 0)
		close(s->timing_fd);
	if (s->data_fd >= 0)
		close(s->data_fd);
	atv_channel_free(s->events);
	atv_airplay_close(s->ap);
	atv_httpmsg_release(&s->reply);
	atv_httpmsg_release(&s->evreq);
	if (s->password) {
		atv_crypto_wipe(s->password, strlen(s->password));
		free(s->password);
	}
	atv_crypto_wipe(s, sizeof *s);
	free(s);
}

/* ---- opening ---- */

/* "0,1,2"-style TXT list: whether it holds n. */
static bool txt_has(const json_t *props, const char *key, int n)
{
	const char *k, *v;
	json_t *val;

	json_object_foreach((json_t *)props, k, val) {
		if (strcasecmp(k, key) != 0 || !json_is_string(val))
			continue;
		v = json_string_value(val);
		while (*v) {
			char *end;
			long x = strtol(v, &end, 10);

			if (end != v && x == n)
				return true;
			v = end + strcspn(end, ",");
			if (*v == ',')
				v++;
			else if (end == v)
				break;
		}
	}
	return false;
}

static const char *txt(const json_t *props, const char *key)
{
	const char *k;
	json_t *val;

	json_object_foreach((json_t *)props, k, val)
		if (strcasecmp(k, key) == 0 && json_is_string(val))
			return json_string_value(val);
	return NULL;
}

/* AirPlay 2: the session SETUP (event channel), then the audio stream. */
static int setup_v2(struct atv_raop *s, const char *host, int timing_port, int ctrl_port,
		    int *data_port, int *remote_ctrl, const char *name, struct atv_err *err)
{
	struct atv_hap_cipher c;
	struct atv_buf body;
	char uuid[ATV_UUID_SIZE];
	int r, event_port = -1, fd = -1;
	bool skip = false;

	atv_buf_init(&body, BODY_MAX);
	r = atv_uuid(uuid, err);
	if (r == 0)
		r = atv_raop_ap2_session_body(timing_port, uuid, name, &body, err);
	if (r == 0)
		r = rtsp_ok(s, "SETUP", NULL, "application/x-apple-binary-plist", NULL, body.data,
			    body.len, err);
	if (r == 0)
		r = atv_ap_tunnel_session_reply(s->reply.body.data, s->reply.body.len, &event_port,
						&skip, err);
	if (r == 0)
		r = atv_tcp_connect(host, event_port, s->timeout_ms, &fd, err);
	if (r == 0 && !(s->events = atv_channel_new_direct(fd, err)))
		r = -err->code;
	memset(&c, 0, sizeof c);
	if (r == 0)
		r = atv_airplay_cipher(s->ap, ATV_AP_EVENTS_SALT, ATV_AP_EVENTS_READ,
				       ATV_AP_EVENTS_WRITE, &c, err);
	if (r == 0)
		r = atv_channel_encrypt(s->events, &c, err);
	atv_hap_cipher_wipe(&c);
	if (r == 0)
		r = watch(s, atv_channel_tcp_fd(s->events), err);
	if (r == 0)
		r = atv_random(s->shk, sizeof s->shk, err);
	if (r == 0)
		r = atv_raop_ap2_stream_body(ctrl_port, s->shk, s->ssrc, &body, err);
	if (r == 0)
		r = rtsp_ok(s, "SETUP", NULL, "application/x-apple-binary-plist", NULL, body.data,
			    body.len, err);
	if (r == 0)
		r = atv_raop_ap2_stream_reply(s->reply.body.data, s->reply.body.len, data_port,
					      remote_ctrl, err);
	atv_buf_release(&body);
	return r < 0 ? die(s, err, r) : 0;
}

/* RAOP: /auth-setup when asked, ANNOUNCE, SETUP with our UDP ports. */
static int setup_v1(struct atv_raop *s, const json_t *props, int timing_port, int ctrl_port,
		    int *data_port, int *remote_ctrl, struct atv_err *err)
{
	char own[64], peer[64], transport[160];
	struct sockaddr_storage a;
	socklen_t al = sizeof a;
	struct atv_raop_transport t;
	const char *am = txt(props, "am"), *v;
	int r, tcp = atv_channel_tcp_fd(s->ch);

	atv_ap_own_address(tcp, own, sizeof own);
	snprintf(peer, sizeof peer, "127.0.0.1");
	if (getpeername(tcp, (struct sockaddr *)&a, &al) == 0)
		inet_ntop(a.ss_family,
			  a.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&a)->sin_addr
						 : (void *)&((struct sockaddr_in6 *)&a)->sin6_addr,
			  peer, sizeof peer);
	/* pyatv: MFi-SAP receivers of the AirPort kind want /auth-setup */
	if (txt_has(props, "et", 4) && am && strncmp(am, "AirPort", 7) == 0) {
		r = rtsp(s, "POST", "/auth-setup", "HTTP/1.1", "application/octet-stream", NULL,
			 auth_setup_body, sizeof auth_setup_body, err);
		if (r < 0)
			return r;
		if (r < 200 || r >= 300)
			return die(s, err, atv_err_set(err, ATV_E_UNSUPPORTED,
						       "%s refused /auth-setup (%d)", s->device, r));
	}
	r = announce(s, strchr(own, ':') ? "IP6" : "IP4", own, peer, err);
	if (r < 0)
		return r;
	snprintf(transport, sizeof transport,
		 "Transport: RTP/AVP/UDP;unicast;interleaved=0-1;mode=record;control_port=%d;"
		 "timing_port=%d",
		 ctrl_port, timing_port);
	r = rtsp_ok(s, "SETUP", NULL, NULL, X1(transport), NULL, 0, err);
	if (r < 0)
		return r;
	if (!(v = atv_httpmsg_header(&s->reply, "Transport")))
		return die(s, err, atv_err_set(err, ATV_E_PROTO, "%s: SETUP without Transport",
					       s->device));
	if ((r = atv_raop_transport_parse(v, &t, err)) < 0) {
		atv_err_prefix(err, "%s", s->device);
		return die(s, err, r);
	}
	if ((r = keep_session(s, err)) < 0)
		return r;
	*data_port = t.server_port;
	*remote_ctrl = t.control_port;
	return 0;
}

static int record(struct atv_raop *s, struct atv_err *err)
{
	char info[96];
	const char *lat;
	int r;

	rtp_info(s, info, sizeof info);
	r = rtsp_ok(s, "RECORD", NULL, NULL, X2("Range: npt=0-", info), NULL, 0, err);
	if (r < 0)
		return r;
	s->latency = DEFAULT_LATENCY;
	lat = atv_httpmsg_header(&s->reply, "Audio-Latency");
	if (lat) {
		uint32_t f;

		if ((r = atv_raop_latency_parse(lat, &f, err)) < 0)
			return die(s, err, r);
		/* a floor, not the reply: shairport-sync says 11025 and adds
		 * its own 11025 to what the sync packets say, and with its
		 * start-up the first 0.5 s then come too late (t/0052) */
		if (f > s->latency)
			s->latency = f;
	}
	s->st.latency_frames = s->latency;
	return 0;
}

int atv_raop_open(const struct atv_device *dev, const struct atv_raop_opts *o,
		  struct atv_raop **out, struct atv_err *err)
{
	static const struct atv_raop_opts defaults = {0};
	const struct atv_service *svc, *aps;
	struct atv_airplay_info info;
	struct atv_airplay_opts apo = {0};
	struct atv_raop *s;
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	const char *creds;
	struct {
		uint64_t dacp;
		uint32_t active, ssrc, base;
		uint16_t seq;
	} rnd;
	int r, timing_port = 0, ctrl_port = 0, data_port = 0, remote_ctrl = 0;
	struct atv_err own_err;

	*out = NULL;
	if (!err)
		err = &own_err; /* the steps below read the code back */
	if (!o)
		o = &defaults;
	svc = atv_device_service(dev, "raop");
	if (!svc || svc->port <= 0 || !dev->address)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no raop (audio) service",
				   dev->name ? dev->name : "the device");
	if ((r = atv_airplay_info_parse(svc->properties, &info, err)) < 0)
		return r;
	if (!(s = calloc(1, sizeof *s)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	s->epfd = s->ctrl_fd = s->timing_fd = s->data_fd = -1;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	snprintf(s->device, sizeof s->device, "%s", dev->name ? dev->name : dev->address);
	atv_httpmsg_init(&s->reply, ATV_HTTPMSG_REPLY, BODY_MAX);
	atv_httpmsg_init(&s->evreq, ATV_HTTPMSG_REQUEST, BODY_MAX);
	s->v2 = o->version == ATV_RAOP_V2 || (o->version == ATV_RAOP_AUTO && info.version >= 2);
	s->st.protocol = s->v2 ? "airplay2" : "raop";
	s->md_text = txt_has(svc->properties, "md", 0);
	s->md_artwork = txt_has(svc->properties, "md", 1);
	s->md_progress = txt_has(svc->properties, "md", 2);
	if (o->password && !(s->password = strdup(o->password))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto fail;
	}
	creds = svc->credentials;
	aps = atv_device_service(dev, "airplay");
	if ((!creds || !creds[0]) && aps)
		creds = aps->credentials;
	if (!creds || !creds[0])
		creds = NULL;
	if (info.password && !s->password && !s->v2) {
		r = atv_err_set(err, ATV_E_AUTH, "%s wants a password (--password-file)",
				s->device);
		goto fail;
	}
	/* the password is RTSP's business here (Digest), not the connection's */
	info.password = false;
	if (!s->v2) {
		info.version = 1;
		info.transient = false;
		if (!creds)
			info.pairing = ATV_AP_PAIRING_NOT_NEEDED;
	}
	apo.timeout_ms = s->timeout_ms;
	apo.device = s->device;
	apo.name = o->name;
	if ((r = atv_airplay_open(dev->address, svc->port, &info, creds, &apo, &s->ap, err)) < 0)
		goto fail;
	s->ch = atv_airplay_channel(s->ap);
	s->st.auth = creds ? "hap" : strcmp(atv_airplay_auth(s->ap), "transient") == 0 ? "transient"
				   : s->password ? "password" : "none";
	if ((r = atv_random(&rnd, sizeof rnd, err)) < 0)
		goto fail;
	s->ssrc = rnd.ssrc;
	s->rtp_base = rnd.base;
	s->seq = rnd.seq;
	{
		char own[64];

		atv_ap_own_address(atv_channel_tcp_fd(s->ch), own, sizeof own);
		atv_ap_rtsp_init(&s->rtsp, own, rnd.dacp, rnd.active, s->ssrc);
	}
	if (getsockname(atv_channel_tcp_fd(s->ch), (struct sockaddr *)&local, &ll) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "getsockname");
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "epoll");
		goto fail;
	}
	if ((r = s->ctrl_fd = udp_socket(s, &local, &ctrl_port, err)) < 0 ||
	    (r = s->timing_fd = udp_socket(s, &local, &timing_port, err)) < 0 ||
	    (r = s->data_fd = udp_socket(s, &local, NULL, err)) < 0)
		goto fail;
	if ((r = watch(s, s->ctrl_fd, err)) < 0 || (r = watch(s, s->timing_fd, err)) < 0 ||
	    (r = watch(s, atv_channel_tcp_fd(s->ch), err)) < 0)
		goto fail;
	r = s->v2 ? setup_v2(s, dev->address, timing_port, ctrl_port, &data_port, &remote_ctrl,
			     o->name, err)
		  : setup_v1(s, svc->properties, timing_port, ctrl_port, &data_port, &remote_ctrl,
			     err);
	if (r < 0)
		goto fail;
	/* the receiver's address with its data and control ports */
	{
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;

		if (getpeername(atv_channel_tcp_fd(s->ch), (struct sockaddr *)&peer, &pl) < 0) {
			r = atv_err_sys(err, ATV_E_UNREACHABLE, errno, "%s", s->device);
			goto fail;
		}
		s->ctrl_peer = peer;
		s->ctrl_peer_len = pl;
		set_port(&s->ctrl_peer, remote_ctrl);
		set_port(&peer, data_port);
		if (connect(s->data_fd, (struct sockaddr *)&peer, pl) < 0) {
			r = atv_err_sys(err, ATV_E_IO, errno, "udp connect");
			goto fail;
		}
	}
	if ((r = record(s, err)) < 0)
		goto fail;
	s->feedback = true;
	if ((r = feedback(s, err)) < 0)
		goto fail;
	if (o->set_volume && (r = atv_raop_set_volume(s, o->volume, err)) < 0)
		goto fail;
	atv_info("raop: streaming to %s over %s (%s), latency %u frames", s->device,
		 s->st.protocol, s->st.auth, s->latency);
	*out = s;
	return 0;
fail:
	s->dead = r; /* no TEARDOWN on a half-made session */
	atv_raop_close(s);
	return r;
}
