/* loop.c - the fake Apple TV's event loop: one poll() over every
 * server's fds, with one-shot timers, and the ready file's lines (see
 * fake.h).  Nothing here knows a protocol. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"
#include "log.h"

struct fd_entry {
	int fd;
	short events;
	bool removed;
	unsigned gen; /* tells a re-added fd from the one poll() reported on */
	fake_fd_fn fn;
	void *ctx;
};

struct timer {
	int id;
	long long due; /* CLOCK_MONOTONIC ms */
	fake_timer_fn fn;
	void *ctx;
};

struct fake_loop {
	struct fd_entry *fds;
	size_t n_fds, cap_fds;
	unsigned gen;
	struct timer *timers;
	size_t n_timers, cap_timers;
	int next_id;
	bool quit;
	int status;
	char *bound; /* ready-file lines */
	size_t bound_len;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct fd_entry *find_fd(struct fake_loop *loop, int fd)
{
	for (size_t i = 0; i < loop->n_fds; i++)
		if (loop->fds[i].fd == fd && !loop->fds[i].removed)
			return &loop->fds[i];
	return NULL;
}

int fake_loop_add_fd(struct fake_loop *loop, int fd, short events, fake_fd_fn fn, void *ctx,
		     struct atv_err *err)
{
	if (fd < 0 || find_fd(loop, fd))
		return atv_err_set(err, ATV_E_USAGE, "fd %d is invalid or already watched", fd);
	if (loop->n_fds == loop->cap_fds) {
		size_t cap = loop->cap_fds ? 2 * loop->cap_fds : 16;
		struct fd_entry *f = realloc(loop->fds, cap * sizeof *f);

		if (!f)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		loop->fds = f;
		loop->cap_fds = cap;
	}
	loop->fds[loop->n_fds++] = (struct fd_entry){fd, events, false, ++loop->gen, fn, ctx};
	return 0;
}

int fake_loop_set_events(struct fake_loop *loop, int fd, short events)
{
	struct fd_entry *e = find_fd(loop, fd);

	if (!e)
		return -ATV_E_USAGE;
	e->events = events;
	return 0;
}

void fake_loop_remove_fd(struct fake_loop *loop, int fd)
{
	struct fd_entry *e = find_fd(loop, fd);

	/* compacted before the next poll(), so indexes stay valid while
	 * callbacks of this round run */
	if (e)
		e->removed = true;
}

int fake_loop_add_timer(struct fake_loop *loop, int ms, fake_timer_fn fn, void *ctx,
			struct atv_err *err)
{
	if (ms < 0)
		return atv_err_set(err, ATV_E_USAGE, "negative timer");
	if (loop->n_timers == loop->cap_timers) {
		size_t cap = loop->cap_timers ? 2 * loop->cap_timers : 16;
		struct timer *t = realloc(loop->timers, cap * sizeof *t);

		if (!t)
			return atv_err_set(err, ATV_E_NOMEM, "out of memory");
		loop->timers = t;
		loop->cap_timers = cap;
	}
	if (loop->next_id == INT32_MAX)
		loop->next_id = 0;
	loop->timers[loop->n_timers++] = (struct timer){++loop->next_id, now_ms() + ms, fn, ctx};
	return loop->next_id;
}

void fake_loop_cancel_timer(struct fake_loop *loop, int id)
{
	for (size_t i = 0; i < loop->n_timers; i++) {
		if (loop->timers[i].id == id) {
			loop->timers[i] = loop->timers[--loop->n_timers];
			return;
		}
	}
}

void fake_loop_quit(struct fake_loop *loop, int status)
{
	loop->quit = true;
	loop->status = status;
}

int fake_loop_note(struct fake_loop *loop, const char *line, struct atv_err *err)
{
	size_t n = strlen(line);
	char *b = realloc(loop->bound, loop->bound_len + n + 2);

	if (!b)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(b + loop->bound_len, line, n);
	memcpy(b + loop->bound_len + n, "\n", 2);
	loop->bound = b;
	loop->bound_len += n + 1;
	return 0;
}

int fake_loop_note_bound(struct fake_loop *loop, const char *proto, const struct sockaddr_in *sa,
			 struct atv_err *err)
{
	char a[INET_ADDRSTRLEN], line[128];
	int n;
	char *b;

	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof a);
	n = snprintf(line, sizeof line, "%s %s:%u\n", proto, a, ntohs(sa->sin_port));
	b = realloc(loop->bound, loop->bound_len + (size_t)n + 1);
	if (!b)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(b + loop->bound_len, line, (size_t)n + 1);
	loop->bound = b;
	loop->bound_len += (size_t)n;
	atv_info("%s on %s:%u", proto, a, ntohs(sa->sin_port));
	return 0;
}

