/* raop_rtsp.c - RAOP's RTSP texts and bodies (raop_rtsp.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "dmap.h"
#include "raop_rtsp.h"

#include "banned.h"

int atv_raop_sdp(uint32_t session_id, const char *family, const char *local_ip,
		 const char *remote_ip, struct atv_buf *out, struct atv_err *err)
{
	char text[512];
	int n;

	/* AppleLossless with the ALAC "magic cookie" fields: frame length
	 * 352, compatible version 0, bit depth 16, pb 40, mb 10, kb 14,
	 * channels 2, max run 255, max frame bytes 0, average bit rate 0,
	 * sample rate 44100 (OwnTone raop.c; pyatv sends the same fmtp). */
	n = snprintf(text, sizeof text,
		     "v=0\r\n"
		     "o=iTunes %" PRIu32 " 0 IN %s %s\r\n"
		     "s=iTunes\r\n"
		     "c=IN %s %s\r\n"
		     "t=0 0\r\n"
		     "m=audio 0 RTP/AVP 96\r\n"
		     "a=rtpmap:96 AppleLossless\r\n"
		     "a=fmtp:96 352 0 16 40 10 14 2 255 0 0 44100\r\n",
		     session_id, family, local_ip, family, remote_ip);
	if (n < 0 || (size_t)n >= sizeof text)
		return atv_err_set(err, ATV_E_USAGE, "address too long for the sdp");
	return atv_buf_append(out, text, (size_t)n, err);
}

/* The quoted value of parameter name in a Digest challenge. */
static int digest_field(const char *h, const char *name, char *out, size_t size,
			struct atv_err *err)
{
	size_t nl = strlen(name);

	for (const char *p = h; *p; p++) {
		const char *q, *end;

		if (strncasecmp(p, name, nl) != 0 || (p > h && p[-1] != ' ' && p[-1] != ',' &&
						      p[-1] != '\t'))
			continue;
		q = p + nl;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		if (*q != '"')
			return atv_err_set(err, ATV_E_PROTO, "digest %s is not quoted", name);
		q++;
		end = strchr(q, '"');
		if (!end)
			return atv_err_set(err, ATV_E_PROTO, "digest %s is not closed", name);
		if ((size_t)(end - q) >= size)
			return atv_err_set(err, ATV_E_PROTO, "digest %s of %zu bytes", name,
					   (size_t)(end - q));
		memcpy(out, q, (size_t)(end - q));
		out[end - q] = '\0';
		return 0;
	}
	return atv_err_set(err, ATV_E_PROTO, "digest challenge without %s", name);
}

int atv_raop_digest_parse(const char *h, struct atv_raop_digest *d, struct atv_err *err)
{
	int r;

	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Digest ", 7) != 0)
		return atv_err_set(err, ATV_E_PROTO, "authentication challenge is not digest");
	r = digest_field(h + 7, "realm", d->realm, sizeof d->realm, err);
	if (r == 0)
		r = digest_field(h + 7, "nonce", d->nonce, sizeof d->nonce, err);
	return r;
}

/* MD5 of the parts joined by ':' as lower-case hex. */
static int md5_hex(const char *const *parts, size_t n, char out[33], struct atv_err *err)
{
	char text[1024];
	size_t len = 0;
	uint8_t md[ATV_MD5_LEN];
	int r;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		if (len + l + 1 >= sizeof text)
			return atv_err_set(err, ATV_E_USAGE, "digest input too long");
		if (i)
			text[len++] = ':';
		memcpy(text + len, parts[i], l);
		len += l;
	}
	r = atv_crypto_md5(text, len, md, err);
	atv_crypto_wipe(text, sizeof text);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof md; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int atv_raop_digest_response(const char *user, const char *realm, const char *password,
			     const char *nonce, const char *method, const char *uri,
			     char out[33], struct atv_err *err)
{
	char ha1[33], ha2[33];
	const char *p1[] = {user, realm, password}, *p2[] = {method, uri};
	int r;

	r = md5_hex(p1, 3, ha1, err);
	if (r == 0)
		r = md5_hex(p2, 2, ha2, err);
	if (r == 0) {
		const char *p3[] = {ha1, nonce, ha2};

		r = md5_hex(p3, 3, out, err);
	}
	atv_crypto_wipe(ha1, sizeof ha1);
	return r;
}

int atv_raop_digest_header(const char *user, const struct atv_raop_digest *d,
			   const char *password, const char *method, const char *uri, char *out,
			   size_t size, struct atv_err *err)
{
	char resp[33];
	int r, n;

	r = atv_raop_digest_response(user, d->realm, password, d->nonce, method, uri, resp, err);
	if (r < 0)
		return r;
	n = snprintf(out, size,
		     "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
		     "uri=\"%s\", response=\"%s\"",
		     user, d->realm, d->nonce, uri, resp);
	if (n < 0 || (size_t)n >= size)
		return atv_err_set(err, ATV_E_USAGE, "authorization header too long");
	return 0;
}

/* A port value: digits only, 1..65535. */
static int port_value(const char *p, size_t len, int *port)
{
	int v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int atv_raop_transport_parse(const char *value, struct atv_raop_transport *t,
			     struct atv_err *err)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"server_port=", offsetof(struct atv_raop_transport, server_port)},
		{"control_port=", offsetof(struct atv_raop_transport, control_port)},
		{"timing_port=", offsetof(struct atv_raop_transport, timing_port)},
	};
	const char *p = value;

	memset(t, 0, sizeof *t);
	while (*p) {
		size_t len = strcspn(p, ";");

		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			size_t kl = strlen(keys[k].name);
			int *dst = (int *)((char *)t + keys[k].off);

			if (len > kl && strncasecmp(p, keys[k].name, kl) == 0 &&
			    port_value(p + kl, len - kl, dst) < 0)
				return atv_err_set(err, ATV_E_PROTO, "transport with bad %.*s",
						   (int)(kl - 1), keys[k].name);
		}
		p += len;
		if (*p == ';')
			p++;
	}
	if (!t->server_port || !t->control_port)
		return atv_err_set(err, ATV_E_PROTO, "transport without %s",
				   t->server_port ? "control_port" : "server_port");
	return 0;
}

int atv_raop_latency_parse(const char *value, uint32_t *frames, struct atv_err *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end || errno || v > ATV_RAOP_LATENCY_MAX)
		return atv_err_set(err, ATV_E_PROTO, "audio-latency \"%.20s\" out of range", value);
	*frames = (uint32_t)v;
	return 0;
}

double atv_raop_volume_db(double percent)
{
	if (percent <= 0.0)
		return -144.0;
	if (percent > 100.0)
		percent = 100.0;
	return -30.0 + 30.0 * percent / 100.0;
}

int atv_raop_dmap_meta(const char *title, const char *artist, const char *album,
		       struct atv_buf *out, struct atv_err *err)
{
	size_t mark;
	int r;

	r = atv_dmap_open(out, "mlit", &mark, err);
	if (r == 0 && title)
		r = atv_dmap_add_string(out, "minm", title, err);
	if (r == 0 && artist)
		r = atv_dmap_add_string(out, "asar", artist, err);
	if (r == 0 && album)
		r = atv_dmap_add_string(out, "asal", album, err);
	if (r == 0)
		r = atv_dmap_close(out, mark, err);
	return r;
}
