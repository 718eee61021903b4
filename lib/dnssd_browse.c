/* dnssd_browse.c - multicast DNS-SD through avahi-client.
 *
 * One service browser per Apple TV service type, one resolver per new
 * instance, all driven by an AvahiSimplePoll that runs until the caller's
 * callback says stop, the timeout fires, or the daemon goes away.  Every
 * avahi object is owned by struct browse and freed before atv_browse()
 * returns.  Avahi is not linked: every call goes through the table that
 * avahi_dl.c loads on the first browse. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "avahi_dl.h"
#include "dnssd_browse.h"
#include "dnssd.h"
#include "err.h"
#include "log.h"
#include "dnssd_packet.h"
#include "banned.h"

/* Bounds on what a busy or hostile network can make us hold at once.  A
 * new instance beyond BROWSE_MAX_PENDING is not resolved; beyond
 * BROWSE_MAX_SEEN, reports are no longer de-duplicated. */
#define BROWSE_MAX_PENDING 256
#define BROWSE_MAX_SEEN 1024

struct browse;

struct browse_type {
	struct browse *b;
	AvahiServiceBrowser *sb;
	bool all_for_now;
};

struct browse_resolver {
	struct browse *b;
	AvahiServiceResolver *sr;
	struct browse_resolver *next;
	struct browse_resolver *prev;
};

/* What was reported, to drop the same (type, name, address) arriving again
 * through another interface, or again after it left and came back. */
struct browse_seen {
	char *type;
	char *name;
	char address[INET6_ADDRSTRLEN];
};

struct browse {
	const struct atv_avahi *av;
	AvahiSimplePoll *sp;
	AvahiClient *client;
	AvahiTimeout *timeout;
	struct browse_type *types;
	size_t n_types;
	size_t n_all_for_now;
	struct browse_resolver *pending;
	size_t n_pending;
	struct browse_seen *seen;
	size_t n_seen;
	bool quiet; /* cb(NULL) was called and nothing started since */
	bool done;
	int rc;
	struct atv_err *err;
	atv_browse_cb cb;
	void *ctx;
};

static void browse_stop(struct browse *b)
{
	b->done = true;
	b->av->simple_poll_quit(b->sp);
}

static void browse_fail(struct browse *b, int rc)
{
	b->rc = rc;
	browse_stop(b);
}

/* Quiet: every browser has reported ALL_FOR_NOW (the daemon's cache has
 * been answered for now) and no resolve is still out. */
static void browse_check_quiet(struct browse *b)
{
	if (b->done || b->quiet || b->n_pending || b->n_all_for_now < b->n_types)
		return;
	b->quiet = true;
	atv_debug("avahi: browse quiet");
	if (b->cb(b->ctx, NULL))
		browse_stop(b);
}

static bool browse_seen_has(const struct browse *b, const struct atv_dnssd_svc *svc)
{
	for (size_t i = 0; i < b->n_seen; i++) {
		const struct browse_seen *s = &b->seen[i];

		if (!strcmp(s->address, svc->address) && !strcmp(s->type, svc->type) &&
		    !strcmp(s->name, svc->name))
			return true;
	}
	return false;
}

static int browse_seen_add(struct browse *b, const struct atv_dnssd_svc *svc)
{
	struct browse_seen *s;

	if (b->n_seen >= BROWSE_MAX_SEEN)
		return 0;
	s = realloc(b->seen, (b->n_seen + 1) * sizeof *s);
	if (!s)
		return -ATV_E_NOMEM;
	b->seen = s;
	s = &b->seen[b->n_seen];
	s->type = strdup(svc->type);
	s->name = strdup(svc->name);
	if (!s->type || !s->name) {
		free(s->type);
		free(s->name);
		return -ATV_E_NOMEM;
	}
	memcpy(s->address, svc->address, sizeof s->address);
	b->n_seen++;
	return 0;
}

/* Copy the TXT pairs of one resolve.  avahi-client hands the strings over
 * in wire order (checked against a capture), and atv_dnssd_add_txt keeps
 * the first of a repeated key, as RFC 6763 6.4 asks.  Past
 * ATV_DNSSD_MAX_TXT pairs this stops with -ATV_E_LIMIT, keeping the first. */
static int browse_add_txt(const struct browse *b, struct atv_dnssd_svc *svc, AvahiStringList *txt)
{
	int rc = 0;

	for (AvahiStringList *l = txt; l && rc == 0; l = b->av->string_list_get_next(l)) {
		char *key = NULL, *value = NULL;
		size_t len = 0;

		if (b->av->string_list_get_pair(l, &key, &value, &len) < 0)
			return -ATV_E_NOMEM;
		rc = atv_dnssd_add_txt(svc, key, value ? value : "", value ? len : 0);
		b->av->free(key);
		b->av->free(value);
	}
	return rc;
}

