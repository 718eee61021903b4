/* fuzz-opack - the OPACK decoder: any bytes decode or are refused cleanly;
 * what decodes re-encodes (without references), and that encoding decodes
 * to an equal tree and encodes to the same bytes again; the text form and
 * the lookups never fail on a decoded tree. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_opack *v = NULL, *v2 = NULL, *c = NULL;
	struct atv_buf b, b2, t;
	size_t used;
	int64_t i;
	double f;

	atv_buf_init(&b, 64 * 1024 * 1024);
	atv_buf_init(&b2, 64 * 1024 * 1024);
	atv_buf_init(&t, 256 * 1024 * 1024);
	if (atv_opack_decode_prefix(data, size, &v, &used, NULL) < 0) {
		if (v)
			abort(); /* no tree on failure */
		goto out;
	}
	if (used == 0 || used > size)
		abort();
	if (atv_opack_encode(v, &b, NULL) < 0)
		abort();
	if (atv_opack_decode(b.data, b.len, &v2, NULL) < 0 || !atv_opack_equal(v, v2))
		abort();
	if (atv_opack_encode(v2, &b2, NULL) < 0 || b2.len != b.len ||
	    memcmp(b.data, b2.data, b.len) != 0)
		abort();
	c = atv_opack_copy(v);
	if (!c || !atv_opack_equal(c, v))
		abort();
	if (atv_opack_to_text(v, &t, NULL) < 0)
		abort();
	(void)atv_opack_get_str(v, "_i");
	(void)atv_opack_get_int(v, "_t", &i);
	(void)atv_opack_get_number(atv_opack_get_dict(v, "_c"), "_vol", &f);
out:
	atv_opack_free(v);
	atv_opack_free(v2);
	atv_opack_free(c);
	atv_buf_release(&b);
	atv_buf_release(&b2);
	atv_buf_release(&t);
	return 0;
}
