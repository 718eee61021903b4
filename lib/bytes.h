/* bytes.h - explicit byte order for wire integers.  Never cast a buffer
 * to an integer pointer: peers send unaligned big- and little-endian data. */
#ifndef ATV_BYTES_H
#define ATV_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t atv_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t atv_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An unsigned big-endian integer of n bytes (n <= 8). */
static inline uint64_t atv_get_ben(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t atv_get_be64(const uint8_t *p)
{
	return atv_get_ben(p, 8);
}

static inline uint16_t atv_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint64_t atv_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Value of one hex digit, or -1. */
static inline int atv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the n hex digits at s into out (at most max bytes): 0 and
 * *outlen, or -1 for an odd count, a non-hex digit or more than max bytes. */
static inline int atv_unhex(const char *s, size_t n, uint8_t *out, size_t max, size_t *outlen)
{
	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = atv_hexval(s[i]), lo = atv_hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

static inline void atv_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void atv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* v as an unsigned big-endian integer of n bytes (n <= 8). */
static inline void atv_put_ben(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> 8 * (n - 1 - i));
}

static inline void atv_put_be64(uint8_t *p, uint64_t v)
{
	atv_put_ben(p, v, 8);
}

static inline void atv_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void atv_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

#endif
