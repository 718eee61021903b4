/* http.h - a thin libcurl wrapper for the DMAP client.
 *
 * One struct atv_http is one HTTP/1.1 connection to one device: requests
 * on it reuse the connection (keep-alive) while the device keeps it open.
 * Requests are synchronous and return the status code and the body; any
 * status is a successful request at this layer (the caller decides what a
 * 403 or a 503 means).
 *
 * Interruption (for long polls such as DACP playstatusupdate, which the
 * device holds until something changes): every request runs on a private
 * curl multi handle and waits in curl_multi_poll, which also watches one
 * caller-chosen file descriptor (atv_http_set_cancel_fd).  When that fd
 * turns readable the request is abandoned at once: a self-pipe written by a
 * signal handler, or stdin, stops a long poll with no polling delay.  We do
 * not read from the fd; draining it is the caller's business.  (A progress
 * callback checking a flag was the other choice; libcurl calls it only
 * about once a second while a transfer is idle, so it would add up to a
 * second of latency.)
 *
 * Bounds: the caller's struct atv_buf receives the body and its max is the
 * cap: a Content-Length past it fails before the body is read, a body that
 * grows past it aborts the transfer; both are -ATV_E_LIMIT.
 *
 * Errors: a refused or timed-out connection, an unresolvable host and a
 * request that runs past its time are -ATV_E_UNREACHABLE; other transfer
 * failures (a reset, garbage instead of HTTP) are -ATV_E_PROTO; a
 * cancelled request is -ATV_E_IO with atv_http_cancelled() true.
 *
 * libcurl's global state is set up once, lazily, by the first atv_http_new
 * (curl_global_init is not thread-safe: create the first handle before
 * starting threads). */
#ifndef ATV_HTTP_H
#define ATV_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define ATV_HTTP_CONNECT_MS  5000  /* default connect timeout */
#define ATV_HTTP_TOTAL_MS    10000 /* default time for a whole request */
#define ATV_HTTP_NO_TIMEOUT  (-1L) /* atv_http_req.timeout_ms: wait for ever */
#define ATV_HTTP_MAX_HEADERS 16	   /* extra header lines per handle */

struct atv_http;

/* A handle for requests to base_url ("http://10.0.0.5:3689", no trailing
 * slash needed; copied).  Only http:// URLs are accepted and redirects are
 * not followed.  NULL on failure (err set).  Free with atv_http_free. */
struct atv_http *atv_http_new(const char *base_url, struct atv_err *err);

/* Close the connection and free h (NULL is fine). */
void atv_http_free(struct atv_http *h);

/* Connect timeout and default total time per request, in milliseconds
 * (<= 0 keeps the current value). */
void atv_http_set_timeouts(struct atv_http *h, long connect_ms, long total_ms);

/* Add one header line "Name: value" (copied) sent with every request.
 * -ATV_E_USAGE for a line without ": " or with CR/LF in it, -ATV_E_LIMIT
 * past ATV_HTTP_MAX_HEADERS lines. */
int atv_http_add_header(struct atv_http *h, const char *line, struct atv_err *err);

/* Add the headers the iOS Remote app sends to a DMAP server:
 * Client-DAAP-Version 3.13, Client-ATV-Sharing-Version 1.2,
 * Client-iTunes-Sharing-Version 3.15, Viewer-Only-Client 1, and
 * User-Agent Remote/1021 (which replaces curl's). */
int atv_http_add_remote_headers(struct atv_http *h, struct atv_err *err);

/* Watch fd (-1: none) while a request waits; see above. */
void atv_http_set_cancel_fd(struct atv_http *h, int fd);

/* 1 when the last request ended because the cancel fd turned readable. */
int atv_http_cancelled(const struct atv_http *h);

struct atv_http_req {
	const char *method; /* "GET" or "POST"; NULL is GET */
	const char *path;   /* appended to the base URL: "/login?pairing-guid=0x..." */
	const void *body;   /* POST body (may be NULL when body_len is 0) */
	size_t body_len;
	const char *content_type; /* of the POST body; NULL: none sent */
	long timeout_ms;	  /* 0: the handle's total time; ATV_HTTP_NO_TIMEOUT */
	/* NULL, or NULL-terminated "Name: value" lines sent with this request
	 * only, after the handle's (checked as atv_http_add_header: -ATV_E_USAGE,
	 * -ATV_E_LIMIT past ATV_HTTP_MAX_HEADERS lines).  A Content-Type line
	 * here stands for content_type when that is NULL. */
	const char *const *headers;
};

/* Perform req.  On 0, *status is the HTTP status and the body has been
 * appended to body (whose max caps it).  On failure body holds whatever had
 * arrived.  The connection stays open for the next request when the server
 * allows it. */
int atv_http_request(struct atv_http *h, const struct atv_http_req *req, long *status,
		     struct atv_buf *body, struct atv_err *err);

/* Shorthands for atv_http_request. */
int atv_http_get(struct atv_http *h, const char *path, long *status, struct atv_buf *body,
		 struct atv_err *err);
int atv_http_post(struct atv_http *h, const char *path, const void *data, size_t len,
		  const char *content_type, long *status, struct atv_buf *body,
		  struct atv_err *err);

/* s percent-encoded for a query value (malloc'd, free() it), or NULL when
 * out of memory. */
char *atv_http_escape(const char *s);

#endif
