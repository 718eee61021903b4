/* companion.h - a Companion link session with a device: the connection,
 * pairing over it, the session cipher, requests matched to replies by
 * their _x, events both ways.
 *
 *   atv_companion_connect()        TCP to the _companion-link._tcp port
 *   atv_companion_pair_exchange()  one pair-setup/verify message (TLV8 in
 *                                  an OPACK {_pd: ...} frame)
 *   atv_companion_verify()         pair-verify with stored HAP credentials,
 *                                  then every frame is sealed
 *   atv_companion_request()        an E_OPACK request {_i, _t 2, _c, _x}
 *                                  and its reply {_t 3, _x, _c | _em ...}
 *   atv_companion_event()          an event {_i, _t 1, _c, _x}: no reply
 *
 * As pyatv (protocols/companion/protocol.py): _x starts at a random value
 * and grows by one per message sent; replies carry the request's _x;
 * events from the device go to the event callback; requests from the
 * device are ignored.  Input is read without blocking into a frame
 * decoder, so a tool can poll() atv_companion_fd() and call
 * atv_companion_process().  The first broken frame, bad tag or undecodable
 * message kills the session (-ATV_E_PROTO from then on). */
#ifndef ATV_COMPANION_H
#define ATV_COMPANION_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "hap.h"
#include "opack.h"

struct atv_companion; /* opaque; atv_companion_close() frees it */

/* An event the device sent: its _i and _c (NULL when absent), valid during
 * the call only. */
typedef void (*atv_companion_event_fn)(void *ctx, const char *name,
				       const struct atv_opack *content);

struct atv_companion_opts {
	int timeout_ms;		      /* connect and each request (<= 0: 5000) */
	const char *device;	      /* the device's name for messages */
	atv_companion_event_fn event; /* may be NULL */
	void *event_ctx;
};

/* Connect to host:port.  -ATV_E_UNREACHABLE when that fails. */
int atv_companion_connect(const char *host, int port, const struct atv_companion_opts *o,
			  struct atv_companion **out, struct atv_err *err);

/* Close and free s (NULL is fine); keys wiped. */
void atv_companion_close(struct atv_companion *s);

/* One pairing message: tlv (TLV8) as _pd in a frame of type
 * (ATV_COMPANION_PS_START/PS_NEXT for pair-setup, with _pwTy 1;
 * PV_START/PV_NEXT for pair-verify, _auTy 4 on PV_START).  Unless
 * expect_reply is false, the device's _pd (from its PS_NEXT/PV_NEXT
 * answer) goes to reply (reset first). */
int atv_companion_pair_exchange(struct atv_companion *s, uint8_t type, const struct atv_buf *tlv,
				bool expect_reply, struct atv_buf *reply, struct atv_err *err);

/* Pair-verify with c, then switch on the cipher (ClientEncrypt-main out,
 * ServerEncrypt-main in).  -ATV_E_AUTH "companion credentials rejected by
 * DEVICE: pair again" when the device does not know us (revoked) or a
 * signature does not verify. */
int atv_companion_verify(struct atv_companion *s, const struct atv_hap_creds *c,
			 struct atv_err *err);

/* Send request name with content (consumed; NULL: an empty dict) and wait
 * for the reply.  On success *reply is the whole reply message (free with
 * atv_opack_free; its _c may be absent).  A reply with _em/_ec is
 * -ATV_E_REFUSED "DEVICE refused NAME: _em (_ec)"; no reply within the
 * timeout is -ATV_E_UNREACHABLE (the session stays usable); a dropped
 * connection -ATV_E_UNREACHABLE, hostile input -ATV_E_PROTO. */
int atv_companion_request(struct atv_companion *s, const char *name, struct atv_opack *content,
			  struct atv_opack **reply, struct atv_err *err);

/* Send request name with content (consumed; NULL: an empty dict) without
 * waiting for its reply, which is dropped when it comes (the requests of
 * a leaving client). */
int atv_companion_send(struct atv_companion *s, const char *name, struct atv_opack *content,
		       struct atv_err *err);

/* Send event name with content (consumed; NULL: an empty dict). */
int atv_companion_event(struct atv_companion *s, const char *name, struct atv_opack *content,
			struct atv_err *err);

/* Handle incoming frames for ms milliseconds (a key held down). */
int atv_companion_pump(struct atv_companion *s, int ms, struct atv_err *err);

/* The error that broke the session (a negative ATV_E_*), or 0. */
int atv_companion_broken(const struct atv_companion *s);

/* The fd to poll, and the ms until atv_companion_process must run (a frame
 * stuck half way); -1: no timer. */
int atv_companion_fd(const struct atv_companion *s);
int atv_companion_timeout_ms(const struct atv_companion *s);

/* Read what is there without blocking and hand events to the callback.
 * -ATV_E_UNREACHABLE when the connection dropped, -ATV_E_PROTO for hostile
 * input (also a frame that stays incomplete for the timeout). */
int atv_companion_process(struct atv_companion *s, struct atv_err *err);

#endif
