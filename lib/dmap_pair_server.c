/* dmap_pair_server.c - the Remote pairing HTTP server and its
 * _touch-remote._tcp publication.
 *
 * No threads: libmicrohttpd runs in its "external" mode with its sockets
 * in one epoll fd (MHD_USE_EPOLL), and the publication on an avahi simple
 * poll; atv_dmap_pair_server_wait drives both from one poll() (through
 * avahi_simple_poll_set_func, which lets us add libmicrohttpd's fd to the
 * ones avahi polls), so the request handler and the avahi callbacks run in
 * the caller's thread, inside wait. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "avahi_dl.h"
#include "buf.h"
#include "crypto.h"
#include "dmap_pair.h"
#include "dmap_pair_server.h"
#include "log.h"
#include "tcp.h"
#include "banned.h"

#define SERVICE_TYPE	 "_touch-remote._tcp"
#define ANSWER_MAX	 512 /* cmpa{cmpg, cmnm, cmty} with a name of at most NAME_MAX */
#define NAME_MAX_LEN	 128
#define MAX_CONNECTIONS	 8
#define CONN_TIMEOUT_SEC 10
#define MAX_WRONG	 10 /* wrong codes before we stop listening to guesses */

struct atv_dmap_pair_server {
	uint64_t guid;
	unsigned pin;
	char name[NAME_MAX_LEN + 1];
	char guid_hex[ATV_DMAP_GUID_HEXLEN + 1];
	struct MHD_Daemon *mhd;
	int mhd_fd; /* its epoll fd */
	int port;

	int round; /* ms the current round of wait may sleep, -1: no limit */

	bool paired;
	unsigned wrong; /* requests with a wrong code */
	bool gave_up;	/* the MAX_WRONG-th one has been answered */

	/* the publication (sp NULL when not published) */
	const struct atv_avahi *av;
	AvahiSimplePoll *sp;
	AvahiClient *client;
	AvahiEntryGroup *group;
	bool added;	/* the service is in group */
	char *svc_name; /* avahi_malloc'd by alternative_service_name, or NULL */
};


static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
			     size_t len, const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* A value the device sent, fit for a log line: at most 64 bytes, anything
 * but printable ASCII as '?'. */
static void printable(const char *in, char out[65])
{
	size_t i = 0;

	for (; in && in[i] && i < 64; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* GET /pair?pairingcode=<32 hex>&servicename=<the device's id>: the device
 * asks whether the PIN its user typed is ours.  The right code gets
 * cmpa{cmpg, cmnm, cmty}; anything else 404, which the Apple TV shows as a
 * wrong PIN.  Anyone on the network can read our GUID from the TXT record
 * and try PINs, so after MAX_WRONG wrong codes every request is refused and
 * the wait fails. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct atv_dmap_pair_server *s = cls;
	const char *code;
	char svc[65];
	struct atv_err e = {0};
	struct atv_buf body;
	enum MHD_Result mr;
	int r;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (strcmp(url, "/pair") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "", 0, NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "", 0, NULL);
	if (s->wrong >= MAX_WRONG)
		return reply(c, MHD_HTTP_NOT_FOUND, "", 0, NULL);
	code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pairingcode");
	printable(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "servicename"), svc);
	r = atv_dmap_pair_check(s->guid, s->pin, code, &e);
	if (r < 0) {
		if (++s->wrong >= MAX_WRONG)
			*req_cls = &s->wrong; /* on_completed ends the wait */
		atv_warn("dmap pairing request%s%s with %s", svc[0] ? " from " : "", svc,
			 r == -ATV_E_AUTH ? "a wrong pin" : "a malformed code");
		return reply(c, MHD_HTTP_NOT_FOUND, "", 0, NULL);
	}
	atv_buf_init(&body, ANSWER_MAX);
	r = atv_dmap_pair_answer(&body, s->guid, s->name, NULL, &e);
	if (r < 0) {
		atv_buf_release(&body);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
	}
	mr = reply(c, MHD_HTTP_OK, body.data, body.len, "application/x-dmap-tagged");
	atv_buf_release(&body);
	if (mr == MHD_YES) {
		atv_info("dmap pairing request%s%s with the right pin", svc[0] ? " from " : "",
			 svc);
		*req_cls = &s->paired; /* on_completed: paired once the answer is out */
	}
	return mr;
}

/* The device is paired only once it has our whole answer, and the waiter
 * learns of the last wrong code only once its 404 is out: ending the wait
 * earlier could stop the server while the answer is still on its way. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct atv_dmap_pair_server *s = cls;

	(void)c;
	if (*req_cls == &s->paired && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		s->paired = true;
	else if (*req_cls == &s->wrong)
		s->gave_up = true;
	*req_cls = NULL;
}

/* --- the publication, on avahi's simple poll -------------------------- */

