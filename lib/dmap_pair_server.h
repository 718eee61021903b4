/* dmap_pair_server.h - our side of DMAP "Remote" pairing: the HTTP server
 * the Apple TV calls and the _touch-remote._tcp service that points it to
 * us (dmap_pair.h has the codes and the answer).
 *
 *   atv_dmap_pair_server_start()  listen (libmicrohttpd) and
 *                                 publish _touch-remote._tcp through
 *                                 avahi-daemon (loaded lazily, avahi_dl.h)
 *   atv_dmap_pair_server_wait()   until the device sent the right code: the
 *                                 server and the publication run in here,
 *                                 in the caller's thread (no threads)
 *   atv_dmap_pair_server_free()   withdraw the service, stop listening
 *
 * The user types the PIN we show into the Apple TV, which then sends
 * GET /pair?pairingcode=<MD5 of our GUID and that PIN>&servicename=<its id>.
 * A request with any other code (a mistyped PIN) gets 404 and we go on
 * waiting, as the Remote app does; the right one gets the cmpa answer.
 * Our GUID is public (TXT Pair), so anyone could try all 10000 PINs: after
 * 10 wrong codes we stop listening to guesses and the wait fails.
 *
 * When avahi-daemon cannot be reached the server still listens (a device
 * or a test can be pointed at it by hand) and a warning is logged. */
#ifndef ATV_DMAP_PAIR_SERVER_H
#define ATV_DMAP_PAIR_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct atv_dmap_pair_server; /* opaque; atv_dmap_pair_server_free() frees it */

struct atv_dmap_pair_server_opts {
	uint64_t guid;	  /* our pairing GUID: TXT Pair, cmpg, the credential */
	unsigned pin;	  /* 0..9999, shown as 4 digits */
	const char *name; /* the remote's name (TXT DvNm, cmnm); NULL: "atv-tools" */
	int port;	  /* TCP port to listen on (all IPv4 addresses); 0: ephemeral */
	bool publish;	  /* publish _touch-remote._tcp through avahi-daemon */
};

/* Start serving.  -ATV_E_USAGE for a bad option, -ATV_E_IO when the port
 * cannot be listened on.  No avahi-daemon is a logged warning, not an
 * error. */
int atv_dmap_pair_server_start(const struct atv_dmap_pair_server_opts *o,
			       struct atv_dmap_pair_server **out, struct atv_err *err);

/* The TCP port we listen on (the ephemeral one chosen when o->port was 0). */
int atv_dmap_pair_server_port(const struct atv_dmap_pair_server *s);

/* Wait at most timeout_ms (-1: no limit) for a pairing request with the
 * right code.  0 once it has been answered.  -ATV_E_AUTH after the 10th
 * wrong code, or at the deadline ("wrong pin") when only wrong ones came;
 * else at the deadline -ATV_E_UNREACHABLE ("no pairing request").
 * -ATV_E_IO when poll fails. */
int atv_dmap_pair_server_wait(struct atv_dmap_pair_server *s, int timeout_ms, struct atv_err *err);

/* Stop publishing and serving; NULL is fine. */
void atv_dmap_pair_server_free(struct atv_dmap_pair_server *s);

#endif
