/* opack.h - Apple's OPACK serialization (Companion protocol), little-endian.
 *
 * A decoded message is a tree of struct atv_opack values owned by its root:
 * free the root with atv_opack_free().  Decoding takes (ptr, len), checks
 * every length against the input, caps the input size, the nesting depth,
 * the number of values and the bytes they hold, and resolves
 * back-references; encoding never emits back-references (itsytv and
 * node-appletv-remote do not either, and a device must decode plain values).
 *
 * Where the known implementations disagree, we do this (see the table in
 * the notes, tunnel-companion.md §2.2):
 * - back-reference table: every decoded value in order, key before value,
 *   except true/false/null, 0x08-0x2F small ints, arrays, dicts, empty
 *   strings, empty data and values already in the table (same type, same
 *   value).  Both encoders we know (pyatv's pack, itsytv) never index a
 *   one-byte encoding, so an empty string or empty data takes no index;
 *   pyatv's unpack alone indexes them.  Containers take no index (pyatv's
 *   pack indexes them but its own unpack does not).
 * - 0xA0-0xC0 index 0-32; 0xC1-0xC4 an index in 1/2/3/4 little-endian bytes
 *   (the low nibble is the byte count: pyatv's unpack, its protocol docs and
 *   test vectors; pyatv's pack and itsytv write 4/8 bytes for C3/C4, which
 *   only matters past 65535 distinct values in one message).
 * - 0x33 (8-byte int) is read as two's complement: a value >= 2^63 sent by
 *   pyatv as unsigned comes back with the same 64 bits in i (use
 *   atv_opack_get_u64 for ids like the 64-bit session id).  0x34 (16 bytes)
 *   is accepted when the value fits those 64 bits.  0x07 is -1.
 * - integers 0..39 encode as one byte, up to 2^32-1 as 0x30-0x32, anything
 *   else (and every negative number) as 0x33 with 8 bytes.  pyatv cannot
 *   decode 0x07 and packs -2..-8 as garbage: peers send floats instead.
 * - floats encode as 0x36 (float64); 0x35 (float32) decodes to a double.
 * - 0x06 (absolute time) is 8 bytes read and written as a little-endian
 *   float64, seconds since 2001-01-01 (pyatv only reads the bits as u64).
 * - strings: 0x40-0x60, 0x61-0x64 with a 1/2/3/4-byte length, 0x6F up to a
 *   NUL; data: 0x70-0x90, 0x91-0x94 with a 1/2/4/8-byte length (pyatv's code
 *   and tests; its docs say 3/4 for 0x93/0x94).  Strings are kept as sent
 *   (not checked as UTF-8) with a NUL added after them.
 * - arrays and dicts: 0xD0-0xDE / 0xE0-0xEE hold 0-14 items/pairs, 0xDF /
 *   0xEF run to a 0x03 terminator (written for 15 or more, as pyatv).
 *   Dict keys may be any value; order is kept; duplicate keys are kept as
 *   sent (lookups return the first). */
#ifndef ATV_OPACK_H
#define ATV_OPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ATV_OPACK_MAX_SIZE  (1024 * 1024) /* input bytes of one message */
#define ATV_OPACK_MAX_DEPTH 32		  /* nested arrays/dicts */
#define ATV_OPACK_MAX_ITEMS 16384	  /* values in one message */
#define ATV_OPACK_MAX_BYTES                                                                        \
	(4 * 1024 * 1024) /* string/data bytes decoded,                                            \
			   * references included */

enum atv_opack_type {
	ATV_OPACK_NULL = 1,
	ATV_OPACK_BOOL,
	ATV_OPACK_INT,
	ATV_OPACK_FLOAT,
	ATV_OPACK_STRING,
	ATV_OPACK_DATA,
	ATV_OPACK_UUID,
	ATV_OPACK_DATE,
	ATV_OPACK_ARRAY,
	ATV_OPACK_DICT
};

/* One value.  Read the members directly; build with the constructors
 * below.  A container owns its items; each item is a separate allocation,
 * so pointers to items stay valid while items are added. */
struct atv_opack {
	enum atv_opack_type type;
	union {
		bool b;		  /* BOOL */
		int64_t i;	  /* INT */
		double f;	  /* FLOAT; DATE: seconds since 2001-01-01 00:00 UTC */
		uint8_t uuid[16]; /* UUID, the 16 bytes as sent (big-endian RFC 4122) */
		struct {
			char *p;    /* STRING (NUL added) or DATA; never NULL */
			size_t len; /* bytes, without the NUL */
		} s;
		struct {
			/* ARRAY: n items in v[0..n); DICT: n pairs, key v[2k],
			 * value v[2k+1] */
			struct atv_opack **v;
			size_t n, cap;
		} c;
	} u;
};

/* ---- decoding and encoding ---- */

