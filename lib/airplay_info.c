/* airplay_info.c - facts from an _airplay._tcp TXT record.
 *
 * The rules, as pyatv applies them (file names under pyatv/protocols/airplay/):
 *
 * - utils.py parse_features: "features" is "0x" + 1-8 hex digits, optionally
 *   followed by ",0x" + 1-8 hex digits; the second word is the upper half,
 *   so "0xLO,0xHI" is HI << 32 | LO.  Anything else is an invalid feature
 *   string.  auth/__init__.py reads "features", else "ft" (the RAOP name).
 * - utils.py _get_flags: status flags are "sf" (RAOP) or else "flags"
 *   (AirPlay), a hex number, 0 when absent.
 * - utils.py get_protocol_version: AirPlay 2 when feature bit 38
 *   (SupportsUnifiedMediaControl) or bit 48
 *   (SupportsCoreUtilsPairingAndEncryption) is set, else AirPlay 1.
 * - pairing.py AirPlayPairingHandler.begin: pair-setup is HAP on AirPlay 2
 *   and the legacy (SRP/bplist /pair-setup-pin) procedure on AirPlay 1.
 *   (Older pyatv, get_preferred_auth_type: HAP only with bit 48.)
 * - auth/__init__.py extract_credentials: stored credentials win; without
 *   any, a device with feature bit 43 (SupportsSystemPairing) or bit 48
 *   gets the transient credentials (HAP pair-setup with Flags 0x10 and the
 *   fixed PIN 3939), every other device none at all.
 * - utils.py update_service_details: pairing is Disabled when "acl" is
 *   exactly "1" (access control: e.g. only devices of the same home);
 *   else Unsupported for a model matching ^Mac\d+,\d+$; else
 *   get_pairing_requirement: Mandatory when flags & (0x200 legacy pairing
 *   | 0x8 PIN required), Unsupported when "act" (access control type) is
 *   "2" ("current user"), otherwise NotNeeded (optimistically).
 * - utils.py is_password_required: "pw" is "true" (any case) or flags has
 *   0x80.  We also take "pw=1".
 * - TXT keys are matched case-insensitively (pyatv's mdns properties are
 *   a case-insensitive dict). */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "airplay_info.h"
#include "bytes.h"
#include "banned.h"

/* The string value of key (case-insensitive), or NULL, and the key as the
 * record spells it in *found (when not NULL).  A non-string value sets
 * *bad. */
static const char *txt_key(const json_t *props, const char *key, bool *bad, const char **found)
{
	const char *k;
	json_t *v;

	if (!json_is_object(props))
		return NULL;
	json_object_foreach((json_t *)props, k, v)
	{
		if (strcasecmp(k, key) == 0) {
			if (found)
				*found = k;
			if (!json_is_string(v)) {
				*bad = true;
				return NULL;
			}
			return json_string_value(v);
		}
	}
	return NULL;
}

/* The same without the spelling. */
static const char *txt(const json_t *props, const char *key, bool *bad)
{
	return txt_key(props, key, bad, NULL);
}

/* The first of two keys with a non-empty value (pyatv's `a or b`). */
static const char *txt2(const json_t *props, const char *a, const char *b, const char **key,
			bool *bad)
{
	const char *v;

	*key = a;
	v = txt_key(props, a, bad, key);
	if ((v && *v) || *bad)
		return v && *v ? v : NULL;
	*key = b;
	v = txt_key(props, b, bad, key);
	return v && *v ? v : NULL;
}

/* The hex digits at *p into *out, leaving *p after them: at least one, at
 * most max of them unless leading zeros are allowed, and the value must fit
 * 32 bits either way.  -1 otherwise. */
static int hex_word(const char **p, unsigned max, bool allow_leading_zeros, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n = 0;
	int d;

	while ((d = atv_hexval(*s)) >= 0) {
		v = v << 4 | (unsigned)d;
		if (v > UINT32_MAX)
			return -1;
		n++;
		s++;
	}
	if (n == 0 || (!allow_leading_zeros && n > max))
		return -1;
	*out = (uint32_t)v;
	*p = s;
	return 0;
}

