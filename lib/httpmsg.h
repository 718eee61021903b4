/* httpmsg.h - HTTP/1.1 and RTSP/1.0 messages of our own, for AirPlay.
 *
 * AirPlay speaks HTTP (and, for the AirPlay 2 tunnel, RTSP) on a connection
 * whose bytes turn HAP-encrypted after pairing (airplay_channel.h), and the device
 * also sends requests of its own on the event channel.  The exchanges are
 * few and simple, so instead of an HTTP library pumped through a local
 * socket this layer builds a request into bytes and parses a message
 * (request or reply) incrementally from whatever bytes arrive, with a
 * bound on everything a peer controls:
 *
 *   start line and each header line  ATV_HTTPMSG_LINE_MAX bytes
 *   header lines                     ATV_HTTPMSG_HEADERS_MAX
 *   the whole head                   ATV_HTTPMSG_HEAD_MAX bytes
 *   the body                         the max of the caller's body buffer
 *
 * Body framing (RFC 9112 §6.3): a Content-Length gives the body; replies
 * with status 1xx, 204 or 304 and replies to HEAD have none; a
 * Transfer-Encoding (chunked) is refused, no AirPlay device sends one.  A
 * reply without Content-Length on a connection that stays open (HTTP/1.1
 * or RTSP, no "Connection: close") is empty: some receivers answer
 * /pair-pin-start that way and never close (pyatv treats it the same); on
 * a connection that closes, the body runs to the close
 * (atv_httpmsg_finish).  A request without Content-Length has no body.
 *
 * The device's own requests (the AirPlay 2 event channel) parse the same
 * way (ATV_HTTPMSG_REQUEST) and are answered with atv_httpmsg_build_reply.
 *
 * Errors: a limit passed is -ATV_E_LIMIT and a malformed message
 * -ATV_E_PROTO, each with a message that names what was wrong; both are
 * the device's fault (exit 5). */
#ifndef ATV_HTTPMSG_H
#define ATV_HTTPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ATV_HTTPMSG_LINE_MAX	8192	    /* start line or one header line */
#define ATV_HTTPMSG_HEADERS_MAX 64	    /* header lines per message */
#define ATV_HTTPMSG_HEAD_MAX	(32 * 1024) /* start line and headers together */
#define ATV_HTTPMSG_TOKEN_MAX	32	    /* a method or a protocol name */

struct atv_channel;

/* ---- building a request ---- */

struct atv_httpmsg_req {
	const char *method; /* "GET", "POST", "SETUP" ... */
	const char *uri;    /* "/play", "rtsp://10.0.0.5/1234" ... */
	const char *proto;  /* "HTTP/1.1" (NULL) or "RTSP/1.0" */
	/* NULL, or NULL-terminated "Name: value" lines (no CR or LF) */
	const char *const *headers;
	const void *body; /* may be NULL when body_len is 0 */
	size_t body_len;
	unsigned cseq; /* RTSP: the CSeq header's value (sent when proto is RTSP) */
};

/* Append req as bytes to out: the request line, the header lines, a
 * Content-Length when there is a body or the method is POST, "CSeq: n"
 * for RTSP, the empty line and the body.  -ATV_E_USAGE for a method, URI
 * or header with CR, LF or NUL in it (or a header without ": "), or an
 * unknown protocol; -ATV_E_LIMIT when out's max is too small. */
int atv_httpmsg_build(const struct atv_httpmsg_req *req, struct atv_buf *out,
		      struct atv_err *err);

/* ---- parsing a message ---- */

enum atv_httpmsg_kind { ATV_HTTPMSG_REPLY, ATV_HTTPMSG_REQUEST };

struct atv_httpmsg_header {
	const char *name, *value; /* NUL-terminated, inside the message */
};

struct atv_httpmsg {
	enum atv_httpmsg_kind kind;
	/* set by the caller before parsing a reply: */
	bool head_request;    /* it answers HEAD: no body */
	/* the start line, once the head is complete */
	char method[ATV_HTTPMSG_TOKEN_MAX]; /* requests */
	const char *uri;		    /* requests, inside head */
	char proto[ATV_HTTPMSG_TOKEN_MAX];  /* "HTTP/1.1", "RTSP/1.0" */
	int status;			    /* replies: 100..999 */
	const char *reason;		    /* replies, inside head */
	size_t n_headers;
	struct atv_httpmsg_header headers[ATV_HTTPMSG_HEADERS_MAX];
	struct atv_buf body; /* its max caps the body */
	bool keep_alive;     /* the connection stays open after this message */
	/* private */
	struct atv_buf head;
	int state;
	size_t line_start;   /* where the head's current line began */
	bool to_close;	     /* the body runs to the end of the stream */
	uint64_t remaining; /* body bytes still to come */
};

/* Ready m for a message of kind whose body may be body_max bytes. */
void atv_httpmsg_init(struct atv_httpmsg *m, enum atv_httpmsg_kind kind, size_t body_max);

/* Ready m for the next message on the same stream (keeps kind, body_max
 * and head_request; the buffers are reused). */
void atv_httpmsg_reset(struct atv_httpmsg *m);

/* Free what m holds (not m). */
void atv_httpmsg_release(struct atv_httpmsg *m);

/* Parse the next len bytes of the stream at p; *used says how many were
 * taken (the rest belongs to the next message).  1 when the message is
 * complete, 0 when more bytes are needed, or an error (see above; m is
 * unusable until reset). */
int atv_httpmsg_parse(struct atv_httpmsg *m, const uint8_t *p, size_t len, size_t *used,
		      struct atv_err *err);

/* The stream ended.  1 when that completes m (a body that runs to the
 * close), otherwise -ATV_E_UNREACHABLE (nothing of a message yet) or
 * -ATV_E_PROTO (a message cut short). */
int atv_httpmsg_finish(struct atv_httpmsg *m, struct atv_err *err);

/* The value of the first header called name (any case), or NULL. */
const char *atv_httpmsg_header(const struct atv_httpmsg *m, const char *name);

/* Append the reply to request (a parsed REQUEST) to out: "HTTP/1.1" or
 * "RTSP/1.0" as the request spoke, status and reason, the request's CSeq
 * for RTSP, headers (as in a request), always a Content-Length, the body.
 * -ATV_E_USAGE for a bad status, reason or header; -ATV_E_PROTO for an
 * RTSP request without a numeric CSeq; -ATV_E_LIMIT when out is full. */
int atv_httpmsg_build_reply(const struct atv_httpmsg *request, int status, const char *reason,
			    const char *const *headers, const void *body, size_t len,
			    struct atv_buf *out, struct atv_err *err);

/* ---- one exchange on a channel ---- */

/* Send req on ch (a direct channel, airplay_channel.h atv_channel_new_direct) and
 * parse the reply into reply (initialised by the caller as a REPLY; reset
 * here), waiting at most timeout_ms for all of it; 1xx replies are
 * skipped.  On 0 reply holds the status, headers and body.  A reply that
 * does not come in time is -ATV_E_UNREACHABLE "no complete answer to
 * METHOD URI within N ms"; channel errors and parse errors are passed on
 * with the request named. */
int atv_httpmsg_exchange(struct atv_channel *ch, const struct atv_httpmsg_req *req,
			 struct atv_httpmsg *reply, int timeout_ms, struct atv_err *err);

#endif
