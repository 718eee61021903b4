/* audio.c - atv-stream's audio input (audio.h): libsndfile for files,
 * our own reader for raw PCM on a pipe, libsamplerate when the rates
 * differ. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "jsonl.h"
#include "banned.h"

/* Input frames taken per read: with 32 channels of floats 128 KiB, so
 * memory does not grow with the input. */
#define CHUNK 1024
/* Room for CHUNK input frames resampled up by the largest ratio (384 kHz
 * from 1 kHz would be 384x; the ratio is bounded below), plus slack. */
#define RATIO_MAX 16.0
#define FOUT_CAP  ((size_t)(CHUNK * RATIO_MAX) + 64)

struct atv_audio {
	/* the source: sf (a file or memory), else raw from fd */
	SNDFILE *sf;
	const uint8_t *mem; /* open_mem's bytes */
	size_t mem_len;
	sf_count_t mem_pos;
	int fd;
	struct atv_audio_raw raw;
	uint8_t *rbuf; /* raw bytes read, not yet decoded */
	size_t rlen, rcap;
	bool raw_eof;

	struct atv_audio_info info;
	long long frames_read;
	char *tags[3];

	int out_rate, out_ch;
	bool output_set, in_eof;
	/* the resampler, when the rates differ */
	SRC_STATE *src;
	double ratio;
	bool src_done;
	int16_t *sraw; /* CHUNK frames as read (input channels) */
	float *fraw;   /* the same in float (resampling) */
	float *fin;    /* mapped to the output channels */
	size_t fin_pos, fin_len;
	float *fout; /* resampled, not yet given */
	size_t fout_pos, fout_len;
};

static const struct {
	const char *name;
	enum atv_audio_sample sample;
	size_t bytes;
} samples[] = {
    {"s16le", ATV_AUDIO_S16LE, 2},
    {"s16be", ATV_AUDIO_S16BE, 2},
    {"s24le", ATV_AUDIO_S24LE, 3},
    {"f32le", ATV_AUDIO_F32LE, 4},
};

/* A decimal integer in [lo, hi] from s up to end (exclusive). */
static bool parse_int(const char *s, const char *end, long lo, long hi, int *out)
{
	long v = 0;

	if (s == end || end - s > 7)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

int atv_audio_parse_format(const char *s, struct atv_audio_raw *f, struct atv_err *err)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t klen = c1 ? (size_t)(c1 - s) : strlen(s);
	size_t i;

	for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
		if (strlen(samples[i].name) == klen && strncmp(s, samples[i].name, klen) == 0)
			break;
	if (i == sizeof samples / sizeof samples[0])
		return atv_err_set(err, ATV_E_USAGE,
				   "unknown sample format '%.*s' in --format (s16le, s16be, "
				   "s24le or f32le)",
				   (int)(klen > 16 ? 16 : klen), s);
	f->sample = samples[i].sample;
	f->rate = 44100;
	f->channels = 2;
	if (c1 && !parse_int(c1 + 1, c2 ? c2 : c1 + 1 + strlen(c1 + 1), ATV_AUDIO_RATE_MIN,
			     ATV_AUDIO_RATE_MAX, &f->rate))
		return atv_err_set(err, ATV_E_USAGE, "invalid rate in --format '%s' (%d to %d Hz)",
				   s, ATV_AUDIO_RATE_MIN, ATV_AUDIO_RATE_MAX);
	if (c2 && !parse_int(c2 + 1, c2 + 1 + strlen(c2 + 1), 1, ATV_AUDIO_CHANNELS_MAX,
			     &f->channels))
		return atv_err_set(err, ATV_E_USAGE, "invalid channels in --format '%s' (1 to %d)",
				   s, ATV_AUDIO_CHANNELS_MAX);
	return 0;
}

size_t atv_audio_frame_bytes(const struct atv_audio_raw *f)
{
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
		if (samples[i].sample == f->sample)
			return samples[i].bytes * (size_t)f->channels;
	return 0;
}

static struct atv_audio *audio_new(struct atv_err *err)
{
	struct atv_audio *a = calloc(1, sizeof *a);

	if (!a) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	a->fd = -1;
	a->info.frames = -1;
	return a;
}

