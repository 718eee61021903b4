/* mhd-loop.c - libmicrohttpd on the fake's loop, and what else the DMAP
 * and AirPlay servers share.
 *
 * MHD runs in "external epoll" mode: its one epoll fd is registered with
 * the fake's poll() loop and MHD_run() is called when that fd turns
 * readable or when MHD's own timeout is due, so every MHD callback runs on
 * the loop's one thread and the servers' state needs no lock.  A connection
 * resumed from outside MHD's callbacks is signalled through MHD's
 * inter-thread channel, which sits on the same epoll fd.
 *
 * MHD calls the access handler once when a request's headers are in (the
 * request has no context yet), once per chunk of the body (upload_size not
 * 0) and once more when the body is complete; only that last call, and the
 * one after each resume, reaches the server. */
#include "config.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

/* The loop's timers take an int of ms and MHD's timeout can be far longer
 * (idle connections time out after minutes); an early MHD_run() is
 * harmless, it only rearms. */
#define MAX_WAIT_MS 60000

/* ---- running MHD from the loop ---- */

static void on_timer(struct fake_loop *loop, void *ctx)
{
	struct fake_mhd *m = ctx;

	(void)loop;
	m->timer = 0;
	fake_mhd_run(m);
}

static void on_fd(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	(void)loop;
	(void)fd;
	(void)revents;
	fake_mhd_run(ctx);
}

int fake_mhd_init(struct fake_mhd *m, struct fake_loop *loop, size_t req_size, size_t body_max,
		  fake_mhd_request_fn request, fake_mhd_completed_fn completed, void *cls,
		  struct atv_err *err)
{
	m->daemon = NULL;
	m->loop = loop;
	m->epfd = -1;
	m->timer = 0;
	m->req_size = req_size;
	m->body_max = body_max;
	m->request = request;
	m->completed = completed;
	m->cls = cls;
	m->log = json_array();
	if (!m->log)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int fake_mhd_attach(struct fake_mhd *m, const char *who, struct atv_err *err)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	int r;

	if (!info)
		return atv_err_set(err, ATV_E_IO, "%s: no epoll fd from libmicrohttpd", who);
	if ((r = fake_loop_add_fd(m->loop, info->epoll_fd, POLLIN, on_fd, m, err)) < 0)
		return r;
	m->epfd = info->epoll_fd;
	return 0;
}

void fake_mhd_run(struct fake_mhd *m)
{
	MHD_UNSIGNED_LONG_LONG t;
	int ms;

	MHD_run(m->daemon);
	if (m->timer)
		fake_loop_cancel_timer(m->loop, m->timer);
	m->timer = 0;
	if (MHD_get_timeout(m->daemon, &t) == MHD_YES) {
		ms = t > MAX_WAIT_MS ? MAX_WAIT_MS : (int)t;
		ms = fake_loop_add_timer(m->loop, ms, on_timer, m, NULL);
		m->timer = ms > 0 ? ms : 0;
	}
}

/* A 0 ms timer: MHD_run() cannot be called from inside MHD's own
 * callbacks, and what happened outside them must be acted on soon. */
void fake_mhd_kick(struct fake_mhd *m)
{
	int t;

	if (!m->daemon)
		return;
	if (m->timer)
		fake_loop_cancel_timer(m->loop, m->timer);
	t = fake_loop_add_timer(m->loop, 0, on_timer, m, NULL);
	m->timer = t > 0 ? t : 0;
}

void fake_mhd_release(struct fake_mhd *m)
{
	if (m->daemon) {
		if (m->epfd >= 0)
			fake_loop_remove_fd(m->loop, m->epfd);
		MHD_stop_daemon(m->daemon);
	}
	if (m->timer)
		fake_loop_cancel_timer(m->loop, m->timer);
	json_decref(m->log);
	m->daemon = NULL;
	m->log = NULL;
	m->epfd = -1;
	m->timer = 0;
}

/* ---- requests ---- */

enum MHD_Result fake_mhd_on_request(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version, const char *upload,
				    size_t *upload_size, void **ctx)
{
	struct fake_mhd *m = cls;
	struct fake_mhd_req *req = *ctx;

	(void)version;
	if (!req) {
		req = calloc(1, m->req_size);
		if (!req)
			return MHD_NO;
		atv_buf_init(&req->body, m->body_max);
		*ctx = req;
		return MHD_YES;
	}
	if (*upload_size) {
		/* a body past the cap is read and dropped: the server answers 413 */
		if (!req->too_big && atv_buf_append(&req->body, upload, *upload_size, NULL) < 0)
			req->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return m->request(m->cls, req, c, url, method);
}

void fake_mhd_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			   enum MHD_RequestTerminationCode toe)
{
	struct fake_mhd *m = cls;
	struct fake_mhd_req *req = *ctx;

	(void)c;
	if (!req)
		return;
	*ctx = NULL;
	if (m->completed)
		m->completed(m->cls, req, toe);
	atv_buf_release(&req->body);
	free(req);
}

enum MHD_Result fake_mhd_respond(struct MHD_Connection *c, unsigned status, const void *p,
				 size_t len, const char *type, const char *header,
				 const char *value)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)(uintptr_t)p, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	if (type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (header)
		MHD_add_response_header(resp, header, value);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

void fake_mhd_log_request(struct fake_mhd *m, const char *method, const char *url)
{
	char line[160];

	snprintf(line, sizeof line, "%s %.140s", method, url);
	json_array_append_new(m->log, json_string(line));
	while (json_array_size(m->log) > FAKE_MHD_LOG_MAX)
		json_array_remove(m->log, 0);
}

/* ---- test knobs ---- */

int fake_mhd_hostile(const char *const *names, const char *mode, const char *who, const char *list,
		     struct atv_err *err)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], mode) == 0)
			return i;
	return atv_err_set(err, ATV_E_USAGE, "unknown %s hostile mode \"%s\" (one of: %s)", who,
			   mode, list);
}
