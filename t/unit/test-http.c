/* test-http - lib/http.c against a libmicrohttpd server on 127.0.0.1: a
 * DMAP body with the Remote headers checked, keep-alive, POST, a 503, an
 * oversized body (declared and chunked), a gzip body decoded, a server
 * that stalls before and during the body, a refused connection, and a long
 * poll driven by a poll loop (atv_http_start/step) while another handle's
 * requests go on, then abandoned; then AirPlay's own messages (httpmsg.h)
 * through a direct channel (airplay_channel.h) on a TCP connection the test makes,
 * against the same independent server: plain, and encrypted through a
 * second channel whose local end the server gets with MHD_add_connection,
 * per-request headers, a reply that does not come in time, a device that
 * closes after a complete response, a chunked body refused, a block that
 * does not authenticate (cmocka). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "airplay_channel.h"
#include "hap.h"
#include "http.h"
#include "httpmsg.h"

/* mlog{mstt=200, mlid=0x1234abcd} */
/* clang-format off */
static const uint8_t login_body[] = {
	'm', 'l', 'o', 'g', 0, 0, 0, 24,			/* container */
	'm', 's', 't', 't', 0, 0, 0, 4, 0, 0, 0, 200,		/* status */
	'm', 'l', 'i', 'd', 0, 0, 0, 4, 0x12, 0x34, 0xab, 0xcd, /* session */
};
/* the same, as gzip -n would send it */
static const uint8_t login_gzip[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0xcd,
	0xc9, 0x4f, 0x67, 0x60, 0x60, 0x90, 0xc8, 0x2d, 0x2e, 0x29, 0x01, 0xd2,
	0x2c, 0x40, 0x7c, 0x22, 0x37, 0x27, 0x33, 0x05, 0xc4, 0x16, 0x32, 0x59,
	0x7d, 0x16, 0x00, 0xa5, 0x79, 0x92, 0x4c, 0x20, 0x00, 0x00, 0x00,
};
/* clang-format on */

#define BIG_LEN (64 * 1024)

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	char base[64];
	int release[2]; /* written at teardown: stalled handlers return */
	int held[2];	/* the /hold handler writes here: it has the request */
	pthread_mutex_t lock;
	unsigned connections; /* TCP connections accepted */
	char daap_version[32], user_agent[64], viewer_only[8], content_type[64];
	char accept[16], accept_encoding[32];
	char hkp[16], xreq[32];
	char post_body[64];
	size_t post_len;
};

static struct server *srv;

/* Block a connection's thread (one thread per connection) until teardown. */
static void stall(void)
{
	struct pollfd p = {srv->release[0], POLLIN, 0};

	while (poll(&p, 1, -1) < 0)
		;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, size, "%s", v ? v : "");
}

