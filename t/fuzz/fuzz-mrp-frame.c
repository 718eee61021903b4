/* fuzz-mrp-frame.c - what a hostile device can send on an MRP connection:
 * the frame decoder fed in uneven pieces, and every whole frame unpacked as
 * a ProtocolMessage; the whole input is also unpacked as one message (so
 * the fuzzer need not find frame headers to reach protobuf-c).  Whatever
 * unpacks must pack and unpack again to the same bytes, and goes to one
 * now-playing cache (mrp_state.c: players, volume, the output device
 * list), whose playing object and output devices are made at the end.  Built with the
 * replay driver (t/fuzz/replay.c) for `make check`, and as a libFuzzer
 * binary with --enable-fuzz. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mrp_frame.h"
#include "mrp_msg.h"
#include "mrp_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(struct atv_mrp_state *st, const uint8_t *p, size_t len)
{
	Mrp__ProtocolMessage *m = NULL, *m2 = NULL;
	struct atv_buf b1, b2;
	struct atv_err err = { 0 };
	int r;

	atv_buf_init(&b1, ATV_MRP_MAX_FRAME);
	atv_buf_init(&b2, ATV_MRP_MAX_FRAME);
	r = atv_mrp_msg_unpack(p, len, &m, &err);
	if (r < 0) {
		if (m || !err.code || !err.msg[0])
			__builtin_trap();
		goto out;
	}
	(void)atv_mrp_msg_type_name(m->type);
	r = atv_mrp_state_update(st, m, &err);
	if (r < 0 && r != -ATV_E_LIMIT && r != -ATV_E_NOMEM)
		__builtin_trap();
	/* Repacking can grow a message (packed repeated scalars come back
	 * unpacked), so the cap may refuse it; anything else must hold. */
	if (atv_mrp_msg_pack(m, &b1, &err) < 0)
		goto out;
	if (atv_mrp_msg_unpack(b1.data, b1.len, &m2, &err) < 0)
		goto out;
	if (atv_mrp_msg_pack(m2, &b2, &err) < 0)
		__builtin_trap();
	if (b1.len != b2.len || (b1.len && memcmp(b1.data, b2.data, b1.len) != 0))
		__builtin_trap();
out:
	atv_mrp_msg_free(m);
	atv_mrp_msg_free(m2);
	atv_buf_release(&b1);
	atv_buf_release(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_mrp_frame_dec d;
	struct atv_mrp_state *st;
	struct atv_err err = { 0 };
	json_t *j;
	const uint8_t *frame;
	size_t frame_len, used, off = 0, step;
	int r;

	if (size < 1)
		return 0;
	/* The first byte picks the read size, so frames also arrive split
	 * across pieces and several to a piece. */
	step = (size_t)data[0] % 17 + 1;
	data++, size--;
	if (!(st = atv_mrp_state_new()))
		return 0;
	check_message(st, data, size);
	atv_mrp_frame_dec_init(&d, 64 << 10);
	while (off < size) {
		size_t piece = size - off < step ? size - off : step;

		while (piece > 0) {
			r = atv_mrp_frame_dec_push(&d, data + off, piece, &used, &frame, &frame_len,
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
			if (r > 0) {
				if (!frame || frame_len > (64 << 10))
					__builtin_trap();
				check_message(st, frame, frame_len);
			}
		}
	}
	/* Once broken, a stream stays broken. */
out:
	if (off < size && atv_mrp_frame_dec_push(&d, data + off, size - off, &used, &frame,
	                                         &frame_len, &err) >= 0)
		__builtin_trap();
	atv_mrp_frame_dec_release(&d);
	j = atv_mrp_state_outputs(st);
	if (json_array_size(j) > ATV_MRP_STATE_MAX_OUTPUTS)
		__builtin_trap();
	json_decref(j);
	json_decref(atv_mrp_state_playing(st, 1e9));
	atv_mrp_state_free(st);
	return 0;
}
