/* mrp_state.h - the now-playing cache of an MRP connection.
 *
 * The device describes what plays as clients (apps, by bundle id) holding
 * players, and keeps us up to date with pushes: SET_STATE (a player's
 * state, supported commands and playback queue), UPDATE_CONTENT_ITEM (new
 * metadata for an item already known), SET_NOW_PLAYING_CLIENT/PLAYER
 * (which one is active), UPDATE_CLIENT, REMOVE_CLIENT/PLAYER and
 * SET_DEFAULT_SUPPORTED_COMMANDS.  Besides that it tracks power
 * (DEVICE_INFO / DEVICE_INFO_UPDATE: logicalDeviceCount > 0 means on) and
 * volume (VOLUME_DID_CHANGE for our output device, which
 * VOLUME_CONTROL_CAPABILITIES_DID_CHANGE names, else DEVICE_INFO's
 * clusterID or deviceUID), and the output devices as pyatv's MrpAudio
 * reads them from DEVICE_INFO and DEVICE_INFO_UPDATE: the device itself
 * when it leads its group and is not a proxy group player, then each
 * grouped device, with the level of each from VOLUME_DID_CHANGE naming it.
 *
 * Only what atv-tools shows is kept, and only the item the queue's
 * location points at, so memory stays bounded whatever the device sends:
 * at most ATV_MRP_STATE_MAX_CLIENTS clients of ATV_MRP_STATE_MAX_PLAYERS
 * players each (more are ignored), and strings of at most
 * ATV_MRP_STATE_MAX_STRING bytes: longer text is cut at a character
 * boundary, a message naming a client or player by a longer identifier is
 * ignored.  About 8 MB at worst, whatever the device sends.  An output
 * device list is kept whole or not at all: more than
 * ATV_MRP_STATE_MAX_OUTPUTS devices, or an identifier or name longer than
 * ATV_MRP_STATE_MAX_STRING bytes, is -ATV_E_LIMIT (hostile device input). */
#ifndef ATV_MRP_STATE_H
#define ATV_MRP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "mrp_protocol.pb-c.h"

#define ATV_MRP_STATE_MAX_CLIENTS 32
#define ATV_MRP_STATE_MAX_PLAYERS 16
#define ATV_MRP_STATE_MAX_STRING  2048
#define ATV_MRP_STATE_MAX_OUTPUTS 64

/* Seconds from the Unix epoch to the Cocoa epoch (2001-01-01 00:00:00 UTC),
 * the origin of MRP timestamps. */
#define ATV_COCOA_EPOCH 978307200.0

/* Bits returned by atv_mrp_state_update: what the message may have changed. */
#define ATV_MRP_STATE_PLAYING 0x01
#define ATV_MRP_STATE_POWER   0x02
#define ATV_MRP_STATE_VOLUME  0x04
#define ATV_MRP_STATE_OUTPUTS 0x08 /* the output devices or the level of one */

struct atv_mrp_state; /* opaque; atv_mrp_state_free() frees it */

/* A new empty cache (nothing playing, power and volume unknown), or NULL
 * when out of memory. */
struct atv_mrp_state *atv_mrp_state_new(void);

/* Free s (NULL is fine). */
void atv_mrp_state_free(struct atv_mrp_state *s);

/* Feed one message from the device.  Types that carry no state are
 * ignored.  Returns the ATV_MRP_STATE_* bits it touched (0 for none), or
 * -ATV_E_NOMEM (the cache is then still consistent, only incomplete). */
int atv_mrp_state_update(struct atv_mrp_state *s, const Mrp__ProtocolMessage *m,
			 struct atv_err *err);

/* Our output device: volume changes naming another output device are
 * ignored (NULL: accept every one).  VOLUME_CONTROL_CAPABILITIES_DID_CHANGE
 * also sets it. */
int atv_mrp_state_set_output(struct atv_mrp_state *s, const char *uid, struct atv_err *err);

/* The output device uid set above, or NULL. */
const char *atv_mrp_state_output(const struct atv_mrp_state *s);

/* The playing player's queue location (the item shown), or -1 when
 * nothing is queued; for asking the device for that item's artwork. */
int atv_mrp_state_location(const struct atv_mrp_state *s);

/* Whether the playing player (else its client's defaults) lists MRP
 * command cmd (Mrp__Command) as enabled: 1 yes, 0 no (not listed, or
 * disabled), -1 no list seen yet. */
int atv_mrp_state_supports(const struct atv_mrp_state *s, int cmd);

/* 1 on, 0 off, -1 not known yet. */
int atv_mrp_state_power(const struct atv_mrp_state *s);

/* 0..100, or -1 when not known yet. */
int atv_mrp_state_volume(const struct atv_mrp_state *s);

/* The output devices: a new array of {"identifier", "name", "volume"}
 * (name null when the device gave none, volume 0..100 or null when not
 * known), empty before the device described its group; NULL when out of
 * memory. */
json_t *atv_mrp_state_outputs(const struct atv_mrp_state *s);

/* The i-th output device's identifier (NULL past the end); *self (may be
 * NULL) says whether it is the device itself. */
const char *atv_mrp_state_output_id(const struct atv_mrp_state *s, size_t i, bool *self);

/* The "playing" object (atv_nowplaying_json) of the playing player.  now
 * is the time in seconds since the Unix epoch: position = elapsedTime +
 * (now - elapsedTimeTimestamp) * playbackRate.  A new object (the caller
 * json_decref()s it), or NULL when out of memory. */
json_t *atv_mrp_state_playing(const struct atv_mrp_state *s, double now);

/* The playback rate the position advances with (0 unless playing), for
 * telling a seek from the clock moving on. */
double atv_mrp_state_rate(const struct atv_mrp_state *s);

#endif