static ssize_t slow_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	if (pos == 0 && max >= 8) {
		memcpy(buf, login_body, 8); /* a header, then nothing */
		return 8;
	}
	stall();
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static ssize_t chunked_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t n = max < 4096 ? max : 4096;

	(void)cls;
	if (pos >= BIG_LEN)
		return MHD_CONTENT_READER_END_OF_STREAM;
	memset(buf, 'x', n);
	return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *p, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/x-dmap-tagged");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **req)
{
	static int first;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!*req) {
		*req = &first; /* the headers: wait for the body, if any */
		return MHD_YES;
	}
	if (strcmp(method, "POST") == 0 && *upload_size) {
		pthread_mutex_lock(&srv->lock);
		if (srv->post_len + *upload_size <= sizeof srv->post_body) {
			memcpy(srv->post_body + srv->post_len, upload, *upload_size);
			srv->post_len += *upload_size;
		}
		pthread_mutex_unlock(&srv->lock);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv->lock);
	copy_header(c, "Client-DAAP-Version", srv->daap_version, sizeof srv->daap_version);
	copy_header(c, "User-Agent", srv->user_agent, sizeof srv->user_agent);
	copy_header(c, "Viewer-Only-Client", srv->viewer_only, sizeof srv->viewer_only);
	copy_header(c, "Accept", srv->accept, sizeof srv->accept);
	copy_header(c, "Accept-Encoding", srv->accept_encoding, sizeof srv->accept_encoding);
	copy_header(c, "Content-Type", srv->content_type, sizeof srv->content_type);
	copy_header(c, "X-Apple-HKP", srv->hkp, sizeof srv->hkp);
	copy_header(c, "X-Req", srv->xreq, sizeof srv->xreq);
	pthread_mutex_unlock(&srv->lock);

	if (strcmp(url, "/login") == 0)
		return reply(c, 200, login_body, sizeof login_body);
	if (strcmp(url, "/post") == 0)
		return reply(c, 204, NULL, 0);
	if (strcmp(url, "/gzip") == 0) {
		/* as a device that honours Accept-Encoding: gzip does */
		r = MHD_create_response_from_buffer(sizeof login_gzip, (void *)login_gzip,
						    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Type", "application/x-dmap-tagged");
		MHD_add_response_header(r, "Content-Encoding", "gzip");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/busy") == 0)
		return reply(c, 503, "busy", 4);
	if (strcmp(url, "/close") == 0) {
		/* the whole response, then the server closes */
		r = MHD_create_response_from_buffer(sizeof login_body, (void *)login_body,
						    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Connection", "close");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/big") == 0) {
		static char big[BIG_LEN];

		return reply(c, 200, big, sizeof big);
	}
	if (strcmp(url, "/chunked") == 0) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, chunked_reader, NULL,
						      NULL);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/slow-body") == 0) {
		r = MHD_create_response_from_callback(sizeof login_body, 64, slow_reader, NULL,
						      NULL);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/slow-head") == 0) {
		stall();
		return MHD_NO;
	}
	if (strcmp(url, "/hold") == 0) {
		/* say the request is here, then hold it as a long poll with
		 * no change would */
		if (write(srv->held[1], "x", 1) != 1)
			return MHD_NO;
		stall();
		return MHD_NO;
	}
	return reply(c, 404, NULL, 0);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&srv->lock);
		srv->connections++;
		pthread_mutex_unlock(&srv->lock);
	}
}

static int setup(void **state)
{
	struct sockaddr_in sa = {0};
	const union MHD_DaemonInfo *info;

	srv = calloc(1, sizeof *srv);
	assert_non_null(srv);
	assert_int_equal(pipe(srv->release), 0);
	assert_int_equal(pipe(srv->held), 0);
	pthread_mutex_init(&srv->lock, NULL);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv->d =
	    /* ITC: connections the channel tests add with MHD_add_connection */
	    MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				 MHD_USE_ITC,
			     0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
	assert_non_null(srv->d);
	info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	srv->port = info->port;
	snprintf(srv->base, sizeof srv->base, "http://127.0.0.1:%u", srv->port);
	*state = srv;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (write(srv->release[1], "x", 1) != 1)
		return -1;
	MHD_stop_daemon(srv->d);
	close(srv->release[0]);
	close(srv->release[1]);
	close(srv->held[0]);
	close(srv->held[1]);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	srv = NULL;
	return 0;
}

static struct atv_http *client(void)
{
	struct atv_err err = {0};
	struct atv_http *h = atv_http_new(srv->base, &err);

	if (!h)
		fail_msg("atv_http_new: %s", err.msg);
	assert_int_equal(atv_http_add_remote_headers(h, &err), 0);
	return h;
}

static unsigned connections(void)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = srv->connections;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

