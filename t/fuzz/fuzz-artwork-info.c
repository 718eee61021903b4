/* fuzz-artwork-info - artwork's result members from an image as a device
 * sends it (atv_artwork_info: the PNG IHDR or the JPEG markers up to the
 * first start of frame).  Any bytes give an object with a size equal to
 * the input's, and width/height only within the 32-bit and 16-bit ranges
 * the headers can hold. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "buf.h"
#include "conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_buf b = {.data = (uint8_t *)data, .len = size, .cap = size, .max = size};
	json_t *o = atv_artwork_info(&b);
	json_t *w, *h;

	if (!o)
		abort(); /* only out of memory */
	if (json_integer_value(json_object_get(o, "size")) != (json_int_t)size)
		abort();
	w = json_object_get(o, "width");
	h = json_object_get(o, "height");
	if (size && (!w || !h))
		abort();
	if (json_integer_value(w) < 0 || json_integer_value(w) > 0xffffffffLL ||
	    json_integer_value(h) < 0 || json_integer_value(h) > 0xffffffffLL)
		abort();
	json_decref(o);
	return 0;
}
