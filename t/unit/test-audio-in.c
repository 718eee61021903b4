/* test-audio-in - atv-stream's audio input (cmocka): --format parsing, a
 * generated WAV decoded to exactly its samples (from a file and from
 * memory), channel mapping, raw PCM of every kind from a pipe, cut and
 * lying input, and the resampler's frame counts. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "audio.h"

#define FRAMES 5000

/* Sample i of channel c: every value differs from its neighbours. */
static int16_t want(long i, int c)
{
	return (int16_t)((i * 37 + c * 1000 + 1) % 65536 - 32768);
}

/* A WAV of frames frames and ch channels at rate in a temp file (its path
 * in path), with a title tag. */
static void make_wav(char *path, size_t size, int rate, int ch, long frames)
{
	SF_INFO si = {.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	int16_t *buf = malloc(sizeof *buf * (size_t)(frames * ch) + 1);
	SNDFILE *sf;
	int fd;

	snprintf(path, size, "/tmp/test-audio-in.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(buf);
	for (long i = 0; i < frames; i++)
		for (int c = 0; c < ch; c++)
			buf[i * ch + c] = want(i, c);
	si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	sf = sf_open(path, SFM_WRITE, &si);
	assert_non_null(sf);
	sf_set_string(sf, SF_STR_TITLE, "Test Tone");
	assert_int_equal(sf_writef_short(sf, buf, frames), frames);
	sf_close(sf);
	free(buf);
}

/* Everything a reads, as 2 channels at rate, into out (NULL: dropped);
 * the frame count. */
static size_t read_all(struct atv_audio *a, int rate, int16_t *out, size_t max)
{
	struct atv_err err = {0};
	size_t total = 0, got;
	int16_t scratch[2 * 333];
	int r;

	assert_true(atv_audio_output(a, rate, 2, &err) >= 0);
	while ((r = atv_audio_read(a, out ? out + total * 2 : scratch, 333, &got, &err)) > 0) {
		assert_true(got <= 333);
		total += got;
		assert_true(total <= max);
	}
	assert_int_equal(r, 0);
	return total;
}

static void test_parse_format(void **state)
{
	struct atv_audio_raw f;
	struct atv_err err = {0};

	(void)state;
	assert_int_equal(atv_audio_parse_format("s16le:44100:2", &f, &err), 0);
	assert_int_equal(f.sample, ATV_AUDIO_S16LE);
	assert_int_equal(f.rate, 44100);
	assert_int_equal(f.channels, 2);
	assert_int_equal(atv_audio_frame_bytes(&f), 4);
	assert_int_equal(atv_audio_parse_format("f32le:48000:1", &f, &err), 0);
	assert_int_equal(f.sample, ATV_AUDIO_F32LE);
	assert_int_equal(f.rate, 48000);
	assert_int_equal(atv_audio_frame_bytes(&f), 4);
	assert_int_equal(atv_audio_parse_format("s24le", &f, &err), 0);
	assert_int_equal(f.rate, 44100);
	assert_int_equal(f.channels, 2);
	assert_int_equal(atv_audio_frame_bytes(&f), 6);
	assert_int_equal(atv_audio_parse_format("s16be:22050", &f, &err), 0);
	assert_int_equal(f.rate, 22050);
	static const char *const bad[] = {
	    "", "s16", "u8:44100:2", "s16le:", "s16le:44100:", "s16le:999:2",
	    "s16le:384001:2", "s16le:44100:0", "s16le:44100:33", "s16le:44x00:2",
	    "s16le:44100:2:1", "s16le:-44100:2", "s16le:4410000000:2",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(atv_audio_parse_format(bad[i], &f, &err), -ATV_E_USAGE);
		assert_true(strlen(err.msg) > 0);
	}
}

static void test_wav_exact(void **state)
{
	char path[64];
	struct atv_audio *a;
	struct atv_audio_info info;
	struct atv_err err = {0};
	int16_t *out = malloc(sizeof *out * FRAMES * 2);

	(void)state;
	make_wav(path, sizeof path, 44100, 2, FRAMES);
	assert_int_equal(atv_audio_open_file(path, &a, &err), 0);
	atv_audio_info(a, &info);
	assert_int_equal(info.rate, 44100);
	assert_int_equal(info.channels, 2);
	assert_int_equal(info.frames, FRAMES);
	assert_string_equal(info.format, "wav");
	assert_string_equal(info.title, "Test Tone");
	assert_null(info.artist);
	assert_int_equal(atv_audio_fd(a), -1);
	/* same rate: no resampler, every sample as written */
	assert_int_equal(read_all(a, 44100, out, FRAMES), FRAMES);
	for (long i = 0; i < FRAMES; i++) {
		assert_int_equal(out[2 * i], want(i, 0));
		assert_int_equal(out[2 * i + 1], want(i, 1));
	}
	assert_int_equal(atv_audio_frames_read(a), FRAMES);
	atv_audio_close(a);
	unlink(path);
	free(out);
}

/* The same bytes through libsndfile's virtual I/O (the fuzz target's way). */
static void test_wav_mem_mono(void **state)
{
	char path[64];
	struct atv_audio *a;
	struct atv_err err = {0};
	int16_t *out = malloc(sizeof *out * FRAMES * 2);
	uint8_t *bytes = malloc(FRAMES * 2 + 1024);
	ssize_t len;
	int fd;

	(void)state;
	make_wav(path, sizeof path, 44100, 1, FRAMES);
	fd = open(path, O_RDONLY);
	len = read(fd, bytes, FRAMES * 2 + 1024);
	close(fd);
	assert_true(len > FRAMES * 2);
	assert_int_equal(atv_audio_open_mem(bytes, (size_t)len, &a, &err), 0);
	/* mono: the one channel on both sides */
	assert_int_equal(read_all(a, 44100, out, FRAMES), FRAMES);
	for (long i = 0; i < FRAMES; i++) {
		assert_int_equal(out[2 * i], want(i, 0));
		assert_int_equal(out[2 * i + 1], want(i, 0));
	}
	atv_audio_close(a);

	/* cut in the middle of its data: refused at open, not played short */
	assert_int_equal(atv_audio_open_mem(bytes, (size_t)len / 2, &a, &err), -ATV_E_INPUT);
	assert_non_null(strstr(err.msg, "truncated"));
	assert_null(a);
	/* a lying header: 4 billion channels */
	bytes[22] = bytes[23] = 0xff;
	assert_int_equal(atv_audio_open_mem(bytes, (size_t)len, &a, &err), -ATV_E_INPUT);
	/* not audio at all */
	memset(bytes, 'x', 256);
	assert_int_equal(atv_audio_open_mem(bytes, 256, &a, &err), -ATV_E_INPUT);
	assert_int_equal(atv_audio_open_mem(bytes, 0, &a, &err), -ATV_E_INPUT);
	unlink(path);
	free(out);
	free(bytes);
}

static void test_file_errors(void **state)
{
	struct atv_audio *a;
	struct atv_err err = {0};

	(void)state;
	assert_int_equal(atv_audio_open_file("/nonexistent/x.wav", &a, &err), -ATV_E_IO);
	assert_int_equal(atv_audio_open_file("/dev/null", &a, &err), -ATV_E_INPUT);
	assert_non_null(strstr(err.msg, "--format"));
}

/* 4 channels: the first two are kept. */
static void test_channels_dropped(void **state)
{
	char path[64];
	struct atv_audio *a;
	struct atv_err err = {0};
	int16_t *out = malloc(sizeof *out * FRAMES * 2);

	(void)state;
	make_wav(path, sizeof path, 44100, 4, FRAMES);
	assert_int_equal(atv_audio_open_file(path, &a, &err), 0);
	assert_int_equal(read_all(a, 44100, out, FRAMES), FRAMES);
	for (long i = 0; i < FRAMES; i += 7) {
		assert_int_equal(out[2 * i], want(i, 0));
		assert_int_equal(out[2 * i + 1], want(i, 1));
	}
	atv_audio_close(a);
	unlink(path);
	free(out);
}

/* Raw PCM through a pipe, with bytes before it (a config line's rest). */
static void raw_case(const char *format, const uint8_t *bytes, size_t len, size_t pre,
		     const int16_t *expect, size_t frames)
{
	struct atv_audio_raw f;
	struct atv_audio *a;
	struct atv_err err = {0};
	int16_t out[64];
	int p[2];

	assert_int_equal(atv_audio_parse_format(format, &f, &err), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], bytes + pre, len - pre), (ssize_t)(len - pre));
	close(p[1]);
	assert_int_equal(atv_audio_open_raw(p[0], &f, bytes, pre, &a, &err), 0);
	assert_int_equal(atv_audio_fd(a), p[0]);
	assert_int_equal(read_all(a, f.rate, out, 32), frames);
	for (size_t i = 0; i < frames * 2; i++)
		assert_int_equal(out[i], expect[i]);
	atv_audio_close(a);
	close(p[0]);
}

