/* curl_dl.h - libcurl, loaded on first use.
 *
 * Only DMAP talks HTTP, but linking libcurl made every tool load and
 * relocate it and the 27 libraries behind it (gnutls, krb5, ldap, ssh2,
 * rtmp, nghttp2, ...) at every start: four times the instructions of
 * `atv-send --help` and 4.7 MB of RSS (lib/dl.h) for a library an MRP
 * command never calls.  So nothing links it: the
 * first atv_curl_load() dlopen()s libcurl and looks up the functions listed
 * below.  <curl/curl.h> still gives the types, and each pointer has the
 * type of the real function (__typeof__; for the variadic curl_easy_setopt,
 * curl_multi_setopt and curl_easy_getinfo that is a variadic pointer, so
 * the default argument promotions apply exactly as in a direct call).
 *
 * To use another curl function: add one X(name) line to ATV_CURL_FUNCS;
 * the field, the lookup and the missing-symbol error all follow from it. */
#ifndef ATV_CURL_DL_H
#define ATV_CURL_DL_H

#include <curl/curl.h>

#include "err.h"

/* X(name) is curl_<name> from libcurl (ATV_CURL_SONAME). */
#define ATV_CURL_FUNCS(X)                                                                          \
	X(global_init)                                                                             \
	X(easy_init)                                                                               \
	X(easy_cleanup)                                                                            \
	X(easy_reset)                                                                              \
	X(easy_setopt)                                                                             \
	X(easy_getinfo)                                                                            \
	X(easy_strerror)                                                                           \
	X(multi_init)                                                                              \
	X(multi_cleanup)                                                                           \
	X(multi_setopt)                                                                            \
	X(multi_add_handle)                                                                        \
	X(multi_remove_handle)                                                                     \
	X(multi_perform)                                                                           \
	X(multi_poll)                                                                              \
	X(multi_socket_action)                                                                     \
	X(multi_info_read)                                                                         \
	X(multi_strerror)                                                                          \
	X(slist_append)                                                                            \
	X(slist_free_all)

/* One field per function: api->easy_init is curl_easy_init. */
struct atv_curl {
#define ATV_CURL_FIELD(name) __typeof__(curl_##name) *name;
	ATV_CURL_FUNCS(ATV_CURL_FIELD)
#undef ATV_CURL_FIELD
};

/* Load libcurl and every function in the table, once per process
 * (thread-safe; later calls return the first outcome), and point *api at
 * the table.  The table is read-only and valid until exit: libcurl is
 * never unloaded (curl_global_cleanup is never called either).
 * -ATV_E_UNREACHABLE "unable to load libcurl.so.4: <dlerror>" when the
 * library or a function is missing: DMAP is then unavailable. */
int atv_curl_load(const struct atv_curl **api, struct atv_err *err);

#endif
