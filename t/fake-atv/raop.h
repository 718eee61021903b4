/* raop.h - the fake's audio receiver: RAOP (AirPlay 1 audio) on the
 * AirPlay port and the audio stream of AirPlay 2 (raop-server.c), and the
 * parsers of what a sender sends (raop-parse.c: SDP, RTP, ALAC, DMAP
 * metadata, Digest), which take device bytes and bound every length.
 *
 * Facts: protocols.md 4.9; pyatv 0.18's raop client (what a sender sends:
 * ANNOUNCE with L16 or AppleLossless, SETUP Transport, RECORD, FLUSH,
 * SET_PARAMETER, 0xd4 sync, 0xd6 retransmissions, ChaCha20-Poly1305
 * payloads with shk on AirPlay 2); shairport-sync's rtsp.c and rtp.c (what
 * a receiver checks and asks: 0xd5 resend requests, 0xd2/0xd3 timing). */
#ifndef FAKE_RAOP_H
#define FAKE_RAOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "httpmsg.h"

/* ---- parsers (raop-parse.c) ---- */

#define FAKE_SDP_MAX	   16384 /* an ANNOUNCE body */
#define FAKE_SDP_LINE_MAX  1024
#define FAKE_FPP_MAX	   4096 /* frames per packet */
#define FAKE_RTP_MAX	   2048 /* one datagram */

enum fake_codec { FAKE_CODEC_NONE, FAKE_CODEC_L16, FAKE_CODEC_ALAC };

/* What an ANNOUNCE's SDP says about the audio. */
struct fake_sdp {
	enum fake_codec codec;
	unsigned payload_type; /* m=audio ... RTP/AVP PT */
	unsigned rate, channels, bits, fpp;
	bool encrypted; /* a=rsaaeskey or a=fpaeskey: not served */
};

/* Parse an SDP body: one m=audio line, its rtpmap (L16/RATE/CH or
 * AppleLossless) and fmtp (ALAC's eleven numbers: frame length, version,
 * bit depth, pb, mb, kb, channels, max run, max frame bytes, bit rate,
 * sample rate).  -ATV_E_PROTO naming what is wrong: NUL bytes, a line over
 * FAKE_SDP_LINE_MAX, more than FAKE_SDP_MAX bytes, no audio, an unknown
 * codec, numbers out of range (rate 8000..192000, 1..2 channels, 16 bits,
 * 1..FAKE_FPP_MAX frames). */
int fake_sdp_parse(const uint8_t *p, size_t len, struct fake_sdp *out, struct atv_err *err);

struct fake_rtp {
	bool marker;
	unsigned type; /* payload type, 7 bits */
	uint16_t seq;
	uint32_t ts, ssrc;
	const uint8_t *payload; /* inside the packet */
	size_t len;
};

/* An RTP packet (RFC 3550 5.1: version 2, CSRCs and an extension
 * skipped, padding removed).  -ATV_E_PROTO when it is not one. */
int fake_rtp_parse(const uint8_t *p, size_t len, struct fake_rtp *out, struct atv_err *err);

/* Decode one packet's payload into out (interleaved native int16, room
 * for max_frames * channels samples): L16 is big-endian PCM; ALAC is one
 * frame of elements (SCE/CPE with the escape flag: uncompressed samples,
 * an optional 32-bit sample count when partial, then END).  *frames is
 * what came.  -ATV_E_PROTO for what does not fit the format (a compressed
 * ALAC frame, a channel count other than the SDP's, a count past
 * max_frames, bits past the end). */
int fake_audio_decode(enum fake_codec codec, unsigned channels, unsigned bits,
		      const uint8_t *p, size_t len, int16_t *out, size_t max_frames,
		      size_t *frames, struct atv_err *err);

/* A DMAP mlit container's minm/asar/asal strings (each cut at 255 bytes,
 * NUL bytes refused), set to new strings (NULL when absent); the caller
 * frees them.  -ATV_E_PROTO for lengths that run past the body. */
int fake_dmap_meta_parse(const uint8_t *p, size_t len, char **title, char **artist, char **album,
			 struct atv_err *err);

/* The value of key="..." in a Digest header, copied to out (size bytes);
 * false when absent or too long. */
bool fake_digest_param(const char *h, const char *key, char *out, size_t size);

/* ---- the receiver (raop-server.c) ---- */

struct fake_loop;
struct fake_device;
struct fake_audio;

/* The receiver of dev, with its UDP ports on addr.  The device file's
 * optional "raop":{"password":"PW","latency":FRAMES} sets a password
 * (Digest auth on every RAOP request) and the Audio-Latency answered.
 * 0, -ATV_E_INPUT for a bad "raop", -ATV_E_NOMEM. */
int fake_audio_new(struct fake_loop *loop, const struct fake_device *dev, struct in_addr addr,
		   struct fake_audio **out, struct atv_err *err);
void fake_audio_free(struct fake_audio *a);

/* An answer to an audio request: status, up to four header lines, a body
 * of type, or raw bytes to send instead of an answer (a hostile mode),
 * and whether to close the connection after it. */
struct fake_audio_reply {
	unsigned status;
	char headers[4][256];
	size_t n_headers;
	const char *type;
	struct atv_buf body; /* initialised by the caller, with a cap */
	struct atv_buf raw;  /* ditto; when not empty, sent as it is */
	bool close;
};

/* Is this request RAOP's (AirPlay 1 audio)?  ANNOUNCE, OPTIONS,
 * POST /auth-setup, and while a RAOP session is on, its methods on a
 * connection that is not an AirPlay 2 one (ap2: verified on an AirPlay 2
 * device). */
bool fake_audio_is_raop(const struct fake_audio *a, const struct atv_httpmsg *rq,
			const char *path, bool ap2);

/* Answer rq (path without the rtsp:// authority) from peer; ap2 when it
 * came on an AirPlay 2 session (no SDP, no Digest). */
void fake_audio_request(struct fake_audio *a, const struct atv_httpmsg *rq, const char *path,
			struct in_addr peer, bool ap2, struct fake_audio_reply *r);

/* An AirPlay 2 stream SETUP of type 96 (plist dict stream: ct, spf, sr,
 * shk, controlPort): open the ports, fill reply_stream (a plist dict)
 * with type, dataPort, controlPort.  The status to answer. */
unsigned fake_audio_setup_ap2(struct fake_audio *a, void *stream, struct in_addr peer,
			      void *reply_stream);

/* The AirPlay 2 session's RECORD, POST /feedback and TEARDOWN, seen by
 * the tunnel. */
void fake_audio_record(struct fake_audio *a);
void fake_audio_feedback(struct fake_audio *a);
void fake_audio_teardown(struct fake_audio *a);

/* audio-state's object (see fake-atv --help), new. */
json_t *fake_audio_state(struct fake_audio *a);

/* A control command whose first word starts with "audio-": the reply
 * line ("ok ..." or "error ...") as a new string (NULL: out of memory). */
char *fake_audio_control(struct fake_audio *a, char **w, size_t n);
const char *fake_audio_usage(void);

#endif