static void publish_add(struct atv_dmap_pair_server *s, AvahiClient *client);

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state, void *ctx)
{
	struct atv_dmap_pair_server *s = ctx;
	const char *name = s->svc_name ? s->svc_name : s->guid_hex;
	char *alt;

	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		atv_info("published %s \"%s\" on port %d", SERVICE_TYPE, name, s->port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		/* someone has our name: publish under "NAME #2" instead */
		alt = s->av->alternative_service_name(name);
		if (!alt)
			break;
		s->av->free(s->svc_name);
		s->svc_name = alt;
		s->av->entry_group_reset(g);
		s->group = g;
		s->added = false;
		publish_add(s, NULL);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		atv_warn("unable to publish %s: %s", SERVICE_TYPE,
			 s->av->strerror(s->av->client_errno(s->client)));
		break;
	default: break;
	}
}

/* Add the service to the (new or reset) entry group and commit it.  TXT as
 * the iOS Remote app publishes it; Pair is the GUID the device hashes with
 * the PIN. */
static void publish_add(struct atv_dmap_pair_server *s, AvahiClient *client)
{
	const struct atv_avahi *av = s->av;
	AvahiStringList *txt = NULL;
	int r;

	if (!s->group) {
		s->group = av->entry_group_new(client, group_cb, s);
		if (!s->group) {
			atv_warn("unable to publish %s: %s", SERVICE_TYPE,
				 av->strerror(av->client_errno(client)));
			return;
		}
	}
	txt = av->string_list_add_pair(txt, "DvNm", s->name);
	txt = av->string_list_add_pair(txt, "RemV", "10000");
	txt = av->string_list_add_pair(txt, "DvTy", "iPod");
	txt = av->string_list_add_pair(txt, "RemN", "Remote");
	txt = av->string_list_add_pair(txt, "txtvers", "1");
	txt = av->string_list_add_pair(txt, "Pair", s->guid_hex);
	r = av->entry_group_add_service_strlst(s->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0,
					       s->svc_name ? s->svc_name : s->guid_hex,
					       SERVICE_TYPE, NULL, NULL, (uint16_t)s->port, txt);
	av->string_list_free(txt);
	if (r >= 0)
		r = av->entry_group_commit(s->group);
	if (r >= 0)
		s->added = true;
	else
		atv_warn("unable to publish %s: %s", SERVICE_TYPE, av->strerror(r));
}

static void client_cb(AvahiClient *client, AvahiClientState state, void *ctx)
{
	struct atv_dmap_pair_server *s = ctx;

	/* the first call comes from within client_new, before it returns */
	s->client = client;
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		if (!s->added)
			publish_add(s, client);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* the host name changes: withdraw, and add again once RUNNING */
		if (s->group)
			s->av->entry_group_reset(s->group);
		s->added = false;
		break;
	case AVAHI_CLIENT_FAILURE:
		atv_warn("avahi-daemon went away: %s is no longer published", SERVICE_TYPE);
		break;
	default: break;
	}
}

/* Room for avahi's fds (its D-Bus connection: one or two) and ours. */
#define POLL_FDS 16

/* AvahiPollFunc, instead of poll(): avahi's fds and libmicrohttpd's
 * together, no longer than the round of wait allows.  Returns what poll()
 * would have for avahi's fds alone. */
