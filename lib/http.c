/* http.c - libcurl (multi interface) requests with caps and timeouts,
 * blocking or driven by the caller's poll loop; see http.h for the
 * choices. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curl_dl.h"
#include "http.h"
#include "tcp.h"
#include "banned.h"

/* How long one curl_multi_poll may sleep; curl shortens it to its own
 * timers, so this only bounds how stale a wait can get. */
#define POLL_MS 1000

/* Where a response goes: the body into the caller's capped buffer; the
 * header bytes are only counted (see on_header). */
struct sink {
	struct atv_buf *b;
	int code;	  /* why we refused more data, 0 if we did not */
	size_t hdr_bytes; /* of the response headers so far */
	int hdr_done;	  /* the empty line that ends them has arrived */
};

struct atv_http {
	CURLM *multi; /* owns the connection cache: keep-alive across requests */
	CURL *easy;
	char *base;
	char *headers[ATV_HTTP_MAX_HEADERS];
	size_t nheaders;
	long connect_ms, total_ms;
	int gzip;		    /* ask for and decode gzip bodies */
	char errbuf[CURL_ERROR_SIZE];

	/* the request under way (req_begin .. req_end) */
	int added; /* easy is on the multi */
	const char *method;
	char *path; /* a copy, for messages */
	char *url;
	struct curl_slist *req_headers;
	struct sink sink;

	/* asynchronous use (atv_http_start): curl's sockets in one epoll set */
	int async; /* atv_http_start was used: no more atv_http_request */
	int epfd;
	long long deadline; /* CLOCK_MONOTONIC ms when curl's timer is due, -1: none */
};

/* libcurl's functions (lib/curl_dl.h): loaded by the first atv_http_new,
 * so the tools that never speak DMAP never load libcurl and the libraries
 * behind it.  Every other function here takes a struct atv_http, which
 * exists only once this is set. */
static const struct atv_curl *curl;
static struct atv_err global_err;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = -ATV_E_NOMEM;

static void global_init(void)
{
	CURLcode cc;

	global_rc = atv_curl_load(&curl, &global_err);
	if (global_rc < 0)
		return;
	cc = curl->global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK)
		global_rc =
		    atv_err_set(&global_err, ATV_E_NOMEM, "unable to initialise libcurl: %s",
				curl->easy_strerror(cc));
}

struct atv_http *atv_http_new(const char *base_url, struct atv_err *err)
{
	struct atv_http *h;
	size_t n;

	if (!base_url || strncasecmp(base_url, "http://", 7) != 0 || !base_url[7]) {
		atv_err_set(err, ATV_E_USAGE, "http base url must start with http://");
		return NULL;
	}
	pthread_once(&global_once, global_init);
	if (global_rc < 0) {
		atv_err_set(err, -global_rc, "%s", global_err.msg);
		return NULL;
	}
	h = calloc(1, sizeof *h);
	if (!h)
		goto nomem;
	h->epfd = -1;
	h->deadline = -1;
	h->connect_ms = ATV_HTTP_CONNECT_MS;
	h->total_ms = ATV_HTTP_TOTAL_MS;
	h->base = strdup(base_url);
	h->multi = curl->multi_init();
	h->easy = curl->easy_init();
	if (!h->base || !h->multi || !h->easy)
		goto nomem;
	/* the path always brings its own slash */
	n = strlen(h->base);
	while (n > 7 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	/* one connection per device, reused as long as it stays open */
	curl->multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 1L);
	return h;
nomem:
	atv_http_free(h);
	atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return NULL;
}

void atv_http_free(struct atv_http *h)
{
	if (!h)
		return;
	atv_http_abort(h);
	if (h->easy)
		curl->easy_cleanup(h->easy);
	if (h->multi)
		curl->multi_cleanup(h->multi);
	for (size_t i = 0; i < h->nheaders; i++)
		free(h->headers[i]);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h->base);
	free(h);
}

void atv_http_set_timeouts(struct atv_http *h, long connect_ms, long total_ms)
{
	if (connect_ms > 0)
		h->connect_ms = connect_ms;
	if (total_ms > 0)
		h->total_ms = total_ms;
}

