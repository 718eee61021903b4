/* watch.c - atv-watch's event loop: events out, reconnect with backoff
 * (finding the device again by identifier when it moved), clean stop on
 * SIGINT, SIGTERM or the end of stdin. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "output.h"
#include "stop.h"
#include "watch.h"
#include "banned.h"

static void on_event(void *ctx, json_t *event)
{
	struct atv_watch *w = ctx;
	const char *name = json_string_value(json_object_get(event, "event"));

	if (w->out_failed)
		return;
	/* --artwork: a file that cannot be written ends the watch (exit 7) */
	if (name && strcmp(name, "playing") == 0 &&
	    atv_artwork_add(&w->art, w->c, event, &w->out_err) < 0)
		w->out_failed = true;
	else if (atv_cli_event(w->d.identifier, event, &w->out_err) < 0)
		w->out_failed = true;
}

static void connection_event(struct atv_watch *w, const char *state, const char *msg)
{
	json_t *extra = NULL;

	if (w->c)
		extra = json_pack("{s:s}", "protocol", atv_conn_protocol(w->c));
	if (!w->out_failed &&
	    atv_cli_connection_event(w->d.identifier, state, msg, extra, &w->out_err) < 0)
		w->out_failed = true;
	json_decref(extra);
}

/* Connect and print "connected" and a snapshot of the state. */
static int connect_device(struct atv_watch *w, struct atv_err *err)
{
	char msg[512];
	int r;

	r = atv_cli_connect(w->t, &w->d, &w->o, &w->c, err);
	if (r < 0)
		return r;
	snprintf(msg, sizeof msg, "connected to %s at %s over %s",
		 w->d.name ? w->d.name : w->d.identifier, w->d.address ? w->d.address : "?",
		 atv_conn_protocol(w->c));
	connection_event(w, "connected", msg);
	return atv_conn_snapshot(w->c, on_event, w, err);
}

static void disconnect(struct atv_watch *w)
{
	atv_conn_close(w->c);
	w->c = NULL;
}

/* An error no reconnect can fix: say so, and the exit status. */
static int fail(struct atv_watch *w, const struct atv_err *err)
{
	disconnect(w);
	atv_artwork_release(&w->art);
	return atv_watch_fail(w, err);
}

int atv_watch_fail(struct atv_watch *w, const struct atv_err *err)
{
	json_t *extra = json_pack("{s:s}", "error", atv_err_name(err->code));

	if (!w->out_failed &&
	    atv_cli_connection_event(w->d.identifier, "closed", err->msg, extra, &w->out_err) < 0)
		w->out_failed = true;
	json_decref(extra);
	return atv_cli_fail(err);
}

/* A stop: "closed" and status 0. */
static int stop(struct atv_watch *w, const char *why)
{
	disconnect(w);
	atv_artwork_release(&w->art);
	connection_event(w, "closed", why);
	return ATV_EXIT_OK;
}

int atv_watch_run(struct atv_watch *w)
{
	struct atv_err err = {0};
	long long next_try = 0;
	int backoff = ATV_WATCH_BACKOFF_MIN, r;

	r = connect_device(w, &err);
	if (r < 0)
		return fail(w, &err);
	while (!w->out_failed) {
		int timeout = -1;

		if (!w->c) {
			long long left = next_try - atv_cli_now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		r = atv_cli_wait(w->c, w->in ? w->in->fd : -1, atv_cli_stop_fd(), timeout, on_event, w,
				 &err);
		if (w->out_failed)
			break;
		if (r < 0) {
			if (r != -ATV_E_UNREACHABLE)
				return fail(w, &err);
			/* a drop: report it and reconnect after the first backoff */
			disconnect(w);
			connection_event(w, "lost", err.msg);
			backoff = ATV_WATCH_BACKOFF_MIN;
			next_try = atv_cli_now_ms() + backoff;
			atv_info("waiting %d ms before reconnecting", backoff);
			continue;
		}
		if (r & ATV_CLI_WAIT_STOP)
			return stop(w, "stopped by a signal");
		if (r & ATV_CLI_WAIT_IN) {
			char *line;
			size_t len;

			if (atv_cli_lines_fill(w->in, &err) < 0)
				return fail(w, &err);
			/* what is typed is not used: only its end matters */
			while (atv_cli_lines_next(w->in, &line, &len, &err) != 0)
				;
			if (w->in->eof)
				return stop(w, "end of input");
		}
		if (w->c || atv_cli_now_ms() < next_try)
			continue;
		r = connect_device(w, &err);
		if (r == 0) {
			backoff = ATV_WATCH_BACKOFF_MIN;
			continue;
		}
		disconnect(w);
		if (r != -ATV_E_UNREACHABLE && r != -ATV_E_NOTFOUND)
			return fail(w, &err);
		backoff = backoff * 2 > ATV_WATCH_BACKOFF_MAX ? ATV_WATCH_BACKOFF_MAX : backoff * 2;
		atv_info("%s; waiting %d ms before the next try (up to %d ms between tries)",
			 err.msg, backoff, ATV_WATCH_BACKOFF_MAX);
		next_try = atv_cli_now_ms() + backoff;
	}
	disconnect(w);
	atv_artwork_release(&w->art);
	if (atv_cli_stop_signal()) {
		/* SIGINT/SIGTERM broke a write blocked on a full pipe: the stop
		 * asked for (status 0), without the "closed" line nobody reads */
		atv_cli_output_discard();
		return ATV_EXIT_OK;
	}
	return atv_cli_fail(&w->out_err);
}
