/* mdns-responder.c - the fake Apple TV's mDNS responder.
 *
 * Answers DNS-SD queries for the device's services the way an Apple TV's
 * mDNSResponder does:
 * - legacy unicast (query from a port other than 5353, RFC 6762 6.7): reply
 *   to the sender with the query's ID, the questions repeated, TTL 10 and no
 *   cache-flush bits; this is what unicast scans (pyatv -s, atv-scan -s) see;
 * - multicast (query from port 5353): reply to 224.0.0.251:5353, or to the
 *   sender when every question has the QU bit (RFC 6762 5.4) or the query
 *   came by unicast, with ID 0, no questions, normal TTLs and the cache-flush
 *   bit on unique records (RFC 6762 10.2, 18.1).
 * A PTR answer carries SRV, TXT and A in the additional section (RFC 6763
 * 12), so one reply resolves a service.  Names are built as labels in wire
 * form, never through presentation-format escaping, because instance names
 * hold spaces, dots and UTF-8; libresolv's ns_name_pack compresses them. */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "fake.h"
#include "log.h"
#include "dnssd_packet.h"

#define MDNS_GROUP "224.0.0.251"
#define MAX_SOCKS 16
#define MAX_QUESTIONS 64 /* more questions in one query are ignored */
#define MAX_RECS (4 * FAKE_MAX_SERVICES + 2)
#define MAX_PKT_RECS 512 /* records in one built packet (many-services: 300) */
#define MANY_SERVICES 300

/* RFC 6762 6.7: legacy unicast answers carry a TTL of at most 10 s. */
#define TTL_LEGACY 10
/* RFC 6762 10: 120 s for records that name a host, 75 min for the rest. */
#define TTL_HOST 120
#define TTL_OTHER 4500
#define CLASS_FLUSH 0x8000 /* cache-flush bit in a record's class */
#define CLASS_QU 0x8000    /* unicast-response bit in a question's class */

struct wname {
	uint8_t b[NS_MAXCDNAME];
	size_t len;
};

struct svc_names {
	struct wname type; /* "_airplay._tcp.local" */
	struct wname inst; /* "Living Room._airplay._tcp.local" */
};

struct sock {
	struct fake_mdns *m;
	int fd;
	bool multicast;         /* the 224.0.0.251 socket, else legacy only */
	struct in_addr address; /* what A records say on this socket */
	char label[64];         /* "127.0.0.2:5353", for logs */
};

struct fake_mdns {
	struct fake_loop *loop;
	const struct fake_device *dev;
	struct fake_mdns_opts opts;
	struct svc_names *names; /* one per dev->svcs */
	struct wname host;       /* "<host>.local" */
	struct wname meta;       /* "_services._dns-sd._udp.local" */
	struct sock socks[MAX_SOCKS];
	size_t n_socks;
	uint32_t rng; /* xorshift state: hostile garbage is reproducible */
};

enum rec_kind { REC_PTR, REC_META, REC_SRV, REC_TXT, REC_A };

struct rec {
	enum rec_kind kind;
	size_t svc; /* index into dev->svcs (unused for REC_A) */
};

struct plan {
	struct rec an[MAX_RECS], ad[MAX_RECS];
	size_t n_an, n_ad;
};

struct question {
	struct wname name;
	uint16_t type, cls;
};

struct query {
	uint16_t id;
	struct question q[MAX_QUESTIONS];
	size_t n_q;
	bool all_qu;
	bool known_ptr[FAKE_MAX_SERVICES]; /* known-answer suppression (RFC 6762 7.1) */
};

/* How the reply is shaped, from where the query came. */
struct shape {
	bool legacy; /* legacy unicast: ID, questions, TTL 10, no cache-flush */
	uint16_t id;
};

struct pkt {
	uint8_t buf[ATV_MDNS_MAX_PACKET];
	size_t len;
	const uint8_t *dnptrs[256]; /* ns_name_pack's compression table */
	size_t rec_start[MAX_PKT_RECS];
	size_t n_recs;
	uint16_t qd, an, ad;
	bool tc;
};

static const char *const hostile_names[FAKE_HOSTILE_MAX] = {
	[FAKE_HOSTILE_NONE] = "none",
	[FAKE_HOSTILE_TRUNCATED] = "truncated",
	[FAKE_HOSTILE_LOOP] = "loop",
	[FAKE_HOSTILE_POINTER_PAST_END] = "pointer-past-end",
	[FAKE_HOSTILE_LYING_RDLENGTH] = "lying-rdlength",
	[FAKE_HOSTILE_HUGE_COUNT] = "huge-count",
	[FAKE_HOSTILE_GARBAGE] = "garbage",
	[FAKE_HOSTILE_QUERY] = "query",
	[FAKE_HOSTILE_LONG_TXT] = "long-txt",
	[FAKE_HOSTILE_MANY_SERVICES] = "many-services",
};

int fake_hostile_parse(const char *name)
{
	for (int i = 1; i < FAKE_HOSTILE_MAX; i++)
		if (strcmp(name, hostile_names[i]) == 0)
			return i;
	return -1;
}

const char *fake_hostile_names(void)
{
	return "truncated, loop, pointer-past-end, lying-rdlength, huge-count, garbage, query, "
	       "long-txt, many-services";
}

/* ---- names in wire form ---- */