static int poll_both(struct pollfd *ufds, unsigned nfds, int timeout, void *ctx)
{
	struct atv_dmap_pair_server *s = ctx;
	struct pollfd p[POLL_FDS];
	int n;

	if (s->round >= 0 && (timeout < 0 || s->round < timeout))
		timeout = s->round;
	if (nfds >= POLL_FDS) {
		/* not seen with avahi 0.8: run ours at least every 50 ms */
		n = poll(ufds, nfds, timeout < 0 || timeout > 50 ? 50 : timeout);
		return n < 0 && errno == EINTR ? 0 : n;
	}
	memcpy(p, ufds, nfds * sizeof *p);
	p[nfds] = (struct pollfd){.fd = s->mhd_fd, .events = POLLIN};
	n = poll(p, nfds + 1, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : n; /* a signal: as a timeout */
	memcpy(ufds, p, nfds * sizeof *p);
	return p[nfds].revents ? n - 1 : n;
}

/* Publish through avahi-daemon; every failure is a warning (the device can
 * still be pointed at our port) and leaves nothing running. */
static void publish_start(struct atv_dmap_pair_server *s)
{
	struct atv_err e = {0};
	int aerr = 0;

	if (atv_avahi_load(&s->av, &e) < 0) {
		atv_warn("not publishing %s: %s", SERVICE_TYPE, e.msg);
		return;
	}
	s->sp = s->av->simple_poll_new();
	if (!s->sp) {
		atv_warn("not publishing %s: out of memory", SERVICE_TYPE);
		return;
	}
	s->av->simple_poll_set_func(s->sp, poll_both, s);
	s->client = s->av->client_new(s->av->simple_poll_get(s->sp), 0, client_cb, s, &aerr);
	if (!s->client) {
		/* client_new freed what its callbacks may have seen */
		s->client = NULL;
		s->group = NULL;
		atv_warn("not publishing %s: avahi-daemon: %s", SERVICE_TYPE,
			 s->av->strerror(aerr));
		goto fail;
	}
	return;
fail:
	if (s->group)
		s->av->entry_group_free(s->group);
	s->av->simple_poll_free(s->sp);
	s->group = NULL;
	s->sp = NULL;
}

static void publish_stop(struct atv_dmap_pair_server *s)
{
	if (!s->sp)
		return;
	if (s->group)
		s->av->entry_group_free(s->group);
	s->av->client_free(s->client);
	s->av->simple_poll_free(s->sp);
	s->av->free(s->svc_name);
	s->sp = NULL;
	s->client = NULL;
	s->group = NULL;
	s->svc_name = NULL;
}

/* --- the public part -------------------------------------------------- */

int atv_dmap_pair_server_start(const struct atv_dmap_pair_server_opts *o,
			       struct atv_dmap_pair_server **out, struct atv_err *err)
{
	struct atv_dmap_pair_server *s = NULL;
	const union MHD_DaemonInfo *info;
	const char *name = o->name ? o->name : "atv-tools";
	int r;

	*out = NULL;
	if (o->pin > ATV_DMAP_PIN_MAX)
		return atv_err_set(err, ATV_E_USAGE, "a dmap pin is 4 digits");
	if (o->port < 0 || o->port > 65535)
		return atv_err_set(err, ATV_E_USAGE, "port %d is out of range", o->port);
	if (!name[0] || strlen(name) > NAME_MAX_LEN)
		return atv_err_set(err, ATV_E_USAGE, "the remote name must be 1 to %d bytes",
				   NAME_MAX_LEN);
	s = calloc(1, sizeof *s);
	if (!s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	s->mhd_fd = -1;
	s->round = -1;
	s->guid = o->guid;
	s->pin = o->pin;
	memcpy(s->name, name, strlen(name) + 1);
	atv_dmap_guid_hex(o->guid, s->guid_hex);
	errno = 0;
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL, (uint16_t)o->port, NULL, NULL, on_request, s,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_SEC,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->mhd) {
		r = atv_err_sys(err, ATV_E_IO, errno ? errno : EADDRINUSE,
				"unable to listen on port %d", o->port);
		goto out;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->mhd_fd = info ? info->epoll_fd : -1;
	if (s->mhd_fd < 0) {
		r = atv_err_set(err, ATV_E_IO, "libmicrohttpd gave no epoll fd");
		goto out;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : o->port;
	atv_info("waiting for the device's dmap pairing request on port %d", s->port);
	if (o->publish)
		publish_start(s);
	r = 0;
out:
	if (r < 0) {
		atv_dmap_pair_server_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int atv_dmap_pair_server_port(const struct atv_dmap_pair_server *s)
{
	return s->port;
}

/* How long the next round of wait may sleep: until libmicrohttpd's next
 * timer (a connection that timed out) or the deadline; -1: no limit. */
static int round_ms(struct atv_dmap_pair_server *s, long long deadline)
{
	MHD_UNSIGNED_LONG_LONG t;
	long long ms = -1;

	if (MHD_get_timeout(s->mhd, &t) == MHD_YES)
		ms = t > 60000 ? 60000 : (long long)t;
	if (deadline >= 0) {
		long long left = deadline - atv_clock_ms();

		if (left < 0)
			left = 0;
		if (ms < 0 || left < ms)
			ms = left;
	}
	return (int)ms;
}

int atv_dmap_pair_server_wait(struct atv_dmap_pair_server *s, int timeout_ms, struct atv_err *err)
{
	long long deadline = timeout_ms < 0 ? -1 : atv_clock_ms() + timeout_ms;

	for (;;) {
		if (s->paired)
			return 0;
		if (s->gave_up)
			return atv_err_set(err, ATV_E_AUTH,
					   "wrong pin %u times: no more pairing requests accepted",
					   s->wrong);
		if (deadline >= 0 && atv_clock_ms() >= deadline)
			break;
		s->round = round_ms(s, deadline);
		if (s->sp) {
			/* avahi's callbacks run in here, and poll_both polls
			 * libmicrohttpd's fd with avahi's */
			if (s->av->simple_poll_iterate(s->sp, s->round) < 0)
				return atv_err_sys(err, ATV_E_IO, errno,
						   "unable to wait for the device");
		} else {
			struct pollfd p = {.fd = s->mhd_fd, .events = POLLIN};

			if (poll(&p, 1, s->round) < 0 && errno != EINTR)
				return atv_err_sys(err, ATV_E_IO, errno,
						   "unable to wait for the device");
		}
		/* requests and their answers: on_request, on_completed */
		MHD_run(s->mhd);
	}
	if (s->wrong > 0)
		return atv_err_set(
		    err, ATV_E_AUTH,
		    "wrong pin: the device sent %u pairing request%s with another pin", s->wrong,
		    s->wrong == 1 ? "" : "s");
	return atv_err_set(err, ATV_E_UNREACHABLE,
			   "no pairing request from the device within %d s (was the pin entered?)",
			   (timeout_ms + 999) / 1000);
}

void atv_dmap_pair_server_free(struct atv_dmap_pair_server *s)
{
	if (!s)
		return;
	publish_stop(s);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	atv_crypto_wipe(s, sizeof *s); /* the PIN */
	free(s);
}
