/* plist_dl.h - libplist, loaded on first use.
 *
 * Only AirPlay reads and writes plists, and linking libplist made every
 * tool load it at start: +3% instructions and +0.4 MB RSS for a cold
 * command (lib/dl.h has the figures).  So nothing links it; the first
 * atv_plist_load() dlopen()s it (lib/dl.h) and looks up the functions
 * listed below, each pointer with the type of the real function.
 *
 * To use another libplist function: add one X(name) line. */
#ifndef ATV_PLIST_DL_H
#define ATV_PLIST_DL_H

#include <plist/plist.h>

#include "err.h"

/* X(name) is plist_<name> from libplist (ATV_PLIST_SONAME). */
#define ATV_PLIST_FUNCS(X)                                                                         \
	X(new_dict)                                                                                \
	X(new_string)                                                                              \
	X(new_real)                                                                                \
	X(new_uint)                                                                                \
	X(free)                                                                                    \
	X(dict_get_item)                                                                           \
	X(dict_get_size)                                                                           \
	X(dict_set_item)                                                                           \
	X(get_node_type)                                                                           \
	X(get_real_val)                                                                            \
	X(get_uint_val)                                                                            \
	X(get_string_ptr)                                                                          \
	X(from_memory)                                                                             \
	X(to_bin)                                                                                  \
	X(to_bin_free)                                                                             \
	X(new_bool)                                                                                \
	X(get_bool_val)                                                                            \
	X(new_array)                                                                               \
	X(new_data)                                                                                \
	X(new_uid)                                                                                 \
	X(array_get_size)                                                                          \
	X(array_get_item)                                                                          \
	X(array_append_item)                                                                       \
	X(get_uid_val)                                                                             \
	X(get_data_ptr)

/* One field per function: api->new_dict is plist_new_dict. */
struct atv_plist {
#define ATV_PLIST_FIELD(name) __typeof__(plist_##name) *name;
	ATV_PLIST_FUNCS(ATV_PLIST_FIELD)
#undef ATV_PLIST_FIELD
};

/* Load libplist and every function in the table, once per process
 * (thread-safe; later calls return the first outcome), and point *api at
 * the table, valid until exit.  -ATV_E_UNSUPPORTED "unable to load
 * libplist-2.0.so.3: <dlerror>" when the library or a function is missing:
 * AirPlay is then unavailable. */
int atv_plist_load(const struct atv_plist **api, struct atv_err *err);

#endif