static int wname_add_label(struct wname *w, const void *label, size_t n)
{
	/* keep room for the root label */
	if (n == 0 || n > FAKE_MAX_LABEL || w->len + 1 + n + 1 > sizeof w->b)
		return -1;
	w->b[w->len++] = (uint8_t)n;
	memcpy(w->b + w->len, label, n);
	w->len += n;
	return 0;
}

/* Append the dot-separated labels of s (plain labels only: "_tcp.local"). */
static int wname_add_dotted(struct wname *w, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		if (wname_add_label(w, s, n) < 0)
			return -1;
		s += n + (dot ? 1 : 0);
	}
	return 0;
}

static void wname_end(struct wname *w)
{
	w->b[w->len++] = 0;
}

/* DNS names compare case-insensitively for ASCII only (RFC 1035 2.3.3,
 * RFC 6762 16); label length bytes are < 64, below 'A', so folding every
 * byte is safe. */
static bool wname_eq(const struct wname *a, const struct wname *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		uint8_t x = a->b[i], y = b->b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

static size_t wire_len(const uint8_t *b, size_t max)
{
	size_t i = 0;

	while (i < max && b[i])
		i += 1 + b[i];
	return i < max ? i + 1 : max;
}

static int build_names(struct fake_mdns *m)
{
	const struct fake_device *dev = m->dev;

	if (wname_add_label(&m->host, dev->host, strlen(dev->host)) < 0 ||
	    wname_add_dotted(&m->host, "local") < 0 ||
	    wname_add_dotted(&m->meta, "_services._dns-sd._udp.local") < 0)
		return -1;
	wname_end(&m->host);
	wname_end(&m->meta);
	for (size_t i = 0; i < dev->n_svcs; i++) {
		const struct fake_service *s = &dev->svcs[i];
		struct svc_names *n = &m->names[i];

		if (wname_add_dotted(&n->type, s->type) < 0 ||
		    wname_add_dotted(&n->type, "local") < 0 ||
		    wname_add_label(&n->inst, s->name, strlen(s->name)) < 0 ||
		    wname_add_dotted(&n->inst, s->type) < 0 ||
		    wname_add_dotted(&n->inst, "local") < 0)
			return -1;
		wname_end(&n->type);
		wname_end(&n->inst);
	}
	return 0;
}

/* ---- building packets ---- */

static void pkt_init(struct pkt *p, uint16_t id, uint16_t flags)
{
	p->len = 12;
	p->n_recs = 0;
	p->qd = p->an = p->ad = 0;
	p->tc = false;
	memset(p->buf, 0, 12);
	atv_put_be16(p->buf, id);
	atv_put_be16(p->buf + 2, flags);
	p->dnptrs[0] = p->buf;
	p->dnptrs[1] = NULL;
}

/* Undo a partly written record: forget the bytes and the compression
 * targets that pointed into them. */
static void pkt_rollback(struct pkt *p, size_t len)
{
	p->len = len;
	for (size_t i = 1; i < sizeof p->dnptrs / sizeof p->dnptrs[0] && p->dnptrs[i]; i++)
		if (p->dnptrs[i] >= p->buf + len) {
			p->dnptrs[i] = NULL;
			break;
		}
}

static int pkt_bytes(struct pkt *p, const void *d, size_t n)
{
	if (n > sizeof p->buf - p->len)
		return -1;
	memcpy(p->buf + p->len, d, n);
	p->len += n;
	return 0;
}

static int pkt_u16(struct pkt *p, uint16_t v)
{
	uint8_t b[2];

	atv_put_be16(b, v);
	return pkt_bytes(p, b, 2);
}

static int pkt_name(struct pkt *p, const struct wname *w)
{
	/* the last slot stays NULL: ns_name_pack writes a terminator after
	 * the entry it adds */
	const uint8_t **last = p->dnptrs + sizeof p->dnptrs / sizeof p->dnptrs[0] - 1;
	int n = ns_name_pack(w->b, p->buf + p->len, (int)(sizeof p->buf - p->len), p->dnptrs, last);

	if (n < 0)
		return -1;
	p->len += (size_t)n;
	return 0;
}

/* Owner, type, class, TTL and a zero rdlength; *rdlen_at is where
 * pkt_rr_end() writes the real one. */
static int pkt_rr_begin(struct pkt *p, const struct wname *owner, uint16_t type, uint16_t cls,
			uint32_t ttl, size_t *rdlen_at)
{
	uint8_t b[10];

	if (p->n_recs < MAX_PKT_RECS)
		p->rec_start[p->n_recs++] = p->len;
	if (pkt_name(p, owner) < 0)
		return -1;
	atv_put_be16(b, type);
	atv_put_be16(b + 2, cls);
	atv_put_be32(b + 4, ttl);
	atv_put_be16(b + 8, 0);
	if (pkt_bytes(p, b, sizeof b) < 0)
		return -1;
	*rdlen_at = p->len - 2;
	return 0;
}

static void pkt_rr_end(struct pkt *p, size_t rdlen_at)
{
	atv_put_be16(p->buf + rdlen_at, (uint16_t)(p->len - rdlen_at - 2));
}

static void pkt_finish(struct pkt *p)
{
	if (p->tc)
		p->buf[2] |= 0x02; /* TC */
	atv_put_be16(p->buf + 4, p->qd);
	atv_put_be16(p->buf + 6, p->an);
	atv_put_be16(p->buf + 8, 0);
	atv_put_be16(p->buf + 10, p->ad);
}

/* A repeated question is written uncompressed and is no compression
 * target: ns_name_pack matches names case-insensitively, and answers must
 * spell our names as we do, not as the querier did. */
static int put_question(struct pkt *p, const struct question *q)
{
	size_t save = p->len;
	int n = ns_name_pack(q->name.b, p->buf + p->len, (int)(sizeof p->buf - p->len), NULL, NULL);

	if (n < 0)
		return -1;
	p->len += (size_t)n;
	if (pkt_u16(p, q->type) < 0 || pkt_u16(p, q->cls) < 0) {
		p->len = save;
		return -1;
	}
	p->qd++;
	return 0;
}

static void put_questions(struct pkt *p, const struct shape *sh, const struct query *qy)
{
	if (!sh->legacy)
		return;
	for (size_t i = 0; i < qy->n_q; i++)
		if (put_question(p, &qy->q[i]) < 0)
			break;
}

static uint32_t ttl_for(const struct shape *sh, enum rec_kind k)
{
	if (sh->legacy)
		return TTL_LEGACY;
	return k == REC_SRV || k == REC_A ? TTL_HOST : TTL_OTHER;
}

/* One record; the packet is unchanged when it does not fit. */
static int put_rec(struct fake_mdns *m, const struct sock *so, const struct shape *sh,
		   struct pkt *p, const struct rec *r)
{
	const struct fake_service *s = &m->dev->svcs[r->svc];
	const struct svc_names *n = &m->names[r->svc];
	/* unique records get the cache-flush bit, shared PTRs never; legacy
	 * resolvers would not understand it (RFC 6762 10.2) */
	uint16_t flush = sh->legacy ? 0 : CLASS_FLUSH;
	uint32_t ttl = ttl_for(sh, r->kind);
	size_t save = p->len, save_recs = p->n_recs, at;
	int rc = -1;

	switch (r->kind) {
	case REC_PTR:
		if (pkt_rr_begin(p, &n->type, ns_t_ptr, ns_c_in, ttl, &at) < 0 ||
		    pkt_name(p, &n->inst) < 0)
			goto out;
		break;
	case REC_META:
		if (pkt_rr_begin(p, &m->meta, ns_t_ptr, ns_c_in, ttl, &at) < 0 ||
		    pkt_name(p, &n->type) < 0)
			goto out;
		break;
	case REC_SRV:
		/* a sleep proxy answers for a sleeping device with port 0 */
		if (pkt_rr_begin(p, &n->inst, ns_t_srv, ns_c_in | flush, ttl, &at) < 0 ||
		    pkt_u16(p, 0) < 0 || pkt_u16(p, 0) < 0 ||
		    pkt_u16(p, m->opts.sleeping ? 0 : s->port) < 0 || pkt_name(p, &m->host) < 0)
			goto out;
		break;
	case REC_TXT:
		if (pkt_rr_begin(p, &n->inst, ns_t_txt, ns_c_in | flush, ttl, &at) < 0)
			goto out;
		/* RFC 6763 6.1: an empty TXT record is one empty string */
		if (s->n_txt == 0 && pkt_bytes(p, "", 1) < 0)
			goto out;
		for (size_t i = 0; i < s->n_txt; i++) {
			uint8_t l = (uint8_t)s->txt[i].len;

			if (pkt_bytes(p, &l, 1) < 0 || pkt_bytes(p, s->txt[i].data, l) < 0)
				goto out;
		}
		break;
	case REC_A:
		if (pkt_rr_begin(p, &m->host, ns_t_a, ns_c_in | flush, ttl, &at) < 0 ||
		    pkt_bytes(p, &so->address, 4) < 0)
			goto out;
		break;
	}
	pkt_rr_end(p, at);
	rc = 0;
out:
	if (rc < 0) {
		pkt_rollback(p, save);
		p->n_recs = save_recs;
	}
	return rc;
}

/* ---- deciding what to answer ---- */

static bool plan_has(const struct plan *pl, enum rec_kind k, size_t svc)
{
	for (size_t i = 0; i < pl->n_an; i++)
		if (pl->an[i].kind == k && (k == REC_A || pl->an[i].svc == svc))
			return true;
	for (size_t i = 0; i < pl->n_ad; i++)
		if (pl->ad[i].kind == k && (k == REC_A || pl->ad[i].svc == svc))
			return true;
	return false;
}

static void plan_add(struct plan *pl, bool answer, enum rec_kind k, size_t svc)
{
	struct rec *arr = answer ? pl->an : pl->ad;
	size_t *n = answer ? &pl->n_an : &pl->n_ad;

	if (plan_has(pl, k, svc) || *n >= MAX_RECS)
		return;
	arr[*n].kind = k;
	arr[*n].svc = svc;
	(*n)++;
}

static bool qtype_is(uint16_t qtype, uint16_t want)
{
	return qtype == want || qtype == ns_t_any;
}

/* Only services a server of ours listens on are advertised (a port that
 * nobody serves would make a client fail after it found the device). */
static bool offered(const struct fake_mdns *m, size_t i)
{
	return m->dev->svcs[i].served;
}

/* Service i answers the _services._dns-sd._udp meta query for its type:
 * the first offered service of that type. */
static bool meta_owner(const struct fake_mdns *m, size_t i)
{
	if (!offered(m, i))
		return false;
	for (size_t k = 0; k < i; k++)
		if (offered(m, k) && wname_eq(&m->names[k].type, &m->names[i].type))
			return false;
	return true;
}

static void plan_question(struct fake_mdns *m, const struct query *qy, const struct question *q,
			  struct plan *pl)
{
	uint16_t cls = q->cls & ~CLASS_QU;

	if (cls != ns_c_in && cls != ns_c_any)
		return;
	if (wname_eq(&q->name, &m->host) && qtype_is(q->type, ns_t_a))
		plan_add(pl, true, REC_A, 0);
	for (size_t i = 0; i < m->dev->n_svcs; i++) {
		const struct svc_names *n = &m->names[i];

		if (!offered(m, i))
			continue;
		if (meta_owner(m, i) && wname_eq(&q->name, &m->meta) && qtype_is(q->type, ns_t_ptr))
			plan_add(pl, true, REC_META, i);
		if (wname_eq(&q->name, &n->type) && qtype_is(q->type, ns_t_ptr) &&
		    !qy->known_ptr[i])
			plan_add(pl, true, REC_PTR, i);
		if (wname_eq(&q->name, &n->inst)) {
			if (qtype_is(q->type, ns_t_srv))
				plan_add(pl, true, REC_SRV, i);
			if (qtype_is(q->type, ns_t_txt))
				plan_add(pl, true, REC_TXT, i);
		}
	}
}

/* RFC 6763 12: a PTR answer brings its SRV, TXT and the host's address; an
 * SRV answer brings the address. */
static void plan_additionals(const struct sock *so, struct plan *pl)
{
	bool addr = so->address.s_addr != htonl(INADDR_ANY);

	for (size_t i = 0; i < pl->n_an; i++) {
		struct rec r = pl->an[i];

		if (r.kind == REC_PTR) {
			plan_add(pl, false, REC_SRV, r.svc);
			plan_add(pl, false, REC_TXT, r.svc);
		}
		if ((r.kind == REC_PTR || r.kind == REC_SRV) && addr)
			plan_add(pl, false, REC_A, 0);
	}
}

/* Answers first: a reply that cannot hold them all says TC; additional
 * records that do not fit are left out (RFC 6762 18.5). */
static void build_reply(struct fake_mdns *m, const struct sock *so, const struct shape *sh,
			const struct query *qy, const struct plan *pl, struct pkt *p)
{
	pkt_init(p, sh->id, 0x8400); /* QR=1, AA=1 (RFC 6762 18.3, 18.4) */
	put_questions(p, sh, qy);
	for (size_t i = 0; i < pl->n_an; i++) {
		if (put_rec(m, so, sh, p, &pl->an[i]) < 0) {
			p->tc = true;
			break;
		}
		p->an++;
	}
	for (size_t i = 0; i < pl->n_ad && !p->tc; i++)
		if (put_rec(m, so, sh, p, &pl->ad[i]) == 0)
			p->ad++;
	pkt_finish(p);
}

/* Everything the device file has, as answers to a PTR query for each type
 * (for the hostile replies, which do not care what is served). */
static void plan_everything(struct fake_mdns *m, const struct sock *so, struct plan *pl)
{
	memset(pl, 0, sizeof *pl);
	for (size_t i = 0; i < m->dev->n_svcs; i++)
		plan_add(pl, true, REC_PTR, i);
	plan_additionals(so, pl);
}

/* ---- hostile replies: each a real packet a broken or malicious device
 * could send ---- */

static uint32_t rng_next(struct fake_mdns *m)
{
	uint32_t x = m->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	m->rng = x;
	return x;
}

/* An answer record whose rdata the caller writes raw: owner is the first
 * service's type, so a parser reaches the rdata before it fails. */
static int hostile_rr(struct fake_mdns *m, const struct shape *sh, struct pkt *p, uint16_t type,
		      size_t *rdlen_at)
{
	if (pkt_rr_begin(p, &m->names[0].type, type, ns_c_in, ttl_for(sh, REC_PTR), rdlen_at) < 0)
		return -1;
	p->an++;
	return 0;
}

static void build_hostile(struct fake_mdns *m, const struct sock *so, const struct shape *sh,
			  const struct query *qy, struct pkt *p)
{
	struct plan pl;
	size_t at, start;
	struct rec r0 = {REC_PTR, 0};
	uint8_t b[16];

	switch (m->opts.hostile) {
	case FAKE_HOSTILE_TRUNCATED:
		plan_everything(m, so, &pl);
		build_reply(m, so, sh, qy, &pl, p);
		/* cut the last record in half: every count still promises it */
		if (p->n_recs > 0)
			p->len = p->rec_start[p->n_recs - 1] +
				 (p->len - p->rec_start[p->n_recs - 1]) / 2;
		return;
	case FAKE_HOSTILE_QUERY:
		plan_everything(m, so, &pl);
		build_reply(m, so, sh, qy, &pl, p);
		p->buf[2] &= 0x7f;
		return;
	default:
		break;
	}
	pkt_init(p, sh->id, 0x8400);
	put_questions(p, sh, qy);
	switch (m->opts.hostile) {
	case FAKE_HOSTILE_LOOP:
		/* rdata "\4loop" then a pointer back to its own first label:
		 * the name never ends */
		if (hostile_rr(m, sh, p, ns_t_ptr, &at) < 0)
			break;
		start = p->len;
		b[0] = 4;
		memcpy(b + 1, "loop", 4);
		atv_put_be16(b + 5, (uint16_t)(0xC000 | start));
		pkt_bytes(p, b, 7);
		pkt_rr_end(p, at);
		break;
	case FAKE_HOSTILE_POINTER_PAST_END:
		if (hostile_rr(m, sh, p, ns_t_ptr, &at) < 0)
			break;
		b[0] = 4;
		memcpy(b + 1, "Fake", 4);
		atv_put_be16(b + 5, 0xC000 | 0x3FFF);
		pkt_bytes(p, b, 7);
		pkt_rr_end(p, at);
		break;
	case FAKE_HOSTILE_LYING_RDLENGTH:
		if (hostile_rr(m, sh, p, ns_t_ptr, &at) < 0)
			break;
		pkt_bytes(p, m->names[0].inst.b, m->names[0].inst.len);
		atv_put_be16(p->buf + at, 0xFFF0);
		break;
	case FAKE_HOSTILE_HUGE_COUNT:
		if (put_rec(m, so, sh, p, &r0) == 0)
			p->an = 0xFFFF;
		break;
	case FAKE_HOSTILE_LONG_TXT:
		/* a PTR the client wants, then a TXT whose only string claims
		 * 200 bytes where 6 remain in the record and the packet */
		if (put_rec(m, so, sh, p, &r0) < 0)
			break;
		p->an++;
		if (pkt_rr_begin(p, &m->names[0].inst, ns_t_txt, ns_c_in, ttl_for(sh, REC_TXT),
				 &at) < 0)
			break;
		p->an++;
		b[0] = 200;
		memcpy(b + 1, "model=", 6);
		pkt_bytes(p, b, 7);
		pkt_rr_end(p, at);
		break;
	case FAKE_HOSTILE_MANY_SERVICES:
		for (int i = 1; i <= MANY_SERVICES; i++) {
			struct wname inst = {.len = 0};
			char label[16];
			int n = snprintf(label, sizeof label, "Device %03d", i);

			if (wname_add_label(&inst, label, (size_t)n) < 0 ||
			    wname_add_dotted(&inst, m->dev->svcs[0].type) < 0 ||
			    wname_add_dotted(&inst, "local") < 0)
				break;
			wname_end(&inst);
			if (pkt_rr_begin(p, &m->names[0].type, ns_t_ptr, ns_c_in,
					 ttl_for(sh, REC_PTR), &at) < 0 ||
			    pkt_name(p, &inst) < 0)
				break;
			pkt_rr_end(p, at);
			p->an++;
		}
		break;
	case FAKE_HOSTILE_GARBAGE: {
		/* the query's ID and QR=1 so a client takes it for the reply,
		 * then random counts and bytes */
		size_t n = 64 + rng_next(m) % 600;

		p->len = 4;
		p->qd = 0;
		while (p->len < n) {
			uint32_t x = rng_next(m);

			pkt_bytes(p, &x, sizeof x < n - p->len ? sizeof x : n - p->len);
		}
		return;
	}
	default:
		break;
	}
	pkt_finish(p);
}

/* ---- receiving queries ---- */

static void fmt_addr(char *buf, size_t size, const struct sockaddr_in *sa)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof a);
	snprintf(buf, size, "%s:%u", a, ntohs(sa->sin_port));
}

