/* dnssd_scan.c - found DNS-SD services → device configs, and the scan driver.
 *
 * Identifier keys and names per service type follow pyatv's scanner
 * (protocols.md §4.2); device_info is derived from the AirPlay/Companion
 * model and version TXT records and the MRP build. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "airplay_info.h"
#include "dnssd_browse.h"
#include "log.h"
#include "dnssd_scan.h"
#include "banned.h"

static const struct {
	const char *type;
	const char *protocol;
} type_map[] = {
	{"_mediaremotetv._tcp", "mrp"},	 {"_touch-able._tcp", "dmap"},
	{"_appletv-v2._tcp", "dmap"},	 {"_hscp._tcp", "dmap"},
	{"_airplay._tcp", "airplay"},	 {"_raop._tcp", "raop"},
	{"_companion-link._tcp", "companion"},
};

const char *atv_scan_protocol(const char *type)
{
	for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
		if (strcasecmp(type, type_map[i].type) == 0)
			return type_map[i].protocol;
	return NULL;
}

/* Copy at most n bytes of s as a new string. */
static char *strndup_or_null(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

/* The unique id and friendly name a service announces (both may be NULL;
 * the caller frees them). */
static int service_identity(const struct atv_dnssd_svc *svc, const char *proto, char **id,
			    char **name)
{
	const char *t = svc->type, *at;

	*id = *name = NULL;
	if (strcmp(proto, "mrp") == 0) {
		*id = strndup_or_null(atv_dnssd_txt(svc, "UniqueIdentifier"), 128);
		*name = strndup_or_null(atv_dnssd_txt(svc, "Name"), 256);
	} else if (strcasecmp(t, "_touch-able._tcp") == 0 ||
		   strcasecmp(t, "_appletv-v2._tcp") == 0) {
		/* The instance name is the DMAP id, optionally followed by "_n". */
		size_t n = strcspn(svc->name, "_");
		*id = strndup(svc->name, n);
		*name = strndup_or_null(atv_dnssd_txt(svc, "CtlN"), 256);
		if (!*name)
			*name = strndup_or_null(atv_dnssd_txt(svc, "Name"), 256);
	} else if (strcasecmp(t, "_hscp._tcp") == 0) {
		*id = strndup_or_null(atv_dnssd_txt(svc, "Machine ID"), 128);
		*name = strndup_or_null(atv_dnssd_txt(svc, "Machine Name"), 256);
	} else if (strcmp(proto, "airplay") == 0) {
		*id = strndup_or_null(atv_dnssd_txt(svc, "deviceid"), 128);
		*name = strdup(svc->name);
	} else if (strcmp(proto, "raop") == 0) {
		/* "AABBCCDDEEFF@Living Room": the MAC before '@', else the pk */
		at = strchr(svc->name, '@');
		if (at) {
			*id = strndup(svc->name, (size_t)(at - svc->name));
			*name = strdup(at + 1);
		} else {
			*id = strndup_or_null(atv_dnssd_txt(svc, "pk"), 128);
			*name = strdup(svc->name);
		}
	} else if (strcmp(proto, "companion") == 0) {
		*id = strndup_or_null(atv_dnssd_txt(svc, "rpMRtID"), 128);
		if (!*id)
			*id = strndup_or_null(atv_dnssd_txt(svc, "rpBA"), 128);
		*name = strdup(svc->name);
	}
	if (*id && !**id) {
		free(*id);
		*id = NULL;
	}
	return 0;
}

int atv_scan_add(struct atv_scan_dev *sd, const struct atv_dnssd_svc *svc, struct atv_err *err)
{
	struct atv_device *d = &sd->dev;
	const char *proto = atv_scan_protocol(svc->type);
	struct atv_service *s;
	char *id = NULL, *name = NULL;
	int r = 0;

	if (!d->address && svc->address[0] && atv_strset(&d->address, svc->address) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	/* _sleep-proxy._udp only tells that a sleep proxy answers for the host */
	if (!proto)
		return 0;
	/* An Apple TV 3 announces DMAP twice (_touch-able and _appletv-v2, the
	 * latter with the Home Sharing id): the first gives port and id, later
	 * ones add what is missing. */
	s = atv_device_service(d, proto);
	if (!s) {
		if (!(s = atv_device_add_service(d, proto)))
			return atv_err_set(err, ATV_E_LIMIT, "too many services for one device");
		s->port = svc->port;
		if (svc->port == 0)
			sd->n_sleeping++;
	}
	service_identity(svc, proto, &id, &name);
	if (!s->identifier) {
		s->identifier = id;
	} else {
		free(id);
		id = NULL;
	}
	for (size_t i = 0; i < svc->n_txt; i++) {
		if (json_object_get(s->properties, svc->txt[i].key))
			continue;
		json_t *v = json_stringn(svc->txt[i].value, svc->txt[i].value_len);
		if (!v) {
			/* not UTF-8: binary TXT values have no place in a JSON config */
			atv_debug("%s: skipping non-UTF-8 TXT value of %s", svc->name, svc->txt[i].key);
			continue;
		}
		if (json_object_set_new(s->properties, svc->txt[i].key, v) < 0) {
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	/* Home Sharing: the hG TXT value is the login credential (as in pyatv). */
	if (strcmp(proto, "dmap") == 0 && !s->credentials && atv_dnssd_txt(svc, "hG") &&
	    atv_strset(&s->credentials, atv_dnssd_txt(svc, "hG")) < 0) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (id && (r = atv_device_add_id(d, id)) < 0) {
		r = atv_err_set(err, -r, "too many identifiers");
		goto out;
	}
	/* the name from the highest-precedence protocol wins (MRP's Name first) */
	if (name && *name && (!d->name || atv_protocol_rank(proto) < sd->name_rank)) {
		if (atv_strset(&d->name, name) < 0) {
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
			goto out;
		}
		sd->name_rank = atv_protocol_rank(proto);
	}
out:
	free(name);
	return r;
}

static const char *prop(const struct atv_device *d, const char *proto, const char *key)
{
	const struct atv_service *s = atv_device_service(d, proto);
	const char *k;
	json_t *v;

	if (!s || !s->properties)
		return NULL;
	/* TXT keys match case-insensitively */
	json_object_foreach(s->properties, k, v)
	{
		if (strcasecmp(k, key) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Leading decimal number of a build like "19A346" (-1 when none). */
static long build_major(const char *b)
{
	long n = 0;

	if (!b || !isdigit((unsigned char)*b))
		return -1;
	for (; isdigit((unsigned char)*b) && n < 100000; b++)
		n = n * 10 + (*b - '0');
	return n;
}

static const char *os_of_model(const char *m)
{
	if (!m)
		return NULL;
	/* Apple TV 1-3 run the pre-tvOS "Apple TV Software" (pyatv: Legacy) */
	if (strncmp(m, "AppleTV1,", 9) == 0 || strncmp(m, "AppleTV2,", 9) == 0 ||
	    strncmp(m, "AppleTV3,", 9) == 0)
		return "legacy";
	if (strncmp(m, "AppleTV", 7) == 0)
		return "tvos";
	if (strncmp(m, "AudioAccessory", 14) == 0)
		return "audioos";
	if (strncmp(m, "AirPort", 7) == 0)
		return "airportos";
	if (strncmp(m, "Mac", 3) == 0 || strncmp(m, "iMac", 4) == 0)
		return "macos";
	return NULL;
}

/* Members of the AirPlay service the config shows after "properties", in
 * this order (atv-tools(7)). */
static const char *const airplay_members[] = {"features", "airplay_version", "pairing",
					      "requires_password", "pairing_identity"};

/* The facts of the AirPlay service's TXT record (lib/airplay_info.h) as members
 * of the service.  A record they cannot be read from (malformed features
 * or flags) just goes without them: the scan still lists the device. */
static int airplay_facts(struct atv_service *s, struct atv_err *err)
{
	struct atv_airplay_info ai;
	struct atv_err e;
	char hex[2 + 16 + 1];
	json_t *v[5];
	size_t n = sizeof airplay_members / sizeof airplay_members[0];
	int r = 0;

	if (!s->extra && !(s->extra = json_object()))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		json_object_del(s->extra, airplay_members[i]);
	if (atv_airplay_info_parse(s->properties, &ai, &e) < 0) {
		atv_debug("%s: %s", s->identifier ? s->identifier : "?", e.msg);
		return 0;
	}
	snprintf(hex, sizeof hex, "0x%016" PRIX64, ai.features);
	v[0] = ai.has_features ? json_string(hex) : json_null();
	v[1] = json_integer(ai.version);
	v[2] = json_string(atv_airplay_pairing_name(ai.pairing));
	v[3] = json_boolean(ai.password);
	v[4] = ai.pairing_id ? json_string(ai.pairing_id) : json_null();
	for (size_t i = 0; i < n; i++)
		if (!v[i] || json_object_set_new(s->extra, airplay_members[i], v[i]) < 0)
			r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return r;
}

int atv_scan_finish(struct atv_scan_dev *sd, struct atv_err *err)
{
	struct atv_device *d = &sd->dev;
	struct atv_service *mrp = atv_device_service(d, "mrp");
	struct atv_service *airplay = atv_device_service(d, "airplay");
	const char *model, *os, *mac, *version, *build;
	int r = 0;

	model = prop(d, "airplay", "model");
	if (!model)
		model = prop(d, "companion", "rpMd");
	if (!model)
		model = prop(d, "raop", "am");
	os = os_of_model(model);
	if (!os && mrp)
		os = "tvos";
	version = prop(d, "airplay", "osvers");
	build = prop(d, "mrp", "SystemBuildVersion");
	mac = prop(d, "airplay", "deviceid");
	if (!mac)
		mac = prop(d, "mrp", "macAddress");
	if ((!d->info.model && atv_strset(&d->info.model, model) < 0) ||
	    (!d->info.operating_system && atv_strset(&d->info.operating_system, os) < 0) ||
	    (!d->info.version && atv_strset(&d->info.version, version) < 0) ||
	    (!d->info.build && atv_strset(&d->info.build, build) < 0) ||
	    (!d->info.mac && atv_strset(&d->info.mac, mac) < 0))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (char *p = d->info.mac; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);

	/* tvOS 15 (build 19xxx) still announces MRP but no longer serves it
	 * (pyatv #1357): keep the service, marked disabled. */
	if (mrp && build_major(build) >= 19)
		mrp->enabled = false;
	if (airplay && (r = airplay_facts(airplay, err)) < 0)
		return r;
	/* A sleep proxy answers for a sleeping device with port 0 everywhere. */
	d->deep_sleep = d->n_svcs > 0 && sd->n_sleeping == (int)d->n_svcs;
	if ((r = atv_device_pick_identifier(d)) < 0)
		return atv_err_set(err, -r, "out of memory");
	if (!d->name && d->address && atv_strset(&d->name, d->address) < 0)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

/* ---- the scan driver ---- */

struct scan_ctx {
	const struct atv_scan_opts *opts;
	atv_scan_cb cb;
	void *cb_ctx;
	struct atv_scan_dev *devs;
	size_t n_devs;
	bool found;   /* the device asked for by id was handed out */
	bool stop;
	int status;   /* first error (negative) */
	struct atv_err *err;
};

#define SCAN_MAX_DEVICES 1024

static bool wanted(const struct scan_ctx *c, const struct atv_device *d)
{
	return !c->opts->id || atv_device_has_id(d, c->opts->id);
}

/* Finish and hand out one device.  Returns nonzero to stop the scan. */
static int emit(struct scan_ctx *c, struct atv_scan_dev *sd)
{
	int r;

	if (sd->done)
		return 0;
	sd->done = true;
	if ((r = atv_scan_finish(sd, c->err)) < 0) {
		c->status = r;
		return 1;
	}
	if (!wanted(c, &sd->dev)) {
		/* more services may still add the identifier asked for */
		sd->done = false;
		return 0;
	}
	if (c->opts->id)
		c->found = true;
	if (c->cb(c->cb_ctx, &sd->dev) || c->opts->id) {
		c->stop = true;
		return 1;
	}
	return 0;
}

static int unicast_cb(void *ctx, const char *address, const struct atv_dnssd_svc *svcs, size_t n)
{
	struct scan_ctx *c = ctx;
	struct atv_scan_dev sd;
	struct atv_err e;
	int stop = 0;

	memset(&sd, 0, sizeof sd);
	if (atv_strset(&sd.dev.address, address) < 0) {
		c->status = atv_err_set(c->err, ATV_E_NOMEM, "out of memory");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (atv_scan_add(&sd, &svcs[i], &e) < 0) {
			/* a hostile answer for one device does not end the scan */
			atv_warn("%s: %s", address, e.msg);
			goto out;
		}
	}
	if (sd.dev.n_svcs > 0)
		stop = emit(c, &sd);
out:
	atv_device_release(&sd.dev);
	return stop;
}

static struct atv_scan_dev *dev_at(struct scan_ctx *c, const char *address)
{
	struct atv_scan_dev *n;

	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i].dev.address && strcmp(c->devs[i].dev.address, address) == 0)
			return &c->devs[i];
	if (c->n_devs >= SCAN_MAX_DEVICES)
		return NULL;
	n = realloc(c->devs, (c->n_devs + 1) * sizeof *n);
	if (!n)
		return NULL;
	c->devs = n;
	n = &c->devs[c->n_devs];
	memset(n, 0, sizeof *n);
	if (atv_strset(&n->dev.address, address) < 0)
		return NULL;
	c->n_devs++;
	return n;
}

static int browse_cb(void *ctx, const struct atv_dnssd_svc *svc)
{
	struct scan_ctx *c = ctx;
	struct atv_scan_dev *sd;
	struct atv_err e;

	if (!svc) {
		/* quiet: everything announced so far is resolved; hand it out */
		for (size_t i = 0; i < c->n_devs && !c->stop; i++)
			if (c->devs[i].dev.n_svcs > 0)
				emit(c, &c->devs[i]);
		/* without an id the scan is complete; with one, keep looking */
		return !c->opts->id || c->stop;
	}
	if (!svc->address[0])
		return 0;
	sd = dev_at(c, svc->address);
	if (!sd) {
		atv_warn("too many devices, ignoring %s", svc->address);
		return 0;
	}
	if (sd->done)
		return 0;
	if (atv_scan_add(sd, svc, &e) < 0)
		atv_warn("%s: %s", svc->address, e.msg);
	return 0;
}

int atv_scan(const struct atv_scan_opts *opts, atv_scan_cb cb, void *ctx, struct atv_err *err)
{
	struct scan_ctx c = {.opts = opts, .cb = cb, .cb_ctx = ctx, .err = err};
	int r;

	if (opts->n_hosts > 0)
		r = atv_unicast_scan(opts->hosts, opts->n_hosts, opts->timeout_ms, unicast_cb, &c,
				     err);
	else
		r = atv_browse(opts->timeout_ms, browse_cb, &c, err);
	/* at the timeout, hand out what a multicast scan has assembled so far */
	for (size_t i = 0; i < c.n_devs && !c.stop && c.status == 0; i++)
		if (c.devs[i].dev.n_svcs > 0)
			emit(&c, &c.devs[i]);
	for (size_t i = 0; i < c.n_devs; i++)
		atv_device_release(&c.devs[i].dev);
	free(c.devs);
	if (c.status < 0)
		return c.status;
	if (opts->id && c.found)
		return 0;
	if (r < 0)
		return r;
	if (opts->id)
		return atv_err_set(err, ATV_E_NOTFOUND, "device %s not found", opts->id);
	return 0;
}
