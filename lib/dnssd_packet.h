/* dnssd_packet.h - mDNS / DNS-SD packets through glibc's libresolv.
 *
 * Building queries and turning a response packet into resolved service
 * instances.  Pure: bytes in, structures out, no sockets.  Every length in
 * a packet is checked; compression loops and names pointing outside the
 * packet are rejected by libresolv's dn_expand and reported as
 * -ATV_E_PROTO. */
#ifndef ATV_DNSSD_PACKET_H
#define ATV_DNSSD_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnssd.h"
#include "err.h"

#define ATV_MDNS_MAX_PACKET 9000 /* RFC 6762 17: at most 9000 bytes */
#define ATV_MDNS_PORT 5353

/* The service types an Apple TV scan asks for (NULL-terminated), with
 * ".local" appended when queried. */
extern const char *const atv_mdns_service_types[];

/* Build one query packet asking PTR for each of the n service types
 * (e.g. "_airplay._tcp"; ".local" is appended).  unicast_response sets the
 * QU bit (class 0x8001).  Writes at most cap bytes to out, *outlen = size.
 * 0, or -ATV_E_LIMIT when it does not fit / -ATV_E_USAGE for a bad name. */
int atv_mdns_build_query(const char *const *types, size_t n, bool unicast_response, uint16_t id,
			 uint8_t *out, size_t cap, size_t *outlen, struct atv_err *err);

/* Build one query asking SRV and TXT (RFC 6763 12: what resolving an
 * instance needs) for each of the n instances "<name>.<type>.local" --
 * for an answer that named instances by PTR only.  Same conventions as
 * atv_mdns_build_query; -ATV_E_USAGE for a name or type that is not one
 * DNS label / "_service._proto". */
int atv_mdns_build_resolve_query(const struct atv_dnssd_svc *const *svcs, size_t n,
				 bool unicast_response, uint16_t id, uint8_t *out, size_t cap,
				 size_t *outlen, struct atv_err *err);

/* Parse a response packet and return every service instance it fully or
 * partly describes: PTR → instance; SRV → host and port; TXT → pairs;
 * A/AAAA of the SRV target → address.  When no A/AAAA record matches,
 * address is left "" (the caller uses the packet's source address).
 * Only instances of the service types asked about are kept if types is
 * non-NULL (NULL-terminated list), otherwise all.  On success *out is a
 * malloc'd array of *n services (free with atv_dnssd_svcs_free), possibly
 * empty (*out NULL, *n 0).  A query packet (QR=0) gives -ATV_E_PROTO.
 * Details: an instance answered by SRV/TXT without a PTR counts too; a
 * PTR-only instance has host NULL and port 0; the first SRV and the first
 * TXT record of an instance are used; an A record beats AAAA, link-local
 * AAAA is ignored; at most ATV_DNSSD_MAX_SERVICES instances and
 * ATV_DNSSD_MAX_TXT pairs each are kept (the rest silently dropped);
 * instance labels and TXT strings holding a NUL byte are skipped, other
 * bytes are kept as sent (not checked for UTF-8).  A non-zero opcode or
 * rcode gives 0 services (RFC 6762 18.3, 18.11); any malformed record
 * (bad name, short rdata) gives -ATV_E_PROTO "malformed mdns answer: ..." */
int atv_mdns_parse_response(const uint8_t *p, size_t len, const char *const *types,
			    struct atv_dnssd_svc **out, size_t *n, struct atv_err *err);

#endif
