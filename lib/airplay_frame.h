/* airplay_frame.h - the AirPlay 2 data channel's frames, and the payload
 * that carries MRP messages in them (the MRP tunnel, tvOS 15+).
 *
 * Once decrypted (HAP blocks, DataStream keys) the data channel is a
 * stream of frames, each a 32-byte header and an optional payload:
 *
 *   u32 BE size      the whole frame, header included (32 when empty)
 *   12 bytes type    "sync" (a request) or "rply" (its reply), NUL-padded
 *   4 bytes command  "comm" (client requests), "cmnd" (device requests),
 *                    four zero bytes in replies
 *   u64 BE seqno     a reply repeats its request's
 *   4 bytes          zero
 *   payload          a binary plist, or nothing
 *
 * Every "sync" is answered at once by a "rply" with the same seqno (the
 * device puts an empty dictionary in its replies, pyatv nothing).  The
 * payload of a request is {params:{data:DATA}} with DATA one or more
 * ProtocolMessages, each preceded by its length as a protobuf varint;
 * a ConfigureConnection message may come without the length: a 0x08 where
 * a length is expected (no message is that short, every one starts with
 * the type field's tag 0x08) means the rest of DATA is one bare message
 * (pyatv/protocols/airplay/channels.py).
 *
 * Pure: bytes in, frames and messages out, no sockets; shared by the
 * client (airplay_tunnel.c) and the fake device.  The binary plist is
 * written and read here, not by libplist: only this one shape is needed,
 * and a reader that looks up two keys cannot be made to expand anything. */
#ifndef ATV_AIRPLAY_FRAME_H
#define ATV_AIRPLAY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ATV_AP_FRAME_HDR_LEN  32
#define ATV_AP_FRAME_TYPE_LEN 12
#define ATV_AP_FRAME_CMD_LEN  4

/* Largest frame we send or accept: an artwork reply carries a whole image
 * in one MRP message (mrp_frame.h's 4 MiB), plus the plist around it. */
#define ATV_AP_FRAME_MAX ((size_t)4 << 20 | 64 << 10)

/* The empty dictionary the device puts in its replies (42 bytes, as
 * Python's plistlib writes it). */
extern const uint8_t atv_ap_empty_dict[42];

/* One decoded frame; payload points into the decoder (or the caller's
 * bytes) and is valid until the next call on the decoder. */
struct atv_ap_frame {
	uint8_t type[ATV_AP_FRAME_TYPE_LEN]; /* as on the wire */
	uint8_t command[ATV_AP_FRAME_CMD_LEN];
	uint64_t seqno;
	uint32_t padding;	/* the last header field: 0 from every known peer */
	const uint8_t *payload; /* non-NULL even when empty */
	size_t payload_len;
};

/* True when f's type is name ("sync", "rply") NUL-padded to 12 bytes. */
bool atv_ap_frame_is(const struct atv_ap_frame *f, const char *name);

/* True when f's command is name ("comm", "cmnd"; "" for four zeros). */
bool atv_ap_frame_command_is(const struct atv_ap_frame *f, const char *name);

/* Append one frame to out: type (1..12 characters), command (0..4
 * characters, NUL-padded), seqno, four zero bytes, then the len bytes at
 * payload (may be NULL when len is 0; must not point into out).  Nothing
 * is appended on failure: -ATV_E_USAGE for a bad type or command,
 * -ATV_E_LIMIT past ATV_AP_FRAME_MAX or out's cap, -ATV_E_NOMEM. */
int atv_ap_frame_encode(struct atv_buf *out, const char *type, const char *command,
			uint64_t seqno, const uint8_t *payload, size_t len, struct atv_err *err);

/* The reply to a request with seqno: "rply", four zero bytes, seqno and,
 * when with_dict, atv_ap_empty_dict as payload (as a device answers),
 * else none (as pyatv answers). */
int atv_ap_frame_reply(struct atv_buf *out, uint64_t seqno, bool with_dict, struct atv_err *err);

/* Incremental decoder; fields are private. */
struct atv_ap_frame_dec {
	struct atv_buf buf; /* the frame being received (header, then payload) */
	size_t want;	    /* its declared size once the header is in, else 0 */
	bool ready;	    /* buf holds the frame handed out last */
	int error;	    /* sticky negative ATV_E_* once the stream is broken */
	size_t max;
};

/* Start a decoder accepting frames of at most max bytes in all (0:
 * ATV_AP_FRAME_MAX; larger values are clamped to it). */
void atv_ap_frame_dec_init(struct atv_ap_frame_dec *d, size_t max);

/* Give the decoder the bytes at p; it takes bytes up to the end of the
 * next frame at most and stores the number taken in *used.  1 when a frame
 * is ready in *f, 0 when more bytes are needed (then *used == len), or:
 *   -ATV_E_PROTO  a size below 32,
 *   -ATV_E_LIMIT  a size above the cap,
 *   -ATV_E_NOMEM.
 * Errors are sticky.  Use as atv_mrp_frame_dec_push (mrp_frame.h). */
int atv_ap_frame_dec_push(struct atv_ap_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
			  struct atv_ap_frame *f, struct atv_err *err);

/* True when part of a frame has arrived (a close now cuts it short). */
bool atv_ap_frame_dec_partial(const struct atv_ap_frame_dec *d);

/* Free the buffered bytes; d may be initialised again. */
void atv_ap_frame_dec_release(struct atv_ap_frame_dec *d);

/* ---- the payload: {params:{data}} ---- */

/* Append one message to data (the DATA being collected): its length as a
 * varint, then the len bytes at msg.  -ATV_E_LIMIT past data's cap. */
int atv_ap_data_add(struct atv_buf *data, const uint8_t *msg, size_t len, struct atv_err *err);

/* Append the binary plist {params:{data:DATA}} (DATA the len bytes at
 * data) to out, laid out as Python's plistlib writes it.  -ATV_E_LIMIT
 * when it does not fit (out's cap, or ATV_AP_FRAME_MAX with a header). */
int atv_ap_payload_encode(struct atv_buf *out, const uint8_t *data, size_t len,
			  struct atv_err *err);

/* Find DATA in the payload p[0..len): 1 with *data, *data_len pointing
 * into p; 0 when p is a well-formed binary plist without params.data
 * (the empty dictionary of a reply, or a message we do not know); or
 * -ATV_E_PROTO (with what was wrong) for anything that is not a binary
 * plist, a malformed one, or a params.data that is not data. */
int atv_ap_payload_data(const uint8_t *p, size_t len, const uint8_t **data, size_t *data_len,
			struct atv_err *err);

/* Take the next ProtocolMessage from DATA: *p, *len is what is left
 * (advanced past the message).  1 with *msg, *msg_len (inside the old
 * *p), 0 when nothing is left, -ATV_E_PROTO for a length varint that is
 * cut short or overlong, or a length past the end.  A 0x08 where a
 * length is expected takes all that is left as one bare message. */
int atv_ap_data_next(const uint8_t **p, size_t *len, const uint8_t **msg, size_t *msg_len,
		     struct atv_err *err);

#endif
