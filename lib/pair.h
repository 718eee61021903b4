/* pair.h - the pairing facade atv-pair uses, for one protocol of a device.
 *
 *   atv_pair_begin()   connect and start; the device now shows a PIN
 *   atv_pair_finish()  with the PIN the user typed: the credential string
 *
 * The PIN is asked for between the two calls, so a prompt on /dev/tty can
 * wait until the PIN is on the screen.  DMAP turns this round: begin
 * starts our server and picks the PIN, atv_pair_pin() gives it to show,
 * and finish waits for the device to call with it. */
#ifndef ATV_PAIR_H
#define ATV_PAIR_H

#include <jansson.h>

#include "devconf.h"
#include "err.h"

struct atv_pairing; /* opaque; atv_pair_free() frees it */

struct atv_pair_opts {
	int timeout_ms;	  /* connect and each step (default 5000) */
	const char *name; /* our name shown on the device ("atv-tools") */
	/* DMAP ("Remote" pairing) only: the PIN is ours, shown to the user,
	 * who types it on the device; the device then calls our HTTP server
	 * (lib/dmap_pair_server.h), which finish waits for. */
	const char *pin;	  /* 1..4 digits; NULL: a random PIN */
	const char *pairing_guid; /* "0x" and 1..16 hex digits; NULL: random */
	int port;		  /* our HTTP port; 0: ephemeral */
	int wait_ms;		  /* finish waits this long for the device (0: 60 s) */
};

/* Check o for protocol before any device is contacted: -ATV_E_USAGE
 * naming what is wrong (an unknown protocol, a DMAP PIN that is not 4
 * digits, a malformed pairing GUID, DMAP's options for another protocol),
 * -ATV_E_UNSUPPORTED for a protocol we cannot pair yet. */
int atv_pair_check(const char *protocol, const struct atv_pair_opts *o, struct atv_err *err);

/* Start pairing d for protocol ("mrp", "dmap", "airplay", "companion").
 * -ATV_E_UNSUPPORTED when the device has no such (enabled) service,
 * -ATV_E_UNREACHABLE, -ATV_E_REFUSED (device says busy, max peers, backoff)
 * -ATV_E_PROTO. */
int atv_pair_begin(const struct atv_device *d, const char *protocol, const struct atv_pair_opts *o,
		   struct atv_pairing **out, struct atv_err *err);

/* The PIN the user must type on the device when it is ours (DMAP: show it
 * between begin and finish), or NULL when the device shows one (MRP: ask
 * for it).  Valid until atv_pair_free(). */
const char *atv_pair_pin(const struct atv_pairing *p);

/* Finish with pin.  On success *credentials is a new string (the caller
 * wipes and frees it) in pyatv's format for the protocol.  A wrong PIN is
 * -ATV_E_AUTH ("wrong pin").  When atv_pair_pin() is not NULL, pin is
 * ignored (may be NULL) and this waits for the device's request instead:
 * -ATV_E_UNREACHABLE when none came in time, -ATV_E_AUTH when only ones
 * with a wrong PIN came. */
int atv_pair_finish(struct atv_pairing *p, const char *pin, char **credentials,
		    struct atv_err *err);

/* After a successful finish: members to store next to the credentials in
 * the credentials file and the service of the config (a new object the
 * caller releases, e.g. Companion's {"rp_id": "..."}: our client id,
 * which must stay the same), or NULL when the protocol has none. */
json_t *atv_pair_stored(const struct atv_pairing *p);

/* Close and free (secrets wiped); NULL is fine. */
void atv_pair_free(struct atv_pairing *p);

#endif
