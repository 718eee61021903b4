/* fuzz-httpmsg - the HTTP/RTSP message parser (lib/httpmsg.c) on device
 * bytes: the first byte picks a reply or a request, HEAD or not, and how
 * the rest is cut into pieces (the parser must give the same answer
 * however the bytes arrive); every message parses or is refused with a
 * message, within its bounds, and a complete one is consistent. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 4096

/* Parse p in pieces of step bytes (0: all at once); the result, with the
 * bytes taken in *taken. */
static int run(struct atv_httpmsg *m, const uint8_t *p, size_t len, size_t step, size_t *taken,
	       struct atv_err *err)
{
	size_t off = 0;
	int r = 0;

	while (off < len) {
		size_t n = step ? step : len - off, used = 0;

		if (n > len - off)
			n = len - off;
		r = atv_httpmsg_parse(m, p + off, n, &used, err);
		if (used > n)
			abort();
		off += used;
		if (r != 0)
			break;
		if (used < n)
			abort(); /* more needed, yet bytes left over */
	}
	if (r == 0)
		r = atv_httpmsg_finish(m, err) == 1 ? 1 : 0;
	*taken = off;
	return r;
}

static void check(const struct atv_httpmsg *m)
{
	if (m->head.len > ATV_HTTPMSG_HEAD_MAX + 1 || m->body.len > BODY_MAX ||
	    m->n_headers > ATV_HTTPMSG_HEADERS_MAX)
		abort();
	if (m->kind == ATV_HTTPMSG_REPLY && (m->status < 100 || m->status > 999 || !m->reason))
		abort();
	if (m->kind == ATV_HTTPMSG_REQUEST && (!m->method[0] || !m->uri || !m->uri[0]))
		abort();
	for (size_t i = 0; i < m->n_headers; i++)
		if (!m->headers[i].name[0] || strpbrk(m->headers[i].name, " \t:\r\n") ||
		    strpbrk(m->headers[i].value, "\r\n"))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_httpmsg a, b;
	struct atv_err ea = {0}, eb = {0};
	size_t ta, tb, step;
	int ra, rb;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] >> 2) % 17 + 1;
	atv_httpmsg_init(&a, data[0] & 1 ? ATV_HTTPMSG_REQUEST : ATV_HTTPMSG_REPLY, BODY_MAX);
	atv_httpmsg_init(&b, a.kind, BODY_MAX);
	a.head_request = b.head_request = (data[0] & 2) != 0;
	ra = run(&a, data + 1, size - 1, 0, &ta, &ea);
	rb = run(&b, data + 1, size - 1, step, &tb, &eb);
	/* the same answer whether the bytes come at once or in pieces */
	if (ra != rb || (ra < 0 && ea.code != eb.code))
		abort();
	if (ra < 0 && !ea.msg[0])
		abort(); /* a refusal always says why */
	if (ra == 1) {
		check(&a);
		if (ta != tb || a.status != b.status || a.body.len != b.body.len ||
		    (a.body.len && memcmp(a.body.data, b.body.data, a.body.len) != 0))
			abort();
	}
	atv_httpmsg_release(&a);
	atv_httpmsg_release(&b);
	return 0;
}