/* libsndfile's major format as the name a user knows it by. */
static const char *format_name(int format)
{
	switch (format & SF_FORMAT_TYPEMASK) {
	case SF_FORMAT_WAV:
	case SF_FORMAT_WAVEX:
	case SF_FORMAT_RF64:
	case SF_FORMAT_W64: return "wav";
	case SF_FORMAT_FLAC: return "flac";
	case SF_FORMAT_OGG: return "ogg";
	case SF_FORMAT_MPEG: return "mp3";
	case SF_FORMAT_AIFF: return "aiff";
	case SF_FORMAT_CAF: return "caf";
	case SF_FORMAT_AU: return "au";
	default: return "audio";
	}
}

/* A WAV whose data chunk is shorter than its header says: libsndfile
 * quietly plays what is there and notes "data : N (should be M)" in its
 * log.  0xFFFFFFFF and 0 are the sizes of a WAV written to a pipe (length
 * unknown when the header went out), not a lie. */
static bool wav_truncated(SNDFILE *sf, long long *said, long long *holds)
{
	char log[4096] = "";
	const char *p;

	sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
	log[sizeof log - 1] = '\0';
	for (p = log; (p = strstr(p, "data : ")); p++) {
		if ((p == log || p[-1] == '\n') &&
		    sscanf(p, "data : %lld (should be %lld)", said, holds) == 2 &&
		    *said > *holds && *said != 0xFFFFFFFFLL && *said != 0)
			return true;
	}
	return false;
}

/* A copy of a tag fit for metadata: bounded, valid UTF-8, not empty. */
static char *tag(SNDFILE *sf, int which)
{
	const char *s = sf_get_string(sf, which);

	if (!s || !*s || strlen(s) > ATV_AUDIO_TAG_MAX || !atv_utf8_valid(s))
		return NULL;
	return strdup(s);
}

/* After sf_open*: check what the header says before anything is read. */
static int sf_opened(struct atv_audio *a, SF_INFO *si, const char *name, struct atv_err *err)
{
	long long said, holds;

	if (!a->sf)
		return atv_err_set(err, ATV_E_INPUT, "%s: unable to decode: %s", name,
				   sf_strerror(NULL));
	if (si->samplerate < ATV_AUDIO_RATE_MIN || si->samplerate > ATV_AUDIO_RATE_MAX)
		return atv_err_set(err, ATV_E_INPUT, "%s: sample rate %d Hz out of range (%d..%d)",
				   name, si->samplerate, ATV_AUDIO_RATE_MIN, ATV_AUDIO_RATE_MAX);
	if (si->channels < 1 || si->channels > ATV_AUDIO_CHANNELS_MAX)
		return atv_err_set(err, ATV_E_INPUT, "%s: %d channels (at most %d)", name,
				   si->channels, ATV_AUDIO_CHANNELS_MAX);
	if (si->frames < 0)
		return atv_err_set(err, ATV_E_INPUT, "%s: negative length in its header", name);
	a->info.format = format_name(si->format);
	if (strcmp(a->info.format, "wav") == 0 && wav_truncated(a->sf, &said, &holds))
		return atv_err_set(err, ATV_E_INPUT,
				   "%s: truncated: its header says %lld bytes of audio, it holds "
				   "%lld",
				   name, said, holds);
	a->info.rate = si->samplerate;
	a->info.channels = si->channels;
	/* SF_COUNT_MAX: libsndfile does not know (some pipes, some MP3s) */
	a->info.frames = si->frames == SF_COUNT_MAX ? -1 : (long long)si->frames;
	a->tags[0] = tag(a->sf, SF_STR_TITLE);
	a->tags[1] = tag(a->sf, SF_STR_ARTIST);
	a->tags[2] = tag(a->sf, SF_STR_ALBUM);
	a->info.title = a->tags[0];
	a->info.artist = a->tags[1];
	a->info.album = a->tags[2];
	return 0;
}

int atv_audio_open_file(const char *path, struct atv_audio **out, struct atv_err *err)
{
	struct atv_audio *a;
	SF_INFO si = {0};
	struct stat st;
	int fd, r;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO would wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "unable to open %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		/* libsndfile would block on a pipe where the session must go on */
		return atv_err_set(err, ATV_E_INPUT,
				   "%s is not a regular file (raw PCM from a pipe needs --format)",
				   path);
	}
	if (!(a = audio_new(err))) {
		close(fd);
		return -ATV_E_NOMEM;
	}
	a->sf = sf_open_fd(fd, SFM_READ, &si, 1); /* closes fd, even on failure */
	if ((r = sf_opened(a, &si, path, err)) < 0) {
		atv_audio_close(a);
		return r;
	}
	*out = a;
	return 0;
}

