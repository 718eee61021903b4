/* stream.h - atv-stream's session: open the receiver, send the metadata,
 * feed it the input at its pace while the sockets (and a pipe) are
 * polled together, stop cleanly on SIGINT/SIGTERM, say how it went. */
#ifndef ATV_STREAM_STREAM_H
#define ATV_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "device.h"
#include "err.h"
#include "audio.h"
#include "raop.h"

struct atv_stream_opts {
	const char *input;	 /* the name in the result: a path, or "-" */
	const char *title;	 /* --title (else the file's tag) */
	const char *artist;	 /* --artist */
	const char *album;	 /* --album */
	const char *artwork;	 /* --artwork FILE */
	const char *password_file; /* --password-file FILE */
	bool progress;		 /* progress on stderr (a terminal) */
	struct atv_raop_opts raop; /* volume, version, timeout */
};

/* Read FILE's first line (the receiver's password) into buf (at most
 * size - 1 bytes); the caller wipes it.  -ATV_E_IO, or -ATV_E_INPUT when
 * it is empty or too long. */
int atv_stream_password(const char *path, char *buf, size_t size, struct atv_err *err);

/* Stream a to the device d (its raop service), everything as o says, and
 * print the result line.  Returns the exit status (128 + the signal after
 * a stop by SIGINT or SIGTERM). */
int atv_stream_run(const struct atv_cli_target *t, struct atv_device *d, struct atv_audio *a,
		   const struct atv_stream_opts *o);

#endif
