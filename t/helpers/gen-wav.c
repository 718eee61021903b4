/* gen-wav - deterministic audio for atv-stream's tests, and the sums the
 * fake receiver reports for it.
 *
 *   gen-wav [-r RATE] [-c CHANNELS] [-n FRAMES] [-f FORMAT] [-T TITLE]
 *           [-A ARTIST] [-L ALBUM] OUT
 *       FORMAT wav (16-bit, the default), wav24, wavf (32-bit float), flac,
 *       ogg, mp3 (libsndfile), or raw-s16le, raw-s16be, raw-s24le,
 *       raw-f32le (no header; OUT "-" is stdout).  The samples are a tone
 *       per channel with a little pseudo-random noise, never a silent
 *       frame, the same for the same arguments.
 *   gen-wav -s FILE
 *       decode FILE with libsndfile as 16-bit samples, as a 2-channel
 *       receiver gets them (mono on both sides, channels past two
 *       dropped), and print {"frames":N,"rate":R,"channels":C,
 *       "pcm_frames":N,"pcm_fnv1a64":"…"}: the FNV-1a 64 of the
 *       little-endian interleaved frames, trailing silent frames left out,
 *       as the fake's audio-state counts them. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 4096

static int usage(void)
{
	fprintf(stderr, "usage: gen-wav [-r RATE] [-c CH] [-n FRAMES] [-f FORMAT] [-T TITLE] "
			"[-A ARTIST] [-L ALBUM] OUT | gen-wav -s FILE\n");
	return 2;
}

/* Sample i of channel c in [-1, 1): a tone with noise from an LCG. */
static double sample(long i, int c, int rate, uint32_t *lcg)
{
	double f = 220.0 * (c + 1) + 110.0;

	*lcg = *lcg * 1664525u + 1013904223u;
	return 0.6 * sin(2 * M_PI * f * (double)i / rate) +
	       0.05 * ((double)(*lcg >> 8) / (1 << 24) - 0.5) + 0.001;
}

static void put16(uint8_t *p, int v, int big)
{
	p[big ? 1 : 0] = (uint8_t)(v & 0xff);
	p[big ? 0 : 1] = (uint8_t)((v >> 8) & 0xff);
}

static int write_raw(const char *out, const char *kind, int rate, int ch, long frames)
{
	FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "wb");
	uint32_t lcg = 1;

	if (!f) {
		perror(out);
		return 1;
	}
	for (long i = 0; i < frames; i++) {
		for (int c = 0; c < ch; c++) {
			double x = sample(i, c, rate, &lcg);
			uint8_t b[4];
			size_t n;

			if (strcmp(kind, "raw-f32le") == 0) {
				float v = (float)x;
				uint32_t u;

				memcpy(&u, &v, 4);
				for (int k = 0; k < 4; k++)
					b[k] = (uint8_t)(u >> (8 * k));
				n = 4;
			} else if (strcmp(kind, "raw-s24le") == 0) {
				long v = lrint(x * 8388607.0);

				for (int k = 0; k < 3; k++)
					b[k] = (uint8_t)((unsigned long)v >> (8 * k));
				n = 3;
			} else {
				put16(b, (int)lrint(x * 32767.0), strcmp(kind, "raw-s16be") == 0);
				n = 2;
			}
			if (fwrite(b, 1, n, f) != n) {
				perror(out);
				return 1;
			}
		}
	}
	if (fflush(f) != 0 || (f != stdout && fclose(f) != 0)) {
		perror(out);
		return 1;
	}
	return 0;
}

