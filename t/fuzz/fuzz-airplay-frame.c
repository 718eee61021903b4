/* fuzz-airplay-frame.c - what a hostile device can send on the AirPlay 2
 * data channel (the MRP tunnel): the frame decoder fed in uneven pieces,
 * every frame's payload searched for params.data and that split into
 * messages; the whole input is also read as one payload (so the fuzzer
 * need not find frame headers to reach the plist reader).  Whatever a
 * frame decodes to must encode back to the same bytes.  Built with the
 * replay driver (t/fuzz/replay.c) for `make check`, and as a libFuzzer
 * binary with --enable-fuzz. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "airplay_frame.h"
#include "buf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FRAME_MAX (64 << 10)

static void check_payload(const uint8_t *p, size_t len)
{
	struct atv_err err = {0};
	const uint8_t *d, *m;
	size_t dl, ml, before;
	int r = atv_ap_payload_data(p, len, &d, &dl, &err);

	if (r < 0 && (!err.code || !err.msg[0]))
		__builtin_trap();
	if (r <= 0)
		return;
	if (d < p || dl > len || (size_t)(d - p) > len - dl)
		__builtin_trap();
	for (;;) {
		before = dl;
		r = atv_ap_data_next(&d, &dl, &m, &ml, &err);
		if (r < 0 && (!err.code || !err.msg[0]))
			__builtin_trap();
		if (r <= 0)
			break;
		if (dl >= before || ml > before)
			__builtin_trap();
	}
}

/* A decoded frame encodes back to the bytes it came from. */
static void check_frame(const struct atv_ap_frame *f, const uint8_t *wire)
{
	char type[ATV_AP_FRAME_TYPE_LEN + 1] = {0}, cmd[ATV_AP_FRAME_CMD_LEN + 1] = {0};
	struct atv_buf b;
	struct atv_err err = {0};

	memcpy(type, f->type, ATV_AP_FRAME_TYPE_LEN);
	memcpy(cmd, f->command, ATV_AP_FRAME_CMD_LEN);
	/* only NUL-padded names survive the round trip, as on the wire */
	if (!type[0] || !atv_ap_frame_is(f, type) || !atv_ap_frame_command_is(f, cmd) ||
	    f->padding)
		return;
	atv_buf_init(&b, FUZZ_FRAME_MAX);
	if (atv_ap_frame_encode(&b, type, cmd, f->seqno, f->payload, f->payload_len, &err) < 0)
		__builtin_trap();
	if (b.len != ATV_AP_FRAME_HDR_LEN + f->payload_len || memcmp(b.data, wire, b.len) != 0)
		__builtin_trap();
	atv_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_ap_frame_dec d;
	struct atv_ap_frame f;
	struct atv_err err = {0};
	size_t used, off = 0, step, start = 0;
	int r;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 37 + 1;
	data++, size--;
	check_payload(data, size);
	atv_ap_frame_dec_init(&d, FUZZ_FRAME_MAX);
	while (off < size) {
		size_t piece = size - off < step ? size - off : step;

		while (piece > 0) {
			r = atv_ap_frame_dec_push(&d, data + off, piece, &used, &f, &err);
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
				if (!f.payload || f.payload_len > FUZZ_FRAME_MAX ||
				    off - start != ATV_AP_FRAME_HDR_LEN + f.payload_len)
					__builtin_trap();
				check_frame(&f, data + start);
				check_payload(f.payload, f.payload_len);
				start = off;
			}
		}
	}
out:
	/* once broken, a stream stays broken */
	if (off < size && atv_ap_frame_dec_push(&d, data + off, size - off, &used, &f, &err) >= 0)
		__builtin_trap();
	atv_ap_frame_dec_release(&d);
	return 0;
}
