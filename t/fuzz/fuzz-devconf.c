/* fuzz-devconf - the device-config parser: any bytes must parse or be
 * refused cleanly, and whatever parses must survive print → parse with
 * the same result (unknown fields kept). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_device d, d2;
	struct atv_err err;
	json_t *j = NULL, *j2 = NULL;
	char *s = NULL;

	atv_device_init(&d);
	atv_device_init(&d2);
	if (atv_device_parse((const char *)data, size, &d, &err) < 0)
		goto out;
	j = atv_device_to_json(&d);
	if (!j)
		goto out;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s || atv_device_parse(s, strlen(s), &d2, &err) < 0)
		abort(); /* what we print we must read back */
	j2 = atv_device_to_json(&d2);
	if (!j2 || !json_equal(j, j2))
		abort();
out:
	free(s);
	json_decref(j);
	json_decref(j2);
	atv_device_release(&d);
	atv_device_release(&d2);
	return 0;
}