static const char *type_name(uint16_t t)
{
	switch (t) {
	case ns_t_a: return "A";
	case ns_t_ptr: return "PTR";
	case ns_t_txt: return "TXT";
	case ns_t_srv: return "SRV";
	case ns_t_aaaa: return "AAAA";
	case ns_t_nsec: return "NSEC";
	case ns_t_any: return "ANY";
	default: return "TYPE?";
	}
}

/* Known answers (RFC 6762 7.1): a PTR we would give, which the querier
 * holds with at least half our TTL, is not repeated. */
static void note_known(struct fake_mdns *m, ns_msg *msg, struct query *qy, bool legacy)
{
	uint32_t half = (legacy ? TTL_LEGACY : TTL_OTHER) / 2;
	int n = ns_msg_count(*msg, ns_s_an);
	ns_rr rr;

	for (int i = 0; i < n && i < MAX_RECS; i++) {
		struct wname owner = {.len = 0}, target;
		int tl;

		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return;
		if (ns_rr_type(rr) != ns_t_ptr || ns_rr_ttl(rr) < half)
			continue;
		tl = ns_name_unpack(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(rr), target.b,
				    sizeof target.b);
		if (tl < 0 || ns_name_pton(ns_rr_name(rr), owner.b, sizeof owner.b) < 0)
			continue;
		target.len = wire_len(target.b, sizeof target.b);
		owner.len = wire_len(owner.b, sizeof owner.b);
		for (size_t k = 0; k < m->dev->n_svcs; k++)
			if (wname_eq(&owner, &m->names[k].type) &&
			    wname_eq(&target, &m->names[k].inst))
				qy->known_ptr[k] = true;
	}
}

