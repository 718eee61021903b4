/* dmap.h - DMAP tagged data (the bodies of DAAP/DACP replies and requests).
 *
 * An item is a 4-character tag, a 4-byte big-endian length and that many
 * value bytes; a container's value is a sequence of items.  The parser
 * builds a tree that owns a copy of the input: every length is checked
 * against the end of its container, nesting is capped at
 * ATV_DMAP_MAX_DEPTH containers, the number of items at ATV_DMAP_MAX_ITEMS
 * and the input at ATV_DMAP_MAX_SIZE bytes.  Only tags the table lists as
 * containers are descended into; every other item (an unknown tag too) is
 * kept as raw bytes, read through the typed getters.
 *
 * The writer appends items to a struct atv_buf (whose cap bounds it);
 * containers are opened and closed around their contents.
 *
 * Errors: malformed input is -ATV_E_PROTO ("malformed dmap data: ..."),
 * a bound exceeded is -ATV_E_LIMIT, allocation failure -ATV_E_NOMEM. */
#ifndef ATV_DMAP_H
#define ATV_DMAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ATV_DMAP_MAX_DEPTH 16		     /* containers nested inside each other */
#define ATV_DMAP_MAX_ITEMS 65536	     /* items in one body */
#define ATV_DMAP_MAX_SIZE  (8 * 1024 * 1024) /* bytes in one body */
#define ATV_DMAP_HDR_LEN   8		     /* tag + length */

/* How a tag's value is read (pyatv tag_definitions.py). */
enum atv_dmap_type {
	ATV_DMAP_UNKNOWN = 0, /* not in the table: raw bytes */
	ATV_DMAP_UINT,	      /* big-endian unsigned integer, 1..8 bytes */
	ATV_DMAP_BOOL,	      /* an integer, non-zero means true */
	ATV_DMAP_STRING,      /* UTF-8 text, no terminating NUL on the wire */
	ATV_DMAP_BYTES,	      /* opaque bytes */
	ATV_DMAP_BPLIST,      /* a binary property list */
	ATV_DMAP_CONTAINER,   /* a sequence of items */
	ATV_DMAP_IGNORE	      /* known, but its content is meaningless to us */
};

struct atv_dmap_tagdef {
	char tag[5];
	enum atv_dmap_type type;
	const char *name; /* "dmcp.playstatus"; "unknown tag" for listed tags of unknown use */
};

/* The table entry for a 4-byte tag (exact case), or NULL. */
const struct atv_dmap_tagdef *atv_dmap_lookup(const char *tag);

/* Every table entry, *n set to their number (sorted by tag bytes). */
const struct atv_dmap_tagdef *atv_dmap_tags(size_t *n);

/* A short name for a type: "uint", "bool", "string", "bytes", ... */
const char *atv_dmap_type_name(enum atv_dmap_type type);

struct atv_dmap_item {
	char tag[5];		 /* the 4 tag bytes, NUL-terminated (may hold any byte) */
	enum atv_dmap_type type; /* from the table; ATV_DMAP_UNKNOWN if not listed */
	const uint8_t *val;	 /* len value bytes, into the tree's copy of the input */
	size_t len;
	size_t offset;		     /* of the item's header in the parsed input */
	unsigned depth;		     /* 0 for top-level items */
	struct atv_dmap_item *child; /* first item inside a container, or NULL */
	struct atv_dmap_item *next;  /* next item in the same container, or NULL */
};

/* A parsed body.  Fill with atv_dmap_parse, free with atv_dmap_release. */
struct atv_dmap {
	struct atv_dmap_item *first; /* first top-level item, NULL when empty */
	struct atv_dmap_item *items; /* all items, in input order (owned) */
	size_t n;
	uint8_t *data; /* owned copy of the input */
	size_t size;
};

/* Parse p[0..len) into d (which need not be initialised; release it even
 * on failure).  An empty input is a valid empty tree. */
