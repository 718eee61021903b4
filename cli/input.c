/* input.c - item lines from a file descriptor (waiting for them while a
 * device connection is serviced is in connect.c). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "jsonl.h"
#include "banned.h"

#define READ_CHUNK 4096

void atv_cli_lines_init(struct atv_cli_lines *r, int fd)
{
	r->fd = fd;
	/* one byte more than the longest line, for its NUL */
	atv_buf_init(&r->buf, ATV_JSONL_MAX + 1);
	r->used = 0;
	r->eof = false;
	r->skipping = false;
	r->lineno = 0;
}

void atv_cli_lines_release(struct atv_cli_lines *r)
{
	atv_buf_release(&r->buf);
	r->used = 0;
}

int atv_cli_lines_next(struct atv_cli_lines *r, char **line, size_t *len, struct atv_err *err)
{
	uint8_t *nl;
	size_t n;

	atv_buf_consume(&r->buf, r->used);
	r->used = 0;
	nl = r->buf.len ? memchr(r->buf.data, '\n', r->buf.len) : NULL;
	if (r->skipping) {
		if (!nl) {
			r->used = r->buf.len;
			return 0;
		}
		r->skipping = false;
		atv_buf_consume(&r->buf, (size_t)(nl - r->buf.data) + 1);
		nl = r->buf.len ? memchr(r->buf.data, '\n', r->buf.len) : NULL;
	}
	if (nl) {
		n = (size_t)(nl - r->buf.data);
		r->used = n + 1;
	} else if (r->buf.len >= ATV_JSONL_MAX) {
		r->skipping = true;
		r->used = r->buf.len;
		return atv_err_set(err, ATV_E_INPUT, "line %zu: input line longer than %u bytes",
				   ++r->lineno, ATV_JSONL_MAX - 1);
	} else if (r->eof && r->buf.len > 0) {
		/* a last line without its newline still counts */
		n = r->buf.len;
		if (atv_buf_append(&r->buf, "", 1, err) < 0)
			return -ATV_E_NOMEM;
		r->buf.len--;
		r->used = n;
	} else {
		return 0;
	}
	r->lineno++;
	/* the same limit as atv_jsonl_read: ATV_JSONL_MAX - 1 bytes and the NUL */
	if (n >= ATV_JSONL_MAX)
		return atv_err_set(err, ATV_E_INPUT, "line %zu: input line longer than %u bytes",
				   r->lineno, ATV_JSONL_MAX - 1);
	if (memchr(r->buf.data, '\0', n))
		return atv_err_set(err, ATV_E_INPUT, "line %zu: input line contains a NUL byte",
				   r->lineno);
	r->buf.data[n] = '\0';
	if (n > 0 && r->buf.data[n - 1] == '\r')
		r->buf.data[--n] = '\0';
	*line = (char *)r->buf.data;
	*len = n;
	return 1;
}

int atv_cli_lines_fill(struct atv_cli_lines *r, struct atv_err *err)
{
	size_t room;
	ssize_t got;

	if (r->eof)
		return 0;
	if (r->skipping) {
		/* keep nothing of an over-long line but what follows it */
		atv_buf_consume(&r->buf, r->used);
		r->used = 0;
	}
	room = r->buf.max - r->buf.len;
	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (room == 0)
		return 0;
	if (atv_buf_reserve(&r->buf, room, err) < 0)
		return -ATV_E_NOMEM;
	got = read(r->fd, r->buf.data + r->buf.len, room);
	if (got < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return atv_err_sys(err, ATV_E_IO, errno, "unable to read input");
	}
	if (got == 0)
		r->eof = true;
	r->buf.len += (size_t)got;
	return 0;
}

int atv_cli_lines_get(struct atv_cli_lines *r, char **line, size_t *len, struct atv_err *err)
{
	int ret;

	for (;;) {
		ret = atv_cli_lines_next(r, line, len, err);
		if (ret != 0 || r->eof)
			return ret;
		ret = atv_cli_lines_fill(r, err);
		if (ret < 0)
			return ret;
	}
}

long long atv_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
