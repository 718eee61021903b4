/* fuzz-creds - the credentials file parser: any bytes must parse or be
 * refused cleanly, and whatever parses must survive format → parse →
 * format byte for byte (what we write we must read back). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_creds c = {0}, c2 = {0};
	struct atv_err err;
	struct atv_buf a, b;

	/* the output may grow (reals, \u escapes are rewritten), so allow
	 * more than the input limit here and skip what the reader would refuse */
	atv_buf_init(&a, 2 * ATV_CREDS_MAX_FILE);
	atv_buf_init(&b, 2 * ATV_CREDS_MAX_FILE);
	if (atv_creds_parse(data, size, &c, &err) < 0)
		goto out;
	if (c.n > ATV_CREDS_MAX_ENTRIES)
		abort();
	if (atv_creds_format(&c, &a, &err) < 0)
		abort();
	if (a.len > ATV_CREDS_MAX_FILE)
		goto out;
	if (atv_creds_parse(a.data, a.len, &c2, &err) < 0 || c2.n != c.n)
		abort();
	if (atv_creds_format(&c2, &b, &err) < 0 || a.len != b.len ||
	    (a.len && memcmp(a.data, b.data, a.len) != 0))
		abort();
out:
	atv_buf_release(&a);
	atv_buf_release(&b);
	atv_creds_release(&c);
	atv_creds_release(&c2);
	return 0;
}