static void test_dmap_body_keepalive(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	unsigned before = connections();
	long status;

	(void)state;
	h = client();
	atv_buf_init(&body, 1024);
	for (int i = 0; i < 3; i++) {
		atv_buf_reset(&body);
		assert_int_equal(
		    atv_http_get(h, "/login?pairing-guid=0x0000000000000001", &status, &body, &err),
		    0);
		assert_int_equal(status, 200);
		assert_int_equal(body.len, sizeof login_body);
		assert_memory_equal(body.data, login_body, sizeof login_body);
	}
	/* three requests, one connection */
	assert_int_equal(connections() - before, 1);
	pthread_mutex_lock(&srv->lock);
	assert_string_equal(srv->daap_version, "3.13");
	assert_string_equal(srv->user_agent, "Remote/1021");
	assert_string_equal(srv->viewer_only, "1");
	/* the Remote app's and pyatv's, which devices may check */
	assert_string_equal(srv->accept, "*/*");
	assert_string_equal(srv->accept_encoding, "gzip");
	pthread_mutex_unlock(&srv->lock);

	/* a gzip body reaches us decoded */
	atv_buf_reset(&body);
	assert_int_equal(atv_http_get(h, "/gzip", &status, &body, &err), 0);
	assert_int_equal(status, 200);
	assert_int_equal(body.len, sizeof login_body);
	assert_memory_equal(body.data, login_body, sizeof login_body);

	/* a path without its slash, no timeout at all: same result */
	{
		struct atv_http_req req = {.path = "login", .timeout_ms = ATV_HTTP_NO_TIMEOUT};

		atv_buf_reset(&body);
		assert_int_equal(atv_http_request(h, &req, &status, &body, &err), 0);
		assert_int_equal(status, 200);
		assert_int_equal(body.len, sizeof login_body);
	}
	atv_buf_release(&body);
	atv_http_free(h);
}

static void test_post(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	long status;

	(void)state;
	/* a proxy in the environment is not used for devices */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	h = client();
	atv_buf_init(&body, 1024);
	assert_int_equal(atv_http_post(h, "/post", "cmbe\0\0\0\0", 8, "application/x-dmap-tagged",
				       &status, &body, &err),
			 0);
	assert_int_equal(status, 204);
	assert_int_equal(body.len, 0);
	pthread_mutex_lock(&srv->lock);
	assert_int_equal(srv->post_len, 8);
	assert_memory_equal(srv->post_body, "cmbe\0\0\0\0", 8);
	assert_string_equal(srv->content_type, "application/x-dmap-tagged");
	pthread_mutex_unlock(&srv->lock);
	{
		struct atv_http_req req = {.method = "PUT", .path = "/post"};

		assert_int_equal(atv_http_request(h, &req, &status, &body, &err), -ATV_E_USAGE);
	}
	unsetenv("http_proxy");
	atv_buf_release(&body);
	atv_http_free(h);
}

static void test_status_503(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	long status;

	(void)state;
	h = client();
	atv_buf_init(&body, 1024);
	/* any status is a successful request here: the caller judges it */
	assert_int_equal(atv_http_get(h, "/busy", &status, &body, &err), 0);
	assert_int_equal(status, 503);
	assert_int_equal(body.len, 4);
	assert_memory_equal(body.data, "busy", 4);
	atv_buf_reset(&body);
	assert_int_equal(atv_http_get(h, "/nothing-here", &status, &body, &err), 0);
	assert_int_equal(status, 404);
	atv_buf_release(&body);
	atv_http_free(h);
}

static void test_oversized(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	long status;

	(void)state;
	h = client();
	atv_buf_init(&body, 1024);
	/* Content-Length past the cap: refused before the body */
	assert_int_equal(atv_http_get(h, "/big", &status, &body, &err), -ATV_E_LIMIT);
	assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "/big: response body larger than 1024 bytes"));
	assert_true(body.len <= 1024);
	/* chunked, no length: refused once past the cap */
	atv_buf_reset(&body);
	assert_int_equal(atv_http_get(h, "/chunked", &status, &body, &err), -ATV_E_LIMIT);
	assert_int_equal(err.code, ATV_E_LIMIT);
	assert_true(body.len <= 1024);
	/* the handle still works afterwards */
	atv_buf_reset(&body);
	assert_int_equal(atv_http_get(h, "/login", &status, &body, &err), 0);
	assert_int_equal(status, 200);
	/* a large enough buffer takes it all */
	atv_buf_release(&body);
	atv_buf_init(&body, BIG_LEN);
	assert_int_equal(atv_http_get(h, "/chunked", &status, &body, &err), 0);
	assert_int_equal(body.len, BIG_LEN);
	atv_buf_release(&body);
	atv_http_free(h);
}

