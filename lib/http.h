/* http.h - a thin libcurl wrapper for the DMAP client.
 *
 * One struct atv_http is one HTTP/1.1 connection to one device: requests
 * on it reuse the connection (keep-alive) while the device keeps it open.
 * Requests are synchronous and return the status code and the body; any
 * status is a successful request at this layer (the caller decides what a
 * 403 or a 503 means).
 *
 * Two ways to run a request on a handle (a handle uses one of them):
 * atv_http_request blocks until the answer is in; atv_http_start only
 * starts one, and the caller's poll loop drives it (long polls such as
 * DACP playstatusupdate, which the device holds until something changes,
 * while the tool goes on reading commands and signals).  For the latter,
 * libcurl's multi "socket" interface tells us which of its sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when its next timer is due
 * (CURLMOPT_TIMERFUNCTION): the sockets go into one epoll set, so the
 * caller polls one fd (atv_http_fd) for POLLIN with the timeout
 * atv_http_timeout_ms, then calls atv_http_step, which never blocks: it
 * runs the due timer and the ready sockets (curl_multi_socket_action) and
 * says whether the answer is complete.  No threads, no extra pipe.
 *
 * Bounds: the caller's struct atv_buf receives the body and its max is the
 * cap: a Content-Length past it fails before the body is read, a body that
 * grows past it aborts the transfer; both are -ATV_E_LIMIT.  The cap is on
 * the decoded body when the device sends gzip.  Response headers past
 * ATV_HTTP_HEADER_MAX bytes in all (or one line past libcurl's own limit)
 * are -ATV_E_PROTO "response headers larger than ... bytes".
 *
 * Errors: a refused or timed-out connection, an unresolvable host and a
 * request that runs past its time are -ATV_E_UNREACHABLE; other transfer
 * failures (a reset, garbage instead of HTTP) are -ATV_E_PROTO.
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
#define ATV_HTTP_HEADER_MAX  65536 /* bytes of response headers */

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

/* Add the headers the iOS Remote app (and pyatv) send to a DMAP server:
 * Accept (any type), Accept-Encoding gzip, Client-DAAP-Version 3.13,
 * Client-ATV-Sharing-Version 1.2, Client-iTunes-Sharing-Version 3.15,
 * Viewer-Only-Client 1, and User-Agent Remote/1021 (which replaces
 * curl's).  From then on a gzip body is decoded before it reaches the
 * caller's buffer. */
int atv_http_add_remote_headers(struct atv_http *h, struct atv_err *err);


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

/* Start req on h and return at once (the same checks and errors as
 * atv_http_request up to the transfer; -ATV_E_USAGE while one is under
 * way, or on a handle with a channel).  body receives the body as the
 * transfer goes, and must stay until it ended (step returned non-zero) or
 * atv_http_abort.  After the first atv_http_start, h serves only started
 * requests. */
int atv_http_start(struct atv_http *h, const struct atv_http_req *req, struct atv_buf *body,
		   struct atv_err *err);

/* The fd to poll for POLLIN while a started request runs: -1 before the
 * first atv_http_start, then the same fd until atv_http_free (owned by h). */
int atv_http_fd(const struct atv_http *h);

/* Milliseconds until atv_http_step must run even if the fd stays quiet
 * (libcurl's timers: connect, timeouts), -1 when there is no such time. */
int atv_http_timeout_ms(const struct atv_http *h);

/* Do what is due without blocking: 1 when the started request has ended
 * with *status set (body complete), 0 while it is under way (or none is),
 * or its error as atv_http_request's.  The request is over on non-zero. */
int atv_http_step(struct atv_http *h, long *status, struct atv_err *err);

/* Abandon the started request, if any (its connection is closed). */
void atv_http_abort(struct atv_http *h);

/* s percent-encoded for a query value (malloc'd, free() it), or NULL when
 * out of memory. */
char *atv_http_escape(const char *s);

#endif
