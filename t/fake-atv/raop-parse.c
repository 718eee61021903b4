/* raop-parse.c - what an audio sender sends, parsed with every length
 * bounded: SDP, RTP, L16 and uncompressed ALAC, DMAP metadata, Digest
 * parameters.  No sockets, no state: the fuzz target fuzz-raop runs each. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "raop.h"

#include "banned.h"

/* ---- SDP ---- */

static bool parse_uint(const char *s, unsigned long max, unsigned long *v, const char **end)
{
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &e, 10);
	if (errno || *v > max)
		return false;
	if (end)
		*end = e;
	return true;
}

/* "a=rtpmap:96 NAME/RATE[/CH]" (after "a=rtpmap:") */
static int sdp_rtpmap(const char *v, struct fake_sdp *s, struct atv_err *err)
{
	unsigned long pt, rate, ch = 1;
	const char *e;

	if (!parse_uint(v, 127, &pt, &e) || *e != ' ')
		return atv_err_set(err, ATV_E_PROTO, "sdp: a bad rtpmap");
	if (pt != s->payload_type)
		return 0;
	e++;
	if (strncasecmp(e, "AppleLossless", 13) == 0 && (e[13] == '\0' || e[13] == '/')) {
		s->codec = FAKE_CODEC_ALAC;
		return 0;
	}
	if (strncasecmp(e, "L16/", 4) != 0)
		return atv_err_set(err, ATV_E_PROTO, "sdp: codec \"%.40s\" not served", e);
	if (!parse_uint(e + 4, 192000, &rate, &e) || (*e && *e != '/') ||
	    (*e == '/' && !parse_uint(e + 1, 8, &ch, &e)) || *e)
		return atv_err_set(err, ATV_E_PROTO, "sdp: a bad L16 rtpmap");
	s->codec = FAKE_CODEC_L16;
	s->rate = (unsigned)rate;
	s->channels = (unsigned)ch;
	return 0;
}

/* "a=fmtp:96 352 0 16 40 10 14 2 255 0 0 44100": frame length, version,
 * bit depth, pb, mb, kb, channels, max run, max frame bytes, average bit
 * rate, sample rate (ALAC's magic cookie in text, which pyatv sends for
 * L16 too) */
static int sdp_fmtp(const char *v, struct fake_sdp *s, struct atv_err *err)
{
	unsigned long n[11], pt;
	const char *e;

	if (!parse_uint(v, 127, &pt, &e) || *e != ' ')
		return atv_err_set(err, ATV_E_PROTO, "sdp: a bad fmtp");
	if (pt != s->payload_type)
		return 0;
	for (size_t i = 0; i < 11; i++) {
		while (*e == ' ')
			e++;
		if (!parse_uint(e, 0xffffffffUL, &n[i], &e))
			return atv_err_set(err, ATV_E_PROTO, "sdp: fmtp wants 11 numbers");
	}
	while (*e == ' ')
		e++;
	if (*e)
		return atv_err_set(err, ATV_E_PROTO, "sdp: fmtp wants 11 numbers");
	s->fpp = (unsigned)(n[0] <= FAKE_FPP_MAX ? n[0] : 0);
	s->bits = (unsigned)(n[2] <= 32 ? n[2] : 0);
	s->channels = (unsigned)(n[6] <= 8 ? n[6] : 0);
	s->rate = (unsigned)(n[10] <= 192000 ? n[10] : 0);
	return 0;
}

