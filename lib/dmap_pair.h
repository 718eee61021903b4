/* dmap_pair.h - the transport-free parts of DMAP "Remote" pairing.
 *
 * In Remote pairing we play the iOS Remote app: we publish
 * _touch-remote._tcp with TXT Pair=<GUID as 16 hex digits>, the user types
 * the 4-digit PIN we show into the Apple TV, and the Apple TV calls our
 * GET /pair?pairingcode=<hex>&servicename=<name>.  The pairing code is the
 * MD5 of the 16 GUID digits exactly as published (we publish upper case)
 * followed by each PIN digit and a NUL byte (pyatv dmap/pairing.py, OwnTone
 * itunes_pairing_hash).  We answer a DMAP cmpa{cmpg, cmnm, cmty}, and from
 * then on log in with pairing-guid=0x<GUID>; "0x<GUID>" is also the stored
 * credential string (pyatv's format).
 *
 * GUIDs are always written with all 16 digits: pyatv drops leading zeros
 * and about one GUID in 16 then fails its own login check. */
#ifndef ATV_DMAP_PAIR_H
#define ATV_DMAP_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ATV_DMAP_GUID_HEXLEN  16 /* hex digits */
#define ATV_DMAP_GUID_STRLEN  19 /* "0x" + 16 digits + NUL */
#define ATV_DMAP_PAIRCODE_LEN 33 /* 32 hex digits + NUL */
#define ATV_DMAP_PIN_MAX      9999

/* 16 upper-case hex digits, zero-padded, NUL-terminated: the TXT Pair value
 * and what the pairing code hashes. */
void atv_dmap_guid_hex(uint64_t guid, char out[ATV_DMAP_GUID_HEXLEN + 1]);

/* "0x" + 16 upper-case hex digits: login's pairing-guid and the credential. */
void atv_dmap_guid_format(uint64_t guid, char out[ATV_DMAP_GUID_STRLEN]);

/* Read a GUID: an optional "0x"/"0X" then 1..16 hex digits of either case,
 * nothing else.  -ATV_E_INPUT otherwise. */
int atv_dmap_guid_parse(const char *s, uint64_t *guid, struct atv_err *err);

/* A random non-zero GUID. */
int atv_dmap_guid_random(uint64_t *guid, struct atv_err *err);

/* A uniformly random PIN 0..9999 (shown as 4 digits, zero-padded). */
int atv_dmap_pin_random(unsigned *pin, struct atv_err *err);

/* Read a PIN of 1..4 decimal digits ("123" is 0123, as pyatv pads it);
 * -ATV_E_INPUT otherwise. */
int atv_dmap_pin_parse(const char *s, unsigned *pin, struct atv_err *err);

/* The expected pairing code for guid and pin (<= 9999): 32 lower-case hex
 * digits, NUL-terminated. */
int atv_dmap_pair_code(uint64_t guid, unsigned pin, char out[ATV_DMAP_PAIRCODE_LEN],
		       struct atv_err *err);

/* Check the pairingcode the device sent: 0 when it matches (hex compared
 * case-insensitively, in constant time), -ATV_E_AUTH when it is a
 * well-formed wrong code (a wrong PIN), -ATV_E_PROTO when it is not 32 hex
 * digits. */
int atv_dmap_pair_check(uint64_t guid, unsigned pin, const char *code, struct atv_err *err);

/* Append the answer to a good /pair request: cmpa{cmpg guid (8 bytes),
 * cmnm name, cmty type}.  type NULL is "iPhone", as the Remote app says. */
int atv_dmap_pair_answer(struct atv_buf *out, uint64_t guid, const char *name, const char *type,
			 struct atv_err *err);

/* Read the GUID back from such an answer (the device's side, and tests):
 * -ATV_E_PROTO when p is not DMAP or has no cmpa/cmpg. */
int atv_dmap_pair_parse_answer(const uint8_t *p, size_t len, uint64_t *guid, struct atv_err *err);

#endif
