/* fuzz-audio-in - atv-stream's audio input on any bytes as a file
 * (libsndfile's headers and decoders, our bounds on what they report, the
 * channel map and, for inputs of odd length, the resampler to 48 kHz).
 * Any bytes give an input that opens and reads to its end or fails with
 * -ATV_E_INPUT; a read never gives more frames than asked for. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fuzzed header may promise hours: enough to cover every decoder path. */
#define FRAMES_MAX (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_audio *a;
	struct atv_audio_info info;
	struct atv_err err = {0};
	int16_t pcm[2 * 1000];
	size_t got, total = 0;
	int r;

	if (atv_audio_open_mem(data, size, &a, &err) < 0) {
		if (err.code != ATV_E_INPUT && err.code != ATV_E_NOMEM)
			abort();
		return 0;
	}
	atv_audio_info(a, &info);
	if (info.rate < ATV_AUDIO_RATE_MIN || info.rate > ATV_AUDIO_RATE_MAX ||
	    info.channels < 1 || info.channels > ATV_AUDIO_CHANNELS_MAX)
		abort();
	if (atv_audio_output(a, size & 1 ? 48000 : 44100, 2, &err) < 0) {
		atv_audio_close(a);
		return 0;
	}
	while (total < FRAMES_MAX && (r = atv_audio_read(a, pcm, 1000, &got, &err)) > 0) {
		if (got > 1000)
			abort();
		total += got;
	}
	atv_audio_close(a);
	return 0;
}
