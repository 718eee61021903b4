/* dmap_client.h - the DACP remote-control client over DMAP/HTTP (Apple TV 3
 * and earlier, tvOS 12 and earlier; port 3689 of _touch-able._tcp).
 *
 * A client logs in with its credential: "0x" + 16 hex digits is a Remote
 * pairing GUID (GET /login?pairing-guid=0x...), anything else a Home
 * Sharing id, the hG of _appletv-v2._tcp (GET /login?hsgid=...).  The
 * answer mlog{mlid} is the session id every later request carries as
 * session-id=N; a 403 means the device forgot the session: the client logs
 * in again once and repeats the request.
 *
 * Push updates: ctrl-int/1/playstatusupdate?revision-number=R answers at
 * once when R is not the device's current revision (0 or 1: always), else
 * the device holds it until the state changes.  atv_dmap_client_watch
 * starts that long poll on an HTTP connection and session of its own
 * (commands go on over the first one meanwhile), and the caller's poll
 * loop drives it: poll atv_dmap_client_watch_fd for POLLIN, at most
 * atv_dmap_client_watch_timeout_ms, then call atv_dmap_client_watch_take,
 * which does what is due without blocking (http.h says how libcurl's
 * sockets and timers become that one fd) and hands out each new state.
 * No threads.
 *
 * Errors: login refused (503, unknown GUID) is -ATV_E_AUTH; a device body
 * that is not DMAP, or lies about lengths, or nests too deep is
 * -ATV_E_PROTO; a command the device rejects (4xx/5xx) -ATV_E_REFUSED;
 * connection failures -ATV_E_UNREACHABLE. */
#ifndef ATV_DMAP_CLIENT_H
#define ATV_DMAP_CLIENT_H

#include <jansson.h>

#include "buf.h"
#include "dmap.h"
#include "err.h"

#define ATV_DMAP_BODY_MAX    (1024 * 1024)     /* DMAP reply bodies */
#define ATV_DMAP_ARTWORK_MAX (8 * 1024 * 1024) /* nowplayingartwork */

struct atv_dmap_client; /* opaque; atv_dmap_client_close() frees it */

struct atv_dmap_client_opts {
	int timeout_ms;	    /* connect and each request (default 5000) */
	const char *device; /* name used in messages */
};

/* Log in to address:port with credentials (not kept longer than the
 * client; wiped on close).  *out is freed with atv_dmap_client_close. */
int atv_dmap_client_open(const char *address, int port, const char *credentials,
			 const struct atv_dmap_client_opts *o, struct atv_dmap_client **out,
			 struct atv_err *err);

/* Stop the watcher, log out, free c (NULL is fine). */
void atv_dmap_client_close(struct atv_dmap_client *c);

/* GET /ctrl-int/1/<what> ("playstatusupdate?revision-number=0",
 * "getproperty?properties=dmcp.volume"): the session id is added.  A 2xx
 * is 0; when reply is not NULL it receives the parsed body (release it
 * even on failure). */
int atv_dmap_client_ctrl(struct atv_dmap_client *c, const char *what, struct atv_dmap *reply,
			 struct atv_err *err);

/* POST /ctrl-int/1/controlpromptentry with cmbe=cmd, cmcc=code: "select",
 * "menu", "topmenu" or a touch step "touchDown&time=0&point=20,275". */
/* POST /ctrl-int/1/<what> with an empty body, as the Remote app and pyatv
 * send the commands that change something: "playpause", "nextitem" ...
 * (pyatv adds prompt-id=0 to these) and "setproperty?dmcp.volume=40".
 * The session id is added; a 2xx is 0. */
int atv_dmap_client_post(struct atv_dmap_client *c, const char *what, struct atv_err *err);

int atv_dmap_client_prompt(struct atv_dmap_client *c, const char *cmd, unsigned code,
			   struct atv_err *err);

/* A remote arrow key as pyatv's Remote does it: touchDown, five touchMove
 * steps of 5 points and touchUp (dir: "up", "down", "left", "right"). */
int atv_dmap_client_arrow(struct atv_dmap_client *c, const char *dir, struct atv_err *err);

/* The current cmst (playstatusupdate?revision-number=0) into st. */
int atv_dmap_client_status(struct atv_dmap_client *c, struct atv_dmap *st, struct atv_err *err);

/* dmcp.volume (0..100) into *vol. */
int atv_dmap_client_volume(struct atv_dmap_client *c, int *vol, struct atv_err *err);

/* The now-playing artwork (PNG) appended to png (capped by its max); an
 * empty body or a 204 means none. */
int atv_dmap_client_artwork(struct atv_dmap_client *c, unsigned size, struct atv_buf *png,
			    struct atv_err *err);

/* atvscript's playing fields from a cmst (see DESIGN.md; position from
 * cast - cant, in seconds).  A new object, or NULL on no memory. */
json_t *atv_dmap_client_playing(const struct atv_dmap *st);

/* True when the cmst says something plays (caps 4). */
int atv_dmap_client_is_playing(const struct atv_dmap *st);

/* Start the long poll from revision rev (the cmsr last seen): its login
 * is under way when this returns. */
int atv_dmap_client_watch(struct atv_dmap_client *c, unsigned rev, struct atv_err *err);

/* The fd to poll for POLLIN while watching (owned by c); -1 before watch. */
int atv_dmap_client_watch_fd(const struct atv_dmap_client *c);

/* Milliseconds until atv_dmap_client_watch_take must run even if the fd
 * stays quiet (libcurl's timers), -1: no such time. */
int atv_dmap_client_watch_timeout_ms(const struct atv_dmap_client *c);

/* Do what is due without blocking and take the next state: 1 with st
 * filled (release it) and *vol the volume that came with it (-1 when
 * unknown), 0 when there is none yet, or the watcher's error (it then
 * stopped: the same error on every later call).  Call it until it returns
 * 0 or less each time the fd is readable or the time has come. */
int atv_dmap_client_watch_take(struct atv_dmap_client *c, struct atv_dmap *st, int *vol,
			       struct atv_err *err);

#endif
