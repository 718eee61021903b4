/* dmap.c - DMAP tag table, a bounded tree parser, typed getters, a debug
 * formatter and a writer. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dmap.h"
#include "banned.h"

#define UNKNOWN_USE "unknown tag"

/* The tags pyatv knows (tag_definitions.py), sorted by their bytes so that
 * lookups can bisect.  Some are tags seen from devices whose meaning nobody
 * has worked out (UNKNOWN_USE); their types are what they look like.  cmgt
 * and cmvo are not in pyatv's table: they are the DACP answer to
 * getproperty?properties=dmcp.volume, cmgt{mstt=200 cmvo=N}, cmvo the
 * volume 0..100 as a 4-byte integer. */
static const struct atv_dmap_tagdef tags[] = {
    {"aeFP", ATV_DMAP_UINT, "com.apple.itunes.req-fplay"},
    {"aeFR", ATV_DMAP_UINT, UNKNOWN_USE},
    {"aeGs", ATV_DMAP_BOOL, "com.apple.itunes.can-be-genius-seed"},
    {"aeSV", ATV_DMAP_UINT, "com.apple.itunes.music-sharing-version"},
    {"aeSX", ATV_DMAP_UINT, UNKNOWN_USE},
    {"aead", ATV_DMAP_BYTES, UNKNOWN_USE},
    {"aels", ATV_DMAP_UINT, "com.apple.itunes.liked-state"},
    {"apro", ATV_DMAP_UINT, "daap.protocolversion"},
    {"asai", ATV_DMAP_UINT, "daap.songalbumid"},
    {"asal", ATV_DMAP_STRING, "daap.songalbum"},
    {"asar", ATV_DMAP_STRING, "daap.songartist"},
    {"asgr", ATV_DMAP_UINT, "com.apple.itunes.gapless-resy"},
    {"asse", ATV_DMAP_UINT, UNKNOWN_USE},
    {"astm", ATV_DMAP_UINT, "daap.songtime"},
    {"atCV", ATV_DMAP_UINT, UNKNOWN_USE},
    {"atSV", ATV_DMAP_UINT, UNKNOWN_USE},
    {"ated", ATV_DMAP_BOOL, "daap.supportsextradata"},
    {"caar", ATV_DMAP_UINT, "dacp.albumrepeat"},
    {"caas", ATV_DMAP_UINT, "dacp.albumshuffle"},
    {"caci", ATV_DMAP_CONTAINER, "dacp.controlint"},
    {"cafe", ATV_DMAP_BOOL, "dacp.fullscreenenabled"},
    {"cafs", ATV_DMAP_UINT, "dacp.fullscreen"},
    {"caks", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cana", ATV_DMAP_STRING, "daap.nowplayingartist"},
    {"cang", ATV_DMAP_STRING, "dacp.nowplayinggenre"},
    {"canl", ATV_DMAP_STRING, "daap.nowplayingalbum"},
    {"cann", ATV_DMAP_STRING, "daap.nowplayingtrack"},
    {"canp", ATV_DMAP_BYTES, "daap.nowplayingid"},
    {"cant", ATV_DMAP_UINT, "dacp.remainingtime"},
    {"caov", ATV_DMAP_UINT, UNKNOWN_USE},
    {"capl", ATV_DMAP_BYTES, UNKNOWN_USE},
    {"capr", ATV_DMAP_UINT, "dacp.protocolversion"},
    {"caps", ATV_DMAP_UINT, "dacp.playstatus"},
    {"carp", ATV_DMAP_UINT, "dacp.repeatstate"},
    {"casc", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cash", ATV_DMAP_UINT, "dacp.shufflestate"},
    {"cass", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cast", ATV_DMAP_UINT, "dacp.tracklength"},
    {"casu", ATV_DMAP_UINT, "dacp.su"},
    {"cavc", ATV_DMAP_BOOL, "dacp.volumecontrollable"},
    {"cave", ATV_DMAP_BOOL, "dacp.dacpvisualizerenabled"},
    {"cavs", ATV_DMAP_UINT, "dacp.visualizer"},
    {"ceGS", ATV_DMAP_STRING, "com.apple.itunes.genius-selectable"},
    {"ceMQ", ATV_DMAP_BOOL, UNKNOWN_USE},
    {"ceNQ", ATV_DMAP_UINT, UNKNOWN_USE},
    {"ceNR", ATV_DMAP_BYTES, UNKNOWN_USE},
    {"ceQA", ATV_DMAP_UINT, UNKNOWN_USE},
    {"ceQR", ATV_DMAP_CONTAINER, "com.apple.itunes.playqueue-contents-response"},
    {"ceQU", ATV_DMAP_BOOL, UNKNOWN_USE},
    {"ceQu", ATV_DMAP_BOOL, UNKNOWN_USE},
    {"ceSD", ATV_DMAP_BPLIST, "playing metadata"},
    {"cmbe", ATV_DMAP_STRING, UNKNOWN_USE},
    {"cmcc", ATV_DMAP_STRING, UNKNOWN_USE},
    {"cmce", ATV_DMAP_STRING, UNKNOWN_USE},
    {"cmcp", ATV_DMAP_CONTAINER, "dmcp.controlprompt"},
    {"cmcv", ATV_DMAP_IGNORE, UNKNOWN_USE},
    {"cmgt", ATV_DMAP_CONTAINER, "dmcp.getpropertyresponse"},
    {"cmik", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cmmk", ATV_DMAP_UINT, "dmcp.mediakind"},
    {"cmnm", ATV_DMAP_STRING, "dacp.devicename"},
    {"cmpa", ATV_DMAP_CONTAINER, "dacp.pairinganswer"},
    {"cmpg", ATV_DMAP_UINT, "dacp.pairingguid"},
    {"cmpr", ATV_DMAP_UINT, "dmcp.protocolversion"},
    {"cmsb", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cmsc", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cmsp", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cmsr", ATV_DMAP_UINT, "dmcp.serverrevision"},
    {"cmst", ATV_DMAP_CONTAINER, "dmcp.playstatus"},
    {"cmsv", ATV_DMAP_UINT, UNKNOWN_USE},
    {"cmte", ATV_DMAP_STRING, UNKNOWN_USE},
    {"cmty", ATV_DMAP_STRING, "dacp.devicetype"},
    {"cmvo", ATV_DMAP_UINT, "dmcp.volume"},
    {"mdcl", ATV_DMAP_CONTAINER, "dmap.dictionary"},
    {"miid", ATV_DMAP_UINT, "dmap.itemid"},
    {"minm", ATV_DMAP_STRING, "dmap.itemname"},
    {"mlcl", ATV_DMAP_CONTAINER, "dmap.listing"},
    {"mlid", ATV_DMAP_UINT, "dmap.sessionid"},
    {"mlit", ATV_DMAP_CONTAINER, "dmap.listingitem"},
    {"mlog", ATV_DMAP_CONTAINER, "dmap.loginresponse"},
    {"mpro", ATV_DMAP_UINT, "dmap.protocolversion"},
    {"mrco", ATV_DMAP_UINT, "dmap.returnedcount"},
    {"msal", ATV_DMAP_BOOL, "dmap.supportsautologout"},
    {"msbr", ATV_DMAP_BOOL, "dmap.supportsbrowse"},
    {"mscu", ATV_DMAP_UINT, UNKNOWN_USE},
    {"msdc", ATV_DMAP_UINT, "dmap.databasescount"},
    {"msed", ATV_DMAP_BOOL, "dmap.supportsedit"},
    {"msex", ATV_DMAP_BOOL, "dmap.supportsextensions"},
    {"msix", ATV_DMAP_BOOL, "dmap.supportsindex"},
    {"mslr", ATV_DMAP_BOOL, "dmap.loginrequired"},
    {"mspi", ATV_DMAP_BOOL, "dmap.supportspersistentids"},
    {"msqy", ATV_DMAP_BOOL, "dmap.supportsquery"},
    {"msrv", ATV_DMAP_CONTAINER, "dmap.serverinforesponse"},
    {"mstc", ATV_DMAP_UINT, "dmap.utctime"},
    {"mstm", ATV_DMAP_UINT, "dmap.timeoutinterval"},
    {"msto", ATV_DMAP_UINT, "dmap.utcoffset"},
    {"mstt", ATV_DMAP_UINT, "dmap.status"},
    {"msup", ATV_DMAP_BOOL, "dmap.supportsupdate"},
    {"mtco", ATV_DMAP_UINT, "dmap.containercount"},
};

#define NTAGS (sizeof tags / sizeof tags[0])

const struct atv_dmap_tagdef *atv_dmap_tags(size_t *n)
{
	*n = NTAGS;
	return tags;
}

const struct atv_dmap_tagdef *atv_dmap_lookup(const char *tag)
{
	size_t lo = 0, hi = NTAGS;

	if (!tag || strnlen(tag, 5) != 4)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(tag, tags[mid].tag, 4);

		if (c == 0)
			return &tags[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *atv_dmap_type_name(enum atv_dmap_type type)
{
	static const char *const names[] = {
	    [ATV_DMAP_UNKNOWN] = "unknown",	[ATV_DMAP_UINT] = "uint",
	    [ATV_DMAP_BOOL] = "bool",		[ATV_DMAP_STRING] = "string",
	    [ATV_DMAP_BYTES] = "bytes",		[ATV_DMAP_BPLIST] = "bplist",
	    [ATV_DMAP_CONTAINER] = "container", [ATV_DMAP_IGNORE] = "ignore",
	};

	if ((size_t)type < sizeof names / sizeof names[0] && names[type])
		return names[type];
	return "unknown";
}

/* A tag from the wire as printable text for messages: peers may send any
 * four bytes. */
static const char *tag_text(const char *tag, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)tag[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[n++] = (char)c;
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return out;
}

struct parser {
	struct atv_dmap *d;
	size_t max_items; /* items allocated */
	struct atv_err *err;
};

/* Parse the items in data[start..end) at nesting depth, linking them from
 * *first.  Recursion is bounded by ATV_DMAP_MAX_DEPTH. */
static int parse_seq(struct parser *ps, size_t start, size_t end, unsigned depth,
		     struct atv_dmap_item **first)
{
	struct atv_dmap *d = ps->d;
	struct atv_dmap_item *prev = NULL;
	size_t pos = start;

	while (pos < end) {
		const struct atv_dmap_tagdef *def;
		struct atv_dmap_item *it;
		char tt[17];
		uint32_t len;

		if (end - pos < ATV_DMAP_HDR_LEN)
			return atv_err_set(ps->err, ATV_E_PROTO,
					   "malformed dmap data: truncated item header at byte %zu "
					   "(%zu bytes left in its container)",
					   pos, end - pos);
		len = atv_get_be32(d->data + pos + 4);
		if (len > end - pos - ATV_DMAP_HDR_LEN)
			return atv_err_set(ps->err, ATV_E_PROTO,
					   "malformed dmap data: '%s' at byte %zu claims %u bytes, "
					   "its container has %zu left",
					   tag_text((const char *)d->data + pos, tt), pos, len,
					   end - pos - ATV_DMAP_HDR_LEN);
		if (d->n == ps->max_items)
			return atv_err_set(ps->err, ATV_E_LIMIT,
					   "dmap data has more than %zu items", ps->max_items);
		it = &d->items[d->n++];
		memcpy(it->tag, d->data + pos, 4);
		it->tag[4] = '\0';
		def = atv_dmap_lookup(it->tag);
		it->type = def ? def->type : ATV_DMAP_UNKNOWN;
		it->val = d->data + pos + ATV_DMAP_HDR_LEN;
		it->len = len;
		it->offset = pos;
		it->depth = depth;
		it->child = NULL;
		it->next = NULL;
		if (prev)
			prev->next = it;
		else
			*first = it;
		prev = it;
		if (it->type == ATV_DMAP_CONTAINER) {
			int r;

			/* this container is the (depth + 1)th one on the path */
			if (depth >= ATV_DMAP_MAX_DEPTH)
				return atv_err_set(ps->err, ATV_E_LIMIT,
						   "dmap data nests containers deeper than %d",
						   ATV_DMAP_MAX_DEPTH);
			r = parse_seq(ps, pos + ATV_DMAP_HDR_LEN, pos + ATV_DMAP_HDR_LEN + len,
				      depth + 1, &it->child);
			if (r < 0)
				return r;
		}
		pos += ATV_DMAP_HDR_LEN + (size_t)len;
	}
	return 0;
}

int atv_dmap_parse(struct atv_dmap *d, const uint8_t *p, size_t len, struct atv_err *err)
{
	struct parser ps = {d, 0, err};
	int r;

	memset(d, 0, sizeof *d);
	if (len > ATV_DMAP_MAX_SIZE)
		return atv_err_set(err, ATV_E_LIMIT, "dmap data of %zu bytes is too large", len);
	/* every item takes at least a header, so the input bounds the count */
	ps.max_items = len / ATV_DMAP_HDR_LEN;
	if (ps.max_items > ATV_DMAP_MAX_ITEMS)
		ps.max_items = ATV_DMAP_MAX_ITEMS;
	d->data = malloc(len ? len : 1);
	d->items = calloc(ps.max_items ? ps.max_items : 1, sizeof *d->items);
	if (!d->data || !d->items) {
		atv_dmap_release(d);
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	}
	if (len)
		memcpy(d->data, p, len);
	d->size = len;
	r = parse_seq(&ps, 0, len, 0, &d->first);
	if (r < 0) {
		/* no half-built tree: callers may release or not */
		d->first = NULL;
		d->n = 0;
	}
	return r;
}

void atv_dmap_release(struct atv_dmap *d)
{
	free(d->items);
	free(d->data);
	memset(d, 0, sizeof *d);
}

const struct atv_dmap_item *atv_dmap_find(const struct atv_dmap *d,
					  const struct atv_dmap_item *container, const char *tag)
{
	const struct atv_dmap_item *it;

	if (!tag || strnlen(tag, 5) != 4)
		return NULL;
	it = container ? container->child : d->first;
	for (; it; it = it->next)
		if (memcmp(it->tag, tag, 4) == 0)
			return it;
	return NULL;
}

const struct atv_dmap_item *atv_dmap_path(const struct atv_dmap *d, const char *path)
{
	const struct atv_dmap_item *it = NULL;
	const char *s = path;

	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		char tag[5];

		if (n != 4)
			return NULL;
		memcpy(tag, s, 4);
		tag[4] = '\0';
		it = atv_dmap_find(d, it, tag);
		if (!it || !slash)
			return it;
		s = slash + 1;
	}
}

static int missing(struct atv_err *err)
{
	return atv_err_set(err, ATV_E_PROTO, "malformed dmap data: missing item");
}

int atv_dmap_get_u64(const struct atv_dmap_item *it, uint64_t *v, struct atv_err *err)
{
	if (!it)
		return missing(err);
	if (it->len < 1 || it->len > 8) {
		char tt[17];

		return atv_err_set(err, ATV_E_PROTO,
				   "malformed dmap data: integer '%s' has %zu bytes",
				   tag_text(it->tag, tt), it->len);
	}
	*v = 0;
	for (size_t i = 0; i < it->len; i++)
		*v = *v << 8 | it->val[i];
	return 0;
}

static int get_bounded(const struct atv_dmap_item *it, uint64_t max, uint64_t *v,
		       struct atv_err *err)
{
	int r = atv_dmap_get_u64(it, v, err);

	if (r == 0 && *v > max) {
		char tt[17];

		return atv_err_set(err, ATV_E_PROTO,
				   "malformed dmap data: '%s' value %llu is out of range",
				   tag_text(it->tag, tt), (unsigned long long)*v);
	}
	return r;
}

int atv_dmap_get_u32(const struct atv_dmap_item *it, uint32_t *v, struct atv_err *err)
{
	uint64_t x;
	int r = get_bounded(it, UINT32_MAX, &x, err);

	if (r == 0)
		*v = (uint32_t)x;
	return r;
}

int atv_dmap_get_u16(const struct atv_dmap_item *it, uint16_t *v, struct atv_err *err)
{
	uint64_t x;
	int r = get_bounded(it, UINT16_MAX, &x, err);

	if (r == 0)
		*v = (uint16_t)x;
	return r;
}

int atv_dmap_get_u8(const struct atv_dmap_item *it, uint8_t *v, struct atv_err *err)
{
	uint64_t x;
	int r = get_bounded(it, UINT8_MAX, &x, err);

	if (r == 0)
		*v = (uint8_t)x;
	return r;
}

int atv_dmap_get_bool(const struct atv_dmap_item *it, int *v, struct atv_err *err)
{
	uint64_t x;
	int r = atv_dmap_get_u64(it, &x, err);

	if (r == 0)
		*v = x != 0;
	return r;
}

int atv_dmap_utf8_check(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		size_t n;
		uint32_t cp, min;

		if (c == 0)
			return -1;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return -1; /* a continuation byte first, or 0xF8..0xFF */
		}
		if (len - i - 1 < n)
			return -1;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		/* overlong forms, UTF-16 surrogates and values past Unicode */
		if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return -1;
		i += n + 1;
	}
	return 0;
}

int atv_dmap_get_strn(const struct atv_dmap_item *it, const char **s, size_t *len,
		      struct atv_err *err)
{
	if (!it)
		return missing(err);
	if (atv_dmap_utf8_check(it->val, it->len) < 0) {
		char tt[17];

		return atv_err_set(err, ATV_E_PROTO,
				   "malformed dmap data: string '%s' is not valid utf-8",
				   tag_text(it->tag, tt));
	}
	*s = (const char *)it->val;
	*len = it->len;
	return 0;
}

int atv_dmap_get_string(const struct atv_dmap_item *it, char **s, struct atv_err *err)
{
	const char *p;
	size_t n;
	int r = atv_dmap_get_strn(it, &p, &n, err);

	if (r < 0)
		return r;
	*s = malloc(n + 1);
	if (!*s)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	memcpy(*s, p, n);
	(*s)[n] = '\0';
	return 0;
}

/* One-line rendering into a fixed buffer; anything past the end is cut. */
struct fmt {
	char *out;
	size_t size, len;
	int cut;
};

static void put(struct fmt *f, char c)
{
	if (f->len + 1 < f->size)
		f->out[f->len++] = c;
	else
		f->cut = 1;
}

static void puts_(struct fmt *f, const char *s)
{
	while (*s && !f->cut)
		put(f, *s++);
}

static void put_hex(struct fmt *f, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";

	put(f, hex[c >> 4]);
	put(f, hex[c & 15]);
}

static void put_u64(struct fmt *f, uint64_t v)
{
	char tmp[21];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put(f, tmp[--n]);
}

static void put_bytes(struct fmt *f, const uint8_t *p, size_t len)
{
	size_t shown = len < 16 ? len : 16;

	put(f, '<');
	put_u64(f, len);
	put(f, ':');
	for (size_t i = 0; i < shown; i++)
		put_hex(f, p[i]);
	if (shown < len)
		puts_(f, "..");
	put(f, '>');
}

static void put_text(struct fmt *f, const uint8_t *p, size_t len)
{
	put(f, '"');
	for (size_t i = 0; i < len && !f->cut; i++) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\') {
			put(f, '\\');
			put(f, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			puts_(f, "\\x");
			put_hex(f, c);
		} else {
			put(f, (char)c); /* checked UTF-8 passes through */
		}
	}
	put(f, '"');
}

static void put_items(struct fmt *f, const struct atv_dmap_item *it)
{
	char tt[17];

	for (; it && !f->cut; it = it->next) {
		puts_(f, tag_text(it->tag, tt));
		switch (it->type) {
		case ATV_DMAP_CONTAINER:
			put(f, '{');
			put_items(f, it->child);
			put(f, '}');
			break;
		case ATV_DMAP_UINT:
		case ATV_DMAP_BOOL:
			put(f, '=');
			if (it->len >= 1 && it->len <= 8) {
				uint64_t v;

				(void)atv_dmap_get_u64(it, &v, NULL);
				put_u64(f, v);
			} else {
				put_bytes(f, it->val, it->len);
			}
			break;
		case ATV_DMAP_STRING:
			put(f, '=');
			if (atv_dmap_utf8_check(it->val, it->len) == 0)
				put_text(f, it->val, it->len);
			else
				put_bytes(f, it->val, it->len);
			break;
		default:
			put(f, '=');
			put_bytes(f, it->val, it->len);
			break;
		}
		if (it->next)
			put(f, ' ');
	}
}

size_t atv_dmap_format(const struct atv_dmap *d, char *out, size_t size)
{
	struct fmt f = {out, size, 0, 0};

	if (size == 0)
		return 0;
	put_items(&f, d->first);
	if (f.cut) {
		/* mark the cut with "..." in the last bytes there are */
		for (size_t i = f.len >= 3 ? f.len - 3 : 0; i < f.len; i++)
			out[i] = '.';
	}
	out[f.len] = '\0';
	return f.len;
}

static int check_tag(const char *tag, struct atv_err *err)
{
	if (!tag || strnlen(tag, 5) != 4)
		return atv_err_set(err, ATV_E_USAGE, "a dmap tag has exactly 4 characters");
	return 0;
}

int atv_dmap_add_bytes(struct atv_buf *out, const char *tag, const void *p, size_t len,
		       struct atv_err *err)
{
	uint8_t hdr[ATV_DMAP_HDR_LEN];
	int r = check_tag(tag, err);

	if (r < 0)
		return r;
	if (len > UINT32_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "dmap value of %zu bytes is too large", len);
	/* reserve everything first so a failure appends nothing */
	r = atv_buf_reserve(out, ATV_DMAP_HDR_LEN + len, err);
	if (r < 0)
		return r;
	memcpy(hdr, tag, 4);
	atv_put_be32(hdr + 4, (uint32_t)len);
	atv_buf_append(out, hdr, sizeof hdr, NULL);
	if (len)
		atv_buf_append(out, p, len, NULL);
	return 0;
}

int atv_dmap_add_string(struct atv_buf *out, const char *tag, const char *s, struct atv_err *err)
{
	size_t n = strlen(s);
	int r = check_tag(tag, err);

	if (r < 0)
		return r;
	if (atv_dmap_utf8_check((const uint8_t *)s, n) < 0)
		return atv_err_set(err, ATV_E_USAGE, "dmap string for '%s' is not valid utf-8",
				   tag);
	return atv_dmap_add_bytes(out, tag, s, n, err);
}

static int add_uint(struct atv_buf *out, const char *tag, uint64_t v, size_t width,
		    struct atv_err *err)
{
	uint8_t be[8];

	for (size_t i = width; i-- > 0; v >>= 8)
		be[i] = (uint8_t)v;
	return atv_dmap_add_bytes(out, tag, be, width, err);
}

int atv_dmap_add_u8(struct atv_buf *out, const char *tag, uint8_t v, struct atv_err *err)
{
	return add_uint(out, tag, v, 1, err);
}

int atv_dmap_add_u16(struct atv_buf *out, const char *tag, uint16_t v, struct atv_err *err)
{
	return add_uint(out, tag, v, 2, err);
}

int atv_dmap_add_u32(struct atv_buf *out, const char *tag, uint32_t v, struct atv_err *err)
{
	return add_uint(out, tag, v, 4, err);
}

int atv_dmap_add_u64(struct atv_buf *out, const char *tag, uint64_t v, struct atv_err *err)
{
	return add_uint(out, tag, v, 8, err);
}

int atv_dmap_open(struct atv_buf *out, const char *tag, size_t *mark, struct atv_err *err)
{
	size_t at = out->len;
	int r = atv_dmap_add_bytes(out, tag, NULL, 0, err);

	if (r == 0)
		*mark = at;
	return r;
}

int atv_dmap_close(struct atv_buf *out, size_t mark, struct atv_err *err)
{
	size_t len;

	if (mark > out->len || out->len - mark < ATV_DMAP_HDR_LEN)
		return atv_err_set(err, ATV_E_USAGE, "dmap container mark %zu is not in the buffer",
				   mark);
	len = out->len - mark - ATV_DMAP_HDR_LEN;
	if (len > UINT32_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "dmap container of %zu bytes is too large",
				   len);
	atv_put_be32(out->data + mark + 4, (uint32_t)len);
	return 0;
}
