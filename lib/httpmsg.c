/* httpmsg.c - HTTP/1.1 and RTSP/1.0 messages: build, parse incrementally,
 * exchange on a channel (see httpmsg.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "airplay_channel.h"
#include "httpmsg.h"
#include "tcp.h"
#include "banned.h"

enum { S_HEAD, S_BODY, S_DONE, S_FAILED };

/* ---- building ---- */

/* 1 when s is a non-empty string without CR or LF (one message line). */
static bool clean(const char *s)
{
	return s && s[0] && !strpbrk(s, "\r\n");
}

/* Append "a b c\r\n", then for RTSP the CSeq, the header lines, a
 * Content-Length when with_length or there is a body, the empty line and
 * the body.  The parts were checked by the caller. */
static int emit(struct atv_buf *out, const char *a, const char *b, const char *c, bool rtsp,
		unsigned cseq, const char *const *headers, const void *body, size_t len,
		bool with_length, struct atv_err *err)
{
	char line[96];
	int r;

	r = atv_buf_append(out, a, strlen(a), err);
	if (r == 0)
		r = atv_buf_append(out, " ", 1, err);
	if (r == 0)
		r = atv_buf_append(out, b, strlen(b), err);
	if (r == 0)
		r = atv_buf_append(out, " ", 1, err);
	if (r == 0)
		r = atv_buf_append(out, c, strlen(c), err);
	if (r == 0)
		r = atv_buf_append(out, "\r\n", 2, err);
	if (r == 0 && rtsp) {
		snprintf(line, sizeof line, "CSeq: %u\r\n", cseq);
		r = atv_buf_append(out, line, strlen(line), err);
	}
	for (const char *const *h = headers; r == 0 && h && *h; h++) {
		r = atv_buf_append(out, *h, strlen(*h), err);
		if (r == 0)
			r = atv_buf_append(out, "\r\n", 2, err);
	}
	if (r == 0 && (len || with_length)) {
		snprintf(line, sizeof line, "Content-Length: %zu\r\n", len);
		r = atv_buf_append(out, line, strlen(line), err);
	}
	if (r == 0)
		r = atv_buf_append(out, "\r\n", 2, err);
	if (r == 0 && len)
		r = atv_buf_append(out, body, len, err);
	return r;
}

/* Header lines and a body as a message may carry them. */
static int check_parts(const char *const *headers, const void *body, size_t len,
		       struct atv_err *err)
{
	for (const char *const *h = headers; h && *h; h++)
		if (!clean(*h) || !strstr(*h, ": "))
			return atv_err_set(err, ATV_E_USAGE, "malformed header line");
	if (len && !body)
		return atv_err_set(err, ATV_E_USAGE, "a body length without a body");
	return 0;
}

int atv_httpmsg_build(const struct atv_httpmsg_req *req, struct atv_buf *out,
		      struct atv_err *err)
{
	const char *proto = req->proto ? req->proto : "HTTP/1.1";
	bool rtsp = strcmp(proto, "RTSP/1.0") == 0;
	int r;

	if (!rtsp && strcmp(proto, "HTTP/1.1") != 0)
		return atv_err_set(err, ATV_E_USAGE, "unknown protocol %.32s", proto);
	if (!clean(req->method) || strpbrk(req->method, " ") || !clean(req->uri) ||
	    strpbrk(req->uri, " "))
		return atv_err_set(err, ATV_E_USAGE, "a method or uri with a space or line break");
	if ((r = check_parts(req->headers, req->body, req->body_len, err)) < 0)
		return r;
	return emit(out, req->method, req->uri, proto, rtsp, req->cseq, req->headers, req->body,
		    req->body_len, strcmp(req->method, "POST") == 0, err);
}

int atv_httpmsg_build_reply(const struct atv_httpmsg *request, int status, const char *reason,
			    const char *const *headers, const void *body, size_t len,
			    struct atv_buf *out, struct atv_err *err)
{
	bool rtsp = strcmp(request->proto, "RTSP/1.0") == 0;
	const char *cseq = atv_httpmsg_header(request, "CSeq");
	char code[8];
	unsigned long n = 0;
	int r;

