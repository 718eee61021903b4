/* backend.c - the table of backends, and what the facades share. */
#include "config.h"

#include <string.h>

#include "backend.h"
#include "banned.h"

/* In the order the facade prefers them when nothing else decides. */
static const struct atv_backend *const backends[] = {
    &atv_mrp_backend,
    &atv_dmap_backend,
    &atv_airplay_backend,
    &atv_companion_backend,
};

const struct atv_backend *atv_backend_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *atv_device_label(const struct atv_device *d)
{
	if (d->name && d->name[0])
		return d->name;
	if (d->identifier)
		return d->identifier;
	return d->address ? d->address : "the device";
}

bool atv_service_paired(const struct atv_service *s)
{
	return s && s->credentials && s->credentials[0];
}