int fake_sdp_parse(const uint8_t *p, size_t len, struct fake_sdp *out, struct atv_err *err)
{
	struct fake_sdp s = {.codec = FAKE_CODEC_NONE};
	char line[FAKE_SDP_LINE_MAX + 1];
	bool audio = false, fmtp = false;
	size_t i = 0;
	int r;

	*out = s;
	if (len > FAKE_SDP_MAX)
		return atv_err_set(err, ATV_E_PROTO, "sdp: %zu bytes, more than %d", len,
				   FAKE_SDP_MAX);
	if (memchr(p, '\0', len))
		return atv_err_set(err, ATV_E_PROTO, "sdp: a NUL byte");
	while (i < len) {
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;

		if (n > 0 && p[i + n - 1] == '\r')
			n--;
		if (n > FAKE_SDP_LINE_MAX)
			return atv_err_set(err, ATV_E_PROTO, "sdp: a line of over %d bytes",
					   FAKE_SDP_LINE_MAX);
		memcpy(line, p + i, n);
		line[n] = '\0';
		i += nl ? (size_t)(nl - (p + i)) + 1 : len - i;
		if (strncmp(line, "m=audio ", 8) == 0) {
			const char *sp = strstr(line, " RTP/AVP ");
			unsigned long pt;

			if (audio)
				return atv_err_set(err, ATV_E_PROTO, "sdp: two m=audio lines");
			if (!sp || !parse_uint(sp + 9, 127, &pt, NULL))
				return atv_err_set(err, ATV_E_PROTO, "sdp: a bad m=audio line");
			audio = true;
			s.payload_type = (unsigned)pt;
		} else if (strncmp(line, "a=rtpmap:", 9) == 0 && audio) {
			if ((r = sdp_rtpmap(line + 9, &s, err)) < 0)
				return r;
		} else if (strncmp(line, "a=fmtp:", 7) == 0 && audio) {
			if ((r = sdp_fmtp(line + 7, &s, err)) < 0)
				return r;
			fmtp = true;
		} else if (strncmp(line, "a=rsaaeskey:", 12) == 0 ||
			   strncmp(line, "a=fpaeskey:", 11) == 0) {
			s.encrypted = true;
		}
	}
	if (!audio || s.codec == FAKE_CODEC_NONE)
		return atv_err_set(err, ATV_E_PROTO, "sdp: no audio with a known codec");
	if (s.codec == FAKE_CODEC_ALAC && !fmtp)
		return atv_err_set(err, ATV_E_PROTO, "sdp: AppleLossless without fmtp");
	if (!fmtp)
		s.fpp = 352, s.bits = 16;
	if (s.rate < 8000 || s.rate > 192000 || s.channels < 1 || s.channels > 2 ||
	    s.bits != 16 || s.fpp < 1 || s.fpp > FAKE_FPP_MAX)
		return atv_err_set(err, ATV_E_PROTO,
				   "sdp: audio %u Hz, %u channels, %u bits, %u frames a packet "
				   "not served",
				   s.rate, s.channels, s.bits, s.fpp);
	*out = s;
	return 0;
}

/* ---- RTP ---- */

int fake_rtp_parse(const uint8_t *p, size_t len, struct fake_rtp *out, struct atv_err *err)
{
	size_t off = 12, cc;

	if (len < 12 || (p[0] & 0xc0) != 0x80)
		return atv_err_set(err, ATV_E_PROTO, "rtp: not an RTP packet (%zu bytes)", len);
	cc = p[0] & 0x0f;
	off += 4 * cc;
	if (off > len)
		return atv_err_set(err, ATV_E_PROTO, "rtp: CSRCs past the end");
	if (p[0] & 0x10) {
		size_t ext;

		if (off + 4 > len)
			return atv_err_set(err, ATV_E_PROTO, "rtp: extension past the end");
		ext = 4 + 4 * (size_t)(p[off + 2] << 8 | p[off + 3]);
		if (ext > len - off)
			return atv_err_set(err, ATV_E_PROTO, "rtp: extension past the end");
		off += ext;
	}
	if (p[0] & 0x20) {
		size_t pad = p[len - 1];

		if (pad == 0 || pad > len - off)
			return atv_err_set(err, ATV_E_PROTO, "rtp: bad padding");
		len -= pad;
	}
	out->marker = (p[1] & 0x80) != 0;
	out->type = p[1] & 0x7f;
	out->seq = (uint16_t)(p[2] << 8 | p[3]);
	out->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	out->ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	out->payload = p + off;
	out->len = len - off;
	return 0;
}

