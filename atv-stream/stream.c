/* stream.c - atv-stream's session (stream.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "audio.h"
#include "log.h"
#include "output.h"
#include "stop.h"
#include "stream.h"
#include "banned.h"

/* Frames handed to the session per write: 8 RTP packets. */
#define PCM_FRAMES (8 * ATV_RAOP_FRAMES_PER_PACKET)
#define PROGRESS_MS 500

int atv_stream_password(const char *path, char *buf, size_t size, struct atv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r;

	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to open %s", path);
	/* one byte past the limit tells a too-long password from one that fits */
	while (len < size && (r = read(fd, buf + len, size - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			atv_crypto_wipe(buf, size);
			return atv_err_sys(err, ATV_E_IO, errno, "unable to read %s", path);
		}
		len += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r') {
			len = i;
			break;
		}
	if (len == 0 || len >= size || memchr(buf, '\0', len)) {
		atv_crypto_wipe(buf, size);
		return atv_err_set(err, ATV_E_INPUT, "%s: the password must be one line of 1 to %zu bytes",
				   path, size - 1);
	}
	buf[len] = '\0';
	return 0;
}

/* --artwork FILE into a new buffer: a PNG or a JPEG, bounded. */
static int read_artwork(const char *path, uint8_t **img, size_t *len, const char **mime,
			struct atv_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t got;

	*img = NULL;
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to open %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 8 ||
	    st.st_size > ATV_RAOP_ARTWORK_MAX) {
		r = atv_err_set(err, ATV_E_INPUT, "%s: artwork must be a file of 8 bytes to %d MiB",
				path, ATV_RAOP_ARTWORK_MAX >> 20);
		goto out;
	}
	*len = (size_t)st.st_size;
	if (!(*img = malloc(*len))) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t at = 0; at < *len; at += (size_t)got) {
		got = read(fd, *img + at, *len - at);
		if (got <= 0) {
			r = got < 0 ? atv_err_sys(err, ATV_E_IO, errno, "unable to read %s", path)
				    : atv_err_set(err, ATV_E_IO, "%s changed while it was read", path);
			goto out;
		}
	}
	if (memcmp(*img, "\x89PNG\r\n\x1a\n", 8) == 0)
		*mime = "image/png";
	else if (memcmp(*img, "\xff\xd8\xff", 3) == 0)
		*mime = "image/jpeg";
	else
		r = atv_err_set(err, ATV_E_INPUT, "%s is neither a PNG nor a JPEG", path);
out:
	close(fd);
	if (r < 0) {
		free(*img);
		*img = NULL;
	}
	return r;
}

struct session {
	const struct atv_stream_opts *o;
	struct atv_raop *s;
	struct atv_audio *a;
	struct atv_audio_info in;
	int resampled;
	uint8_t *img; /* --artwork, read before connecting */
	size_t img_len;
	const char *mime;
	int16_t pcm[PCM_FRAMES * ATV_RAOP_CHANNELS];
	long long next_progress;
};

static int open_raop(void *ctx, struct atv_device *d, struct atv_err *err)
{
	struct session *ss = ctx;

	return atv_raop_open(d, &ss->o->raop, &ss->s, err);
}

/* Title, artist, album (the options, else the tags), duration, artwork. */
static int send_metadata(struct session *ss, struct atv_err *err)
{
	const struct atv_stream_opts *o = ss->o;
	struct atv_raop_meta m = {
	    .title = o->title ? o->title : ss->in.title,
	    .artist = o->artist ? o->artist : ss->in.artist,
	    .album = o->album ? o->album : ss->in.album,
	    .duration = ss->in.frames > 0 ? (double)ss->in.frames / ss->in.rate : 0,
	};
	int r;

	if ((m.title || m.artist || m.album || m.duration > 0) &&
	    (r = atv_raop_set_metadata(ss->s, &m, err)) < 0)
		return r;
	if (!ss->img)
		return 0;
	return atv_raop_set_artwork(ss->s, ss->mime, ss->img, ss->img_len, err);
}

static void progress(struct session *ss, bool last)
{
	struct atv_raop_stats st;
	long long now = atv_cli_now_ms(), s, total;

	if (!ss->o->progress || (!last && now < ss->next_progress))
		return;
	ss->next_progress = now + PROGRESS_MS;
	atv_raop_stats(ss->s, &st);
	s = (long long)(st.frames_sent / ATV_RAOP_SAMPLE_RATE);
	total = ss->in.frames > 0 ? ss->in.frames / ss->in.rate : -1;
	fprintf(stderr, "\r%s: %lld:%02lld", atv_progname, s / 60, s % 60);
	if (total >= 0)
		fprintf(stderr, " / %lld:%02lld", total / 60, total % 60);
	fputs(last ? "\n" : " ", stderr);
}

/* Feed the input to the session until it ends, an error, or a signal;
 * then drain (played out) or stop (FLUSH, TEARDOWN). */
