/* raop.h - an audio session with an AirPlay receiver: RAOP (AirPlay 1) or
 * AirPlay 2 realtime audio, as pyatv's stream_file sends it.
 *
 * The caller hands in 16-bit signed little-endian interleaved PCM in the
 * format atv_raop_format() names (44100 Hz, 2 channels; the tool decodes
 * and resamples to it) and the session does the rest:
 *
 *   RAOP (AirPlay 1)  RTSP on the raop service's TCP port (plain, or after
 *                     pair-verify when there are HAP credentials):
 *                     ANNOUNCE (SDP, uncompressed ALAC), SETUP (our control
 *                     and timing UDP ports), RECORD, SET_PARAMETER (volume,
 *                     metadata, artwork, progress), FLUSH, TEARDOWN; HTTP
 *                     Digest when the receiver has a password; POST
 *                     /auth-setup when it asks for it; POST /feedback.
 *                     RTP audio on its server port: 352-frame packets, a
 *                     sync packet on the control port every second, the
 *                     receiver's timing requests answered, its resend
 *                     requests served from a ring of recent packets.
 *   AirPlay 2         the same port, pair-verify with AirPlay credentials
 *                     or transient pairing, everything HAP-sealed; SETUP of
 *                     the session (event channel) and of a type 96 audio
 *                     stream (shared key shk), RTP payloads sealed with
 *                     ChaCha20-Poly1305 under shk, RECORD, /feedback every
 *                     2 s, SET_PARAMETER, TEARDOWN.
 *
 * Which one: pyatv's rule (raop/__init__.py get_protocol_version): the
 * raop service's TXT "ft" (else "features") with bit 38 (unified media
 * control) or 48 (CoreUtils pairing) is AirPlay 2, else RAOP; opts may
 * force one.  Credentials: the raop service's, else the airplay
 * service's; without any, transient pairing when the features allow it.
 *
 * I/O model (DESIGN.md "One I/O model"): no threads.  The session owns one
 * epoll fd (atv_raop_fd) over its sockets and a deadline
 * (atv_raop_timeout_ms: the next packet due, sync, feedback).  Audio is
 * paced by the session: atv_raop_write queues and sends what is due,
 * blocking only while the queue is full (the receiver's buffer, a little
 * over the latency, is never overrun), and answers the control/timing
 * sockets while it waits.  A caller that polls its own input (a slow
 * stdin pipe) polls atv_raop_fd with it and calls atv_raop_service(s, 0)
 * whenever the fd is ready or the timeout passed, so timing replies and
 * due packets never wait for the input.
 *
 * Errors are negative ATV_E_* with err filled: -ATV_E_UNREACHABLE (connect,
 * timeout, the receiver closed: exit 3), -ATV_E_AUTH (password or
 * credentials missing or wrong: exit 4), -ATV_E_PROTO / -ATV_E_LIMIT (a
 * hostile or malformed answer: exit 5), -ATV_E_UNSUPPORTED (a receiver we
 * cannot stream to, e.g. one that wants an MFi /auth-setup we cannot
 * answer), -ATV_E_USAGE (bad arguments, calls out of order), -ATV_E_IO
 * (local sockets).  After an error other than -ATV_E_USAGE the session is
 * dead: later calls return the same error; atv_raop_close still frees it.
 *
 * Secrets (password, credentials, keys) are never logged and are wiped on
 * close.  -v messages go through log.h's hook (atv_log_set). */
#ifndef ATV_RAOP_H
#define ATV_RAOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devconf.h"
#include "err.h"

#define ATV_RAOP_FRAMES_PER_PACKET 352 /* samples per channel in one RTP packet */
#define ATV_RAOP_SAMPLE_RATE	   44100
#define ATV_RAOP_CHANNELS	   2
#define ATV_RAOP_ARTWORK_MAX	   (4 * 1024 * 1024) /* bytes of one picture */
#define ATV_RAOP_TEXT_MAX	   1024		     /* bytes of a title, artist, album */

struct atv_raop;

enum atv_raop_version {
	ATV_RAOP_AUTO = 0, /* pyatv's rule, see above */
	ATV_RAOP_V1,	   /* force RAOP (AirPlay 1) */
	ATV_RAOP_V2	   /* force AirPlay 2 */
};

struct atv_raop_opts {
	int timeout_ms;		      /* connect and each request/reply (<= 0: 5000) */
	const char *password;	      /* the receiver's password (secret), or NULL */
	bool set_volume;	      /* send volume at start ... */
	double volume;		      /* ... 0..100 (pyatv's percent scale) */
	enum atv_raop_version version;
	const char *name;	      /* ours, shown by some receivers ("atv-tools"); NULL ok */
};

/* The PCM that atv_raop_write takes: always s16le interleaved; rate and
 * channels as the receiver was set up (44100, 2 today). */
struct atv_raop_format {
	int rate;	   /* frames per second */
	int channels;	   /* samples per frame */
	int bits;	   /* 16 */
	bool big_endian;   /* false: little-endian samples */
};