/* A header line must be "Name: value", one line (no injected headers). */
static int check_header(const char *line, struct atv_err *err)
{
	const char *colon = strchr(line, ':');

	if (!colon || colon == line || colon[1] != ' ' || strpbrk(line, "\r\n"))
		return atv_err_set(err, ATV_E_USAGE,
				   "http header must be one \"name: value\" line");
	return 0;
}

int atv_http_add_header(struct atv_http *h, const char *line, struct atv_err *err)
{
	int r = check_header(line, err);

	if (r < 0)
		return r;
	if (h->nheaders == ATV_HTTP_MAX_HEADERS)
		return atv_err_set(err, ATV_E_LIMIT, "more than %d http headers",
				   ATV_HTTP_MAX_HEADERS);
	h->headers[h->nheaders] = strdup(line);
	if (!h->headers[h->nheaders])
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	h->nheaders++;
	return 0;
}

int atv_http_add_remote_headers(struct atv_http *h, struct atv_err *err)
{
	/* what the iOS Remote app sends (pyatv protocols/dmap/daap.py
	 * _DMAP_HEADERS, which its fake device checks); Accept-Encoding:
	 * gzip comes from CURLOPT_ACCEPT_ENCODING, so that libcurl also
	 * decodes what the device then sends gzipped */
	static const char *const remote[] = {
	    "Accept: */*",
	    "Client-DAAP-Version: 3.13",
	    "Client-ATV-Sharing-Version: 1.2",
	    "Client-iTunes-Sharing-Version: 3.15",
	    "User-Agent: Remote/1021",
	    "Viewer-Only-Client: 1",
	};

	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
		int r = atv_http_add_header(h, remote[i], err);

		if (r < 0)
			return r;
	}
	h->gzip = 1;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	struct atv_err err;

	/* size is always 1 for body data */
	if (atv_buf_append(s->b, p, size * n, &err) < 0) {
		s->code = err.code;
		return 0; /* a short count aborts the transfer */
	}
	return size * n;
}

/* CURLOPT_HEADERFUNCTION: each header line of the response as it arrives.
 * A device answers with a few hundred bytes of headers; libcurl itself
 * allows 100 KiB per line and any number of lines, so a hostile one could
 * keep us reading for ever.  Past ATV_HTTP_HEADER_MAX bytes in all, the
 * transfer ends (CURLE_WRITE_ERROR with code set).  A single line longer
 * than libcurl's own limit never reaches us: libcurl then fails with
 * "out of memory" (7.x) or CURLE_TOO_LARGE (8.6+), which curl_fail turns
 * into the same protocol error while hdr_done is not set. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;

	s->hdr_bytes += len;
	if (s->hdr_bytes > ATV_HTTP_HEADER_MAX) {
		s->code = ATV_E_PROTO;
		return 0;
	}
	/* a status line starts the headers of a response (after a 1xx
	 * there is a second one), the empty line ends them */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		s->hdr_done = 0;
	else if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n'))
		s->hdr_done = 1;
	return len;
}

/* The path for messages: without the query, which may carry a pairing
 * GUID or session id (credentials are never logged). */
static int path_len(const char *path)
{
	size_t n = strcspn(path, "?");

	return n > 200 ? 200 : (int)n;
}

/* libcurl 8.6+ ends a transfer whose header line is past its limit with
 * CURLE_TOO_LARGE; <curl/curl.h> of 7.x does not name it, but the library
 * we load may be newer. */
#define CURLE_TOO_LARGE_8_6 100

