/* dnssd_packet.c - mDNS / DNS-SD packets through glibc's libresolv.
 *
 * Queries are written with dn_comp; answers are walked with ns_initparse and
 * ns_parserr, and names inside rdata are read with ns_name_unpack, which
 * rejects compression loops, pointers outside the packet and names longer
 * than 255 bytes.  Names are compared and split in uncompressed wire form
 * (length-prefixed labels), never in the escaped presentation form: a
 * DNS-SD instance label is free UTF-8 and may hold dots and spaces
 * (RFC 6763 4.3). */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <limits.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "dnssd.h"
#include "err.h"
#include "dnssd_packet.h"
#include "banned.h"

const char *const atv_mdns_service_types[] = {
	"_mediaremotetv._tcp", "_touch-able._tcp", "_appletv-v2._tcp",
	"_hscp._tcp",          "_airplay._tcp",    "_raop._tcp",
	"_companion-link._tcp", "_sleep-proxy._udp", NULL,
};

#define MDNS_HDRLEN 12
/* RFC 6762 5.4: the top bit of a question's class asks for a unicast reply */
#define MDNS_QU 0x8000
/* RFC 6762 10.2: the top bit of a record's class is the cache-flush bit */
#define MDNS_CLASS_MASK 0x7fff
/* "_service._proto": service names have at most 15 bytes (RFC 6335 5.1) */
#define MDNS_TYPE_MAXLEN 64

/* One record of interest, names in uncompressed wire form. */
struct mrec {
	uint16_t type;
	uint8_t owner[NS_MAXCDNAME];
	union {
		uint8_t target[NS_MAXCDNAME]; /* PTR, SRV */
		struct {                      /* TXT, A, AAAA: points into the packet */
			const uint8_t *rdata;
			uint16_t rdlen;
		} raw;
	} u;
	uint16_t port; /* SRV */
};

/* A DNS-SD instance found in the packet. */
struct inst {
	const uint8_t *name;         /* wire form, inside one of the mrecs */
	char type[MDNS_TYPE_MAXLEN]; /* lowercase "_service._proto" */
};

