/* fuzz-raop - the fake's audio receiver's parsers on what a sender sends
 * (t/fake-atv/raop-parse.c): the first byte picks one.  0: an ANNOUNCE's
 * SDP; 1 and 2: an RTP packet, its payload decoded as L16 or uncompressed
 * ALAC (stereo, 352 frames at most); 3: a DMAP mlit of metadata; 4: a
 * Digest header's parameters.  A parser must refuse or give values within
 * the bounds it promises. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fake-atv/raop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sdp(const uint8_t *p, size_t n)
{
	struct fake_sdp s;

	if (fake_sdp_parse(p, n, &s, NULL) == 0 &&
	    (s.rate < 8000 || s.rate > 192000 || s.channels < 1 || s.channels > 2 || s.bits != 16 ||
	     s.fpp < 1 || s.fpp > FAKE_FPP_MAX || s.codec == FAKE_CODEC_NONE))
		abort();
}

static void rtp(const uint8_t *p, size_t n, enum fake_codec codec)
{
	static int16_t pcm[352 * 2];
	struct fake_rtp r;
	size_t frames;

	if (fake_rtp_parse(p, n, &r, NULL) < 0)
		return;
	if (r.payload < p || r.payload + r.len > p + n)
		abort();
	if (fake_audio_decode(codec, 2, 16, r.payload, r.len, pcm, 352, &frames, NULL) == 0 &&
	    frames > 352)
		abort();
}

static void meta(const uint8_t *p, size_t n)
{
	char *t, *ar, *al;

	if (fake_dmap_meta_parse(p, n, &t, &ar, &al, NULL) == 0 &&
	    ((t && strlen(t) > 255) || (ar && strlen(ar) > 255) || (al && strlen(al) > 255)))
		abort();
	free(t);
	free(ar);
	free(al);
}

static void digest(const uint8_t *p, size_t n)
{
	char *h = malloc(n + 1), out[64];

	if (!h)
		return;
	memcpy(h, p, n);
	h[n] = '\0';
	if (fake_digest_param(h, "nonce", out, sizeof out) && strlen(out) >= sizeof out)
		abort();
	fake_digest_param(h, "response", out, sizeof out);
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0: sdp(data + 1, size - 1); break;
	case 1: rtp(data + 1, size - 1, FAKE_CODEC_L16); break;
	case 2: rtp(data + 1, size - 1, FAKE_CODEC_ALAC); break;
	case 3: meta(data + 1, size - 1); break;
	default: digest(data + 1, size - 1); break;
	}
	return 0;
}
