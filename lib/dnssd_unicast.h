/* dnssd_unicast.h - unicast DNS-SD scan of given hosts (legacy unicast mDNS).
 *
 * For each host: knock (non-blocking TCP connects to 3689, 7000, 49152 and
 * 32498 to wake a sleeping device), then send the DNS-SD PTR queries for
 * every Apple TV service type straight to HOST:PORT (default 5353) from an
 * ephemeral UDP port, and resend every second until the host answers or
 * the timeout passes.  All hosts are asked in parallel with one poll loop. */
#ifndef ATV_DNSSD_UNICAST_H
#define ATV_DNSSD_UNICAST_H

#include <stdint.h>

#include "dnssd.h"
#include "err.h"

struct atv_hostport {
	char host[256]; /* name or address literal */
	uint16_t port;  /* mDNS port, 5353 by default */
};

/* Parse "HOST[:PORT]" / "[V6]:PORT". 0 or -ATV_E_USAGE. */
int atv_hostport_parse(const char *s, struct atv_hostport *hp, struct atv_err *err);

/* Called once per answering host with the services of its answer
 * (array valid only during the call; the callee copies what it keeps).
 * address is the host's textual address.  Return nonzero to end the scan. */
typedef int (*atv_unicast_cb)(void *ctx, const char *address, const struct atv_dnssd_svc *svcs,
			      size_t n);

/* Scan n hosts; returns when every host answered, when cb returns nonzero,
 * or after timeout_ms.  A host name that does not resolve is an error
 * (-ATV_E_NOTFOUND); a host that never answers is not. */
int atv_unicast_scan(const struct atv_hostport *hosts, size_t n, int timeout_ms, atv_unicast_cb cb,
		     void *ctx, struct atv_err *err);

#endif