static int malformed(struct atv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int malformed(struct atv_err *err, const char *fmt, ...)
{
	char what[ATV_ERR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return atv_err_set(err, ATV_E_PROTO, "malformed mdns answer: %s", what);
}

static int build_one(const char *type, bool qu, uint8_t *out, size_t cap, size_t *off,
		     unsigned char **dnptrs, unsigned char **lastdnptr, struct atv_err *err)
{
	char name[NS_MAXDNAME];
	uint8_t check[NS_MAXCDNAME];
	int r;

	if (!type || !*type)
		return atv_err_set(err, ATV_E_USAGE, "empty mdns service type");
	r = snprintf(name, sizeof name, "%s.local", type);
	if (r < 0 || (size_t)r >= sizeof name || ns_name_pton(name, check, sizeof check) < 0)
		return atv_err_set(err, ATV_E_USAGE, "invalid mdns service type '%s'", type);
	if (cap - *off > INT_MAX)
		cap = *off + INT_MAX;
	r = dn_comp(name, out + *off, (int)(cap - *off), dnptrs, lastdnptr);
	if (r < 0 || cap - *off - (size_t)r < 4)
		return atv_err_set(err, ATV_E_LIMIT, "mdns query does not fit in %zu bytes", cap);
	*off += (size_t)r;
	atv_put_be16(out + *off, ns_t_ptr);
	atv_put_be16(out + *off + 2, (uint16_t)(ns_c_in | (qu ? MDNS_QU : 0)));
	*off += 4;
	return 0;
}

int atv_mdns_build_query(const char *const *types, size_t n, bool unicast_response, uint16_t id,
			 uint8_t *out, size_t cap, size_t *outlen, struct atv_err *err)
{
	/* dn_comp remembers where earlier names start so later ones can point
	 * at their common suffix ("_tcp.local"). */
	unsigned char *dnptrs[32];
	size_t off = MDNS_HDRLEN;
	int r;

	*outlen = 0;
	if (n > UINT16_MAX || (n && !types))
		return atv_err_set(err, ATV_E_USAGE, "bad number of mdns service types: %zu", n);
	if (cap < MDNS_HDRLEN)
		return atv_err_set(err, ATV_E_LIMIT, "mdns query does not fit in %zu bytes", cap);
	memset(out, 0, MDNS_HDRLEN);
	atv_put_be16(out, id);
	atv_put_be16(out + 4, (uint16_t)n); /* QDCOUNT; flags 0: standard query (RFC 6762 18) */
	dnptrs[0] = out;
	dnptrs[1] = NULL;
	for (size_t i = 0; i < n; i++) {
		r = build_one(types[i], unicast_response, out, cap, &off, dnptrs,
			      dnptrs + sizeof dnptrs / sizeof *dnptrs, err);
		if (r < 0)
			return r;
	}
	*outlen = off;
	return 0;
}

/* Append the wire form of "<name>.<type>.local" to out at *off.  The
 * instance label is written raw: it may hold dots and spaces. */
static int put_instance_name(const struct atv_dnssd_svc *s, uint8_t *out, size_t cap,
			     size_t *off, struct atv_err *err)
{
	const char *labels[4], *dot;
	size_t lens[4];

	if (!s->name || !s->type || !(dot = strchr(s->type, '.')) || strchr(dot + 1, '.'))
		return atv_err_set(err, ATV_E_USAGE, "invalid dns-sd instance to resolve");
	labels[0] = s->name;
	lens[0] = strlen(s->name);
	labels[1] = s->type;
	lens[1] = (size_t)(dot - s->type);
	labels[2] = dot + 1;
	lens[2] = strlen(dot + 1);
	labels[3] = "local";
	lens[3] = 5;
	for (size_t i = 0; i < 4; i++) {
		if (!lens[i] || lens[i] > NS_MAXLABEL)
			return atv_err_set(err, ATV_E_USAGE, "invalid dns-sd instance to resolve");
		if (cap - *off < 1 + lens[i])
			return atv_err_set(err, ATV_E_LIMIT,
					   "mdns query does not fit in %zu bytes", cap);
		out[(*off)++] = (uint8_t)lens[i];
		memcpy(out + *off, labels[i], lens[i]);
		*off += lens[i];
	}
	if (cap - *off < 1)
		return atv_err_set(err, ATV_E_LIMIT, "mdns query does not fit in %zu bytes", cap);
	out[(*off)++] = 0;
	return 0;
}

int atv_mdns_build_resolve_query(const struct atv_dnssd_svc *const *svcs, size_t n,
				 bool unicast_response, uint16_t id, uint8_t *out, size_t cap,
				 size_t *outlen, struct atv_err *err)
{
	uint16_t cls = (uint16_t)(ns_c_in | (unicast_response ? MDNS_QU : 0));
	size_t off = MDNS_HDRLEN, name_at;
	int r;

	*outlen = 0;
	if (n > UINT16_MAX / 2 || (n && !svcs))
		return atv_err_set(err, ATV_E_USAGE, "bad number of instances to resolve: %zu", n);
	if (cap < MDNS_HDRLEN)
		return atv_err_set(err, ATV_E_LIMIT, "mdns query does not fit in %zu bytes", cap);
	memset(out, 0, MDNS_HDRLEN);
	atv_put_be16(out, id);
	atv_put_be16(out + 4, (uint16_t)(2 * n));
	for (size_t i = 0; i < n; i++) {
		name_at = off;
		r = put_instance_name(svcs[i], out, cap, &off, err);
		if (r < 0)
			return r;
		/* SRV question, then TXT with a pointer to the same name */
		if (cap - off < 4 + 2 + 4 || name_at > 0x3fff)
			return atv_err_set(err, ATV_E_LIMIT,
					   "mdns query does not fit in %zu bytes", cap);
		atv_put_be16(out + off, ns_t_srv);
		atv_put_be16(out + off + 2, cls);
		atv_put_be16(out + off + 4, (uint16_t)(0xc000 | name_at));
		atv_put_be16(out + off + 6, ns_t_txt);
		atv_put_be16(out + off + 8, cls);
		off += 10;
	}
	*outlen = off;
	return 0;
}

/* --- names in wire form ------------------------------------------------ */

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Names below come from ns_name_unpack or ns_name_pton: well formed, with
 * plain labels only and at most NS_MAXCDNAME bytes, so walking them needs
 * no further checks. */
static const uint8_t *wire_next(const uint8_t *n)
{
	return *n ? n + 1 + *n : n;
}

/* Case-insensitive equality (RFC 6762 16: names compare ASCII
 * case-insensitively; other bytes must match exactly). */
static bool wire_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		for (uint8_t i = 1; i <= *a; i++)
			if (ascii_lower(a[i]) != ascii_lower(b[i]))
				return false;
		a = wire_next(a);
		b = wire_next(b);
	}
}

