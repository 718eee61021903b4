/* devconf.h - the device config: what atv-scan prints and every tool reads
 * (atv-tools(7) is the normative description).
 *
 * The model keeps every field it does not understand (in `extra`, at the
 * device, device_info and service level) and writes it back out, so a
 * config passed through a tool loses nothing. */
#ifndef ATV_DEVCONF_H
#define ATV_DEVCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

#define ATV_DEVCONF_MAX_SERVICES 32
#define ATV_DEVCONF_MAX_IDS 32
#define ATV_DEVCONF_MAX_PROPERTIES 128

struct atv_service {
	char *protocol;     /* "mrp", "dmap", "airplay", "companion", "raop" */
	int port;           /* 0..65535 */
	char *identifier;   /* NULL when unknown */
	char *credentials;  /* NULL when none; secret, wiped on release */
	bool enabled;       /* false: found but not usable (MRP on tvOS 15+) */
	json_t *properties; /* object of TXT key -> string value (owned) */
	json_t *extra;      /* unknown members (owned object) */
};

struct atv_device_info {
	char *model, *operating_system, *version, *build, *mac; /* each may be NULL */
	json_t *extra;
};

struct atv_device {
	char *name;
	char *address;
	char *identifier; /* one of all_ids, by protocol precedence */
	char **all_ids;
	size_t n_ids;
	struct atv_device_info info;
	bool deep_sleep;
	struct atv_service *svcs;
	size_t n_svcs;
	json_t *extra; /* unknown members (owned object) */
};

/* Zero a device. */
void atv_device_init(struct atv_device *d);

/* Free everything d owns and zero it. */
void atv_device_release(struct atv_device *d);

/* Fill d from a parsed config object (d must be released by the caller
 * even on failure).  -ATV_E_INPUT with a message naming the bad field. */
int atv_device_from_json(const json_t *j, struct atv_device *d, struct atv_err *err);

/* Parse one JSON line into d. */
int atv_device_parse(const char *p, size_t len, struct atv_device *d, struct atv_err *err);

/* A new JSON object for d (caller json_decref()s), or NULL on no memory.
 * Known fields come first, in the documented order, then unknown ones. */
json_t *atv_device_to_json(const struct atv_device *d);

/* The same with every service's "credentials" null: the form tools print
 * unless asked for --with-credentials (a config saved with > must not
 * hold secrets; the credentials file does, and tools fill them in). */
json_t *atv_device_to_json_public(const struct atv_device *d);

/* The service of a protocol, or NULL. */
struct atv_service *atv_device_service(const struct atv_device *d, const char *protocol);

/* Add a new empty service for protocol (existing one is returned as is). */
struct atv_service *atv_device_add_service(struct atv_device *d, const char *protocol);

/* Add id to all_identifiers unless present (case-insensitive). */
int atv_device_add_id(struct atv_device *d, const char *id);

/* True when id matches any of all_identifiers (case-insensitive). */
bool atv_device_has_id(const struct atv_device *d, const char *id);

/* Rank of a protocol in identifier/connection precedence: MRP, DMAP,
 * AirPlay, RAOP, Companion; unknown protocols last. */
int atv_protocol_rank(const char *protocol);

/* Recompute identifier from the services by protocol precedence
 * (enabled or not), falling back to the first of all_ids. */
int atv_device_pick_identifier(struct atv_device *d);

/* Replace *dst with a copy of src (NULL allowed). 0 or -ATV_E_NOMEM. */
int atv_strset(char **dst, const char *src);

#endif