/* libsndfile's virtual I/O over open_mem's bytes. */
static sf_count_t mem_len(void *ctx)
{
	return (sf_count_t)((struct atv_audio *)ctx)->mem_len;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *ctx)
{
	struct atv_audio *a = ctx;
	sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? a->mem_pos
								       : (sf_count_t)a->mem_len;

	if (off < -base || off > (sf_count_t)a->mem_len - base)
		return -1;
	a->mem_pos = base + off;
	return a->mem_pos;
}

static sf_count_t mem_read(void *p, sf_count_t n, void *ctx)
{
	struct atv_audio *a = ctx;
	sf_count_t left = (sf_count_t)a->mem_len - a->mem_pos;

	if (n > left)
		n = left;
	if (n <= 0)
		return 0;
	memcpy(p, a->mem + a->mem_pos, (size_t)n);
	a->mem_pos += n;
	return n;
}

static sf_count_t mem_write(const void *p, sf_count_t n, void *ctx)
{
	(void)p;
	(void)n;
	(void)ctx;
	return 0;
}

static sf_count_t mem_tell(void *ctx)
{
	return ((struct atv_audio *)ctx)->mem_pos;
}

int atv_audio_open_mem(const void *p, size_t len, struct atv_audio **out, struct atv_err *err)
{
	static SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
	struct atv_audio *a;
	SF_INFO si = {0};
	int r;

	*out = NULL;
	if (!(a = audio_new(err)))
		return -ATV_E_NOMEM;
	a->mem = p;
	a->mem_len = len;
	a->sf = sf_open_virtual(&vio, SFM_READ, &si, a);
	if ((r = sf_opened(a, &si, "input", err)) < 0) {
		atv_audio_close(a);
		return r;
	}
	*out = a;
	return 0;
}

int atv_audio_open_raw(int fd, const struct atv_audio_raw *f, const void *pre, size_t len,
		       struct atv_audio **out, struct atv_err *err)
{
	size_t fb = atv_audio_frame_bytes(f);
	struct atv_audio *a;
	struct stat st;
	off_t at;

	*out = NULL;
	if (fb == 0 || f->rate < ATV_AUDIO_RATE_MIN || f->rate > ATV_AUDIO_RATE_MAX)
		return atv_err_set(err, ATV_E_USAGE, "invalid raw format");
	if (!(a = audio_new(err)))
		return -ATV_E_NOMEM;
	a->fd = fd;
	a->raw = *f;
	a->rcap = CHUNK * fb > len ? CHUNK * fb : len;
	if (!(a->rbuf = malloc(a->rcap))) {
		atv_audio_close(a);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	if (len)
		memcpy(a->rbuf, pre, len);
	a->rlen = len;
	a->info.format = "raw";
	a->info.rate = f->rate;
	a->info.channels = f->channels;
	/* a regular file's length is known: the duration for the receiver */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (at = lseek(fd, 0, SEEK_CUR)) >= 0 &&
	    st.st_size >= at)
		a->info.frames = (long long)(((size_t)(st.st_size - at) + len) / fb);
	*out = a;
	return 0;
}

void atv_audio_info(const struct atv_audio *a, struct atv_audio_info *info)
{
	*info = a->info;
}

int atv_audio_fd(const struct atv_audio *a)
{
	return a->sf ? -1 : a->fd;
}

long long atv_audio_frames_read(const struct atv_audio *a)
{
	return a->frames_read;
}