static bool label_is(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);

	if (*l != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(l[1 + i]) != (uint8_t)s[i])
			return false;
	return true;
}

/* Does n start with "_service._tcp" / "_service._udp" followed by at least
 * one domain label (RFC 6763 7)?  Then write the lowercase type. */
static bool split_type(const uint8_t *n, char type[MDNS_TYPE_MAXLEN])
{
	const uint8_t *proto = wire_next(n);
	size_t len = *n;

	if (len < 2 || len + 5 >= MDNS_TYPE_MAXLEN || n[1] != '_')
		return false;
	if (!label_is(proto, "_tcp") && !label_is(proto, "_udp"))
		return false;
	if (!*wire_next(proto))
		return false;
	for (size_t i = 0; i < len; i++) {
		/* a dot or NUL inside the service label is not a service type */
		if (n[1 + i] == '.' || n[1 + i] == '\0')
			return false;
		type[i] = (char)ascii_lower(n[1 + i]);
	}
	type[len] = '.';
	for (size_t i = 0; i < 4; i++)
		type[len + 1 + i] = (char)ascii_lower(proto[1 + i]);
	type[len + 5] = '\0';
	return true;
}

static bool type_wanted(const char *type, const char *const *types)
{
	if (!types)
		return true;
	for (; *types; types++)
		if (strcasecmp(type, *types) == 0)
			return true;
	return false;
}

/* --- reading records ------------------------------------------------- */

/* Unpack the name at src, which must start and (before any compression
 * pointer) end inside rdata[0..rdlen). */
static int rdata_name(const ns_msg *msg, const uint8_t *src, const uint8_t *rdata, size_t rdlen,
		      uint8_t dst[NS_MAXCDNAME])
{
	int r;

	if (src >= rdata + rdlen)
		return -1;
	r = ns_name_unpack(ns_msg_base(*msg), ns_msg_end(*msg), src, dst, NS_MAXCDNAME);
	if (r < 0 || (size_t)r > (size_t)(rdata + rdlen - src))
		return -1;
	return 0;
}

static const char *const section_names[] = {
	[ns_s_an] = "answer", [ns_s_ns] = "authority", [ns_s_ar] = "additional",
};

/* Parse one record into m.  1: kept, 0: not of interest, <0: malformed. */
static int read_record(ns_msg *msg, ns_sect sect, int i, struct mrec *m, struct atv_err *err)
{
	const char *sn = section_names[sect];
	const uint8_t *rd;
	uint16_t rdlen;
	ns_rr rr;

	if (ns_parserr(msg, sect, i, &rr) < 0)
		return malformed(err, "bad record %d in the %s section", i, sn);
	if ((ns_rr_class(rr) & MDNS_CLASS_MASK) != ns_c_in)
		return 0;
	rd = ns_rr_rdata(rr);
	rdlen = ns_rr_rdlen(rr);
	m->type = ns_rr_type(rr);
	switch (m->type) {
	case ns_t_ptr:
	case ns_t_srv:
	case ns_t_txt:
	case ns_t_a:
	case ns_t_aaaa:
		break;
	default:
		return 0;
	}
	/* ns_parserr hands the owner name back escaped (RFC 1035 5.1
	 * presentation form: "a\.b", "Living\032Room"); ns_name_pton undoes
	 * exactly that escaping, giving the raw labels back. */
	if (ns_name_pton(ns_rr_name(rr), m->owner, sizeof m->owner) < 0)
		return malformed(err, "bad owner name of record %d in the %s section", i, sn);
	switch (m->type) {
	case ns_t_ptr:
		if (rdata_name(msg, rd, rd, rdlen, m->u.target) < 0)
			return malformed(err, "bad ptr target in record %d of the %s section", i,
					 sn);
		break;
	case ns_t_srv:
		/* priority, weight, port, then a target name of at least one byte */
		if (rdlen < 7)
			return malformed(err, "srv record of %u bytes in the %s section",
					 (unsigned)rdlen, sn);
		m->port = atv_get_be16(rd + 4);
		if (rdata_name(msg, rd + 6, rd, rdlen, m->u.target) < 0)
			return malformed(err, "bad srv target in record %d of the %s section", i,
					 sn);
		break;
	case ns_t_a:
	case ns_t_aaaa:
		if (rdlen != (m->type == ns_t_a ? 4 : 16))
			return malformed(err, "%s record of %u bytes in the %s section",
					 m->type == ns_t_a ? "a" : "aaaa", (unsigned)rdlen, sn);
		/* fall through */
	default:
		m->u.raw.rdata = rd;
		m->u.raw.rdlen = rdlen;
		break;
	}
	return 1;
}

