/* connect.c - a tool's device connection: opened with a rescan by
 * identifier when the device moved, and the poll loop that services it
 * while waiting for input lines.  Apart from device.c and input.c so that
 * a tool that never connects (atv-scan) does not link the connect facade
 * and every backend. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "input.h"
#include "jsonl.h"
#include "banned.h"

struct open_args {
	const struct atv_conn_opts *o;
	struct atv_conn **out;
};

static int open_conn(void *ctx, struct atv_device *d, struct atv_err *err)
{
	struct open_args *a = ctx;

	return atv_conn_open(d, a->o, a->out, err);
}

int atv_cli_connect(const struct atv_cli_target *t, struct atv_device *d,
		    const struct atv_conn_opts *o, struct atv_conn **out, struct atv_err *err)
{
	struct open_args a = {.o = o, .out = out};
	char msg[ATV_ERR_MSGLEN];
	int r;

	*out = NULL;
	r = atv_cli_with_rescan(t, d, open_conn, &a, err);
	/* missing or wrong credentials: say which file was read, the first
	 * thing to check when a pairing "is not there" */
	if (r < 0 && err && t->cred_path &&
	    (r == -ATV_E_AUTH || strstr(err->msg, "not paired") ||
	     strstr(err->msg, "credentials"))) {
		memcpy(msg, err->msg, sizeof msg);
		atv_err_set(err, -r, "%s (credentials file %s)", msg, t->cred_path);
	}
	return r;
}

static void drop_event(void *ctx, json_t *event)
{
	(void)ctx;
	(void)event;
}

int atv_cli_wait(struct atv_conn *c, int in_fd, int stop_fd, int timeout_ms, atv_conn_event_cb cb,
		 void *ctx, struct atv_err *err)
{
	long long deadline = timeout_ms >= 0 ? atv_cli_now_ms() + timeout_ms : -1;
	struct pollfd pfd[4];
	int ret;

	if (!cb)
		cb = drop_event;
	for (;;) {
		int n = 0, wait = -1, i_in = -1, i_stop = -1, i_out, mask = 0;

		/* The connection may hold frames it has already read (after a
		 * command's reply, say) that poll() cannot see: run it first. */
		if (c && (ret = atv_conn_process(c, cb, ctx, err)) < 0)
			return ret;
		if (in_fd >= 0) {
			pfd[n] = (struct pollfd){.fd = in_fd, .events = POLLIN};
			i_in = n++;
		}
		if (stop_fd >= 0) {
			pfd[n] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
			i_stop = n++;
		}
		if (c) {
			/* its input and timers are run at the top of the loop */
			pfd[n++] = (struct pollfd){.fd = atv_conn_fd(c), .events = POLLIN};
			wait = atv_conn_timeout_ms(c);
		}
		/* With no events asked for, poll still reports POLLERR on a pipe
		 * whose reader has gone (and POLLHUP on a hung-up terminal):
		 * stop at once, not at the next line we happen to print. */
		pfd[n] = (struct pollfd){.fd = STDOUT_FILENO, .events = 0};
		i_out = n++;
		if (deadline >= 0) {
			long long left = deadline - atv_cli_now_ms();
			if (left < 0)
				left = 0;
			if (wait < 0 || left < wait)
				wait = (int)left;
		}
		ret = poll(pfd, (nfds_t)n, wait);
		if (ret < 0 && errno != EINTR)
			return atv_err_sys(err, ATV_E_IO, errno, "poll");
		if (ret > 0 && (pfd[i_out].revents & (POLLERR | POLLHUP))) {
			struct atv_err e;

			atv_err_sys(&e, ATV_E_IO, EPIPE, "unable to write output");
			atv_cli_output_failed(&e);
			return atv_cli_output_check(err);
		}
		if (ret > 0) {
			if (i_in >= 0 && pfd[i_in].revents)
				mask |= ATV_CLI_WAIT_IN;
			if (i_stop >= 0 && pfd[i_stop].revents)
				mask |= ATV_CLI_WAIT_STOP;
		}
		/* an interrupting signal's handler wrote stop_fd: seen next round */
		if (mask)
			return mask;
		if (deadline >= 0 && atv_cli_now_ms() >= deadline)
			return 0;
	}
}

int atv_cli_next_item(struct atv_conn *c, struct atv_cli_lines *r, char **line, struct atv_err *err)
{
	size_t len;
	char *p, *end;
	int ret;

	for (;;) {
		ret = atv_cli_lines_next(r, &p, &len, err);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			if (r->eof)
				return 0;
			ret = atv_cli_wait(c, r->fd, -1, -1, NULL, NULL, err);
			if (ret < 0)
				return ret;
			if ((ret = atv_cli_lines_fill(r, err)) < 0)
				return ret;
			continue;
		}
		end = p + len;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (p == end || *p == '#')
			continue;
		*line = p;
		return 1;
	}
}