static int write_sf(const char *out, const char *kind, int rate, int ch, long frames,
		    const char *strs[3])
{
	static const struct {
		const char *name;
		int format;
	} kinds[] = {
	    {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
	    {"wav24", SF_FORMAT_WAV | SF_FORMAT_PCM_24},
	    {"wavf", SF_FORMAT_WAV | SF_FORMAT_FLOAT},
	    {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
	    {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
	    {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
	};
	SF_INFO si = {.samplerate = rate, .channels = ch};
	double buf[CHUNK * 8];
	uint32_t lcg = 1;
	SNDFILE *sf;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(kind, kinds[k].name) == 0)
			si.format = kinds[k].format;
	if (!si.format || ch > 8)
		return usage();
	if (!(sf = sf_open(out, SFM_WRITE, &si))) {
		fprintf(stderr, "gen-wav: %s: %s\n", out, sf_strerror(NULL));
		return 1;
	}
	if (strs[0])
		sf_set_string(sf, SF_STR_TITLE, strs[0]);
	if (strs[1])
		sf_set_string(sf, SF_STR_ARTIST, strs[1]);
	if (strs[2])
		sf_set_string(sf, SF_STR_ALBUM, strs[2]);
	for (long i = 0; i < frames;) {
		long n = frames - i < CHUNK ? frames - i : CHUNK;

		for (long k = 0; k < n; k++)
			for (int c = 0; c < ch; c++)
				buf[k * ch + c] = sample(i + k, c, rate, &lcg);
		if (sf_writef_double(sf, buf, n) != n) {
			fprintf(stderr, "gen-wav: %s: %s\n", out, sf_strerror(sf));
			return 1;
		}
		i += n;
	}
	return sf_close(sf) == 0 ? 0 : 1;
}

static int sum(const char *path)
{
	SF_INFO si = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	short *buf;
	uint64_t fnv = UINT64_C(0xcbf29ce484222325);
	unsigned long frames = 0, pcm = 0, zeros = 0;
	sf_count_t n;

	if (!sf) {
		fprintf(stderr, "gen-wav: %s: %s\n", path, sf_strerror(NULL));
		return 1;
	}
	if (!(buf = malloc(sizeof *buf * CHUNK * (size_t)si.channels)))
		return 1;
	while ((n = sf_readf_short(sf, buf, CHUNK)) > 0) {
		for (sf_count_t i = 0; i < n; i++) {
			short l = buf[i * si.channels], r = buf[i * si.channels + (si.channels > 1)];
			uint8_t b[4];

			frames++;
			if (l == 0 && r == 0) {
				zeros++;
				continue;
			}
			/* silence counts once something follows it */
			for (; zeros; zeros--, pcm++)
				for (int k = 0; k < 4; k++)
					fnv = (fnv ^ 0) * UINT64_C(0x100000001b3);
			put16(b, l, 0);
			put16(b + 2, r, 0);
			for (int k = 0; k < 4; k++)
				fnv = (fnv ^ b[k]) * UINT64_C(0x100000001b3);
			pcm++;
		}
	}
	free(buf);
	sf_close(sf);
	printf("{\"frames\":%lu,\"rate\":%d,\"channels\":%d,\"pcm_frames\":%lu,"
	       "\"pcm_fnv1a64\":\"%016" PRIx64 "\"}\n",
	       frames, si.samplerate, si.channels, pcm, fnv);
	return 0;
}

int main(int argc, char **argv)
{
	const char *kind = "wav", *strs[3] = {NULL, NULL, NULL};
	int rate = 44100, ch = 2, c;
	long frames = 44100;

	while ((c = getopt(argc, argv, "r:c:n:f:T:A:L:s:")) != -1) {
		switch (c) {
		case 'r': rate = (int)strtol(optarg, NULL, 10); break;
		case 'c': ch = (int)strtol(optarg, NULL, 10); break;
		case 'n': frames = strtol(optarg, NULL, 10); break;
		case 'f': kind = optarg; break;
		case 'T': strs[0] = optarg; break;
		case 'A': strs[1] = optarg; break;
		case 'L': strs[2] = optarg; break;
		case 's': return sum(optarg);
		default: return usage();
		}
	}
	if (optind + 1 != argc || rate <= 0 || ch <= 0 || frames < 0)
		return usage();
	if (strncmp(kind, "raw-", 4) == 0)
		return write_raw(argv[optind], kind, rate, ch, frames);
	return write_sf(argv[optind], kind, rate, ch, frames, strs);
}
