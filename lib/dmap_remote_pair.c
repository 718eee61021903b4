/* dmap_remote_pair.c - DMAP's pairing steps (backend.h's struct
 * atv_pairer), apart from dmap_remote.c so that only atv-pair links our
 * pairing HTTP server (dmap_pair_server.h, libmicrohttpd).
 *
 * Remote pairing turns the MRP order round: begin picks the PIN and the
 * GUID, starts our HTTP server and publishes _touch-remote._tcp; finish
 * waits until the device calls with the right code and returns
 * "0x<GUID>", pyatv's DMAP credential format. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "crypto.h"
#include "dmap_pair.h"
#ifdef HAVE_MHD
#include "dmap_pair_server.h"
#endif
#include "pair.h"
#include "banned.h"

#ifdef HAVE_MHD

#define DEFAULT_WAIT_MS 60000 /* for a person to find the settings and type the PIN */

struct dmap_pairing {
	struct atv_dmap_pair_server *server;
	uint64_t guid;
	char pin[5]; /* ours, 4 digits */
	char *device;
	int wait_ms;
};

static void dmap_pair_free(void *pp)
{
	struct dmap_pairing *p = pp;

	if (!p)
		return;
	atv_dmap_pair_server_free(p->server);
	free(p->device);
	atv_crypto_wipe(p, sizeof *p);
	free(p);
}

/* The device needs a dmap service (the credentials are stored under its
 * identifier) but is not contacted: it contacts us. */
static int dmap_pair_begin(const struct atv_device *d, const struct atv_service *svc,
			   const struct atv_pair_opts *o, void **out, struct atv_err *err)
{
	struct atv_dmap_pair_server_opts so = {0};
	struct dmap_pairing *p;
	unsigned pin;
	int r;

	(void)svc;
	*out = NULL;
	p = calloc(1, sizeof *p);
	if (!p || !(p->device = strdup(atv_device_label(d)))) {
		free(p);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	if (o && o->pin)
		r = atv_dmap_pin_parse(o->pin, &pin, err);
	else
		r = atv_dmap_pin_random(&pin, err);
	if (r == 0 && o && o->pairing_guid)
		r = atv_dmap_guid_parse(o->pairing_guid, &p->guid, err);
	else if (r == 0)
		r = atv_dmap_guid_random(&p->guid, err);
	if (r == -ATV_E_INPUT) {
		/* a PIN or GUID from the command line */
		r = -ATV_E_USAGE;
		if (err)
			err->code = ATV_E_USAGE;
	}
	if (r == 0) {
		snprintf(p->pin, sizeof p->pin, "%04u", pin);
		p->wait_ms = o && o->wait_ms > 0 ? o->wait_ms : DEFAULT_WAIT_MS;
		so.guid = p->guid;
		so.pin = pin;
		so.name = o && o->name ? o->name : "atv-tools";
		so.port = o ? o->port : 0;
		so.publish = true;
		r = atv_dmap_pair_server_start(&so, &p->server, err);
	}
	if (r < 0) {
		dmap_pair_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static const char *dmap_pair_pin(const void *pp)
{
	return ((const struct dmap_pairing *)pp)->pin;
}

static int dmap_pair_finish(void *pp, const char *pin, char **credentials, struct atv_err *err)
{
	struct dmap_pairing *p = pp;
	char s[ATV_DMAP_GUID_STRLEN];
	int r;

	(void)pin; /* ours, shown to the user: the device brings it */
	r = atv_dmap_pair_server_wait(p->server, p->wait_ms, err);
	if (r < 0) {
		atv_err_prefix(err, "%s", p->device);
		return r;
	}
	atv_dmap_guid_format(p->guid, s);
	*credentials = strdup(s);
	atv_crypto_wipe(s, sizeof s);
	return *credentials ? 0 : atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

/* The Apple TV's entry field takes exactly 4 digits; a GUID is "0x" and
 * at most 16 hex digits. */
static int dmap_pair_check(const struct atv_pair_opts *o, struct atv_err *err)
{
	uint64_t guid;

	if (!o)
		return 0;
	if (o->pin && (strlen(o->pin) != 4 || strspn(o->pin, "0123456789") != 4))
		return atv_err_set(err, ATV_E_USAGE, "a dmap pin is 4 digits");
	if (o->pairing_guid && atv_dmap_guid_parse(o->pairing_guid, &guid, err) < 0) {
		if (err)
			err->code = ATV_E_USAGE;
		return -ATV_E_USAGE;
	}
	return 0;
}

const struct atv_pairer atv_dmap_pairer = {
    .name = "dmap",
    .check = dmap_pair_check,
    .begin = dmap_pair_begin,
    .pin = dmap_pair_pin,
    .finish = dmap_pair_finish,
    .free = dmap_pair_free,
};
#else
/* Built without libmicrohttpd (configure said so): no server to answer
 * the device's pairing request, so -p dmap fails before anything starts. */
static int dmap_pair_unbuilt(const struct atv_pair_opts *o, struct atv_err *err)
{
	(void)o;
	return atv_err_set(err, ATV_E_UNSUPPORTED,
			   "dmap pairing is not in this build (configure found no libmicrohttpd)");
}

static int dmap_pair_begin(const struct atv_device *d, const struct atv_service *svc,
			   const struct atv_pair_opts *o, void **out, struct atv_err *err)
{
	(void)d;
	(void)svc;
	*out = NULL;
	return dmap_pair_unbuilt(o, err);
}

static void dmap_pair_free(void *p)
{
	(void)p;
}

const struct atv_pairer atv_dmap_pairer = {
    .name = "dmap",
    .check = dmap_pair_unbuilt,
    .begin = dmap_pair_begin,
    .free = dmap_pair_free,
};
#endif