	if (status < 100 || status > 999 || !clean(reason))
		return atv_err_set(err, ATV_E_USAGE, "a status of 100..999 and a one-line reason");
	if ((r = check_parts(headers, body, len, err)) < 0)
		return r;
	/* RTSP replies echo the request's CSeq (RFC 2326 §12.17) */
	if (rtsp && (!cseq || !cseq[0] || strlen(cseq) > 9 || strspn(cseq, "0123456789") !=
								  strlen(cseq)))
		return atv_err_set(err, ATV_E_PROTO, "an RTSP request without a usable CSeq");
	if (rtsp)
		n = strtoul(cseq, NULL, 10);
	snprintf(code, sizeof code, "%d", status);
	return emit(out, rtsp ? "RTSP/1.0" : "HTTP/1.1", code, reason, rtsp, (unsigned)n, headers,
		    body, len, true, err);
}

/* ---- parsing ---- */

void atv_httpmsg_init(struct atv_httpmsg *m, enum atv_httpmsg_kind kind, size_t body_max)
{
	memset(m, 0, sizeof *m);
	m->kind = kind;
	atv_buf_init(&m->body, body_max);
	atv_buf_init(&m->head, ATV_HTTPMSG_HEAD_MAX + 1); /* + the NUL */
	m->state = S_HEAD;
}

void atv_httpmsg_reset(struct atv_httpmsg *m)
{
	struct atv_buf body = m->body, head = m->head;
	enum atv_httpmsg_kind kind = m->kind;
	bool head_request = m->head_request;

	memset(m, 0, sizeof *m);
	m->kind = kind;
	m->head_request = head_request;
	m->body = body;
	m->head = head;
	atv_buf_reset(&m->body);
	atv_buf_reset(&m->head);
	m->state = S_HEAD;
}

void atv_httpmsg_release(struct atv_httpmsg *m)
{
	atv_buf_release(&m->body);
	atv_buf_release(&m->head);
}

static int fail(struct atv_httpmsg *m, struct atv_err *err, int code, const char *what)
{
	m->state = S_FAILED;
	return atv_err_set(err, code, "%s", what);
}