/* Check the TXT rdata's framing (RFC 1035 3.3.14: one or more
 * <character-string>s, each a length byte then that many bytes). */
static int txt_check(const struct mrec *m, struct atv_err *err)
{
	const uint8_t *p = m->u.raw.rdata, *end = p + m->u.raw.rdlen;

	while (p < end) {
		if (*p >= end - p)
			return malformed(err, "txt string of %u bytes overruns its record", *p);
		p += 1 + *p;
	}
	return 0;
}

/* Read every PTR/SRV/TXT/A/AAAA record of the three answer sections. */
static int read_records(ns_msg *msg, struct mrec **out, size_t *n, struct atv_err *err)
{
	static const ns_sect sects[] = {ns_s_an, ns_s_ns, ns_s_ar};
	size_t total = 0, k = 0;
	struct mrec *m;
	int r;

	for (size_t s = 0; s < 3; s++)
		total += ns_msg_count(*msg, sects[s]);
	*out = NULL;
	*n = 0;
	if (!total)
		return 0;
	/* ns_initparse walked every record, so total is bounded by the
	 * packet size (a record takes at least 11 bytes) */
	m = malloc(total * sizeof *m);
	if (!m)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	for (size_t s = 0; s < 3; s++) {
		for (int i = 0; i < ns_msg_count(*msg, sects[s]); i++) {
			r = read_record(msg, sects[s], i, &m[k], err);
			if (r < 0)
				goto fail;
			if (r == 0)
				continue;
			if (m[k].type == ns_t_txt && (r = txt_check(&m[k], err)) < 0)
				goto fail;
			k++;
		}
	}
	*out = m;
	*n = k;
	return 0;
fail:
	free(m);
	return r;
}

/* --- assembling services ---------------------------------------------- */

static void add_inst(struct inst *insts, size_t *ninst, const uint8_t *name,
		     const char *const *types)
{
	const uint8_t *l0 = name;
	char type[MDNS_TYPE_MAXLEN];

	if (*ninst >= ATV_DNSSD_MAX_SERVICES || !*l0)
		return;
	/* the instance label is free text but cannot carry a NUL into a C string */
	if (memchr(l0 + 1, '\0', *l0))
		return;
	if (!split_type(wire_next(l0), type) || !type_wanted(type, types))
		return;
	for (size_t i = 0; i < *ninst; i++)
		if (wire_eq(insts[i].name, name))
			return;
	insts[*ninst].name = name;
	memcpy(insts[*ninst].type, type, sizeof type);
	(*ninst)++;
}

/* Collect instances: PTR targets under their service type first (the usual
 * answer to a browse), then owners of SRV/TXT records that came without a
 * PTR (a responder may answer the instance directly). */
static size_t find_instances(const struct mrec *m, size_t n, const char *const *types,
			     struct inst *insts)
{
	size_t ninst = 0;

	for (size_t i = 0; i < n; i++) {
		/* RFC 6763 4.1: the target is <Instance>.<Service>.<Domain>,
		 * the owner is <Service>.<Domain> */
		if (m[i].type == ns_t_ptr && *m[i].u.target &&
		    wire_eq(wire_next(m[i].u.target), m[i].owner))
			add_inst(insts, &ninst, m[i].u.target, types);
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].type == ns_t_srv || m[i].type == ns_t_txt)
			add_inst(insts, &ninst, m[i].owner, types);
	return ninst;
}

static const struct mrec *find_rec(const struct mrec *m, size_t n, uint16_t type,
				   const uint8_t *owner)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].type == type && wire_eq(m[i].owner, owner))
			return &m[i];
	return NULL;
}

/* The address of host: its first A record, else its first AAAA record
 * that is not link-local (useless without the interface it came on; the
 * caller then falls back to the packet's source address). */
static void find_address(const struct mrec *m, size_t n, const uint8_t *host,
			 char addr[INET6_ADDRSTRLEN])
{
	const struct mrec *r = find_rec(m, n, ns_t_a, host);

	if (r) {
		inet_ntop(AF_INET, r->u.raw.rdata, addr, INET6_ADDRSTRLEN);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].type != ns_t_aaaa || !wire_eq(m[i].owner, host))
			continue;
		if (m[i].u.raw.rdata[0] == 0xfe && (m[i].u.raw.rdata[1] & 0xc0) == 0x80)
			continue;
		inet_ntop(AF_INET6, m[i].u.raw.rdata, addr, INET6_ADDRSTRLEN);
		return;
	}
}

