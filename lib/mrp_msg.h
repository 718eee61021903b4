/* mrp_msg.h - MRP ProtocolMessages: building what atv-tools sends and
 * unpacking what arrives.
 *
 * The C types come from lib/proto/mrp_*.proto through protoc-c (package
 * "mrp": Mrp__ProtocolMessage, MRP__PROTOCOL_MESSAGE__TYPE__..., payloads
 * as m->setstatemessage and so on).  Builders append one packed, unframed
 * ProtocolMessage to an atv_buf; the session encrypts it (after pairing)
 * and frames it with atv_mrp_frame_encode().
 *
 * Every message we send carries a fresh upper-case UUID in
 * uniqueIdentifier (required inside the AirPlay tunnel) and, except
 * CRYPTO_PAIRING, a fresh UUID in identifier that the device repeats in its
 * reply.  The identifiers used are returned in a struct atv_mrp_ids so the
 * caller can match the reply; pass NULL when it does not care. */
#ifndef ATV_MRP_MSG_H
#define ATV_MRP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "mrp_protocol.pb-c.h"


/* Upper bound on what unpacking one message may allocate, whatever its
 * size: protobuf-c allocates a whole C struct for each submessage, so a
 * few wire bytes can cost hundreds of bytes of memory. */
#define ATV_MRP_UNPACK_MAX ((size_t)64 << 20)

/* Serialised IOHIDEvent keyboard event inside SendHIDEventMessage. */
#define ATV_MRP_HID_LEN 60

struct atv_mrp_ids {
	char identifier[ATV_UUID_SIZE]; /* "" when the message has none */
	char unique_id[ATV_UUID_SIZE];
};

/* Who we are, in DEVICE_INFO.  NULL members take the defaults shown. */
struct atv_mrp_identity {
	const char *unique_id; /* our pairing identifier (the HAP controller id); a fresh UUID */
	const char *name;      /* shown on the TV: "atv-tools" */
	const char *model;     /* localizedModelName: "iPhone" */
	const char *build;     /* systemBuildVersion: "18G82" */
};

/* Bits for atv_mrp_msg_client_updates_config. */
#define ATV_MRP_UPDATES_ARTWORK 0x01u
#define ATV_MRP_UPDATES_NOW_PLAYING 0x02u
#define ATV_MRP_UPDATES_VOLUME 0x04u
#define ATV_MRP_UPDATES_KEYBOARD 0x08u
#define ATV_MRP_UPDATES_OUTPUT_DEVICES 0x10u

/* Options of a SEND_COMMAND; set has_* for each one to send. */
struct atv_mrp_cmd_opts {
	bool has_position;
	double position; /* seconds, SeekToPlaybackPosition */
	bool has_skip_interval;
	float skip_interval; /* seconds, SkipForward/SkipBackward */
	bool has_rate;
	float rate; /* ChangePlaybackRate */
	bool has_shuffle;
	Mrp__ShuffleMode shuffle; /* ChangeShuffleMode */
	bool has_repeat;
	Mrp__RepeatMode repeat; /* ChangeRepeatMode */
};

/* Fill m's envelope: a fresh uniqueIdentifier, errorCode 0 (as Apple's
 * clients send it) and the identifier: a fresh UUID when identifier is
 * NULL, none when it is "", else a copy of it (a reply; at most 36
 * characters, else -ATV_E_LIMIT).  m's string fields then point into ids,
 * which must outlive every use of m.  0 or a negative code. */
int atv_mrp_msg_stamp(Mrp__ProtocolMessage *m, struct atv_mrp_ids *ids, const char *identifier,
                      struct atv_err *err);

/* Append m packed (no envelope changes, no framing) to out.  0,
 * -ATV_E_LIMIT (above ATV_MRP_MAX_FRAME or out's cap) or -ATV_E_NOMEM. */
int atv_mrp_msg_pack(const Mrp__ProtocolMessage *m, struct atv_buf *out, struct atv_err *err);

/* Unpack one message.  On success *out is the message (free with
 * atv_mrp_msg_free); fields arriving that the schema does not declare are
 * kept in base.unknown_fields and packed again unchanged.  Malformed bytes,
 * a declared field with the wrong wire type, or a message that would need
 * more than ATV_MRP_UNPACK_MAX bytes (or about 64 times its size) of memory
 * give -ATV_E_PROTO. */
int atv_mrp_msg_unpack(const uint8_t *p, size_t len, Mrp__ProtocolMessage **out,
                       struct atv_err *err);

/* Free a message from atv_mrp_msg_unpack; NULL is ignored. */
void atv_mrp_msg_free(Mrp__ProtocolMessage *m);

/* Apple's name of a ProtocolMessage type ("SET_STATE_MESSAGE"), or
 * "UNKNOWN" for a number the schema does not list.  For logs. */
const char *atv_mrp_msg_type_name(int type);

/* The builders.  Each appends one packed ProtocolMessage to out and fills
 * ids (may be NULL).  0 or a negative code; out is unchanged on failure. */

