/* raop-server.c - the fake's audio receiver, as a real one receives:
 * RAOP (AirPlay 1 audio) on the AirPlay port (airplay-server.c hands the
 * RTSP requests in) and the audio stream (type 96) of an AirPlay 2 session
 * (the tunnel's SETUP hands it in).
 *
 * RTSP: OPTIONS, ANNOUNCE (SDP: L16 or AppleLossless), SETUP (the server,
 * control and timing UDP ports on the fake's address, in Transport),
 * RECORD (Audio-Latency), SET_PARAMETER (volume, progress, DMAP metadata,
 * artwork), GET_PARAMETER volume, FLUSH, TEARDOWN, POST /feedback,
 * POST /auth-setup; HTTP Digest on every request but OPTIONS when a
 * password is set (RFC 2617 without qop, as AirPort Express asks).
 *
 * Audio: RTP on the server port; AirPlay 2 payloads are ChaCha20-Poly1305
 * sealed with the SETUP's shk, the RTP header's timestamp and SSRC as AAD,
 * the nonce's last 8 bytes at the packet's end (pyatv's sender).  Packets
 * are put back in order in a window of WINDOW; a gap asks the sender
 * again (0xd5 on its control port), once per missing packet, and a
 * resent packet (0xd6 with the packet inside) fills it.  What comes in
 * order is decoded and counted; the PCM goes into an FNV-1a 64 checksum
 * (little-endian int16, interleaved) that leaves out trailing silence, so
 * a test compares it with its file's data whatever padding follows.
 * Each new packet's arrival is set against its RTP time on the monotonic
 * clock: drift is how late the last one was against the first, max_ahead
 * the most the sender ran ahead (a burst).
 *
 * One session at a time: a new ANNOUNCE or AirPlay 2 stream SETUP starts
 * over (audio-state reports the last one). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <plist/plist.h>

#include "crypto.h"
#include "fake.h"
#include "log.h"
#include "raop.h"

#include "banned.h"

#define WINDOW		256  /* packets held to put back in order */
#define GIVE_UP		128  /* a gap this many packets old is lost */
#define DEFAULT_LATENCY 11025 /* frames, Audio-Latency */
#define PASSWORD_MAX	128
#define HUGE_LENGTH	"1073741824"
#define ENDLESS_BYTES	((size_t)128 << 10) /* under the channel's 256 KiB */
#define FLOOD		1000 /* hostile retransmit-flood: requests at once */
#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

static const char *const hostile_names[] = {"none",	       "rtsp-endless",
					    "huge-length",     "garbage-setup",
					    "retransmit-unsent", "retransmit-flood",
					    "timing-silent",   NULL};
enum { H_NONE, H_ENDLESS, H_HUGE, H_GARBAGE_SETUP, H_RT_UNSENT, H_RT_FLOOD, H_TIMING_SILENT };

enum state { S_IDLE, S_ANNOUNCED, S_SETUP, S_RECORDING, S_FLUSHED, S_TORNDOWN };
static const char *const state_names[] = {"idle",      "announced", "setup",
					  "recording", "flushed",   "teardown"};

struct slot {
	bool used;
	uint16_t seq;
	uint16_t len;
	uint8_t pkt[FAKE_RTP_MAX];
};

/* One audio session: what a test asks about. */
struct session {
	bool ap2;
	enum state state;
	struct fake_sdp fmt;
	bool encrypted;
	uint8_t key[ATV_AEAD_KEY_LEN];
	struct sockaddr_in peer_ctrl, peer_timing; /* the sender's ports */
	bool have_ctrl, have_timing;
	/* sequence */
	bool have_seq;
	uint16_t next_seq, highest, rt_seq;
	bool have_ts;
	uint32_t next_ts, first_ts, last_ts;
	unsigned long packets, frames, samples, lost, late, reordered, ts_jumps;
	unsigned long rt_requests, rt_requested_packets, recovered, dropped, bad;
	unsigned long syncs, timing_requests, timing_replies, flushes, records, feedback;
	uint32_t sync_rtp;
	char last_error[160];
	/* PCM checksum: trailing silence is held back */
	uint64_t fnv;
	unsigned long pcm_frames, zero_run;
	/* arrival against the monotonic clock */
	bool have_arrival;
	long long t0_us;
	uint32_t ts0;
	double drift_ms, max_ahead_ms, max_late_ms;
	/* what the sender said */
	bool have_volume;
	double volume;
	char *title, *artist, *album, *progress, *art_mime;
	size_t art_size;
	bool teardown;
	uint32_t session_id;
};

struct fake_audio {
	struct fake_loop *loop;
	struct in_addr addr;
	int data_fd, ctrl_fd, timing_fd;
	int data_port, ctrl_port, timing_port;
	/* knobs */
	char password[PASSWORD_MAX + 1];
	unsigned drop_every;
	unsigned long arrivals; /* for drop_every */
	int hostile;
	unsigned latency;
	char nonce[33];
	/* across sessions (until audio-reset) */
	unsigned long auth_ok, auth_failed, auth_setup, options;
	struct session s;
	struct slot *win;
	unsigned long sessions;
};

const char *fake_audio_usage(void)
{
	return "audio-state | audio-drop N | audio-password PW|off | audio-reset | "
	       "audio-hostile none|rtsp-endless|huge-length|garbage-setup|retransmit-unsent|"
	       "retransmit-flood|timing-silent";
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the session ---- */

static void session_release(struct session *s)
{
	free(s->title);
	free(s->artist);
	free(s->album);
	free(s->progress);
	free(s->art_mime);
	atv_crypto_wipe(s->key, sizeof s->key);
	memset(s, 0, sizeof *s);
	s->fnv = FNV_OFFSET;
}

static void close_ports(struct fake_audio *a)
{
	int *fds[] = {&a->data_fd, &a->ctrl_fd, &a->timing_fd};

	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0) {
			fake_loop_remove_fd(a->loop, *fds[i]);
			close(*fds[i]);
			*fds[i] = -1;
		}
	}
	a->data_port = a->ctrl_port = a->timing_port = -1;
}

