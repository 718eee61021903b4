/* dnssd_browse.h - multicast DNS-SD through avahi-client.
 *
 * Browses every Apple TV service type on all interfaces avahi uses,
 * resolves each instance and reports it.  The daemon is reached over
 * D-Bus (DBUS_SYSTEM_BUS_ADDRESS), so the network namespace of the
 * avahi-daemon decides where the queries go. */
#ifndef ATV_DNSSD_BROWSE_H
#define ATV_DNSSD_BROWSE_H

#include "dnssd.h"
#include "err.h"

/* Called with one resolved service (svc valid only during the call), or
 * with svc == NULL when the browse has gone quiet: every browser reported
 * ALL_FOR_NOW and no resolve is pending.  Return nonzero to end. */
typedef int (*atv_browse_cb)(void *ctx, const struct atv_dnssd_svc *svc);

/* Browse for up to timeout_ms. -ATV_E_UNREACHABLE when the avahi daemon
 * cannot be reached ("is avahi-daemon running?"). */
int atv_browse(int timeout_ms, atv_browse_cb cb, void *ctx, struct atv_err *err);

#endif
