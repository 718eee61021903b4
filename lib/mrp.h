/* mrp.h - an MRP session with a device: the connection, pairing over it,
 * the session cipher, requests matched to replies, the heartbeat.
 *
 *   atv_mrp_connect()  TCP, then DEVICE_INFO both ways (in the clear)
 *   atv_mrp_verify()   pair-verify over CRYPTO_PAIRING with stored HAP
 *                      credentials, then every frame is encrypted
 *                      (ChaCha20-Poly1305, MediaRemote keys)
 *   atv_mrp_start()    SET_CONNECTION_STATE(Connected), CLIENT_UPDATES_CONFIG
 *
 * or, to pair, atv_mrp_pair_exchange() for each pair-setup message.
 *
 * Input is read without blocking into a frame decoder, so a tool can
 * poll() atv_mrp_fd() and call atv_mrp_process(); blocking calls (requests)
 * wait at most the session's timeout.  Messages that are not the reply a
 * call waits for go to the push callback.  The first broken frame, bad tag
 * or malformed message kills the session (-ATV_E_PROTO from then on): a
 * stream cipher with counters cannot skip a message. */
#ifndef ATV_MRP_H
#define ATV_MRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "hap.h"
#include "mrp_msg.h"

/* Seconds between GENERIC heartbeats (as pyatv sends them). */
#define ATV_MRP_HEARTBEAT_MS 30000

struct atv_mrp; /* opaque; atv_mrp_close() frees it */

/* A message the device sent that no call was waiting for.  m is valid
 * during the call only. */
typedef void (*atv_mrp_push_fn)(void *ctx, const Mrp__ProtocolMessage *m);

struct atv_mrp_opts {
	int timeout_ms;		/* connect and each request (<= 0: 5000) */
	const char *device;	/* the device's name for messages ("Living Room") */
	const char *pairing_id; /* ours in DEVICE_INFO: the HAP controller id */
	const char *name;	/* ours shown on the device (NULL: "atv-tools") */
	atv_mrp_push_fn push;	/* may be NULL */
	void *push_ctx;
};

/* Connect to host:port and exchange DEVICE_INFO (the device answers
 * nothing before it).  -ATV_E_UNREACHABLE when the connection fails, the
 * device closes it or does not answer in time, -ATV_E_PROTO for garbage.
 * Strings in o are copied. */
int atv_mrp_connect(const char *host, int port, const struct atv_mrp_opts *o, struct atv_mrp **out,
		    struct atv_err *err);

/* A transport under the session other than its own TCP connection (the
 * AirPlay 2 tunnel's data channel, airplay_tunnel.h): messages go out and
 * come in whole and in the clear (the transport seals them itself), so
 * there is no verify and no heartbeat (the transport keeps itself alive).
 * Every function returns 0/1 or a negative ATV_E_* with err set; any
 * error breaks the session. */
struct atv_mrp_transport {
	/* send one packed ProtocolMessage */
	int (*send)(void *t, const uint8_t *msg, size_t len, struct atv_err *err);
	/* the next message by deadline (monotonic ms; past: only what is
	 * there now): 1 and *msg, *len (valid until the next call), 0 when
	 * none came in time */
	int (*recv)(void *t, int64_t deadline, const uint8_t **msg, size_t *len,
		    struct atv_err *err);
	/* return once the device has taken everything sent so far (its
	 * messages meanwhile stay queued for recv); atv_mrp_sync then makes
	 * its GENERIC round trip */
	int (*sync)(void *t, struct atv_err *err);
	int (*fd)(const void *t);	  /* to poll for input */
	int (*timeout_ms)(const void *t); /* ms until recv must run (0: now), -1: none */
	void (*close)(void *t);
};

/* A session over transport tr (its state t, owned by the session from
 * now on, also when this fails): DEVICE_INFO both ways, as
 * atv_mrp_connect; then atv_mrp_start (no verify: the transport is
 * encrypted already). */
int atv_mrp_open_transport(const struct atv_mrp_transport *tr, void *t,
			   const struct atv_mrp_opts *o, struct atv_mrp **out, struct atv_err *err);

