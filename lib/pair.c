/* pair.c - the pairing facade: finds the backend (backend.h) for the
 * protocol asked for, checks the device offers it, and runs the backend's
 * pairing steps.  Each protocol's exchange is in its backend's file:
 * mrp_remote.c (HAP pair-setup over CRYPTO_PAIRING), dmap_remote.c (our
 * Remote pairing server), airplay_player.c (HAP over /pair-setup),
 * companion_remote.c (HAP in Companion frames). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "pair.h"
#include "banned.h"

static const struct atv_pairer *const pairers[] = {
    &atv_mrp_pairer,
    &atv_dmap_pairer,
    &atv_airplay_pairer,
    &atv_companion_pairer,
};

struct atv_pairing {
	const struct atv_pairer *be;
	void *p;
	bool used;
};

static const struct atv_pairer *find(const char *protocol)
{
	for (size_t i = 0; protocol && i < sizeof pairers / sizeof pairers[0]; i++)
		if (strcmp(pairers[i]->name, protocol) == 0)
			return pairers[i];
	return NULL;
}

int atv_pair_check(const char *protocol, const struct atv_pair_opts *o, struct atv_err *err)
{
	const struct atv_pairer *be = find(protocol);

	if (!be)
		return atv_err_set(
		    err, ATV_E_USAGE,
		    "pairing %s is not supported (mrp, dmap, airplay and companion are)",
		    protocol ? protocol : "(none)");
	if (be->check)
		return be->check(o, err);
	if (o && (o->pairing_guid || o->port))
		return atv_err_set(err, ATV_E_USAGE, "--pairing-guid and --port are for -p dmap");
	return 0;
}

int atv_pair_begin(const struct atv_device *d, const char *protocol, const struct atv_pair_opts *o,
		   struct atv_pairing **out, struct atv_err *err)
{
	const struct atv_pairer *be = find(protocol);
	const struct atv_service *svc;
	const char *name = atv_device_label(d);
	struct atv_pairing *p;
	int r;

	*out = NULL;
	if (!be)
		return atv_pair_check(protocol, o, err);
	if (!(svc = atv_device_service(d, be->name)))
		return atv_err_set(err, ATV_E_UNSUPPORTED, "%s has no %s service%s", name, be->name,
				   be == &atv_dmap_pairer ? " (is home sharing on?)" : "");
	/* DMAP's device calls us: its address does not matter */
	if (be != &atv_dmap_pairer && (!d->address || !d->address[0]))
		return atv_err_set(err, ATV_E_UNREACHABLE, "no address known for %s", name);
	if (!(p = calloc(1, sizeof *p)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	p->be = be;
	atv_info("pairing with %s over %s (%s port %d)", name, be->name,
		 d->address && d->address[0] ? d->address : "?", svc->port);
	r = be->begin(d, svc, o, &p->p, err);
	if (r < 0) {
		free(p);
		return r;
	}
	*out = p;
	atv_info(be->pin && be->pin(p->p) ? "pairing started: the device calls back when its user "
					    "types our pin"
					  : "pairing started: the device shows a pin now");
	return 0;
}

const char *atv_pair_pin(const struct atv_pairing *p)
{
	return p->be->pin(p->p);
}

int atv_pair_finish(struct atv_pairing *p, const char *pin, char **credentials, struct atv_err *err)
{
	int r;

	*credentials = NULL;
	if (p->used)
		return atv_err_set(err, ATV_E_USAGE, "pairing already finished");
	p->used = true;
	atv_info("%s pairing: %s", p->be->name,
		 p->be->pin && p->be->pin(p->p) ? "waiting for the device to call with the pin"
						: "checking the pin with the device");
	r = p->be->finish(p->p, pin, credentials, err);
	if (r == 0)
		atv_info("%s pairing: done", p->be->name);
	return r;
}

json_t *atv_pair_stored(const struct atv_pairing *p)
{
	return p->used && p->be->stored ? p->be->stored(p->p) : NULL;
}

void atv_pair_free(struct atv_pairing *p)
{
	if (!p)
		return;
	p->be->free(p->p);
	free(p);
}