static int curl_fail(struct atv_http *h, const char *method, const char *path, CURLcode cc,
		     const struct sink *s, struct atv_err *err)
{
	int code;
	char msg[CURL_ERROR_SIZE];

	if ((cc == CURLE_WRITE_ERROR && s->code == ATV_E_PROTO) ||
	    ((cc == CURLE_OUT_OF_MEMORY || (int)cc == CURLE_TOO_LARGE_8_6) && !s->hdr_done))
		return atv_err_set(err, ATV_E_PROTO,
				   "%s %s%.*s: response headers larger than %d bytes", method,
				   h->base, path_len(path), path, ATV_HTTP_HEADER_MAX);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT: code = ATV_E_UNREACHABLE; break;
	case CURLE_FILESIZE_EXCEEDED:
		return atv_err_set(err, ATV_E_LIMIT,
				   "%s %s%.*s: response body larger than %zu bytes", method,
				   h->base, path_len(path), path, s->b->max);
	case CURLE_WRITE_ERROR:
		if (s->code == ATV_E_LIMIT)
			return atv_err_set(err, ATV_E_LIMIT,
					   "%s %s%.*s: response body larger than %zu bytes", method,
					   h->base, path_len(path), path, s->b->max);
		code = s->code ? s->code : ATV_E_IO;
		break;
	case CURLE_OUT_OF_MEMORY: code = ATV_E_NOMEM; break;
	/* not CURLE_UNSUPPORTED_PROTOCOL: our URLs are http:// (atv_http_new
	 * checks), so libcurl says that of an answer that is not HTTP */
	case CURLE_URL_MALFORMAT: code = ATV_E_USAGE; break;
	default: code = ATV_E_PROTO; break;
	}
	snprintf(msg, sizeof msg, "%s", h->errbuf[0] ? h->errbuf : curl->easy_strerror(cc));
	if (msg[0] >= 'A' && msg[0] <= 'Z')
		msg[0] = (char)(msg[0] - 'A' + 'a'); /* our messages are lower case */
	return atv_err_set(err, code, "%s %s%.*s: %s", method, h->base, path_len(path), path, msg);
}

/* Check req's own header lines; *ct is set when one is a Content-Type. */
static int check_req_headers(const struct atv_http_req *req, int *ct, struct atv_err *err)
{
	size_t n = 0;

	*ct = 0;
	for (const char *const *p = req->headers; p && *p; p++, n++) {
		int r;

		if (n == ATV_HTTP_MAX_HEADERS)
			return atv_err_set(err, ATV_E_LIMIT, "more than %d http headers",
					   ATV_HTTP_MAX_HEADERS);
		r = check_header(*p, err);
		if (r < 0)
			return r;
		if (strncasecmp(*p, "Content-Type:", 13) == 0)
			*ct = 1;
	}
	return 0;
}

static struct curl_slist *request_headers(const struct atv_http *h, const struct atv_http_req *req,
					  int req_ct, int post)
{
	const char *content_type = req->content_type;
	struct curl_slist *list = NULL, *l;
	char ct[256];

	for (size_t i = 0; i < h->nheaders; i++) {
		l = curl->slist_append(list, h->headers[i]);
		if (!l)
			goto fail;
		list = l;
	}
	for (const char *const *p = req->headers; p && *p; p++) {
		l = curl->slist_append(list, *p);
		if (!l)
			goto fail;
		list = l;
	}
	if (post) {
		/* no "Expect: 100-continue" round trip, and no form content
		 * type made up by curl */
		l = curl->slist_append(list, "Expect:");
		if (!l)
			goto fail;
		list = l;
		if (content_type && !strpbrk(content_type, "\r\n"))
			snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
		else if (req_ct)
			return list; /* the request's own line */
		else
			snprintf(ct, sizeof ct, "Content-Type:");
		l = curl->slist_append(list, ct);
		if (!l)
			goto fail;
		list = l;
	}
	return list;
fail:
	curl->slist_free_all(list);
	return NULL;
}

static int setup(struct atv_http *h, const struct atv_http_req *req, const char *url,
		 struct curl_slist *headers, struct sink *s, int post)
{
	CURL *e = h->easy;
	long timeout = req->timeout_ms == 0 ? h->total_ms : req->timeout_ms;
	size_t room = s->b->max > s->b->len ? s->b->max - s->b->len : 0;
	CURLcode cc = CURLE_OK;

	/* a reset keeps the live connections (they live in the multi) */
	curl->easy_reset(e);
	h->errbuf[0] = '\0';
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (cc == CURLE_OK)                                                                \
			cc = curl->easy_setopt(e, opt, val);                                       \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* devices are on the local network: no proxy from the environment */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 0L);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, s);
	/* "gzip": the header and libcurl's decoding; the cap applies to the
	 * decoded body (on_body), so a small compressed bomb stays bounded */
	if (h->gzip)
		SET(CURLOPT_ACCEPT_ENCODING, "gzip");
	/* refuse a declared Content-Length past the cap up front (0 would
	 * mean no limit: then the write callback refuses the first byte) */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)room);
	if (post) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