/* RFC 6763 6.3-6.4: each string is "key=value" or a boolean "key"; an
 * empty string or one starting with '=' is ignored, and the first
 * occurrence of a key wins (atv_dnssd_add_txt keeps it). */
static int fill_txt(struct atv_dnssd_svc *s, const struct mrec *t)
{
	const uint8_t *p = t->u.raw.rdata, *end = p + t->u.raw.rdlen;
	char key[ATV_DNSSD_MAX_TXT_LEN + 1];

	for (; p < end; p += 1 + *p) {
		const uint8_t *str = p + 1, *eq;
		size_t len = *p, klen;
		int r;

		if (!len || memchr(str, '\0', len))
			continue;
		eq = memchr(str, '=', len);
		klen = eq ? (size_t)(eq - str) : len;
		if (!klen)
			continue;
		memcpy(key, str, klen);
		key[klen] = '\0';
		r = eq ? atv_dnssd_add_txt(s, key, (const char *)eq + 1, len - klen - 1)
		       : atv_dnssd_add_txt(s, key, "", 0);
		if (r == -ATV_E_LIMIT)
			break; /* keep the first ATV_DNSSD_MAX_TXT pairs */
		if (r < 0)
			return r;
	}
	return 0;
}

static char *host_name(const uint8_t *wire)
{
	char buf[NS_MAXDNAME];

	if (!*wire || ns_name_ntop(wire, buf, sizeof buf) < 0)
		return NULL;
	return strdup(buf);
}

static int fill_svc(struct atv_dnssd_svc *s, const struct inst *in, const struct mrec *m,
		    size_t n)
{
	const struct mrec *srv = find_rec(m, n, ns_t_srv, in->name);
	const struct mrec *txt = find_rec(m, n, ns_t_txt, in->name);

	s->type = strdup(in->type);
	s->name = strndup((const char *)in->name + 1, *in->name);
	if (!s->type || !s->name)
		return -ATV_E_NOMEM;
	if (srv) {
		s->port = srv->port;
		/* a target of "." means the service is not offered (RFC 2782) */
		if (*srv->u.target) {
			s->host = host_name(srv->u.target);
			if (!s->host)
				return -ATV_E_NOMEM;
			find_address(m, n, srv->u.target, s->address);
		}
	}
	if (txt)
		return fill_txt(s, txt);
	return 0;
}

int atv_mdns_parse_response(const uint8_t *p, size_t len, const char *const *types,
			    struct atv_dnssd_svc **out, size_t *n, struct atv_err *err)
{
	struct atv_dnssd_svc *svcs = NULL;
	struct inst insts[ATV_DNSSD_MAX_SERVICES];
	struct mrec *m = NULL;
	size_t nrec = 0, ninst, k = 0;
	ns_msg msg;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (len < MDNS_HDRLEN)
		return malformed(err, "%zu bytes is shorter than a dns header", len);
	if (len > ATV_MDNS_MAX_PACKET)
		return malformed(err, "%zu bytes is more than the %d an mdns packet may have", len,
				 ATV_MDNS_MAX_PACKET);
	if (!(p[2] & 0x80))
		return malformed(err, "a query, not a response (qr bit clear)");
	/* RFC 6762 18.3, 18.11: a non-zero opcode or rcode is silently ignored */
	if ((p[2] & 0x78) || (p[3] & 0x0f))
		return 0;
	if (ns_initparse(p, (int)len, &msg) < 0)
		return malformed(err, "record counts do not match the packet length");
	r = read_records(&msg, &m, &nrec, err);
	if (r < 0)
		return r;
	ninst = find_instances(m, nrec, types, insts);
	if (!ninst)
		goto out;
	svcs = calloc(ninst, sizeof *svcs);
	if (!svcs) {
		r = -ATV_E_NOMEM;
		goto out;
	}
	for (k = 0; k < ninst; k++) {
		r = fill_svc(&svcs[k], &insts[k], m, nrec);
		if (r < 0) {
			k++;
			goto out;
		}
	}
	*out = svcs;
	*n = ninst;
	svcs = NULL;
	k = 0;
out:
	if (r == -ATV_E_NOMEM)
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_dnssd_svcs_free(svcs, k);
	free(m);
	return r;
}
