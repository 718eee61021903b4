/* fuzz-tlv8 - the TLV8 decoder: any bytes decode or are refused cleanly,
 * and what decodes survives encode → decode unchanged (joined values
 * re-split into 255-byte pieces come back joined). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlv8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_tlv8 t, t2 = {0};
	struct atv_buf b;
	uint64_t v;

	atv_buf_init(&b, 2 * ATV_TLV8_MAX_SIZE);
	if (atv_tlv8_parse(&t, data, size, NULL) < 0)
		goto out;
	for (size_t i = 0; i < t.n; i++) {
		const struct atv_tlv8_item *it = &t.item[i];

		if (atv_tlv8_find(&t, it->type) > it)
			abort(); /* find returns the first */
		(void)atv_tlv8_uint(it, &v, NULL);
		if (atv_tlv8_add(&b, it->type, it->val, it->len, NULL) < 0)
			abort();
	}
	/* 255-byte pieces are the tightest split: never longer than the input */
	if (b.len > size)
		abort();
	if (atv_tlv8_parse(&t2, b.data, b.len, NULL) < 0 || t2.n != t.n)
		abort();
	for (size_t i = 0; i < t.n; i++)
		if (t2.item[i].type != t.item[i].type || t2.item[i].len != t.item[i].len ||
		    memcmp(t2.item[i].val, t.item[i].val, t.item[i].len) != 0)
			abort();
out:
	atv_tlv8_release(&t);
	atv_tlv8_release(&t2);
	atv_buf_release(&b);
	return 0;
}
