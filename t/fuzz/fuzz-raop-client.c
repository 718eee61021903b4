/* fuzz-raop-client - what an audio receiver sends the sender, by the first byte:
 *   0  a timing request (timing port); a parsed one gets a reply built
 *   1  a resend request (control port)
 *   2  a SETUP reply's Transport header value
 *   3  a WWW-Authenticate Digest challenge (a parsed one signs a request)
 *   4  an Audio-Latency value
 *   5  an AirPlay 2 audio stream SETUP reply (binary plist)
 * Every input parses or is refused with -ATV_E_PROTO/-ATV_E_LIMIT (or
 * -ATV_E_UNSUPPORTED without libplist), never anything else; parsed
 * values are in their documented ranges. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "raop_ap2.h"
#include "raop_packet.h"
#include "raop_rtsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(int r)
{
	if (r != -ATV_E_PROTO && r != -ATV_E_LIMIT && r != -ATV_E_UNSUPPORTED && r != -ATV_E_NOMEM)
		abort();
}

static int port_ok(int p, int allow_zero)
{
	return (p >= 1 && p <= 65535) || (allow_zero && p == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_err err;
	char *text;
	int r;

	if (size == 0)
		return 0;
	/* the text parsers get a C string, as httpmsg hands out header values */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0: {
		struct atv_rtp_timing t;
		uint8_t out[ATV_RTP_TIMING_LEN];

		r = atv_rtp_timing_parse(data + 1, size - 1, &t, &err);
		if (r == 0) {
			atv_rtp_timing_reply(&t, 1, 2, out);
			if (out[1] != 0xd3 || out[0] != data[1])
				abort();
		} else {
			refused(r);
		}
		break;
	}
	case 1: {
		struct atv_rtp_resend_req rr;

		r = atv_rtp_resend_parse(data + 1, size - 1, &rr, &err);
		if (r == 0 && rr.count == 0)
			abort();
		if (r < 0)
			refused(r);
		break;
	}
	case 2: {
		struct atv_raop_transport t;

		r = atv_raop_transport_parse(text, &t, &err);
		if (r == 0 && (!port_ok(t.server_port, 0) || !port_ok(t.control_port, 0) ||
			       !port_ok(t.timing_port, 1)))
			abort();
		if (r < 0)
			refused(r);
		break;
	}
	case 3: {
		struct atv_raop_digest d;
		char line[1024];

		r = atv_raop_digest_parse(text, &d, &err);
		if (r == 0) {
			if (strlen(d.realm) >= sizeof d.realm || strlen(d.nonce) >= sizeof d.nonce)
				abort();
			r = atv_raop_digest_header("u", &d, "p", "ANNOUNCE", "rtsp://x/1", line,
						   sizeof line, &err);
			if (r < 0)
				abort();
		} else {
			refused(r);
		}
		break;
	}
	case 4: {
		uint32_t f;

		r = atv_raop_latency_parse(text, &f, &err);
		if (r == 0 && f > ATV_RAOP_LATENCY_MAX)
			abort();
		if (r < 0)
			refused(r);
		break;
	}
	default: {
		int dp, cp;

		r = atv_raop_ap2_stream_reply(data + 1, size - 1, &dp, &cp, &err);
		if (r == 0 && (!port_ok(dp, 0) || !port_ok(cp, 0)))
			abort();
		if (r < 0)
			refused(r);
		break;
	}
	}
	free(text);
	return 0;
}
