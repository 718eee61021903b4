/* dnssd_unicast.c - unicast DNS-SD scan of given hosts (legacy unicast mDNS).
 *
 * A query sent to HOST:5353 from a port other than 5353 is a "legacy
 * unicast" query: the responder answers straight back to the source port
 * (RFC 6762 6.7).  That is how a device on another subnet, or one whose
 * multicast is filtered, can still be found.  Each host gets its own UDP
 * socket, connect()ed to it, so only that host's datagrams arrive and an
 * ICMP port-unreachable shows up as ECONNREFUSED ("no answer yet"). */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "dnssd.h"
#include "err.h"
#include "log.h"
#include "dnssd_packet.h"
#include "dnssd_unicast.h"
#include "tcp.h"
#include "banned.h"

#define RESEND_MS 1000
/* how long to wait for the SRV/TXT of instances an answer named by PTR
 * alone (one resend) before taking that answer as it is */
#define RESOLVE_WAIT_MS 1500
#define N_KNOCK 4
/* TCP ports pyatv "knocks" on before a unicast query: a connection attempt
 * makes a sleeping Apple TV's sleep proxy wake it (3689 DAAP, 7000 AirPlay,
 * 49152 the usual MRP port, 32498). */
static const uint16_t knock_ports[N_KNOCK] = {3689, 7000, 49152, 32498};

/* --- HOST[:PORT] ------------------------------------------------------- */

static int parse_port(const char *s, const char *all, uint16_t *port, struct atv_err *err)
{
	unsigned long v = 0;

	if (!*s)
		return atv_err_set(err, ATV_E_USAGE, "invalid host '%s': empty port", all);
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9' || v > 65535)
			return atv_err_set(err, ATV_E_USAGE, "invalid host '%s': bad port '%s'",
					   all, s);
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < 1 || v > 65535)
		return atv_err_set(err, ATV_E_USAGE, "invalid host '%s': port %s out of range",
				   all, s);
	*port = (uint16_t)v;
	return 0;
}

static int set_host(struct atv_hostport *hp, const char *s, size_t len, const char *all,
		    struct atv_err *err)
{
	if (!len)
		return atv_err_set(err, ATV_E_USAGE, "invalid host '%s': empty host name", all);
	if (len >= sizeof hp->host)
		return atv_err_set(err, ATV_E_USAGE, "invalid host '%.32s...': name too long", all);
	memcpy(hp->host, s, len);
	hp->host[len] = '\0';
	return 0;
}

int atv_hostport_parse(const char *s, struct atv_hostport *hp, struct atv_err *err)
{
	const char *colon;
	int r;

	memset(hp, 0, sizeof *hp);
	hp->port = ATV_MDNS_PORT;
	if (!s || !*s)
		return atv_err_set(err, ATV_E_USAGE, "empty host");
	if (*s == '[') {
		/* "[v6]" or "[v6]:PORT" */
		const char *close = strchr(s, ']');

		if (!close)
			return atv_err_set(err, ATV_E_USAGE, "invalid host '%s': missing ']'", s);
		r = set_host(hp, s + 1, (size_t)(close - s - 1), s, err);
		if (r < 0)
			return r;
		if (!close[1])
			return 0;
		if (close[1] != ':')
			return atv_err_set(err, ATV_E_USAGE,
					   "invalid host '%s': junk after ']'", s);
		return parse_port(close + 2, s, &hp->port, err);
	}
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':')) {
		/* no colon: a name or IPv4; two or more: a bare IPv6 literal */
		return set_host(hp, s, strlen(s), s, err);
	}
	r = set_host(hp, s, (size_t)(colon - s), s, err);
	if (r < 0)
		return r;
	return parse_port(colon + 1, s, &hp->port, err);
}

/* --- the scan ---------------------------------------------------------- */

struct uhost {
	const struct atv_hostport *hp;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN];
	int udp;
	int knock[N_KNOCK];
	bool done;
	int64_t next_send; /* CLOCK_MONOTONIC ms */
	/* an answer naming instances without their SRV/TXT, held while a
	 * resolve query (h->resolve) asks for the rest */
	struct atv_dnssd_svc *pending;
	size_t n_pending;
	int64_t resolve_deadline;
	uint8_t *resolve;
	size_t resolve_len;
};