static void test_raw_kinds(void **state)
{
	static const uint8_t s16le[] = {0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f};
	static const uint8_t s16be[] = {0x00, 0x01, 0xff, 0xff, 0x80, 0x00, 0x7f, 0xff};
	static const uint8_t s24le[] = {0x00, 0x01, 0x00, 0x00, 0xff, 0xff,
					0x00, 0x00, 0x80, 0xff, 0xff, 0x7f};
	static const int16_t want16[] = {1, -1, -32768, 32767};
	static const int16_t want24[] = {1, -1, -32768, 32767};
	/* f32le mono: 0.5, -1.0, 2.0 (clipped), NaN (silence) */
	static const uint8_t f32le[] = {0, 0, 0, 0x3f, 0, 0, 0x80, 0xbf,
					0, 0, 0, 0x40, 0, 0, 0xc0, 0x7f};
	static const int16_t wantf[] = {16384, 16384, -32767, -32767, 32767, 32767, 0, 0};

	(void)state;
	raw_case("s16le:44100:2", s16le, sizeof s16le, 0, want16, 2);
	raw_case("s16le:44100:2", s16le, sizeof s16le, 3, want16, 2);
	raw_case("s16be:44100:2", s16be, sizeof s16be, 4, want16, 2);
	raw_case("s24le:44100:2", s24le, sizeof s24le, 1, want24, 2);
	raw_case("f32le:44100:1", f32le, sizeof f32le, 0, wantf, 4);
}