static void test_timeouts(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	long status;

	(void)state;
	h = client();
	atv_http_set_timeouts(h, 0, 300);
	atv_buf_init(&body, 1024);
	/* no answer at all */
	assert_int_equal(atv_http_get(h, "/slow-head?session-id=99", &status, &body, &err),
			 -ATV_E_UNREACHABLE);
	assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "/slow-head: "));
	assert_null(strstr(err.msg, "session-id")); /* queries are never in messages */
	assert_non_null(strstr(err.msg, "timed out"));
	/* a body that starts and stalls; the per-request time wins */
	atv_http_set_timeouts(h, 0, 60000);
	{
		struct atv_http_req req = {.path = "/slow-body", .timeout_ms = 300};

		atv_buf_reset(&body);
		assert_int_equal(atv_http_request(h, &req, &status, &body, &err),
				 -ATV_E_UNREACHABLE);
		assert_int_equal(body.len, 8);
	}
	atv_buf_release(&body);
	atv_http_free(h);
}

/* Wait as a tool's poll loop does: poll h's fd (and held, when >= 0)
 * with h's timeout, step; the step's result (1 done, < 0 failed), or 0
 * when held turned readable first. */
static int drive(struct atv_http *h, int held, long *status, struct atv_err *err)
{
	for (int rounds = 0; rounds < 10000; rounds++) {
		struct pollfd p[2] = {{atv_http_fd(h), POLLIN, 0}, {held, POLLIN, 0}};
		int r = atv_http_step(h, status, err);

		if (r != 0)
			return r;
		assert_true(poll(p, held >= 0 ? 2 : 1, atv_http_timeout_ms(h)) >= 0);
		if (held >= 0 && p[1].revents)
			return 0;
	}
	fail_msg("the request never ended");
	return -1;
}

static void test_async(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h, *other;
	struct atv_buf body, b2;
	long status = 0;
	char c;

	(void)state;
	h = client();
	other = client();
	assert_int_equal(atv_http_fd(h), -1);
	atv_buf_init(&body, 1024);
	atv_buf_init(&b2, 1024);
	{
		/* a long poll that would wait for ever, driven by our loop */
		struct atv_http_req req = {.path = "/hold?revision-number=5",
					   .timeout_ms = ATV_HTTP_NO_TIMEOUT};

		assert_int_equal(atv_http_start(h, &req, &body, &err), 0);
		assert_true(atv_http_fd(h) >= 0);
		/* one at a time */
		assert_int_equal(atv_http_start(h, &req, &body, &err), -ATV_E_USAGE);
	}
	/* the server has it; the step does not block and it is not done */
	assert_int_equal(drive(h, srv->held[0], &status, &err), 0);
	assert_int_equal(read(srv->held[0], &c, 1), 1);
	assert_int_equal(atv_http_step(h, &status, &err), 0);
	/* commands go on meanwhile on the other handle */
	assert_int_equal(atv_http_get(other, "/login", &status, &b2, &err), 0);
	assert_int_equal(status, 200);
	assert_int_equal(atv_http_step(h, &status, &err), 0);
	/* a started handle does not block any more */
	assert_int_equal(atv_http_get(h, "/login", &status, &b2, &err), -ATV_E_USAGE);
	/* abandoned; the next one works, on a new connection, gzip too */
	atv_http_abort(h);
	{
		struct atv_http_req req = {.path = "/gzip"};

		assert_int_equal(atv_http_start(h, &req, &body, &err), 0);
	}
	assert_int_equal(drive(h, -1, &status, &err), 1);
	assert_int_equal(status, 200);
	assert_int_equal(body.len, sizeof login_body);
	assert_memory_equal(body.data, login_body, sizeof login_body);
	/* nothing under way: a step has nothing to do, no timer */
	assert_int_equal(atv_http_step(h, &status, &err), 0);
	assert_int_equal(atv_http_timeout_ms(h), -1);
	/* failures end the step with the blocking request's error */
	atv_http_set_timeouts(h, 0, 300);
	{
		struct atv_http_req req = {.path = "/slow-head?session-id=9"};

		atv_buf_reset(&body);
		assert_int_equal(atv_http_start(h, &req, &body, &err), 0);
	}
	assert_int_equal(drive(h, -1, &status, &err), -ATV_E_UNREACHABLE);
	assert_non_null(strstr(err.msg, "/slow-head: "));
	assert_non_null(strstr(err.msg, "timed out"));
	{
		struct atv_http_req req = {.path = "/big"};

		atv_buf_reset(&body);
		assert_int_equal(atv_http_start(h, &req, &body, &err), 0);
	}
	assert_int_equal(drive(h, -1, &status, &err), -ATV_E_LIMIT);
	atv_buf_release(&body);
	atv_buf_release(&b2);
	atv_http_free(h);
	atv_http_free(other);
}