/* Counters for the tool's result line and -v. */
struct atv_raop_stats {
	uint64_t frames_queued;	   /* PCM frames the caller wrote */
	uint64_t frames_sent;	   /* PCM frames sent in RTP packets (padding included) */
	uint64_t packets_sent;	   /* RTP audio packets sent (first time) */
	uint64_t retransmits;	   /* packets sent again on the receiver's request */
	uint64_t resend_missed;	   /* requested packets no longer in the ring */
	uint64_t timing_replies;   /* timing requests answered */
	uint32_t latency_frames;   /* the receiver's latency, in frames */
	const char *protocol;	   /* "raop" or "airplay2" */
	const char *auth;	   /* "none", "password", "hap", "transient" */
};

/* Open a session with the device dev (its "raop" service: address and
 * port, TXT; its "airplay" service: credentials, TXT), as described
 * above: connect, authenticate, announce and set up the stream, start
 * recording; with o->set_volume, also set the volume.  On 0 *out is a
 * session that atv_raop_close frees; on error *out is NULL.  o may be NULL
 * (defaults).  The device and options are not referenced after return. */
int atv_raop_open(const struct atv_device *dev, const struct atv_raop_opts *o,
		  struct atv_raop **out, struct atv_err *err);

/* The PCM format atv_raop_write takes. */
void atv_raop_format(const struct atv_raop *s, struct atv_raop_format *f);

/* Volume in pyatv's percent (0..100; 0 is mute): sent as dB, 0 -> -144,
 * else -30 + 30 * pct / 100 (pyatv's pct_to_dbfs).  Out of range is
 * -ATV_E_USAGE. */
int atv_raop_set_volume(struct atv_raop *s, double percent, struct atv_err *err);

/* Now-playing text (each may be NULL: not sent; at most ATV_RAOP_TEXT_MAX
 * bytes of UTF-8, else -ATV_E_USAGE) and the duration in seconds (<= 0:
 * unknown), sent as DMAP (mlit: minm, asar, asal) in SET_PARAMETER; the
 * duration also sets the progress end (atv_raop_set_progress). */
struct atv_raop_meta {
	const char *title, *artist, *album;
	double duration; /* seconds, <= 0 unknown */
};
int atv_raop_set_metadata(struct atv_raop *s, const struct atv_raop_meta *m,
			  struct atv_err *err);

/* Cover art: mime "image/jpeg" or "image/png", len bytes (1 ..
 * ATV_RAOP_ARTWORK_MAX) copied out before return. */
int atv_raop_set_artwork(struct atv_raop *s, const char *mime, const void *p, size_t len,
			 struct atv_err *err);

/* Send "progress: start/current/end" (RTP times) for the current play
 * position and the duration given to atv_raop_set_metadata (nothing is
 * sent while the duration is unknown).  The session sends it once when
 * metadata with a duration is set; a tool may call it again after a
 * pause. */
int atv_raop_set_progress(struct atv_raop *s, struct atv_err *err);

/* Queue frames PCM frames (frames * channels int16 samples, little-endian
 * as in memory on this host) and send what is due.  Returns once all of
 * them are queued: blocks (servicing the sockets) only while the queue is
 * full.  Partial packets wait for the next write or atv_raop_drain. */
int atv_raop_write(struct atv_raop *s, const int16_t *pcm, size_t frames, struct atv_err *err);

/* Frames that atv_raop_write would take now without blocking. */
size_t atv_raop_writable(const struct atv_raop *s);

/* The session's epoll fd (readable when a socket needs service) and the
 * milliseconds until atv_raop_service must run anyway (0: now; -1 never). */
int atv_raop_fd(const struct atv_raop *s);
int atv_raop_timeout_ms(const struct atv_raop *s);

/* Wait at most timeout_ms (0: do not wait) for the sockets, then do
 * everything due: send due packets and sync, answer timing and resend
 * requests, read RTSP/event traffic, send /feedback. */
int atv_raop_service(struct atv_raop *s, int timeout_ms, struct atv_err *err);

/* Send the rest and return once the receiver has played it out (the last
 * frame's time plus the latency), still answering its requests meanwhile.
 * The last packet holds just the frames that are left (an ALAC partial
 * frame carries its count), so the receiver gets exactly the frames
 * written, no padding. */
int atv_raop_drain(struct atv_raop *s, struct atv_err *err);

/* Stop now: drop the queue, FLUSH and TEARDOWN (each waited for within the
 * timeout).  For SIGINT: the tool sets a flag in its handler and calls
 * this from its loop.  Later writes are -ATV_E_USAGE. */
int atv_raop_stop(struct atv_raop *s, struct atv_err *err);

/* Counters so far (the strings are static). */
void atv_raop_stats(const struct atv_raop *s, struct atv_raop_stats *st);

/* TEARDOWN unless stopped or dead, close every socket, wipe and free
 * (NULL is fine). */
void atv_raop_close(struct atv_raop *s);

#endif
