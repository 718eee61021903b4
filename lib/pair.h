/* pair.h - the pairing facade atv-pair uses, for one protocol of a device.
 *
 *   atv_pair_begin()   connect and start; the device now shows a PIN
 *   atv_pair_finish()  with the PIN the user typed: the credential string
 *
 * The PIN is asked for between the two calls, so a prompt on /dev/tty can
 * wait until the PIN is on the screen. */
#ifndef ATV_PAIR_H
#define ATV_PAIR_H

#include "devconf.h"
#include "err.h"

struct atv_pairing; /* opaque; atv_pair_free() frees it */

struct atv_pair_opts {
	int timeout_ms;   /* connect and each step (default 5000) */
	const char *name; /* our name shown on the device ("atv-tools") */
};

/* Start pairing d for protocol ("mrp"; "airplay" and "dmap" later).
 * -ATV_E_UNSUPPORTED when the device has no such (enabled) service,
 * -ATV_E_UNREACHABLE, -ATV_E_REFUSED (device says busy, max peers, backoff)
 * -ATV_E_PROTO. */
int atv_pair_begin(const struct atv_device *d, const char *protocol, const struct atv_pair_opts *o,
		   struct atv_pairing **out, struct atv_err *err);

/* Finish with pin.  On success *credentials is a new string (the caller
 * wipes and frees it) in pyatv's format for the protocol.  A wrong PIN is
 * -ATV_E_AUTH ("wrong pin"). */
int atv_pair_finish(struct atv_pairing *p, const char *pin, char **credentials,
		    struct atv_err *err);

/* Close and free (secrets wiped); NULL is fine. */
void atv_pair_free(struct atv_pairing *p);

#endif
