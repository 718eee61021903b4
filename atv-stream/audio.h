/* audio.h - atv-stream's audio input: a file decoded by libsndfile (WAV,
 * FLAC, MP3, Ogg, ...) or raw PCM from a pipe, turned into the PCM the
 * receiver takes (16-bit signed, host order, interleaved), its channels
 * mapped and, only when the rates differ, resampled by libsamplerate.
 *
 * Input is hostile: it is read a chunk at a time (memory stays bounded
 * however long it is), every header value is bounded before use, and a
 * file that ends before its header says is an error, not a short song.
 * Errors are -ATV_E_INPUT (bad or cut input: exit 6), -ATV_E_IO (a read
 * failed: exit 7), -ATV_E_USAGE (a bad --format), -ATV_E_NOMEM.
 *
 *   struct atv_audio *a;
 *   atv_audio_open_file("song.flac", &a, &err);
 *   atv_audio_output(a, 44100, 2, &err);
 *   while ((r = atv_audio_read(a, pcm, n, &got, &err)) > 0)
 *           ... got frames in pcm (0: a pipe has nothing now; poll
 *               atv_audio_fd) ...
 *   atv_audio_close(a);
 */
#ifndef ATV_STREAM_AUDIO_H
#define ATV_STREAM_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ATV_AUDIO_RATE_MIN     1000
#define ATV_AUDIO_RATE_MAX     384000
#define ATV_AUDIO_CHANNELS_MAX 32   /* more is refused as a lying header */
#define ATV_AUDIO_TAG_MAX      1024 /* bytes of a title, artist, album tag */

/* Raw PCM samples (--format KIND:RATE:CHANNELS). */
enum atv_audio_sample {
	ATV_AUDIO_S16LE,
	ATV_AUDIO_S16BE,
	ATV_AUDIO_S24LE, /* 3 bytes a sample, packed */
	ATV_AUDIO_F32LE	 /* IEEE float, -1.0 .. 1.0 */
};

struct atv_audio_raw {
	enum atv_audio_sample sample;
	int rate;
	int channels;
};

/* Parse "KIND[:RATE[:CHANNELS]]" (KIND s16le, s16be, s24le or f32le; RATE
 * 1000..384000, default 44100; CHANNELS 1..32, default 2).  0, or
 * -ATV_E_USAGE with a message naming what is wrong. */
int atv_audio_parse_format(const char *s, struct atv_audio_raw *f, struct atv_err *err);

/* Bytes of one frame of f. */
size_t atv_audio_frame_bytes(const struct atv_audio_raw *f);

struct atv_audio;

/* What the input is, as opened. The strings belong to the input. */
struct atv_audio_info {
	int rate, channels;	   /* as the input has them */
	long long frames;	   /* in the input's rate; -1 unknown (a pipe) */
	const char *format;	   /* "wav", "flac", "mp3", "ogg", "raw", ... */
	const char *title, *artist, *album; /* from the file's tags, or NULL */
};

/* A file by libsndfile; path "-" is refused (stdin is raw, open_raw). */
int atv_audio_open_file(const char *path, struct atv_audio **out, struct atv_err *err);

/* The same from memory (the bytes are not copied: they must outlive a):
 * for the fuzz target and the unit tests. */
int atv_audio_open_mem(const void *p, size_t len, struct atv_audio **out, struct atv_err *err);

/* Raw PCM read from fd (not closed by atv_audio_close), after the len
 * bytes at pre (copied; what was read past a config line on stdin).  A
 * read never waits: it takes what fd has (poll atv_audio_fd). */
int atv_audio_open_raw(int fd, const struct atv_audio_raw *f, const void *pre, size_t len,
		       struct atv_audio **out, struct atv_err *err);

void atv_audio_info(const struct atv_audio *a, struct atv_audio_info *info);

/* Set the PCM atv_audio_read gives: rate (resampled when it is not the
 * input's) and channels (1 or 2: mono is copied to both, channels past
 * the first two are dropped).  Call once, before reading.  1 when the
 * input is resampled, 0 when not, < 0 on error. */
int atv_audio_output(struct atv_audio *a, int rate, int channels, struct atv_err *err);

/* The fd to poll before a read (raw input), or -1 when reads never wait. */
int atv_audio_fd(const struct atv_audio *a);

/* Up to max frames into pcm: 1 with *got frames (0 when a pipe has none
 * now), 0 at the end (everything given), or < 0.  The end of a file whose
 * header promised more frames, and raw input cut inside a frame, are
 * -ATV_E_INPUT. */
int atv_audio_read(struct atv_audio *a, int16_t *pcm, size_t max, size_t *got,
		   struct atv_err *err);

/* Frames of input read so far (the input's rate). */
long long atv_audio_frames_read(const struct atv_audio *a);

void atv_audio_close(struct atv_audio *a);

#endif
