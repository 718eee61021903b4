/* control.c - the fake's control channel: a unix stream socket the tests
 * use to read and change the device while tools talk to it.
 *
 * Any number of clients (up to MAX_CLIENTS at once); one command a line,
 * words separated by spaces; every line gets exactly one reply line,
 * "ok [...]" or "error MESSAGE", in order.  Commands: see usage below and
 * fake-atv --help. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bytes.h"
#include "buf.h"
#include "fake.h"
#include "raop.h"
#include "log.h"

#define MAX_CLIENTS 32
#define LINE_MAX_LEN 4096           /* bytes in a command line */
#define OUT_MAX ((size_t)1 << 20)   /* replies queued for a client that does not read */
#define MAX_WORDS 64

static const char usage[] = "commands: state | set FIELD=VALUE... | power on|off | volume N | "
			    "drop | mrp-port N | hostile MODE | revoke | pin DIGITS | "
			    "refuse [COMMAND...] | "
			    "dmap-pair PIN [HOST:PORT] [SERVICENAME] [GUID=0x...] | "
			    "hostile-dmap MODE | dmap-drop | airplay-state | airplay-pin PIN | "
			    "airplay-fail PATH STATUS [N] [REASON...] | airplay-fail clear | "
			    "airplay-video duration SECONDS|loading MS|error [URL-PART] | "
			    "airplay-hostile MODE | airplay-drop | airplay-revoke | tunnel-state | "
			    "tunnel-drop control|event|data | tunnel-hostile MODE | help";

struct client {
	struct fake_control *ctl;
	struct client *next;
	int fd;
	bool dead;
	bool skipping; /* inside a line that was too long: drop up to its end */
	struct atv_buf in, out;
};

struct fake_control {
	struct fake_loop *loop;
	struct fake_player *player;
	struct fake_mrp *mrp;
	struct fake_dmap *dmap;
	struct fake_airplay *airplay;
	struct fake_companion *companion;
	int lfd;
	char *path;
	struct client *clients;
	int reap_timer;
};

static void client_free(struct client *cl)
{
	atv_buf_release(&cl->in);
	atv_buf_release(&cl->out);
	free(cl);
}

static void reap(struct fake_loop *loop, void *ctx)
{
	struct fake_control *ctl = ctx;
	struct client **pp = &ctl->clients;

	(void)loop;
	ctl->reap_timer = 0;
	while (*pp) {
		struct client *cl = *pp;

		if (cl->dead) {
			*pp = cl->next;
			client_free(cl);
		} else {
			pp = &cl->next;
		}
	}
}

