/* nowplaying.c - atvscript's "playing" object and its hash, from the
 * protocol-neutral struct atv_nowplaying. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nowplaying.h"
#include "banned.h"

void atv_nowplaying_hash(const struct atv_nowplaying *np, char out[65])
{
	/* pyatv hashes the concatenation, absent values spelled "None" */
	const char *parts[3] = {np->title, np->artist, np->album};
	uint8_t md[ATV_SHA256_LEN];
	char num[24], *text;
	size_t len = 0, n;

	if (np->total_time < 0)
		snprintf(num, sizeof num, "None");
	else
		snprintf(num, sizeof num, "%lld", np->total_time);
	n = strlen(num) + 1;
	for (int i = 0; i < 3; i++)
		n += strlen(parts[i] ? parts[i] : "None");
	text = malloc(n);
	if (!text) {
		out[0] = '\0';
		return;
	}
	for (int i = 0; i < 3; i++) {
		const char *s = parts[i] ? parts[i] : "None";
		memcpy(text + len, s, strlen(s));
		len += strlen(s);
	}
	memcpy(text + len, num, strlen(num));
	len += strlen(num);
	if (atv_sha256(text, len, md, NULL) < 0)
		out[0] = '\0';
	else
		for (int i = 0; i < ATV_SHA256_LEN; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
	free(text);
}

json_t *atv_nowplaying_str(const char *s)
{
	json_t *j;
	char *fixed, *o;
	const unsigned char *p;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	fixed = malloc(strlen(s) * 3 + 1);
	if (!fixed)
		return NULL;
	for (p = (const unsigned char *)s, o = fixed; *p;) {
		size_t n = *p < 0x80		 ? 1
			   : (*p & 0xe0) == 0xc0 ? 2
			   : (*p & 0xf0) == 0xe0 ? 3
			   : (*p & 0xf8) == 0xf0 ? 4
						 : 0;
		size_t k;

		for (k = 1; n && k < n; k++)
			if ((p[k] & 0xc0) != 0x80)
				n = 0;
		if (n) {
			memcpy(o, p, n);
			/* overlong forms and surrogates still fail: checked below */
			o[n] = 0;
			j = json_stringn(o, n);
			if (j) {
				json_decref(j);
				o += n;
				p += n;
				continue;
			}
		}
		memcpy(o, "\xef\xbf\xbd", 3);
		o += 3;
		p++;
	}
	*o = 0;
	j = json_string(fixed);
	free(fixed);
	return j;
}

static json_t *jint(bool has, long long v)
{
	return has ? json_integer(v) : json_null();
}

static int put(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

json_t *atv_nowplaying_json(const struct atv_nowplaying *np)
{
	json_t *o = json_object();
	char hash[65];
	int r = 0;

	if (!o)
		return NULL;
	r |= put(o, "media_type", atv_nowplaying_str(np->media_type));
	r |= put(o, "device_state", atv_nowplaying_str(np->device_state));
	r |= put(o, "title", atv_nowplaying_str(np->title));
	r |= put(o, "artist", atv_nowplaying_str(np->artist));
	r |= put(o, "album", atv_nowplaying_str(np->album));
	r |= put(o, "genre", atv_nowplaying_str(np->genre));
	r |= put(o, "total_time", jint(np->total_time >= 0, np->total_time));
	r |= put(o, "position", jint(np->position >= 0, np->position));
	r |= put(o, "shuffle", atv_nowplaying_str(np->shuffle));
	r |= put(o, "repeat", atv_nowplaying_str(np->repeat));
	r |= put(o, "series_name", atv_nowplaying_str(np->series_name));
	r |= put(o, "season_number", jint(np->has_season, np->season));
	r |= put(o, "episode_number", jint(np->has_episode, np->episode));
	r |= put(o, "content_identifier", atv_nowplaying_str(np->content_id));
	r |= put(o, "app", atv_nowplaying_str(np->app));
	r |= put(o, "app_id", atv_nowplaying_str(np->app_id));
	if (np->content_id && np->content_id[0]) {
		r |= put(o, "hash", atv_nowplaying_str(np->content_id));
	} else {
		atv_nowplaying_hash(np, hash);
		r |= put(o, "hash", json_string(hash));
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}
