/* dnssd.h - one resolved DNS-SD service instance, as found by either
 * transport (avahi-client browsing or unicast mDNS).  The model layer
 * (dnssd_scan.c) turns lists of these into device configs. */
#ifndef ATV_DNSSD_H
#define ATV_DNSSD_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

/* Bounds on what a device may make us keep (hostile input). */
#define ATV_DNSSD_MAX_TXT 64       /* TXT key=value pairs per service */
#define ATV_DNSSD_MAX_TXT_LEN 255  /* one TXT string, per RFC 6763 */
#define ATV_DNSSD_MAX_SERVICES 64  /* services kept from one host */

struct atv_txt {
	char *key;   /* NUL-terminated, no '=' inside, never empty */
	char *value; /* NUL-terminated copy; value_len excludes the NUL */
	size_t value_len;
};

struct atv_dnssd_svc {
	char *type;    /* "_mediaremotetv._tcp" (no domain) */
	char *name;    /* instance label, unescaped UTF-8 ("Living Room") */
	char *host;    /* target host name "Living-Room.local", or NULL */
	char address[INET6_ADDRSTRLEN]; /* textual IPv4/IPv6, "" when unknown */
	uint16_t port; /* 0 when the device sleeps (sleep proxy answer) */
	struct atv_txt *txt;
	size_t n_txt;
};

/* Value of TXT key (matched case-insensitively, as pyatv does) or NULL. */
const char *atv_dnssd_txt(const struct atv_dnssd_svc *s, const char *key);

/* Add a TXT pair (copies). 0 or -ATV_E_NOMEM / -ATV_E_LIMIT. Keys are
 * unique: a repeated key keeps the first value (RFC 6763 6.4). */
int atv_dnssd_add_txt(struct atv_dnssd_svc *s, const char *key, const char *value,
		      size_t value_len);

/* Free everything s owns (not s itself) and zero it. */
void atv_dnssd_svc_release(struct atv_dnssd_svc *s);

/* Free n services and the array. */
void atv_dnssd_svcs_free(struct atv_dnssd_svc *svcs, size_t n);

#endif