static void clear_window(struct fake_audio *a)
{
	for (size_t i = 0; i < WINDOW; i++)
		a->win[i].used = false;
}

/* A new session (ANNOUNCE, AirPlay 2 stream SETUP, audio-reset). */
static void session_start(struct fake_audio *a, bool ap2)
{
	close_ports(a);
	clear_window(a);
	session_release(&a->s);
	a->s.ap2 = ap2;
	a->arrivals = 0;
	a->sessions++;
}

static void note_error(struct session *s, const char *msg)
{
	s->bad++;
	snprintf(s->last_error, sizeof s->last_error, "%s", msg);
	atv_info("audio: %s", msg);
}

/* ---- PCM ---- */

static void fnv_bytes(uint64_t *h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*h ^= p[i];
		*h *= FNV_PRIME;
	}
}

static void pcm_add(struct session *s, const int16_t *pcm, size_t frames)
{
	unsigned ch = s->fmt.channels;
	static const uint8_t zero[4];

	for (size_t i = 0; i < frames; i++) {
		bool silent = true;
		uint8_t le[4];

		for (unsigned c = 0; c < ch; c++) {
			uint16_t v = (uint16_t)pcm[i * ch + c];

			le[2 * c] = (uint8_t)v;
			le[2 * c + 1] = (uint8_t)(v >> 8);
			silent &= v == 0;
		}
		if (silent) {
			s->zero_run++;
			continue;
		}
		/* the silence before this frame was audio after all */
		for (; s->zero_run > 0; s->zero_run--, s->pcm_frames++)
			fnv_bytes(&s->fnv, zero, 2 * ch);
		fnv_bytes(&s->fnv, le, 2 * ch);
		s->pcm_frames++;
	}
}

/* A packet in order: open it, decode it, count it. */
static void deliver(struct fake_audio *a, const uint8_t *pkt, size_t len)
{
	struct session *s = &a->s;
	struct atv_err err = {0, ""};
	static int16_t pcm[FAKE_FPP_MAX * 2];
	uint8_t plain[FAKE_RTP_MAX];
	struct fake_rtp r;
	const uint8_t *pl;
	size_t pn, frames;

	if (fake_rtp_parse(pkt, len, &r, &err) < 0) {
		note_error(s, err.msg);
		return;
	}
	pl = r.payload;
	pn = r.len;
	if (s->encrypted) {
		uint8_t nonce[ATV_AEAD_NONCE_LEN] = {0};

		/* ciphertext, tag, then the nonce's last 8 bytes */
		if (pn < 16 + 8) {
			note_error(s, "airplay 2 audio: a packet too short to be sealed");
			return;
		}
		memcpy(nonce + 4, pl + pn - 8, 8);
		if (atv_aead_open(s->key, nonce, pkt + 4, 8, pl, pn - 8, plain, &err) < 0) {
			note_error(s, "airplay 2 audio: a payload that does not open");
			return;
		}
		pl = plain;
		pn = pn - 8 - 16;
	}
	if (fake_audio_decode(s->fmt.codec, s->fmt.channels, s->fmt.bits, pl, pn, pcm,
			      s->fmt.fpp, &frames, &err) < 0) {
		note_error(s, err.msg);
		return;
	}
	if (s->have_ts && r.ts != s->next_ts)
		s->ts_jumps++;
	if (!s->have_ts)
		s->first_ts = r.ts;
	s->have_ts = true;
	s->last_ts = r.ts;
	s->next_ts = r.ts + (uint32_t)frames;
	s->packets++;
	s->frames += frames;
	s->samples += frames * s->fmt.channels;
	pcm_add(s, pcm, frames);
}

/* Ask the sender again for count packets from seq (0xd5 on its control
 * port: 0x80 0xd5, our sequence, the first missing, how many). */
static void request_resend(struct fake_audio *a, uint16_t seq, uint16_t count)
{
	struct session *s = &a->s;
	uint8_t p[8] = {0x80, 0xd5};

	if (!s->have_ctrl || a->ctrl_fd < 0 || count == 0)
		return;
	put16(p + 2, s->rt_seq++);
	put16(p + 4, seq);
	put16(p + 6, count);
	if (sendto(a->ctrl_fd, p, sizeof p, 0, (const struct sockaddr *)&s->peer_ctrl,
		   sizeof s->peer_ctrl) == (ssize_t)sizeof p) {
		s->rt_requests++;
		s->rt_requested_packets += count;
	}
}

/* Deliver what the window holds from next_seq on. */
static void drain(struct fake_audio *a)
{
	struct session *s = &a->s;

	for (;;) {
		struct slot *sl = &a->win[s->next_seq % WINDOW];

		if (!sl->used || sl->seq != s->next_seq)
			return;
		sl->used = false;
		deliver(a, sl->pkt, sl->len);
		s->next_seq++;
	}
}

/* Skip the gap at next_seq: it counts as lost. */
static void give_up_gap(struct fake_audio *a)
{
	struct session *s = &a->s;

	while ((int16_t)(s->highest - s->next_seq) >= 0) {
		struct slot *sl = &a->win[s->next_seq % WINDOW];

		if (sl->used && sl->seq == s->next_seq) {
			drain(a);
			if ((int16_t)(s->highest - s->next_seq) < GIVE_UP)
				return;
			continue;
		}
		s->lost++;
		s->next_seq++;
	}
}

/* Give up every gap: what the window holds is delivered, the rest lost
 * (FLUSH, TEARDOWN, a state looked at after the stream). */
static void settle(struct fake_audio *a)
{
	struct session *s = &a->s;

	if (!s->have_seq)
		return;
	while ((int16_t)(s->highest - s->next_seq) >= 0) {
		struct slot *sl = &a->win[s->next_seq % WINDOW];

		if (sl->used && sl->seq == s->next_seq)
			drain(a);
		else {
			s->lost++;
			s->next_seq++;
		}
	}
}