/* ---- audio ---- */

struct bits {
	const uint8_t *p;
	size_t nbits, pos;
};

/* n (1..32) bits, most significant first; false past the end */
static bool bits_read(struct bits *b, unsigned n, uint32_t *v)
{
	uint32_t x = 0;

	if (n > b->nbits - b->pos || b->pos > b->nbits)
		return false;
	for (unsigned i = 0; i < n; i++, b->pos++)
		x = x << 1 | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
	*v = x;
	return true;
}

enum { ALAC_SCE = 0, ALAC_CPE = 1, ALAC_END = 7 };

/* One ALAC frame (Apple's ALACDecoder layout): elements of tag (3 bits),
 * instance (4), 12 unused bits, partial (1), shift (2), escape (1), the
 * 32-bit count when partial, then the samples; END closes the frame.  Only
 * escape (uncompressed) elements are decoded: they are all a sender that
 * does not compress sends. */
static int alac_decode(unsigned channels, unsigned bits, const uint8_t *p, size_t len,
		       int16_t *out, size_t max_frames, size_t *frames, struct atv_err *err)
{
	struct bits b = {p, len * 8, 0};
	unsigned got_ch = 0;
	size_t n = (size_t)-1;
	uint32_t tag, v;

	if (len > FAKE_RTP_MAX)
		return atv_err_set(err, ATV_E_PROTO, "alac: a frame of %zu bytes", len);
	for (;;) {
		uint32_t partial, shift, escape, ch;
		size_t count = max_frames;

		if (!bits_read(&b, 3, &tag))
			return atv_err_set(err, ATV_E_PROTO, "alac: no END element");
		if (tag == ALAC_END)
			break;
		if (tag != ALAC_SCE && tag != ALAC_CPE)
			return atv_err_set(err, ATV_E_PROTO, "alac: element %u not served", tag);
		ch = tag == ALAC_CPE ? 2 : 1;
		if (!bits_read(&b, 4, &v) || !bits_read(&b, 12, &v) || !bits_read(&b, 1, &partial) ||
		    !bits_read(&b, 2, &shift) || !bits_read(&b, 1, &escape))
			return atv_err_set(err, ATV_E_PROTO, "alac: an element header cut short");
		if (!escape)
			return atv_err_set(err, ATV_E_PROTO, "alac: a compressed frame (only "
							     "uncompressed ALAC is decoded)");
		if (partial) {
			if (!bits_read(&b, 32, &v))
				return atv_err_set(err, ATV_E_PROTO, "alac: no sample count");
			if (v > max_frames)
				return atv_err_set(err, ATV_E_PROTO,
						   "alac: %u samples, more than %zu", v,
						   max_frames);
			count = v;
		}
		if (got_ch + ch > channels)
			return atv_err_set(err, ATV_E_PROTO, "alac: more channels than %u",
					   channels);
		if (n != (size_t)-1 && count != n)
			return atv_err_set(err, ATV_E_PROTO, "alac: elements of unequal length");
		n = count;
		/* uncompressed: each frame holds every channel of the element */
		if (count * ch * bits > b.nbits - b.pos)
			return atv_err_set(err, ATV_E_PROTO, "alac: samples past the end");
		for (size_t i = 0; i < count; i++) {
			for (uint32_t c = 0; c < ch; c++) {
				bits_read(&b, bits, &v);
				out[i * channels + got_ch + c] = (int16_t)(uint16_t)v;
			}
		}
		got_ch += ch;
	}
	if (got_ch != channels)
		return atv_err_set(err, ATV_E_PROTO, "alac: %u channels, the SDP said %u", got_ch,
				   channels);
	*frames = n;
	return 0;
}