/* Run due timers: only those that existed and were due when the round
 * started, so a callback that re-arms with 0 ms cannot keep the loop from
 * polling. */
static void run_timers(struct fake_loop *loop)
{
	long long now = now_ms();
	int last = loop->next_id; /* timers added from here on wait a round */

	for (;;) {
		size_t best = loop->n_timers;

		for (size_t i = 0; i < loop->n_timers; i++) {
			const struct timer *t = &loop->timers[i];

			if (t->due <= now && t->id <= last &&
			    (best == loop->n_timers || t->due < loop->timers[best].due))
				best = i;
		}
		if (best == loop->n_timers || loop->quit)
			return;
		struct timer t = loop->timers[best];
		loop->timers[best] = loop->timers[--loop->n_timers];
		t.fn(loop, t.ctx);
	}
}

static int poll_timeout(const struct fake_loop *loop)
{
	long long now = now_ms(), next = -1;

	for (size_t i = 0; i < loop->n_timers; i++)
		if (next < 0 || loop->timers[i].due < next)
			next = loop->timers[i].due;
	if (next < 0)
		return -1;
	return next <= now ? 0 : next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

int fake_loop_run(struct fake_loop *loop, struct atv_err *err)
{
	struct pollfd *pfd = NULL;
	unsigned *gens = NULL;
	size_t cap = 0;
	int r = 0;

	while (!loop->quit) {
		size_t n = 0;

		for (size_t i = 0; i < loop->n_fds; i++)
			if (!loop->fds[i].removed)
				loop->fds[n++] = loop->fds[i];
		loop->n_fds = n;
		if (n > cap) {
			struct pollfd *p = realloc(pfd, n * sizeof *p);
			unsigned *g = p ? realloc(gens, n * sizeof *g) : NULL;

			if (p)
				pfd = p;
			if (!p || !g) {
				r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
				goto out;
			}
			gens = g;
			cap = n;
		}
		for (size_t i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){loop->fds[i].fd, loop->fds[i].events, 0};
			gens[i] = loop->fds[i].gen;
		}
		if (poll(pfd, n, poll_timeout(loop)) < 0) {
			if (errno == EINTR)
				continue;
			r = atv_err_sys(err, ATV_E_IO, errno, "poll");
			goto out;
		}
		run_timers(loop);
		for (size_t i = 0; i < n && !loop->quit; i++) {
			struct fd_entry *e;

			if (!pfd[i].revents)
				continue;
			e = find_fd(loop, pfd[i].fd);
			if (e && e->gen == gens[i])
				e->fn(loop, e->fd, pfd[i].revents, e->ctx);
		}
	}
	r = loop->status;
out:
	free(pfd);
	free(gens);
	return r;
}

int fake_loop_new(struct fake_loop **out, struct atv_err *err)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : atv_err_set(err, ATV_E_NOMEM, "out of memory");
}

void fake_loop_free(struct fake_loop *loop)
{
	if (!loop)
		return;
	free(loop->fds);
	free(loop->timers);
	free(loop->bound);
	free(loop);
}

int fake_loop_write_ready(const struct fake_loop *loop, const char *path, struct atv_err *err)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return atv_err_set(err, ATV_E_USAGE, "ready file path too long");
	f = fopen(tmp, "w");
	if (!f)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to create %s", tmp);
	fputs("ready\n", f);
	if (loop->bound)
		fputs(loop->bound, f);
	/* a reader sees no file or the whole file, never a part */
	if (fclose(f) == EOF || rename(tmp, path) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to write %s", path);
	return 0;
}
