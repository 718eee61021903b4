/* airplay_info.h - what an _airplay._tcp service's TXT record says about it:
 * the 64-bit feature bits, status flags, AirPlay version, how to pair and
 * authenticate, and the device's pairing identity.
 *
 * The rules are pyatv's (pyatv/protocols/airplay/utils.py, auth/__init__.py,
 * pairing.py); airplay_info.c cites each one.  Pure parsing, no I/O. */
#ifndef ATV_AIRPLAY_INFO_H
#define ATV_AIRPLAY_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Feature bits (pyatv AirPlayFlags) that decide how we talk to a device. */
#define ATV_AP_FEAT_VIDEO_V1		 0  /* SupportsAirPlayVideoV1 */
#define ATV_AP_FEAT_UNIFIED_MEDIA_CONTROL 38 /* SupportsUnifiedMediaControl: AirPlay 2 */
#define ATV_AP_FEAT_SYSTEM_PAIRING	 43 /* SupportsSystemPairing */
#define ATV_AP_FEAT_HK_PAIRING		 46 /* SupportsHKPairingAndAccessControl */
#define ATV_AP_FEAT_COREUTILS_PAIRING	 48 /* SupportsCoreUtilsPairingAndEncryption */

/* Status flags (TXT "flags"/"sf"). */
#define ATV_AP_FLAG_PIN_REQUIRED   0x8
#define ATV_AP_FLAG_PASSWORD	   0x80
#define ATV_AP_FLAG_LEGACY_PAIRING 0x200

/* Same values and names as pyatv's PairingRequirement (pyatv never gives
 * OPTIONAL for AirPlay; it is here for completeness).  The tag is not
 * "atv_airplay_pairing": airplay.h names its pairing session that. */
enum atv_airplay_pairing_req {
	ATV_AP_PAIRING_NOT_NEEDED,
	ATV_AP_PAIRING_OPTIONAL,
	ATV_AP_PAIRING_MANDATORY,
	ATV_AP_PAIRING_DISABLED,
	ATV_AP_PAIRING_UNSUPPORTED
};

struct atv_airplay_info {
	bool has_features;
	uint64_t features; /* TXT "features" (else "ft") "0xLO[,0xHI]" → HI << 32 | LO */
	bool has_flags;
	uint32_t flags; /* TXT "sf" (else "flags"), hex */
	int version;	/* 2 when feature bit 38 or 48 is set, else 1 */
	bool hap;	/* pair-setup/verify is HAP (AirPlay 2), else legacy (AirPlay 1) */
	bool transient; /* without credentials, pair transiently (bit 43 or 48) */
	enum atv_airplay_pairing_req pairing;
	bool password;		/* TXT pw=true, or flags & 0x80 */
	const char *pairing_id; /* TXT "pi" or NULL (borrowed from the properties) */
	const char *public_key; /* TXT "pk" or NULL (borrowed from the properties) */
};

/* Fill out from properties (an object of TXT key -> string, keys matched
 * case-insensitively; NULL is an empty record).  Missing features or flags
 * leave has_features/has_flags false and count as 0.  A malformed value
 * (not hex, too many digits, anything after) is -ATV_E_INPUT naming the
 * key; out is then unusable.  The strings in out point into properties and
 * live as long as it does. */
int atv_airplay_info_parse(const json_t *properties, struct atv_airplay_info *out,
			   struct atv_err *err);

/* "not_needed", "optional", "mandatory", "disabled", "unsupported". */
const char *atv_airplay_pairing_name(enum atv_airplay_pairing_req p);

/* True when feature bit (0..63) is set; false for bits past 63. */
bool atv_airplay_has_feature(const struct atv_airplay_info *i, unsigned bit);

#endif