/* The questions of a query, and a log line naming them.  0, or -1 when
 * the packet is no query we answer. */
static int parse_query(struct fake_mdns *m, const uint8_t *buf, size_t len, bool legacy,
		       struct query *qy, char *desc, size_t dsize)
{
	ns_msg msg;
	ns_rr rr;
	size_t dl = 0;
	int n;

	memset(qy, 0, sizeof *qy);
	desc[0] = '\0';
	if (ns_initparse(buf, (int)len, &msg) < 0) {
		snprintf(desc, dsize, "malformed packet (%zu bytes)", len);
		return -1;
	}
	/* responses from other responders and non-QUERY opcodes are not ours
	 * to answer (RFC 6762 18.2, 18.3) */
	if (ns_msg_getflag(msg, ns_f_qr)) {
		snprintf(desc, dsize, "response (%zu bytes)", len);
		return -1;
	}
	if (ns_msg_getflag(msg, ns_f_opcode) != ns_o_query) {
		snprintf(desc, dsize, "opcode %d", ns_msg_getflag(msg, ns_f_opcode));
		return -1;
	}
	qy->id = ns_msg_id(msg);
	qy->all_qu = true;
	n = ns_msg_count(msg, ns_s_qd);
	dl += (size_t)snprintf(desc, dsize, "id 0x%04x:", qy->id);
	for (int i = 0; i < n && qy->n_q < MAX_QUESTIONS; i++) {
		struct question *q = &qy->q[qy->n_q];

		if (ns_parserr(&msg, ns_s_qd, i, &rr) < 0) {
			snprintf(desc, dsize, "malformed question %d", i);
			return -1;
		}
		if (ns_name_pton(ns_rr_name(rr), q->name.b, sizeof q->name.b) < 0)
			continue;
		q->name.len = wire_len(q->name.b, sizeof q->name.b);
		q->type = ns_rr_type(rr);
		q->cls = ns_rr_class(rr);
		if (!(q->cls & CLASS_QU))
			qy->all_qu = false;
		qy->n_q++;
		if (dl < dsize)
			dl += (size_t)snprintf(desc + dl, dsize - dl, "%s %s %s%s", i ? "," : "",
					       type_name(q->type), ns_rr_name(rr),
					       q->cls & CLASS_QU ? " (QU)" : "");
	}
	if (qy->n_q == 0)
		qy->all_qu = false;
	note_known(m, &msg, qy, legacy);
	return 0;
}