static void browse_report(struct browse *b, const char *name, const char *type,
			  const char *host, const AvahiAddress *a, uint16_t port,
			  AvahiStringList *txt)
{
	struct atv_dnssd_svc svc = {0};
	int rc;

	svc.type = strdup(type);
	svc.name = strdup(name);
	svc.host = host ? strdup(host) : NULL;
	if (!svc.type || !svc.name || (host && !svc.host)) {
		rc = atv_err_set(b->err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (a)
		b->av->address_snprint(svc.address, sizeof svc.address, a);
	svc.port = port;
	rc = browse_add_txt(b, &svc, txt);
	if (rc == -ATV_E_LIMIT) {
		atv_warn("avahi: %s.%s: more than %d txt entries, keeping the first", name, type,
			 ATV_DNSSD_MAX_TXT);
		rc = 0;
	} else if (rc < 0) {
		rc = atv_err_set(b->err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (browse_seen_has(b, &svc))
		goto out;
	rc = browse_seen_add(b, &svc);
	if (rc < 0) {
		rc = atv_err_set(b->err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	atv_debug("avahi: resolved %s.%s at %s:%u", name, type, svc.address, (unsigned)port);
	if (b->cb(b->ctx, &svc))
		browse_stop(b);
out:
	atv_dnssd_svc_release(&svc);
	if (rc < 0)
		browse_fail(b, rc);
}

static void browse_resolver_free(struct browse *b, struct browse_resolver *res)
{
	if (res->prev)
		res->prev->next = res->next;
	else
		b->pending = res->next;
	if (res->next)
		res->next->prev = res->prev;
	b->n_pending--;
	b->av->service_resolver_free(res->sr);
	free(res);
}

static void resolve_cb(AvahiServiceResolver *sr, AvahiIfIndex ifindex, AvahiProtocol proto,
		       AvahiResolverEvent event, const char *name, const char *type,
		       const char *domain, const char *host, const AvahiAddress *a, uint16_t port,
		       AvahiStringList *txt, AvahiLookupResultFlags flags, void *userdata)
{
	struct browse_resolver *res = userdata;
	struct browse *b = res->b;

	(void)sr;
	(void)ifindex;
	(void)proto;
	(void)domain;
	(void)flags;
	if (event == AVAHI_RESOLVER_FOUND && !b->done)
		browse_report(b, name, type, host, a, port, txt);
	else if (event == AVAHI_RESOLVER_FAILURE)
		atv_debug("avahi: unable to resolve %s.%s: %s", name, type,
			  b->av->strerror(b->av->client_errno(b->client)));
	/* One answer per resolve is all a scan wants; freeing the resolver
	 * from its own callback is allowed by avahi-client. */
	browse_resolver_free(b, res);
	browse_check_quiet(b);
}

static void browse_resolve(struct browse *b, AvahiIfIndex ifindex, AvahiProtocol proto,
			   const char *name, const char *type, const char *domain)
{
	struct browse_resolver *res;

	if (b->n_pending >= BROWSE_MAX_PENDING) {
		atv_warn("avahi: too many services to resolve, skipping %s.%s", name, type);
		return;
	}
	res = calloc(1, sizeof *res);
	if (!res) {
		browse_fail(b, atv_err_set(b->err, ATV_E_NOMEM, "out of memory"));
		return;
	}
	res->b = b;
	res->sr = b->av->service_resolver_new(b->client, ifindex, proto, name, type, domain,
					      AVAHI_PROTO_INET, 0, resolve_cb, res);
	if (!res->sr) {
		atv_debug("avahi: unable to resolve %s.%s: %s", name, type,
			  b->av->strerror(b->av->client_errno(b->client)));
		free(res);
		return;
	}
	res->next = b->pending;
	if (res->next)
		res->next->prev = res;
	b->pending = res;
	b->n_pending++;
	b->quiet = false;
}

static void browse_cb(AvahiServiceBrowser *sb, AvahiIfIndex ifindex, AvahiProtocol proto,
		      AvahiBrowserEvent event, const char *name, const char *type,
		      const char *domain, AvahiLookupResultFlags flags, void *userdata)
{
	struct browse_type *t = userdata;
	struct browse *b = t->b;

	(void)sb;
	(void)flags;
	if (b->done)
		return;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		browse_resolve(b, ifindex, proto, name, type, domain);
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
		if (!t->all_for_now) {
			t->all_for_now = true;
			b->n_all_for_now++;
		}
		browse_check_quiet(b);
		break;
	case AVAHI_BROWSER_FAILURE:
		browse_fail(b, atv_err_set(b->err, ATV_E_UNREACHABLE,
					   "avahi-daemon failed browsing %s: %s", type ? type : "",
					   b->av->strerror(b->av->client_errno(b->client))));
		break;
	case AVAHI_BROWSER_REMOVE:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata)
{
	struct browse *b = userdata;

	/* Called from within avahi_client_new() too, before b->client is set,
	 * so use c. */
	if (state == AVAHI_CLIENT_FAILURE && !b->done)
		browse_fail(b, atv_err_set(b->err, ATV_E_UNREACHABLE,
					   "lost connection to avahi-daemon: %s",
					   b->av->strerror(b->av->client_errno(c))));
}

static void timeout_cb(AvahiTimeout *t, void *userdata)
{
	struct browse *b = userdata;

	(void)t;
	atv_debug("avahi: browse timed out");
	browse_stop(b);
}

static size_t count_types(void)
{
	size_t n = 0;

	while (atv_mdns_service_types[n])
		n++;
	return n;
}

int atv_browse(int timeout_ms, atv_browse_cb cb, void *ctx, struct atv_err *err)
{
	struct browse b = {.err = err, .cb = cb, .ctx = ctx};
	const AvahiPoll *api = NULL;
	struct timeval tv;
	int aerr = 0;

	if (timeout_ms < 0 || !cb)
		return atv_err_set(err, ATV_E_USAGE, "bad browse arguments");
	/* Loaded here, not at start-up: only a multicast scan pays for
	 * avahi, libdbus and the libraries they pull in. */
	b.rc = atv_avahi_load(&b.av, err);
	if (b.rc < 0)
		return b.rc;
	b.sp = b.av->simple_poll_new();
	b.n_types = count_types();
	b.types = calloc(b.n_types ? b.n_types : 1, sizeof *b.types);
	if (!b.sp || !b.types) {
		b.rc = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	api = b.av->simple_poll_get(b.sp);
	/* No AVAHI_CLIENT_NO_FAIL: a missing daemon is an error now rather
	 * than a wait for it to appear. */
	b.client = b.av->client_new(api, 0, client_cb, &b, &aerr);
	if (!b.client) {
		b.rc = atv_err_set(err, aerr == AVAHI_ERR_NO_MEMORY ? ATV_E_NOMEM : ATV_E_UNREACHABLE,
				   "unable to reach avahi-daemon: %s", b.av->strerror(aerr));
		goto out;
	}
	if (b.done)
		goto out;
	for (size_t i = 0; i < b.n_types; i++) {
		b.types[i].b = &b;
		/* IPv4 only.  Devices are merged by address and the unicast
		 * scan reports IPv4, so an IPv6 sighting of the same service
		 * would at best duplicate it, with a link-local address that
		 * is useless without its interface; and resolving an IPv6
		 * sighting to an IPv4 address fails after avahi's 5 s resolver
		 * timeout (avahi does not publish A records over IPv6 by
		 * default), which would hold back the end of every scan. */
		b.types[i].sb = b.av->service_browser_new(b.client, AVAHI_IF_UNSPEC,
							  AVAHI_PROTO_INET,
							  atv_mdns_service_types[i], "local", 0,
							  browse_cb, &b.types[i]);
		if (!b.types[i].sb) {
			b.rc = atv_err_set(err, ATV_E_UNREACHABLE,
					   "unable to browse %s through avahi-daemon: %s",
					   atv_mdns_service_types[i],
					   b.av->strerror(b.av->client_errno(b.client)));
			goto out;
		}
	}
	b.timeout = api->timeout_new(api, b.av->elapse_time(&tv, (unsigned)timeout_ms, 0),
				      timeout_cb, &b);
	if (!b.timeout) {
		b.rc = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (b.av->simple_poll_loop(b.sp) < 0 && !b.done)
		b.rc = atv_err_set(err, ATV_E_IO, "avahi event loop failed");
out:
	while (b.pending)
		browse_resolver_free(&b, b.pending);
	for (size_t i = 0; b.types && i < b.n_types; i++)
		if (b.types[i].sb)
			b.av->service_browser_free(b.types[i].sb);
	if (b.timeout)
		api->timeout_free(b.timeout);
	if (b.client)
		b.av->client_free(b.client);
	if (b.sp)
		b.av->simple_poll_free(b.sp);
	for (size_t i = 0; i < b.n_seen; i++) {
		free(b.seen[i].type);
		free(b.seen[i].name);
	}
	free(b.seen);
	free(b.types);
	return b.rc;
}
