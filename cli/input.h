/* input.h - items on standard input, read while a connection stays alive.
 *
 * Tools read their items straight from the file descriptor (not through
 * stdio), so that poll() on it tells the truth: a line read into a FILE
 * buffer would be invisible to poll() and wait there until the next one.
 * atv_cli_wait() services a device connection (its input and heartbeat
 * timer) while the tool waits for its next line, a signal or a deadline. */
#ifndef ATV_CLI_INPUT_H
#define ATV_CLI_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "conn.h"
#include "err.h"

struct atv_cli_lines {
	int fd;
	struct atv_buf buf; /* bytes read and not yet returned */
	size_t used;	    /* bytes of buf returned by the last atv_cli_lines_next */
	bool eof;
	bool skipping; /* dropping the rest of an over-long line */
	size_t lineno; /* of the line returned (or refused) last, from 1 */
};

/* Read lines from fd (not closed by release). */
void atv_cli_lines_init(struct atv_cli_lines *r, int fd);
void atv_cli_lines_release(struct atv_cli_lines *r);

/* The next complete line already read: 1 with *line (NUL-terminated,
 * without the newline or a CR before it; valid until the next call) and
 * *len, 0 when no whole line is buffered (read more, or the input is at its
 * end when r->eof), -ATV_E_INPUT for a line of ATV_JSONL_MAX bytes or more (the
 * rest of it is skipped) or holding a NUL byte; such messages start with
 * "line N: ".  r->lineno counts the lines. */
int atv_cli_lines_next(struct atv_cli_lines *r, char **line, size_t *len, struct atv_err *err);

/* One read(2) into the buffer: 0 (r->eof is set at the end), or -ATV_E_IO.
 * An interrupted read returns 0 with nothing read. */
int atv_cli_lines_fill(struct atv_cli_lines *r, struct atv_err *err);

/* Blocking: the next line, reading as needed.  1, 0 at the end, or < 0. */
int atv_cli_lines_get(struct atv_cli_lines *r, char **line, size_t *len, struct atv_err *err);

/* What atv_cli_wait saw. */
#define ATV_CLI_WAIT_IN	  1 /* in_fd is readable (or at its end) */
#define ATV_CLI_WAIT_STOP 2 /* stop_fd is readable */

/* Wait for in_fd or stop_fd (either may be -1) to become readable, at most
 * timeout_ms (-1: no limit), meanwhile running c (may be NULL): its input,
 * its timers, its events to cb (NULL: dropped).  Returns a mask of
 * ATV_CLI_WAIT_*, 0 at the deadline, or the error of atv_conn_process (the
 * connection is then unusable). */
int atv_cli_wait(struct atv_conn *c, int in_fd, int stop_fd, int timeout_ms, atv_conn_event_cb cb,
		 void *ctx, struct atv_err *err);

/* The next item line of r while c stays serviced: blank lines and lines
 * starting with '#' are skipped, surrounding white space removed.  1 with
 * *line, 0 at the end of input, -ATV_E_INPUT for a bad line (the caller may
 * go on), or the connection's error (c is then unusable). */
int atv_cli_next_item(struct atv_conn *c, struct atv_cli_lines *r, char **line,
		      struct atv_err *err);

/* Monotonic milliseconds, for deadlines. */
long long atv_cli_now_ms(void);

#endif
