/* dl.h - load a shared library and look up its functions on first use.
 *
 * Libraries that only one protocol or one kind of scan needs (libcurl for
 * DMAP, libplist for AirPlay, avahi-client for multicast scans) are not
 * linked: every tool would load and relocate them, and the libraries
 * behind them, at every start.  Each is dlopen()ed by its own small table
 * file (curl_dl.c, plist_dl.c, avahi_dl.c) through these two helpers,
 * which word the errors the same way, by the soname configure found
 * (ATV_*_SONAME in config.h).
 *
 * Measured (atv-send relinked with each library linked instead, 2-core
 * Debian 12 VM; instructions of `atv-send --help` under callgrind, which
 * noise cannot move, page faults and peak RSS; a cold MRP command pays the
 * same on top of its own work):
 *
 *   linked          libraries  instructions   page faults  RSS
 *   none (dlopen)       7       2.91 M           213       3.4 MB
 *   + libplist          9       3.01 M  (+3%)    228      +0.4 MB
 *   + avahi-client     17       4.78 M  (+64%)   297      +1.3 MB
 *   + libcurl          35      11.65 M  (+300%)  525      +4.7 MB
 *
 * CPU time (perf stat, 300 runs) moved the same way: +0.2-0.3 ms for
 * libplist, +1.5-3 ms for avahi, +5-9 ms for libcurl.  libcurl and avahi
 * clearly earn their wrappers; libplist barely does (+6% RSS of a cold MRP
 * command, which `make bench` tracks), and its wrapper is a table.
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