static int resolve(struct uhost *h, struct atv_err *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[8];
	int r;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", (unsigned)h->hp->port);
	r = getaddrinfo(h->hp->host, port, &hints, &res);
	if (r != 0 || !res)
		return atv_err_set(err, ATV_E_NOTFOUND, "unable to resolve %s: %s", h->hp->host,
				   r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	if (res->ai_addrlen > sizeof h->sa) {
		freeaddrinfo(res);
		return atv_err_set(err, ATV_E_NOTFOUND, "unable to resolve %s: odd address",
				   h->hp->host);
	}
	memcpy(&h->sa, res->ai_addr, res->ai_addrlen);
	h->salen = res->ai_addrlen;
	freeaddrinfo(res);
	if (getnameinfo((struct sockaddr *)&h->sa, h->salen, h->addr, sizeof h->addr, NULL, 0,
			NI_NUMERICHOST) != 0)
		return atv_err_set(err, ATV_E_NOTFOUND, "unable to resolve %s: odd address",
				   h->hp->host);
	return 0;
}

/* Start (never finish) a TCP connection to each knock port: the SYN is
 * what wakes the device.  Failures do not matter. */
static void knock(struct uhost *h)
{
	struct sockaddr_storage sa;

	for (int i = 0; i < N_KNOCK; i++) {
		int fd = socket(h->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		memcpy(&sa, &h->sa, sizeof sa);
		if (sa.ss_family == AF_INET)
			((struct sockaddr_in *)&sa)->sin_port = htons(knock_ports[i]);
		else
			((struct sockaddr_in6 *)&sa)->sin6_port = htons(knock_ports[i]);
		if (connect(fd, (struct sockaddr *)&sa, h->salen) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		h->knock[i] = fd;
	}
}

static int open_udp(struct uhost *h, struct atv_err *err)
{
	h->udp = socket(h->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->udp < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to open a udp socket for %s",
				   h->hp->host);
	/* connect() binds an ephemeral port (not 5353, so the query is legacy
	 * unicast and answered straight back, RFC 6762 6.7) and
	 * filters out datagrams from anyone else */
	if (connect(h->udp, (struct sockaddr *)&h->sa, h->salen) < 0) {
		atv_debug("unicast: %s: connect: %s", h->hp->host, strerror(errno));
		h->done = true; /* unreachable (no route): it simply never answers */
	}
	return 0;
}

static void send_query(struct uhost *h, const uint8_t *q, size_t qlen)
{
	/* ECONNREFUSED reports an ICMP error for an earlier datagram, EAGAIN a
	 * full buffer: both only mean "try again at the next resend" */
	if (send(h->udp, q, qlen, 0) < 0)
		atv_debug("unicast: %s: send: %s", h->hp->host, strerror(errno));
}

struct scan_state {
	uint8_t *buf;
	atv_unicast_cb cb;
	void *ctx;
	bool any_good;
	bool stop;
	int bad;                /* error code of the last hostile answer */
	struct atv_err bad_err; /* and its message */
};

/* Hand h's answer to the callback (consumes svcs); h is then done. */
static void deliver(struct uhost *h, struct scan_state *st, struct atv_dnssd_svc *svcs, size_t n)
{
	h->done = true;
	st->any_good = true;
	atv_info("unicast: %s answered (%zu service%s)", h->hp->host, n, n == 1 ? "" : "s");
	if (!st->stop && st->cb && st->cb(st->ctx, h->addr, svcs, n))
		st->stop = true;
	atv_dnssd_svcs_free(svcs, n);
}

/* An instance named by PTR alone: no SRV (no host, no port) or no TXT. */
static bool unresolved(const struct atv_dnssd_svc *s)
{
	return (!s->host && !s->port) || !s->n_txt;
}

/* After a PTR-only answer, ask for SRV and TXT of those instances (at most
 * RESOLVE_MAX, which always fit in one query).  false: nothing to ask. */
#define RESOLVE_MAX 32
static bool start_resolve(struct uhost *h, struct atv_dnssd_svc *svcs, size_t n)
{
	const struct atv_dnssd_svc *ask[RESOLVE_MAX];
	size_t k = 0;

	for (size_t i = 0; i < n && k < RESOLVE_MAX; i++)
		if (unresolved(&svcs[i]))
			ask[k++] = &svcs[i];
	if (!k)
		return false;
	h->resolve = malloc(ATV_MDNS_MAX_PACKET);
	if (!h->resolve ||
	    atv_mdns_build_resolve_query(ask, k, true, (uint16_t)(atv_clock_ms() & 0xffff), h->resolve,
					 ATV_MDNS_MAX_PACKET, &h->resolve_len, NULL) < 0) {
		free(h->resolve);
		h->resolve = NULL;
		return false;
	}
	h->pending = svcs;
	h->n_pending = n;
	send_query(h, h->resolve, h->resolve_len);
	h->next_send = atv_clock_ms() + RESEND_MS;
	h->resolve_deadline = atv_clock_ms() + RESOLVE_WAIT_MS;
	return true;
}

/* Move what the answer svcs says about the pending instances into them.
 * true when none is left unresolved. */
static bool merge(struct uhost *h, struct atv_dnssd_svc *svcs, size_t n)
{
	bool complete = true;

	for (size_t i = 0; i < h->n_pending; i++) {
		struct atv_dnssd_svc *p = &h->pending[i];

		for (size_t k = 0; k < n && unresolved(p); k++) {
			struct atv_dnssd_svc *s = &svcs[k], t;

			if (strcasecmp(s->type, p->type) != 0 || strcasecmp(s->name, p->name) != 0)
				continue;
			if (!p->host && !p->port && (s->host || s->port)) {
				p->host = s->host;
				s->host = NULL;
				p->port = s->port;
				memcpy(p->address, s->address, sizeof p->address);
			}
			if (!p->n_txt && s->n_txt) {
				t = *p;
				p->txt = s->txt;
				p->n_txt = s->n_txt;
				s->txt = t.txt;
				s->n_txt = t.n_txt;
			}
		}
		if (unresolved(p))
			complete = false;
	}
	return complete;
}

static void finish_pending(struct uhost *h, struct scan_state *st)
{
	struct atv_dnssd_svc *p = h->pending;

	h->pending = NULL;
	deliver(h, st, p, h->n_pending);
	h->n_pending = 0;
}

/* Read what h sent.  Marks h done on an answer, good or hostile. */
static int receive(struct uhost *h, struct scan_state *st, struct atv_err *err)
{
	while (!h->done && !st->stop) {
		struct atv_dnssd_svc *svcs = NULL;
		struct atv_err perr = {0};
		size_t nsvc = 0;
		ssize_t len;
		int r;

		len = recv(h->udp, st->buf, ATV_MDNS_MAX_PACKET, MSG_TRUNC);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED ||
			    errno == EHOSTUNREACH || errno == ENETUNREACH)
				return 0;
			return atv_err_sys(err, ATV_E_IO, errno, "unable to receive from %s",
					   h->hp->host);
		}
		/* MSG_TRUNC: len is the datagram's real size, maybe beyond the buffer */
		r = atv_mdns_parse_response(st->buf, (size_t)len, atv_mdns_service_types, &svcs,
					    &nsvc, &perr);
		if (r < 0 && h->pending) {
			/* the first answer was good: keep it */
			finish_pending(h, st);
		} else if (r < 0) {
			atv_err_prefix(&perr, "%s", h->hp->host);
			st->bad = r;
			st->bad_err = perr;
			h->done = true;
		} else if (!nsvc) {
			continue; /* nothing about Apple TV services: keep waiting */
		} else {
			for (size_t i = 0; i < nsvc; i++)
				if (!svcs[i].address[0])
					snprintf(svcs[i].address, sizeof svcs[i].address, "%s",
						 h->addr);
			if (h->pending) {
				bool complete = merge(h, svcs, nsvc);

				atv_dnssd_svcs_free(svcs, nsvc);
				if (complete)
					finish_pending(h, st);
			} else if (!start_resolve(h, svcs, nsvc)) {
				deliver(h, st, svcs, nsvc);
			}
		}
	}
	return 0;
}

int atv_unicast_scan(const struct atv_hostport *hosts, size_t n, int timeout_ms, atv_unicast_cb cb,
		     void *ctx, struct atv_err *err)
{
	struct scan_state st = {.cb = cb, .ctx = ctx};
	uint8_t query[512];
	size_t qlen = 0, ntypes = 0;
	struct uhost *h = NULL;
	struct pollfd *pfd = NULL;
	struct uhost **pfh = NULL;
	int64_t deadline;
	int r = 0;

	if (!n)
		return 0;
	while (atv_mdns_service_types[ntypes])
		ntypes++;
	h = calloc(n, sizeof *h);
	pfd = calloc(n, sizeof *pfd);
	pfh = calloc(n, sizeof *pfh);
	st.buf = malloc(ATV_MDNS_MAX_PACKET);
	if (!h || !pfd || !pfh || !st.buf) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		h[i].hp = &hosts[i];
		h[i].udp = -1;
		for (int k = 0; k < N_KNOCK; k++)
			h[i].knock[k] = -1;
	}
	/* resolve everything first: a misspelt host fails before any traffic */
	for (size_t i = 0; i < n; i++) {
		r = resolve(&h[i], err);
		if (r < 0)
			goto out;
	}
	r = atv_mdns_build_query(atv_mdns_service_types, ntypes, true,
				 (uint16_t)(atv_clock_ms() & 0xffff), query, sizeof query, &qlen, err);
	if (r < 0)
		goto out;
	deadline = atv_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (size_t i = 0; i < n; i++) {
		knock(&h[i]);
		r = open_udp(&h[i], err);
		if (r < 0)
			goto out;
		h[i].next_send = atv_clock_ms();
		atv_info("unicast: asking %s port %d for Apple TV services (for %d ms at most)",
			 h[i].hp->host, h[i].hp->port, timeout_ms);
	}
	for (;;) {
		int64_t now = atv_clock_ms(), wake = deadline;
		nfds_t np = 0;
		int pr;

		if (now >= deadline)
			break;
		for (size_t i = 0; i < n; i++) {
			if (h[i].pending && h[i].resolve_deadline <= now)
				finish_pending(&h[i], &st);
			if (st.stop)
				goto out;
			if (h[i].done)
				continue;
			if (h[i].pending && h[i].resolve_deadline < wake)
				wake = h[i].resolve_deadline;
			if (h[i].next_send <= now) {
				if (h[i].pending)
					send_query(&h[i], h[i].resolve, h[i].resolve_len);
				else
					send_query(&h[i], query, qlen);
				h[i].next_send = now + RESEND_MS;
			}
			if (h[i].next_send < wake)
				wake = h[i].next_send;
			pfd[np].fd = h[i].udp;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			pfh[np++] = &h[i];
		}
		if (!np)
			break;
		pr = poll(pfd, np, (int)(wake - now));
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			r = atv_err_sys(err, ATV_E_IO, errno, "poll");
			goto out;
		}
		for (nfds_t i = 0; i < np && pr > 0; i++) {
			if (!pfd[i].revents)
				continue;
			r = receive(pfh[i], &st, err);
			if (r < 0)
				goto out;
			if (st.stop)
				goto out;
		}
	}
	/* at the timeout, what a host said without its SRV/TXT is still an answer */
	for (size_t i = 0; i < n; i++) {
		if (h[i].pending)
			finish_pending(&h[i], &st);
		if (!h[i].done)
			atv_info("unicast: no answer from %s within %d ms", h[i].hp->host,
				 timeout_ms);
	}
	if (!st.any_good && st.bad) {
		r = st.bad;
		if (err)
			*err = st.bad_err;
	}
out:
	for (size_t i = 0; h && i < n; i++) {
		atv_dnssd_svcs_free(h[i].pending, h[i].n_pending);
		free(h[i].resolve);
		if (h[i].udp >= 0)
			close(h[i].udp);
		for (int k = 0; k < N_KNOCK; k++)
			if (h[i].knock[k] >= 0)
				close(h[i].knock[k]);
	}
	free(h);
	free(pfd);
	free(pfh);
	free(st.buf);
	return r;
}