static void measure_arrival(struct session *s, uint32_t ts)
{
	long long now = mono_us();
	double audio_ms, wall_ms, late;

	if (!s->have_arrival) {
		s->have_arrival = true;
		s->t0_us = now;
		s->ts0 = ts;
		return;
	}
	if (!s->fmt.rate)
		return;
	audio_ms = (double)(int32_t)(ts - s->ts0) * 1000.0 / s->fmt.rate;
	wall_ms = (double)(now - s->t0_us) / 1000.0;
	late = wall_ms - audio_ms;
	s->drift_ms = late;
	if (late > s->max_late_ms)
		s->max_late_ms = late;
	if (-late > s->max_ahead_ms)
		s->max_ahead_ms = -late;
}

/* A data packet (resent: it came in a 0xd6 on the control port). */
static void on_packet(struct fake_audio *a, const uint8_t *pkt, size_t len, bool resent)
{
	struct session *s = &a->s;
	struct atv_err err = {0, ""};
	struct fake_rtp r;
	int16_t d;

	if (s->state != S_RECORDING && s->state != S_SETUP && s->state != S_FLUSHED)
		return;
	if (fake_rtp_parse(pkt, len, &r, &err) < 0) {
		note_error(s, err.msg);
		return;
	}
	if (r.type != 0x60) {
		note_error(s, "audio: a data packet whose payload type is not 96");
		return;
	}
	if (!resent) {
		a->arrivals++;
		if (a->drop_every && a->arrivals % a->drop_every == 0) {
			s->dropped++;
			return;
		}
		measure_arrival(s, r.ts);
	}
	if (!s->have_seq) {
		s->have_seq = true;
		s->next_seq = r.seq;
		s->highest = (uint16_t)(r.seq - 1);
	}
	d = (int16_t)(r.seq - s->next_seq);
	if (d < 0) {
		s->late++; /* delivered or given up already */
		return;
	}
	if (d >= WINDOW) {
		/* far ahead: everything before it is lost */
		settle(a);
		s->lost += (uint16_t)(r.seq - s->next_seq);
		s->next_seq = r.seq;
		s->highest = (uint16_t)(r.seq - 1);
		d = 0;
	}
	{
		struct slot *sl = &a->win[r.seq % WINDOW];

		if (sl->used && sl->seq == r.seq) {
			s->late++; /* a duplicate */
			return;
		}
		if (resent)
			s->recovered++;
		if ((int16_t)(r.seq - s->highest) > 0) {
			/* new ground: ask for what it skipped */
			uint16_t gap = (uint16_t)(r.seq - s->highest - 1);

			if (gap)
				request_resend(a, (uint16_t)(s->highest + 1), gap);
			s->highest = r.seq;
		} else if (!resent) {
			s->reordered++;
		}
		sl->used = true;
		sl->seq = r.seq;
		sl->len = (uint16_t)len;
		memcpy(sl->pkt, pkt, len);
	}
	drain(a);
	if ((int16_t)(s->highest - s->next_seq) >= GIVE_UP)
		give_up_gap(a);
}

/* ---- UDP ---- */

/* Read what the socket holds (64 datagrams at most a turn, so one sender
 * cannot starve the loop) and hand each to fn. */
static void each_datagram(struct fake_audio *a, int fd,
			  void (*fn)(struct fake_audio *a, const uint8_t *p, size_t n))
{
	uint8_t p[FAKE_RTP_MAX + 8];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, p, sizeof p, 0);

		if (n < 0)
			return;
		fn(a, p, (size_t)n);
	}
}

static void data_datagram(struct fake_audio *a, const uint8_t *p, size_t n)
{
	if (n > FAKE_RTP_MAX)
		note_error(&a->s, "audio: a datagram over 2048 bytes");
	else
		on_packet(a, p, n, false);
}

static void on_data(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	(void)loop;
	(void)revents;
	each_datagram(ctx, fd, data_datagram);
}

static void hostile_resend(struct fake_audio *a)
{
	struct session *s = &a->s;

	if (a->hostile == H_RT_UNSENT) {
		/* packets far past anything sent */
		request_resend(a, (uint16_t)(s->highest + 5000), 16);
		a->hostile = H_NONE;
	} else if (a->hostile == H_RT_FLOOD) {
		for (int i = 0; i < FLOOD; i++)
			request_resend(a, (uint16_t)(s->next_seq - 1 - (i % 64)), 1);
		a->hostile = H_NONE;
	}
}

static void ctrl_datagram(struct fake_audio *a, const uint8_t *p, size_t n)
{
	struct session *s = &a->s;

	if (n < 4 || (p[0] & 0xc0) != 0x80) {
		note_error(s, "audio: a control packet that is not RTP");
		return;
	}
	switch (p[1] & 0x7f) {
	case 0x54: /* sync: 0x80|0x90 0xd4, rtp - latency, NTP time, rtp */
		if (n != 20) {
			note_error(s, "audio: a sync packet not of 20 bytes");
			break;
		}
		s->syncs++;
		s->sync_rtp = get32(p + 16);
		hostile_resend(a);
		break;
	case 0x56: /* a resent packet behind 4 bytes */
		if (n - 4 > FAKE_RTP_MAX)
			note_error(s, "audio: a resent packet over 2048 bytes");
		else
			on_packet(a, p + 4, n - 4, true);
		break;
	default: note_error(s, "audio: an unknown control packet"); break;
	}
}

static void on_ctrl(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	(void)loop;
	(void)revents;
	each_datagram(ctx, fd, ctrl_datagram);
}

