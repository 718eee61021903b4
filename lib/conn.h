/* conn.h - the connect facade the tools use: pick a protocol for a device
 * config (MRP preferred over DMAP; an error naming what is missing when
 * neither can be used), run command items, and stream events.
 *
 * Tools never talk to a protocol module directly: each protocol is a
 * backend (backend.h) behind this facade. */
#ifndef ATV_CONN_H
#define ATV_CONN_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "devconf.h"
#include "err.h"

struct atv_conn; /* opaque; atv_conn_close() frees it */

struct atv_conn_opts {
	int timeout_ms;       /* TCP connect and each request/reply (default 5000) */
	const char *protocol; /* NULL: auto (MRP, then DMAP); "mrp", "dmap" or "airplay" */
	bool updates;         /* ask the device to push now-playing/volume updates */
	bool artwork;	      /* ask for artwork with the updates (atv_conn_artwork) */
	/* play_url (always over AirPlay): follow the video until it ends
	 * (wait) instead of until it plays, reporting each state change as a
	 * "playback" event to progress(progress_ctx, event) (may be NULL) */
	bool wait;
	void (*progress)(void *ctx, json_t *event);
	void *progress_ctx;
};

/* Connect to d with the credentials in its services.  Errors:
 * -ATV_E_UNREACHABLE (connect failed / timed out: the caller may rescan by
 * identifier and retry), -ATV_E_AUTH (missing, wrong or revoked credentials;
 * the message says which and how to pair), -ATV_E_UNSUPPORTED (no usable
 * protocol: "no usable protocol: mrp service disabled (tvOS 15+), dmap not
 * paired"), -ATV_E_PROTO (hostile/broken device). */
int atv_conn_open(const struct atv_device *d, const struct atv_conn_opts *o, struct atv_conn **out,
		  struct atv_err *err);

/* Close the connection and free c (NULL is fine). */
void atv_conn_close(struct atv_conn *c);

/* "mrp", "dmap" or "airplay": the backend events and commands go to. */
const char *atv_conn_protocol(const struct atv_conn *c);

/* The device identifier this connection is for. */
const char *atv_conn_device_id(const struct atv_conn *c);

/* Run one command item: "play", "set_volume=40", "up" ... with action
 * "tap" (default, NULL), "double_tap" or "hold" for remote keys.  Waits
 * until the device acknowledged it.  On success *result (may be set to
 * NULL) is a new object of members to add to the result line (e.g. the
 * metadata for "playing").  An unknown command is -ATV_E_USAGE; one the
 * device refuses -ATV_E_REFUSED; one the protocol cannot do
 * -ATV_E_UNSUPPORTED. */
int atv_conn_command(struct atv_conn *c, const char *item, const char *action, json_t **result,
		     struct atv_err *err);

/* Whether item ("play", "set_volume=40", "play_url=URL ...") names a
 * command atv_conn_command knows (its value is not checked). */
bool atv_conn_knows(const char *item);

/* The i-th command of the table (from 0; NULL past the end), for lists
 * and completion; *value (may be NULL) is set to the syntax of its value:
 * NULL for none, "SECONDS", "0..100", ..., "[=SECONDS]" when optional. */
const char *atv_conn_command_name(size_t i, const char **value);

/* Events.  An event is an object with "event" ("playing", "power",
 * "volume", "output_devices", ...) and its fields; the tool adds "time" and
 * "device".  The callee may keep a reference (json_incref). */
typedef void (*atv_conn_event_cb)(void *ctx, json_t *event);

/* The fd to poll for input, and how long the caller may sleep before
 * atv_conn_process must run again for timers (heartbeat): -1 = no timer. */
int atv_conn_fd(const struct atv_conn *c);
int atv_conn_timeout_ms(const struct atv_conn *c);

/* Read what is available (non-blocking), run due timers, and report the
 * events it caused.  -ATV_E_UNREACHABLE when the connection dropped (the
 * caller reconnects), -ATV_E_PROTO for hostile input. */
int atv_conn_process(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err);

/* The current state as events (playing, power, volume), e.g. right after
 * connecting, so a watcher starts from a full picture. */
int atv_conn_snapshot(struct atv_conn *c, atv_conn_event_cb cb, void *ctx, struct atv_err *err);

/* The artwork of what plays now (PNG or JPEG bytes as the device sends
 * them) appended to png, which stays empty when there is none.  Meant for
 * a "playing" event's callback: the tool names files, lib/ writes none.
 * -ATV_E_UNSUPPORTED when the protocol has no artwork. */
int atv_conn_artwork(struct atv_conn *c, struct atv_buf *png, struct atv_err *err);

/* The same for a one-shot command (atv-send's artwork): the main
 * backend's state made complete first (its watch), so it knows what plays. */
int atv_conn_artwork_now(struct atv_conn *c, struct atv_buf *img, struct atv_err *err);

/* Most bytes of artwork atv-send takes (atv-watch has its own bound). */
#define ATV_ARTWORK_MAX (16u << 20)

/* artwork's result members for the image in img: "mime" (image/png,
 * image/jpeg, null when neither), "width" and "height" from its header
 * (null when not found), "size" in bytes; {"mime":null,"size":0} when
 * empty.  A new object, or NULL on no memory. */
json_t *atv_artwork_info(const struct atv_buf *img);

#endif
