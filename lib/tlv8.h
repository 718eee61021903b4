/* tlv8.h - HAP TLV8: one type byte, one length byte, that many value bytes.
 *
 * A value longer than 255 bytes is sent as consecutive items of the same
 * type, each full item 255 bytes; the decoder joins consecutive items of
 * one type back into one value (a different type, or the 0xFF separator,
 * in between ends a value).  Decoding checks every length against the
 * input and caps the input size and the number of (joined) items, so peer
 * data can never make it read out of bounds or allocate much. */
#ifndef ATV_TLV8_H
#define ATV_TLV8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Item types (HAP spec, pyatv hap_tlv8.py) */
enum atv_tlv8_type {
	ATV_TLV8_METHOD = 0x00,
	ATV_TLV8_IDENTIFIER = 0x01,
	ATV_TLV8_SALT = 0x02,
	ATV_TLV8_PUBLIC_KEY = 0x03,
	ATV_TLV8_PROOF = 0x04,
	ATV_TLV8_ENCRYPTED_DATA = 0x05,
	ATV_TLV8_STATE = 0x06, /* "SeqNo" in pyatv: the message number M1..M6 */
	ATV_TLV8_ERROR = 0x07,
	ATV_TLV8_BACKOFF = 0x08, /* seconds, little-endian */
	ATV_TLV8_CERTIFICATE = 0x09,
	ATV_TLV8_SIGNATURE = 0x0A,
	ATV_TLV8_PERMISSIONS = 0x0B,
	ATV_TLV8_FRAGMENT_DATA = 0x0C,
	ATV_TLV8_FRAGMENT_LAST = 0x0D,
	ATV_TLV8_NAME = 0x11,  /* Apple: OPACK {"name": ...} (Companion) */
	ATV_TLV8_FLAGS = 0x13, /* Apple: ATV_TLV8_FLAG_TRANSIENT */
	ATV_TLV8_SEPARATOR = 0xFF
};

/* Values of ATV_TLV8_METHOD */
enum atv_tlv8_method {
	ATV_TLV8_METHOD_PAIR_SETUP = 0,
	ATV_TLV8_METHOD_PAIR_SETUP_AUTH = 1,
	ATV_TLV8_METHOD_PAIR_VERIFY = 2,
	ATV_TLV8_METHOD_ADD_PAIRING = 3,
	ATV_TLV8_METHOD_REMOVE_PAIRING = 4,
	ATV_TLV8_METHOD_LIST_PAIRINGS = 5
};

/* Values of ATV_TLV8_ERROR */
enum atv_tlv8_error {
	ATV_TLV8_ERR_UNKNOWN = 1,
	ATV_TLV8_ERR_AUTHENTICATION = 2,
	ATV_TLV8_ERR_BACKOFF = 3,
	ATV_TLV8_ERR_MAX_PEERS = 4,
	ATV_TLV8_ERR_MAX_TRIES = 5,
	ATV_TLV8_ERR_UNAVAILABLE = 6,
	ATV_TLV8_ERR_BUSY = 7
};

#define ATV_TLV8_FLAG_TRANSIENT 0x10

#define ATV_TLV8_MAX_ITEMS 32	      /* joined items in one message */
#define ATV_TLV8_MAX_SIZE (64 * 1024) /* encoded bytes in one message */

struct atv_tlv8_item {
	uint8_t type;
	size_t len;
	const uint8_t *val; /* into the owning struct atv_tlv8's data */
};

/* A decoded message: items in the order they came, joined values.  Fill
 * with atv_tlv8_parse, free with atv_tlv8_release. */
struct atv_tlv8 {
	size_t n;
	struct atv_tlv8_item item[ATV_TLV8_MAX_ITEMS];
	uint8_t *data; /* owned copy of all values (wiped on release) */
	size_t size;   /* bytes allocated at data */
};

/* Append one item to out, split into 255-byte pieces when longer (an empty
 * value is one item of length 0).  val may be NULL when len is 0. */
int atv_tlv8_add(struct atv_buf *out, uint8_t type, const void *val, size_t len,
		 struct atv_err *err);

/* Append a one-byte item (State, Method, Error, Flags). */
int atv_tlv8_add_u8(struct atv_buf *out, uint8_t type, uint8_t v, struct atv_err *err);

/* Decode p[0..len) into t (which need not be initialised; release it even
 * on failure).  -ATV_E_PROTO for a truncated item or a length past the end,
 * -ATV_E_LIMIT for more than ATV_TLV8_MAX_SIZE bytes or more than
 * ATV_TLV8_MAX_ITEMS items, -ATV_E_NOMEM. */
int atv_tlv8_parse(struct atv_tlv8 *t, const uint8_t *p, size_t len, struct atv_err *err);

/* The first item of type, or NULL. */
const struct atv_tlv8_item *atv_tlv8_find(const struct atv_tlv8 *t, uint8_t type);

/* An item's value as a little-endian unsigned integer of 1..8 bytes (HAP
 * integers); -ATV_E_PROTO for an empty or longer value. */
int atv_tlv8_uint(const struct atv_tlv8_item *it, uint64_t *v, struct atv_err *err);

/* Free what t owns (wiped first: values may be secrets) and empty it. */
void atv_tlv8_release(struct atv_tlv8 *t);

/* A name for an ATV_TLV8_ERR_* code ("backoff", "max peers", ...). */
const char *atv_tlv8_error_name(uint64_t code);

#endif
