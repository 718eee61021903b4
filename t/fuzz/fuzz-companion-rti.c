/* fuzz-companion-rti - a text input session (_tiD) as a device sends it:
 * an NSKeyedArchiver binary plist read through libplist by following UIDs.
 * Any bytes parse or are refused with a message; what parses gives a
 * session UUID and a NUL-terminated text, from which both text operation
 * payloads (clear, insert) can be built. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "companion_rti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_err err = {0};
	struct atv_buf b;
	uint8_t uuid[16];
	char *text = NULL;

	if (atv_companion_rti_parse(data, size, uuid, &text, &err) < 0) {
		if (text || !err.msg[0])
			abort(); /* a refusal always says why, and leaves nothing */
		return 0;
	}
	if (!text)
		abort();
	atv_buf_init(&b, ATV_COMPANION_RTI_MAX + 4096);
	if (atv_companion_rti_payload(uuid, text, &b, &err) < 0 || b.len == 0)
		abort();
	atv_buf_reset(&b);
	if (atv_companion_rti_payload(uuid, NULL, &b, &err) < 0 || b.len == 0)
		abort();
	atv_buf_release(&b);
	free(text);
	return 0;
}