#undef SET
	return cc == CURLE_OK ? 0 : -1;
}

/* The result of h's transfer, if it ended: 1 with *cc set, else 0. */
static int done(struct atv_http *h, CURLcode *cc)
{
	CURLMsg *m;
	int left, r = 0;

	while ((m = curl->multi_info_read(h->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy) {
			*cc = m->data.result;
			r = 1;
		}
	return r;
}

/* Drive the transfer on the multi handle until it ends.  0 with *cc the
 * transfer's result, or -ATV_E_*. */
static int run(struct atv_http *h, CURLcode *cc, struct atv_err *err)
{
	for (;;) {
		int running = 0;
		CURLMcode mc;

		mc = curl->multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			return atv_err_set(err,
					   mc == CURLM_OUT_OF_MEMORY ? ATV_E_NOMEM : ATV_E_PROTO,
					   "curl: %s", curl->multi_strerror(mc));
		if (!running)
			break;
		mc = curl->multi_poll(h->multi, NULL, 0, POLL_MS, NULL);
		if (mc != CURLM_OK)
			return atv_err_set(err, ATV_E_IO, "curl: %s", curl->multi_strerror(mc));
	}
	*cc = CURLE_GOT_NOTHING;
	done(h, cc);
	return 0;
}

/* The transfer is over (or abandoned): forget it.  Removing an unfinished
 * transfer closes its connection; a finished one goes back to the multi's
 * cache for the next request. */
static void req_end(struct atv_http *h)
{
	if (h->added)
		curl->multi_remove_handle(h->multi, h->easy);
	h->added = 0;
	curl->slist_free_all(h->req_headers);
	h->req_headers = NULL;
	free(h->url);
	free(h->path);
	h->url = h->path = NULL;
	h->deadline = -1;
}

/* Check req and put its transfer on the multi handle; the body will go
 * to body.  On failure nothing is left under way. */
static int req_begin(struct atv_http *h, const struct atv_http_req *req, struct atv_buf *body,
		     struct atv_err *err)
{
	const char *method = req->method ? req->method : "GET";
	const char *path = req->path ? req->path : "/";
	int post = strcmp(method, "POST") == 0;
	size_t n;
	int r, req_ct;

	if (h->added)
		return atv_err_set(err, ATV_E_USAGE, "an http request is already under way");
	if (!post && strcmp(method, "GET") != 0)
		return atv_err_set(err, ATV_E_USAGE, "http method %s is not supported", method);
	r = check_req_headers(req, &req_ct, err);
	if (r < 0)
		return r;
	h->method = post ? "POST" : "GET";
	h->sink = (struct sink){.b = body};
	n = strlen(h->base) + strlen(path) + 2;
	h->url = malloc(n);
	h->path = strdup(path);
	if (!h->url || !h->path)
		goto nomem;
	snprintf(h->url, n, "%s%s%s", h->base, path[0] == '/' ? "" : "/", path);
	h->req_headers = request_headers(h, req, req_ct, post);
	if ((h->nheaders || (req->headers && req->headers[0]) || post) && !h->req_headers)
		goto nomem;
	if (setup(h, req, h->url, h->req_headers, &h->sink, post) < 0) {
		r = atv_err_set(err, ATV_E_NOMEM, "unable to set up an http request");
		goto out;
	}
	if (curl->multi_add_handle(h->multi, h->easy) != CURLM_OK) {
		r = atv_err_set(err, ATV_E_NOMEM, "unable to start an http request");
		goto out;
	}
	h->added = 1;
	return 0;
nomem:
	r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
out:
	req_end(h);
	return r;
}

/* The outcome of the transfer that ended with cc: 0 with *status, or the
 * error. */
static int req_result(struct atv_http *h, CURLcode cc, long *status, struct atv_err *err)
{
	if (cc != CURLE_OK)
		return curl_fail(h, h->method, h->path, cc, &h->sink, err);
	curl->easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int atv_http_request(struct atv_http *h, const struct atv_http_req *req, long *status,
		     struct atv_buf *body, struct atv_err *err)
{
	CURLcode cc = CURLE_OK;
	int r;

	*status = 0;
	if (h->async)
		return atv_err_set(err, ATV_E_USAGE, "http handle is driven by atv_http_step");
	r = req_begin(h, req, body, err);
	if (r < 0)
		return r;
	r = run(h, &cc, err);
	if (r == 0)
		r = req_result(h, cc, status, err);
	req_end(h);
	return r;
}

/* ---- driven by the caller's poll loop ---- */


/* CURLMOPT_SOCKETFUNCTION: libcurl says which of its sockets to watch for
 * what; they go into (or out of) h's epoll set. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ctx, void *sockp)
{
	struct atv_http *h = ctx;
	struct epoll_event ev = {0};

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		/* fails harmlessly when libcurl has closed it already */
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	ev.data.fd = s;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev) < 0))
		return -1; /* libcurl fails the transfer */
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants curl_multi_socket_action
 * with CURL_SOCKET_TIMEOUT next (-1: never). */