/* DEVICE_INFO (or DEVICE_INFO_UPDATE when update): the first message on a
 * connection, sent in the clear.  Presents us as Apple's Remote app. */
int atv_mrp_msg_device_info(struct atv_buf *out, struct atv_mrp_ids *ids,
                            const struct atv_mrp_identity *me, bool update, struct atv_err *err);

/* CRYPTO_PAIRING around len bytes of HAP TLV8; first_setup marks the first
 * pair-setup message (state 2).  No identifier. */
int atv_mrp_msg_crypto_pairing(struct atv_buf *out, struct atv_mrp_ids *ids, const uint8_t *tlv,
                               size_t len, bool first_setup, struct atv_err *err);

/* SET_CONNECTION_STATE (MRP__SET_CONNECTION_STATE_MESSAGE__STATE__STATE_CONNECTED
 * after pair-verify). */
int atv_mrp_msg_set_connection_state(struct atv_buf *out, struct atv_mrp_ids *ids,
                                     Mrp__SetConnectionStateMessage__State state,
                                     struct atv_err *err);

/* CLIENT_UPDATES_CONFIG with the ATV_MRP_UPDATES_* bits set in flags true
 * and the others false. */
int atv_mrp_msg_client_updates_config(struct atv_buf *out, struct atv_mrp_ids *ids, unsigned flags,
                                      struct atv_err *err);

/* SEND_COMMAND of command (MRP__COMMAND__CMD_*) with opts (may be NULL). */
int atv_mrp_msg_command(struct atv_buf *out, struct atv_mrp_ids *ids, Mrp__Command command,
                        const struct atv_mrp_cmd_opts *opts, struct atv_err *err);

/* SEND_HID_EVENT: one key going down or up (usage page and usage as in the
 * USB HID tables: up is page 1, usage 0x8C). */
int atv_mrp_msg_hid_event(struct atv_buf *out, struct atv_mrp_ids *ids, uint16_t usage_page,
                          uint16_t usage, bool down, struct atv_err *err);

/* SEND_BUTTON_EVENT: the same as plain fields. */
int atv_mrp_msg_button_event(struct atv_buf *out, struct atv_mrp_ids *ids, uint32_t usage_page,
                             uint32_t usage, bool down, struct atv_err *err);

/* SET_VOLUME of output device device_uid to volume (0.0 to 1.0). */
int atv_mrp_msg_set_volume(struct atv_buf *out, struct atv_mrp_ids *ids, const char *device_uid,
                           float volume, struct atv_err *err);

/* GET_VOLUME of output device device_uid. */
int atv_mrp_msg_get_volume(struct atv_buf *out, struct atv_mrp_ids *ids, const char *device_uid,
                           struct atv_err *err);

/* How MODIFY_OUTPUT_CONTEXT_REQUEST changes the speaker group. */
enum atv_mrp_outputs_op { ATV_MRP_OUTPUTS_ADD, ATV_MRP_OUTPUTS_REMOVE, ATV_MRP_OUTPUTS_SET };

/* ModifyOutputContextRequest.type: a shared audio presentation (the only
 * type pyatv sends). */
#define ATV_MRP_OUTPUT_CONTEXT_SHARED_AUDIO 1

/* MODIFY_OUTPUT_CONTEXT_REQUEST adding, removing or setting the n output
 * devices uids (each in the plain and the cluster-aware list, as pyatv
 * sends them), type shared audio presentation. */
int atv_mrp_msg_modify_outputs(struct atv_buf *out, struct atv_mrp_ids *ids,
                               enum atv_mrp_outputs_op op, const char *const *uids, size_t n,
                               struct atv_err *err);

/* PLAYBACK_QUEUE_REQUEST for the one item at location with artwork of the
 * given size in pixels (width < 0: any width for that height). */
int atv_mrp_msg_playback_queue_request(struct atv_buf *out, struct atv_mrp_ids *ids, int location,
                                       double width, double height, struct atv_err *err);

/* A message of the given type without payload: WAKE_DEVICE (turn on),
 * GENERIC (the 30 s heartbeat), GET_KEYBOARD_SESSION. */
int atv_mrp_msg_empty(struct atv_buf *out, struct atv_mrp_ids *ids, Mrp__ProtocolMessage__Type type,
                      struct atv_err *err);

/* WAKE_DEVICE. */
int atv_mrp_msg_wake(struct atv_buf *out, struct atv_mrp_ids *ids, struct atv_err *err);

/* The hidEventData blob for a key: ATV_MRP_HID_LEN bytes written to out. */
void atv_mrp_hid_encode(uint8_t out[ATV_MRP_HID_LEN], uint16_t usage_page, uint16_t usage,
                        bool down);

/* Read the key back from a hidEventData blob (for the fake device).  0, or
 * -ATV_E_PROTO when p is not ATV_MRP_HID_LEN bytes in that layout. */
int atv_mrp_hid_decode(const uint8_t *p, size_t len, uint16_t *usage_page, uint16_t *usage,
                       bool *down, struct atv_err *err);

#endif