int fake_audio_decode(enum fake_codec codec, unsigned channels, unsigned bits,
		      const uint8_t *p, size_t len, int16_t *out, size_t max_frames,
		      size_t *frames, struct atv_err *err)
{
	size_t fsize = (size_t)channels * 2;

	*frames = 0;
	if (channels < 1 || channels > 2 || bits != 16)
		return atv_err_set(err, ATV_E_PROTO, "audio: %u channels of %u bits not served",
				   channels, bits);
	if (codec == FAKE_CODEC_ALAC)
		return alac_decode(channels, bits, p, len, out, max_frames, frames, err);
	if (codec != FAKE_CODEC_L16)
		return atv_err_set(err, ATV_E_PROTO, "audio: no codec");
	if (len % fsize)
		return atv_err_set(err, ATV_E_PROTO, "l16: %zu bytes, not whole frames", len);
	if (len / fsize > max_frames)
		return atv_err_set(err, ATV_E_PROTO, "l16: %zu frames, more than %zu",
				   len / fsize, max_frames);
	for (size_t i = 0; i < len / 2; i++)
		out[i] = (int16_t)(uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
	*frames = len / fsize;
	return 0;
}

/* ---- DMAP metadata ---- */

static int meta_string(const uint8_t *p, size_t n, char **out, struct atv_err *err)
{
	if (memchr(p, '\0', n))
		return atv_err_set(err, ATV_E_PROTO, "dmap: a NUL byte in a string");
	if (n > 255)
		n = 255;
	free(*out);
	*out = strndup((const char *)p, n);
	if (!*out)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	return 0;
}

int fake_dmap_meta_parse(const uint8_t *p, size_t len, char **title, char **artist, char **album,
			 struct atv_err *err)
{
	size_t off = 0, end;
	int r = 0;

	*title = *artist = *album = NULL;
	/* mlit, its length, then tagged items */
	if (len < 8 || memcmp(p, "mlit", 4) != 0)
		return atv_err_set(err, ATV_E_PROTO, "dmap: not an mlit container");
	end = (size_t)p[4] << 24 | (size_t)p[5] << 16 | (size_t)p[6] << 8 | p[7];
	if (end > len - 8)
		return atv_err_set(err, ATV_E_PROTO, "dmap: mlit of %zu bytes past the end", end);
	p += 8;
	while (off < end && r == 0) {
		size_t n;

		if (end - off < 8)
			return atv_err_set(err, ATV_E_PROTO, "dmap: an item header cut short");
		n = (size_t)p[off + 4] << 24 | (size_t)p[off + 5] << 16 |
		    (size_t)p[off + 6] << 8 | p[off + 7];
		if (n > end - off - 8)
			return atv_err_set(err, ATV_E_PROTO, "dmap: an item past its container");
		if (memcmp(p + off, "minm", 4) == 0)
			r = meta_string(p + off + 8, n, title, err);
		else if (memcmp(p + off, "asar", 4) == 0)
			r = meta_string(p + off + 8, n, artist, err);
		else if (memcmp(p + off, "asal", 4) == 0)
			r = meta_string(p + off + 8, n, album, err);
		off += 8 + n;
	}
	return r;
}

/* ---- Digest ---- */

bool fake_digest_param(const char *h, const char *key, char *out, size_t size)
{
	size_t k = strlen(key);

	for (const char *s = h; (s = strstr(s, key)); s += k) {
		const char *q, *e;

		/* a whole parameter name: at the start or after a space/comma */
		if (s != h && s[-1] != ' ' && s[-1] != ',')
			continue;
		q = s + k;
		if (q[0] != '=' || q[1] != '"')
			continue;
		q += 2;
		e = strchr(q, '"');
		if (!e || (size_t)(e - q) >= size)
			return false;
		memcpy(out, q, (size_t)(e - q));
		out[e - q] = '\0';
		return true;
	}
	return false;
}