static void send_pkt(struct sock *so, const struct pkt *p, const struct sockaddr_in *to,
		     const char *what)
{
	char dst[64];

	fmt_addr(dst, sizeof dst, to);
	if (sendto(so->fd, p->buf, p->len, 0, (const struct sockaddr *)to, sizeof *to) < 0) {
		atv_warn("mdns %s: unable to send to %s: %s", so->label, dst, strerror(errno));
		return;
	}
	atv_debug("mdns %s: %s to %s: %u answers, %u additional, %zu bytes%s", so->label, what,
		  dst, p->an, p->ad, p->len, p->tc ? " (TC)" : "");
}

static void handle_packet(struct sock *so, const uint8_t *buf, size_t len,
			  const struct sockaddr_in *src, bool to_group)
{
	struct fake_mdns *m = so->m;
	struct sockaddr_in to = *src;
	struct query qy;
	struct plan pl;
	struct shape sh;
	struct pkt *p;
	char from[64], desc[512];
	/* RFC 6762 6.7: a query from a port other than 5353 comes from a
	 * plain resolver; the unicast sockets answer everyone that way */
	bool legacy = !so->multicast || ntohs(src->sin_port) != ATV_MDNS_PORT;

	fmt_addr(from, sizeof from, src);
	if (parse_query(m, buf, len, legacy, &qy, desc, sizeof desc) < 0) {
		atv_debug("mdns %s: ignoring %s from %s", so->label, desc, from);
		return;
	}
	atv_debug("mdns %s: query from %s %s%s", so->label, from, desc,
		  legacy ? " (legacy unicast)" : "");
	sh.legacy = legacy;
	sh.id = legacy ? qy.id : 0;
	/* multicast-style replies go to the group, unless every question asks
	 * for a unicast reply or the query was sent to us directly */
	if (!legacy && !qy.all_qu && to_group) {
		inet_pton(AF_INET, MDNS_GROUP, &to.sin_addr);
		to.sin_port = htons(ATV_MDNS_PORT);
	}
	p = malloc(sizeof *p);
	if (!p) {
		atv_warn("mdns: out of memory");
		return;
	}
	if (m->opts.hostile) {
		build_hostile(m, so, &sh, &qy, p);
		send_pkt(so, p, &to, hostile_names[m->opts.hostile]);
		goto out;
	}
	memset(&pl, 0, sizeof pl);
	for (size_t i = 0; i < qy.n_q; i++)
		plan_question(m, &qy, &qy.q[i], &pl);
	plan_additionals(so, &pl);
	if (pl.n_an == 0 && !IN_MULTICAST(ntohl(to.sin_addr.s_addr))) {
		/* A querier that asked us directly gets an answer to every
		 * query, empty when nothing matches (the questions repeated
		 * for legacy unicast), as a unicast DNS server would: pyatv's
		 * unicast scan waits for one reply per query it sent, and
		 * without one it waits for its own resend a second later. */
		atv_debug("mdns %s: nothing matches for %s: an empty answer", so->label, from);
	} else if (pl.n_an == 0) {
		/* to the group mDNS stays silent when it has nothing to say
		 * (RFC 6762 6) */
		atv_debug("mdns %s: nothing to answer for %s", so->label, from);
		goto out;
	}
	build_reply(m, so, &sh, &qy, &pl, p);
	send_pkt(so, p, &to, pl.n_an ? "answer" : "empty answer");
out:
	free(p);
}