const char *atv_httpmsg_header(const struct atv_httpmsg *m, const char *name)
{
	for (size_t i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* The token at *s up to a space, copied into out (size bytes); *s moves
 * past the space.  false when there is none or it does not fit. */
static bool token(char **s, char *out, size_t size)
{
	char *sp = strchr(*s, ' ');
	size_t n = sp ? (size_t)(sp - *s) : strlen(*s);

	if (n == 0 || n >= size)
		return false;
	memcpy(out, *s, n);
	out[n] = '\0';
	*s += n + (sp ? 1 : 0);
	return true;
}

static bool known_proto(const char *p)
{
	return strcmp(p, "HTTP/1.1") == 0 || strcmp(p, "HTTP/1.0") == 0 ||
	       strcmp(p, "RTSP/1.0") == 0;
}

static int start_line(struct atv_httpmsg *m, char *line, struct atv_err *err)
{
	char st[8];
	size_t len;

	if (m->kind == ATV_HTTPMSG_REQUEST) {
		if (!token(&line, m->method, sizeof m->method) || !(m->uri = line) ||
		    !(line = strchr(line, ' ')))
			return fail(m, err, ATV_E_PROTO, "malformed request line");
		*line++ = '\0';
		len = strlen(line);
		if (!m->uri[0] || len >= sizeof m->proto || !known_proto(line))
			return fail(m, err, ATV_E_PROTO, "malformed request line");
		memcpy(m->proto, line, len + 1);
		return 0;
	}
	if (!token(&line, m->proto, sizeof m->proto) || !known_proto(m->proto) ||
	    !token(&line, st, sizeof st) || strlen(st) != 3 || strspn(st, "0123456789") != 3 ||
	    st[0] == '0')
		return fail(m, err, ATV_E_PROTO, "malformed status line");
	m->status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
	m->reason = line;
	return 0;
}

/* Split the complete head (NUL-terminated, CR LF or LF line ends, ending
 * in an empty line) into the start line and the headers. */
static int split_head(struct atv_httpmsg *m, struct atv_err *err)
{
	char *s = (char *)m->head.data, *eol;
	bool first = true;
	int r;

	for (; (eol = strchr(s, '\n')) != NULL; s = eol + 1) {
		char *colon, *v, *end;

		*eol = '\0';
		if (eol > s && eol[-1] == '\r')
			eol[-1] = '\0';
		/* a CR anywhere else could end a line for another parser
		 * (RFC 9112 §2.2: refuse bare CRs) */
		if (strchr(s, '\r'))
			return fail(m, err, ATV_E_PROTO, "a bare CR in a message head");
		if (!s[0])
			break; /* the empty line */
		if (first) {
			if ((r = start_line(m, s, err)) < 0)
				return r;
			first = false;
			continue;
		}
		/* obsolete line folding and names with spaces are refused (RFC
		 * 9112 §5.1-5.2: a request smuggling risk) */
		colon = strchr(s, ':');
		if (s[0] == ' ' || s[0] == '\t' || !colon || colon == s ||
		    strcspn(s, " \t") < (size_t)(colon - s))
			return fail(m, err, ATV_E_PROTO, "malformed header line");
		if (m->n_headers == ATV_HTTPMSG_HEADERS_MAX)
			return fail(m, err, ATV_E_LIMIT, "more than 64 header lines");
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		m->headers[m->n_headers].name = s;
		m->headers[m->n_headers].value = v;
		m->n_headers++;
	}
	if (first)
		return fail(m, err, ATV_E_PROTO, "empty start line");
	return 0;
}

/* 1 when the comma-separated list v holds token t (any case). */
static bool list_has(const char *v, const char *t)
{
	size_t n = strlen(t);

	while (v && *v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (strncasecmp(v, t, n) == 0 && (v[n] == '\0' || v[n] == ',' || v[n] == ' ' ||
						  v[n] == '\t'))
			return true;
		v = strchr(v, ',');
	}
	return false;
}

/* How the body is framed, from the complete head. */
static int framing(struct atv_httpmsg *m, struct atv_err *err)
{
	const char *conn = atv_httpmsg_header(m, "Connection");
	bool have_len = false;
	uint64_t len = 0;

	if (strcmp(m->proto, "HTTP/1.0") == 0)
		m->keep_alive = list_has(conn, "keep-alive");
	else
		m->keep_alive = !list_has(conn, "close");
	if (atv_httpmsg_header(m, "Transfer-Encoding"))
		return fail(m, err, ATV_E_PROTO, "a Transfer-Encoding body (not supported)");
	for (size_t i = 0; i < m->n_headers; i++) {
		const char *v = m->headers[i].value;
		uint64_t n = 0;

		if (strcasecmp(m->headers[i].name, "Content-Length") != 0)
			continue;
		if (!v[0] || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18)
			return fail(m, err, ATV_E_PROTO, "malformed Content-Length");
		for (; *v; v++)
			n = n * 10 + (uint64_t)(*v - '0');
		if (have_len && n != len)
			return fail(m, err, ATV_E_PROTO, "conflicting Content-Length headers");
		have_len = true;
		len = n;
	}
	if (m->kind == ATV_HTTPMSG_REPLY &&
	    ((m->status >= 100 && m->status < 200) || m->status == 204 || m->status == 304 ||
	     m->head_request))
		return 0; /* no body by nature, whatever the headers say */
	if (have_len) {
		if (len > m->body.max - m->body.len) {
			m->state = S_FAILED;
			return atv_err_set(err, ATV_E_LIMIT, "a body of %llu bytes (limit %zu)",
					   (unsigned long long)len, m->body.max);
		}
		m->remaining = len;
		return 0;
	}
	/* no length: a request has no body; a reply on a connection that
	 * stays open is empty (nothing else could tell where it ends),
	 * otherwise the body runs to the close */
	if (m->kind == ATV_HTTPMSG_REPLY && !m->keep_alive)
		m->to_close = true;
	return 0;
}

/* Take head bytes until the empty line; 1 when the head is complete. */
static int parse_head(struct atv_httpmsg *m, const uint8_t *p, size_t len, size_t *used,
		      struct atv_err *err)
{
	size_t i, line_start = m->line_start;
	int r;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '\0')
			return fail(m, err, ATV_E_PROTO, "a NUL byte in a message head");
		if (m->head.len - line_start >= ATV_HTTPMSG_LINE_MAX && c != '\n')
			return fail(m, err, ATV_E_LIMIT,
				    "a header line longer than 8192 bytes");
		if (m->head.len >= ATV_HTTPMSG_HEAD_MAX)
			return fail(m, err, ATV_E_LIMIT, "a message head over 32768 bytes");
		if (atv_buf_append(&m->head, &c, 1, err) < 0) {
			m->state = S_FAILED;
			return -err->code;
		}
		if (c != '\n')
			continue;
		/* a line ended: an empty one (LF or CR LF) ends the head, but
		 * empty lines before the start line are skipped (RFC 9112 §2.2) */
		if (m->head.len - line_start <= 2 &&
		    (m->head.len - line_start == 1 || m->head.data[line_start] == '\r')) {
			if (line_start == 0) {
				atv_buf_reset(&m->head);
				continue;
			}
			m->line_start = 0;
			*used = i + 1;
			/* a NUL after the head (its max keeps room for it) */
			if (atv_buf_append(&m->head, "", 1, err) < 0) {
				m->state = S_FAILED;
				return -err->code;
			}
			m->head.len--;
			if ((r = split_head(m, err)) < 0 || (r = framing(m, err)) < 0)
				return r;
			return 1;
		}
		line_start = m->head.len;
	}
	m->line_start = line_start;
	*used = len;
	return 0;
}