static void test_refused(void **state)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof sa;
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	char url[64];
	long status;
	int s;

	(void)state;
	/* a port nobody listens on: bound, then closed */
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
	h = atv_http_new(url, &err);
	assert_non_null(h);
	atv_buf_init(&body, 1024);
	assert_int_equal(atv_http_get(h, "/login", &status, &body, &err), -ATV_E_UNREACHABLE);
	assert_non_null(strstr(err.msg, "127.0.0.1"));
	assert_true(err.msg[0] == 'G');
	atv_buf_release(&body);
	atv_http_free(h);
}

static void test_api(void **state)
{
	struct atv_err err = {0};
	struct atv_http *h;
	char *e;

	(void)state;
	assert_null(atv_http_new("https://127.0.0.1", &err));
	assert_int_equal(err.code, ATV_E_USAGE);
	assert_null(atv_http_new("ftp://127.0.0.1", &err));
	assert_null(atv_http_new("http://", &err));
	assert_null(atv_http_new(NULL, &err));
	atv_http_free(NULL);
	h = atv_http_new("HTTP://127.0.0.1:1", &err);
	assert_non_null(h);
	assert_int_equal(atv_http_add_header(h, "NoColon", &err), -ATV_E_USAGE);
	assert_int_equal(atv_http_add_header(h, ": empty", &err), -ATV_E_USAGE);
	assert_int_equal(atv_http_add_header(h, "A: b\r\nX: y", &err), -ATV_E_USAGE);
	for (int i = 0; i < ATV_HTTP_MAX_HEADERS; i++)
		assert_int_equal(atv_http_add_header(h, "X-Test: 1", &err), 0);
	assert_int_equal(atv_http_add_header(h, "X-Test: 1", &err), -ATV_E_LIMIT);
	atv_http_free(h);

	e = atv_http_escape("a b&c=d/\xc3\xa9~_.-Z9");
	assert_string_equal(e, "a%20b%26c%3Dd%2F%C3%A9~_.-Z9");
	free(e);
	e = atv_http_escape("");
	assert_string_equal(e, "");
	free(e);
}

/* ---- through a channel ---- */

static const uint8_t key_cs[ATV_AEAD_KEY_LEN] = {0xc5, 1, 2, 3}; /* controller -> server */
static const uint8_t key_sc[ATV_AEAD_KEY_LEN] = {0x5c, 3, 2, 1}; /* server -> controller */

/* A TCP connection to port on 127.0.0.1 (0: to a listener of our own,
 * whose accepted socket goes to *accepted). */
static int tcp_connect(unsigned short port, int *accepted)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof sa;
	int fd, l = -1;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	if (!port) {
		l = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(l >= 0);
		assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
		assert_int_equal(listen(l, 1), 0);
		assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	if (!port) {
		*accepted = accept(l, NULL, NULL);
		assert_true(*accepted >= 0);
		close(l);
	}
	return fd;
}

/* A header line the server saw on the last request ("" when absent);
 * field is one of srv's, read under its lock. */
static void seen(const char *field, const char *want)
{
	pthread_mutex_lock(&srv->lock);
	assert_string_equal(field, want);
	pthread_mutex_unlock(&srv->lock);
}

/* The server's side of an encrypted connection: a channel whose local end
 * MHD serves, pumped by a thread that turns encrypted on command. */
struct server_side {
	struct atv_channel *ch;
	pthread_t thread;
	int cmd[2], ack[2];
	int bad_out; /* seal with a wrong key */
};

