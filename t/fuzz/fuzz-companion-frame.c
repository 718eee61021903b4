/* fuzz-companion-frame.c - what a hostile device can send on a Companion
 * connection: the frame decoder fed in uneven pieces, in the clear and
 * (when the second input byte is odd) with the session cipher on, as after
 * pair-verify.  Every frame handed out must be of a known type and within
 * the cap, and once broken the stream must stay broken.  Built with the
 * replay driver (t/fuzz/replay.c) for `make check`, and as a libFuzzer
 * binary with --enable-fuzz. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "companion_frame.h"
#include "err.h"
#include "hap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (64 << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_companion_frame_dec d;
	struct atv_companion_frame f;
	struct atv_hap_cipher c, *cp = NULL;
	struct atv_err err = {0};
	uint8_t key[ATV_AEAD_KEY_LEN];
	size_t used, off = 0, step;
	int r;

	if (size < 2)
		return 0;
	/* The first byte picks the read size, so frames also arrive split
	 * across pieces and several to a piece. */
	step = (size_t)data[0] % 17 + 1;
	if (data[1] & 1) {
		memset(key, data[1], sizeof key);
		atv_hap_cipher_init(&c, key, key);
		cp = &c;
	}
	data += 2, size -= 2;
	atv_companion_frame_dec_init(&d, CAP);
	while (off < size) {
		size_t piece = size - off < step ? size - off : step;

		while (piece > 0) {
			r = atv_companion_frame_dec_push(&d, cp, data + off, piece, &used, &f,
							 &err);
			if (r < 0) {
				if (!err.code || !err.msg[0])
					__builtin_trap();
				goto out;
			}
			if (used > piece || (r == 0 && used != piece))
				__builtin_trap();
			off += used;
			piece -= used;
			if (r > 0 &&
			    (!f.payload || f.len > CAP || !atv_companion_type_known(f.type)))
				__builtin_trap();
		}
	}
out:
	if (off < size &&
	    atv_companion_frame_dec_push(&d, cp, data + off, size - off, &used, &f, &err) >= 0)
		__builtin_trap();
	atv_companion_frame_dec_release(&d);
	return 0;
}
