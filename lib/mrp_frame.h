/* mrp_frame.h - MRP stream framing.
 *
 * On the MRP TCP connection every message is one frame: the payload length
 * as a protobuf varint (7 bits a byte, least significant group first, high
 * bit set on all but the last byte), then the payload.  Once pair-verify
 * is done the payload is the ChaCha20-Poly1305 ciphertext and the length
 * counts the ciphertext; framing does not care either way.
 *
 * Pure: bytes in, frames out, no sockets.  The decoder never buffers more
 * than one frame, so what a peer can make us hold is bounded by the frame
 * cap. */
#ifndef ATV_MRP_FRAME_H
#define ATV_MRP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Largest payload we send or accept: an artwork reply carries the image
 * inside one message. */
#define ATV_MRP_MAX_FRAME ((size_t)4 << 20)

/* A uint64 varint takes at most 10 bytes (9 x 7 bits + 1). */
#define ATV_MRP_VARINT_MAX 10

/* Write v as a varint to out; returns the number of bytes (1..10). */
size_t atv_mrp_varint_put(uint8_t out[ATV_MRP_VARINT_MAX], uint64_t v);

/* Append one frame holding the len bytes at p to out (p must not point into
 * out).  Nothing is appended on failure.  0, -ATV_E_LIMIT when len exceeds
 * ATV_MRP_MAX_FRAME or out's cap, -ATV_E_NOMEM. */
int atv_mrp_frame_encode(struct atv_buf *out, const uint8_t *p, size_t len, struct atv_err *err);

/* Incremental decoder; fields are private. */
struct atv_mrp_frame_dec {
	struct atv_buf frame; /* payload of the frame being received */
	uint64_t want;        /* its declared length */
	uint8_t hdr_len;      /* varint bytes of the next length seen so far */
	bool in_body;         /* the length is complete, payload is arriving */
	bool ready;           /* frame holds the whole frame handed out last */
	int error;            /* sticky negative ATV_E_* once the stream is broken */
	size_t max_frame;
};

/* Start a decoder accepting frames of at most max_frame bytes
 * (0: ATV_MRP_MAX_FRAME; larger values are clamped to it). */
void atv_mrp_frame_dec_init(struct atv_mrp_frame_dec *d, size_t max_frame);

/* Give the decoder the bytes at p (len may be 0).  It takes bytes up to the
 * end of the next frame at most and stores the number taken in *used; the
 * caller passes the rest in the next call.  Returns 1 when a whole frame is
 * ready, 0 when more bytes are needed (then *used == len), or a negative
 * code.  A ready frame is *frame, *frame_len: non-NULL even when empty; it
 * points into p when the frame arrived in one piece, else into d, and stays
 * valid until the next call on d, its release, or a change to p's bytes.
 * Errors:
 *   -ATV_E_LIMIT  a declared length above the cap,
 *   -ATV_E_PROTO  a length varint longer than 10 bytes or above 2^64 - 1,
 *   -ATV_E_NOMEM.
 * Errors are sticky: the stream cannot be resynchronised.  Typical use:
 *
 *	while (len > 0) {
 *		r = atv_mrp_frame_dec_push(&d, p, len, &used, &f, &flen, err);
 *		if (r < 0)
 *			goto out;
 *		p += used, len -= used;
 *		if (r > 0)
 *			handle(f, flen);
 *	}
 */
int atv_mrp_frame_dec_push(struct atv_mrp_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
                           const uint8_t **frame, size_t *frame_len, struct atv_err *err);

/* True when the decoder holds part of a frame (a peer that closes now
 * has cut a message short). */
bool atv_mrp_frame_dec_partial(const struct atv_mrp_frame_dec *d);

/* Free the buffered bytes; d may be initialised again. */
void atv_mrp_frame_dec_release(struct atv_mrp_frame_dec *d);

#endif