static void *server_pump(void *arg)
{
	struct server_side *ss = arg;
	int dead = 0;

	for (;;) {
		struct pollfd pfd[3];
		size_t n = dead ? 0 : atv_channel_pollfds(ss->ch, pfd);
		char c = 0;

		pfd[n++] = (struct pollfd){ss->cmd[0], POLLIN, 0};
		if (poll(pfd, n, -1) < 0)
			continue;
		if (pfd[n - 1].revents && read(ss->cmd[0], &c, 1) == 1) {
			struct atv_hap_cipher ci;
			uint8_t bad[ATV_AEAD_KEY_LEN] = {0xba, 0xd};

			if (c == 'q')
				break;
			atv_hap_cipher_init(&ci, ss->bad_out ? bad : key_sc, key_cs);
			c = atv_channel_encrypt(ss->ch, &ci, NULL) == 0 ? 'y' : 'n';
			atv_hap_cipher_wipe(&ci);
			if (write(ss->ack[1], &c, 1) != 1)
				break;
		}
		if (!dead && atv_channel_pump(ss->ch, NULL) < 0)
			dead = 1;
	}
	return NULL;
}

/* Connect a client channel to a new server side; returns the client's. */
static struct atv_channel *server_side_start(struct server_side *ss, int bad_out)
{
	struct sockaddr_in peer = {0};
	struct atv_err err = {0};
	struct atv_channel *ch;
	int sfd, cfd;

	memset(ss, 0, sizeof *ss);
	ss->bad_out = bad_out;
	cfd = tcp_connect(0, &sfd);
	ch = atv_channel_new_direct(cfd, &err);
	assert_non_null(ch);
	ss->ch = atv_channel_new(sfd, &err);
	assert_non_null(ss->ch);
	assert_int_equal(pipe(ss->cmd), 0);
	assert_int_equal(pipe(ss->ack), 0);
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(MHD_add_connection(srv->d, atv_channel_take_local(ss->ch),
					    (struct sockaddr *)&peer, sizeof peer),
			 MHD_YES);
	assert_int_equal(pthread_create(&ss->thread, NULL, server_pump, ss), 0);
	return ch;
}

