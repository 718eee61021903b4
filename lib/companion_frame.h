/* companion_frame.h - Companion link framing and its session cipher.
 *
 * On the Companion TCP connection (_companion-link._tcp) every message is
 * one frame: a type byte, the payload length as 3 bytes big-endian, then
 * the payload.  Pairing travels in PS_Start/PS_Next and PV_Start/PV_Next
 * frames, everything else in E_OPACK frames (pyatv
 * protocols/companion/connection.py).
 *
 * Once pair-verify M4 has been exchanged, every frame with a payload is
 * sealed with ChaCha20-Poly1305: the nonce is a per-direction message
 * counter from 0 written as 12 little-endian bytes (not HAP's 4 zero bytes
 * and a 64-bit counter), the AAD is the frame's 4-byte header, whose length
 * counts the 16-byte tag.  Empty frames stay in the clear and use no nonce.
 * The keys come from HKDF-SHA512 on the verify secret, salt "", info
 * ClientEncrypt-main (controller to device) and ServerEncrypt-main.
 *
 * Pure: bytes in, frames out, no sockets; used by the client (lib/) and
 * the fake device alike.  The decoder holds one frame at most, so what a
 * peer can make us keep is bounded by the frame cap. */
#ifndef ATV_COMPANION_FRAME_H
#define ATV_COMPANION_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "hap.h"

/* Frame types (pyatv FrameType); others are read and dropped. */
enum atv_companion_type {
	ATV_COMPANION_PS_START = 0x03, /* pair-setup M1 */
	ATV_COMPANION_PS_NEXT = 0x04,  /* pair-setup M2..M6 */
	ATV_COMPANION_PV_START = 0x05, /* pair-verify M1 */
	ATV_COMPANION_PV_NEXT = 0x06,  /* pair-verify M2..M4 */
	ATV_COMPANION_U_OPACK = 0x07,  /* unencrypted OPACK */
	ATV_COMPANION_E_OPACK = 0x08,  /* OPACK, encrypted once verified */
	ATV_COMPANION_P_OPACK = 0x09,
	ATV_COMPANION_PA_REQ = 0x0A,
	ATV_COMPANION_PA_RSP = 0x0B,
	ATV_COMPANION_SESSION_START_REQ = 0x10,
	ATV_COMPANION_SESSION_START_RSP = 0x11,
	ATV_COMPANION_SESSION_DATA = 0x12,
	ATV_COMPANION_FAMILY_IDENTITY_REQ = 0x20,
	ATV_COMPANION_FAMILY_IDENTITY_RSP = 0x21,
	ATV_COMPANION_FAMILY_IDENTITY_UPDATE = 0x22
};

#define ATV_COMPANION_HEADER_LEN 4
/* Largest payload we send or accept (the format allows 16 MiB; an app
 * list or a text session is a few KiB). */
#define ATV_COMPANION_MAX_FRAME ((size_t)1 << 20)

/* Session key derivation on the pair-verify secret (salt is empty). */
#define ATV_COMPANION_SALT  ""
#define ATV_COMPANION_WRITE "ClientEncrypt-main" /* controller -> device */
#define ATV_COMPANION_READ  "ServerEncrypt-main" /* device -> controller */

/* Whether type is one the protocol defines (the decoder hands out only
 * these). */
bool atv_companion_type_known(unsigned type);

/* The 12-byte nonce of message counter ctr: little-endian, zero-filled. */
void atv_companion_nonce(uint8_t nonce[ATV_AEAD_NONCE_LEN], uint64_t ctr);

/* Append one frame of type holding p[0..len) to out (p must not point into
 * out).  With a cipher (c not NULL) a non-empty payload is sealed with
 * c's out key and counter, which then advances.  Nothing is appended on
 * failure.  -ATV_E_LIMIT when len exceeds ATV_COMPANION_MAX_FRAME or out's
 * cap, -ATV_E_NOMEM. */
int atv_companion_frame_encode(struct atv_buf *out, uint8_t type, const uint8_t *p, size_t len,
			       struct atv_hap_cipher *c, struct atv_err *err);

/* One decoded frame: the payload (opened, when a cipher was given) is
 * valid until the next call on the decoder or its release. */
struct atv_companion_frame {
	uint8_t type;
	const uint8_t *payload; /* never NULL, even when len is 0 */
	size_t len;
};

/* Incremental decoder; fields are private. */
struct atv_companion_frame_dec {
	uint8_t hdr[ATV_COMPANION_HEADER_LEN];
	size_t hdr_len;	     /* header bytes seen of the frame arriving */
	size_t want;	     /* its declared length */
	struct atv_buf body; /* its payload so far */
	struct atv_buf pt;   /* the plaintext handed out last */
	int error;	     /* sticky negative ATV_E_* once the stream is broken */
	size_t max_frame;
};

/* Start a decoder accepting frames of at most max_frame bytes
 * (0: ATV_COMPANION_MAX_FRAME; larger values are clamped to it). */
void atv_companion_frame_dec_init(struct atv_companion_frame_dec *d, size_t max_frame);

/* Give the decoder the bytes at p (len may be 0).  It takes bytes up to
 * the end of the next frame of a known type at most and stores the number
 * taken in *used; pass the rest in the next call.  Frames of unknown types
 * are consumed and dropped (after opening them with c, whose counter the
 * peer has advanced too).  With c not NULL every non-empty frame is opened
 * with c's in key and counter.  Returns 1 with *f when a frame is ready,
 * 0 when more bytes are needed (then *used == len), or:
 *   -ATV_E_LIMIT  a declared length above the cap,
 *   -ATV_E_PROTO  a sealed frame that fails authentication or is shorter
 *                 than its tag,
 *   -ATV_E_NOMEM.
 * Errors are sticky: a stream cipher cannot skip a frame. */
int atv_companion_frame_dec_push(struct atv_companion_frame_dec *d, struct atv_hap_cipher *c,
				 const uint8_t *p, size_t len, size_t *used,
				 struct atv_companion_frame *f, struct atv_err *err);

/* True when the decoder holds part of a frame. */
bool atv_companion_frame_dec_partial(const struct atv_companion_frame_dec *d);

/* Free the buffered bytes (wiped); d may be initialised again. */
void atv_companion_frame_dec_release(struct atv_companion_frame_dec *d);

#endif
