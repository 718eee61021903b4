/* fuzz-blocks - the HAP block decoder (atv_hap_cipher_open_blocks) as the
 * channel uses it: the first input byte picks how many bytes arrive at a
 * time (0: all at once), the rest is the stream from the peer, which may
 * hold valid blocks sealed with the fixed key below (the seed corpus
 * does).  Nothing may crash; every call consumes no more than it was given
 * and leaves no whole block behind, the plaintext is shorter than what was
 * consumed, and the outcome (plaintext, bytes consumed, error) is the same
 * whatever the split. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bytes.h"
#include "crypto.h"
#include "hap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key the seed corpus is sealed with: 32 bytes of 0x42. */
static const uint8_t key[ATV_AEAD_KEY_LEN] = {
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};

struct outcome {
	struct atv_buf out;
	size_t consumed;
	int rc;
};

/* Decode in[0..len) arriving step bytes at a time (0: at once) the way the
 * channel does: keep the tail, append what comes, decode again. */
static void decode(const uint8_t *in, size_t len, size_t step, struct outcome *o)
{
	struct atv_hap_cipher c;
	struct atv_buf pending;
	size_t fed = 0;

	atv_hap_cipher_init(&c, key, key);
	atv_buf_init(&o->out, len);
	atv_buf_init(&pending, len);
	o->consumed = 0;
	o->rc = 0;
	if (step == 0)
		step = len;
	while (fed < len) {
		size_t n = len - fed < step ? len - fed : step, used = 0, before = o->out.len;

		if (atv_buf_append(&pending, in + fed, n, NULL) < 0)
			abort(); /* pending never holds more than the input */
		fed += n;
		o->rc =
		    atv_hap_cipher_open_blocks(&c, pending.data, pending.len, &used, &o->out, NULL);
		if (used > pending.len)
			abort();
		/* each block costs 18 bytes on top of its plaintext */
		if (o->out.len - before > used || (used && o->out.len - before + 18 > used))
			abort();
		atv_buf_consume(&pending, used);
		o->consumed += used;
		if (o->rc < 0)
			break;
		/* every whole block was decoded */
		if (pending.len >= 2 &&
		    pending.len - 2 >= (size_t)atv_get_le16(pending.data) + ATV_AEAD_TAG_LEN)
			abort();
	}
	atv_buf_release(&pending);
	atv_hap_cipher_wipe(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;

	if (size < 1)
		return 0;
	decode(data + 1, size - 1, 0, &whole);
	decode(data + 1, size - 1, data[0], &split);
	if (whole.rc != split.rc || whole.consumed != split.consumed ||
	    whole.out.len != split.out.len ||
	    (whole.out.len && memcmp(whole.out.data, split.out.data, whole.out.len) != 0))
		abort();
	atv_buf_release(&whole.out);
	atv_buf_release(&split.out);
	return 0;
}