int atv_audio_output(struct atv_audio *a, int rate, int channels, struct atv_err *err)
{
	int e = 0;

	if (a->output_set || rate < ATV_AUDIO_RATE_MIN || rate > ATV_AUDIO_RATE_MAX ||
	    channels < 1 || channels > 2)
		return atv_err_set(err, ATV_E_USAGE, "invalid output format");
	a->output_set = true;
	a->out_rate = rate;
	a->out_ch = channels;
	if (!(a->sraw = malloc(CHUNK * sizeof *a->sraw * (size_t)a->info.channels)))
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (rate == a->info.rate)
		return 0;
	a->ratio = (double)rate / a->info.rate;
	if (a->ratio > RATIO_MAX || a->ratio < 1 / RATIO_MAX)
		return atv_err_set(err, ATV_E_INPUT, "cannot resample %d Hz to %d Hz",
				   a->info.rate, rate);
	/* the fastest sinc converter: its 97 dB and 80 % bandwidth are
	 * plenty for a speaker, at a small share of the CPU of the better ones */
	if (!(a->src = src_new(SRC_SINC_FASTEST, channels, &e)))
		return atv_err_set(err, ATV_E_NOMEM, "unable to start the resampler: %s",
				   src_strerror(e));
	a->fraw = malloc(CHUNK * sizeof *a->fraw * (size_t)a->info.channels);
	a->fin = malloc(CHUNK * sizeof *a->fin * (size_t)channels);
	a->fout = malloc(FOUT_CAP * sizeof *a->fout * (size_t)channels);
	if (!a->fraw || !a->fin || !a->fout)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 1;
}

/* Raw samples to int16 or float (whichever is not NULL). */
static void raw_decode(enum atv_audio_sample k, const uint8_t *p, size_t n, int16_t *s, float *f)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v; /* an integer sample, scaled to 24 bits */
		uint32_t u;
		float x;

		if (k == ATV_AUDIO_F32LE) {
			u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[3] << 24;
			memcpy(&x, &u, sizeof x);
			p += 4;
			if (!isfinite(x))
				x = 0;
			x = x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x;
			if (f)
				f[i] = x;
			else
				s[i] = (int16_t)lrintf(x * 32767.0f);
			continue;
		}
		/* sign-extend through the top of a 32-bit word; the low byte
		 * is 0, so the division is exact */
		if (k == ATV_AUDIO_S24LE)
			u = (uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24;
		else if (k == ATV_AUDIO_S16LE)
			u = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;
		else
			u = (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
		p += k == ATV_AUDIO_S24LE ? 3 : 2;
		v = (int32_t)u / 256;
		if (s)
			s[i] = (int16_t)(v / 256);
		else
			f[i] = (float)v / 8388608.0f;
	}
}

/* Up to max raw frames without waiting: 1 with *got (0: nothing now), 0
 * at the end, or < 0. */
static int raw_read(struct atv_audio *a, int16_t *s, float *f, size_t max, size_t *got,
		    struct atv_err *err)
{
	size_t fb = atv_audio_frame_bytes(&a->raw), n;
	struct pollfd pfd = {.fd = a->fd, .events = POLLIN};
	ssize_t r;

	*got = 0;
	if (!a->raw_eof && a->rlen < fb * max && a->rlen < a->rcap &&
	    poll(&pfd, 1, 0) == 1) {
		r = read(a->fd, a->rbuf + a->rlen, a->rcap - a->rlen);
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to read the input");
		if (r == 0)
			a->raw_eof = true;
		if (r > 0)
			a->rlen += (size_t)r;
	}
	n = a->rlen / fb;
	if (n > max)
		n = max;
	if (n == 0 && a->raw_eof) {
		if (a->rlen)
			return atv_err_set(err, ATV_E_INPUT,
					   "the input ends inside a frame (%zu of %zu bytes)",
					   a->rlen, fb);
		return 0;
	}
	raw_decode(a->raw.sample, a->rbuf, n * (size_t)a->raw.channels, s, f);
	memmove(a->rbuf, a->rbuf + n * fb, a->rlen - n * fb);
	a->rlen -= n * fb;
	*got = n;
	return 1;
}

/* Up to max frames from the source, as int16 (s) or float (f). */
static int source_read(struct atv_audio *a, int16_t *s, float *f, size_t max, size_t *got,
		       struct atv_err *err)
{
	sf_count_t n;
	int r;