static void client_close(struct client *cl)
{
	struct fake_control *ctl = cl->ctl;

	if (cl->dead)
		return;
	cl->dead = true;
	fake_loop_remove_fd(ctl->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	if (!ctl->reap_timer) {
		int t = fake_loop_add_timer(ctl->loop, 0, reap, ctl, NULL);

		ctl->reap_timer = t > 0 ? t : 0;
	}
}

static void reply(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct client *cl, const char *fmt, ...)
{
	char small[512], *line = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof small) {
		line = malloc((size_t)n + 1);
		if (!line) {
			client_close(cl);
			return;
		}
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	/* one line per reply, whatever a message holds */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (atv_buf_append(&cl->out, line, (size_t)n, NULL) < 0 ||
	    atv_buf_append(&cl->out, "\n", 1, NULL) < 0) {
		atv_warn("control: a client does not read its replies, closing it");
		client_close(cl);
	} else {
		fake_loop_set_events(cl->ctl->loop, cl->fd, POLLIN | POLLOUT);
	}
	if (line != small)
		free(line);
}

/* Decode %XX in place (values are single words: "%20" is a space). */
static int percent_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		int hi, lo;

		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		hi = atv_hexval(r[1]);
		lo = hi < 0 ? -1 : atv_hexval(r[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	return 0;
}

static int parse_int(const char *s, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < min || *v > max ? -1 : 0;
}

/* set FIELD=VALUE...: all checked first, so a bad one changes nothing. */
static void cmd_set(struct client *cl, char **w, size_t n)
{
	struct fake_player *pl = cl->ctl->player;
	struct atv_err err = {0, ""};

	if (n < 2) {
		reply(cl, "error usage: set FIELD=VALUE...");
		return;
	}
	for (int apply = 0; apply < 2; apply++) {
		for (size_t i = 1; i < n; i++) {
			char *eq = strchr(w[i], '=');

			if (!apply) {
				if (!eq) {
					reply(cl, "error \"%s\" is not FIELD=VALUE", w[i]);
					return;
				}
				*eq = '\0';
				if (percent_decode(eq + 1) < 0) {
					reply(cl, "error %s: bad %%XX escape", w[i]);
					return;
				}
			}
			eq = w[i] + strlen(w[i]);
			if (fake_player_set_field(pl, w[i], eq + 1, apply, &err) < 0) {
				reply(cl, "error %s", err.msg);
				return;
			}
		}
	}
	fake_player_changed(pl, FAKE_PUSH_PLAYING);
	reply(cl, "ok");
}

/* dmap-pair PIN [HOST:PORT] [SERVICENAME] [GUID=0x...]: without HOST:PORT
 * or GUID, the Remote is looked up through avahi. */
static void cmd_dmap_pair(struct client *cl, char **w, size_t n)
{
	struct atv_err err = {0, ""};
	const char *guid = NULL, *name = NULL, *hostport = NULL;
	long status = 0;
	bool bad = n < 2;

	for (size_t i = 2; i < n && !bad; i++) {
		if (i == 2 && strchr(w[i], ':') && strncmp(w[i], "GUID=", 5) != 0)
			hostport = w[i];
		else if (strncmp(w[i], "GUID=", 5) == 0 && !guid)
			guid = w[i] + 5;
		else if (!name && percent_decode(w[i]) == 0)
			name = w[i];
		else
			bad = true;
	}
	if (bad) {
		reply(cl, "error usage: dmap-pair PIN [HOST:PORT] [SERVICENAME] [GUID=0x...]");
		return;
	}
	if (fake_dmap_pair(cl->ctl->dmap, w[1], hostport, name, guid, &status, &err) < 0)
		reply(cl, "error %s", err.msg);
	else
		reply(cl, "ok %ld", status);
}

static void run_dmap(struct client *cl, char **w, size_t n)
{
	struct fake_dmap *dmap = cl->ctl->dmap;
	struct atv_err err = {0, ""};

	if (!dmap || fake_dmap_port(dmap) < 0)
		reply(cl, "error the device serves no dmap");
	else if (strcmp(w[0], "dmap-pair") == 0)
		cmd_dmap_pair(cl, w, n);
	else if (strcmp(w[0], "hostile-dmap") == 0 && n == 2 &&
		 fake_dmap_hostile(dmap, w[1], &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "hostile-dmap") == 0 && n == 2)
		reply(cl, "ok");
	else if (strcmp(w[0], "dmap-drop") == 0 && n == 1)
		reply(cl, "ok %zu", fake_dmap_drop(dmap));
	else
		reply(cl, "error wrong arguments; %s", usage);
}

static void reply_json(struct client *cl, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s)
		reply(cl, "ok %s", s);
	else
		reply(cl, "error out of memory");
	free(s);
	json_decref(o);
}

/* airplay-fail PATH STATUS [N] [REASON...]: N is the third word when it
 * is a number, the reason every word after (joined by spaces). */
static void cmd_airplay_fail(struct client *cl, char **w, size_t n)
{
	struct atv_err err = {0, ""};
	char reason[LINE_MAX_LEN] = "";
	size_t used = 0, i = 3;
	long status, count = 1;

	if (n == 2 && strcmp(w[1], "clear") == 0) {
		fake_airplay_fail_clear(cl->ctl->airplay);
		reply(cl, "ok");
		return;
	}
	if (n < 3 || parse_int(w[2], 100, 599, &status) < 0) {
		reply(cl, "error usage: airplay-fail PATH STATUS [N] [REASON...] | airplay-fail "
			  "clear");
		return;
	}
	if (n > 3 && parse_int(w[3], 1, 1000000, &count) == 0)
		i = 4;
	for (; i < n; i++) {
		int k =
		    snprintf(reason + used, sizeof reason - used, "%s%s", used ? " " : "", w[i]);

		if (k < 0 || (size_t)k >= sizeof reason - used)
			break;
		used += (size_t)k;
	}
	if (fake_airplay_fail(cl->ctl->airplay, w[1], (unsigned)status, (unsigned)count, reason,
			      &err) < 0)
		reply(cl, "error %s", err.msg);
	else
		reply(cl, "ok");
}

static void run_airplay(struct client *cl, char **w, size_t n)
{
	struct fake_airplay *ap = cl->ctl->airplay;
	struct atv_err err = {0, ""};
	size_t dropped = 0;

	if (!ap || fake_airplay_port(ap) < 0)
		reply(cl, "error the device serves no airplay");
	else if (strcmp(w[0], "airplay-state") == 0 && n == 1)
		reply_json(cl, fake_airplay_state(ap));
	else if (strcmp(w[0], "airplay-pin") == 0 && n == 2 &&
		 fake_airplay_set_pin(ap, w[1], &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "airplay-pin") == 0 && n == 2)
		reply(cl, "ok");
	else if (strcmp(w[0], "airplay-fail") == 0)
		cmd_airplay_fail(cl, w, n);
	else if (strcmp(w[0], "airplay-video") == 0 && (n == 2 || n == 3) &&
		 fake_airplay_video(ap, w[1], n == 3 ? w[2] : NULL, &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "airplay-video") == 0 && (n == 2 || n == 3))
		reply(cl, "ok");
	else if (strcmp(w[0], "airplay-hostile") == 0 && n == 2 &&
		 fake_airplay_hostile(ap, w[1], &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "airplay-hostile") == 0 && n == 2)
		reply(cl, "ok");
	else if (strcmp(w[0], "airplay-drop") == 0 && n == 1)
		reply(cl, "ok %zu", fake_airplay_drop(ap));
	else if (strcmp(w[0], "airplay-revoke") == 0 && n == 1)
		reply(cl, "ok %zu", fake_airplay_revoke(ap));
	else if (strcmp(w[0], "tunnel-state") == 0 && n == 1)
		reply_json(cl, fake_airplay_tunnel_state(ap));
	else if (strcmp(w[0], "tunnel-drop") == 0 && n == 2 &&
		 fake_airplay_tunnel_drop(ap, w[1], &dropped, &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "tunnel-drop") == 0 && n == 2)
		reply(cl, "ok %zu", dropped);
	else if (strcmp(w[0], "tunnel-hostile") == 0 && n == 2 &&
		 fake_airplay_tunnel_hostile(ap, w[1], &err) < 0)
		reply(cl, "error %s", err.msg);
	else if (strcmp(w[0], "tunnel-hostile") == 0 && n == 2)
		reply(cl, "ok");
	else
		reply(cl, "error wrong arguments; %s", usage);
}

static void run(struct client *cl, char **w, size_t n)
{
	struct fake_control *ctl = cl->ctl;
	struct atv_err err = {0, ""};
	json_t *st;
	char *s;
	size_t k;
	long v;

	if (n == 0) {
		reply(cl, "error empty command; %s", usage);
	} else if (strcmp(w[0], "state") == 0 && n == 1) {
		st = fake_mrp_state(ctl->mrp);
		if (st && ctl->dmap) {
			json_t *dm = fake_dmap_state(ctl->dmap);

			json_object_update(st, dm);
			json_decref(dm);
		}
		if (st && ctl->airplay && fake_airplay_port(ctl->airplay) >= 0)
			json_object_set_new(st, "airplay", fake_airplay_state(ctl->airplay));
		if (st && fake_companion_port(ctl->companion) >= 0)
			json_object_set_new(st, "companion", fake_companion_state(ctl->companion));
		s = st ? json_dumps(st, JSON_COMPACT) : NULL;
		if (s)
			reply(cl, "ok %s", s);
		else
			reply(cl, "error out of memory");
		free(s);
		json_decref(st);
	} else if (strcmp(w[0], "set") == 0) {
		cmd_set(cl, w, n);
	} else if (strcmp(w[0], "power") == 0 && n == 2 &&
		   (strcmp(w[1], "on") == 0 || strcmp(w[1], "off") == 0)) {
		fake_player_set_power(ctl->player, w[1][1] == 'n');
		reply(cl, "ok");
	} else if (strcmp(w[0], "volume") == 0 && n == 2) {
		if (parse_int(w[1], 0, 100, &v) < 0)
			reply(cl, "error volume is 0 to 100");
		else if (fake_player_set_volume(ctl->player, (int)v, &err) < 0)
			reply(cl, "error %s", err.msg);
		else
			reply(cl, "ok");
	} else if (strcmp(w[0], "drop") == 0 && n == 1) {
		reply(cl, "ok %zu", fake_mrp_drop(ctl->mrp));
	} else if (strcmp(w[0], "mrp-port") == 0 && n == 2) {
		if (parse_int(w[1], 0, 65535, &v) < 0)
			reply(cl, "error a port is 0 to 65535");
		else if (fake_mrp_listen(ctl->mrp, (int)v, &err) < 0)
			reply(cl, "error %s", err.msg);
		else
			reply(cl, "ok %d", fake_mrp_port(ctl->mrp));
	} else if (strcmp(w[0], "hostile") == 0 && n == 2) {
		if (fake_mrp_hostile(ctl->mrp, w[1], &k, &err) < 0)
			reply(cl, "error %s", err.msg);
		else
			reply(cl, "ok %zu", k);
	} else if (strcmp(w[0], "revoke") == 0 && n == 1) {
		fake_mrp_revoke(ctl->mrp);
		reply(cl, "ok");
	} else if (strcmp(w[0], "pin") == 0 && n == 2) {
		if (fake_mrp_set_pin(ctl->mrp, w[1], &err) < 0)
			reply(cl, "error %s", err.msg);
		else
			reply(cl, "ok");
	} else if (strcmp(w[0], "refuse") == 0) {
		if (fake_player_refuse(ctl->player, w + 1, n - 1, &err) < 0)
			reply(cl, "error %s", err.msg);
		else
			reply(cl, "ok");
	} else if (strncmp(w[0], "dmap-", 5) == 0 || strcmp(w[0], "hostile-dmap") == 0) {
		run_dmap(cl, w, n);
	} else if (strncmp(w[0], "airplay-", 8) == 0 || strncmp(w[0], "tunnel-", 7) == 0) {
		run_airplay(cl, w, n);
	} else if (strncmp(w[0], "companion-", 10) == 0) {
		s = fake_companion_control(ctl->companion, w, n);
		if (s)
			reply(cl, "%s", s);
		else
			reply(cl, "error out of memory");
		free(s);
	} else if (strncmp(w[0], "audio-", 6) == 0) {
		s = fake_audio_control(fake_airplay_audio(ctl->airplay), w, n);
		if (s)
			reply(cl, "%s", s);
		else
			reply(cl, "error out of memory");
		free(s);
	} else if (strcmp(w[0], "help") == 0 && n == 1) {
		reply(cl, "ok %s | %s | %s", usage, fake_companion_usage(), fake_audio_usage());
	} else {
		reply(cl, "error unknown command \"%.64s\" or wrong arguments; %s", w[0], usage);
	}
}

static void handle_line(struct client *cl, char *line)
{
	char *w[MAX_WORDS], *save = NULL, *t;
	size_t n = 0, len = strlen(line);

	if (len && line[len - 1] == '\r')
		line[len - 1] = '\0';
	atv_debug("control: %.200s", line);
	for (t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS) {
			reply(cl, "error more than %d words", MAX_WORDS);
			return;
		}
		w[n++] = t;
	}
	run(cl, w, n);
}

