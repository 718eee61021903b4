/* dnssd_scan.h - finding devices: found DNS-SD services → device configs.
 *
 * atv_scan_add() merges the services of one device (one address) into one
 * config, with identifiers per protocol, device_info and deep sleep as
 * pyatv derives them; atv_scan() drives a unicast (hosts given) or a
 * multicast (avahi) scan and hands out finished devices. */
#ifndef ATV_DNSSD_SCAN_H
#define ATV_DNSSD_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "devconf.h"
#include "dnssd.h"
#include "err.h"
#include "dnssd_unicast.h"

/* Protocol name for a DNS-SD service type, or NULL when the type is not a
 * protocol (sleep proxy, unknown). */
const char *atv_scan_protocol(const char *type);

/* A device being assembled from its services. */
struct atv_scan_dev {
	struct atv_device dev;
	int name_rank; /* precedence of the protocol that gave dev.name */
	int n_sleeping; /* protocol services announced with port 0 */
	bool done;      /* already handed out */
};

/* Merge one found service into sd (the device at svc->address). */
int atv_scan_add(struct atv_scan_dev *sd, const struct atv_dnssd_svc *svc, struct atv_err *err);

/* Finish the device after its last service: identifier, device_info,
 * deep_sleep, tvOS 15+ MRP disabled. */
int atv_scan_finish(struct atv_scan_dev *sd, struct atv_err *err);

struct atv_scan_opts {
	const struct atv_hostport *hosts; /* unicast when n_hosts > 0 */
	size_t n_hosts;
	const char *id;  /* only this device; stop as soon as it is found */
	int timeout_ms;
};

/* Called for each device (valid during the call). Nonzero stops the scan. */
typedef int (*atv_scan_cb)(void *ctx, struct atv_device *d);

/* Scan.  With opts->id: -ATV_E_NOTFOUND when the device was not found
 * before the timeout. */
int atv_scan(const struct atv_scan_opts *opts, atv_scan_cb cb, void *ctx, struct atv_err *err);

#endif