static bool hex_prefix(const char **p)
{
	if ((*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X')) {
		*p += 2;
		return true;
	}
	return false;
}

/* "0xLO" or "0xLO,0xHI", 1-8 digits each (pyatv's parse_features). */
static int parse_features(const char *s, uint64_t *out)
{
	uint32_t lo, hi = 0;

	if (!hex_prefix(&s) || hex_word(&s, 8, false, &lo) < 0)
		return -1;
	if (*s == ',') {
		s++;
		if (!hex_prefix(&s) || hex_word(&s, 8, false, &hi) < 0)
			return -1;
	}
	if (*s)
		return -1;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A hex number with an optional 0x, as Python's int(s, 16) takes it
 * (without its signs, blanks and underscores), that fits 32 bits. */
static int parse_flags(const char *s, uint32_t *out)
{
	hex_prefix(&s);
	if (hex_word(&s, 8, true, out) < 0 || *s)
		return -1;
	return 0;
}

/* ^Mac\d+,\d+$ */
static bool is_mac_model(const char *m)
{
	size_t n;

	if (!m || strncmp(m, "Mac", 3) != 0)
		return false;
	m += 3;
	for (n = 0; isdigit((unsigned char)*m); m++)
		n++;
	if (n == 0 || *m++ != ',')
		return false;
	for (n = 0; isdigit((unsigned char)*m); m++)
		n++;
	return n > 0 && *m == '\0';
}

int atv_airplay_info_parse(const json_t *properties, struct atv_airplay_info *out,
			   struct atv_err *err)
{
	const char *v, *key;
	bool bad = false;

	memset(out, 0, sizeof *out);
	if (properties && !json_is_object(properties))
		return atv_err_set(err, ATV_E_INPUT, "airplay properties must be an object");

	v = txt2(properties, "features", "ft", &key, &bad);
	if (bad)
		return atv_err_set(err, ATV_E_INPUT, "airplay \"%s\" must be a string", key);
	if (v) {
		if (parse_features(v, &out->features) < 0)
			return atv_err_set(err, ATV_E_INPUT,
					   "airplay \"%s\" is not 0xLO[,0xHI] (1-8 hex digits each)",
					   key);
		out->has_features = true;
	}
	v = txt2(properties, "sf", "flags", &key, &bad);
	if (bad)
		return atv_err_set(err, ATV_E_INPUT, "airplay \"%s\" must be a string", key);
	if (v) {
		if (parse_flags(v, &out->flags) < 0)
			return atv_err_set(err, ATV_E_INPUT,
					   "airplay \"%s\" is not a 32-bit hex number", key);
		out->has_flags = true;
	}

	if (atv_airplay_has_feature(out, ATV_AP_FEAT_UNIFIED_MEDIA_CONTROL) ||
	    atv_airplay_has_feature(out, ATV_AP_FEAT_COREUTILS_PAIRING))
		out->version = 2;
	else
		out->version = 1;
	out->hap = out->version == 2;
	out->transient = atv_airplay_has_feature(out, ATV_AP_FEAT_SYSTEM_PAIRING) ||
			 atv_airplay_has_feature(out, ATV_AP_FEAT_COREUTILS_PAIRING);

	v = txt(properties, "acl", &bad);
	if (v && strcmp(v, "1") == 0)
		out->pairing = ATV_AP_PAIRING_DISABLED;
	else if (is_mac_model(txt(properties, "model", &bad)))
		out->pairing = ATV_AP_PAIRING_UNSUPPORTED;
	else if (out->flags & (ATV_AP_FLAG_LEGACY_PAIRING | ATV_AP_FLAG_PIN_REQUIRED))
		out->pairing = ATV_AP_PAIRING_MANDATORY;
	else if ((v = txt(properties, "act", &bad)) && strcmp(v, "2") == 0)
		out->pairing = ATV_AP_PAIRING_UNSUPPORTED;
	else
		out->pairing = ATV_AP_PAIRING_NOT_NEEDED;

	v = txt(properties, "pw", &bad);
	out->password = (v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)) ||
			(out->flags & ATV_AP_FLAG_PASSWORD);

	/* a non-string where a string is optional just counts as absent */
	out->pairing_id = txt(properties, "pi", &bad);
	out->public_key = txt(properties, "pk", &bad);
	return 0;
}

const char *atv_airplay_pairing_name(enum atv_airplay_pairing_req p)
{
	switch (p) {
	case ATV_AP_PAIRING_NOT_NEEDED: return "not_needed";
	case ATV_AP_PAIRING_OPTIONAL: return "optional";
	case ATV_AP_PAIRING_MANDATORY: return "mandatory";
	case ATV_AP_PAIRING_DISABLED: return "disabled";
	case ATV_AP_PAIRING_UNSUPPORTED: return "unsupported";
	}
	return "unknown";
}

bool atv_airplay_has_feature(const struct atv_airplay_info *i, unsigned bit)
{
	return bit < 64 && (i->features >> bit & 1);
}