static void client_read(struct client *cl)
{
	char buf[4096];
	ssize_t n = recv(cl->fd, buf, sizeof buf, 0);

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_close(cl);
		return;
	}
	if (n == 0) {
		client_close(cl);
		return;
	}
	for (ssize_t i = 0; i < n && !cl->dead; i++) {
		if (buf[i] == '\n') {
			if (cl->skipping) {
				cl->skipping = false;
			} else if (atv_buf_append(&cl->in, "", 1, NULL) == 0) {
				handle_line(cl, (char *)cl->in.data);
			}
			atv_buf_reset(&cl->in);
		} else if (cl->skipping) {
			continue;
		} else if (buf[i] == '\0' || atv_buf_append(&cl->in, &buf[i], 1, NULL) < 0) {
			/* no NUL inside a line; a line longer than the cap gets
			 * one error and is dropped up to its newline */
			reply(cl, "error %s", buf[i] ? "line too long" : "NUL in a line");
			cl->skipping = true;
			atv_buf_reset(&cl->in);
		}
	}
}

static void client_flush(struct client *cl)
{
	while (cl->out.len) {
		ssize_t n = send(cl->fd, cl->out.data, cl->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_close(cl);
			return;
		}
		atv_buf_consume(&cl->out, (size_t)n);
	}
}