/* Both sides encrypted from the next byte on (as after pair-verify M4). */
static void encrypt_both(struct server_side *ss, struct atv_channel *ch)
{
	struct atv_hap_cipher ci;
	char c;

	assert_int_equal(write(ss->cmd[1], "e", 1), 1);
	assert_int_equal(read(ss->ack[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	atv_hap_cipher_init(&ci, key_cs, key_sc);
	assert_int_equal(atv_channel_encrypt(ch, &ci, NULL), 0);
	atv_hap_cipher_wipe(&ci);
}

static void server_side_stop(struct server_side *ss)
{
	assert_int_equal(write(ss->cmd[1], "q", 1), 1);
	assert_int_equal(pthread_join(ss->thread, NULL), 0);
	atv_channel_free(ss->ch);
	close(ss->cmd[0]);
	close(ss->cmd[1]);
	close(ss->ack[0]);
	close(ss->ack[1]);
}

/* How a channel test reaches the server. */
enum route {
	ROUTE_DIRECT,	   /* a plain TCP connection to its port */
	ROUTE_SERVER_SIDE, /* through a server side that can turn encrypted */
	ROUTE_BAD_KEY,	   /* likewise, but it seals with a key we do not have */
};

/* What every channel test holds: the client's direct channel, the reply
 * (1024-byte body cap) and the connection count at the start. */
struct chan_test {
	enum route route;
	struct server_side ss; /* not with ROUTE_DIRECT */
	struct atv_channel *ch;
	struct atv_httpmsg reply;
	struct atv_err err;
	unsigned before;
};

static void chan_test_start(struct chan_test *t, enum route route)
{
	memset(t, 0, sizeof *t);
	t->route = route;
	t->before = connections();
	if (route == ROUTE_DIRECT)
		t->ch = atv_channel_new_direct(tcp_connect(srv->port, NULL), &t->err);
	else
		t->ch = server_side_start(&t->ss, route == ROUTE_BAD_KEY);
	assert_non_null(t->ch);
	atv_httpmsg_init(&t->reply, ATV_HTTPMSG_REPLY, 1024);
}

static void chan_test_end(struct chan_test *t)
{
	atv_httpmsg_release(&t->reply);
	atv_channel_free(t->ch);
	if (t->route != ROUTE_DIRECT)
		server_side_stop(&t->ss);
}

/* One request through t's channel (Host and AirPlay's User-Agent, then
 * extra), its return value; the reply is in t->reply. */
static int chan_req(struct chan_test *t, const char *method, const char *path,
		    const char *const *extra, const void *body, size_t len, int timeout_ms)
{
	const char *lines[8] = {"Host: 127.0.0.1", "User-Agent: AirPlay/320.20"};
	struct atv_httpmsg_req req = {.method = method, .uri = path, .body = body, .body_len = len};
	size_t n = 2;

	for (; extra && *extra && n < 7; extra++)
		lines[n++] = *extra;
	lines[n] = NULL;
	req.headers = lines;
	return atv_httpmsg_exchange(t->ch, &req, &t->reply, timeout_ms, &t->err);
}

static int chan_get(struct chan_test *t, const char *path)
{
	return chan_req(t, "GET", path, NULL, NULL, 0, 5000);
}

static void get_login(struct chan_test *t)
{
	if (chan_get(t, "/login") < 0)
		fail_msg("GET /login: %s", t->err.msg);
	assert_int_equal(t->reply.status, 200);
	assert_int_equal(t->reply.body.len, sizeof login_body);
	assert_memory_equal(t->reply.body.data, login_body, sizeof login_body);
}

/* A POST that the server answers 204 and whose body it received whole. */
static void post_ok(struct chan_test *t, const char *const *extra, const char *body)
{
	size_t len = strlen(body);

	pthread_mutex_lock(&srv->lock);
	srv->post_len = 0;
	pthread_mutex_unlock(&srv->lock);
	if (chan_req(t, "POST", "/post", extra, body, len, 5000) < 0)
		fail_msg("POST /post: %s", t->err.msg);
	assert_int_equal(t->reply.status, 204);
	assert_int_equal(t->reply.body.len, 0);
	pthread_mutex_lock(&srv->lock);
	assert_int_equal(srv->post_len, len);
	assert_memory_equal(srv->post_body, body, len);
	pthread_mutex_unlock(&srv->lock);
}

static void test_channel_plain(void **state)
{
	static const char *const hkp[] = {"X-Apple-HKP: 3", "X-Req: one", NULL};
	static const char *const ct[] = {"Content-Type: application/octet-stream", NULL};
	struct chan_test t;

	(void)state;
	chan_test_start(&t, ROUTE_DIRECT);
	for (int i = 0; i < 3; i++)
		get_login(&t);
	seen(srv->user_agent, "AirPlay/320.20");
	seen(srv->hkp, "");
	/* per-request headers, on this request only */
	assert_int_equal(chan_req(&t, "GET", "/login", hkp, NULL, 0, 5000), 0);
	assert_int_equal(t.reply.status, 200);
	seen(srv->hkp, "3");
	seen(srv->xreq, "one");
	get_login(&t);
	seen(srv->hkp, "");
	post_ok(&t, ct, "M1");
	seen(srv->content_type, "application/octet-stream");
	/* an empty POST carries Content-Length: 0 */
	post_ok(&t, NULL, "");
	/* all of it on the one connection the test made */
	assert_int_equal(connections() - t.before, 1);
	/* a server that does not answer in time: the request is named */
	assert_int_equal(chan_req(&t, "GET", "/slow-head", NULL, NULL, 0, 200),
			 -ATV_E_UNREACHABLE);
	if (!strstr(t.err.msg, "GET /slow-head: no complete answer within 200 ms"))
		fail_msg("%s", t.err.msg);
	chan_test_end(&t);
}

/* The device closes right after a complete response: that request
 * succeeds, the next one fails. */
static void test_channel_device_closes(void **state)
{
	struct chan_test t;

	(void)state;
	chan_test_start(&t, ROUTE_DIRECT);
	get_login(&t);
	assert_int_equal(chan_get(&t, "/close"), 0);
	assert_int_equal(t.reply.status, 200);
	assert_false(t.reply.keep_alive);
	assert_int_equal(t.reply.body.len, sizeof login_body);
	assert_int_equal(chan_get(&t, "/login"), -ATV_E_UNREACHABLE);
	assert_non_null(strstr(t.err.msg, "connection closed"));
	chan_test_end(&t);
}

static void test_channel_encrypted(void **state)
{
	static const char *const hdr[] = {"X-Req: sealed",
					  "Content-Type: application/x-apple-binary-plist", NULL};
	struct chan_test t;
	struct atv_httpmsg big;

	(void)state;
	chan_test_start(&t, ROUTE_SERVER_SIDE);
	/* plain first (pair-verify), then sealed both ways */
	get_login(&t);
	encrypt_both(&t.ss, t.ch);
	get_login(&t);
	post_ok(&t, hdr, "sealed body");
	seen(srv->xreq, "sealed");
	seen(srv->content_type, "application/x-apple-binary-plist");
	/* many blocks */
	atv_httpmsg_init(&big, ATV_HTTPMSG_REPLY, BIG_LEN);
	{
		const char *lines[] = {"Host: 127.0.0.1", NULL};
		struct atv_httpmsg_req req = {.method = "GET", .uri = "/big", .headers = lines};

		assert_int_equal(atv_httpmsg_exchange(t.ch, &req, &big, 5000, &t.err), 0);
		assert_int_equal(big.body.len, BIG_LEN);
	}
	atv_httpmsg_release(&big);
	get_login(&t);
	assert_int_equal(connections() - t.before, 1);
	/* a complete response, then the server closes */
	assert_int_equal(chan_get(&t, "/close"), 0);
	assert_int_equal(t.reply.status, 200);
	assert_int_equal(chan_get(&t, "/login"), -ATV_E_UNREACHABLE);
	chan_test_end(&t);
}

/* No AirPlay device sends a chunked body: refused, not misread. */
static void test_channel_chunked(void **state)
{
	struct chan_test t;

	(void)state;
	chan_test_start(&t, ROUTE_DIRECT);
	assert_int_equal(chan_get(&t, "/chunked"), -ATV_E_PROTO);
	assert_non_null(strstr(t.err.msg, "GET /chunked: a Transfer-Encoding body"));
	chan_test_end(&t);
}

static void test_channel_bad_block(void **state)
{
	struct chan_test t;

	(void)state;
	chan_test_start(&t, ROUTE_BAD_KEY);
	encrypt_both(&t.ss, t.ch);
	/* the server reads the request but seals its response with a key
	 * we do not have */
	assert_int_equal(chan_get(&t, "/login"), -ATV_E_AUTH);
	assert_int_equal(t.err.code, ATV_E_AUTH);
	assert_non_null(strstr(t.err.msg, "GET /login: encrypted block from the peer"));
	/* and the channel stays dead */
	assert_int_equal(chan_get(&t, "/login"), -ATV_E_AUTH);
	chan_test_end(&t);
}

static void test_req_headers_checked(void **state)
{
	static const char *const crlf[] = {"X-Ok: 1", "X-Bad: 1\r\nX-Injected: 1", NULL};
	static const char *const nocolon[] = {"NoColon", NULL};
	const char *many[ATV_HTTP_MAX_HEADERS + 2];
	struct atv_err err = {0};
	struct atv_http *h;
	struct atv_buf body;
	long status;

	(void)state;
	h = atv_http_new("http://127.0.0.1:1", &err);
	assert_non_null(h);
	atv_buf_init(&body, 16);
	{
		struct atv_http_req req = {.path = "/", .headers = crlf};

		assert_int_equal(atv_http_request(h, &req, &status, &body, &err), -ATV_E_USAGE);
		req.headers = nocolon;
		assert_int_equal(atv_http_request(h, &req, &status, &body, &err), -ATV_E_USAGE);
		for (size_t i = 0; i < ATV_HTTP_MAX_HEADERS + 1; i++)
			many[i] = "X-Many: 1";
		many[ATV_HTTP_MAX_HEADERS + 1] = NULL;
		req.headers = many;
		assert_int_equal(atv_http_request(h, &req, &status, &body, &err), -ATV_E_LIMIT);
	}
	atv_buf_release(&body);
	atv_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api),
	    cmocka_unit_test(test_dmap_body_keepalive),
	    cmocka_unit_test(test_post),
	    cmocka_unit_test(test_status_503),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_async),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_req_headers_checked),
	    cmocka_unit_test(test_channel_plain),
	    cmocka_unit_test(test_channel_device_closes),
	    cmocka_unit_test(test_channel_encrypted),
	    cmocka_unit_test(test_channel_chunked),
	    cmocka_unit_test(test_channel_bad_block),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