static int feed(struct session *ss, struct atv_err *err)
{
	size_t have = 0, at = 0;
	bool eof = false;
	int r;

	while (!atv_cli_stop_signal()) {
		struct pollfd p[3];
		nfds_t n = 0;
		int in_fd = atv_audio_fd(ss->a), t;

		if (at == have && !eof) {
			at = 0;
			r = atv_audio_read(ss->a, ss->pcm, PCM_FRAMES, &have, err);
			if (r < 0)
				return r;
			eof = r == 0;
			if (have > 0 || (eof && in_fd < 0))
				continue;
		}
		if (at < have) {
			size_t w = atv_raop_writable(ss->s);

			if (w > have - at)
				w = have - at;
			if (w > 0) {
				if ((r = atv_raop_write(ss->s, ss->pcm + at * ATV_RAOP_CHANNELS, w,
							err)) < 0)
					return r;
				at += w;
				continue;
			}
		} else if (eof) {
			break;
		}
		/* the session's queue is full, or a pipe has nothing now */
		p[n++] = (struct pollfd){.fd = atv_raop_fd(ss->s), .events = POLLIN};
		p[n++] = (struct pollfd){.fd = atv_cli_stop_fd(), .events = POLLIN};
		if (at == have && !eof && in_fd >= 0)
			p[n++] = (struct pollfd){.fd = in_fd, .events = POLLIN};
		t = atv_raop_timeout_ms(ss->s);
		if (ss->o->progress && (t < 0 || t > PROGRESS_MS))
			t = PROGRESS_MS;
		if (poll(p, n, t) < 0 && errno != EINTR)
			return atv_err_sys(err, ATV_E_IO, errno, "poll");
		if ((r = atv_raop_service(ss->s, 0, err)) < 0)
			return r;
		progress(ss, false);
	}
	if (atv_cli_stop_signal())
		return 0;
	return atv_raop_drain(ss->s, err);
}

/* The result line: how it went, and the counters. */
static int result(struct session *ss, const struct atv_err *failure, int status)
{
	struct atv_raop_stats st = {0};
	struct atv_err werr = {0};
	json_t *j;
	int r;

	if (ss->s) {
		atv_raop_stats(ss->s, &st);
		atv_info("%" PRIu64 " frames sent in %" PRIu64 " packets, %" PRIu64
			 " resent, %" PRIu64 " timing replies",
			 st.frames_sent, st.packets_sent, st.retransmits, st.timing_replies);
	}
	j = json_pack("{s:s, s:b, s:s, s:s?, s:i, s:i, s:b, s:I, s:f, s:s?, s:s?, s:I}", "command",
		      "stream", "ok", !failure, "input", ss->o->input, "format", ss->in.format,
		      "rate", ss->in.rate, "channels", ss->in.channels, "resampled",
		      ss->resampled > 0, "frames", (json_int_t)st.frames_queued, "seconds",
		      (double)st.frames_queued / ATV_RAOP_SAMPLE_RATE, "protocol", st.protocol,
		      "auth", st.auth, "retransmits", (json_int_t)st.retransmits);
	if (j && failure &&
	    json_object_set_new(j, "error",
				json_pack("{s:s, s:s}", "code",
					  failure->code ? atv_err_name(failure->code)
							: "interrupted",
					  "message", failure->msg)) < 0) {
		json_decref(j);
		j = NULL;
	}
	r = atv_cli_result_line(j, &werr);
	json_decref(j);
	if (r < 0)
		return atv_cli_worst(status, atv_cli_fail(&werr));
	return status;
}

int atv_stream_run(const struct atv_cli_target *t, struct atv_device *d, struct atv_audio *a,
		   const struct atv_stream_opts *o)
{
	struct session *ss = calloc(1, sizeof *ss);
	struct atv_err err = {0};
	int r, sig, status = ATV_EXIT_OK;

	if (!ss) {
		atv_cli_error("out of memory");
		return ATV_EXIT_IO;
	}
	ss->o = o;
	ss->a = a;
	atv_audio_info(a, &ss->in);
	if ((o->artwork && read_artwork(o->artwork, &ss->img, &ss->img_len, &ss->mime, &err) < 0) ||
	    (r = atv_cli_with_rescan(t, d, open_raop, ss, &err)) < 0) {
		status = atv_cli_fail_line(&err);
		goto out;
	}
	{
		struct atv_raop_format f;
		struct atv_raop_stats st;

		atv_raop_format(ss->s, &f);
		atv_raop_stats(ss->s, &st);
		atv_info("streaming %s (%s, %d Hz, %d channels) over %s", o->input, ss->in.format,
			 ss->in.rate, ss->in.channels, st.protocol ? st.protocol : "?");
		if ((r = ss->resampled = atv_audio_output(a, f.rate, f.channels, &err)) < 0)
			goto failed;
	}
	if ((r = atv_cli_stop_signals(&err)) < 0 || (r = send_metadata(ss, &err)) < 0 ||
	    (r = feed(ss, &err)) < 0)
		goto failed;
	progress(ss, true);
	if ((sig = atv_cli_stop_signal())) {
		struct atv_err stop_err = {0};

		if (atv_raop_stop(ss->s, &stop_err) < 0)
			atv_warn("%s", stop_err.msg);
		atv_err_set(&err, 0, "stopped by %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		status = result(ss, &err, 128 + sig);
		goto out;
	}
	status = result(ss, NULL, ATV_EXIT_OK);
	goto out;
failed:
	progress(ss, true);
	{
		struct atv_err stop_err = {0};

		/* FLUSH and TEARDOWN even when the input failed; a dead session
		 * says so again, which adds nothing */
		if (r == -ATV_E_INPUT || r == -ATV_E_IO || r == -ATV_E_USAGE)
			atv_raop_stop(ss->s, &stop_err);
	}
	atv_cli_error("%s", err.msg);
	status = result(ss, &err, atv_exit_status(r));
out:
	atv_raop_close(ss->s);
	free(ss->img);
	free(ss);
	return status;
}
