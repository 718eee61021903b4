/* dl.h - load a shared library and look up its functions on first use.
 *
 * Libraries that only one protocol needs (libcurl for DMAP and AirPlay,
 * libplist for AirPlay) are not linked: every tool would load and relocate
 * them, and the libraries behind them, at every start.  Each is dlopen()ed
 * by its own small table file (curl_dl.c, plist_dl.c) through these two
 * helpers, which word the errors the same way.
 *
 * RTLD_NOW: every undefined reference in the library and below is bound at
 * dlopen, so a broken installation fails there with dlerror's reason, not
 * in the middle of a request.  RTLD_LOCAL: their symbols stay out of the
 * global namespace, so they cannot interpose on anything loaded later. */
#ifndef ATV_DL_H
#define ATV_DL_H

#include <stddef.h>

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL), or NULL with "unable to load
 * SONAME: <dlerror>" in why[0..size). */
void *atv_dl_open(const char *soname, char *why, size_t size);

/* The address of prefix+name in h (a library from atv_dl_open), or NULL
 * with the same kind of message in why. */
void *atv_dl_sym(void *h, const char *soname, const char *prefix, const char *name, char *why,
		 size_t size);

#endif