static void on_client(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct client *cl = ctx;

	(void)fd;
	if (revents & POLLOUT)
		client_flush(cl);
	if (!cl->dead && (revents & (POLLIN | POLLHUP | POLLERR)))
		client_read(cl);
	if (!cl->dead)
		fake_loop_set_events(loop, cl->fd, cl->out.len ? POLLIN | POLLOUT : POLLIN);
}

static void on_accept(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct fake_control *ctl = ctx;
	struct atv_err err = {0, ""};
	struct client *cl;
	size_t live = 0;
	int cfd;

	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (cl = ctl->clients; cl; cl = cl->next)
		live += !cl->dead;
	if (live >= MAX_CLIENTS) {
		atv_warn("control: refusing a client: %d connected already", MAX_CLIENTS);
		close(cfd);
		return;
	}
	cl = calloc(1, sizeof *cl);
	if (!cl) {
		close(cfd);
		return;
	}
	cl->ctl = ctl;
	cl->fd = cfd;
	atv_buf_init(&cl->in, LINE_MAX_LEN + 1);
	atv_buf_init(&cl->out, OUT_MAX);
	if (fake_loop_add_fd(loop, cfd, POLLIN, on_client, cl, &err) < 0) {
		atv_warn("control: %s", err.msg);
		close(cfd);
		client_free(cl);
		return;
	}
	cl->next = ctl->clients;
	ctl->clients = cl;
}

