/* fuzz-dmap - the DMAP tag parser: any bytes parse or are refused cleanly;
 * what parses has every item inside its container and the depth cap kept,
 * reads through every getter and the formatter without harm, and written
 * back with the writer gives the input byte for byte. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmap.h"
#include "dmap_pair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct atv_dmap *d, const struct atv_dmap_item *it,
		  const struct atv_dmap_item *parent, struct atv_buf *out)
{
	for (; it; it = it->next) {
		const uint8_t *lo = parent ? parent->val : d->data;
		const uint8_t *hi = parent ? parent->val + parent->len : d->data + d->size;
		uint64_t u64;
		uint32_t u32;
		uint16_t u16;
		uint8_t u8;
		int b;
		const char *s;
		size_t n;
		char *str;

		if (it->val < lo + ATV_DMAP_HDR_LEN || it->len > (size_t)(hi - it->val))
			abort();
		/* at most ATV_DMAP_MAX_DEPTH containers on any path */
		if (it->depth != (parent ? parent->depth + 1 : 0) ||
		    it->depth > ATV_DMAP_MAX_DEPTH ||
		    (it->type == ATV_DMAP_CONTAINER && it->depth == ATV_DMAP_MAX_DEPTH))
			abort();
		if (it->child && it->type != ATV_DMAP_CONTAINER)
			abort();
		(void)atv_dmap_get_u64(it, &u64, NULL);
		(void)atv_dmap_get_u32(it, &u32, NULL);
		(void)atv_dmap_get_u16(it, &u16, NULL);
		(void)atv_dmap_get_u8(it, &u8, NULL);
		(void)atv_dmap_get_bool(it, &b, NULL);
		if (atv_dmap_get_strn(it, &s, &n, NULL) == 0 && memchr(s, 0, n))
			abort();
		if (atv_dmap_get_string(it, &str, NULL) == 0) {
			if (strlen(str) != it->len)
				abort();
			free(str);
		}
		if (atv_dmap_find(d, parent, it->tag) == NULL && strlen(it->tag) == 4)
			abort();
		if (it->type == ATV_DMAP_CONTAINER) {
			size_t mark;

			if (atv_dmap_open(out, it->tag, &mark, NULL) < 0)
				abort();
			check(d, it->child, it, out);
			if (atv_dmap_close(out, mark, NULL) < 0)
				abort();
		} else {
			/* tags with NUL bytes cannot go through the C-string
			 * writer: copy the header by hand */
			uint8_t hdr[ATV_DMAP_HDR_LEN];

			memcpy(hdr, it->val - ATV_DMAP_HDR_LEN, ATV_DMAP_HDR_LEN);
			if (atv_buf_append(out, hdr, sizeof hdr, NULL) < 0 ||
			    atv_buf_append(out, it->val, it->len, NULL) < 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_dmap d;
	struct atv_buf out;
	char line[64], big[4096];
	uint64_t guid;

	atv_buf_init(&out, ATV_DMAP_MAX_SIZE);
	(void)atv_dmap_pair_parse_answer(data, size, &guid, NULL);
	if (atv_dmap_parse(&d, data, size, NULL) == 0) {
		check(&d, d.first, NULL, &out);
		if (out.len != size || (size && memcmp(out.data, data, size) != 0))
			abort();
		if (atv_dmap_format(&d, line, sizeof line) >= sizeof line ||
		    strlen(line) >= sizeof line)
			abort();
		(void)atv_dmap_format(&d, big, sizeof big);
	}
	atv_dmap_release(&d);
	atv_buf_release(&out);
	return 0;
}