static int on_timer(CURLM *m, long ms, void *ctx)
{
	struct atv_http *h = ctx;

	(void)m;
	h->deadline = ms < 0 ? -1 : atv_clock_ms() + ms;
	return 0;
}

int atv_http_start(struct atv_http *h, const struct atv_http_req *req, struct atv_buf *body,
		   struct atv_err *err)
{
	if (!h->async) {
		h->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (h->epfd < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "epoll_create1");
		curl->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
		curl->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
		curl->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
		h->async = 1;
	}
	return req_begin(h, req, body, err);
}

int atv_http_fd(const struct atv_http *h)
{
	return h->epfd;
}

int atv_http_timeout_ms(const struct atv_http *h)
{
	long long left;

	if (!h->added || h->deadline < 0)
		return -1;
	left = h->deadline - atv_clock_ms();
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* At most this many rounds of socket_action per step: libcurl may set a
 * zero timer while acting (a connect that completed, say), which the next
 * round runs at once instead of after another trip through poll. */
#define STEP_ROUNDS 8

int atv_http_step(struct atv_http *h, long *status, struct atv_err *err)
{
	struct epoll_event ev[8];
	CURLcode cc = CURLE_OK;
	CURLMcode mc = CURLM_OK;
	int running, r;

	*status = 0;
	if (!h->added || !h->async)
		return 0;
	for (int round = 0; round < STEP_ROUNDS; round++) {
		int acted = 0, n;

		if (h->deadline >= 0 && atv_clock_ms() >= h->deadline) {
			h->deadline = -1;
			mc = curl->multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			acted = 1;
		}
		n = epoll_wait(h->epfd, ev, (int)(sizeof ev / sizeof ev[0]), 0);
		for (int i = 0; mc == CURLM_OK && i < n; i++) {
			int mask = 0;

			if (ev[i].events & EPOLLIN)
				mask |= CURL_CSELECT_IN;
			if (ev[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (ev[i].events & (EPOLLERR | EPOLLHUP))
				mask |= CURL_CSELECT_ERR;
			mc = curl->multi_socket_action(h->multi, ev[i].data.fd, mask, &running);
			acted = 1;
		}
		if (mc != CURLM_OK) {
			r = atv_err_set(err, mc == CURLM_OUT_OF_MEMORY ? ATV_E_NOMEM : ATV_E_PROTO,
					"curl: %s", curl->multi_strerror(mc));
			req_end(h);
			return r;
		}
		if (done(h, &cc)) {
			r = req_result(h, cc, status, err);
			req_end(h);
			return r < 0 ? r : 1;
		}
		if (!acted)
			break;
	}
	return 0;
}

void atv_http_abort(struct atv_http *h)
{
	if (h->added)
		req_end(h);
}

int atv_http_get(struct atv_http *h, const char *path, long *status, struct atv_buf *body,
		 struct atv_err *err)
{
	struct atv_http_req req = {.method = "GET", .path = path};

	return atv_http_request(h, &req, status, body, err);
}

int atv_http_post(struct atv_http *h, const char *path, const void *data, size_t len,
		  const char *content_type, long *status, struct atv_buf *body, struct atv_err *err)
{
	struct atv_http_req req = {
	    .method = "POST",
	    .path = path,
	    .body = data,
	    .body_len = len,
	    .content_type = content_type,
	};

	return atv_http_request(h, &req, status, body, err);
}

char *atv_http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = o = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* RFC 3986 unreserved characters stay as they are */
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