	if (!a->sf) {
		r = raw_read(a, s, f, max, got, err);
		a->frames_read += (long long)*got;
		return r;
	}
	n = s ? sf_readf_short(a->sf, s, (sf_count_t)max) : sf_readf_float(a->sf, f, (sf_count_t)max);
	if (sf_error(a->sf))
		return atv_err_set(err, ATV_E_INPUT, "unable to decode the input: %s",
				   sf_strerror(a->sf));
	*got = n > 0 ? (size_t)n : 0;
	a->frames_read += (long long)*got;
	if (n > 0)
		return 1;
	/* MP3 lengths are estimates; every other header's is exact */
	if (a->info.frames >= 0 && a->frames_read < a->info.frames &&
	    strcmp(a->info.format, "mp3") != 0)
		return atv_err_set(err, ATV_E_INPUT,
				   "the input is truncated: %lld of the %lld frames its header "
				   "promised",
				   a->frames_read, a->info.frames);
	return 0;
}

/* Input frames (ich channels) to output frames (och): output channel c is
 * input channel c, or the last one (mono plays on both sides; channels
 * past the output's are dropped). */
#define MAP_CHANNELS(in, ich, out, och, n)                                                         \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			for (int c_ = 0; c_ < (och); c_++)                                         \
				(out)[i_ * (size_t)(och) + (size_t)c_] =                           \
				    (in)[i_ * (size_t)(ich) +                                      \
					 (size_t)(c_ < (ich) ? c_ : (ich) - 1)];                   \
	} while (0)

/* The resampling path: floats through libsamplerate. */
static int read_resampled(struct atv_audio *a, int16_t *pcm, size_t max, size_t *got,
			  struct atv_err *err)
{
	for (int spins = 0; spins < 64; spins++) {
		SRC_DATA d = {0};
		size_t n;
		int r, e;

		if (a->fout_pos < a->fout_len) {
			n = a->fout_len - a->fout_pos;
			n = n < max ? n : max;
			src_float_to_short_array(a->fout + a->fout_pos * (size_t)a->out_ch, pcm,
						 (int)(n * (size_t)a->out_ch));
			a->fout_pos += n;
			*got = n;
			return 1;
		}
		if (a->src_done)
			return 0;
		if (a->fin_pos == a->fin_len && !a->in_eof) {
			r = source_read(a, NULL, a->fraw, CHUNK, &n, err);
			if (r < 0)
				return r;
			if (r == 0)
				a->in_eof = true;
			else if (n == 0)
				return 1; /* *got is 0: a pipe has nothing now */
			MAP_CHANNELS(a->fraw, a->info.channels, a->fin, a->out_ch, n);
			a->fin_pos = 0;
			a->fin_len = n;
		}
		d.data_in = a->fin + a->fin_pos * (size_t)a->out_ch;
		d.input_frames = (long)(a->fin_len - a->fin_pos);
		d.data_out = a->fout;
		d.output_frames = (long)FOUT_CAP;
		d.end_of_input = a->in_eof;
		d.src_ratio = a->ratio;
		if ((e = src_process(a->src, &d)))
			return atv_err_set(err, ATV_E_INPUT, "unable to resample: %s",
					   src_strerror(e));
		a->fin_pos += (size_t)d.input_frames_used;
		a->fout_pos = 0;
		a->fout_len = (size_t)d.output_frames_gen;
		if (a->in_eof && a->fin_pos == a->fin_len && d.output_frames_gen == 0)
			a->src_done = true;
	}
	return atv_err_set(err, ATV_E_INPUT, "the resampler makes no progress");
}

int atv_audio_read(struct atv_audio *a, int16_t *pcm, size_t max, size_t *got,
		   struct atv_err *err)
{
	size_t n;
	int r;

	*got = 0;
	if (!a->output_set)
		return atv_err_set(err, ATV_E_USAGE, "atv_audio_output first");
	if (a->src)
		return read_resampled(a, pcm, max, got, err);
	if (a->in_eof)
		return 0;
	r = source_read(a, a->sraw, NULL, max < CHUNK ? max : CHUNK, &n, err);
	if (r == 0)
		a->in_eof = true;
	if (r <= 0)
		return r;
	MAP_CHANNELS(a->sraw, a->info.channels, pcm, a->out_ch, n);
	*got = n;
	return 1;
}

void atv_audio_close(struct atv_audio *a)
{
	if (!a)
		return;
	if (a->sf)
		sf_close(a->sf);
	if (a->src)
		src_delete(a->src);
	for (size_t i = 0; i < 3; i++)
		free(a->tags[i]);
	free(a->rbuf);
	free(a->sraw);
	free(a->fraw);
	free(a->fin);
	free(a->fout);
	free(a);
}
