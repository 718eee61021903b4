/* dmap_pair.c - GUIDs, PINs, the pairing code and the cmpa answer of DMAP
 * Remote pairing. */
#include "config.h"

#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "dmap.h"
#include "dmap_pair.h"
#include "banned.h"

static const char hex_upper[] = "0123456789ABCDEF";

void atv_dmap_guid_hex(uint64_t guid, char out[ATV_DMAP_GUID_HEXLEN + 1])
{
	for (int i = ATV_DMAP_GUID_HEXLEN - 1; i >= 0; i--, guid >>= 4)
		out[i] = hex_upper[guid & 15];
	out[ATV_DMAP_GUID_HEXLEN] = '\0';
}

void atv_dmap_guid_format(uint64_t guid, char out[ATV_DMAP_GUID_STRLEN])
{
	out[0] = '0';
	out[1] = 'x';
	atv_dmap_guid_hex(guid, out + 2);
}

int atv_dmap_guid_parse(const char *s, uint64_t *guid, struct atv_err *err)
{
	const char *p = s;
	uint64_t v = 0;
	size_t n = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p; p++, n++) {
		int h = atv_hexval(*p);

		if (h < 0 || n == ATV_DMAP_GUID_HEXLEN)
			break;
		v = v << 4 | (uint64_t)h;
	}
	if (*p || n == 0)
		return atv_err_set(err, ATV_E_INPUT,
				   "a dmap pairing guid is 0x and 1 to 16 hex digits");
	*guid = v;
	return 0;
}

int atv_dmap_guid_random(uint64_t *guid, struct atv_err *err)
{
	uint8_t b[8];
	uint64_t v;
	int r;

	do {
		r = atv_random(b, sizeof b, err);
		if (r < 0)
			return r;
		v = 0;
		for (size_t i = 0; i < sizeof b; i++)
			v = v << 8 | b[i];
	} while (v == 0);
	*guid = v;
	return 0;
}

int atv_dmap_pin_random(unsigned *pin, struct atv_err *err)
{
	uint8_t b[2];
	unsigned v;
	int r;

	/* 60000 is the largest multiple of 10000 below 65536: rejecting the
	 * rest keeps every PIN equally likely */
	do {
		r = atv_random(b, sizeof b, err);
		if (r < 0)
			return r;
		v = (unsigned)b[0] << 8 | b[1];
	} while (v >= 60000);
	*pin = v % 10000;
	return 0;
}

int atv_dmap_pin_parse(const char *s, unsigned *pin, struct atv_err *err)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9' && n < 4; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (n == 0 || s[n])
		return atv_err_set(err, ATV_E_INPUT, "a dmap pin is 4 digits");
	*pin = v;
	return 0;
}

int atv_dmap_pair_code(uint64_t guid, unsigned pin, char out[ATV_DMAP_PAIRCODE_LEN],
		       struct atv_err *err)
{
	static const char hex_lower[] = "0123456789abcdef";
	/* 16 GUID digits, then each PIN digit followed by a NUL byte */
	uint8_t msg[ATV_DMAP_GUID_HEXLEN + 8];
	uint8_t md[ATV_MD5_LEN];
	char g[ATV_DMAP_GUID_HEXLEN + 1];
	int r;

	if (pin > ATV_DMAP_PIN_MAX)
		return atv_err_set(err, ATV_E_USAGE, "a dmap pin is 4 digits");
	atv_dmap_guid_hex(guid, g);
	memcpy(msg, g, ATV_DMAP_GUID_HEXLEN);
	for (int i = 3; i >= 0; i--, pin /= 10) {
		msg[ATV_DMAP_GUID_HEXLEN + 2 * i] = (uint8_t)('0' + pin % 10);
		msg[ATV_DMAP_GUID_HEXLEN + 2 * i + 1] = 0;
	}
	r = atv_crypto_md5(msg, sizeof msg, md, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ATV_MD5_LEN; i++) {
		out[2 * i] = hex_lower[md[i] >> 4];
		out[2 * i + 1] = hex_lower[md[i] & 15];
	}
	out[2 * ATV_MD5_LEN] = '\0';
	return 0;
}

int atv_dmap_pair_check(uint64_t guid, unsigned pin, const char *code, struct atv_err *err)
{
	char want[ATV_DMAP_PAIRCODE_LEN], got[ATV_DMAP_PAIRCODE_LEN];
	size_t n;
	int r;

	if (!code)
		return atv_err_set(err, ATV_E_PROTO, "pairing request without a pairing code");
	n = strnlen(code, ATV_DMAP_PAIRCODE_LEN);
	if (n != ATV_DMAP_PAIRCODE_LEN - 1)
		return atv_err_set(err, ATV_E_PROTO, "pairing code is not 32 hex digits");
	for (size_t i = 0; i < n; i++) {
		int h = atv_hexval(code[i]);

		if (h < 0)
			return atv_err_set(err, ATV_E_PROTO, "pairing code is not 32 hex digits");
		got[i] = "0123456789abcdef"[h];
	}
	got[n] = '\0';
	r = atv_dmap_pair_code(guid, pin, want, err);
	if (r < 0)
		return r;
	if (atv_crypto_memcmp(want, got, n) != 0)
		return atv_err_set(err, ATV_E_AUTH, "pairing code does not match the pin");
	return 0;
}

int atv_dmap_pair_answer(struct atv_buf *out, uint64_t guid, const char *name, const char *type,
			 struct atv_err *err)
{
	size_t start = out->len, mark;
	int r;

	r = atv_dmap_open(out, "cmpa", &mark, err);
	if (r == 0)
		r = atv_dmap_add_u64(out, "cmpg", guid, err);
	if (r == 0)
		r = atv_dmap_add_string(out, "cmnm", name, err);
	if (r == 0)
		r = atv_dmap_add_string(out, "cmty", type ? type : "iPhone", err);
	if (r == 0)
		r = atv_dmap_close(out, mark, err);
	if (r < 0)
		out->len = start; /* nothing half-written */
	return r;
}

int atv_dmap_pair_parse_answer(const uint8_t *p, size_t len, uint64_t *guid, struct atv_err *err)
{
	struct atv_dmap d;
	int r;

	r = atv_dmap_parse(&d, p, len, err);
	if (r == 0)
		r = atv_dmap_get_u64(atv_dmap_path(&d, "cmpa/cmpg"), guid, err);
	if (r < 0)
		atv_err_prefix(err, "pairing answer");
	atv_dmap_release(&d);
	return r;
}