static void on_readable(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct sock *so = ctx;
	uint8_t buf[ATV_MDNS_MAX_PACKET];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf;

	(void)loop;
	(void)revents;
	/* bounded, so one busy socket cannot starve the other servers */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in src;
		struct iovec iov = {buf, sizeof buf};
		struct msghdr mh = {
			.msg_name = &src,
			.msg_namelen = sizeof src,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.b,
			.msg_controllen = sizeof cbuf.b,
		};
		bool to_group = true;
		ssize_t n = recvmsg(fd, &mh, 0);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				atv_warn("mdns %s: receive: %s", so->label, strerror(errno));
			return;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			atv_debug("mdns %s: ignoring a packet over %zu bytes", so->label,
				  sizeof buf);
			continue;
		}
		if (mh.msg_namelen < sizeof src || src.sin_family != AF_INET)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof pi);
				to_group = IN_MULTICAST(ntohl(pi.ipi_addr.s_addr));
			}
		}
		handle_packet(so, buf, (size_t)n, &src, to_group);
	}
}

/* ---- sockets ---- */

static int parse_addrport(const char *s, struct sockaddr_in *sa, struct atv_err *err)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);

	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons(ATV_MDNS_PORT);
	if (hl >= sizeof host)
		return atv_err_set(err, ATV_E_USAGE, "bad address \"%s\"", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return atv_err_set(err, ATV_E_USAGE, "bad IPv4 address \"%s\"", host);
	if (colon) {
		char *end;
		unsigned long port;

		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port > 65535)
			return atv_err_set(err, ATV_E_USAGE, "bad port in \"%s\"", s);
		sa->sin_port = htons((uint16_t)port);
	}
	return 0;
}