/* Raw input that stops inside a frame, and one that has nothing yet. */
static void test_raw_cut_and_idle(void **state)
{
	static const uint8_t three[] = {1, 2, 3};
	struct atv_audio_raw f = {ATV_AUDIO_S16LE, 44100, 2};
	struct atv_audio *a;
	struct atv_err err = {0};
	int16_t out[8];
	size_t got;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(atv_audio_open_raw(p[0], &f, NULL, 0, &a, &err), 0);
	assert_true(atv_audio_output(a, 44100, 2, &err) >= 0);
	/* nothing written: a read does not wait, it gives 0 frames */
	assert_int_equal(atv_audio_read(a, out, 2, &got, &err), 1);
	assert_int_equal(got, 0);
	assert_int_equal(write(p[1], three, 3), 3);
	close(p[1]);
	while (atv_audio_read(a, out, 2, &got, &err) == 1)
		assert_int_equal(got, 0);
	assert_int_equal(err.code, ATV_E_INPUT);
	assert_non_null(strstr(err.msg, "inside a frame"));
	atv_audio_close(a);
	close(p[0]);
}

/* Resampled to 44100: about rate_out / rate_in frames per input frame. */
static void resample_case(int rate, int ch, long frames)
{
	char path[64];
	struct atv_audio *a;
	struct atv_err err = {0};
	long expect = (long)((double)frames * 44100 / rate + 0.5);
	size_t n;

	make_wav(path, sizeof path, rate, ch, frames);
	assert_int_equal(atv_audio_open_file(path, &a, &err), 0);
	n = read_all(a, 44100, NULL, (size_t)expect + 100);
	/* libsamplerate gives every frame at the end of input: within one */
	assert_true((long)n >= expect - 1 && (long)n <= expect + 1);
	assert_int_equal(atv_audio_frames_read(a), frames);
	atv_audio_close(a);
	unlink(path);
}

static void test_resample_counts(void **state)
{
	(void)state;
	resample_case(48000, 2, 48000);
	resample_case(22050, 1, 22050);
	resample_case(8000, 2, 12345);
	resample_case(96000, 2, 9600);
}

/* The resampler keeps a tone's level: a 48 kHz full-scale-ish input does
 * not come out silent or clipped everywhere. */
static void test_resample_level(void **state)
{
	char path[64];
	struct atv_audio *a;
	struct atv_err err = {0};
	int16_t *out = malloc(sizeof *out * 2 * 50000);
	size_t n;
	long nonzero = 0;

	(void)state;
	make_wav(path, sizeof path, 48000, 2, 48000);
	assert_int_equal(atv_audio_open_file(path, &a, &err), 0);
	n = read_all(a, 44100, out, 50000);
	for (size_t i = 0; i < n * 2; i++)
		nonzero += out[i] != 0;
	assert_true(nonzero > (long)n);
	atv_audio_close(a);
	unlink(path);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),     cmocka_unit_test(test_wav_exact),
	    cmocka_unit_test(test_wav_mem_mono),     cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_channels_dropped), cmocka_unit_test(test_raw_kinds),
	    cmocka_unit_test(test_raw_cut_and_idle), cmocka_unit_test(test_resample_counts),
	    cmocka_unit_test(test_resample_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