int fake_control_new(struct fake_loop *loop, const char *path, struct fake_player *player,
		     struct fake_mrp *mrp, struct fake_control **out, struct atv_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fake_control *ctl;
	struct stat st;
	int r;

	*out = NULL;
	if (strlen(path) >= sizeof sa.sun_path)
		return atv_err_set(err, ATV_E_USAGE, "control socket path longer than %zu bytes",
				   sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* replace a socket left by an earlier run, never another file */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return atv_err_set(err, ATV_E_USAGE, "%s exists and is not a socket",
					   path);
		unlink(path);
	}
	ctl = calloc(1, sizeof *ctl);
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	ctl->loop = loop;
	ctl->player = player;
	ctl->mrp = mrp;
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0 || bind(ctl->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(ctl->lfd, 16) < 0) {
		r = atv_err_sys(err, ATV_E_IO, errno, "unable to listen on %s", path);
		goto fail;
	}
	if ((r = fake_loop_add_fd(loop, ctl->lfd, POLLIN, on_accept, ctl, err)) < 0)
		goto fail;
	*out = ctl;
	return 0;
fail:
	if (ctl->lfd >= 0) {
		close(ctl->lfd);
		unlink(path);
	}
	free(ctl->path);
	free(ctl);
	return r;
}

void fake_control_set_dmap(struct fake_control *ctl, struct fake_dmap *dmap)
{
	ctl->dmap = dmap;
}

void fake_control_set_airplay(struct fake_control *ctl, struct fake_airplay *ap)
{
	ctl->airplay = ap;
}

void fake_control_set_companion(struct fake_control *ctl, struct fake_companion *cp)
{
	ctl->companion = cp;
}

void fake_control_free(struct fake_control *ctl)
{
	if (!ctl)
		return;
	for (struct client *cl = ctl->clients; cl; cl = cl->next)
		client_close(cl);
	if (ctl->reap_timer)
		fake_loop_cancel_timer(ctl->loop, ctl->reap_timer);
	reap(ctl->loop, ctl);
	fake_loop_remove_fd(ctl->loop, ctl->lfd);
	close(ctl->lfd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