int atv_dmap_parse(struct atv_dmap *d, const uint8_t *p, size_t len, struct atv_err *err);

/* Free what d owns and empty it (safe to call twice). */
void atv_dmap_release(struct atv_dmap *d);

/* The first item called tag directly inside container (NULL: among the
 * top-level items of d), or NULL. */
const struct atv_dmap_item *atv_dmap_find(const struct atv_dmap *d,
					  const struct atv_dmap_item *container, const char *tag);

/* Follow a path of tags separated by '/' from the top level:
 * atv_dmap_path(d, "cmst/caps").  NULL when any step is missing. */
const struct atv_dmap_item *atv_dmap_path(const struct atv_dmap *d, const char *path);

/* Typed reads of one item.  Integers are big-endian of 1..8 bytes (DMAP
 * senders use 1, 2, 4 or 8); the narrower getters also refuse a value that
 * does not fit.  All return -ATV_E_PROTO for an item that cannot be read as
 * asked, and a NULL item is -ATV_E_PROTO "missing ..." too, so
 * atv_dmap_get_u32(atv_dmap_path(d, "mlog/mlid"), &id, err) needs no
 * separate check. */
int atv_dmap_get_u64(const struct atv_dmap_item *it, uint64_t *v, struct atv_err *err);
int atv_dmap_get_u32(const struct atv_dmap_item *it, uint32_t *v, struct atv_err *err);
int atv_dmap_get_u16(const struct atv_dmap_item *it, uint16_t *v, struct atv_err *err);
int atv_dmap_get_u8(const struct atv_dmap_item *it, uint8_t *v, struct atv_err *err);
int atv_dmap_get_bool(const struct atv_dmap_item *it, int *v, struct atv_err *err);

/* A string value: valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) without NUL bytes, else -ATV_E_PROTO.  _strn points
 * into the tree (not terminated); _string returns a NUL-terminated copy the
 * caller frees with free(). */
int atv_dmap_get_strn(const struct atv_dmap_item *it, const char **s, size_t *len,
		      struct atv_err *err);
int atv_dmap_get_string(const struct atv_dmap_item *it, char **s, struct atv_err *err);

/* 0 when p[0..len) is valid UTF-8 without NUL bytes, else -1. */
int atv_dmap_utf8_check(const uint8_t *p, size_t len);

/* Render d on one line for debug logs, e.g.
 * `mlog{mstt=200 mlid=1234}` or `cmst{caps=4 cann="Title" canp=<4:00000001>}`
 * (strings escaped, bytes as <len:hex…> with at most 16 shown).  Writes at
 * most size bytes including the NUL (size > 0), ending in "..." when cut.
 * Returns the length written. */
size_t atv_dmap_format(const struct atv_dmap *d, char *out, size_t size);

/* Writer.  tag must be 4 bytes long (else -ATV_E_USAGE); a failed call
 * leaves out unchanged.  Containers: atv_dmap_open appends the header with
 * a placeholder length and remembers where it is in *mark; atv_dmap_close
 * fills in the length of everything appended since. */
int atv_dmap_open(struct atv_buf *out, const char *tag, size_t *mark, struct atv_err *err);
int atv_dmap_close(struct atv_buf *out, size_t mark, struct atv_err *err);

int atv_dmap_add_bytes(struct atv_buf *out, const char *tag, const void *p, size_t len,
		       struct atv_err *err);
int atv_dmap_add_string(struct atv_buf *out, const char *tag, const char *s, struct atv_err *err);
int atv_dmap_add_u8(struct atv_buf *out, const char *tag, uint8_t v, struct atv_err *err);
int atv_dmap_add_u16(struct atv_buf *out, const char *tag, uint16_t v, struct atv_err *err);
int atv_dmap_add_u32(struct atv_buf *out, const char *tag, uint32_t v, struct atv_err *err);
int atv_dmap_add_u64(struct atv_buf *out, const char *tag, uint64_t v, struct atv_err *err);

#endif
