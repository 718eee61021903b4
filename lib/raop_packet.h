/* raop_packet.h - the UDP side of AirPlay audio, as bytes: uncompressed
 * ALAC frames, RTP audio packets, sync packets, timing replies, resend
 * requests and their answers, and AirPlay 2's sealed payloads.
 *
 * Pure functions (no sockets, no clock), byte-exact against the unit
 * tests; the parsers take (p, len) from the network and check every
 * length.  Facts: pyatv raop/packets.py, stream_client.py, protocols/
 * __init__.py (timing), airplayv2.py; OwnTone outputs/raop.c (uncompressed
 * ALAC) and outputs/airplay.c (packet_encrypt); the ALAC format as Apple's
 * ALACEncoder writes an escape (uncompressed) frame. */
#ifndef ATV_RAOP_PACKET_H
#define ATV_RAOP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"

#define ATV_RTP_HEADER_LEN    12
#define ATV_RTP_PT_AUDIO      0x60 /* 96, dynamic: the SDP's AppleLossless */
#define ATV_RTP_PT_TIMING_REQ 0x52 /* 0xd2 with the marker bit */
#define ATV_RTP_PT_TIMING_REP 0x53
#define ATV_RTP_PT_SYNC	      0x54
#define ATV_RTP_PT_RESEND_REQ 0x55
#define ATV_RTP_PT_RESEND     0x56
#define ATV_RTP_SYNC_LEN      20
#define ATV_RTP_TIMING_LEN    32
#define ATV_RTP_RESEND_REQ_LEN 8
#define ATV_NTP_EPOCH_OFFSET  0x83AA7E80u /* seconds from 1900 to 1970 */

/* An uncompressed ALAC frame of frames stereo/mono 16-bit samples:
 *   3 bits element (1 = channel pair, 0 = single channel), 4 bits
 *   instance 0, 12 bits unused 0, 1 bit "partial frame" (frames differs
 *   from the SDP's 352), 2 bits bytes shifted 0, 1 bit escape 1 (not
 *   compressed), the 32-bit frame count of a partial frame (Apple's
 *   ALACDecoder reads it after the escape bit), each sample 16 bits big-endian,
 *   channels interleaved, then the end element 7 (3 bits), zero bits to
 *   the byte.
 * pcm holds frames * channels host-order samples. */
#define ATV_ALAC_MAX_LEN(frames, channels) (8 + (size_t)(frames) * (channels) * 2)
size_t atv_alac_frame(const int16_t *pcm, size_t frames, int channels, uint8_t *out);

/* An RTP audio packet header: 0x80, payload type 0x60 (0xe0 with the
 * marker on the first packet of a stream), seq, timestamp, ssrc. */
void atv_rtp_audio_header(uint8_t out[ATV_RTP_HEADER_LEN], bool first, uint16_t seq,
			  uint32_t timestamp, uint32_t ssrc);

/* A sync packet for the control port: 0x90 (extension bit: the first
 * one) or 0x80, 0xd4, seq 7, then the RTP time being played now (rtp -
 * latency), the NTP time of rtp as seconds and fraction, rtp itself. */
void atv_rtp_sync(uint8_t out[ATV_RTP_SYNC_LEN], bool first, uint32_t rtp_now,
		  uint64_t ntp, uint32_t rtp);

/* A timing request (0xd2) from the receiver: its send time, which the
 * reply echoes as reference time. */
struct atv_rtp_timing {
	uint8_t proto; /* first byte, echoed */
	uint64_t send_ntp;
};
int atv_rtp_timing_parse(const uint8_t *p, size_t len, struct atv_rtp_timing *t,
			 struct atv_err *err);

/* The reply: proto echoed, 0xd3, seq 7, 4 zero bytes, reference = the
 * request's send time, receive and send = our clock (pyatv sends one
 * time for both). */
void atv_rtp_timing_reply(const struct atv_rtp_timing *req, uint64_t recv_ntp, uint64_t send_ntp,
			  uint8_t out[ATV_RTP_TIMING_LEN]);

/* A resend request (0xd5 on the control port): first lost seq and how
 * many (0 is refused as malformed; the session bounds the count by its
 * ring). */
struct atv_rtp_resend_req {
	uint16_t seq, count;
};
int atv_rtp_resend_parse(const uint8_t *p, size_t len, struct atv_rtp_resend_req *r,
			 struct atv_err *err);

/* The answer to a resend request: 0x80, 0xd6, the original seq, then the
 * original packet as it was sent (len bytes): out has len + 4. */
size_t atv_rtp_resend(const uint8_t *pkt, size_t len, uint8_t *out);

/* AirPlay 2 realtime audio: the payload after the 12-byte header sealed
 * with ChaCha20-Poly1305 under the stream's shared key (shk), the AAD
 * the header's timestamp and SSRC (bytes 4..12), the nonce 4 zero bytes
 * and the 64-bit little-endian counter; then the tag and the counter's
 * 8 bytes, so the packet is 12 + len + 16 + 8 bytes (pyatv's
 * Chacha20Cipher8byteNonce and airplayv2.py; OwnTone's packet_encrypt).
 * out must not overlap payload. */
#define ATV_RTP_SEAL_EXTRA (ATV_AEAD_TAG_LEN + 8)
int atv_rtp_seal(const uint8_t key[ATV_AEAD_KEY_LEN], uint64_t counter,
		 const uint8_t header[ATV_RTP_HEADER_LEN], const uint8_t *payload, size_t len,
		 uint8_t *out, struct atv_err *err);

/* The NTP time (seconds since 1900 << 32 | fraction) of a realtime clock
 * reading in nanoseconds since 1970. */
uint64_t atv_ntp_from_ns(uint64_t ns);

#endif