/* NTP time now: seconds since 1900 and the fraction */
static void ntp_now(uint32_t *sec, uint32_t *frac)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint32_t)(ts.tv_sec + UINT32_C(2208988800));
	*frac = (uint32_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

static void on_timing(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_audio *a = ctx;
	struct session *s = &a->s;
	uint8_t p[64];
	struct sockaddr_in from;
	socklen_t flen = sizeof from;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		ssize_t n = recvfrom(fd, p, sizeof p, 0, (struct sockaddr *)&from, &flen);
		uint32_t sec, frac;

		if (n < 0)
			return;
		flen = sizeof from;
		if (n != 32 || (p[0] & 0xc0) != 0x80) {
			note_error(s, "audio: a timing packet not of 32 bytes");
			continue;
		}
		if ((p[1] & 0x7f) == 0x53) { /* an answer to ours */
			s->timing_replies++;
			continue;
		}
		if ((p[1] & 0x7f) != 0x52) {
			note_error(s, "audio: an unknown timing packet");
			continue;
		}
		s->timing_requests++;
		if (a->hostile == H_TIMING_SILENT)
			continue;
		/* 0xd3: the request's send time as reference, ours twice */
		p[1] = 0xd3;
		memcpy(p + 8, p + 24, 8);
		ntp_now(&sec, &frac);
		put32(p + 16, sec);
		put32(p + 20, frac);
		put32(p + 24, sec);
		put32(p + 28, frac);
		sendto(fd, p, 32, 0, (struct sockaddr *)&from, sizeof from);
	}
}

/* Ask the sender's timing port once (0x80 0xd2), as a receiver does. */
static void send_timing_request(struct fake_audio *a)
{
	struct session *s = &a->s;
	uint8_t p[32] = {0x80, 0xd2, 0x00, 0x07};
	uint32_t sec, frac;

	if (!s->have_timing || a->timing_fd < 0)
		return;
	ntp_now(&sec, &frac);
	put32(p + 24, sec);
	put32(p + 28, frac);
	sendto(a->timing_fd, p, sizeof p, 0, (const struct sockaddr *)&s->peer_timing,
	       sizeof s->peer_timing);
}