static int sock_open(struct fake_mdns *m, struct sock **out, struct atv_err *err)
{
	struct sock *so;
	int fd;

	if (m->n_socks >= MAX_SOCKS)
		return atv_err_set(err, ATV_E_USAGE, "more than %d mDNS sockets", MAX_SOCKS);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to create a UDP socket");
	so = &m->socks[m->n_socks++];
	memset(so, 0, sizeof *so);
	so->m = m;
	so->fd = fd;
	*out = so;
	return 0;
}

static int sock_start(struct fake_mdns *m, struct sock *so, const char *proto,
		      struct atv_err *err)
{
	struct sockaddr_in bound;
	socklen_t bl = sizeof bound;
	int r;

	if (getsockname(so->fd, (struct sockaddr *)&bound, &bl) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "getsockname");
	if (!so->label[0])
		fmt_addr(so->label, sizeof so->label, &bound);
	if (m->dev->has_address)
		so->address = m->dev->address;
	if ((r = fake_loop_add_fd(m->loop, so->fd, POLLIN, on_readable, so, err)) < 0)
		return r;
	return fake_loop_note_bound(m->loop, proto, &bound, err);
}

int fake_mdns_add_unicast(struct fake_mdns *m, const char *addrport, struct atv_err *err)
{
	struct sockaddr_in sa;
	struct sock *so;
	int r;

	if ((r = parse_addrport(addrport, &sa, err)) < 0)
		return r;
	if (sa.sin_addr.s_addr == htonl(INADDR_ANY) && !m->dev->has_address)
		return atv_err_set(err, ATV_E_USAGE,
				   "--unicast %s needs an \"address\" in the device file for A "
				   "records", addrport);
	if ((r = sock_open(m, &so, err)) < 0)
		return r;
	/* no SO_REUSEADDR: a second fake on the same address must fail
	 * loudly rather than share (and steal) the queries */
	if (bind(so->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to bind to %s", addrport);
	/* A records say the device's address, else where we listen */
	so->address = sa.sin_addr;
	return sock_start(m, so, "mdns", err);
}

/* Is our network namespace the file at path (an nsfs inode)? */
static bool same_netns(const struct stat *self, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == self->st_dev && st.st_ino == self->st_ino;
}

/* --multicast sends real mDNS: only inside a test network namespace.  The
 * rule is "not PID 1's namespace"; where PID 1's is hidden from us (a
 * sandbox), only a namespace made by `ip netns add` (/run/netns/NAME)
 * counts. */
static int check_netns(struct atv_err *err)
{
	struct stat self, init;
	DIR *d;
	struct dirent *e;
	bool named = false;

	if (stat("/proc/self/ns/net", &self) < 0)
		return atv_err_sys(err, ATV_E_USAGE, errno,
				   "--multicast refused: cannot read /proc/self/ns/net");
	if (stat("/proc/1/ns/net", &init) == 0) {
		if (init.st_dev == self.st_dev && init.st_ino == self.st_ino)
			return atv_err_set(err, ATV_E_USAGE,
					   "--multicast refused: not in a separate network "
					   "namespace (run it under ip netns exec)");
		return 0;
	}
	d = opendir("/run/netns");
	while (d && (e = readdir(d)) && !named) {
		char path[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/run/netns/%s", e->d_name);
		named = same_netns(&self, path);
	}
	if (d)
		closedir(d);
	if (!named)
		return atv_err_set(err, ATV_E_USAGE,
				   "--multicast refused: not in a network namespace made by "
				   "ip netns add (and /proc/1/ns/net is unreadable)");
	return 0;
}

static int setopt(int fd, int level, int name, const void *v, socklen_t len, const char *what,
		  struct atv_err *err)
{
	if (setsockopt(fd, level, name, v, len) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to set %s", what);
	return 0;
}

static void announce(struct fake_mdns *m, struct sock *so)
{
	struct plan pl;
	struct shape sh = {.legacy = false, .id = 0};
	struct query none = {.n_q = 0};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ATV_MDNS_PORT)};
	struct pkt *p = malloc(sizeof *p);

	if (!p)
		return;
	/* RFC 6762 8.3: an announcement is an unsolicited response with every
	 * record in the answer section */
	memset(&pl, 0, sizeof pl);
	for (size_t i = 0; i < m->dev->n_svcs; i++) {
		if (!offered(m, i))
			continue;
		if (meta_owner(m, i))
			plan_add(&pl, true, REC_META, i);
		plan_add(&pl, true, REC_PTR, i);
		plan_add(&pl, true, REC_SRV, i);
		plan_add(&pl, true, REC_TXT, i);
	}
	if (so->address.s_addr != htonl(INADDR_ANY))
		plan_add(&pl, true, REC_A, 0);
	build_reply(m, so, &sh, &none, &pl, p);
	inet_pton(AF_INET, MDNS_GROUP, &to.sin_addr);
	send_pkt(so, p, &to, "announcement");
	free(p);
}

int fake_mdns_add_multicast(struct fake_mdns *m, const char *ifaddr, struct atv_err *err)
{
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(ATV_MDNS_PORT)};
	struct ip_mreq mreq;
	struct in_addr ifa;
	struct sock *so;
	int one = 1, ttl = 255, off = 0, r;

	if ((r = check_netns(err)) < 0)
		return r;
	if (inet_pton(AF_INET, ifaddr, &ifa) != 1)
		return atv_err_set(err, ATV_E_USAGE, "bad IPv4 interface address \"%s\"", ifaddr);
	if ((r = sock_open(m, &so, err)) < 0)
		return r;
	so->multicast = true;
	so->address = ifa;
	memset(&mreq, 0, sizeof mreq);
	inet_pton(AF_INET, MDNS_GROUP, &mreq.imr_multiaddr);
	mreq.imr_interface = ifa;
	any.sin_addr.s_addr = htonl(INADDR_ANY);
	/* RFC 6762 11: mDNS goes out with IP TTL 255 */
	if ((r = setopt(so->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one, "SO_REUSEADDR",
			err)) < 0 ||
	    (r = setopt(so->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one, "IP_PKTINFO", err)) < 0)
		return r;
	if (bind(so->fd, (struct sockaddr *)&any, sizeof any) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to bind to 0.0.0.0:5353");
	if ((r = setopt(so->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq,
			"IP_ADD_MEMBERSHIP", err)) < 0 ||
	    (r = setopt(so->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa, "IP_MULTICAST_IF",
			err)) < 0 ||
	    (r = setopt(so->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl,
			"IP_MULTICAST_TTL", err)) < 0 ||
	    (r = setopt(so->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl, "IP_TTL", err)) < 0 ||
	    (r = setopt(so->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off,
			"IP_MULTICAST_LOOP", err)) < 0)
		return r;
	snprintf(so->label, sizeof so->label, "%s:%u (multicast)", ifaddr, ATV_MDNS_PORT);
	if (m->dev->has_address)
		so->address = m->dev->address;
	{
		struct sockaddr_in shown = {.sin_family = AF_INET,
					    .sin_port = htons(ATV_MDNS_PORT),
					    .sin_addr = ifa};

		if ((r = fake_loop_add_fd(m->loop, so->fd, POLLIN, on_readable, so, err)) < 0 ||
		    (r = fake_loop_note_bound(m->loop, "mdns-multicast", &shown, err)) < 0)
			return r;
	}
	announce(m, so);
	return 0;
}

int fake_mdns_new(struct fake_loop *loop, const struct fake_device *dev,
		  const struct fake_mdns_opts *opts, struct fake_mdns **out, struct atv_err *err)
{
	struct fake_mdns *m;

	*out = NULL;
	if (dev->n_svcs == 0)
		return atv_err_set(err, ATV_E_INPUT, "the device has no services");
	m = calloc(1, sizeof *m);
	if (!m)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	m->names = calloc(dev->n_svcs, sizeof *m->names);
	if (!m->names) {
		free(m);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	m->loop = loop;
	m->dev = dev;
	m->opts = *opts;
	m->rng = 0x2545F491u;
	/* config.c checked every label, so this cannot fail in practice */
	if (build_names(m) < 0) {
		fake_mdns_free(m);
		return atv_err_set(err, ATV_E_INPUT, "a service name is too long for DNS");
	}
	*out = m;
	return 0;
}

void fake_mdns_free(struct fake_mdns *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_socks; i++) {
		fake_loop_remove_fd(m->loop, m->socks[i].fd);
		close(m->socks[i].fd);
	}
	free(m->names);
	free(m);
}
