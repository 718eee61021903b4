/* http.c - libcurl (multi interface) requests with caps, timeouts and a
 * cancel fd; see http.h for the choices. */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curl_dl.h"
#include "http.h"
#include "banned.h"

/* How long one curl_multi_poll may sleep; curl shortens it to its own
 * timers, and the cancel fd wakes it at once, so this only bounds how
 * stale a wait can get. */
#define POLL_MS 1000

struct atv_http {
	CURLM *multi; /* owns the connection cache: keep-alive across requests */
	CURL *easy;
	char *base;
	char *headers[ATV_HTTP_MAX_HEADERS];
	size_t nheaders;
	long connect_ms, total_ms;
	int cancel_fd;
	int cancelled;
	char errbuf[CURL_ERROR_SIZE];
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
	h->cancel_fd = -1;
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
	if (h->easy)
		curl->easy_cleanup(h->easy);
	if (h->multi)
		curl->multi_cleanup(h->multi);
	for (size_t i = 0; i < h->nheaders; i++)
		free(h->headers[i]);
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
	/* what the iOS Remote app sends (pyatv dmap/__init__.py) */
	static const char *const remote[] = {
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
	return 0;
}

void atv_http_set_cancel_fd(struct atv_http *h, int fd)
{
	h->cancel_fd = fd;
}

int atv_http_cancelled(const struct atv_http *h)
{
	return h->cancelled;
}

/* Where the body goes: the caller's capped buffer. */
struct sink {
	struct atv_buf *b;
	int code; /* why we refused more data, 0 if we did not */
};

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

/* The path for messages: without the query, which may carry a pairing
 * GUID or session id (credentials are never logged). */
static int path_len(const char *path)
{
	size_t n = strcspn(path, "?");

	return n > 200 ? 200 : (int)n;
}

static int curl_fail(struct atv_http *h, const char *method, const char *path, CURLcode cc,
		     const struct sink *s, struct atv_err *err)
{
	int code;
	char msg[CURL_ERROR_SIZE];

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
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: code = ATV_E_USAGE; break;
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

/* Drive the transfer on the multi handle until it ends or the cancel fd
 * turns readable.  0 with *cc the transfer's result, or -ATV_E_*. */
static int run(struct atv_http *h, CURLcode *cc, struct atv_err *err)
{
	CURLMsg *m;
	int left;

	for (;;) {
		struct curl_waitfd wfd[1];
		unsigned nfd = 0;
		int running = 0;
		CURLMcode mc;

		mc = curl->multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			return atv_err_set(err,
					   mc == CURLM_OUT_OF_MEMORY ? ATV_E_NOMEM : ATV_E_PROTO,
					   "curl: %s", curl->multi_strerror(mc));
		if (!running)
			break;
		if (h->cancel_fd >= 0)
			wfd[nfd++] = (struct curl_waitfd){h->cancel_fd, CURL_WAIT_POLLIN, 0};
		mc = curl->multi_poll(h->multi, nfd ? wfd : NULL, nfd, POLL_MS, NULL);
		if (mc != CURLM_OK)
			return atv_err_set(err, ATV_E_IO, "curl: %s", curl->multi_strerror(mc));
		if (h->cancel_fd >= 0 && wfd[0].revents) {
			h->cancelled = 1;
			return -ATV_E_IO;
		}
	}
	*cc = CURLE_GOT_NOTHING;
	while ((m = curl->multi_info_read(h->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy)
			*cc = m->data.result;
	return 0;
}

int atv_http_request(struct atv_http *h, const struct atv_http_req *req, long *status,
		     struct atv_buf *body, struct atv_err *err)
{
	const char *method = req->method ? req->method : "GET";
	const char *path = req->path ? req->path : "/";
	int post = strcmp(method, "POST") == 0;
	struct sink s = {body, 0};
	struct curl_slist *headers = NULL;
	char *url = NULL;
	CURLcode cc = CURLE_OK;
	size_t n;
	int r, added = 0, req_ct;

	h->cancelled = 0;
	*status = 0;
	if (!post && strcmp(method, "GET") != 0)
		return atv_err_set(err, ATV_E_USAGE, "http method %s is not supported", method);
	r = check_req_headers(req, &req_ct, err);
	if (r < 0)
		return r;
	n = strlen(h->base) + strlen(path) + 2;
	url = malloc(n);
	if (!url) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(url, n, "%s%s%s", h->base, path[0] == '/' ? "" : "/", path);
	headers = request_headers(h, req, req_ct, post);
	if ((h->nheaders || (req->headers && req->headers[0]) || post) && !headers) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (setup(h, req, url, headers, &s, post) < 0) {
		r = atv_err_set(err, ATV_E_NOMEM, "unable to set up an http request");
		goto out;
	}
	if (curl->multi_add_handle(h->multi, h->easy) != CURLM_OK) {
		r = atv_err_set(err, ATV_E_NOMEM, "unable to start an http request");
		goto out;
	}
	added = 1;
	r = run(h, &cc, err);
	if (r < 0) {
		if (h->cancelled)
			atv_err_set(err, ATV_E_IO, "%s %s%.*s: request cancelled", method, h->base,
				    path_len(path), path);
		goto out;
	}
	if (cc != CURLE_OK) {
		r = curl_fail(h, method, path, cc, &s, err);
		goto out;
	}
	curl->easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, status);
	r = 0;
out:
	/* removing an unfinished transfer closes its connection; a finished
	 * one goes back to the multi's cache for the next request */
	if (added)
		curl->multi_remove_handle(h->multi, h->easy);
	curl->slist_free_all(headers);
	free(url);
	return r;
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
