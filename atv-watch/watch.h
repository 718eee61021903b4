/* watch.h - atv-watch's loop: print the device's events as they come,
 * reconnect with backoff when the connection drops, stop cleanly. */
#ifndef ATV_WATCH_H
#define ATV_WATCH_H

#include <stdbool.h>

#include "artwork.h"
#include "conn.h"
#include "device.h"
#include "input.h"

#define ATV_WATCH_BACKOFF_MIN 100  /* ms before the first reconnect */
#define ATV_WATCH_BACKOFF_MAX 5000 /* doubling up to this */

struct atv_watch {
	const struct atv_cli_target *t;
	struct atv_device d;
	struct atv_conn_opts o;
	struct atv_conn *c;	  /* NULL while reconnecting */
	struct atv_artwork_cache art; /* --artwork DIR */
	struct atv_cli_lines *in; /* --until-eof: stop at its end; else NULL */
	bool out_failed;	  /* stdout is gone */
	struct atv_err out_err;
};

/* Connect (w->d is set), print the events until a signal, the end of
 * w->in or an error reconnecting cannot fix.  Returns the exit status;
 * the connection is closed. */
int atv_watch_run(struct atv_watch *w);

/* A failure before or instead of watching (device not found, say): a
 * "connection" event with state "closed", "error" (the code) and the
 * message on stdout, the message on stderr; the exit status. */
int atv_watch_fail(struct atv_watch *w, const struct atv_err *err);

#endif
