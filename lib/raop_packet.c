/* raop_packet.c - RAOP/AirPlay audio packets as bytes (raop_packet.h). */
#include "config.h"

#include <string.h>

#include "bytes.h"
#include "raop_packet.h"

#include "banned.h"

/* Most significant bit first, as ALAC's bit stream is written: bits
 * gather in acc and leave a byte at a time (a frame is packed per sample,
 * not per bit: 125 frames a second). */
struct bitw {
	uint8_t *p;
	size_t len; /* bytes written */
	uint64_t acc;
	unsigned n; /* bits in acc, < 8 between calls */
};

static void put_bits(struct bitw *w, uint32_t v, unsigned n)
{
	w->acc = w->acc << n | (v & (n == 32 ? 0xffffffffu : (1u << n) - 1));
	w->n += n;
	while (w->n >= 8) {
		w->n -= 8;
		w->p[w->len++] = (uint8_t)(w->acc >> w->n);
	}
}

size_t atv_alac_frame(const int16_t *pcm, size_t frames, int channels, uint8_t *out)
{
	struct bitw w = {out, 0, 0, 0};
	size_t n = frames * (size_t)channels;

	put_bits(&w, channels == 2 ? 1 : 0, 3); /* ID_CPE, else ID_SCE */
	put_bits(&w, 0, 4);			/* element instance */
	put_bits(&w, 0, 12);			/* unused */
	put_bits(&w, frames != 352, 1);		/* partial frame: a count follows */
	put_bits(&w, 0, 2);			/* bytes shifted */
	put_bits(&w, 1, 1);			/* escape: samples as they are */
	if (frames != 352)
		put_bits(&w, (uint32_t)frames, 32);
	for (size_t i = 0; i < n; i++)
		put_bits(&w, (uint16_t)pcm[i], 16);
	put_bits(&w, 7, 3); /* ID_END */
	if (w.n)
		put_bits(&w, 0, 8 - w.n); /* zero bits to the byte */
	return w.len;
}

void atv_rtp_audio_header(uint8_t out[ATV_RTP_HEADER_LEN], bool first, uint16_t seq,
			  uint32_t timestamp, uint32_t ssrc)
{
	out[0] = 0x80;
	out[1] = first ? 0x80 | ATV_RTP_PT_AUDIO : ATV_RTP_PT_AUDIO;
	atv_put_be16(out + 2, seq);
	atv_put_be32(out + 4, timestamp);
	atv_put_be32(out + 8, ssrc);
}

void atv_rtp_sync(uint8_t out[ATV_RTP_SYNC_LEN], bool first, uint32_t rtp_now, uint64_t ntp,
		  uint32_t rtp)
{
	out[0] = first ? 0x90 : 0x80;
	out[1] = 0x80 | ATV_RTP_PT_SYNC;
	atv_put_be16(out + 2, 7);
	atv_put_be32(out + 4, rtp_now);
	atv_put_be64(out + 8, ntp);
	atv_put_be32(out + 16, rtp);
}

int atv_rtp_timing_parse(const uint8_t *p, size_t len, struct atv_rtp_timing *t,
			 struct atv_err *err)
{
	if (len < ATV_RTP_TIMING_LEN)
		return atv_err_set(err, ATV_E_PROTO, "timing request of %zu bytes (want %d)", len,
				   ATV_RTP_TIMING_LEN);
	if ((p[1] & 0x7f) != ATV_RTP_PT_TIMING_REQ)
		return atv_err_set(err, ATV_E_PROTO, "timing packet of type 0x%02x", p[1]);
	t->proto = p[0];
	t->send_ntp = atv_get_be64(p + 24);
	return 0;
}

void atv_rtp_timing_reply(const struct atv_rtp_timing *req, uint64_t recv_ntp, uint64_t send_ntp,
			  uint8_t out[ATV_RTP_TIMING_LEN])
{
	out[0] = req->proto;
	out[1] = 0x80 | ATV_RTP_PT_TIMING_REP;
	atv_put_be16(out + 2, 7);
	memset(out + 4, 0, 4);
	atv_put_be64(out + 8, req->send_ntp);
	atv_put_be64(out + 16, recv_ntp);
	atv_put_be64(out + 24, send_ntp);
}

int atv_rtp_resend_parse(const uint8_t *p, size_t len, struct atv_rtp_resend_req *r,
			 struct atv_err *err)
{
	if (len < ATV_RTP_RESEND_REQ_LEN)
		return atv_err_set(err, ATV_E_PROTO, "resend request of %zu bytes (want %d)", len,
				   ATV_RTP_RESEND_REQ_LEN);
	if ((p[1] & 0x7f) != ATV_RTP_PT_RESEND_REQ)
		return atv_err_set(err, ATV_E_PROTO, "control packet of type 0x%02x", p[1]);
	r->seq = atv_get_be16(p + 4);
	r->count = atv_get_be16(p + 6);
	if (r->count == 0)
		return atv_err_set(err, ATV_E_PROTO, "resend request for no packets");
	return 0;
}

size_t atv_rtp_resend(const uint8_t *pkt, size_t len, uint8_t *out)
{
	out[0] = 0x80;
	out[1] = 0x80 | ATV_RTP_PT_RESEND;
	memcpy(out + 2, pkt + 2, 2);
	memcpy(out + 4, pkt, len);
	return len + 4;
}

int atv_rtp_seal(const uint8_t key[ATV_AEAD_KEY_LEN], uint64_t counter,
		 const uint8_t header[ATV_RTP_HEADER_LEN], const uint8_t *payload, size_t len,
		 uint8_t *out, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	int r;

	atv_nonce_counter(nonce, counter);
	memcpy(out, header, ATV_RTP_HEADER_LEN);
	r = atv_aead_seal(key, nonce, header + 4, 8, payload, len, out + ATV_RTP_HEADER_LEN, err);
	if (r < 0)
		return r;
	memcpy(out + ATV_RTP_HEADER_LEN + len + ATV_AEAD_TAG_LEN, nonce + 4, 8);
	return 0;
}

uint64_t atv_ntp_from_ns(uint64_t ns)
{
	uint64_t sec = ns / 1000000000u, rem = ns % 1000000000u;

	return (sec + ATV_NTP_EPOCH_OFFSET) << 32 | (rem << 32) / 1000000000u;
}