/* Close and free s (NULL is fine); keys wiped. */
void atv_mrp_close(struct atv_mrp *s);

/* The device's DEVICE_INFO reply (valid until close). */
const Mrp__ProtocolMessage *atv_mrp_device_info(const struct atv_mrp *s);

/* Pair-verify with c, then switch on the cipher.  -ATV_E_AUTH "mrp
 * credentials rejected by DEVICE: pair again" when the device does not
 * know us (revoked) or a signature does not verify; -ATV_E_UNREACHABLE,
 * -ATV_E_PROTO. */
int atv_mrp_verify(struct atv_mrp *s, const struct atv_hap_creds *c, struct atv_err *err);

/* After verify: SET_CONNECTION_STATE(Connected) and, when updates (the
 * ATV_MRP_UPDATES_* bits) is not 0, CLIENT_UPDATES_CONFIG.  Starts the
 * heartbeat clock. */
int atv_mrp_start(struct atv_mrp *s, unsigned updates, struct atv_err *err);

/* One pair-setup round: send the TLV8 message tlv as CRYPTO_PAIRING
 * (first: the M1 message) and, unless expect_reply is false, put the
 * TLV8 of the device's CRYPTO_PAIRING answer into reply (reset first). */
int atv_mrp_pair_exchange(struct atv_mrp *s, const struct atv_buf *tlv, bool first,
			  bool expect_reply, struct atv_buf *reply, struct atv_err *err);

/* Send one packed ProtocolMessage (from an mrp_msg.h builder), encrypted
 * once verify is done. */
int atv_mrp_send(struct atv_mrp *s, const struct atv_buf *msg, struct atv_err *err);

/* Send msg and wait for the message carrying identifier (the builder's
 * ids.identifier).  On success *reply is that message (free with
 * atv_mrp_msg_free).  Other messages arriving meanwhile go to the push
 * callback.  -ATV_E_UNREACHABLE when no reply comes within the timeout or
 * the connection drops, -ATV_E_PROTO for hostile input. */
int atv_mrp_request(struct atv_mrp *s, const struct atv_buf *msg, const char *identifier,
		    Mrp__ProtocolMessage **reply, struct atv_err *err);

/* A GENERIC round trip: when it returns, the device has handled (and
 * answered or pushed for) everything sent before.  Over a transport, its
 * own sync first (the tunnel: the device's reply to our last frame). */
int atv_mrp_sync(struct atv_mrp *s, struct atv_err *err);

/* Handle incoming messages for ms milliseconds (e.g. while a key is held). */
int atv_mrp_pump(struct atv_mrp *s, int ms, struct atv_err *err);

/* Handle incoming messages until done(ctx) is true (1; checked first and
 * after each message) or ms milliseconds passed (0). */
int atv_mrp_pump_until(struct atv_mrp *s, int ms, bool (*done)(void *ctx), void *ctx,
		       struct atv_err *err);

/* The error that broke the session (a negative ATV_E_*), or 0 while it
 * works: a failed request that left it working may be shrugged off. */
int atv_mrp_broken(const struct atv_mrp *s);

/* The fd to poll for input, and the ms until atv_mrp_process must run for
 * its timers (heartbeat, a frame stuck half way); -1 when none. */
int atv_mrp_fd(const struct atv_mrp *s);
int atv_mrp_timeout_ms(const struct atv_mrp *s);

/* Messages atv_mrp_process hands on in one call at most. */
#define ATV_MRP_PROCESS_MAX_MSGS 512

/* Read what is there without blocking, hand complete messages to the push
 * callback (ATV_MRP_PROCESS_MAX_MSGS at most: call again when
 * atv_mrp_timeout_ms says 0) and run the timers.  -ATV_E_UNREACHABLE when the connection
 * dropped or the heartbeat went unanswered, -ATV_E_PROTO for hostile input
 * (also a frame that stays incomplete for the timeout). */
int atv_mrp_process(struct atv_mrp *s, struct atv_err *err);

#endif
