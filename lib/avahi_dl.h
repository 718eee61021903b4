/* avahi_dl.h - libavahi-client and libavahi-common, loaded on first use.
 *
 * Only a multicast scan needs avahi (and, later, publishing the DMAP
 * pairing service), but linking it made every tool load and relocate it
 * and the eight libraries behind it (libdbus, libsystemd, libgcrypt, ...)
 * at every start.  So nothing links it: the first atv_avahi_load() dlopen()s
 * both libraries and looks up the functions listed below.  The avahi
 * headers still give the types, and each pointer has the type of the real
 * function (__typeof__), so the compiler checks every call through the
 * table as it would a direct one.
 *
 * To use another avahi function: include its header here and add one
 * X(library, name) line to ATV_AVAHI_FUNCS; the field, the lookup and the
 * missing-symbol error all follow from that line. */
#ifndef ATV_AVAHI_DL_H
#define ATV_AVAHI_DL_H

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/address.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/simple-watch.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include "err.h"

/* X(CLIENT, name) is avahi_<name> from libavahi-client.so.3,
 * X(COMMON, name) from libavahi-common.so.3 (the sonames configure found:
 * ATV_AVAHI_CLIENT_SONAME, ATV_AVAHI_COMMON_SONAME). */
#define ATV_AVAHI_FUNCS(X)                                                                         \
	X(CLIENT, client_new)                                                                      \
	X(CLIENT, client_free)                                                                     \
	X(CLIENT, client_errno)                                                                    \
	X(CLIENT, service_browser_new)                                                             \
	X(CLIENT, service_browser_free)                                                            \
	X(CLIENT, service_resolver_new)                                                            \
	X(CLIENT, service_resolver_free)                                                           \
	X(COMMON, strerror)                                                                        \
	X(COMMON, free)                                                                            \
	X(COMMON, string_list_get_next)                                                            \
	X(COMMON, string_list_get_pair)                                                            \
	X(COMMON, address_snprint)                                                                 \
	X(COMMON, elapse_time)                                                                     \
	X(COMMON, simple_poll_new)                                                                 \
	X(COMMON, simple_poll_get)                                                                 \
	X(COMMON, simple_poll_loop)                                                                \
	X(COMMON, simple_poll_quit)                                                                \
	X(COMMON, simple_poll_free)                                                                \
	X(COMMON, simple_poll_set_func)                                                            \
	X(COMMON, simple_poll_iterate)                                                             \
	X(CLIENT, entry_group_new)                                                                 \
	X(CLIENT, entry_group_free)                                                                \
	X(CLIENT, entry_group_reset)                                                               \
	X(CLIENT, entry_group_commit)                                                              \
	X(CLIENT, entry_group_add_service_strlst)                                                  \
	X(COMMON, alternative_service_name)                                                        \
	X(COMMON, string_list_add_pair)                                                            \
	X(COMMON, string_list_free)

/* One field per function: api->client_new is avahi_client_new. */
struct atv_avahi {
#define ATV_AVAHI_FIELD(lib, name) __typeof__(avahi_##name) *name;
	ATV_AVAHI_FUNCS(ATV_AVAHI_FIELD)
#undef ATV_AVAHI_FIELD
};

/* Load both libraries and every function in the table, once per process
 * (thread-safe; later calls return the first outcome), and point *api at
 * the table.  The table is read-only and valid until exit: the libraries
 * are never unloaded, since libdbus cannot be unloaded once used.
 * -ATV_E_UNREACHABLE "unable to load libavahi-client.so.3: <dlerror>" when
 * a library or a function is missing: multicast is then unavailable. */
int atv_avahi_load(const struct atv_avahi **api, struct atv_err *err);

#endif
