/* raop_rtsp.h - the text and bodies of RAOP's RTSP requests, and the
 * parsers of what the receiver answers in them.
 *
 * Pure functions (no I/O), byte-exact against the unit tests.  Facts:
 * pyatv support/rtsp.py (ANNOUNCE, Digest, metadata, feedback) and
 * protocols/airplayv1.py (Transport); OwnTone outputs/raop.c (SDP with
 * AppleLossless, RECORD's Range/RTP-Info); RFC 2617 (Digest without qop,
 * which AirPlay receivers use). */
#ifndef ATV_RAOP_RTSP_H
#define ATV_RAOP_RTSP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The ANNOUNCE body for uncompressed ALAC, 352 frames, 16 bits, 2
 * channels, 44100 Hz; family "IP4" or "IP6" for the addresses. */
int atv_raop_sdp(uint32_t session_id, const char *family, const char *local_ip,
		 const char *remote_ip, struct atv_buf *out, struct atv_err *err);

/* From "Digest realm="...", nonce="..."" (any order, other parameters
 * ignored): realm and nonce, each cut to fit their buffers or
 * -ATV_E_PROTO when missing, not quoted, or too long. */
#define ATV_RAOP_DIGEST_FIELD_MAX 128
struct atv_raop_digest {
	char realm[ATV_RAOP_DIGEST_FIELD_MAX];
	char nonce[ATV_RAOP_DIGEST_FIELD_MAX];
};
int atv_raop_digest_parse(const char *www_authenticate, struct atv_raop_digest *d,
			  struct atv_err *err);

/* The RFC 2617 response without qop: MD5(MD5(user:realm:password):nonce:
 * MD5(method:uri)) in lower-case hex (33 bytes with the NUL). */
int atv_raop_digest_response(const char *user, const char *realm, const char *password,
			     const char *nonce, const char *method, const char *uri,
			     char out[33], struct atv_err *err);

/* The whole header line "Authorization: Digest username=..., realm=...,
 * nonce=..., uri=..., response=..." into out (size bytes). */
int atv_raop_digest_header(const char *user, const struct atv_raop_digest *d,
			   const char *password, const char *method, const char *uri, char *out,
			   size_t size, struct atv_err *err);

/* From the SETUP reply's Transport ("RTP/AVP/UDP;unicast;mode=record;
 * server_port=N;control_port=N;timing_port=N"): each port 1..65535 (0 when
 * absent; server_port and control_port are required: -ATV_E_PROTO). */
struct atv_raop_transport {
	int server_port, control_port, timing_port;
};
int atv_raop_transport_parse(const char *value, struct atv_raop_transport *t,
			     struct atv_err *err);

/* Audio-Latency (frames, 0..ATV_RAOP_LATENCY_MAX) from a RECORD reply; a
 * value that is not a number in range is -ATV_E_PROTO. */
#define ATV_RAOP_LATENCY_MAX (10 * 44100)
int atv_raop_latency_parse(const char *value, uint32_t *frames, struct atv_err *err);

/* pyatv's volume mapping: 0 % is -144 (mute), else -30 + 30 * pct / 100 dB. */
double atv_raop_volume_db(double percent);

/* The DMAP listing item for SET_PARAMETER (application/x-dmap-tagged):
 * mlit { minm title, asar artist, asal album } with the NULL ones left
 * out. */
int atv_raop_dmap_meta(const char *title, const char *artist, const char *album,
		       struct atv_buf *out, struct atv_err *err);

#endif