/* Decode exactly one value from p[0..len) into *out (NULL on failure; free
 * with atv_opack_free).  Bytes left after the value are an error.
 * -ATV_E_PROTO for a truncated or unknown encoding, a bad reference or
 * trailing bytes; -ATV_E_LIMIT past a cap above; -ATV_E_NOMEM. */
int atv_opack_decode(const uint8_t *p, size_t len, struct atv_opack **out, struct atv_err *err);

/* Like atv_opack_decode, but stop after the first value and store the
 * bytes it took in *used. */
int atv_opack_decode_prefix(const uint8_t *p, size_t len, struct atv_opack **out, size_t *used,
			    struct atv_err *err);

/* Append the encoding of v to out (nothing appended on failure).
 * -ATV_E_LIMIT past the buffer's max or ATV_OPACK_MAX_DEPTH, -ATV_E_NOMEM. */
int atv_opack_encode(const struct atv_opack *v, struct atv_buf *out, struct atv_err *err);

/* Free v and everything it holds (string and data bytes are wiped: they
 * may be secrets, as the pairing TLV8 in _pd).  NULL is fine. */
void atv_opack_free(struct atv_opack *v);

/* A deep copy of v, or NULL when out of memory. */
struct atv_opack *atv_opack_copy(const struct atv_opack *v);

/* Same type and value, recursively (floats and dates by their bits, dicts
 * pair by pair in order). */
bool atv_opack_equal(const struct atv_opack *a, const struct atv_opack *b);

/* Append a compact, JSON-like rendering of v to out for logs and the fake's
 * control socket: strings quoted with \" \\ \n and \uXXXX for control bytes,
 * data as <hex>, UUIDs as upper-case 8-4-4-4-12, dates as date(seconds),
 * non-string dict keys rendered the same way.  Data longer than 64 bytes
 * shows its first 64 and the length. */
int atv_opack_to_text(const struct atv_opack *v, struct atv_buf *out, struct atv_err *err);

/* ---- constructors: a new value, or NULL when out of memory ---- */

struct atv_opack *atv_opack_null(void);
struct atv_opack *atv_opack_bool(bool b);
struct atv_opack *atv_opack_int(int64_t i);
struct atv_opack *atv_opack_float(double f);
struct atv_opack *atv_opack_date(double seconds_since_2001);
struct atv_opack *atv_opack_uuid(const uint8_t uuid[16]);
struct atv_opack *atv_opack_str(const char *s); /* a copy of s */
struct atv_opack *atv_opack_strn(const char *s, size_t len);
struct atv_opack *atv_opack_data(const void *p, size_t len); /* p may be NULL if len is 0 */
struct atv_opack *atv_opack_array(void);
struct atv_opack *atv_opack_dict(void);

/* ---- building containers: these consume item/key/val (freed on failure,
 * also when arr/dict is not a container).  A NULL item/key/val (a
 * constructor that ran out of memory) gives -ATV_E_NOMEM, so calls nest:
 *   atv_opack_dict_set(d, "_i", atv_opack_str("_systemInfo"))
 * -ATV_E_USAGE when arr/dict has the wrong type. ---- */

int atv_opack_array_add(struct atv_opack *arr, struct atv_opack *item);
int atv_opack_dict_add(struct atv_opack *dict, struct atv_opack *key, struct atv_opack *val);
/* Set the string key: replaces the value of the first pair with that key,
 * else appends a pair. */
int atv_opack_dict_set(struct atv_opack *dict, const char *key, struct atv_opack *val);

/* ---- lookups: NULL/false when dict is NULL or not a dict, the key is
 * absent, or the value has another type ---- */

/* The value of the first pair whose key is the string key. */
const struct atv_opack *atv_opack_get(const struct atv_opack *dict, const char *key);
/* A STRING value's bytes (NUL-terminated; a string with an embedded NUL
 * is refused as NULL, so callers may use it as a C string). */
const char *atv_opack_get_str(const struct atv_opack *dict, const char *key);
/* A DATA value's bytes and length. */
const uint8_t *atv_opack_get_data(const struct atv_opack *dict, const char *key, size_t *len);
bool atv_opack_get_int(const struct atv_opack *dict, const char *key, int64_t *out);
/* An INT's 64 bits as unsigned (ids sent as u64 by pyatv). */
bool atv_opack_get_u64(const struct atv_opack *dict, const char *key, uint64_t *out);
/* An INT or FLOAT as a double (volumes, seconds: peers send either). */
bool atv_opack_get_number(const struct atv_opack *dict, const char *key, double *out);
bool atv_opack_get_bool(const struct atv_opack *dict, const char *key, bool *out);
const struct atv_opack *atv_opack_get_dict(const struct atv_opack *dict, const char *key);
const struct atv_opack *atv_opack_get_array(const struct atv_opack *dict, const char *key);

/* The same on a value itself: a STRING's C string (NULL for another type or
 * an embedded NUL). */
const char *atv_opack_str_value(const struct atv_opack *v);

/* A name for a type ("dict", "string", ...), for error messages. */
const char *atv_opack_type_name(enum atv_opack_type t);

#endif