int atv_httpmsg_parse(struct atv_httpmsg *m, const uint8_t *p, size_t len, size_t *used,
		      struct atv_err *err)
{
	size_t n = 0, take;
	int r;

	*used = 0;
	if (m->state == S_FAILED)
		return atv_err_set(err, ATV_E_USAGE, "message parser used after an error");
	if (m->state == S_DONE)
		return 1;
	if (m->state == S_HEAD) {
		r = parse_head(m, p, len, &n, err);
		*used = n;
		if (r <= 0)
			return r;
		m->state = S_BODY;
	}
	take = len - n;
	if (!m->to_close && take > m->remaining)
		take = (size_t)m->remaining;
	if (take && atv_buf_append(&m->body, p + n, take, err) < 0) {
		m->state = S_FAILED;
		if (err && err->code == ATV_E_LIMIT)
			atv_err_set(err, ATV_E_LIMIT, "a body over %zu bytes", m->body.max);
		return err ? -err->code : -ATV_E_LIMIT;
	}
	*used = n + take;
	if (m->to_close)
		return 0;
	m->remaining -= take;
	if (m->remaining)
		return 0;
	m->state = S_DONE;
	return 1;
}

int atv_httpmsg_finish(struct atv_httpmsg *m, struct atv_err *err)
{
	if (m->state == S_DONE)
		return 1;
	if (m->state == S_BODY && m->to_close) {
		m->state = S_DONE;
		return 1;
	}
	if (m->state == S_HEAD && m->head.len == 0)
		return atv_err_set(err, ATV_E_UNREACHABLE, "connection closed by the peer");
	m->state = S_FAILED;
	return atv_err_set(err, ATV_E_PROTO, "connection closed in the middle of a message");
}

/* ---- one exchange ---- */

/* Parse what the channel received into reply; 1 when complete (1xx
 * replies skipped), 0 for more, or an error. */
static int take_input(struct atv_channel *ch, struct atv_httpmsg *reply, struct atv_err *err)
{
	struct atv_buf *in = atv_channel_input(ch);
	size_t used;
	int r;

	for (;;) {
		r = atv_httpmsg_parse(reply, in->data, in->len, &used, err);
		atv_buf_consume(in, used);
		if (r == 1 && reply->status >= 100 && reply->status < 200) {
			atv_httpmsg_reset(reply);
			continue;
		}
		return r;
	}
}

int atv_httpmsg_exchange(struct atv_channel *ch, const struct atv_httpmsg_req *req,
			 struct atv_httpmsg *reply, int timeout_ms, struct atv_err *err)
{
	int64_t deadline = atv_clock_ms() + timeout_ms;
	struct atv_buf out;
	struct pollfd pfd[2];
	int r;

	atv_httpmsg_reset(reply);
	reply->head_request = strcmp(req->method, "HEAD") == 0;
	atv_buf_init(&out, ATV_CHANNEL_BUF_MAX);
	r = atv_httpmsg_build(req, &out, err);
	if (r == 0)
		r = atv_channel_send(ch, out.data, out.len, err);
	atv_buf_release(&out);
	if (r < 0)
		goto out;
	for (;;) {
		int64_t left;
		size_t n;

		r = atv_channel_pump(ch, err);
		if (r == 0 || r == -ATV_E_UNREACHABLE) {
			int closed = r < 0;

			r = take_input(ch, reply, err);
			if (r == 0 && closed)
				r = atv_httpmsg_finish(reply, err);
			if (r != 0)
				break;
		} else {
			break;
		}
		left = deadline - atv_clock_ms();
		if (left <= 0) {
			r = atv_err_set(err, ATV_E_UNREACHABLE,
					"no complete answer within %d ms", timeout_ms);
			break;
		}
		n = atv_channel_pollfds(ch, pfd);
		if (poll(pfd, (nfds_t)n, (int)left) < 0 && errno != EINTR) {
			r = atv_err_sys(err, ATV_E_IO, errno, "poll");
			break;
		}
	}
	r = r == 1 ? 0 : r;
out:
	if (r < 0)
		atv_err_prefix(err, "%s %.200s", req->method, req->uri);
	return r;
}