static int open_udp(struct fake_audio *a, int *fd, int *port, fake_fd_fn fn,
		    struct atv_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = a->addr};
	socklen_t slen = sizeof sa;
	int r;

	*fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "audio: socket");
	if (bind(*fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&sa, &slen) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "audio: bind");
		close(*fd);
		*fd = -1;
		return r;
	}
	*port = ntohs(sa.sin_port);
	if ((r = fake_loop_add_fd(a->loop, *fd, POLLIN, fn, a, err)) < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

static int open_ports(struct fake_audio *a, struct atv_err *err)
{
	int r;

	close_ports(a);
	if ((r = open_udp(a, &a->data_fd, &a->data_port, on_data, err)) < 0 ||
	    (r = open_udp(a, &a->ctrl_fd, &a->ctrl_port, on_ctrl, err)) < 0 ||
	    (r = open_udp(a, &a->timing_fd, &a->timing_port, on_timing, err)) < 0)
		close_ports(a);
	return r;
}

static void set_peer(struct sockaddr_in *sa, bool *have, struct in_addr ip, unsigned long port)
{
	*have = port > 0 && port < 65536;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr = ip;
	sa->sin_port = htons((uint16_t)port);
}

/* ---- RTSP ---- */

static void add_header(struct fake_audio_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_header(struct fake_audio_reply *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n_headers >= sizeof r->headers / sizeof r->headers[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->headers[r->n_headers++], sizeof r->headers[0], fmt, ap);
	va_end(ap);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void md5_hex(const char *s, char out[2 * ATV_MD5_LEN + 1])
{
	uint8_t h[ATV_MD5_LEN];

	if (atv_crypto_md5(s, strlen(s), h, NULL) < 0)
		memset(h, 0, sizeof h);
	hex(h, sizeof h, out);
}

/* RFC 2617 without qop: response = MD5(MD5(user:realm:pw):nonce:
 * MD5(method:uri)), the uri as the Authorization header gives it. */
static bool digest_ok(struct fake_audio *a, const struct atv_httpmsg *rq)
{
	const char *h = atv_httpmsg_header(rq, "Authorization");
	char user[128], realm[128], nonce[64], uri[512], resp[64];
	char ha1[2 * ATV_MD5_LEN + 1], ha2[2 * ATV_MD5_LEN + 1], want[2 * ATV_MD5_LEN + 1];
	char buf[1024];
	bool ok;

	if (!h || strncasecmp(h, "Digest ", 7) != 0 ||
	    !fake_digest_param(h, "username", user, sizeof user) ||
	    !fake_digest_param(h, "realm", realm, sizeof realm) ||
	    !fake_digest_param(h, "nonce", nonce, sizeof nonce) ||
	    !fake_digest_param(h, "uri", uri, sizeof uri) ||
	    !fake_digest_param(h, "response", resp, sizeof resp))
		return false;
	if (strcmp(nonce, a->nonce) != 0 || strcmp(realm, "raop") != 0)
		return false;
	snprintf(buf, sizeof buf, "%s:%s:%s", user, realm, a->password);
	md5_hex(buf, ha1);
	snprintf(buf, sizeof buf, "%s:%s", rq->method, uri);
	md5_hex(buf, ha2);
	snprintf(buf, sizeof buf, "%s:%s:%s", ha1, nonce, ha2);
	md5_hex(buf, want);
	ok = strlen(resp) == strlen(want) && strcasecmp(resp, want) == 0;
	atv_crypto_wipe(buf, sizeof buf);
	atv_crypto_wipe(ha1, sizeof ha1);
	return ok;
}

bool fake_audio_is_raop(const struct fake_audio *a, const struct atv_httpmsg *rq,
			const char *path, bool ap2)
{
	static const char *const methods[] = {"SETUP", "RECORD", "TEARDOWN", "FLUSH",
					      "SET_PARAMETER", "GET_PARAMETER", NULL};

	if (strcmp(rq->method, "POST") == 0 && strcmp(path, "/auth-setup") == 0)
		return true;
	if (strcmp(rq->proto, "RTSP/1.0") != 0)
		return false;
	if (strcmp(rq->method, "ANNOUNCE") == 0 || strcmp(rq->method, "OPTIONS") == 0)
		return true;
	/* the rest only inside a RAOP session: an AirPlay 2 one is the
	 * tunnel's, and a stray SETUP gets what it got before */
	if (ap2 || a->s.ap2 || a->s.state == S_IDLE || a->s.state == S_TORNDOWN)
		return false;
	if (strcmp(rq->method, "POST") == 0 && strcmp(path, "/feedback") == 0)
		return true;
	for (size_t i = 0; methods[i]; i++)
		if (strcmp(rq->method, methods[i]) == 0)
			return true;
	return false;
}

static void do_announce(struct fake_audio *a, const struct atv_httpmsg *rq,
			struct fake_audio_reply *r)
{
	struct atv_err err = {0, ""};
	struct fake_sdp sdp;
	const char *ct = atv_httpmsg_header(rq, "Content-Type");

	if (!ct || strncasecmp(ct, "application/sdp", 15) != 0) {
		note_error(&a->s, "ANNOUNCE without application/sdp");
		r->status = 415;
		return;
	}
	if (fake_sdp_parse(rq->body.data, rq->body.len, &sdp, &err) < 0) {
		note_error(&a->s, err.msg);
		r->status = 400;
		return;
	}
	if (sdp.encrypted) {
		note_error(&a->s, "ANNOUNCE: encrypted RAOP (rsaaeskey) is not served");
		r->status = 501;
		return;
	}
	session_start(a, false);
	a->s.fmt = sdp;
	a->s.state = S_ANNOUNCED;
	atv_info("audio: ANNOUNCE %s %u Hz, %u channels, %u frames a packet",
		 sdp.codec == FAKE_CODEC_ALAC ? "ALAC" : "L16", sdp.rate, sdp.channels, sdp.fpp);
}

/* Transport: RTP/AVP/UDP;unicast;interleaved=0-1;mode=record;
 * control_port=N;timing_port=N */
static unsigned long transport_port(const char *t, const char *key)
{
	size_t k = strlen(key);

	for (const char *s = t; (s = strstr(s, key)); s += k) {
		char *e;
		unsigned long v;

		if ((s != t && s[-1] != ';') || s[k] != '=')
			continue;
		errno = 0;
		v = strtoul(s + k + 1, &e, 10);
		if (errno || e == s + k + 1 || (*e && *e != ';') || v > 65535)
			return 0;
		return v;
	}
	return 0;
}

static void do_setup(struct fake_audio *a, const struct atv_httpmsg *rq, struct in_addr peer,
		     struct fake_audio_reply *r)
{
	struct session *s = &a->s;
	struct atv_err err = {0, ""};
	const char *t = atv_httpmsg_header(rq, "Transport");

	if (s->state != S_ANNOUNCED) {
		r->status = 455;
		return;
	}
	if (!t || strlen(t) > 512 || !strstr(t, "RTP/AVP")) {
		note_error(s, "SETUP without an RTP/AVP Transport");
		r->status = 400;
		return;
	}
	set_peer(&s->peer_ctrl, &s->have_ctrl, peer, transport_port(t, "control_port"));
	set_peer(&s->peer_timing, &s->have_timing, peer, transport_port(t, "timing_port"));
	if (open_ports(a, &err) < 0) {
		atv_warn("%s", err.msg);
		r->status = 500;
		return;
	}
	s->state = S_SETUP;
	if (atv_random(&s->session_id, sizeof s->session_id, NULL) < 0)
		s->session_id = 1;
	s->session_id &= 0x7fffffff;
	if (a->hostile == H_GARBAGE_SETUP) {
		add_header(r, "Transport: RTP/AVP/UDP;server_port=99999999;control_port=abc;"
			      "timing_port=-1");
		add_header(r, "Session: %s", "not-a-number");
		return;
	}
	add_header(r,
		   "Transport: RTP/AVP/UDP;unicast;mode=record;server_port=%d;control_port=%d;"
		   "timing_port=%d",
		   a->data_port, a->ctrl_port, a->timing_port);
	add_header(r, "Session: %" PRIu32, s->session_id);
	add_header(r, "Audio-Jack-Status: connected; type=analog");
	atv_info("audio: SETUP server %d control %d timing %d", a->data_port, a->ctrl_port,
		 a->timing_port);
	send_timing_request(a);
}

/* "volume: -20.5" and "progress: start/now/end" */
static void do_set_text(struct fake_audio *a, const struct atv_httpmsg *rq,
			struct fake_audio_reply *r)
{
	struct session *s = &a->s;
	char line[256], *v, *e;
	size_t n = rq->body.len;

	if (n >= sizeof line || (n && memchr(rq->body.data, '\0', n))) {
		note_error(s, "SET_PARAMETER: a text body too long or with NUL");
		r->status = 400;
		return;
	}
	memcpy(line, n ? (const char *)rq->body.data : "", n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	v = strchr(line, ':');
	if (!v) {
		r->status = 400;
		return;
	}
	*v++ = '\0';
	while (*v == ' ')
		v++;
	if (strcasecmp(line, "volume") == 0) {
		double d;

		errno = 0;
		d = strtod(v, &e);
		/* dB: -30..0, and -144 for mute */
		if (errno || e == v || *e || !isfinite(d) || d > 0 || (d < -30 && d != -144)) {
			note_error(s, "SET_PARAMETER: a volume out of -30..0 (or -144)");
			r->status = 400;
			return;
		}
		s->volume = d;
		s->have_volume = true;
	} else if (strcasecmp(line, "progress") == 0) {
		free(s->progress);
		s->progress = strdup(v);
	} else {
		r->status = 451; /* Parameter Not Understood */
	}
}

static void do_set_parameter(struct fake_audio *a, const struct atv_httpmsg *rq,
			     struct fake_audio_reply *r)
{
	struct session *s = &a->s;
	struct atv_err err = {0, ""};
	const char *ct = atv_httpmsg_header(rq, "Content-Type");

	if (!ct)
		ct = "";
	if (strncasecmp(ct, "text/parameters", 15) == 0) {
		do_set_text(a, rq, r);
	} else if (strncasecmp(ct, "application/x-dmap-tagged", 25) == 0) {
		char *t, *ar, *al;

		if (fake_dmap_meta_parse(rq->body.data, rq->body.len, &t, &ar, &al, &err) < 0) {
			note_error(s, err.msg);
			r->status = 400;
			return;
		}
		free(s->title);
		free(s->artist);
		free(s->album);
		s->title = t;
		s->artist = ar;
		s->album = al;
	} else if (strncasecmp(ct, "image/", 6) == 0) {
		free(s->art_mime);
		s->art_mime = strndup(ct, 64);
		s->art_size = rq->body.len;
	} else {
		r->status = 415;
	}
}

static void do_get_parameter(struct fake_audio *a, const struct atv_httpmsg *rq,
			     struct fake_audio_reply *r)
{
	char line[64];

	if (rq->body.len < 6 || strncasecmp((const char *)rq->body.data, "volume", 6) != 0) {
		r->status = 451;
		return;
	}
	snprintf(line, sizeof line, "volume: %.6f\r\n", a->s.have_volume ? a->s.volume : -15.0);
	r->type = "text/parameters";
	atv_buf_append(&r->body, line, strlen(line), NULL);
}

/* The hostile answers that replace an answer. */
static bool hostile_reply(struct fake_audio *a, const struct atv_httpmsg *rq,
			  struct fake_audio_reply *r)
{
	const char *cseq = atv_httpmsg_header(rq, "CSeq");
	char head[256];

	if (a->hostile == H_ENDLESS) {
		/* a head whose blank line never comes */
		snprintf(head, sizeof head, "RTSP/1.0 200 OK\r\nCSeq: %.20s\r\n", cseq ? cseq : "0");
		atv_buf_append(&r->raw, head, strlen(head), NULL);
		while (r->raw.len + 32 < ENDLESS_BYTES &&
		       atv_buf_append(&r->raw, "X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n", 32, NULL) == 0)
			;
		return true;
	}
	if (a->hostile == H_HUGE) {
		snprintf(head, sizeof head,
			 "RTSP/1.0 200 OK\r\nCSeq: %.20s\r\nContent-Length: " HUGE_LENGTH
			 "\r\n\r\n",
			 cseq ? cseq : "0");
		atv_buf_append(&r->raw, head, strlen(head), NULL);
		return true;
	}
	return false;
}

void fake_audio_request(struct fake_audio *a, const struct atv_httpmsg *rq, const char *path,
			struct in_addr peer, bool ap2, struct fake_audio_reply *r)
{
	struct session *s = &a->s;
	const char *m = rq->method;

	r->status = 200;
	if (strcmp(m, "OPTIONS") == 0) {
		a->options++;
		add_header(r, "Public: ANNOUNCE, SETUP, RECORD, PAUSE, FLUSH, TEARDOWN, OPTIONS, "
			      "GET_PARAMETER, SET_PARAMETER, POST, GET");
		return;
	}
	if (strcmp(m, "POST") == 0 && strcmp(path, "/auth-setup") == 0) {
		/* 0x01 (unencrypted) and a Curve25519 key: answered with a key
		 * of ours and no certificate, as a receiver that does not check */
		static const uint8_t key[32] = {1};

		a->auth_setup++;
		if (rq->body.len != 33 || rq->body.data[0] != 0x01) {
			note_error(s, "/auth-setup: not 0x01 and a 32-byte key");
			r->status = 400;
			return;
		}
		r->type = "application/octet-stream";
		atv_buf_append(&r->body, key, sizeof key, NULL);
		return;
	}
	if (!ap2 && a->password[0]) {
		if (!digest_ok(a, rq)) {
			if (atv_httpmsg_header(rq, "Authorization"))
				a->auth_failed++;
			r->status = 401;
			add_header(r, "WWW-Authenticate: Digest realm=\"raop\", nonce=\"%s\"",
				   a->nonce);
			return;
		}
		a->auth_ok++;
	}
	if (hostile_reply(a, rq, r))
		return;
	if (strcmp(m, "ANNOUNCE") == 0)
		do_announce(a, rq, r);
	else if (strcmp(m, "SETUP") == 0)
		do_setup(a, rq, peer, r);
	else if (strcmp(m, "RECORD") == 0) {
		if (s->state == S_IDLE || s->state == S_ANNOUNCED) {
			r->status = 455;
			return;
		}
		s->state = S_RECORDING;
		s->records++;
		add_header(r, "Audio-Latency: %u", a->latency);
	} else if (strcmp(m, "FLUSH") == 0) {
		settle(a);
		clear_window(a);
		s->have_seq = false;
		s->flushes++;
		if (s->state == S_RECORDING)
			s->state = S_FLUSHED;
	} else if (strcmp(m, "SET_PARAMETER") == 0)
		do_set_parameter(a, rq, r);
	else if (strcmp(m, "GET_PARAMETER") == 0)
		do_get_parameter(a, rq, r);
	else if (strcmp(m, "TEARDOWN") == 0)
		fake_audio_teardown(a);
	else if (strcmp(m, "POST") == 0 && strcmp(path, "/feedback") == 0)
		s->feedback++;
	else
		r->status = 501;
}

/* ---- AirPlay 2 ---- */

static bool dict_uint(plist_t d, const char *key, uint64_t *v)
{
	plist_t n = plist_dict_get_item(d, key);

	if (!n || plist_get_node_type(n) != PLIST_UINT)
		return false;
	plist_get_uint_val(n, v);
	return true;
}

unsigned fake_audio_setup_ap2(struct fake_audio *a, void *stream, struct in_addr peer,
			      void *reply_stream)
{
	struct atv_err err = {0, ""};
	plist_t st = stream, shk = plist_dict_get_item(st, "shk");
	uint64_t ct = 0, spf = 352, sr = 44100, cport = 0;
	char *key = NULL;
	uint64_t klen = 0;
	struct session *s;

	if (!dict_uint(st, "ct", &ct) || (ct != 1 && ct != 2)) {
		note_error(&a->s, "stream SETUP: ct not 1 (PCM) or 2 (ALAC)");
		return 400;
	}
	dict_uint(st, "spf", &spf);
	dict_uint(st, "sr", &sr);
	dict_uint(st, "controlPort", &cport);
	if (spf < 1 || spf > FAKE_FPP_MAX || sr < 8000 || sr > 192000 || cport > 65535) {
		note_error(&a->s, "stream SETUP: spf, sr or controlPort out of range");
		return 400;
	}
	if (!shk || plist_get_node_type(shk) != PLIST_DATA) {
		note_error(&a->s, "stream SETUP: no shk");
		return 400;
	}
	plist_get_data_val(shk, &key, &klen);
	if (!key || klen != ATV_AEAD_KEY_LEN) {
		free(key);
		note_error(&a->s, "stream SETUP: shk is not 32 bytes");
		return 400;
	}
	session_start(a, true);
	s = &a->s;
	memcpy(s->key, key, ATV_AEAD_KEY_LEN);
	atv_crypto_wipe(key, (size_t)klen);
	free(key);
	s->encrypted = true;
	s->fmt.codec = ct == 1 ? FAKE_CODEC_L16 : FAKE_CODEC_ALAC;
	s->fmt.rate = (unsigned)sr;
	s->fmt.channels = 2;
	s->fmt.bits = 16;
	s->fmt.fpp = (unsigned)spf;
	s->fmt.payload_type = 96;
	set_peer(&s->peer_ctrl, &s->have_ctrl, peer, cport);
	if (open_ports(a, &err) < 0) {
		atv_warn("%s", err.msg);
		return 500;
	}
	/* the session's RECORD came before this SETUP on pyatv's order, or
	 * comes after it on a real sender's: audio is taken from now on */
	s->state = S_SETUP;
	plist_dict_set_item(reply_stream, "type", plist_new_uint(96));
	plist_dict_set_item(reply_stream, "dataPort", plist_new_uint((uint64_t)a->data_port));
	plist_dict_set_item(reply_stream, "controlPort", plist_new_uint((uint64_t)a->ctrl_port));
	plist_dict_set_item(reply_stream, "audioBufferSize", plist_new_uint(8388608));
	atv_info("audio: AirPlay 2 stream SETUP ct %" PRIu64 ", data %d control %d", ct,
		 a->data_port, a->ctrl_port);
	return 200;
}

void fake_audio_record(struct fake_audio *a)
{
	if (a->s.ap2 && a->s.state == S_SETUP) {
		a->s.state = S_RECORDING;
		a->s.records++;
	}
}

void fake_audio_feedback(struct fake_audio *a)
{
	if (a->s.ap2)
		a->s.feedback++;
}

void fake_audio_teardown(struct fake_audio *a)
{
	struct session *s = &a->s;

	if (s->state == S_IDLE)
		return;
	settle(a);
	clear_window(a);
	s->state = S_TORNDOWN;
	s->teardown = true;
	close_ports(a);
	atv_info("audio: TEARDOWN after %lu packets, %lu frames, %lu lost", s->packets, s->frames,
		 s->lost);
}

/* ---- state and control ---- */

/* ms to the microsecond, for a short JSON number */
static json_t *ms_json(double ms)
{
	return json_real((double)(long long)(ms * 1000 + (ms >= 0 ? 0.5 : -0.5)) / 1000);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *fake_audio_state(struct fake_audio *a)
{
	struct session *s = &a->s;
	char sum[17];
	json_t *o;

	snprintf(sum, sizeof sum, "%016" PRIx64, s->fnv);
	o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "protocol", s->ap2 ? "airplay2" : "raop",
		      "state", state_names[s->state], "codec",
		      s->fmt.codec == FAKE_CODEC_ALAC ? "alac"
		      : s->fmt.codec == FAKE_CODEC_L16 ? "l16" : "none",
		      "rate", (json_int_t)s->fmt.rate, "channels", (json_int_t)s->fmt.channels,
		      "frames_per_packet", (json_int_t)s->fmt.fpp, "sessions",
		      (json_int_t)a->sessions);
	if (!o)
		return NULL;
#define SETI(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
	SETI("packets", s->packets);
	SETI("frames", s->frames);
	SETI("samples", s->samples);
	SETI("pcm_frames", s->pcm_frames);
	json_object_set_new(o, "pcm_fnv1a64", json_string(sum));
	SETI("lost", s->lost);
	SETI("late", s->late);
	SETI("reordered", s->reordered);
	SETI("timestamp_jumps", s->ts_jumps);
	SETI("dropped", s->dropped);
	SETI("retransmit_requests", s->rt_requests);
	SETI("retransmit_requested_packets", s->rt_requested_packets);
	SETI("recovered", s->recovered);
	SETI("bad_packets", s->bad);
	SETI("syncs", s->syncs);
	SETI("timing_requests", s->timing_requests);
	SETI("timing_replies", s->timing_replies);
	SETI("records", s->records);
	SETI("flushes", s->flushes);
	SETI("feedback", s->feedback);
	SETI("options", a->options);
	SETI("auth_ok", a->auth_ok);
	SETI("auth_failed", a->auth_failed);
	SETI("auth_setup", a->auth_setup);
	SETI("latency", a->latency);
	SETI("drop_every", a->drop_every);
#undef SETI
	json_object_set_new(o, "first_rtp", s->have_ts ? json_integer(s->first_ts) : json_null());
	json_object_set_new(o, "last_rtp", s->have_ts ? json_integer(s->last_ts) : json_null());
	json_object_set_new(o, "sync_rtp", s->syncs ? json_integer(s->sync_rtp) : json_null());
	json_object_set_new(o, "volume", s->have_volume ? json_real(s->volume) : json_null());
	json_object_set_new(o, "title", str_or_null(s->title));
	json_object_set_new(o, "artist", str_or_null(s->artist));
	json_object_set_new(o, "album", str_or_null(s->album));
	json_object_set_new(o, "progress", str_or_null(s->progress));
	json_object_set_new(o, "artwork_mime", str_or_null(s->art_mime));
	json_object_set_new(o, "artwork_size",
			    s->art_mime ? json_integer((json_int_t)s->art_size) : json_null());
	json_object_set_new(o, "drift_ms", ms_json(s->drift_ms));
	json_object_set_new(o, "max_ahead_ms", ms_json(s->max_ahead_ms));
	json_object_set_new(o, "max_late_ms", ms_json(s->max_late_ms));
	json_object_set_new(o, "flushed", json_boolean(s->flushes > 0));
	json_object_set_new(o, "teardown", json_boolean(s->teardown));
	json_object_set_new(o, "password", json_boolean(a->password[0] != '\0'));
	json_object_set_new(o, "hostile", json_string(hostile_names[a->hostile]));
	json_object_set_new(o, "last_error", s->last_error[0] ? json_string(s->last_error)
							     : json_null());
	return o;
}

static char *reply_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *reply_line(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void new_nonce(struct fake_audio *a)
{
	uint8_t n[16] = {0};

	if (atv_random(n, sizeof n, NULL) < 0)
		memset(n, 0x5a, sizeof n);
	hex(n, sizeof n, a->nonce);
}

char *fake_audio_control(struct fake_audio *a, char **w, size_t n)
{
	if (!a)
		return reply_line("error the device has no AirPlay service to receive audio");
	if (strcmp(w[0], "audio-state") == 0 && n == 1) {
		json_t *o = fake_audio_state(a);
		char *j = o ? json_dumps(o, JSON_COMPACT) : NULL;
		char *line = j ? reply_line("ok %s", j) : NULL;

		json_decref(o);
		free(j);
		return line;
	}
	if (strcmp(w[0], "audio-drop") == 0 && n == 2) {
		char *e;
		unsigned long v;

		errno = 0;
		v = strtoul(w[1], &e, 10);
		if (errno || e == w[1] || *e || v > 100000)
			return reply_line("error audio-drop N: 0 (off) to 100000");
		a->drop_every = (unsigned)v;
		a->arrivals = 0;
		return reply_line("ok");
	}
	if (strcmp(w[0], "audio-password") == 0 && n == 2) {
		if (strcmp(w[1], "off") == 0) {
			a->password[0] = '\0';
			return reply_line("ok");
		}
		if (strlen(w[1]) > PASSWORD_MAX)
			return reply_line("error a password of at most %d bytes", PASSWORD_MAX);
		snprintf(a->password, sizeof a->password, "%s", w[1]);
		new_nonce(a);
		return reply_line("ok");
	}
	if (strcmp(w[0], "audio-reset") == 0 && n == 1) {
		session_start(a, false);
		a->sessions = a->auth_ok = a->auth_failed = a->auth_setup = a->options = 0;
		return reply_line("ok");
	}
	if (strcmp(w[0], "audio-hostile") == 0 && n == 2) {
		for (int i = 0; hostile_names[i]; i++) {
			if (strcmp(hostile_names[i], w[1]) == 0) {
				a->hostile = i;
				return reply_line("ok");
			}
		}
		return reply_line("error unknown audio hostile mode \"%s\"", w[1]);
	}
	return reply_line("error usage: %s", fake_audio_usage());
}

/* ---- setup ---- */

int fake_audio_new(struct fake_loop *loop, const struct fake_device *dev, struct in_addr addr,
		   struct fake_audio **out, struct atv_err *err)
{
	json_t *o = json_object_get(dev->json, "raop"), *pw = NULL, *lat = NULL;
	struct fake_audio *a;

	*out = NULL;
	if (o) {
		pw = json_object_get(o, "password");
		lat = json_object_get(o, "latency");
		if (!json_is_object(o) ||
		    (pw && !(json_is_string(pw) && strlen(json_string_value(pw)) <= PASSWORD_MAX)) ||
		    (lat && !(json_is_integer(lat) && json_integer_value(lat) >= 0 &&
			      json_integer_value(lat) <= 441000)))
			return atv_err_set(err, ATV_E_INPUT,
					   "\"raop\" must be {\"password\":\"PW\", "
					   "\"latency\":FRAMES}");
	}
	/* a receiver that says pw=true asks for a password: the file names it */
	for (size_t i = 0; i < dev->n_svcs; i++) {
		char *v = strcmp(dev->svcs[i].type, "_raop._tcp") == 0
				  ? fake_service_txt(&dev->svcs[i], "pw")
				  : NULL;
		bool needs = v && strcasecmp(v, "true") == 0;

		free(v);
		if (needs && !pw)
			return atv_err_set(err, ATV_E_INPUT,
					   "_raop._tcp says pw=true: \"raop\":{\"password\":\"PW\"} "
					   "names the password");
	}
	a = calloc(1, sizeof *a);
	if (!a || !(a->win = calloc(WINDOW, sizeof *a->win))) {
		free(a);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	a->loop = loop;
	a->addr = addr;
	a->data_fd = a->ctrl_fd = a->timing_fd = -1;
	a->data_port = a->ctrl_port = a->timing_port = -1;
	a->latency = lat ? (unsigned)json_integer_value(lat) : DEFAULT_LATENCY;
	if (pw)
		snprintf(a->password, sizeof a->password, "%s", json_string_value(pw));
	new_nonce(a);
	session_release(&a->s);
	*out = a;
	return 0;
}

void fake_audio_free(struct fake_audio *a)
{
	if (!a)
		return;
	close_ports(a);
	session_release(&a->s);
	atv_crypto_wipe(a->password, sizeof a->password);
	free(a->win);
	free(a);
}
